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
 *     watch      status and the active faults, refreshed every --interval
 *                seconds (default 2), with the time of the refresh; q quits
 *   --zh (or a zh* locale): labels, states, verdicts, step results in Chinese
 *
 * Layout: asking, rendering per command, main.
 */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include <cjson/cJSON.h>

#include "tpd/jsonfile.h"
#include "tpd/utf8.h"
#include "tpd/cli.h"
#include "tpd/units.h"
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
static const char *tpdiag_w(const char *key);
static void tpdiag_cell(const char *s, int width, bool right);

/* One self-check step, as a line of the table. */
static void tpdiag_step(const cJSON *st, bool zh)
{
	const char *res = tpdiag_str(st, "result");
	char tag[32];

	snprintf(tag, sizeof(tag), "[%s]", strcmp(res, "pass") == 0 ? tpdiag_w("pass")
		 : strcmp(res, "fail") == 0 ? tpdiag_w("step fail") : tpdiag_w(res));
	tpdiag_cell(tag, 6, false);
	tpdiag_cell(tpdiag_str(st, "id"), 16, false);
	printf("%s\n", tpdiag_str(st, "detail"));
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

/* --- words: English and Simplified Chinese (--zh, or a zh locale) ------- */

static bool tpdiag_zh;

/* The label for key in the chosen language; key itself when it has none
 * (agent-made texts, identifiers). */
static const char *tpdiag_w(const char *key)
{
	static const struct { const char *key, *en, *zh; } words[] = {
		{ "SENSOR", "SENSOR", "传感器" }, { "VALUE", "VALUE", "数值" },
		{ "UNIT", "UNIT", "单位" }, { "LIMITS", "LIMITS", "限值" }, { "STATE", "STATE", "状态" },
		{ "ok", "OK", "正常" }, { "warn", "WARN", "警告" }, { "fail", "FAIL", "故障" },
		{ "unreadable", "UNREADABLE", "无法读取" },
		{ "boot", "boot", "启动" }, { "broker", "broker", "云端连接" },
		{ "connected", "connected", "已连接" }, { "unreachable", "UNREACHABLE", "无法连接" },
		{ "collection off", "collection OFF", "数据上报已关闭" },
		{ "self-check", "self-check", "自检" }, { "not run", "not run yet", "尚未运行" },
		{ "verdict", "verdict", "结论" },
		{ "user_fixable", "user_fixable (the user can fix it)", "用户可自行解决" },
		{ "needs_service", "needs_service (send for repair)", "需要送修" },
		{ "pass", "ok", "通过" }, { "skip", "skip", "跳过" }, { "step fail", "fail", "未通过" },
		{ "first_start", "first start", "首次启动" }, { "clean_restart", "clean restart", "正常重启" },
		{ "unclean_restart", "unclean restart (the agent stopped)", "异常重启（程序中断）" },
		{ "unclean_reboot", "unclean reboot (power loss or crash)", "异常重启（断电或死机）" },
		{ "brownout", "brownout (power lost while the input sagged)", "欠压断电" },
		{ "TIME (UTC)", "TIME (UTC)", "时间 (UTC)" }, { "CODE", "CODE", "故障码" },
		{ "LIMIT", "LIMIT", "限值" },
		{ "raised", "raised", "出现" }, { "cleared", "cleared", "消除" },
		{ "no faults", "no faults since tpdiagd started", "tpdiagd 启动以来无故障" },
		{ "active faults", "active faults", "当前故障" }, { "none", "none", "无" },
		{ "since start", "since tpdiagd started:", "本次运行以来：" },
		{ "lifetime", "lifetime (kept across restarts):", "累计（重启后保留）：" },
		{ "samples", "sensor samples read", "传感器采样次数" },
		{ "telemetry", "telemetry reports made", "遥测报告数" },
		{ "faults_raised", "faults raised", "出现的故障" },
		{ "faults_cleared", "faults cleared", "消除的故障" },
		{ "active_faults", "faults active now", "当前故障数" },
		{ "selfchecks", "self-checks run", "自检次数" },
		{ "emit_failures", "reports that could not be queued", "未能排队的报告" },
		{ "boot_reason", "this start was a", "本次启动原因" },
		{ "power_on_s", "powered on (all runs)", "累计通电时间" },
		{ "above_warn_s", "time above a warning temperature", "超过警告温度的时间" },
		{ "undervoltage_events", "under-voltage events", "欠压事件" },
		{ "starts", "agent starts", "程序启动次数" },
		{ "unclean_restarts", "of them unclean (crash or power loss)", "其中异常启动" },
		{ "brownout_restarts", "of them after the input sagged", "其中欠压后重启" },
		{ "last_low_vin", "last input sag", "上次输入欠压" }, { "never", "never", "从未" },
		{ "restarts", "last unclean restarts (UTC)", "最近的异常启动 (UTC)" },
		{ "pending", "reports waiting for the broker", "等待发送的报告" },
		{ "pending_faults", "of them fault or self-check reports", "其中故障或自检报告" },
		{ "bytes", "spool size", "缓存大小" },
		{ "evicted_telemetry", "telemetry dropped for room (oldest first)", "因空间删除的遥测" },
		{ "evicted_faults", "fault reports dropped for room", "因空间删除的故障报告" },
		{ "no claim", "no claim progress received from the cloud", "尚未收到云端的理赔进度" },
		{ "received", "received", "收到" },
		{ "refreshed", "refreshed", "刷新于" }, { "every", "every", "每" },
		{ "q to quit", "q to quit", "按 q 退出" },
		{ "lim warn", "warn", "警告" }, { "lim crit", "crit", "严重" },
		{ "lim stall", "stall <", "停转 <" },
	};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(words[i].key, key) == 0)
			return tpdiag_zh ? words[i].zh : words[i].en;
	return key;
}

