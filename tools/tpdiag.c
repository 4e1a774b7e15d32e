/*
 * tpdiag.c - the technician's CLI at the device: asks tpdiagd over its local
 * socket (works with the broker unreachable).
 *
 *   tpdiag [--state-dir DIR | --socket PATH] [--json] COMMAND
 *     status     live table: value, unit, limit, OK/WARN/FAIL per sensor
 *     faults     fault history (newest last)
 *     selfcheck  runs the self-check now and shows each step
 *     counters   the agent's counters
 *     spool      reports waiting for the broker
 *     claim      claim progress received from the cloud
 *     watch      status, refreshed every --interval seconds (default 2)
 *
 * Layout: asking, rendering per command, main.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "tpd/jsonfile.h"
#include "tpd/utf8.h"
#include "tpd/cli.h"
#include "localsock.h"

#define PROG "tpdiag"
#define ASK_TIMEOUT_MS 5000

static volatile sig_atomic_t tpdiag_stop;

static void tpdiag_on_signal(int sig)
{
	(void)sig;
	tpdiag_stop = 1;
}

/* Asks the agent; prints one line and returns NULL when it cannot. */
struct tpdiag_answer {
	char *last;           /* the answer proper: the last line */
	bool show_steps;      /* selfcheck, not --json: print steps as they come */
	bool zh;
};

static const char *tpdiag_str(const cJSON *o, const char *key);

/* One self-check step, as a line of the table. */
static void tpdiag_step(const cJSON *st, bool zh)
{
	const char *res = tpdiag_str(st, "result");

	printf("[%-4s] %-16s %s\n", strcmp(res, "pass") == 0 ? "ok" : res, tpdiag_str(st, "id"),
	       tpdiag_str(st, "detail"));
	if (cJSON_GetObjectItemCaseSensitive(st, "hint"))
		printf("       -> %s\n", tpdiag_str(st, zh ? "hint_zh" : "hint"));
}

static void tpdiag_on_line(void *ctx, const char *line)
{
	struct tpdiag_answer *a = ctx;
	cJSON *o;

	free(a->last);
	a->last = strdup(line);
	if (!a->show_steps || !(o = cJSON_Parse(line)))
		return;
	if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(o, "step"))) {
		tpdiag_step(cJSON_GetObjectItemCaseSensitive(o, "step"), a->zh);
		fflush(stdout);
	}
	cJSON_Delete(o);
}

/* Asks tpdiagd; returns the answer (the last line) parsed, or NULL after one
 * line on stderr. */
static cJSON *tpdiag_ask(const char *sock, const char *cmd, bool show_steps, bool zh)
{
	struct tpdiag_answer a = { NULL, show_steps, zh };
	cJSON *o;

	if (tpd_local_ask(sock, cmd, ASK_TIMEOUT_MS, tpdiag_on_line, &a) || !a.last) {
		fprintf(stderr, PROG ": no tpdiagd answers at %s: %s (is it running with this "
			"--state-dir?)\n", sock, strerror(errno));
		free(a.last);
		return NULL;
	}
	o = cJSON_Parse(a.last);
	free(a.last);
	if (!o) {
		fprintf(stderr, PROG ": %s: the answer is not JSON\n", sock);
		return NULL;
	}
	if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "error"))) {
		fprintf(stderr, PROG ": %s: %s\n", cmd,
			cJSON_GetObjectItemCaseSensitive(o, "error")->valuestring);
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* A string field for the terminal: what the agent relays (claim notices
 * from the cloud, names from a product file) may carry escape sequences
 * (tpd_json_printable). */
static const char *tpdiag_str(const cJSON *o, const char *key)
{
	return tpd_json_printable(o, key);
}

static double tpdiag_num(const cJSON *o, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(it) ? it->valuedouble : NAN;
}

static void tpdiag_iso(double t, char *buf, size_t len)
{
	time_t s = (time_t)t;
	struct tm tm;

	gmtime_r(&s, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

static void tpdiag_status(const cJSON *o)
{
	const cJSON *s;

	printf("%s (%s)  boot %s  broker %s  self-check %s\n", tpdiag_str(o, "device"),
	       tpdiag_str(o, "model"), tpdiag_str(o, "boot_reason"),
	       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "broker_connected")) ? "connected"
									      : "UNREACHABLE",
	       tpdiag_str(o, "selfcheck_verdict"));
	printf("%-20s %10s %-5s %-22s %s\n", "SENSOR", "VALUE", "UNIT", "LIMITS", "STATE");
	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(o, "sensors")) {
		char limits[64] = "", value[32];
		double v = tpdiag_num(s, "value");
		const char *state = tpdiag_str(s, "state");

		if (!isnan(tpdiag_num(s, "warn")))
			snprintf(limits, sizeof(limits), "warn %g crit %g", tpdiag_num(s, "warn"),
				 tpdiag_num(s, "crit"));
		else if (!isnan(tpdiag_num(s, "min")) || !isnan(tpdiag_num(s, "max")))
			snprintf(limits, sizeof(limits), "%g..%g", tpdiag_num(s, "min"), tpdiag_num(s, "max"));
		else if (!isnan(tpdiag_num(s, "stall_rpm")))
			snprintf(limits, sizeof(limits), "stall < %g", tpdiag_num(s, "stall_rpm"));
		if (isnan(v))
			snprintf(value, sizeof(value), "-");
		else
			snprintf(value, sizeof(value), "%g", v);
		printf("%-20s %10s %-5s %-22s %s\n", tpdiag_str(s, "id"), value, tpdiag_str(s, "unit"),
		       limits, strcmp(state, "ok") == 0 ? "OK" : strcmp(state, "warn") == 0 ? "WARN"
		       : strcmp(state, "fail") == 0 ? "FAIL" : "UNREADABLE");
	}
}

