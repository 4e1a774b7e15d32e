/*
 * tpdiagd.c - the diagnostics agent daemon: board -> agent core -> MQTT.
 *
 * Layout: options, set-up (product, board, identity key, state), the run loop
 * (pacing a virtual-clock board or sampling a real one), shutdown.
 *
 * Process-wide set-up (mosquitto_lib_init, the RNG) lives here, in main(), as
 * the agent core holds no global state.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

#include "tpd/agent.h"
#include "tpd/board.h"
#include "tpd/cli.h"
#include "tpd/jws.h"
#include "tpd/mqtt.h"
#include "tpd/trace.h"
#include "cmd.h"
#include "statefile.h"

#ifndef TPD_DATADIR
#define TPD_DATADIR "/usr/local/share/tpdiag"
#endif

#define PROG "tpdiagd"
#define DRAIN_TIMEOUT_MS 30000        /* connected: wait this long for PUBACKs */
#define DRAIN_OFFLINE_MS 2000         /* not connected: one short chance to reconnect */
#define BACKPRESSURE_HIGH 2000   /* unacked messages before replay waits */

static volatile sig_atomic_t tpdiagd_stop;

static void tpdiagd_on_signal(int sig)
{
	(void)sig;
	tpdiagd_stop = 1;
}

struct tpdiagd {
	const char *id, *product_arg, *board_arg, *trace, *speed_arg, *epoch_arg, *sysfs_root;
	const char *broker, *state_dir, *key_path, *fw;
	bool exit_at_end;

	char id_buf[TPD_ID_MAX + 1];
	struct tpd_product product;
	struct tpd_board *board;
	struct tpd_key *key;
	struct tpd_rng *rng;
	struct tpd_agent *agent;
	struct tpd_mqtt *mqtt;
	double speed;        /* 0 = max */
	double epoch;
	char boot_reason[32];
};

static double tpdiagd_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double tpdiagd_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int tpdiagd_fail(const char *what, const char *why)
{
	fprintf(stderr, PROG ": %s: %s\n", what, why);
	return 1;
}

/* Bad usage: exit code 2 (SPEC §1). */
static int tpdiagd_usage(const char *why)
{
	fprintf(stderr, PROG ": bad usage: %s\n", why);
	return 2;
}

/* The agent's emitter: every report goes out at QoS 1; status is retained. */
static enum tpd_err tpdiagd_emit(void *ctx, enum tpd_topic_kind kind, uint64_t seq,
				 const char *payload, size_t len)
{
	struct tpdiagd *d = ctx;
	char topic[TPD_TOPIC_MAX];

	(void)seq;
	if (tpd_topic_format(topic, sizeof(topic), d->id, kind))
		return TPD_ERR_INVAL;
	return tpd_mqtt_publish(d->mqtt, topic, payload, len, 1, kind == TPD_TOPIC_STATUS, NULL);
}

static void tpdiagd_publish_status(struct tpdiagd *d, const char *state)
{
	char *json;
	size_t len;

	if (tpd_agent_status_json(d->agent, state, d->boot_reason, tpdiagd_wall(), &json, &len))
		return;
	tpdiagd_emit(d, TPD_TOPIC_STATUS, 0, json, len);
	free(json);
}

static void tpdiagd_on_connect(void *ctx)
{
	struct tpdiagd *d = ctx;

	if (d->agent)
		tpdiagd_publish_status(d, "online");
}

/* A command from the cloud (SPEC §2). Claim notices are kept for the
 * technician; the on-demand self-check is not in this build yet. */