/* --- columns by display width (a CJK character takes two, °C two) ------ */

static int tpdiag_width(const char *s)
{
	wchar_t w[256];
	size_t n = mbstowcs(w, s, sizeof(w) / sizeof(w[0]) - 1);
	int width;

	if (n == (size_t)-1)
		return (int)strlen(s);
	w[n] = L'\0';
	width = wcswidth(w, n);
	return width < 0 ? (int)strlen(s) : width;
}

/* s padded with spaces to width columns (left, or right aligned), then a
 * space. A longer s is printed whole. */
static void tpdiag_cell(const char *s, int width, bool right)
{
	int pad = width - tpdiag_width(s);

	if (right)
		printf("%*s%s ", pad > 0 ? pad : 0, "", s);
	else
		printf("%s%*s ", s, pad > 0 ? pad : 0, "");
}

/* A number for the screen: up to 3 decimals, no trailing zeros, "-" for none. */
static void tpdiag_fmt(double v, char *buf, size_t len)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.4g", v);
	if (!isnan(v) && fabs(v) >= 1e4)
		snprintf(buf, len, "%.0f", v);
}

/* "warn 85 crit 100 °C", "11.4..13.2 V", ">= 11.4 V", "stall < 500 rpm";
 * "" when the sensor has none. Never nan: a missing limit is left out. */
static void tpdiag_limits(const cJSON *s, char *buf, size_t len)
{
	double warn = tpdiag_num(s, "warn"), crit = tpdiag_num(s, "crit");
	double min = tpdiag_num(s, "min"), max = tpdiag_num(s, "max"), stall = tpdiag_num(s, "stall_rpm");
	const char *unit = tpdiag_str(s, "unit");
	char a[32], b[32];

	buf[0] = '\0';
	tpdiag_fmt(warn, a, sizeof(a));
	tpdiag_fmt(crit, b, sizeof(b));
	if (!isnan(warn) && !isnan(crit))
		snprintf(buf, len, "%s %s %s %s %s", tpdiag_w("lim warn"), a, tpdiag_w("lim crit"), b,
			 unit);
	else if (!isnan(warn))
		snprintf(buf, len, "%s %s %s", tpdiag_w("lim warn"), a, unit);
	else if (!isnan(crit))
		snprintf(buf, len, "%s %s %s", tpdiag_w("lim crit"), b, unit);
	tpdiag_fmt(min, a, sizeof(a));
	tpdiag_fmt(max, b, sizeof(b));
	if (!isnan(min) && !isnan(max))
		snprintf(buf, len, "%s..%s %s", a, b, unit);
	else if (!isnan(min))
		snprintf(buf, len, ">= %s %s", a, unit);
	else if (!isnan(max))
		snprintf(buf, len, "<= %s %s", b, unit);
	tpdiag_fmt(stall, a, sizeof(a));
	if (!isnan(stall))
		snprintf(buf, len, "%s %s %s", tpdiag_w("lim stall"), a, unit);
}

