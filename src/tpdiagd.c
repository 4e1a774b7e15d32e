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
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <mosquitto.h>

#include "tpd/clock.h"
#include "tpd/agent.h"
#include "tpd/board.h"
#include "tpd/cli.h"
#include "tpd/jws.h"
#include "tpd/mqtt.h"
#include "tpd/trace.h"
#include "tpd/utf8.h"
#include "tpd/inflight.h"
#include "tpd/units.h"
#include "cmd.h"
#include "counters.h"
#include "localsock.h"
#include "spool.h"
#include "statefile.h"

#ifndef TPD_DATADIR
#define TPD_DATADIR "/usr/local/share/tpdiag"
#endif

#define PROG "tpdiagd"
#define DRAIN_TIMEOUT_MS 30000        /* connected: wait this long for PUBACKs */
#define DRAIN_OFFLINE_MS 2000         /* not connected: one short chance to reconnect */
#define INFLIGHT_WINDOW 64       /* QoS 1 reports handed to MQTT, not yet acknowledged */
#define REPLAY_SPOOL_HIGH 512    /* a replay (virtual clock) waits while this many are pending */
#define LOCAL_SLICE_MS 10        /* the longest wait while a technician is being served */

#define LOG_EVERY_S 10.0          /* a recurring trouble is logged at most this often */
#define DIRECT_MAX 256            /* telemetry published without a spool copy, unacked */

/* The signal that asks it to stop (0: none yet), and a pending SIGHUP. */
static volatile sig_atomic_t tpdiagd_stop, tpdiagd_hup;

/* One recurring trouble's log line: at most one per LOG_EVERY_S, saying how
 * many it stands for. */
struct tpdiagd_ratelog {
	double next_s;
	unsigned long quiet;     /* occurrences since the last line */
};

static void tpdiagd_on_signal(int sig)
{
	if (sig == SIGHUP)
		tpdiagd_hup = 1;
	else
		tpdiagd_stop = sig;
}

struct tpdiagd {
	const char *id, *product_arg, *board_arg, *trace, *speed_arg, *epoch_arg, *sysfs_root;
	const char *broker, *state_dir, *key_path, *fw, *spool_max_arg, *spool_sync_arg;
	const char *tls_ca, *tls_cert, *collection_arg, *spool_dir_arg, *counters_save_arg;
	bool exit_at_end, probe, json;
	bool collect;                /* --collection on: publish; off: nothing leaves */
	struct tpd_cli *cli;         /* for SIGHUP: the option table, parsed again */
	int argc;
	char **argv;
	uint64_t withheld;           /* reports not published: collection off */

	char id_buf[TPD_ID_MAX + 1];
	char key_file[4096];         /* the private key's path (--key or STATE/device.key) */
	struct tpd_product product;
	struct tpd_board *board;
	struct tpd_key *key;
	struct tpd_rng *rng;
	struct tpd_agent *agent;
	struct tpd_mqtt *mqtt;
	struct tpd_spool *spool;     /* every report is here until the broker has it */
	struct tpd_inflight inflight;
	uint64_t handed;             /* highest spool seq handed to MQTT */
	int lock_fd;                 /* flock on STATE/lock; -1 before set-up */
	double last_ts;              /* time of the latest sample, on the agent's clock */
	const char *socket_arg;
	char socket_path[4096];
	struct tpd_local *local;     /* the technician's socket (tpdiag); NULL: none */
	struct tpd_counters counters; /* lifetime stress counters (STATE/counters.json) */
	struct tpdiagd_ratelog log_store, log_ack, log_seq, log_drop;
	uint64_t seen_seq_failures, seen_chain_failures;
	uint64_t direct;             /* reports published without a spool copy */
	uint64_t dropped_telemetry;  /* no disk, no room in memory: counted here */
	double max_late_s;   /* worst lateness of a paced sample against its due time */
	double counters_save_s; /* --counters-save-s */
	uint64_t spool_max_bytes; /* --spool-max */
	double speed;        /* 0 = max */
	double epoch;
	char boot_reason[32];
};

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

/* True when the trouble may be logged now; *quiet gets how many it stands
 * for (this one included). */
static bool tpdiagd_ratelog(struct tpdiagd_ratelog *r, unsigned long *quiet)
{
	double now = tpd_clock_mono();

	r->quiet++;
	if (now < r->next_s)
		return false;
	*quiet = r->quiet;
	r->quiet = 0;
	r->next_s = now + LOG_EVERY_S;
	return true;
}

/* Connected to the broker (never, with collection off). */
static bool tpdiagd_online(const struct tpdiagd *d)
{
	return d->mqtt && tpd_mqtt_connected(d->mqtt);
}

/* Hands spooled reports to MQTT, oldest first, while the window has room. */
static void tpdiagd_pump(struct tpdiagd *d)
{
	struct tpd_spool_rec r;
	char topic[TPD_TOPIC_MAX];
	int mid = 0;

	while (tpdiagd_online(d) && !tpd_inflight_full(&d->inflight) &&
	       tpd_spool_next(d->spool, d->handed, &r) == TPD_OK) {
		enum tpd_err rc = tpd_topic_format(topic, sizeof(topic), d->id, r.kind);

		if (!rc)
			rc = tpd_mqtt_publish(d->mqtt, topic, r.payload, r.len, 1, false, &mid);
		free(r.payload);
		if (rc)
			return;   /* tried again on the next pass */
		tpd_inflight_add(&d->inflight, mid, r.seq);
		d->handed = r.seq;
	}
}