static void tpdiagd_on_message(void *ctx, const char *topic, const void *payload, size_t len)
{
	struct tpdiagd *d = ctx;
	struct tpd_cmd cmd;
	char why[160], *old, *merged = NULL;

	if (tpd_cmd_parse(payload, len, &cmd, why, sizeof(why))) {
		fprintf(stderr, PROG ": ignored a command on %.100s: %s\n", topic, why);
		return;
	}
	if (cmd.op == TPD_CMD_SELFCHECK) {
		fprintf(stderr, PROG ": command selfcheck: not supported by this build (ignored)\n");
		return;
	}
	old = malloc(TPD_CMD_CLAIMS_KEPT * 128 + 256);
	if (old && tpd_statefile_read(d->state_dir, "claims.json", old,
				      TPD_CMD_CLAIMS_KEPT * 128 + 256))
		old[0] = '\0';
	if (tpd_cmd_claims_merge(old && old[0] ? old : NULL, &cmd, tpdiagd_wall(), &merged) ||
	    tpd_statefile_write(d->state_dir, "claims.json", merged, strlen(merged)))
		fprintf(stderr, PROG ": claim %s: %s: cannot record it in %s/claims.json\n", cmd.claim,
			cmd.state, d->state_dir);
	else
		fprintf(stderr, PROG ": claim %s: %s\n", cmd.claim, cmd.state);
	free(old);
	free(merged);
}

/* Device id defaults to the trace file's name without ".csv" (SPEC §1). */
static int tpdiagd_default_id(struct tpdiagd *d)
{
	const char *base;
	size_t n;

	if (d->id)
		return 0;
	if (!d->trace)
		return tpdiagd_usage("--id is required without --trace");
	base = strrchr(d->trace, '/');
	base = base ? base + 1 : d->trace;
	n = strlen(base);
	if (n > 4 && strcmp(base + n - 4, ".csv") == 0)
		n -= 4;
	if (n == 0 || n > TPD_ID_MAX)
		return tpdiagd_usage("cannot derive a device id from the trace name; give --id");
	memcpy(d->id_buf, base, n);
	d->id_buf[n] = '\0';
	d->id = d->id_buf;
	return 0;
}

static int tpdiagd_load_product(struct tpdiagd *d)
{
	char exe_boards[4096] = "boards", path[4096], err[512], model[TPD_ID_MAX + 1] = "";
	const char *dirs[] = { "boards", exe_boards, TPD_DATADIR "/boards", NULL };
	ssize_t n = readlink("/proc/self/exe", exe_boards, sizeof(exe_boards) - 16);
	const char *name = d->product_arg;
	enum tpd_err rc;

	/* A build tree keeps boards/ beside build/: <exe>/../boards. */
	if (n > 0) {
		exe_boards[n] = '\0';
		if (strrchr(exe_boards, '/'))
			strcpy(strrchr(exe_boards, '/'), "/../boards");
	}
	if (!name && d->trace) {
		struct tpd_trace *tr;

		/* No --product: the trace may say which model it was recorded on. */
		if (tpd_trace_open(d->trace, &tr, err, sizeof(err)) == TPD_OK) {
			if (tpd_trace_model(tr))
				snprintf(model, sizeof(model), "%s", tpd_trace_model(tr));
			tpd_trace_free(tr);
		}
		name = model[0] ? model : NULL;
	}
	if (!name)
		return tpdiagd_usage("--product NAME|FILE is required (the trace names no model)");
	rc = tpd_product_resolve(name, dirs, path, sizeof(path));
	if (rc) {
		snprintf(err, sizeof(err), "no boards/%s.json here or in %s/boards", name, TPD_DATADIR);
		return tpdiagd_fail("product", rc == TPD_ERR_INVAL ? "not a product name or file" : err);
	}
	rc = tpd_product_load(path, &d->product, err, sizeof(err));
	if (rc)
		return tpdiagd_fail("product description refused", err);
	return 0;
}

static int tpdiagd_state(struct tpdiagd *d)
{
	char buf[16];

	if (mkdir(d->state_dir, 0700) != 0 && errno != EEXIST)
		return tpdiagd_fail(d->state_dir, strerror(errno));
	/* A clean shutdown leaves a marker; its absence after a previous run
	 * means the product lost power or crashed (evidence for issue 3). */
	if (tpd_statefile_read(d->state_dir, "clean", buf, sizeof(buf)) == TPD_OK) {
		snprintf(d->boot_reason, sizeof(d->boot_reason), "clean_restart");
	} else if (tpd_statefile_read(d->state_dir, "seq", buf, sizeof(buf)) == TPD_OK) {
		snprintf(d->boot_reason, sizeof(d->boot_reason), "unclean_restart");
	} else {
		snprintf(d->boot_reason, sizeof(d->boot_reason), "first_start");
	}
	{
		char path[4096];

		snprintf(path, sizeof(path), "%s/clean", d->state_dir);
		unlink(path);
	}
	return 0;
}

