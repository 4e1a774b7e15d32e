/*
 * tpcollect.c - the collector daemon: MQTT (shared subscription, persistent
 * session) -> collector pipeline -> store; HTTP API for support.
 *
 * Start-up order matters: the store opens, the registry loads, MQTT connects
 * and its subscription is acknowledged, and only then does the API start and
 * "listening on HOST:PORT" get logged. Whoever waits for that line (tests,
 * the demo) can rely on the collector taking reports from then on.
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

#include "tpd/cli.h"
#include "tpd/mqtt.h"
#include "api.h"
#include "collector.h"
#include "registry.h"
#include "store.h"

#define PROG "tpcollect"
#define SHARED_SUB "$share/tpcollect/tp/v1/+/+"
#define SUBSCRIBE_WAIT_S 30

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

static void tpcollect_on_message(void *ctx, const char *topic, const void *payload, size_t len)
{
	tpc_collector_handle(ctx, topic, payload, len, tpcollect_now());
}

/* Copies registry rows into the database so claims can show purchase data. */
static int tpcollect_register(struct tpc_store *store, const struct tpc_registry *reg)
{
	enum tpd_err rc = tpc_store_begin(store);

	for (size_t i = 0; !rc && i < tpc_registry_count(reg); i++) {
		const struct tpc_device *d = tpc_registry_at(reg, i);

		rc = tpc_store_device_register(store, d->id, d->model, d->purchase_date,
					       d->owner_contact, d->channel);
	}
	if (rc) {
		tpc_store_rollback(store);
		fprintf(stderr, PROG ": registry: cannot store devices: %s\n", tpd_strerror(rc));
		return 1;
	}
	return tpc_store_commit(store) ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *broker = NULL, *db = NULL, *listen = "127.0.0.1:8080", *registry_path = NULL;
	const char *client_id = "tpcollect";
	struct tpd_cli_opt opts[] = {
		{ "broker", "URL", "mqtt://HOST:PORT or mqtts://HOST:PORT", &broker, NULL },
		{ "db", "URL", "sqlite:PATH (PostgreSQL to come)", &db, NULL },
		{ "listen", "HOST:PORT", "HTTP API address (default 127.0.0.1:8080; port 0 = any)", &listen, NULL },
		{ "registry", "FILE.csv", "device registry: ids, models, purchase dates, public keys", &registry_path, NULL },
		{ "client-id", "ID", "MQTT client id of this collector's persistent session (default tpcollect)", &client_id, NULL },
		{ NULL, NULL, NULL, NULL, NULL },
	};
	struct tpd_cli cli = {
		.program = PROG,
		.synopsis = "--broker URL --db sqlite:PATH [--listen HOST:PORT] [--registry FILE.csv]",
		.description = "Ingests the fleet's reports over MQTT, verifies and stores them, opens\n"
			       "warranty claims for power and thermal faults, and serves the support API.",
		.opts = opts,
	};
	const char *subs[] = { SHARED_SUB, NULL };
	struct tpc_store *store = NULL;
	struct tpc_registry *reg = NULL;
	struct tpc_collector *col = NULL;
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
	    tpc_api_parse_listen(listen, host, sizeof(host), &port)) {
		fprintf(stderr, PROG ": bad usage: %s\n", optind_out < argc ? "unexpected argument"
			: (!broker || !db) ? "--broker and --db are required"
			: "--listen takes HOST:PORT");
		tpd_cli_free(&cli);
		return 2;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	mosquitto_lib_init();

	if (tpc_store_open(db, &store, err, sizeof(err))) {
		fprintf(stderr, PROG ": database: %s\n", err);
		goto out;
	}
	if (registry_path ? tpc_registry_load(registry_path, &reg, err, sizeof(err))
			  : tpc_registry_new(&reg)) {
		fprintf(stderr, PROG ": registry: %s\n", registry_path ? err : "out of memory");
		goto out;
	}
	if (!registry_path)
		fprintf(stderr, PROG ": no --registry: every signed report will be rejected as an "
			"unknown kid\n");
	if (tpcollect_register(store, reg) || tpc_collector_new(store, reg, &col))
		goto out;

	mc.url = broker;
	mc.client_id = client_id;
	mc.clean_session = false;
	mc.subscribe = subs;
	mc.on_message = tpcollect_on_message;
	mc.ctx = col;
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
			SHARED_SUB, SUBSCRIBE_WAIT_S, broker);
		goto out;
	}
	if (tpc_api_start(host, port, store, col, &api, &bound, err, sizeof(err))) {
		fprintf(stderr, PROG ": api: %s\n", err);
		goto out;
	}
	fprintf(stderr, PROG ": %zu registered devices, database %s\n", tpc_registry_count(reg), db);
	fprintf(stderr, PROG ": listening on %s:%d\n", host, bound);
	while (!tpcollect_stop)
		tpd_mqtt_loop(mqtt, 500);
	code = 0;
out:
	if (col) {
		struct tpc_collector_stats st;

		tpc_collector_stats(col, &st);
		fprintf(stderr, PROG ": stopping: %llu received, %llu stored, %llu duplicates, "
			"%llu rejected, %llu claims opened\n", (unsigned long long)st.received,
			(unsigned long long)st.stored, (unsigned long long)st.duplicates,
			(unsigned long long)st.rejected, (unsigned long long)st.claims_opened);
	}
	tpc_api_stop(api);
	tpd_mqtt_free(mqtt);
	tpc_collector_free(col);
	tpc_registry_free(reg);
	tpc_store_close(store);
	mosquitto_lib_cleanup();
	tpd_cli_free(&cli);
	return code;
}
