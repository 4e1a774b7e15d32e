/*
 * tpcollect.c - the collector daemon: MQTT (shared subscription, persistent
 * session) -> collector pipeline -> store; HTTP API for support.
 *
 * Start-up order matters (design notes):
 * 1. Everything that can fail locally comes first: the store opens, the
 *    policy, tokens and registry load (keys stored in the database, then
 *    the --registry file, which is also stored), the API binds its port.
 *    Only then does MQTT connect with the persistent session and subscribe.
 *    A collector that cannot serve never joins the shared subscription:
 *    a persistent member that joins and dies keeps getting its share of the
 *    stream from mosquitto (upstream #1747), and those reports are lost to
 *    every live collector.
 * 2. "listening on HOST:PORT" is logged once the subscription is
 *    acknowledged (whoever waits for that line, tests and the demo, can rely
 *    on the collector taking reports from then on), or after
 *    SUBSCRIBE_WAIT_S without a broker: the API then serves and /healthz
 *    says why it is not ready, while MQTT keeps reconnecting.
 * 3. Signals are flags read by the main loop, between two MQTT loops:
 *    SIGHUP reloads the registry file, policy and tokens and reopens the
 *    log file there, on the ingest thread, so no message is in the middle
 *    of being handled and none is dropped (they wait in the socket); a
 *    file that does not load keeps the old one (logged). SIGTERM/SIGINT
 *    stop taking messages, wait for the outbox's acknowledgements and exit;
 *    every acknowledged report was committed before its PUBACK.
 *
 * The main loop also drains the store's outbox (claim notices for devices'
 * cmd topics): a row is marked sent only when the broker acknowledges it, so
 * a notice survives a broker outage or a collector restart (at least once).
 *
 * 4. --broker nats://... (a NATS cluster, devices on its MQTT listener) runs
 *    tpcollect_run_nats instead of the MQTT loop: the same order (API
 *    first, "listening on" once the stream is in place and the partitions'
 *    leases were asked), the same signals, tick and outbox; the transport
 *    is cloud/broker_nats.c (group commit per fetched batch, acked after
 *    its commit).
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

#ifdef TPD_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "tpd/cli.h"
#include "tpd/clock.h"
#include "tpd/inflight.h"
#include "tpd/log.h"
#include "tpd/jws.h"
#include "tpd/mqtt.h"
#include "tpd/units.h"
#include "api.h"
#include "broker_nats.h"
#include "collector.h"
#include "fleet.h"
#include "devices.h"
#include "policy.h"
#include "workcal.h"
#include "registry.h"
#include "store.h"
#include "tokens.h"
#include "webhook.h"

#define PROG "tpcollect"
#define SHARED_SUB "$share/tpcollect/tp/v1/+/+"
#define EXCLUSIVE_SUB "tp/v1/+/+"
/* --role forecast: every device's telemetry, on this collector's own session */
#define FORECAST_SUB "tp/v1/+/telemetry"
#define FORECAST_MAX_DEFAULT 100000
#define FORECAST_MAX_DEFAULT_S "100000"
#define RECONNECT_MAX_MS 2000   /* one client, not a fleet: come back fast */
/* After a batch could not be stored (disk full): 1 s doubling to this
 * before the broker is asked for it again. */
#define REFUSED_MAX_MS 16000
#define SUBSCRIBE_WAIT_S 30
#define OUTBOX_INFLIGHT 64

/* Set by the signal handlers, read by the main loop (note 3). */
static volatile sig_atomic_t tpcollect_stop, tpcollect_hup;

static void tpcollect_on_signal(int sig)
{
	if (sig == SIGHUP)
		tpcollect_hup = 1;
	else
		tpcollect_stop = 1;
}

/* sd_notify(3) when built with libsystemd (make detects it); a no-op
 * otherwise and when not started by systemd. */
static void tpcollect_notify(const char *state)
{
#ifdef TPD_HAVE_SYSTEMD
	sd_notify(0, state);
#else
	(void)state;
#endif
}