static int tpdiagd_identity(struct tpdiagd *d)
{
	char path[4096], pem[512];
	enum tpd_err rc;

	if (tpd_rng_new(&d->rng))
		return tpdiagd_fail("random generator", "cannot seed from the system entropy source");
	if (d->key_path) {
		rc = tpd_key_load_private(d->key_path, &d->key);
		if (rc)
			return tpdiagd_fail(d->key_path, rc == TPD_ERR_CRYPTO
					    ? "not a PEM EC P-256 private key" : tpd_strerror(rc));
		return 0;
	}
	snprintf(path, sizeof(path), "%s/device.key", d->state_dir);
	rc = tpd_key_load_private(path, &d->key);
	if (rc == TPD_OK)
		return 0;
	if (rc != TPD_ERR_NOTFOUND)
		return tpdiagd_fail(path, "unreadable device key (refusing to replace an identity)");
	/* First start without a factory key: make one, so reports can be signed,
	 * and leave the public half where the registry row can be made from it. */
	if (tpd_key_generate(d->rng, &d->key) || tpd_key_save_private(d->key, path, 0))
		return tpdiagd_fail(path, "cannot create a device key");
	if (tpd_key_public_pem(d->key, pem, sizeof(pem)) == TPD_OK) {
		snprintf(path, sizeof(path), "%s/device.pub.pem", d->state_dir);
		tpd_statefile_write(d->state_dir, "device.pub.pem", pem, strlen(pem));
	}
	fprintf(stderr, PROG ": generated a device key; register %s in the collector's registry\n",
		path);
	return 0;
}

static int tpdiagd_connect(struct tpdiagd *d)
{
	char will_topic[TPD_TOPIC_MAX], cmd_topic[TPD_TOPIC_MAX], err[512];
	const char *subs[2] = { cmd_topic, NULL };
	char *will;
	size_t will_len;
	struct tpd_mqtt_cfg mc = { 0 };
	enum tpd_err rc;

	tpd_topic_format(will_topic, sizeof(will_topic), d->id, TPD_TOPIC_STATUS);
	tpd_topic_format(cmd_topic, sizeof(cmd_topic), d->id, TPD_TOPIC_CMD);
	if (tpd_agent_status_json(d->agent, "offline", d->boot_reason, tpdiagd_wall(), &will,
				  &will_len))
		return tpdiagd_fail("status", "cannot build the Last Will");
	mc.url = d->broker;
	mc.client_id = d->id;
	mc.clean_session = false;
	mc.will_topic = will_topic;
	mc.will_payload = will;
	mc.will_len = will_len;
	mc.subscribe = subs;
	mc.on_connect = tpdiagd_on_connect;
	mc.on_message = tpdiagd_on_message;
	mc.ctx = d;
	mc.program = PROG;
	rc = tpd_mqtt_new(&mc, &d->mqtt, err, sizeof(err));
	free(will);
	if (rc)
		return tpdiagd_fail("broker", err);
	return 0;
}

static int tpdiagd_setup(struct tpdiagd *d)
{
	const struct tpd_board_ops *ops;
	struct tpd_board_cfg bc = { 0 };
	struct tpd_agent_cfg ac = { 0 };
	char err[512];
	int rc;

	ops = tpd_board_find(d->board_arg);
	if (!ops) {
		char names[128];

		tpd_board_names(names, sizeof(names));
		snprintf(err, sizeof(err), "unknown board \"%s\" (this build has: %s)", d->board_arg,
			 names);
		return tpdiagd_usage(err);
	}
	rc = tpdiagd_default_id(d);
	if (!rc) rc = tpdiagd_load_product(d);
	if (!rc) rc = tpdiagd_state(d);
	if (!rc) rc = tpdiagd_identity(d);
	if (rc)
		return rc;
	bc.product = &d->product;
	bc.trace_path = d->trace;
	bc.sysfs_root = d->sysfs_root;
	if (tpd_board_open(ops, &bc, &d->board, err, sizeof(err)))
		return tpdiagd_fail("board", err);
	ac.id = d->id;
	ac.product = &d->product;
	ac.fw = d->fw;
	ac.state_dir = d->state_dir;
	ac.key = d->key;
	ac.rng = d->rng;
	ac.emit = tpdiagd_emit;
	ac.emit_ctx = d;
	if (tpd_agent_new(&ac, &d->agent, err, sizeof(err)))
		return tpdiagd_fail("agent", err);
	return tpdiagd_connect(d);
}