/* The broker has a report: it leaves the spool. */
static void tpdiagd_on_acked(void *ctx, int mid)
{
	struct tpdiagd *d = ctx;
	uint64_t seq;

	unsigned long n;

	if (tpd_inflight_take(&d->inflight, mid, &seq) &&
	    tpd_spool_ack(d->spool, seq, tpd_clock_mono()) && tpdiagd_ratelog(&d->log_ack, &n))
		fprintf(stderr, PROG ": spool: cannot record that seq %llu was delivered (%lu such "
			"since the last line; they may be sent again, the collector drops the "
			"duplicates)\n", (unsigned long long)seq, n);
}

/* The technician's self-check as localsock.h streams it: a line per step,
 * then the report. Takes ownership of report. */
static char *tpdiagd_selfcheck_lines(char *report)
{
	cJSON *o = cJSON_Parse(report), *steps = cJSON_GetObjectItemCaseSensitive(o, "steps"), *st;
	int i = 0, n = cJSON_GetArraySize(steps);
	/* every step appears twice (its line, the report), plus the wrapping */
	size_t len = strlen(report) * 2 + 64 * (size_t)n + 2, used = 0;
	char *text = malloc(len);

	cJSON_ArrayForEach(st, steps) {
		cJSON *line = cJSON_CreateObject();
		char *one;

		if (!text || !line || !cJSON_AddItemReferenceToObject(line, "step", st) ||
		    !cJSON_AddNumberToObject(line, "index", ++i) || !cJSON_AddNumberToObject(line, "of", n) ||
		    !(one = cJSON_PrintUnformatted(line))) {
			cJSON_Delete(line);
			continue;
		}
		if (used + strlen(one) + 1 < len)
			used += (size_t)snprintf(text + used, len - used, "%s\n", one);
		cJSON_free(one);
		cJSON_Delete(line);
	}
	if (text)
		snprintf(text + used, len - used, "%s\n", report);
	cJSON_Delete(o);
	free(report);
	return text;
}

/* The technician's questions (tpdiag), answered from what the agent knows:
 * it works with the broker unreachable. */
static char *tpdiagd_answer(void *ctx, const char *cmd)
{
	struct tpdiagd *d = ctx;
	struct tpd_spool_stats st;
	char *live = NULL, *out = NULL, claims[TPD_CMD_CLAIMS_FILE_MAX];
	cJSON *o = NULL, *sp;

	if (strcmp(cmd, "selfcheck") == 0) {
		enum tpd_err rc = tpd_agent_selfcheck_report(d->agent, d->last_ts, "technician", &out);

		if (rc == TPD_OK)
			return tpdiagd_selfcheck_lines(out);
		free(out);
		snprintf(claims, sizeof(claims), "{\"error\":\"%s\"}", rc == TPD_ERR_UNSUPPORTED
			 ? "this product describes no self-check steps" : tpd_strerror(rc));
		return strdup(claims);
	}
	if (strcmp(cmd, "claim") == 0) {
		/* one line (localsock.h), whatever the file's layout */
		if (tpd_statefile_read(d->state_dir, "claims.json", claims, sizeof(claims)) ||
		    !(o = cJSON_Parse(claims)) || !(out = cJSON_PrintUnformatted(o))) {
			cJSON_Delete(o);
			return strdup("{\"claims\":[]}");
		}
		cJSON_Delete(o);
		return out;
	}
	if (strcmp(cmd, "status") != 0)
		return strdup("{\"error\":\"unknown command (status, selfcheck, claim)\"}");
	if (tpd_agent_live_json(d->agent, &live) || !(o = cJSON_Parse(live))) {
		free(live);
		return strdup("{\"error\":\"out of memory\"}");
	}
	free(live);
	tpd_spool_stats(d->spool, &st);
	cJSON_AddStringToObject(o, "device", d->id);
	cJSON_AddStringToObject(o, "model", d->product.model);
	cJSON_AddStringToObject(o, "boot_reason", d->boot_reason);
	cJSON_AddBoolToObject(o, "broker_connected", tpdiagd_online(d));
	cJSON_AddBoolToObject(o, "collection", d->collect);
	cJSON_AddNumberToObject(o, "max_sample_late_ms", round(d->max_late_s * 1000.0));
	live = tpd_counters_json(&d->counters);
	if (live)
		cJSON_AddItemToObject(o, "lifetime", cJSON_Parse(live));
	free(live);
	sp = cJSON_AddObjectToObject(o, "spool");
	if (sp) {
		cJSON_AddNumberToObject(sp, "pending", (double)st.pending);
		cJSON_AddNumberToObject(sp, "pending_faults", (double)st.pending_faults);
		cJSON_AddNumberToObject(sp, "bytes", (double)st.bytes);
		cJSON_AddNumberToObject(sp, "evicted_telemetry", (double)st.evicted_telemetry);
		cJSON_AddNumberToObject(sp, "evicted_faults", (double)st.evicted_faults);
	}
	out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return out;
}

/* Network I/O, then whatever the spool can send, then a due batch fsync,
 * then the technician. The MQTT loop waits on the broker's socket only, so
 * while a technician is mid-exchange it waits in short slices: the answer
 * never waits a whole period, and serving never delays a sample (it only
 * does what the sockets take at once, localsock.h). */