/* Half the watchdog interval systemd asks for (WatchdogSec=), 0: none. */
static double tpcollect_watchdog_s(void)
{
#ifdef TPD_HAVE_SYSTEMD
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
		return (double)usec / 2e6;
#endif
	return 0;
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
	/* what SIGHUP reloads (note 3) */
	struct tpc_store *store;
	struct tpc_registry *reg;
	struct tpc_policy *policy;
	struct tpc_tokens *tokens;        /* NULL: no --tokens, the API stays read-only */
	const char *registry_path, *policy_path, *tokens_path;
	const char *calendars_dir;   /* the one that loaded, NULL: none */
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
		tpd_log(TPD_LOG_WARN, "outbox", "outbox: cannot mark message %llu sent (it will be "
			"sent again)", (unsigned long long)id);
}

/* Hands unsent outbox rows to MQTT while there is room in flight. */
static void tpcollect_outbox_pump(struct tpcollect_outbox *o, struct tpd_mqtt *mqtt)
{
	/* of several collectors on one database, one sends (store.h) */
	if (!tpc_store_leads(o->store, "outbox"))
		return;
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
		tpd_log(TPD_LOG_WARN, "registry", "registry: stored key of %s is unusable; its reports "
			"will be rejected", id);
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
		tpd_log(TPD_LOG_ERR, "registry", "registry: cannot store devices: %s",
			rc == TPD_ERR_INVAL ? why : tpd_strerror(rc));
		return 1;
	}
	tpd_log(TPD_LOG_INFO, "registry", "registry file: %zu devices (%zu new, %zu updated)",
		tpc_registry_count(file), res.created, res.updated);
	return 0;
}