/* Replays or samples until the board ends or a signal arrives. Returns the
 * exit code. */
static int tpdiagd_run(struct tpdiagd *d)
{
	double values[TPD_PRODUCT_MAX_SENSORS], t_s = 0, start_mono = tpdiagd_mono();
	bool virt = tpd_board_caps(d->board) & TPD_BOARD_CAP_VIRTUAL_CLOCK;
	unsigned long n = 0;
	char err[512];
	enum tpd_err rc;

	/* Replaying faster than real time is pointless before the broker takes
	 * messages; give it a moment (the queue holds them regardless). */
	for (int i = 0; i < 100 && !tpd_mqtt_connected(d->mqtt) && !tpdiagd_stop; i++)
		tpd_mqtt_loop(d->mqtt, 100);
	while (!tpdiagd_stop) {
		rc = tpd_board_read(d->board, &t_s, values, err, sizeof(err));
		if (rc == TPD_ERR_EOF)
			break;
		if (rc)
			return tpdiagd_fail("board", err);
		if (virt && d->speed > 0) {
			double due = start_mono + t_s / d->speed;

			for (double now = tpdiagd_mono(); now < due && !tpdiagd_stop;
			     now = tpdiagd_mono())
				tpd_mqtt_loop(d->mqtt, (int)fmin(1000.0, (due - now) * 1000.0) + 1);
		} else if (!virt) {
			double due = start_mono + (double)n * d->product.sample_period_s;

			for (double now = tpdiagd_mono(); now < due && !tpdiagd_stop;
			     now = tpdiagd_mono())
				tpd_mqtt_loop(d->mqtt, (int)fmin(1000.0, (due - now) * 1000.0) + 1);
		}
		tpd_agent_sample(d->agent, virt ? d->epoch + t_s : tpdiagd_wall(), values);
		n++;
		if ((n & 63) == 0)
			tpd_mqtt_loop(d->mqtt, 0);
		/* Backpressure: never queue without bound in memory, never drop. */
		if (tpd_mqtt_unacked(d->mqtt) > BACKPRESSURE_HIGH && !tpdiagd_stop)
			fprintf(stderr, PROG ": %s: %zu reports await the broker; sampling paused\n",
				d->id, tpd_mqtt_unacked(d->mqtt));
		while (tpd_mqtt_unacked(d->mqtt) > BACKPRESSURE_HIGH && !tpdiagd_stop)
			tpd_mqtt_loop(d->mqtt, 100);
	}
	tpd_agent_flush(d->agent);
	if (!tpdiagd_stop) {
		struct tpd_agent_stats st;

		tpd_agent_stats(d->agent, &st);
		fprintf(stderr, PROG ": %s: end of trace after %lu samples: %llu telemetry, "
			"%llu faults raised, %llu cleared\n", d->id, n,
			(unsigned long long)st.telemetry, (unsigned long long)st.faults_raised,
			(unsigned long long)st.faults_cleared);
		while (!d->exit_at_end && !tpdiagd_stop)
			tpd_mqtt_loop(d->mqtt, 1000);
	}
	return 0;
}