static void tpdiag_faults(const cJSON *o)
{
	const cJSON *f, *arr = cJSON_GetObjectItemCaseSensitive(o, "faults");

	if (cJSON_GetArraySize(arr) == 0) {
		printf("no faults since tpdiagd started\n");
		return;
	}
	printf("%-19s %-14s %-8s %-20s %s\n", "TIME (UTC)", "CODE", "STATE", "SENSOR", "VALUE");
	cJSON_ArrayForEach(f, arr) {
		char at[32];

		tpdiag_iso(tpdiag_num(f, "ts"), at, sizeof(at));
		printf("%-19s %-14s %-8s %-20s %g\n", at, tpdiag_str(f, "code"), tpdiag_str(f, "state"),
		       tpdiag_str(f, "sensor"), tpdiag_num(f, "value"));
	}
}

static void tpdiag_counters(const cJSON *o)
{
	const cJSON *c;

	printf("since tpdiagd started:\n");
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(o, "counters"))
		printf("  %-20s %.0f\n", c->string, c->valuedouble);
	printf("  %-20s %s\n", "boot_reason", tpdiag_str(o, "boot_reason"));
	printf("lifetime (kept across restarts):\n");
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(o, "lifetime")) {
		if (strcmp(c->string, "last_saved_ts") == 0 || strcmp(c->string, "last_low_vin_ts") == 0)
			continue;
		if (strstr(c->string, "_s") == c->string + strlen(c->string) - 2)
			printf("  %-20s %.1f h\n", c->string, c->valuedouble / 3600.0);
		else
			printf("  %-20s %.0f\n", c->string, c->valuedouble);
	}
}

static void tpdiag_spool(const cJSON *o)
{
	const cJSON *sp = cJSON_GetObjectItemCaseSensitive(o, "spool"), *c;

	cJSON_ArrayForEach(c, sp)
		printf("%-18s %.0f\n", c->string, c->valuedouble);
}

/* The steps were printed as they came (tpdiag_on_line); the verdict ends it. */
static void tpdiag_selfcheck(const cJSON *o)
{
	printf("verdict: %s\n", tpdiag_str(o, "verdict"));
}

static void tpdiag_claim(const cJSON *o)
{
	const cJSON *c, *arr = cJSON_GetObjectItemCaseSensitive(o, "claims");

	if (cJSON_GetArraySize(arr) == 0) {
		printf("no claim progress received from the cloud\n");
		return;
	}
	cJSON_ArrayForEach(c, arr) {
		char at[32];

		tpdiag_iso(tpdiag_num(c, "received"), at, sizeof(at));
		printf("%-10s %-18s (received %s UTC)\n", tpdiag_str(c, "claim"), tpdiag_str(c, "state"),
		       at);
	}
}