/* The unit column: SPEC §4's, and what a unitless value is. */
static const char *tpdiag_unit(const cJSON *s)
{
	const char *unit = tpdiag_str(s, "unit"), *id = tpdiag_str(s, "id");

	if (unit[0])
		return unit;
	return strncmp(id, "load.", 5) == 0 ? "0..1" : strncmp(id, "event.", 6) == 0 ? "0/1" : "";
}

static const char *tpdiag_state_word(const char *state)
{
	return strcmp(state, "ok") == 0 || strcmp(state, "warn") == 0 || strcmp(state, "fail") == 0
	       ? tpdiag_w(state) : tpdiag_w("unreadable");
}

static void tpdiag_status(const cJSON *o)
{
	const cJSON *s, *verdict = cJSON_GetObjectItemCaseSensitive(o, "selfcheck_verdict");
	bool off = cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(o, "collection"));

	printf("%s (%s)  %s %s  %s%s%s  %s %s\n", tpdiag_str(o, "device"), tpdiag_str(o, "model"),
	       tpdiag_w("boot"), tpdiag_w(tpdiag_str(o, "boot_reason")),
	       off ? "" : tpdiag_w("broker"), off ? "" : " ", off ? tpdiag_w("collection off")
	       : cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "broker_connected"))
	       ? tpdiag_w("connected") : tpdiag_w("unreachable"),
	       tpdiag_w("self-check"), cJSON_IsString(verdict)
	       ? tpdiag_w(tpdiag_str(o, "selfcheck_verdict")) : tpdiag_w("not run"));
	tpdiag_cell(tpdiag_w("SENSOR"), 20, false);
	tpdiag_cell(tpdiag_w("VALUE"), 10, true);
	tpdiag_cell(tpdiag_w("UNIT"), 5, false);
	tpdiag_cell(tpdiag_w("LIMITS"), 24, false);
	printf("%s\n", tpdiag_w("STATE"));
	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(o, "sensors")) {
		char limits[96], value[32];

		tpdiag_limits(s, limits, sizeof(limits));
		tpdiag_fmt(tpdiag_num(s, "value"), value, sizeof(value));
		tpdiag_cell(tpdiag_str(s, "id"), 20, false);
		tpdiag_cell(value, 10, true);
		tpdiag_cell(tpdiag_unit(s), 5, false);
		tpdiag_cell(limits, 24, false);
		printf("%s\n", tpdiag_state_word(tpdiag_str(s, "state")));
	}
}

/* The limit a fault code is about, from the sensor's row of the status. */
static double tpdiag_fault_limit(const cJSON *o, const cJSON *f, const char **unit)
{
	static const struct { const char *code, *key; } lim[] = {
		{ "TEMP_HIGH", "warn" }, { "TEMP_CRITICAL", "crit" }, { "PWR_UNDERVOLT", "min" },
		{ "PWR_BROWNOUT", "min" }, { "PWR_OVERVOLT", "max" }, { "PWR_OVERCURRENT", "max" },
		{ "FAN_STALL", "stall_rpm" }, { "TEMP_RISING", "crit" }, { "FAN_DEGRADED", "stall_rpm" },
		{ "PWR_DEGRADING", "min" },
	};
	const char *code = tpdiag_str(f, "code"), *sensor = tpdiag_str(f, "sensor");
	const cJSON *s;

	*unit = "";
	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(o, "sensors")) {
		if (strcmp(tpdiag_str(s, "id"), sensor) != 0)
			continue;
		*unit = tpdiag_str(s, "unit");
		for (size_t i = 0; i < sizeof(lim) / sizeof(lim[0]); i++)
			if (strcmp(lim[i].code, code) == 0)
				return tpdiag_num(s, lim[i].key);
	}
	return NAN;
}

