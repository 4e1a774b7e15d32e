/*
 * tpcollect.c - the collector daemon: MQTT (shared subscription, persistent
 * session) -> collector pipeline -> store; HTTP API for support.
 *
 * Start-up order matters: the store opens, the registry loads (keys stored
 * in the database, then the --registry file, which is also stored), MQTT
 * connects and its subscription is acknowledged, and only then does the API
 * start and "listening on HOST:PORT" get logged. Whoever waits for that line
 * (tests, the demo) can rely on the collector taking reports from then on.
 *
 * The main loop also drains the store's outbox (claim notices for devices'
 * cmd topics): a row is marked sent only when the broker acknowledges it, so
 * a notice survives a broker outage or a collector restart (at least once).
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <mosquitto.h>

#include "tpd/cli.h"
#include "tpd/inflight.h"
#include "tpd/jws.h"
#include "tpd/mqtt.h"
#include "api.h"
#include "collector.h"
#include "fleet.h"
#include "devices.h"
#include "policy.h"
#include "registry.h"
#include "store.h"
#include "tokens.h"
#include "webhook.h"

#define PROG "tpcollect"
#define SHARED_SUB "$share/tpcollect/tp/v1/+/+"
#define EXCLUSIVE_SUB "tp/v1/+/+"
#define RECONNECT_MAX_MS 2000   /* one client, not a fleet: come back fast */
/* After a batch could not be stored (disk full): 1 s doubling to this
 * before the broker is asked for it again. */
#define REFUSED_MAX_MS 16000
#define SUBSCRIBE_WAIT_S 30
#define OUTBOX_INFLIGHT 64

static volatile sig_atomic_t tpcollect_stop;

static void tpcollect_on_signal(int sig)
{
	(void)sig;
	tpcollect_stop = 1;
}

static double tpcollect_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Outbox messages published and not yet acknowledged: mid -> outbox row. */
struct tpcollect_outbox {
	struct tpc_store *store;
	struct tpd_inflight inflight;
	int64_t last;       /* highest row handed to MQTT in this process */
};

struct tpcollect {
	struct tpc_collector *col;
	struct tpcollect_outbox outbox;   /* outbox.store is the collector's store */
};

/* Reports read in one MQTT loop share one commit (group commit): the first
 * opens it, tpcollect_before_ack commits it before their PUBACKs leave. */
static void tpcollect_on_message(void *ctx, const char *topic, const void *payload, size_t len)
{
	struct tpcollect *t = ctx;

	tpc_collector_batch_begin(t->col);
	tpc_collector_handle(t->col, topic, payload, len, tpcollect_now());
}

/* A batch that is not durable is refused: the MQTT link sends none of its
 * PUBACKs and drops the connection (src/mqtt.c, note 5), so the broker
 * delivers it again. That also forgets the outbox messages in flight on
 * the connection: they are handed out again (at least once). */
static enum tpd_err tpcollect_before_ack(void *ctx)
{
	struct tpcollect *t = ctx;
	enum tpd_err rc = tpc_collector_batch_end(t->col);

	if (rc) {
		uint64_t id;

		for (size_t i = t->outbox.inflight.n; i > 0; i--)
			tpd_inflight_take(&t->outbox.inflight, t->outbox.inflight.slot[i - 1].mid, &id);
		t->outbox.last = 0;
	}
	return rc;
}

static void tpcollect_on_acked(void *ctx, int mid)
{
	struct tpcollect_outbox *o = &((struct tpcollect *)ctx)->outbox;
	uint64_t id;

	if (tpd_inflight_take(&o->inflight, mid, &id) && tpc_store_outbox_done(o->store, (int64_t)id))
		fprintf(stderr, PROG ": outbox: cannot mark message %llu sent (it will be sent "
			"again)\n", (unsigned long long)id);
}

/* Hands unsent outbox rows to MQTT while there is room in flight. */
static void tpcollect_outbox_pump(struct tpcollect_outbox *o, struct tpd_mqtt *mqtt)
{
	while (!tpd_inflight_full(&o->inflight) && tpd_mqtt_connected(mqtt)) {
		char *topic, *payload;
		int64_t id;
		int mid = 0;
		enum tpd_err rc = tpc_store_outbox_next(o->store, o->last, &id, &topic, &payload);

		if (rc)
			return;
		rc = tpd_mqtt_publish(mqtt, topic, payload, strlen(payload), 1, false, &mid);
		free(topic);
		free(payload);
		if (rc)
			return;   /* retried on the next pass */
		tpd_inflight_add(&o->inflight, mid, (uint64_t)id);
		o->last = id;
	}
}