int main(int argc, char **argv)
{
	const char *state_dir = "/var/lib/tpdiag", *sock_arg = NULL, *interval_arg = "2";
	bool json = false, zh = false;
	struct tpd_cli_opt opts[] = {
		{ "state-dir", "DIR", "tpdiagd's --state-dir (default /var/lib/tpdiag)", &state_dir, NULL },
		{ "socket", "PATH", "tpdiagd's socket (default STATE/tpdiag.sock)", &sock_arg, NULL },
		{ "json", NULL, "print the agent's JSON", NULL, &json },
		{ "zh", NULL, "hints in Simplified Chinese", NULL, &zh },
		{ "interval", "S", "watch: seconds between refreshes (default 2)", &interval_arg, NULL },
		{ NULL, NULL, NULL, NULL, NULL },
	};
	struct tpd_cli cli = {
		.program = PROG,
		.synopsis = "[--state-dir DIR | --socket PATH] [--json] "
			    "status|faults|selfcheck|counters|spool|claim|watch",
		.description = "The technician's view of this product, from the running tpdiagd:\n"
			       "live readings, faults, the self-check, counters, the report spool and\n"
			       "claim progress. Works with the cloud unreachable.",
		.opts = opts,
	};
	static const char *const cmds[] = { "status", "faults", "selfcheck", "counters", "spool",
					    "claim", "watch", NULL };
	struct sigaction sa = { .sa_handler = tpdiag_on_signal };
	char sock[4096];
	const char *cmd;
	double interval;
	int optind_out, code = 0;
	bool known = false;
	cJSON *o;

	switch (tpd_cli_parse(&cli, argc, argv, &optind_out)) {
	case TPD_CLI_EXIT0: return 0;
	case TPD_CLI_USAGE: return 2;
	case TPD_CLI_RUN: break;
	}
	cmd = optind_out < argc ? argv[optind_out] : "status";
	for (int i = 0; cmds[i]; i++)
		known |= strcmp(cmd, cmds[i]) == 0;
	if (!known || argc - optind_out > 1 || !tpd_cli_number(interval_arg, 0.2, 3600, &interval)) {
		fprintf(stderr, PROG ": bad usage: %s (see --help)\n", !known
			? "command is status, faults, selfcheck, counters, spool, claim or watch"
			: argc - optind_out > 1 ? "one command at a time" : "--interval takes 0.2..3600");
		tpd_cli_free(&cli);
		return 2;
	}
	snprintf(sock, sizeof(sock), "%s/tpdiag.sock", state_dir);
	if (sock_arg)
		snprintf(sock, sizeof(sock), "%s", sock_arg);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	do {
		const char *ask = strcmp(cmd, "selfcheck") == 0 || strcmp(cmd, "claim") == 0 ? cmd
											 : "status";

		o = tpdiag_ask(sock, ask, strcmp(cmd, "selfcheck") == 0 && !json, zh);
		if (!o) {
			code = 1;
			break;
		}
		if (strcmp(cmd, "watch") == 0 && !json)
			printf("\033[H\033[2J");
		if (json) {
			char *text = cJSON_Print(o);

			printf("%s\n", text ? text : "null");
			cJSON_free(text);
		} else if (strcmp(cmd, "status") == 0 || strcmp(cmd, "watch") == 0) {
			tpdiag_status(o);
		} else if (strcmp(cmd, "faults") == 0) {
			tpdiag_faults(o);
		} else if (strcmp(cmd, "counters") == 0) {
			tpdiag_counters(o);
		} else if (strcmp(cmd, "spool") == 0) {
			tpdiag_spool(o);
		} else if (strcmp(cmd, "selfcheck") == 0) {
			tpdiag_selfcheck(o);
		} else {
			tpdiag_claim(o);
		}
		cJSON_Delete(o);
		fflush(stdout);
		if (strcmp(cmd, "watch") != 0)
			break;
		for (double t = 0; t < interval && !tpdiag_stop; t += 0.1)
			usleep(100000);
	} while (!tpdiag_stop);
	tpd_cli_free(&cli);
	return code;
}