static void tpdiag_fault_row(const cJSON *o, const cJSON *f)
{
	char at[32], value[48], limit[48], num[32];
	const char *unit;
	double lim = tpdiag_fault_limit(o, f, &unit);

	tpdiag_iso(tpdiag_num(f, "ts"), at, sizeof(at));
	tpdiag_fmt(tpdiag_num(f, "value"), num, sizeof(num));
	snprintf(value, sizeof(value), "%s %s", num, unit);
	tpdiag_fmt(lim, num, sizeof(num));
	if (isnan(lim))
		snprintf(limit, sizeof(limit), "-");
	else
		snprintf(limit, sizeof(limit), "%s %s", num, unit);
	tpdiag_cell(at, 19, false);
	tpdiag_cell(tpdiag_str(f, "code"), 15, false);
	tpdiag_cell(tpdiag_w(tpdiag_str(f, "state")), 8, false);
	tpdiag_cell(tpdiag_str(f, "sensor"), 18, false);
	tpdiag_cell(value, 12, true);
	printf("%s\n", limit);
}

static void tpdiag_fault_header(void)
{
	tpdiag_cell(tpdiag_w("TIME (UTC)"), 19, false);
	tpdiag_cell(tpdiag_w("CODE"), 15, false);
	tpdiag_cell(tpdiag_w("STATE"), 8, false);
	tpdiag_cell(tpdiag_w("SENSOR"), 18, false);
	tpdiag_cell(tpdiag_w("VALUE"), 12, true);
	printf("%s\n", tpdiag_w("LIMIT"));
}

static void tpdiag_faults(const cJSON *o)
{
	const cJSON *f, *arr = cJSON_GetObjectItemCaseSensitive(o, "faults");

	if (cJSON_GetArraySize(arr) == 0) {
		printf("%s\n", tpdiag_w("no faults"));
		return;
	}
	tpdiag_fault_header();
	cJSON_ArrayForEach(f, arr)
		tpdiag_fault_row(o, f);
}

/* Faults whose latest event is a raise (the history is oldest first). */
static void tpdiag_active(const cJSON *o)
{
	const cJSON *f, *g, *arr = cJSON_GetObjectItemCaseSensitive(o, "faults");
	int n = 0;

	printf("%s:\n", tpdiag_w("active faults"));
	cJSON_ArrayForEach(f, arr) {
		bool later = false;

		if (strcmp(tpdiag_str(f, "state"), "raised") != 0)
			continue;
		for (g = f->next; g && !later; g = g->next)
			later = strcmp(tpdiag_str(g, "code"), tpdiag_str(f, "code")) == 0 &&
				strcmp(tpdiag_str(g, "sensor"), tpdiag_str(f, "sensor")) == 0;
		if (later)
			continue;
		if (n++ == 0)
			tpdiag_fault_header();
		tpdiag_fault_row(o, f);
	}
	if (n == 0)
		printf("  %s\n", tpdiag_w("none"));
}

/* "4 d 03:12:05" */
static void tpdiag_duration(double s, char *buf, size_t len)
{
	unsigned long t = isnan(s) || s < 0 ? 0 : (unsigned long)s;

	snprintf(buf, len, "%lu d %02lu:%02lu:%02lu", t / 86400, t / 3600 % 24, t / 60 % 60, t % 60);
}

static void tpdiag_counter_line(const char *key, const char *value)
{
	printf("  ");
	tpdiag_cell(tpdiag_w(key), 40, false);
	printf("%s\n", value);
}