static enum tpd_err tpcollect_key(void *arg, const char *id, const char *key_b64)
{
	if (tpc_registry_put_key(arg, id, key_b64))
		fprintf(stderr, PROG ": registry: stored key of %s is unusable; its reports will be "
			"rejected\n", id);
	return TPD_OK;
}

/* Imports the --registry file's rows as `tpclaim devices import` would (one
 * transaction, open claims' warranty recomputed for changed devices, keys
 * taught to the registry). */
static int tpcollect_register(struct tpc_store *store, struct tpc_registry *reg,
			      const struct tpc_policy *policy, const struct tpc_registry *file)
{
	struct tpc_import_result res;
	char why[400];
	cJSON *rows;
	enum tpd_err rc;

	if (tpc_registry_count(file) == 0)
		return 0;
	rows = tpc_devices_rows_json(file);
	rc = rows ? tpc_devices_import(store, reg, policy, rows, tpcollect_now(), &res, why,
				       sizeof(why))
		  : TPD_ERR_NOMEM;
	cJSON_Delete(rows);
	if (rc) {
		fprintf(stderr, PROG ": registry: cannot store devices: %s\n",
			rc == TPD_ERR_INVAL ? why : tpd_strerror(rc));
		return 1;
	}
	fprintf(stderr, PROG ": registry file: %zu devices (%zu new, %zu updated)\n",
		tpc_registry_count(file), res.created, res.updated);
	return 0;
}

/* One duration of --max-skew: N with an optional unit s, m, h or d. */
static bool tpcollect_duration(const char *s, size_t len, double *out)
{
	char buf[32], *end;
	double unit = 1, v;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	switch (buf[len - 1]) {
	case 'd': unit = 86400; break;
	case 'h': unit = 3600; break;
	case 'm': unit = 60; break;
	case 's': unit = 1; break;
	default: len++; break;
	}
	buf[len - 1] = '\0';
	v = strtod(buf, &end);
	if (end == buf || *end || !(v >= 0) || v * unit > 1e11)
		return false;
	*out = v * unit;
	return true;
}

/* --max-skew BACK[,AHEAD] (AHEAD defaults to BACK); 0 turns a side off. */
static bool tpcollect_skew(const char *arg, struct tpc_ingest_policy *p)
{
	const char *comma = strchr(arg, ',');

	if (!tpcollect_duration(arg, comma ? (size_t)(comma - arg) : strlen(arg), &p->max_back_s))
		return false;
	if (!comma) {
		p->max_ahead_s = p->max_back_s;
		return true;
	}
	return tpcollect_duration(comma + 1, strlen(comma + 1), &p->max_ahead_s);
}