/* One duration of --max-skew: plain seconds or with a unit (tpd/units.h). */
static bool tpcollect_duration(const char *s, size_t len, double *out)
{
	char buf[32];
	uint64_t ms;

	if (len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (tpd_units_duration(buf, 1000, 0, 100000000000000ULL, &ms))
		return false;
	*out = (double)ms / 1000.0;
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

/*
 * The business calendars (workcal.h) from dir, or without --calendars from
 * ./cloud/calendars (a source tree), then the installed ones; none found is
 * a warning (review deadlines then count UTC weekdays), a bad file an error.
 * *used: the folder they came from (left as it was when none loaded).
 */
static enum tpd_err tpcollect_calendars(const char *dir, struct tpc_policy *policy,
					const char **used)
{
	static const char *const dflt[] = { "cloud/calendars", TPD_CALDIR, NULL };
	struct tpc_workcals *cals = NULL;
	char err[512];

	for (size_t i = 0; !dir && dflt[i]; i++) {
		if (access(dflt[i], R_OK | X_OK) == 0)
			dir = dflt[i];
	}
	if (!dir) {
		tpd_log(TPD_LOG_WARN, "calendar", "no business calendars (--calendars DIR): review "
			"deadlines count 2 weekdays in UTC");
		return TPD_OK;
	}
	cals = tpc_workcals_load_dir(dir, err, sizeof(err));
	if (!cals) {
		tpd_log(TPD_LOG_ERR, "calendar", "calendars: %s", err);
		return TPD_ERR_INVAL;
	}
	tpd_log(TPD_LOG_INFO, "calendar", "business calendars of %zu regions from %s",
		tpc_workcals_count(cals), dir);
	tpc_policy_set_calendars(policy, cals);
	*used = dir;   /* what SIGHUP loads again */
	return TPD_OK;
}

/*
 * SIGHUP (note 3): the log file reopens; the --policy, --tokens and
 * --registry files load again. Each file is all or nothing: one that does
 * not load leaves what was in use, and the line says why.
 */
static void tpcollect_reload(struct tpcollect *t)
{
	char err[512];
	struct tpc_policy *policy = NULL;
	struct tpc_tokens *tokens = NULL;
	struct tpc_registry *file = NULL;
	int failed = 0;

	if (tpd_log_reopen(err, sizeof(err)))
		tpd_log(TPD_LOG_ERR, "log", "log: cannot reopen %s (still writing to the old file)",
			err);
	if (t->policy_path) {
		if (tpc_policy_load(t->policy_path, &policy, err, sizeof(err))) {
			tpd_log(TPD_LOG_ERR, "reload", "policy: %s (the previous policy stays)", err);
			failed++;
		} else {
			tpc_policy_swap(t->policy, policy);
		}
	}
	/* keys another collector on the database stored (an import, a
	 * changed key) since this one started */
	if (tpc_store_device_keys(t->store, tpcollect_key, t->reg)) {
		tpd_log(TPD_LOG_ERR, "reload", "registry: cannot read the stored device keys");
		failed++;
	}
	if (t->calendars_dir && tpcollect_calendars(t->calendars_dir, t->policy,
						    &t->calendars_dir)) {
		tpd_log(TPD_LOG_ERR, "reload", "calendars: the previous calendars stay");
		failed++;
	}
	if (t->tokens_path) {
		if (tpc_tokens_load(t->tokens_path, &tokens, err, sizeof(err))) {
			tpd_log(TPD_LOG_ERR, "reload", "tokens: %s (the previous tokens stay)", err);
			failed++;
		} else {
			tpc_tokens_swap(t->tokens, tokens);
		}
	}
	if (t->registry_path) {
		if (tpc_registry_load(t->registry_path, &file, err, sizeof(err))) {
			tpd_log(TPD_LOG_ERR, "reload", "registry: %s (the stored devices stay)", err);
			failed++;
		} else if (tpcollect_register(t->store, t->reg, t->policy, file)) {
			failed++;
		}
		tpc_registry_free(file);
	}
	tpd_log(failed ? TPD_LOG_WARN : TPD_LOG_INFO, "reload", "reloaded on SIGHUP%s: policy %s, "
		"%zu API tokens, %zu registered devices; log %s", failed ? " (with errors)" : "",
		t->policy_path ? t->policy_path : "built-in", tpc_tokens_count(t->tokens),
		tpc_registry_count(t->reg), tpd_log_dest());
}

/*
 * The default MQTT client id: "tpcollect-HOST-XXXXXXXX", HOST this machine's
 * name and XXXXXXXX a hash of the --db URL. Stable across restarts (the
 * persistent session and its queue are found again) and different for each
 * instance (two collectors never take each other's session over).
 */
static void tpcollect_default_client_id(const char *db, char *out, size_t len)
{
	char host[64] = "";
	uint32_t h = 2166136261u;   /* FNV-1a */

	if (gethostname(host, sizeof(host) - 1) != 0 || !*host)
		snprintf(host, sizeof(host), "localhost");
	for (size_t i = 0; host[i]; i++) {
		unsigned char ch = (unsigned char)host[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-'))
			host[i] = '-';
	}
	for (const char *c = db; *c; c++) {
		h ^= (unsigned char)*c;
		h *= 16777619u;
	}
	snprintf(out, len, "tpcollect-%.40s-%08x", host, (unsigned)h);
}

/* The outbox through NATS (note 4): a row is marked sent once the server
 * has the notice (a flush); one collector of several sends (store.h). */
static void tpcollect_outbox_nats(struct tpcollect_outbox *o, struct tpc_nats *nats)
{
	if (!tpc_store_leads(o->store, "outbox"))
		return;
	for (int i = 0; i < OUTBOX_INFLIGHT && tpc_nats_connected(nats); i++) {
		char *topic, *payload;
		int64_t id;
		enum tpd_err rc = tpc_store_outbox_next(o->store, o->last, &id, &topic, &payload);

		if (rc)
			return;
		rc = tpc_nats_publish(nats, topic, payload);
		free(topic);
		free(payload);
		if (rc)
			return;   /* retried on the next pass */
		o->last = id;
		if (tpc_store_outbox_done(o->store, id))
			tpd_log(TPD_LOG_WARN, "outbox", "outbox: cannot mark message %lld sent (it "
				"will be sent again)", (long long)id);
	}
}

/*
 * The main loop on a NATS cluster (note 4). Returns 0 after SIGTERM/SIGINT,
 * 1 when the transport cannot start (err logged). host and bound are the
 * API's address, for the "listening on" line.
 */
static int tpcollect_run_nats(struct tpcollect *t, const char *broker, const char *host,
			      int bound, atomic_int *broker_up)
{
	struct tpc_nats *nats = NULL;
	char err[512], why[256];
	double started = tpd_clock_mono(), watchdog_s = tpcollect_watchdog_s(), watchdog_next = 0;
	bool announced = false, ready = false;
	unsigned owned = 0;

	if (tpc_nats_new(broker, t->col, t->store, &nats, err, sizeof(err))) {
		tpd_log(TPD_LOG_ERR, "nats", "broker: %s", err);
		return 1;
	}
	tpd_log(TPD_LOG_INFO, "nats", "NATS cluster %s: JetStream stream TPDIAG, %d partitions "
		"taken by lease", broker, TPC_NATS_PARTITIONS);
	snprintf(why, sizeof(why), "connecting to %s", broker);
	while (!tpcollect_stop) {
		double now;
		bool now_ready;

		tpc_nats_poll(nats, ready ? 200 : 100);
		atomic_store(broker_up, tpc_nats_connected(nats) ? 1 : 0);
		now = tpd_clock_mono();
		now_ready = tpc_nats_ready(nats);
		if (now_ready != ready) {
			ready = now_ready;
			snprintf(why, sizeof(why), "%s %s", tpc_nats_connected(nats)
				 ? "no stream yet on" : "no connection to", broker);
			tpc_collector_set_broker(t->col, ready, why);
		}
		if (tpc_nats_owned(nats) != owned) {
			owned = tpc_nats_owned(nats);
			tpd_log(TPD_LOG_INFO, "nats", "nats: pulling %u of %d partitions (and status "
				"counts as one)", owned, TPC_NATS_PARTITIONS + 1);
		}
		if (!announced && (ready || now - started >= SUBSCRIBE_WAIT_S)) {
			announced = true;
			if (!ready)
				tpd_log(TPD_LOG_WARN, "nats", "broker: not ready after %.0f s (%s); "
					"serving the API, /healthz says not ready; still trying",
					now - started, why);
			tpd_log(TPD_LOG_INFO, "api", "listening on %s:%d", host, bound);
			tpcollect_notify("READY=1\nSTATUS=listening");
		}
		if (tpcollect_hup) {
			tpcollect_hup = 0;
			tpcollect_notify("RELOADING=1");
			tpcollect_reload(t);
			tpcollect_notify("READY=1");
		}
		if (watchdog_s > 0 && now >= watchdog_next) {
			tpcollect_notify("WATCHDOG=1");
			watchdog_next = now + watchdog_s;
		}
		tpc_collector_tick(t->col, now);
		tpcollect_outbox_nats(&t->outbox, nats);
	}
	tpcollect_notify("STOPPING=1");
	tpc_nats_free(nats);
	return 0;
}

int main(int argc, char **argv)
{
	const char *broker = NULL, *db = NULL, *listen = "127.0.0.1:8080", *registry_path = NULL;
	const char *client_id = NULL, *tokens_path = NULL, *policy_path = NULL;
	const char *tls_ca = NULL, *tls_cert = NULL, *tls_key = NULL, *sub_mode = "shared";
	const char *boards_dir = NULL, *log_dest = "stderr";
	const char *webhooks_path = NULL, *webhook_retry_arg = NULL;
	const char *web_dir = NULL, *public_url_arg = NULL, *calendars_dir = NULL;
	const char *role = "all";
	char public_url[300] = "";
	double webhook_retry_max = 300;
	struct tpc_webhook *webhooks = NULL;
	atomic_int broker_up = 0;
	bool no_predict = false;
	const char *threshold_arg = NULL;
	const char *raw_days_arg = NULL, *gap_grace_arg = NULL;
	double raw_days = 30, gap_grace_s = 30;
	const char *forecast_idle_arg = NULL, *forecast_max_arg = NULL;
	double forecast_idle_s = 3600, forecast_max = FORECAST_MAX_DEFAULT;
	double threshold = 0;
	/* Ten years back: replays (make eval, the tests) and long spool backlogs
	 * carry old device times, and an old ts cannot move last_seen (kept as
	 * a maximum); a clock reset to 1970 is still refused. One day ahead: a
	 * report from the year 3000 would set last_seen for good. */
	const char *skew_arg = "3650d,1d";
	bool registered_only = false, shared;
	struct tpc_ingest_policy ingest_policy = { 0 };
	struct tpd_cli_opt opts[] = {
		{ "broker", "URL", "mqtt://HOST:PORT, mqtts://HOST:PORT, or nats://HOST:PORT[,HOST:PORT...]: a NATS cluster whose MQTT listener the devices use (JetStream stream TPDIAG, partitions by lease; README)", &broker, NULL },
		{ "db", "URL", "sqlite:PATH or postgresql://USER@HOST:PORT/DB", &db, NULL },
		{ "listen", "HOST:PORT", "HTTP API address (default 127.0.0.1:8080; port 0 = any)", &listen, NULL },
		{ "registry", "FILE.csv", "device registry: ids, models, purchase dates, public keys (loaded again on SIGHUP)", &registry_path, NULL },
		{ "tokens", "FILE", "API bearer tokens, hashed (see tpclaim token new; loaded again on SIGHUP); without it the API is read-only", &tokens_path, NULL },
		{ "policy", "FILE.json", "warranty policy: periods, exclusions, holidays (loaded again on SIGHUP; default: 12 months for all, with a warning)", &policy_path, NULL },
		{ "calendars", "DIR", "business calendars, REGION.json each (time zone, working hours, holidays, make-up working days): a claim's review is due 2 working days after it opens in its device's region (default: ./cloud/calendars, then " TPD_CALDIR "; loaded again on SIGHUP)", &calendars_dir, NULL },
		{ "log", "stderr|syslog|FILE", "where log lines go (default stderr; a FILE is reopened on SIGHUP)", &log_dest, NULL },
		{ "max-skew", "BACK[,AHEAD]", "refuse reports whose ts is further than this from the collector's clock (seconds or 90s, 15m, 12h, 30d, 2w; 0: no limit; default 3650d,1d)", &skew_arg, NULL },
		{ "registered-only", NULL, "ignore (and count as unregistered) telemetry and status of ids not in the registry", NULL, &registered_only },
		{ "ca", "FILE", "mqtts: CA certificate(s) to trust for the broker (default: the system's)", &tls_ca, NULL },
		{ "cert", "FILE", "mqtts: the collector's client certificate (CN tpcollect in the shipped ACL)", &tls_cert, NULL },
		{ "tls-key", "FILE", "mqtts: the private key of --cert", &tls_key, NULL },
		{ "subscribe", "shared|exclusive", "shared: $share/tpcollect/tp/v1/+/+, several collectors split the load (default, SPEC §2); exclusive: tp/v1/+/+ for a single collector, which mosquitto 2.0 also keeps across a broker restart (see README)", &sub_mode, NULL },
		{ "client-id", "ID", "MQTT client id of this collector's persistent session (default tpcollect-HOST-HASH: this machine's name and a hash of --db, the same at every restart)", &client_id, NULL },
		{ "boards", "DIR", "product descriptions (MODEL.json) for the predictive engine (default: ./boards, then " TPD_DATADIR "/boards)", &boards_dir, NULL },
		{ "predict-threshold", "H", "the forecasts' decision threshold (default: the built-in one; lower calls earlier and more often)", &threshold_arg, NULL },
		{ "webhooks", "FILE", "helpdesk webhook targets, one \"NAME URL SECRET\" a line: claim events are POSTed to each, signed (X-TP-Signature), retried until a 2xx", &webhooks_path, NULL },
		{ "webhook-retry-max", "S", "the longest pause between two attempts at a failing webhook target (1 s doubling; seconds or 5m, 1h; default 300)", &webhook_retry_arg, NULL },
		{ "web", "DIR", "the console's and tracking page's static files (default: ./cloud/web, then " TPD_WEBDIR ")", &web_dir, NULL },
		{ "public-url", "URL", "where customers reach this collector; tracking links start with it (default: http://the --listen address)", &public_url_arg, NULL },
		{ "role", "all|ingest|forecast", "all (default): store the reports and forecast; with several collectors on one PostgreSQL database, ingest: store only (on the shared subscription), forecast: no storing, every device's telemetry on its own subscription for the predictive engine (run one, or a standby beside it)", &role, NULL },
		{ "no-predict", NULL, "no fleet forecasts (claims only from the devices' fault reports)", NULL, &no_predict },
		{ "forecast-idle", "S", "a device without telemetry this long has its forecast state moved from memory to the database until it reports again (seconds or 30m, 6h; default 1h; 0: never)", &forecast_idle_arg, NULL },
		{ "forecast-max", "N", "at most N devices' forecast state in memory, the least recently seen go to the database (default " FORECAST_MAX_DEFAULT_S ", about 5 KB each; 0: no bound)", &forecast_max_arg, NULL },
		{ "raw-days", "N", "keep raw telemetry N days (or 12h, 8w), then only its hourly and daily rollups (default 30; 0: for ever)", &raw_days_arg, NULL },
		{ "gap-grace", "S", "a device's reports missing this long are a loss alarm (seconds or 2m; default 30); on PostgreSQL with the shared subscription, what another collector stored first is looked up", &gap_grace_arg, NULL },
		{ NULL, NULL, NULL, NULL, NULL },
	};
	struct tpd_cli cli = {
		.program = PROG,
		.synopsis = "--broker URL --db sqlite:PATH [--listen HOST:PORT] [--registry FILE.csv]\n"
			    "       [--tokens FILE] [--policy FILE.json] [--log stderr|syslog|FILE]",
		.description = "Ingests the fleet's reports over MQTT, verifies and stores them, opens\n"
			       "warranty claims for power and thermal faults, and serves the support API.\n"
			       "SIGHUP reloads --registry, --policy and --tokens and reopens the --log file;\n"
			       "SIGTERM stops after the messages in hand are committed.",
		.opts = opts,
	};
	const char *subs[] = { SHARED_SUB, NULL };
	const char *exclusive_subs[] = { EXCLUSIVE_SUB, NULL };
	const char *forecast_subs[] = { FORECAST_SUB, NULL };
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
	char err[512], host[256], default_id[128], why[256];
	int port, bound, optind_out, code = 1;
	double started, watchdog_s, watchdog_next = 0;
	bool announced = false, ready = false;

	switch (tpd_cli_parse(&cli, argc, argv, &optind_out)) {
	case TPD_CLI_EXIT0: return 0;
	case TPD_CLI_USAGE: return 2;
	case TPD_CLI_RUN: break;
	}
	if (optind_out < argc || !broker || !db ||
	    tpc_api_parse_listen(listen, host, sizeof(host), &port) ||
	    (strcmp(sub_mode, "shared") != 0 && strcmp(sub_mode, "exclusive") != 0) ||
	    (threshold_arg && !tpd_cli_number(threshold_arg, 0.1, 1000, &threshold)) ||
	    !tpcollect_skew(skew_arg, &ingest_policy)) {
		fprintf(stderr, PROG ": bad usage: %s\n", optind_out < argc ? "unexpected argument"
			: (!broker || !db) ? "--broker and --db are required"
			: strcmp(sub_mode, "shared") && strcmp(sub_mode, "exclusive")
			? "--subscribe takes shared or exclusive"
			: threshold_arg && threshold == 0 ? "--predict-threshold takes a number from 0.1 to 1000"
			: !tpcollect_skew(skew_arg, &ingest_policy)
			? "--max-skew takes BACK[,AHEAD], each seconds or N with ms, s, m, h, d, w"
			: "--listen takes HOST:PORT");
		tpd_cli_free(&cli);
		return 2;
	}
	if (strcmp(role, "all") && strcmp(role, "ingest") && strcmp(role, "forecast")) {
		fprintf(stderr, PROG ": bad usage: --role takes all, ingest or forecast\n");
		tpd_cli_free(&cli);
		return 2;
	}
	if (strcmp(role, "forecast") == 0 && no_predict) {
		fprintf(stderr, PROG ": bad usage: --role forecast and --no-predict leave it nothing to do\n");
		tpd_cli_free(&cli);
		return 2;
	}
	if (broker && strncmp(broker, "nats://", 7) == 0 && strcmp(role, "forecast") == 0) {
		fprintf(stderr, PROG ": bad usage: --role forecast is not available with a nats:// "
			"broker yet\n");
		tpd_cli_free(&cli);
		return 2;
	}
	raw_days *= 86400;
	if (!tpd_units_opt_duration(PROG, "webhook-retry-max", webhook_retry_arg, 1000, 1000,
				    86400000, "seconds or 90s, 5m, 1h: 1s to 1d", &webhook_retry_max) ||
	    !tpd_units_opt_duration(PROG, "raw-days", raw_days_arg, TPD_UNITS_MS_PER_DAY, 0,
				    36500 * TPD_UNITS_MS_PER_DAY, "days or 12h, 30d, 52w: 0 to 36500d",
				    &raw_days) ||
	    !tpd_units_opt_duration(PROG, "forecast-idle", forecast_idle_arg, TPD_UNITS_MS_PER_S, 0,
				    366 * TPD_UNITS_MS_PER_DAY, "seconds or 30m, 6h, 2d: 0 to 366d",
				    &forecast_idle_s) ||
	    !tpd_units_opt_duration(PROG, "gap-grace", gap_grace_arg, TPD_UNITS_MS_PER_S, 1000,
				    TPD_UNITS_MS_PER_DAY, "seconds or 90s, 5m: 1s to 1d", &gap_grace_s)) {
		tpd_cli_free(&cli);
		return 2;
	}
	if (forecast_max_arg && !tpd_cli_number(forecast_max_arg, 0, 1e9, &forecast_max)) {
		fprintf(stderr, PROG ": bad usage: --forecast-max takes a number of devices from 0 to "
			"1000000000\n");
		tpd_cli_free(&cli);
		return 2;
	}
	raw_days /= 86400;
	if (tpd_log_open(PROG, log_dest, err, sizeof(err))) {
		fprintf(stderr, PROG ": log: %s\n", err);
		tpd_cli_free(&cli);
		return 1;
	}
	if (!client_id) {
		tpcollect_default_client_id(db, default_id, sizeof(default_id));
		client_id = default_id;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	mosquitto_lib_init();
	curl_global_init(CURL_GLOBAL_DEFAULT);

	/* Note 1: everything local first. */
	if (tpc_store_open(db, &store, err, sizeof(err))) {
		tpd_log(TPD_LOG_ERR, "store", "database: %s", err);
		goto out;
	}
	tpc_store_set_raw_days(store, raw_days);
	if (policy_path ? tpc_policy_load(policy_path, &policy, err, sizeof(err))
			: tpc_policy_builtin(&policy)) {
		tpd_log(TPD_LOG_ERR, "policy", "policy: %s", policy_path ? err : "out of memory");
		goto out;
	}
	if (!policy_path)
		tpd_log(TPD_LOG_WARN, "policy", "no --policy: every model gets the built-in "
			"standard-12m warranty (12 months, no exclusions, no holidays)");
	if (tpcollect_calendars(calendars_dir, policy, &t.calendars_dir))
		goto out;
	if (tokens_path && tpc_tokens_load(tokens_path, &tokens, err, sizeof(err))) {
		tpd_log(TPD_LOG_ERR, "tokens", "tokens: %s", err);
		goto out;
	}
	if (webhooks_path && tpc_webhook_load(webhooks_path, &webhooks, err, sizeof(err))) {
		fprintf(stderr, PROG ": webhooks: %s\n", err);
		goto out;
	}
	if (registry_path && tpc_registry_load(registry_path, &file, err, sizeof(err))) {
		tpd_log(TPD_LOG_ERR, "registry", "registry: %s", err);
		goto out;
	}
	if (tpc_registry_new(&reg) || tpc_store_device_keys(store, tpcollect_key, reg)) {
		tpd_log(TPD_LOG_ERR, "registry", "registry: cannot load the stored device keys");
		goto out;
	}
	ingest_policy.registered_only = registered_only;
	tpc_registry_set_policy(reg, &ingest_policy);
	if ((file && tpcollect_register(store, reg, policy, file)) ||
	    tpc_collector_new(store, reg, policy, &col))
		goto out;
	if (strcmp(role, "ingest") == 0)
		no_predict = true;   /* the forecast collector's job */
	if (!no_predict) {
		if (tpc_fleet_new(board_dirs, threshold, &fleet))
			goto out;
		tpc_collector_set_fleet(col, fleet, forecast_idle_s, (size_t)forecast_max);
	}
	tpc_collector_set_forecast_only(col, strcmp(role, "forecast") == 0);
	/* other collectors on the database take their share of each device
	 * (not through NATS: a partition brings a device's reports to one) */
	shared = strncmp(db, "sqlite:", 7) != 0 && strcmp(sub_mode, "shared") == 0 &&
		 (!broker || strncmp(broker, "nats://", 7) != 0);
	if (tpc_collector_set_gaps(col, gap_grace_s, shared))
		goto out;
	if (shared)
		tpd_log(TPD_LOG_INFO, "gaps", "reports missing for %.0f s are looked up in the "
			"database before they are a loss alarm (other collectors take a share)",
			gap_grace_s);
	if (tpc_registry_count(reg) == 0)
		tpd_log(TPD_LOG_WARN, "registry", "no registered devices yet: signed reports will be "
			"rejected as unknown kid until devices are imported (--registry or tpclaim "
			"devices import)");
	if (!tokens)
		tpd_log(TPD_LOG_WARN, "api", "no --tokens: the API is read-only");
	t.col = col;
	t.outbox.store = store;
	t.store = store;
	t.reg = reg;
	t.policy = policy;
	t.tokens = tokens;
	t.registry_path = registry_path;
	t.policy_path = policy_path;
	t.tokens_path = tokens_path;
	if (tpd_inflight_init(&t.outbox.inflight, OUTBOX_INFLIGHT))
		goto out;

	snprintf(why, sizeof(why), "connecting to %s", broker);
	tpc_collector_set_broker(col, false, why);
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
	if (tpc_api_start(&ac, &api, &bound, err, sizeof(err))) {
		tpd_log(TPD_LOG_ERR, "api", "api: %s (not connecting to the broker: a collector that "
			"cannot serve does not join the shared subscription)", err);
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
		tpd_log(TPD_LOG_ERR, "webhook", "webhooks: cannot start the delivery thread");
		goto out;
	}

	if (strncmp(broker, "nats://", 7) == 0) {
		code = tpcollect_run_nats(&t, broker, host, bound, &broker_up);
		goto out;
	}
	/* Note 1: only now join the group. */
	mc.url = broker;
	mc.client_id = client_id;
	mc.clean_session = false;
	mc.subscribe = strcmp(role, "forecast") == 0 ? forecast_subs
		       : strcmp(sub_mode, "exclusive") == 0 ? exclusive_subs : subs;
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
		tpd_log(TPD_LOG_ERR, "mqtt", "broker: %s", err);
		goto out;
	}
	tpd_log(TPD_LOG_INFO, "mqtt", "MQTT client id %s (persistent session), subscribing to %s",
		client_id, mc.subscribe[0]);
	tpd_log(TPD_LOG_INFO, "main", "%zu registered devices, database %s, %zu API tokens",
		tpc_registry_count(reg), db, tpc_tokens_count(tokens));
	started = tpd_clock_mono();
	watchdog_s = tpcollect_watchdog_s();
	while (!tpcollect_stop) {
		double now;

		tpd_mqtt_loop(mqtt, ready ? 200 : 100);
		atomic_store(&broker_up, tpd_mqtt_connected(mqtt) ? 1 : 0);
		now = tpd_clock_mono();
		if (tpd_mqtt_subscribed(mqtt) != ready || !ready) {
			char now_why[sizeof(why)];

			snprintf(now_why, sizeof(now_why), "%s %s", tpd_mqtt_connected(mqtt)
				 ? "not subscribed yet on" : "no connection to", broker);
			if (tpd_mqtt_subscribed(mqtt) != ready || strcmp(now_why, why) != 0) {
				ready = tpd_mqtt_subscribed(mqtt);
				memcpy(why, now_why, sizeof(why));
				tpc_collector_set_broker(col, ready, why);
			}
		}
		/* Note 2. */
		if (!announced && (ready || now - started >= SUBSCRIBE_WAIT_S)) {
			announced = true;
			if (!ready)
				tpd_log(TPD_LOG_WARN, "mqtt", "broker: not subscribed to %s after %.0f s "
					"(%s); serving the API, /healthz says not ready; still trying",
					mc.subscribe[0], now - started, why);
			tpd_log(TPD_LOG_INFO, "api", "listening on %s:%d", host, bound);
			tpcollect_notify("READY=1\nSTATUS=listening");
		}
		if (tpcollect_hup) {
			tpcollect_hup = 0;
			tpcollect_notify("RELOADING=1");
			tpcollect_reload(&t);
			tpcollect_notify("READY=1");
		}
		if (watchdog_s > 0 && now >= watchdog_next) {
			tpcollect_notify("WATCHDOG=1");
			watchdog_next = now + watchdog_s;
		}
		tpc_collector_tick(col, now);
		tpcollect_outbox_pump(&t.outbox, mqtt);
	}
	tpcollect_notify("STOPPING=1");
	/* Give notices in flight a moment to be acknowledged. */
	tpd_mqtt_drain(mqtt, 2000);
	code = 0;
out:
	if (col) {
		struct tpc_collector_stats st;

		tpc_collector_save_forecasts(col);
		tpc_collector_stats(col, &st);
		tpd_log(TPD_LOG_INFO, "main", "stopping: %llu received, %llu stored, %llu duplicates, "
			"%llu rejected, %llu claims opened (%llu by forecast)",
			(unsigned long long)st.received, (unsigned long long)st.stored,
			(unsigned long long)st.duplicates, (unsigned long long)st.rejected,
			(unsigned long long)st.claims_opened, (unsigned long long)st.predicted_claims);
	}
	tpd_mqtt_free(mqtt);
	tpc_api_stop(api);
	tpc_webhook_free(webhooks);
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
	tpd_log_close();
	return code;
}