static void tpdiag_counters(const cJSON *o)
{
	const cJSON *c, *life = cJSON_GetObjectItemCaseSensitive(o, "lifetime");
	char v[64];

	printf("%s\n", tpdiag_w("since start"));
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(o, "counters")) {
		snprintf(v, sizeof(v), "%.0f", c->valuedouble);
		tpdiag_counter_line(c->string, v);
	}
	tpdiag_counter_line("boot_reason", tpdiag_w(tpdiag_str(o, "boot_reason")));
	printf("%s\n", tpdiag_w("lifetime"));
	tpdiag_duration(tpdiag_num(life, "power_on_s"), v, sizeof(v));
	tpdiag_counter_line("power_on_s", v);
	tpdiag_duration(tpdiag_num(life, "above_warn_s"), v, sizeof(v));
	tpdiag_counter_line("above_warn_s", v);
	static const char *const counts[] = { "undervoltage_events", "starts", "unclean_restarts",
					      "brownout_restarts", NULL };
	for (int i = 0; counts[i]; i++) {
		double n = tpdiag_num(life, counts[i]);

		if (isnan(n))
			continue;   /* an agent that does not count it */
		snprintf(v, sizeof(v), "%.0f", n);
		tpdiag_counter_line(counts[i], v);
	}
	if (tpdiag_num(life, "last_low_vin_ts") > 0) {
		char at[32];

		tpdiag_iso(tpdiag_num(life, "last_low_vin_ts"), at, sizeof(at));
		snprintf(v, sizeof(v), "%.2f V (%s) %s UTC", tpdiag_num(life, "last_low_vin_v"),
			 tpdiag_str(life, "last_low_vin_sensor"), at);
	} else {
		snprintf(v, sizeof(v), "%s", tpdiag_w("never"));
	}
	tpdiag_counter_line("last_low_vin", v);
	c = cJSON_GetObjectItemCaseSensitive(life, "restarts");
	if (cJSON_GetArraySize(c) > 0) {
		const cJSON *r;

		printf("  %s:\n", tpdiag_w("restarts"));
		cJSON_ArrayForEach(r, c) {
			tpdiag_iso(r->valuedouble, v, sizeof(v));
			printf("    %s\n", v);
		}
	}
}

static void tpdiag_spool(const cJSON *o)
{
	const cJSON *sp = cJSON_GetObjectItemCaseSensitive(o, "spool"), *c;
	char v[48];

	cJSON_ArrayForEach(c, sp) {
		if (strcmp(c->string, "bytes") == 0)
			snprintf(v, sizeof(v), "%.0f bytes", c->valuedouble);
		else
			snprintf(v, sizeof(v), "%.0f", c->valuedouble);
		tpdiag_counter_line(c->string, v);
	}
}

/* The steps were printed as they came (tpdiag_on_line); the verdict ends it. */
static void tpdiag_selfcheck(const cJSON *o)
{
	printf("%s: %s\n", tpdiag_w("verdict"), tpdiag_w(tpdiag_str(o, "verdict")));
}

static void tpdiag_claim(const cJSON *o)
{
	const cJSON *c, *arr = cJSON_GetObjectItemCaseSensitive(o, "claims");

	if (cJSON_GetArraySize(arr) == 0) {
		printf("%s\n", tpdiag_w("no claim"));
		return;
	}
	cJSON_ArrayForEach(c, arr) {
		char at[32];

		tpdiag_iso(tpdiag_num(c, "received"), at, sizeof(at));
		printf("%-10s %-18s (%s %s UTC)\n", tpdiag_str(c, "claim"), tpdiag_str(c, "state"),
		       tpdiag_w("received"), at);
	}
}

/* watch: the time of this refresh, the pace, the way out. */
static void tpdiag_watch_header(double interval)
{
	char at[32];

	tpdiag_iso((double)time(NULL), at, sizeof(at));
	printf("tpdiag watch  %s %s UTC, %s %g s  (%s)\n", tpdiag_w("refreshed"), at,
	       tpdiag_w("every"), interval, tpdiag_w("q to quit"));
}

/* Waits up to s seconds; true when q (or Q) was typed on a terminal. */
static bool tpdiag_wait_for_q(double s, bool tty)
{
	for (double t = 0; t < s && !tpdiag_stop; t += 0.1) {
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		char ch;

		if (tty && poll(&pfd, 1, 100) == 1) {
			if (read(STDIN_FILENO, &ch, 1) == 1 && (ch == 'q' || ch == 'Q'))
				return true;
		} else if (!tty) {
			usleep(100000);
		}
	}
	return false;
}