int main(int argc, char **argv)
{
	const char *broker = NULL, *db = NULL, *listen = "127.0.0.1:8080", *registry_path = NULL;
	const char *client_id = "tpcollect", *tokens_path = NULL, *policy_path = NULL;
	const char *tls_ca = NULL, *tls_cert = NULL, *tls_key = NULL, *sub_mode = "shared";
	const char *boards_dir = NULL, *webhooks_path = NULL, *webhook_retry_arg = NULL;
	const char *web_dir = NULL, *public_url_arg = NULL;
	char public_url[300] = "";
	double webhook_retry_max = 300;
	struct tpc_webhook *webhooks = NULL;
	atomic_int broker_up = 0;
	bool no_predict = false;
	const char *threshold_arg = NULL;
	double threshold = 0;
	/* Ten years back: replays (make eval, the tests) and long spool backlogs
	 * carry old device times, and an old ts cannot move last_seen (kept as
	 * a maximum); a clock reset to 1970 is still refused. One day ahead: a
	 * report from the year 3000 would set last_seen for good. */
	const char *skew_arg = "3650d,1d";
	bool registered_only = false;
	struct tpc_ingest_policy ingest_policy = { 0 };
	struct tpd_cli_opt opts[] = {
		{ "max-skew", "BACK[,AHEAD]", "refuse reports whose ts is further than this from the collector's clock (N[s|m|h|d], 0: no limit; default 3650d,1d)", &skew_arg, NULL },
		{ "registered-only", NULL, "ignore (and count as unregistered) telemetry and status of ids not in the registry", NULL, &registered_only },
		{ "broker", "URL", "mqtt://HOST:PORT or mqtts://HOST:PORT", &broker, NULL },
		{ "db", "URL", "sqlite:PATH (PostgreSQL to come)", &db, NULL },
		{ "listen", "HOST:PORT", "HTTP API address (default 127.0.0.1:8080; port 0 = any)", &listen, NULL },
		{ "registry", "FILE.csv", "device registry: ids, models, purchase dates, public keys", &registry_path, NULL },
		{ "tokens", "FILE", "API bearer tokens, hashed (see tpclaim token new); without it the API is read-only", &tokens_path, NULL },
		{ "policy", "FILE.json", "warranty policy: periods, exclusions, holidays (default: 12 months for all)", &policy_path, NULL },
		{ "ca", "FILE", "mqtts: CA certificate(s) to trust for the broker (default: the system's)", &tls_ca, NULL },
		{ "cert", "FILE", "mqtts: the collector's client certificate (CN tpcollect in the shipped ACL)", &tls_cert, NULL },
		{ "tls-key", "FILE", "mqtts: the private key of --cert", &tls_key, NULL },
		{ "subscribe", "shared|exclusive", "shared: $share/tpcollect/tp/v1/+/+, several collectors split the load (default, SPEC §2); exclusive: tp/v1/+/+ for a single collector, which mosquitto 2.0 also keeps across a broker restart (see README)", &sub_mode, NULL },
		{ "client-id", "ID", "MQTT client id of this collector's persistent session (default tpcollect)", &client_id, NULL },
		{ "boards", "DIR", "product descriptions (MODEL.json) for the predictive engine (default: ./boards, then " TPD_DATADIR "/boards)", &boards_dir, NULL },
		{ "predict-threshold", "H", "the forecasts' decision threshold (default: the built-in one; lower calls earlier and more often)", &threshold_arg, NULL },
		{ "webhooks", "FILE", "helpdesk webhook targets, one \"NAME URL SECRET\" a line: claim events are POSTed to each, signed (X-TP-Signature), retried until a 2xx", &webhooks_path, NULL },
		{ "webhook-retry-max", "S", "the longest pause between two attempts at a failing webhook target (1 s doubling; default 300)", &webhook_retry_arg, NULL },
		{ "web", "DIR", "the console's and tracking page's static files (default: ./cloud/web, then " TPD_WEBDIR ")", &web_dir, NULL },
		{ "public-url", "URL", "where customers reach this collector; tracking links start with it (default: http://the --listen address)", &public_url_arg, NULL },
		{ "no-predict", NULL, "no fleet forecasts (claims only from the devices' fault reports)", NULL, &no_predict },
		{ NULL, NULL, NULL, NULL, NULL },
	};
	struct tpd_cli cli = {
		.program = PROG,
		.synopsis = "--broker URL --db sqlite:PATH [--listen HOST:PORT] [--registry FILE.csv]\n"
			    "       [--tokens FILE] [--policy FILE.json]",
		.description = "Ingests the fleet's reports over MQTT, verifies and stores them, opens\n"
			       "warranty claims for power and thermal faults, and serves the support API.",
		.opts = opts,
	};
	const char *subs[] = { SHARED_SUB, NULL };
	const char *exclusive_subs[] = { EXCLUSIVE_SUB, NULL };
	struct tpc_store *store = NULL;
	struct tpc_registry *reg = NULL, *file = NULL;
	struct tpc_policy *policy = NULL;
	struct tpc_tokens *tokens = NULL;
	struct tpc_collector *col = NULL;
	struct tpc_fleet *fleet = NULL;
	const char *board_dirs[] = { boards_dir ? boards_dir : "boards",
				     boards_dir ? NULL : TPD_DATADIR "/boards", NULL };
	struct tpcollect t = { 0 };
	struct tpc_api_cfg ac = { 0 };
	struct tpc_api *api = NULL;
	struct tpd_mqtt *mqtt = NULL;
	struct tpd_mqtt_cfg mc = { 0 };
	struct sigaction sa = { .sa_handler = tpcollect_on_signal };
	char err[512], host[256];
	int port, bound, optind_out, code = 1;
	double deadline;

	switch (tpd_cli_parse(&cli, argc, argv, &optind_out)) {
	case TPD_CLI_EXIT0: return 0;
	case TPD_CLI_USAGE: return 2;
	case TPD_CLI_RUN: break;
	}
	if (optind_out < argc || !broker || !db ||
	    tpc_api_parse_listen(listen, host, sizeof(host), &port) ||
	    (strcmp(sub_mode, "shared") != 0 && strcmp(sub_mode, "exclusive") != 0) ||
	    (threshold_arg && !tpd_cli_number(threshold_arg, 0.1, 1000, &threshold)) ||
	    (webhook_retry_arg && !tpd_cli_number(webhook_retry_arg, 1, 86400, &webhook_retry_max)) ||
	    !tpcollect_skew(skew_arg, &ingest_policy)) {
		fprintf(stderr, PROG ": bad usage: %s\n", optind_out < argc ? "unexpected argument"
			: (!broker || !db) ? "--broker and --db are required"
			: strcmp(sub_mode, "shared") && strcmp(sub_mode, "exclusive")
			? "--subscribe takes shared or exclusive"
			: threshold_arg && threshold == 0 ? "--predict-threshold takes a number from 0.1 to 1000"
			: webhook_retry_arg && !tpd_cli_number(webhook_retry_arg, 1, 86400, &webhook_retry_max)
			? "--webhook-retry-max takes seconds from 1 to 86400"
			: !tpcollect_skew(skew_arg, &ingest_policy)
			? "--max-skew takes BACK[,AHEAD], each N[s|m|h|d]"
			: "--listen takes HOST:PORT");
		tpd_cli_free(&cli);
		return 2;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	mosquitto_lib_init();
	curl_global_init(CURL_GLOBAL_DEFAULT);

	if (tpc_store_open(db, &store, err, sizeof(err))) {
		fprintf(stderr, PROG ": database: %s\n", err);
		goto out;
	}
	if (policy_path ? tpc_policy_load(policy_path, &policy, err, sizeof(err))
			: tpc_policy_builtin(&policy)) {
		fprintf(stderr, PROG ": policy: %s\n", policy_path ? err : "out of memory");
		goto out;
	}
	if (tokens_path && tpc_tokens_load(tokens_path, &tokens, err, sizeof(err))) {
		fprintf(stderr, PROG ": tokens: %s\n", err);
		goto out;
	}
	if (webhooks_path && tpc_webhook_load(webhooks_path, &webhooks, err, sizeof(err))) {
		fprintf(stderr, PROG ": webhooks: %s\n", err);
		goto out;
	}
	if (registry_path && tpc_registry_load(registry_path, &file, err, sizeof(err))) {
		fprintf(stderr, PROG ": registry: %s\n", err);
		goto out;
	}
	if (tpc_registry_new(&reg) || tpc_store_device_keys(store, tpcollect_key, reg)) {
		fprintf(stderr, PROG ": registry: cannot load the stored device keys\n");
		goto out;
	}
	ingest_policy.registered_only = registered_only;
	tpc_registry_set_policy(reg, &ingest_policy);
	if ((file && tpcollect_register(store, reg, policy, file)) ||
	    tpc_collector_new(store, reg, policy, &col))
		goto out;
	if (!no_predict) {
		if (tpc_fleet_new(board_dirs, threshold, &fleet))
			goto out;
		tpc_collector_set_fleet(col, fleet);
	}
	if (tpc_registry_count(reg) == 0)
		fprintf(stderr, PROG ": no registered devices yet: signed reports will be rejected as "
			"unknown kid until devices are imported (--registry or tpclaim devices import)\n");
	if (!tokens)
		fprintf(stderr, PROG ": no --tokens: the API is read-only\n");
	t.col = col;
	t.outbox.store = store;
	if (tpd_inflight_init(&t.outbox.inflight, OUTBOX_INFLIGHT))
		goto out;

	mc.url = broker;
	mc.client_id = client_id;
	mc.clean_session = false;
	mc.subscribe = strcmp(sub_mode, "exclusive") == 0 ? exclusive_subs : subs;
	mc.backoff_max_ms = RECONNECT_MAX_MS;
	mc.refused_max_ms = REFUSED_MAX_MS;
	mc.on_message = tpcollect_on_message;
	mc.on_acked = tpcollect_on_acked;
	mc.before_ack = tpcollect_before_ack;
	mc.tls_ca = tls_ca;
	mc.tls_cert = tls_cert;
	mc.tls_key = tls_key;
	mc.ctx = &t;
	mc.program = PROG;
	if (tpd_mqtt_new(&mc, &mqtt, err, sizeof(err))) {
		fprintf(stderr, PROG ": broker: %s\n", err);
		goto out;
	}
	deadline = tpcollect_now() + SUBSCRIBE_WAIT_S;
	while (!tpd_mqtt_subscribed(mqtt) && !tpcollect_stop && tpcollect_now() < deadline)
		tpd_mqtt_loop(mqtt, 100);
	if (!tpd_mqtt_subscribed(mqtt)) {
		fprintf(stderr, PROG ": broker: not subscribed to %s within %d s; is %s up?\n",
			mc.subscribe[0], SUBSCRIBE_WAIT_S, broker);
		goto out;
	}
	ac.host = host;
	ac.port = port;
	ac.store = store;
	ac.collector = col;
	ac.registry = reg;
	ac.policy = policy;
	ac.tokens = tokens;
	ac.webhook = webhooks;
	if (!web_dir)
		web_dir = access("cloud/web/track.html", R_OK) == 0 ? "cloud/web" : TPD_WEBDIR;
	ac.web_dir = web_dir;
	ac.js_dir = TPD_JSDIR;
	ac.board_dirs = board_dirs;
	ac.public_url = public_url;
	ac.broker_up = &broker_up;
	atomic_store(&broker_up, 1);
	if (tpc_api_start(&ac, &api, &bound, err, sizeof(err))) {
		fprintf(stderr, PROG ": api: %s\n", err);
		goto out;
	}
	if (public_url_arg)
		snprintf(public_url, sizeof(public_url), "%.*s", (int)strcspn(public_url_arg, "\r\n"),
			 public_url_arg);
	else
		snprintf(public_url, sizeof(public_url), "http://%s:%d", host, bound);
	/* the trailing slash of "https://x/" would make "https://x//track/..." */
	while (strlen(public_url) > 1 && public_url[strlen(public_url) - 1] == '/')
		public_url[strlen(public_url) - 1] = '\0';
	if (webhooks && tpc_webhook_start(webhooks, store, webhook_retry_max, public_url)) {
		fprintf(stderr, PROG ": webhooks: cannot start the delivery thread\n");
		goto out;
	}
	fprintf(stderr, PROG ": %zu registered devices, database %s, %zu API tokens\n",
		tpc_registry_count(reg), db, tpc_tokens_count(tokens));
	fprintf(stderr, PROG ": listening on %s:%d\n", host, bound);
	while (!tpcollect_stop) {
		tpd_mqtt_loop(mqtt, 200);
		atomic_store(&broker_up, tpd_mqtt_connected(mqtt) ? 1 : 0);
		tpcollect_outbox_pump(&t.outbox, mqtt);
	}
	/* Give notices in flight a moment to be acknowledged. */
	tpd_mqtt_drain(mqtt, 2000);
	code = 0;
out:
	if (col) {
		struct tpc_collector_stats st;

		tpc_collector_stats(col, &st);
		fprintf(stderr, PROG ": stopping: %llu received, %llu stored, %llu duplicates, "
			"%llu rejected, %llu claims opened (%llu by forecast)\n",
			(unsigned long long)st.received, (unsigned long long)st.stored,
			(unsigned long long)st.duplicates, (unsigned long long)st.rejected,
			(unsigned long long)st.claims_opened, (unsigned long long)st.predicted_claims);
	}
	tpc_api_stop(api);
	tpc_webhook_free(webhooks);
	tpd_mqtt_free(mqtt);
	tpc_collector_free(col);
	tpc_fleet_free(fleet);
	tpc_registry_free(reg);
	tpc_registry_free(file);
	tpc_tokens_free(tokens);
	tpc_policy_free(policy);
	tpd_inflight_free(&t.outbox.inflight);
	tpc_store_close(store);
	mosquitto_lib_cleanup();
	curl_global_cleanup();
	tpd_cli_free(&cli);
	return code;
}