static void tpdiagd_io(struct tpdiagd *d, int timeout_ms)
{
	if (tpd_local_busy(d->local) && timeout_ms > LOCAL_SLICE_MS)
		timeout_ms = LOCAL_SLICE_MS;
	if (d->mqtt)
		tpd_mqtt_loop(d->mqtt, timeout_ms);
	else
		poll(NULL, 0, timeout_ms);   /* collection off: only the technician's socket */
	tpdiagd_pump(d);
	tpd_spool_tick(d->spool, tpd_clock_mono());
	tpd_local_serve(d->local, tpdiagd_answer, d, tpd_clock_mono() * 1000.0);
}

/* The agent's emitter. Reports go to the spool first and are published from
 * there (QoS 1); the retained status is state, not evidence, and goes direct. */
/* The seq and the evidence chain live in the state directory too: say so
 * when the disk refuses them (statefile.h, the seq rule). */
static void tpdiagd_state_health(struct tpdiagd *d)
{
	struct tpd_agent_stats st;
	unsigned long n;

	if (!d->agent)
		return;
	tpd_agent_stats(d->agent, &st);
	if ((st.seq_write_failures > d->seen_seq_failures ||
	     st.chain_write_failures > d->seen_chain_failures) && tpdiagd_ratelog(&d->log_seq, &n))
		fprintf(stderr, PROG ": %s/seq: cannot write the seq reservation (%llu failed writes, "
			"%llu chain links unsaved); counting on in memory, %llu seqs above the "
			"reservation on disk; without a clean shutdown the next start skips %llu\n",
			d->state_dir, (unsigned long long)st.seq_write_failures,
			(unsigned long long)st.chain_write_failures, (unsigned long long)st.seq_beyond,
			(unsigned long long)TPD_SEQ_UNCLEAN_SKIP);
	d->seen_seq_failures = st.seq_write_failures;
	d->seen_chain_failures = st.chain_write_failures;
}

/* The agent's emitter. Reports go to the spool first and are published from
 * there (QoS 1); the retained status is state, not evidence, and goes direct.
 * A report the spool cannot take (the disk refused it even after evicting
 * telemetry) is published without a copy: libmosquitto holds it in memory
 * until the broker has it. Fault and self-check reports always; telemetry
 * while fewer than DIRECT_MAX are unacknowledged, else it is dropped and
 * counted. Every such case is logged, rate-limited. */
static enum tpd_err tpdiagd_emit(void *ctx, enum tpd_topic_kind kind, uint64_t seq,
				 const char *payload, size_t len)
{
	struct tpdiagd *d = ctx;
	char topic[TPD_TOPIC_MAX];
	unsigned long n;
	enum tpd_err rc;

	tpdiagd_state_health(d);
	if (!d->collect) {
		/* The owner has not agreed (yet): nothing is kept to send later. */
		d->withheld++;
		return TPD_OK;
	}
	if (tpd_topic_format(topic, sizeof(topic), d->id, kind))
		return TPD_ERR_INVAL;
	if (kind == TPD_TOPIC_STATUS || !d->spool)
		return tpd_mqtt_publish(d->mqtt, topic, payload, len, 1, kind == TPD_TOPIC_STATUS, NULL);
	rc = tpd_spool_append(d->spool, seq, kind, payload, len, tpd_clock_mono());
	if (rc == TPD_OK) {
		tpdiagd_pump(d);
		return TPD_OK;
	}
	if (kind == TPD_TOPIC_TELEMETRY &&
	    tpd_mqtt_unacked(d->mqtt) >= INFLIGHT_WINDOW + DIRECT_MAX) {
		d->dropped_telemetry++;
		if (tpdiagd_ratelog(&d->log_drop, &n))
			fprintf(stderr, PROG ": spool: cannot store telemetry seq %llu (%s) and %d are "
				"already waiting in memory: dropped (%lu since the last line, %llu in "
				"all); fault reports still go out\n", (unsigned long long)seq,
				tpd_strerror(rc), DIRECT_MAX, n,
				(unsigned long long)d->dropped_telemetry);
		return TPD_OK;
	}
	d->direct++;
	if (tpdiagd_ratelog(&d->log_store, &n))
		fprintf(stderr, PROG ": spool: cannot store %s seq %llu (%s); published without a "
			"copy on disk, held in memory until the broker has it (%lu since the last "
			"line, %llu in all)\n", tpd_topic_kind_name(kind), (unsigned long long)seq,
			tpd_strerror(rc), n, (unsigned long long)d->direct);
	return tpd_mqtt_publish(d->mqtt, topic, payload, len, 1, false, NULL);
}

static void tpdiagd_publish_status(struct tpdiagd *d, const char *state)
{
	char *json;
	size_t len;

	if (tpd_agent_status_json(d->agent, state, d->boot_reason, tpd_clock_wall(), &json, &len))
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
		char esc_topic[128], esc_why[sizeof(why)];

		/* the reason quotes the cloud's text: one log line whatever it held */
		fprintf(stderr, PROG ": ignored a command on %s: %s\n",
			tpd_esc(esc_topic, sizeof(esc_topic), topic), tpd_esc(esc_why, sizeof(esc_why), why));
		return;
	}
	if (cmd.op == TPD_CMD_SELFCHECK) {
		/* On the agent's own clock (a replay's virtual time). */
		enum tpd_err rc = d->agent ? tpd_agent_selfcheck(d->agent, d->last_ts, "remote")
					   : TPD_ERR_STATE;

		fprintf(stderr, PROG ": remote self-check: %s\n", rc == TPD_OK ? "reported"
			: rc == TPD_ERR_UNSUPPORTED ? "this product describes no steps"
			: tpd_strerror(rc));
		return;
	}
	old = malloc(TPD_CMD_CLAIMS_FILE_MAX);
	if (old && tpd_statefile_read(d->state_dir, "claims.json", old,
				      TPD_CMD_CLAIMS_FILE_MAX))
		old[0] = '\0';
	if (tpd_cmd_claims_merge(old && old[0] ? old : NULL, &cmd, tpd_clock_wall(), &merged) ||
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

static int tpdiagd_load_product(struct tpdiagd *d, struct tpd_product *out)
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
			snprintf(strrchr(exe_boards, '/'), sizeof(exe_boards) - (size_t)(strrchr(exe_boards, '/') - exe_boards), "/../boards");
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
	rc = tpd_product_load(path, out, err, sizeof(err));
	if (rc)
		return tpdiagd_fail("product description refused", err);
	return 0;
}