int main(int argc, char **argv)
{
	const char *state_dir = "/var/lib/tpdiag", *sock_arg = NULL, *interval_arg = "2";
	bool json = false, zh = false;
	struct tpd_cli_opt opts[] = {
		{ "state-dir", "DIR", "tpdiagd's --state-dir (default /var/lib/tpdiag)", &state_dir, NULL },
		{ "socket", "PATH", "tpdiagd's socket (default STATE/tpdiag.sock)", &sock_arg, NULL },
		{ "json", NULL, "print the agent's JSON", NULL, &json },
		{ "zh", NULL, "Simplified Chinese: labels, states, verdicts, step results and hints (default: from LC_ALL/LC_MESSAGES/LANG)", NULL, &zh },
		{ "interval", "S", "watch: seconds between refreshes, or 500ms, 1m (default 2)", &interval_arg, NULL },
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
	bool known = false, watching, tty;
	struct termios saved_tio;
	cJSON *o;

	switch (tpd_cli_parse(&cli, argc, argv, &optind_out)) {
	case TPD_CLI_EXIT0: return 0;
	case TPD_CLI_USAGE: return 2;
	case TPD_CLI_RUN: break;
	}
	cmd = optind_out < argc ? argv[optind_out] : "status";
	for (int i = 0; cmds[i]; i++)
		known |= strcmp(cmd, cmds[i]) == 0;
	if (!known || argc - optind_out > 1) {
		fprintf(stderr, PROG ": bad usage: %s (see --help)\n", !known
			? "command is status, faults, selfcheck, counters, spool, claim or watch"
			: "one command at a time");
		tpd_cli_free(&cli);
		return 2;
	}
	if (!tpd_units_opt_duration(PROG, "interval", interval_arg, 1000, 200, 3600000,
				    "seconds or 500ms, 1m: 0.2s to 1h", &interval)) {
		tpd_cli_free(&cli);
		return 2;
	}
	snprintf(sock, sizeof(sock), "%s/tpdiag.sock", state_dir);
	if (sock_arg)
		snprintf(sock, sizeof(sock), "%s", sock_arg);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* Display widths need a UTF-8 character type whatever the environment. */
	if (!setlocale(LC_CTYPE, ""))
		setlocale(LC_CTYPE, "C.UTF-8");
	if (!strstr(setlocale(LC_CTYPE, NULL), "UTF-8") && !strstr(setlocale(LC_CTYPE, NULL), "utf8"))
		setlocale(LC_CTYPE, "C.UTF-8");
	{
		const char *lang = getenv("LC_ALL");

		if (!lang || !*lang)
			lang = getenv("LC_MESSAGES");
		if (!lang || !*lang)
			lang = getenv("LANG");
		tpdiag_zh = zh || (lang && strncmp(lang, "zh", 2) == 0);
	}
	watching = strcmp(cmd, "watch") == 0 && !json;
	tty = watching && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_tio) == 0;
	if (tty) {
		struct termios raw = saved_tio;

		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	}
	do {
		const char *ask = strcmp(cmd, "selfcheck") == 0 || strcmp(cmd, "claim") == 0 ? cmd
											 : "status";

		o = tpdiag_ask(sock, ask, strcmp(cmd, "selfcheck") == 0 && !json, tpdiag_zh);
		if (!o) {
			code = 1;
			break;
		}
		if (watching) {
			printf("\033[H\033[2J");
			tpdiag_watch_header(interval);
		}
		if (json) {
			char *text = cJSON_Print(o);

			printf("%s\n", text ? text : "null");
			cJSON_free(text);
		} else if (strcmp(cmd, "status") == 0) {
			tpdiag_status(o);
		} else if (watching) {
			tpdiag_status(o);
			printf("\n");
			tpdiag_active(o);
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
		if (tpdiag_wait_for_q(interval, tty))
			break;
	} while (!tpdiag_stop);
	if (tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
	tpd_cli_free(&cli);
	return code;
}