static int tpdiagd_shutdown(struct tpdiagd *d, int code)
{
	if (d->mqtt && d->agent) {
		tpdiagd_publish_status(d, "offline");
		/* Unsent reports are lost at exit until the spool (issue 4) keeps
		 * them; a daemon cut off from its broker must still stop promptly. */
		if (tpd_mqtt_drain(d->mqtt, tpd_mqtt_connected(d->mqtt) ? DRAIN_TIMEOUT_MS
									 : DRAIN_OFFLINE_MS)) {
			fprintf(stderr, PROG ": %s: %zu reports not acknowledged by the broker at exit\n",
				d->id, tpd_mqtt_unacked(d->mqtt));
			if (!code)
				code = 1;
		}
	}
	if (d->state_dir && d->agent && code == 0)
		tpd_statefile_write(d->state_dir, "clean", "1\n", 2);
	tpd_mqtt_free(d->mqtt);
	tpd_agent_free(d->agent);
	tpd_board_close(d->board);
	tpd_key_free(d->key);
	tpd_rng_free(d->rng);
	return code;
}

int main(int argc, char **argv)
{
	struct tpdiagd d = { .board_arg = "sim", .speed_arg = "1" };
	struct tpd_cli_opt opts[] = {
		{ "id", "ID", "device id / serial (default: the trace file name)", &d.id, NULL },
		{ "product", "NAME|FILE", "product description: boards/NAME.json or a file", &d.product_arg, NULL },
		{ "board", "sim|linux", "board driver (default sim)", &d.board_arg, NULL },
		{ "trace", "FILE", "sim board: trace to replay (SPEC §5)", &d.trace, NULL },
		{ "speed", "max|N", "sim board: replay speed, N x real time (default 1)", &d.speed_arg, NULL },
		{ "epoch", "T", "sim board: Unix time of the trace start (default now)", &d.epoch_arg, NULL },
		{ "exit-at-end", NULL, "sim board: exit 0 once the trace is replayed and sent", NULL, &d.exit_at_end },
		{ "sysfs-root", "DIR", "linux board: stands in for /sys", &d.sysfs_root, NULL },
		{ "broker", "URL", "mqtt://HOST:PORT or mqtts://HOST:PORT", &d.broker, NULL },
		{ "state-dir", "DIR", "where seq, the evidence chain and the key persist", &d.state_dir, NULL },
		{ "key", "FILE", "device private key, PEM EC P-256 (default STATE/device.key)", &d.key_path, NULL },
		{ "fw", "VERSION", "firmware version to report (default: the product's)", &d.fw, NULL },
		{ NULL, NULL, NULL, NULL, NULL },
	};
	struct tpd_cli cli = {
		.program = PROG,
		.synopsis = "--product NAME|FILE --board sim --trace FILE --broker URL --state-dir DIR [options]",
		.description = "Watches a product's power and temperature, raises faults, and reports\n"
			       "telemetry and signed fault reports over MQTT (SPEC §2).",
		.opts = opts,
	};
	struct sigaction sa = { .sa_handler = tpdiagd_on_signal };
	int optind_out, code;

	switch (tpd_cli_parse(&cli, argc, argv, &optind_out)) {
	case TPD_CLI_EXIT0: return 0;
	case TPD_CLI_USAGE: return 2;
	case TPD_CLI_RUN: break;
	}
	code = 0;
	if (optind_out < argc)
		code = tpdiagd_usage("unexpected argument (see --help)");
	else if (!d.broker || !d.state_dir)
		code = tpdiagd_usage("--broker and --state-dir are required");
	if (!code && strcmp(d.speed_arg, "max") == 0)
		d.speed = 0;
	else if (!code && !tpd_cli_number(d.speed_arg, 0.001, 1e9, &d.speed))
		code = tpdiagd_usage("--speed takes max or a positive number");
	d.epoch = floor(tpdiagd_wall());
	if (!code && d.epoch_arg && !tpd_cli_number(d.epoch_arg, 0, 4e9, &d.epoch))
		code = tpdiagd_usage("--epoch takes Unix seconds");
	if (code) {
		tpd_cli_free(&cli);
		return code;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	mosquitto_lib_init();
	code = tpdiagd_setup(&d);
	if (!code) {
		fprintf(stderr, PROG ": %s (%s) on board %s, broker %s, boot %s\n", d.id,
			d.product.model, d.board_arg, d.broker, d.boot_reason);
		code = tpdiagd_run(&d);
	}
	code = tpdiagd_shutdown(&d, code);
	mosquitto_lib_cleanup();
	tpd_cli_free(&cli);
	return code;
}