/* mkdir -p: --state-dir state/TP24A0001 makes state/ too (README). */
static int tpdiagd_mkdirs(const char *dir)
{
	char path[4096];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(path))
		return ENAMETOOLONG;
	memcpy(path, dir, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			return errno;
		path[i] = i < n ? '/' : '\0';
	}
	return 0;
}

static int tpdiagd_state(struct tpdiagd *d)
{
	char buf[32];   /* holds the fixed-width seq file (21 bytes) */
	int e = tpdiagd_mkdirs(d->state_dir);

	if (e)
		return tpdiagd_fail(d->state_dir, strerror(e));
	/* One agent per state directory: two would interleave the spool and
	 * reuse seqs. The lock goes with the process, however it ends. */
	{
		char path[4096];

		snprintf(path, sizeof(path), "%s/lock", d->state_dir);
		d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (d->lock_fd < 0)
			return tpdiagd_fail(path, strerror(errno));
		if (flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0)
			return tpdiagd_fail(d->state_dir, "another tpdiagd is running with this state "
					    "directory");
	}
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

static int tpdiagd_open_spool(struct tpdiagd *d)
{
	struct tpd_spool_cfg sc = { .sync = TPD_SPOOL_SYNC_FAULTS };
	struct tpd_spool_stats st;
	char path[4096], err[512] = "";

	if (d->spool_sync_arg && strcmp(d->spool_sync_arg, "always") == 0)
		sc.sync = TPD_SPOOL_SYNC_ALWAYS;
	else if (d->spool_sync_arg && strcmp(d->spool_sync_arg, "never") == 0)
		sc.sync = TPD_SPOOL_SYNC_NEVER;
	else if (d->spool_sync_arg && strcmp(d->spool_sync_arg, "faults") != 0)
		return tpdiagd_usage("--spool-sync takes faults, always or never");
	snprintf(path, sizeof(path), "%s/spool", d->state_dir);
	if (d->spool_dir_arg)
		snprintf(path, sizeof(path), "%s", d->spool_dir_arg);
	sc.dir = path;
	sc.max_bytes = (size_t)d->spool_max_bytes;
	if (tpd_spool_open(&sc, &d->spool, err, sizeof(err)))
		return tpdiagd_fail("spool", err);
	if (tpd_inflight_init(&d->inflight, INFLIGHT_WINDOW))
		return tpdiagd_fail("spool", "out of memory");
	tpd_spool_stats(d->spool, &st);
	if (st.recovered)
		fprintf(stderr, PROG ": spool: %zu reports (%zu fault or self-check) from before this "
			"start go out first\n", st.pending, st.pending_faults);
	return 0;
}

static int tpdiagd_identity(struct tpdiagd *d)
{
	char path[4096], pem[512];
	enum tpd_err rc;

	if (tpd_rng_new(&d->rng))
		return tpdiagd_fail("random generator", "cannot seed from the system entropy source");
	snprintf(d->key_file, sizeof(d->key_file), "%s/device.key", d->state_dir);
	if (d->key_path) {
		snprintf(d->key_file, sizeof(d->key_file), "%s", d->key_path);
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
	if (tpd_agent_status_json(d->agent, "offline", d->boot_reason, tpd_clock_wall(), &will,
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
	mc.on_acked = tpdiagd_on_acked;
	mc.max_inflight = INFLIGHT_WINDOW;
	mc.tls_ca = d->tls_ca;
	mc.tls_cert = d->tls_cert;
	mc.tls_key = d->tls_cert ? d->key_file : NULL;
	mc.ctx = d;
	mc.program = PROG;
	rc = tpd_mqtt_new(&mc, &d->mqtt, err, sizeof(err));
	free(will);
	if (rc)
		return tpdiagd_fail("broker", err);
	return 0;
}

/* The kernel's id of this boot, which tells a reboot of the product from a
 * restart of the agent alone ("" when unknown). Under --sysfs-root the
 * fixture's DIR/../proc stands in for /proc. */
static void tpdiagd_boot_id(const struct tpdiagd *d, char *out, size_t len)
{
	char path[4096];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s%sproc/sys/kernel/random/boot_id",
		 d->sysfs_root ? d->sysfs_root : "", d->sysfs_root ? "/../" : "/");
	out[0] = '\0';
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(out, (int)len, f)) {
		n = strcspn(out, "\r\n");
		out[n] = '\0';
	}
	fclose(f);
}

static int tpdiagd_setup(struct tpdiagd *d)
{
	const struct tpd_board_ops *ops;
	struct tpd_board_cfg bc = { 0 };
	struct tpd_agent_cfg ac = { 0 };
	char err[512], boot_id[40];
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
	if (!rc) rc = tpdiagd_load_product(d, &d->product);
	if (!rc) rc = tpdiagd_state(d);
	if (!rc) rc = tpdiagd_identity(d);
	if (!rc) rc = tpdiagd_open_spool(d);
	if (rc)
		return rc;
	tpdiagd_boot_id(d, boot_id, sizeof(boot_id));
	tpd_counters_open(&d->counters, d->state_dir, strcmp(d->boot_reason, "unclean_restart") == 0,
			  boot_id);
	d->counters.save_every_s = d->counters_save_s;
	tpd_counters_save(&d->counters, d->state_dir, d->counters.last_saved_ts, true);
	if (strcmp(d->boot_reason, "unclean_restart") == 0 && d->counters.rebooted)
		snprintf(d->boot_reason, sizeof(d->boot_reason), "unclean_reboot");
	if (d->counters.brownout_now) {
		snprintf(d->boot_reason, sizeof(d->boot_reason), "brownout");
		fprintf(stderr, PROG ": this start follows a power loss while %s was at %.2f V "
			"(brownout restart %llu)\n", d->counters.last_low_vin_sensor,
			d->counters.last_low_vin_v,
			(unsigned long long)d->counters.brownout_restarts);
	}
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
	ac.unclean_start = strcmp(d->boot_reason, "clean_restart") != 0 &&
			   strcmp(d->boot_reason, "first_start") != 0;
	if (tpd_agent_new(&ac, &d->agent, err, sizeof(err)))
		return tpdiagd_fail("agent", err);
	tpd_agent_set_restarts(d->agent, d->counters.restart_ts, d->counters.nrestarts);
	if (d->counters.brownout_now) {
		struct tpd_agent_brownout b = {
			tpd_product_find(&d->product, d->counters.last_low_vin_sensor),
			d->counters.last_low_vin_v, d->counters.brownout_seen_ts,
		};

		tpd_agent_note_brownout(d->agent, &b);
	}
	snprintf(d->socket_path, sizeof(d->socket_path), "%s/tpdiag.sock", d->state_dir);
	if (d->socket_arg)
		snprintf(d->socket_path, sizeof(d->socket_path), "%s", d->socket_arg);
	/* Without it the product still does its job; only tpdiag cannot ask. */
	if (tpd_local_listen(d->socket_path, &d->local, err, sizeof(err)))
		fprintf(stderr, PROG ": technician socket: %s (tpdiag will not reach this agent)\n",
			err);
	if (!d->collect) {
		fprintf(stderr, PROG ": %s: collection off: nothing is published until it is turned on "
			"(config \"collection = on\", then SIGHUP)\n", d->id);
		return 0;
	}
	return tpdiagd_connect(d);
}

static size_t tpdiagd_spool_pending(const struct tpdiagd *d)
{
	struct tpd_spool_stats st;

	tpd_spool_stats(d->spool, &st);
	return st.pending;
}

static void tpdiagd_trim_heap(void)
{
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

static bool tpdiagd_collection(const char *arg, bool *on)
{
	if (!arg || strcmp(arg, "on") == 0)
		*on = true;
	else if (strcmp(arg, "off") == 0)
		*on = false;
	else
		return false;
	return true;
}

static bool tpdiagd_same_nan(double a, double b)
{
	return isnan(a) == isnan(b);
}

/* A description the running agent and board can take in place: the same
 * sensors from the same sources with the same set of limits (their values,
 * hysteresis, debounce, plausibility and the self-check may differ). */
static const char *tpdiagd_reload_shape(const struct tpd_product *a, const struct tpd_product *b)
{
	if (strcmp(a->model, b->model) != 0)
		return "the model changed";
	if (a->nsensors != b->nsensors)
		return "the sensors changed";
	if (a->sample_period_s != b->sample_period_s || a->telemetry_period_s != b->telemetry_period_s)
		return "the sample or telemetry period changed";
	if (a->predict_horizon_s != b->predict_horizon_s || a->predict_ambient != b->predict_ambient)
		return "the forecast settings changed";
	for (size_t i = 0; i < a->nsensors; i++) {
		const struct tpd_sensor_desc *x = &a->sensors[i], *y = &b->sensors[i];

		if (strcmp(x->id, y->id) != 0 || strcmp(x->source, y->source) != 0)
			return "the sensors or their sources changed";
		if (!tpdiagd_same_nan(x->warn, y->warn) || !tpdiagd_same_nan(x->crit, y->crit) ||
		    !tpdiagd_same_nan(x->min, y->min) || !tpdiagd_same_nan(x->max, y->max) ||
		    !tpdiagd_same_nan(x->stall_rpm, y->stall_rpm) ||
		    (x->brownout_count > 0) != (y->brownout_count > 0) ||
		    x->spin_sensor != y->spin_sensor)
			return "a limit was added or removed";
	}
	return NULL;
}

/* Collection turned off: the status says offline, then no more traffic.
 * What the spool holds stays for when it is turned on again. */
static void tpdiagd_disconnect(struct tpdiagd *d)
{
	if (!d->mqtt)
		return;
	if (tpd_mqtt_connected(d->mqtt)) {
		tpdiagd_publish_status(d, "offline");
		tpd_mqtt_drain(d->mqtt, 2000);
	}
	tpd_mqtt_free(d->mqtt);
	d->mqtt = NULL;
	tpd_inflight_free(&d->inflight);
	tpd_inflight_init(&d->inflight, INFLIGHT_WINDOW);
	d->handed = 0;   /* unacknowledged reports go out again from the spool */
}

/*
 * SIGHUP: reads the configuration (--config and the command line, as at
 * start) and the product description again. Taken at once: `collection`
 * and the product's limit values, hysteresis, debounce and self-check
 * steps, with every detector's state, the seq, the chain, the spool and the
 * counters kept. Anything else that changed is logged as waiting for the
 * next start; a configuration or description that does not parse changes
 * nothing. One line per outcome.
 */
static void tpdiagd_reload(struct tpdiagd *d)
{
	struct tpd_cli_opt *o;
	const char *saved[64];
	bool flags[64], collect = d->collect;
	struct tpd_product *np = NULL;
	const char *why = NULL;
	size_t n = 0;
	int oi;

	tpdiagd_hup = 0;
	for (o = d->cli->opts; o->name && n < 64; o++, n++) {
		saved[n] = o->value ? *o->value : NULL;
		flags[n] = o->flag ? *o->flag : false;
	}
	d->collection_arg = NULL;   /* a key taken out of the file goes back to its default */
	if (tpd_cli_parse(d->cli, d->argc, d->argv, &oi) != TPD_CLI_RUN) {
		why = "the configuration does not parse (above)";
	} else if (!tpdiagd_collection(d->collection_arg, &collect)) {
		why = "collection must be on or off";
	}
	for (size_t i = 0; i < n; i++) {
		o = &d->cli->opts[i];
		if (why || (strcmp(o->name, "collection") != 0 && strcmp(o->name, "product") != 0)) {
			const char *now = o->value ? *o->value : NULL;

			if (!why && o->value && (!now != !saved[i] || (now && strcmp(now, saved[i]) != 0)))
				fprintf(stderr, PROG ": reload: --%s changed; it takes effect at the next "
					"start\n", o->name);
			if (o->value)
				*o->value = saved[i];
			if (o->flag)
				*o->flag = flags[i];
		}
	}
	if (why) {
		fprintf(stderr, PROG ": reload refused: %s; running as before\n", why);
		return;
	}
	np = malloc(sizeof(*np));
	if (!np || tpdiagd_load_product(d, np) != 0) {
		fprintf(stderr, PROG ": reload refused: %s; running as before\n",
			np ? "the product description (above)" : "out of memory");
		free(np);
		return;
	}
	why = tpdiagd_reload_shape(&d->product, np);
	if (why) {
		fprintf(stderr, PROG ": reload: product description not taken: %s (restart tpdiagd for "
			"that); collection %s\n", why, collect ? "on" : "off");
	} else {
		/* In place: the agent and the board borrow this very struct. */
		d->product = *np;
		tpd_agent_product_changed(d->agent);
	}
	free(np);
	if (collect != d->collect) {
		d->collect = collect;
		if (!collect)
			tpdiagd_disconnect(d);
		else if (tpdiagd_connect(d) != 0)
			d->mqtt = NULL;
	}
	if (!why)
		fprintf(stderr, PROG ": %s: reloaded: product %s, collection %s\n", d->id,
			d->product.model, d->collect ? "on" : "off");
}

/* Replays or samples until the board ends or a signal arrives. Returns the
 * exit code. */
static int tpdiagd_run(struct tpdiagd *d)
{
	double values[TPD_PRODUCT_MAX_SENSORS], t_s = 0, start_mono = tpd_clock_mono();
	bool virt = tpd_board_caps(d->board) & TPD_BOARD_CAP_VIRTUAL_CLOCK;
	unsigned long n = 0;
	char err[512];
	enum tpd_err rc;
	bool sag;

	/* Replaying faster than real time is pointless before the broker takes
	 * messages; give it a moment (the queue holds them regardless). A real
	 * product samples at once: the first seconds after a boot are when a
	 * failing supply shows. */
	for (int i = 0; virt && d->collect && i < 100 && !tpdiagd_online(d) && !tpdiagd_stop; i++)
		tpdiagd_io(d, 100);
	/* The pace counts from here, so the wait is not taken for lateness and
	 * the first samples are not rushed to catch up. */
	start_mono = tpd_clock_mono();
	while (!tpdiagd_stop) {
		rc = tpd_board_read(d->board, &t_s, values, err, sizeof(err));
		if (rc == TPD_ERR_EOF)
			break;
		if (rc)
			return tpdiagd_fail("board", err);
		if (!virt || d->speed > 0) {
			double due = !virt ? start_mono + (double)n * d->product.sample_period_s
					   : start_mono + t_s / d->speed;

			for (double now = tpd_clock_mono(); now < due && !tpdiagd_stop;
			     now = tpd_clock_mono()) {
				tpdiagd_io(d, (int)fmin(1000.0, (due - now) * 1000.0) + 1);
				if (tpdiagd_hup)
					tpdiagd_reload(d);
			}
			/* What a stalled loop costs (a slow technician, a slow disk):
			 * kept for tpdiag status and the end-of-trace line. */
			d->max_late_s = fmax(d->max_late_s, tpd_clock_mono() - due);
		}
		d->last_ts = virt ? d->epoch + t_s : tpd_clock_wall();
		tpd_agent_sample(d->agent, d->last_ts, values);
		sag = tpd_counters_sample(&d->counters, &d->product, d->last_ts, values);
		tpd_counters_save(&d->counters, d->state_dir, d->last_ts, sag);
		n++;
		if ((n & 63) == 0)
			tpdiagd_io(d, 0);
		/* Set-up (the product's JSON, the key, the boot self-check) leaves
		 * freed memory scattered through the heap, which glibc keeps; on a
		 * router with little RAM hand it back once (bench: 884 -> 840 KiB
		 * anonymous). */
		if (n == 2 && !virt)
			tpdiagd_trim_heap();
		/* A replay may outrun the network; real time cannot wait, the
		 * spool holds the backlog (within its budget). */
		if (tpdiagd_hup)
			tpdiagd_reload(d);
		while (virt && tpdiagd_online(d) && !tpdiagd_stop &&
		       tpdiagd_spool_pending(d) > REPLAY_SPOOL_HIGH)
			tpdiagd_io(d, 100);
	}
	tpd_agent_flush(d->agent);
	if (!tpdiagd_stop) {
		struct tpd_agent_stats st;

		tpd_agent_stats(d->agent, &st);
		fprintf(stderr, PROG ": %s: end of trace after %lu samples: %llu telemetry, "
			"%llu faults raised, %llu cleared\n", d->id, n,
			(unsigned long long)st.telemetry, (unsigned long long)st.faults_raised,
			(unsigned long long)st.faults_cleared);
		if (d->speed > 0)
			fprintf(stderr, PROG ": %s: samples were at most %.1f ms late\n", d->id,
				d->max_late_s * 1000.0);
		while (!d->exit_at_end && !tpdiagd_stop) {
			tpdiagd_io(d, 1000);
			if (tpdiagd_hup)
				tpdiagd_reload(d);
		}
	}
	return 0;
}

static int tpdiagd_shutdown(struct tpdiagd *d, int code)
{
	if (tpdiagd_stop && d->agent)
		fprintf(stderr, PROG ": %s: stopping on %s\n", d->id, tpdiagd_stop == SIGTERM ? "SIGTERM"
			: tpdiagd_stop == SIGINT ? "SIGINT" : "a signal");
	if (d->agent && d->spool) {
		double deadline = tpd_clock_mono() + (tpdiagd_online(d) ? DRAIN_TIMEOUT_MS
						    : DRAIN_OFFLINE_MS) / 1000.0;
		struct tpd_spool_stats st;

		/* Send what the spool holds while the broker is there; a daemon
		 * cut off from it still stops promptly: nothing is lost, the
		 * spool keeps the rest for the next start. */
		while (d->mqtt && tpdiagd_spool_pending(d) > 0 && tpd_clock_mono() < deadline)
			tpdiagd_io(d, 50);
		if (d->mqtt) {
			tpdiagd_publish_status(d, "offline");
			tpd_mqtt_drain(d->mqtt, tpd_mqtt_connected(d->mqtt) ? 2000 : 200);
		}
		tpd_spool_stats(d->spool, &st);
		if (st.pending)
			fprintf(stderr, PROG ": %s: %zu reports (%zu fault or self-check) stay in the spool "
				"for the next start\n", d->id, st.pending, st.pending_faults);
		else
			fprintf(stderr, PROG ": %s: the spool is empty: every report was delivered\n",
				d->id);
		if (d->withheld)
			fprintf(stderr, PROG ": %s: collection off: %llu reports not published\n", d->id,
				(unsigned long long)d->withheld);
		if (st.disk_full || st.write_failures || d->direct || d->dropped_telemetry)
			fprintf(stderr, PROG ": %s: disk full %llu times, %llu spool writes refused; %llu "
				"reports sent without a copy on disk, %llu telemetry dropped\n", d->id,
				(unsigned long long)st.disk_full, (unsigned long long)st.write_failures,
				(unsigned long long)d->direct, (unsigned long long)d->dropped_telemetry);
		if (st.evicted_telemetry || st.evicted_faults)
			fprintf(stderr, PROG ": %s: spool budget: evicted %llu telemetry and %llu fault or "
				"self-check reports (oldest first)\n", d->id,
				(unsigned long long)st.evicted_telemetry,
				(unsigned long long)st.evicted_faults);
	}
	if (d->agent && d->state_dir)
		tpd_counters_save(&d->counters, d->state_dir, d->last_ts, true);
	/* "clean" promises the next start that the seq reservation covers
	 * every seq used (statefile.h, rule 4). */
	if (d->state_dir && d->agent && code == 0) {
		if (!tpd_agent_seq_durable(d->agent))
			fprintf(stderr, PROG ": %s/seq: still cannot write the seq reservation: no clean "
				"shutdown marker, so the next start skips %llu seqs\n", d->state_dir,
				(unsigned long long)TPD_SEQ_UNCLEAN_SKIP);
		else if (tpd_statefile_write(d->state_dir, "clean", "1\n", 2))
			fprintf(stderr, PROG ": %s/clean: cannot write the clean shutdown marker\n",
				d->state_dir);
	}
	tpd_mqtt_free(d->mqtt);
	tpd_spool_close(d->spool);
	tpd_inflight_free(&d->inflight);
	tpd_agent_free(d->agent);
	tpd_board_close(d->board);
	tpd_key_free(d->key);
	tpd_rng_free(d->rng);
	if (d->local) {
		tpd_local_close(d->local);
		unlink(d->socket_path);
	}
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	return code;
}

int main(int argc, char **argv)
{
	struct tpdiagd d = { .board_arg = "sim", .speed_arg = "1", .lock_fd = -1 };
	struct tpd_cli_opt opts[] = {
		{ "id", "ID", "device id / serial (default: the trace file name)", &d.id, NULL },
		{ "product", "NAME|FILE", "product description: boards/NAME.json or a file", &d.product_arg, NULL },
		{ "board", "sim|linux", "board driver (default sim)", &d.board_arg, NULL },
		{ "trace", "FILE", "sim board: trace to replay (SPEC §5)", &d.trace, NULL },
		{ "speed", "max|N", "sim board: replay speed, N x real time (default 1)", &d.speed_arg, NULL },
		{ "epoch", "T", "sim board: Unix time of the trace start (default now)", &d.epoch_arg, NULL },
		{ "exit-at-end", NULL, "sim board: exit 0 once the trace is replayed and sent", NULL, &d.exit_at_end },
		{ "sysfs-root", "DIR", "linux board: stands in for /sys (and DIR/../proc for /proc)", &d.sysfs_root, NULL },
		{ "socket", "PATH", "the technician's socket for tpdiag (default STATE/tpdiag.sock, mode 0660)", &d.socket_arg, NULL },
		{ "probe", NULL, "list the kernel's sensors (hwmon, thermal, power_supply, firmware flags) with values and kernel limits, and a product description that reads them, then exit", NULL, &d.probe },
		{ "json", NULL, "--probe: print it as JSON (SPEC §7)", NULL, &d.json },
		{ "broker", "URL", "mqtt://HOST:PORT or mqtts://HOST:PORT", &d.broker, NULL },
		{ "state-dir", "DIR", "where seq, the evidence chain and the key persist", &d.state_dir, NULL },
		{ "key", "FILE", "device private key, PEM EC P-256 (default STATE/device.key); signs reports and, with --cert, proves the TLS identity", &d.key_path, NULL },
		{ "ca", "FILE", "mqtts: CA certificate(s) to trust for the broker (default: the system's)", &d.tls_ca, NULL },
		{ "cert", "FILE", "mqtts: this device's client certificate (CN = its id), for the key", &d.tls_cert, NULL },
		{ "fw", "VERSION", "firmware version to report (default: the product's)", &d.fw, NULL },
		{ "spool-max", "BYTES", "disk budget of the report spool: bytes or 512K, 4M, 1G (default 4M); telemetry is evicted first", &d.spool_max_arg, NULL },
		{ "spool-dir", "DIR", "where the report spool lives (default STATE/spool); on tmpfs it spares flash and is lost at a reboot", &d.spool_dir_arg, NULL },
		{ "counters-save-s", "S", "save the lifetime counters at most every S seconds, or 15m, 1h (default 60; 1h spares flash); also at exit and when the input sags", &d.counters_save_arg, NULL },
		{ "collection", "on|off", "on: report to the broker (default); off: publish nothing, not even the status, until it is turned on (config key, then SIGHUP); tpdiag works either way", &d.collection_arg, NULL },
		{ "spool-sync", "MODE", "faults (fsync fault and self-check reports at once, the rest each second; default), always, never", &d.spool_sync_arg, NULL },
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

	d.cli = &cli;
	d.argc = argc;
	d.argv = argv;
	switch (tpd_cli_parse(&cli, argc, argv, &optind_out)) {
	case TPD_CLI_EXIT0: return 0;
	case TPD_CLI_USAGE: return 2;
	case TPD_CLI_RUN: break;
	}
	if (d.probe && optind_out == argc) {
		code = tpd_board_linux_probe(d.sysfs_root, d.json, stdout) ? 1 : 0;
		tpd_cli_free(&cli);
		return code;
	}
	code = 0;
	if (optind_out < argc)
		code = tpdiagd_usage("unexpected argument (see --help)");
	else if (!d.broker || !d.state_dir)
		code = tpdiagd_usage("--broker and --state-dir are required");
	d.counters_save_s = 60;
	d.spool_max_bytes = 4 << 20;
	if (!code && !tpd_units_opt_duration(PROG, "counters-save-s", d.counters_save_arg, 1000,
					     1000, 86400000, "seconds or 90s, 15m, 1h: 1s to 1d",
					     &d.counters_save_s))
		code = 2;
	if (!code && !tpd_units_opt_size(PROG, "spool-max", d.spool_max_arg, 1, 64 << 10, 1 << 30,
					 "bytes or 64K, 4M, 1G: 64K to 1G", &d.spool_max_bytes))
		code = 2;
	if (!code && !tpdiagd_collection(d.collection_arg, &d.collect))
		code = tpdiagd_usage("--collection takes on or off");
	if (!code) {
		/* before anything is made (a device key): a bad URL is bad usage */
		char bhost[256];
		int bport;
		bool btls;

		if (tpd_mqtt_parse_url(d.broker, bhost, sizeof(bhost), &bport, &btls))
			code = tpdiagd_usage("--broker takes mqtt://HOST:PORT or mqtts://HOST:PORT");
	}
	if (!code && strcmp(d.speed_arg, "max") == 0)
		d.speed = 0;
	else if (!code && !tpd_cli_number(d.speed_arg, 0.001, 1e9, &d.speed))
		code = tpdiagd_usage("--speed takes max or a positive number");
	d.epoch = floor(tpd_clock_wall());
	if (!code && d.epoch_arg && !tpd_cli_number(d.epoch_arg, 0, 4e9, &d.epoch))
		code = tpdiagd_usage("--epoch takes Unix seconds");
	if (code) {
		tpd_cli_free(&cli);
		return code;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
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
