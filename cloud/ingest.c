/*
 * ingest.c - validation of device -> cloud messages (SPEC §2).
 *
 * Layout: reject bookkeeping, typed field checks, the schema of each report
 * kind, the JWS envelope, and tpc_ingest_decode tying them together.
 *
 * Design notes:
 * 1. Unknown keys are rejected (issue 2). A newer agent that adds an
 *    optional field must ship with a collector that knows it; until then its
 *    reports are refused loudly (counted and logged), never half-stored.
 * 2. Strict text (issue 14). The body is stored and served as the device
 *    sent it, and other readers (a last-wins JSON library, a C string, a
 *    terminal) must see what we validated. So the raw text is refused when
 *    it starts with a BOM, is not valid UTF-8, or has a NUL or a control
 *    character in any string (raw or escaped: every string in a report is
 *    the device's: ids, fw, model, sensor and event names, boot_reason,
 *    self-check texts); the parsed tree when an object repeats a key at any
 *    depth (cJSON keeps the first, others the last) or a key or string holds
 *    a control character after decoding (C1 written as raw UTF-8). Each has
 *    its own reason counter.
 * 3. Every rejection line is escaped (tpd_esc): it quotes device text, and
 *    a "\n" in it must not start a forged log line.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include "tpd/jws.h"
#include "tpd/utf8.h"
#include "ingest.h"
#include "tpd/jsonfile.h"
#include "registry.h"

#define INGEST_MAX_DEPTH_ITEMS 256   /* sensors, recent rows, steps */
#define INGEST_SEQ_MAX 9007199254740992.0  /* 2^53: exact in a JSON double */
#define INGEST_MAX_MEMBERS 512       /* members of any one object (duplicate check) */

static const char *const ingest_reject_names[TPC_REJECT_COUNT] = {
	[TPC_REJECT_TOPIC] = "bad_topic",
	[TPC_REJECT_TOO_BIG] = "too_big",
	[TPC_REJECT_JSON] = "bad_json",
	[TPC_REJECT_SCHEMA] = "bad_schema",
	[TPC_REJECT_DEV_MISMATCH] = "dev_mismatch",
	[TPC_REJECT_JWS] = "bad_jws",
	[TPC_REJECT_ALG] = "bad_alg",
	[TPC_REJECT_UNKNOWN_KID] = "unknown_kid",
	[TPC_REJECT_KID_MISMATCH] = "kid_mismatch",
	[TPC_REJECT_SIGNATURE] = "bad_signature",
	[TPC_REJECT_DUP_KEY] = "duplicate_key",
	[TPC_REJECT_NUL] = "nul_in_string",
	[TPC_REJECT_BOM] = "bom",
	[TPC_REJECT_BAD_UTF8] = "bad_utf8",
	[TPC_REJECT_CONTROL] = "control_char",
	[TPC_REJECT_TS_SKEW] = "ts_skew",
	[TPC_REJECT_UNREGISTERED] = "unregistered",
};

const char *tpc_reject_name(enum tpc_reject r)
{
	return (unsigned)r < TPC_REJECT_COUNT ? ingest_reject_names[r] : "?";
}

struct ingest_ctx {
	enum tpc_reject *reason;
	char *why;
	size_t whylen;
	const struct tpc_ingest_policy *pol;   /* NULL: none */
};

/* Sets the reason and one escaped line (note 3). */
static enum tpd_err ingest_reject(struct ingest_ctx *c, enum tpc_reject r, const char *fmt, ...)
{
	char raw[512];
	va_list ap;

	*c->reason = r;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	if (c->whylen)
		tpd_esc(c->why, c->whylen, raw);
	return TPD_ERR_INVAL;
}

static int ingest_hex4(const char *p)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		char ch = p[i];
		int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
		      : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;

		if (d < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/* The raw text before cJSON sees it (note 2): BOM, UTF-8, NUL and control
 * characters inside strings, raw or escaped. */
static enum tpd_err ingest_text(struct ingest_ctx *c, const char *t, size_t len)
{
	const unsigned char *u = (const unsigned char *)t;
	bool in_str = false;
	unsigned long cp;

	if (len >= 3 && memcmp(t, "\xef\xbb\xbf", 3) == 0)
		return ingest_reject(c, TPC_REJECT_BOM, "a UTF-8 byte-order mark precedes the JSON");
	for (size_t i = 0; i < len;) {
		size_t n = tpd_utf8_seq(u + i, len - i, &cp);

		if (!n)
			return ingest_reject(c, TPC_REJECT_BAD_UTF8, "invalid UTF-8 at byte %zu", i);
		i += n;
	}
	for (size_t i = 0; i < len; i++) {
		if (!in_str) {
			in_str = t[i] == '"';
			continue;
		}
		if (t[i] == '"') {
			in_str = false;
		} else if (u[i] == 0) {
			return ingest_reject(c, TPC_REJECT_NUL, "NUL byte in a string at byte %zu", i);
		} else if (u[i] < 0x20) {
			return ingest_reject(c, TPC_REJECT_CONTROL, "control byte 0x%02x in a string at "
					     "byte %zu", u[i], i);
		} else if (t[i] == '\\' && i + 1 < len) {
			int v;

			i++;
			if (strchr("bfnrt", t[i]) && t[i])
				return ingest_reject(c, TPC_REJECT_CONTROL, "escaped control character "
						     "\\%c in a string at byte %zu", t[i], i - 1);
			if (t[i] != 'u' || i + 4 >= len)
				continue;
			v = ingest_hex4(t + i + 1);
			if (v == 0)
				return ingest_reject(c, TPC_REJECT_NUL, "\\u0000 in a string at byte %zu",
						     i - 1);
			if ((v > 0 && v < 0x20) || v == 0x7f || (v >= 0x80 && v <= 0x9f))
				return ingest_reject(c, TPC_REJECT_CONTROL, "escaped control character "
						     "U+%04X in a string at byte %zu", (unsigned)v, i - 1);
			i += 4;
		}
	}
	return TPD_OK;
}

static int ingest_cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The parsed tree (note 2): no key twice in an object, no control character
 * in a key or string after decoding. */
static enum tpd_err ingest_tree(struct ingest_ctx *c, const cJSON *it)
{
	const char *keys[INGEST_MAX_MEMBERS];
	const cJSON *ch;
	size_t n = 0;
	enum tpd_err rc;

	if (cJSON_IsString(it) && !tpd_utf8_clean(it->valuestring, strlen(it->valuestring), 0, NULL))
		return ingest_reject(c, TPC_REJECT_CONTROL, "control character in the value of "
				     "\"%.40s\"", it->string ? it->string : "[]");
	if (!cJSON_IsObject(it) && !cJSON_IsArray(it))
		return TPD_OK;
	cJSON_ArrayForEach(ch, it) {
		if (cJSON_IsObject(it)) {
			if (!tpd_utf8_clean(ch->string, strlen(ch->string), 0, NULL))
				return ingest_reject(c, TPC_REJECT_CONTROL, "control character in a key");
			if (n == INGEST_MAX_MEMBERS)
				return ingest_reject(c, TPC_REJECT_SCHEMA, "an object with more than %d "
						     "members", INGEST_MAX_MEMBERS);
			keys[n++] = ch->string;
		}
		rc = ingest_tree(c, ch);
		if (rc)
			return rc;
	}
	if (n < 2)
		return TPD_OK;
	qsort(keys, n, sizeof(*keys), ingest_cmp_str);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(keys[i - 1], keys[i]) == 0)
			return ingest_reject(c, TPC_REJECT_DUP_KEY, "key \"%.40s\" appears twice in "
					     "one object", keys[i]);
	}
	return TPD_OK;
}

static double ingest_now(const struct tpc_ingest_policy *p)
{
	struct timespec ts;

	if (p->now)
		return p->now(p->now_ctx);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static enum tpd_err ingest_keys(struct ingest_ctx *c, const cJSON *obj, const char *where,
				const char *const *a, const char *const *b)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, obj) {
		if (!tpd_str_in_set(it->string, a) && (!b || !tpd_str_in_set(it->string, b)))
			return ingest_reject(c, TPC_REJECT_SCHEMA, "%s: unknown field \"%.40s\"", where,
					     it->string);
	}
	return TPD_OK;
}

static const cJSON *ingest_get(const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

static bool ingest_is_num(const cJSON *it)
{
	return cJSON_IsNumber(it) && isfinite(it->valuedouble);
}

static bool ingest_is_count(const cJSON *it)
{
	return ingest_is_num(it) && it->valuedouble >= 0 && it->valuedouble <= INGEST_SEQ_MAX &&
	       floor(it->valuedouble) == it->valuedouble;
}

/* Number or null, stored as NAN for null. */
static enum tpd_err ingest_num_or_null(struct ingest_ctx *c, const cJSON *obj, const char *where,
				       const char *key, bool required, double *out)
{
	const cJSON *it = ingest_get(obj, key);

	*out = NAN;
	if (!it)
		return required ? ingest_reject(c, TPC_REJECT_SCHEMA, "%s.%s: missing", where, key)
				: TPD_OK;
	if (cJSON_IsNull(it))
		return TPD_OK;
	if (!ingest_is_num(it))
		return ingest_reject(c, TPC_REJECT_SCHEMA, "%s.%s: must be a number or null", where, key);
	*out = it->valuedouble;
	return TPD_OK;
}

static enum tpd_err ingest_str(struct ingest_ctx *c, const cJSON *obj, const char *where,
			       const char *key, size_t maxlen, const char *const *oneof,
			       const char **out)
{
	const cJSON *it = ingest_get(obj, key);

	if (!it)
		return ingest_reject(c, TPC_REJECT_SCHEMA, "%s.%s: missing", where, key);
	if (!cJSON_IsString(it) || strlen(it->valuestring) > maxlen)
		return ingest_reject(c, TPC_REJECT_SCHEMA, "%s.%s: must be a string of at most %zu "
				     "characters", where, key, maxlen);
	if (oneof && !tpd_str_in_set(it->valuestring, oneof))
		return ingest_reject(c, TPC_REJECT_SCHEMA, "%s.%s: \"%.40s\" is not allowed", where,
				     key, it->valuestring);
	*out = it->valuestring;
	return TPD_OK;
}

static const char *const ingest_common_keys[] = { "v", "dev", "model", "fw", "seq", "ts", NULL };

static enum tpd_err ingest_common(struct ingest_ctx *c, const cJSON *o, const char *topic_id,
				  struct tpc_report *r)
{
	const cJSON *v = ingest_get(o, "v"), *seq = ingest_get(o, "seq"), *ts = ingest_get(o, "ts");
	const char *dev;
	enum tpd_err rc;

	if (!ingest_is_num(v) || v->valuedouble != TPD_WIRE_VERSION)
		return ingest_reject(c, TPC_REJECT_SCHEMA, "v: must be 1");
	rc = ingest_str(c, o, "report", "dev", TPD_ID_MAX, NULL, &dev);
	if (rc)
		return rc;
	if (strcmp(dev, topic_id) != 0)
		return ingest_reject(c, TPC_REJECT_DEV_MISMATCH, "dev \"%.64s\" differs from topic id %s",
				     dev, topic_id);
	snprintf(r->dev, sizeof(r->dev), "%s", dev);
	rc = ingest_str(c, o, "report", "model", TPD_ID_MAX, NULL, &r->model);
	if (!rc)
		rc = ingest_str(c, o, "report", "fw", 31, NULL, &r->fw);
	if (rc)
		return rc;
	if (!tpd_id_valid(r->model))
		return ingest_reject(c, TPC_REJECT_SCHEMA, "model: not 1-64 of [A-Za-z0-9_-]");
	if (!ingest_is_count(seq))
		return ingest_reject(c, TPC_REJECT_SCHEMA, "seq: must be a whole number 0..2^53");
	if (!ingest_is_num(ts) || ts->valuedouble < 0 || ts->valuedouble > 1e11)
		return ingest_reject(c, TPC_REJECT_SCHEMA, "ts: must be Unix seconds");
	if (c->pol && (c->pol->max_back_s > 0 || c->pol->max_ahead_s > 0)) {
		double now = ingest_now(c->pol);

		/* A report from the year 3000 would set last_seen for good. */
		if ((c->pol->max_ahead_s > 0 && ts->valuedouble > now + c->pol->max_ahead_s) ||
		    (c->pol->max_back_s > 0 && ts->valuedouble < now - c->pol->max_back_s))
			return ingest_reject(c, TPC_REJECT_TS_SKEW, "ts %.0f is %.0f s from the "
					     "collector's clock (allowed: %.0f s back, %.0f s ahead; "
					     "--max-skew)", ts->valuedouble, ts->valuedouble - now,
					     c->pol->max_back_s, c->pol->max_ahead_s);
	}
	r->seq = (uint64_t)seq->valuedouble;
	r->ts = ts->valuedouble;
	return TPD_OK;
}

static enum tpd_err ingest_telemetry(struct ingest_ctx *c, const cJSON *o)
{
	static const char *const keys[] = { "period_s", "sensors", "events", "load", NULL };
	static const char *const agg_keys[] = { "min", "max", "avg", "n", "fail", NULL };
	const cJSON *p = ingest_get(o, "period_s"), *sensors = ingest_get(o, "sensors");
	const cJSON *events = ingest_get(o, "events"), *load = ingest_get(o, "load"), *it;
	enum tpd_err rc = ingest_keys(c, o, "telemetry", ingest_common_keys, keys);
	double tmp;

	if (rc)
		return rc;
	if (!ingest_is_num(p) || p->valuedouble <= 0 || p->valuedouble > 86400)
		return ingest_reject(c, TPC_REJECT_SCHEMA, "period_s: must be 0 < n <= 86400");
	if (!cJSON_IsObject(sensors) || cJSON_GetArraySize(sensors) > INGEST_MAX_DEPTH_ITEMS)
		return ingest_reject(c, TPC_REJECT_SCHEMA, "sensors: must be an object");
	cJSON_ArrayForEach(it, sensors) {
		enum tpd_sensor_kind kind;

		if (tpd_sensor_kind_parse(it->string, &kind) || !cJSON_IsObject(it))
			return ingest_reject(c, TPC_REJECT_SCHEMA, "sensors.%.48s: not a SPEC §4 sensor "
					     "with an aggregate object", it->string);
		rc = ingest_keys(c, it, "sensors", agg_keys, NULL);
		if (!rc) rc = ingest_num_or_null(c, it, it->string, "min", true, &tmp);
		if (!rc) rc = ingest_num_or_null(c, it, it->string, "max", true, &tmp);
		if (!rc) rc = ingest_num_or_null(c, it, it->string, "avg", true, &tmp);
		if (rc)
			return rc;
		if (!ingest_is_count(ingest_get(it, "n")))
			return ingest_reject(c, TPC_REJECT_SCHEMA, "sensors.%.48s.n: must be a count",
					     it->string);
		if (ingest_get(it, "fail") && !ingest_is_count(ingest_get(it, "fail")))
			return ingest_reject(c, TPC_REJECT_SCHEMA, "sensors.%.48s.fail: must be a count",
					     it->string);
	}
	if (events) {
		if (!cJSON_IsObject(events) || cJSON_GetArraySize(events) > INGEST_MAX_DEPTH_ITEMS)
			return ingest_reject(c, TPC_REJECT_SCHEMA, "events: must be an object");
		cJSON_ArrayForEach(it, events) {
			if (!ingest_is_count(it))
				return ingest_reject(c, TPC_REJECT_SCHEMA, "events.%.40s: must be a count",
						     it->string);
		}
	}
	if (load) {
		if (!cJSON_IsObject(load) || cJSON_GetArraySize(load) > INGEST_MAX_DEPTH_ITEMS)
			return ingest_reject(c, TPC_REJECT_SCHEMA, "load: must be an object");
		cJSON_ArrayForEach(it, load) {
			if (!cJSON_IsNull(it) && (!ingest_is_num(it) || it->valuedouble < 0 ||
						  it->valuedouble > 1.0))
				return ingest_reject(c, TPC_REJECT_SCHEMA, "load.%.40s: must be 0..1 or null",
						     it->string);
		}
	}
	return TPD_OK;
}

static enum tpd_err ingest_prev(struct ingest_ctx *c, const cJSON *o)
{
	const cJSON *prev = ingest_get(o, "prev");

	if (!prev)
		return ingest_reject(c, TPC_REJECT_SCHEMA, "prev: missing (signed reports carry it)");
	if (!cJSON_IsString(prev) ||
	    (prev->valuestring[0] && strlen(prev->valuestring) != TPD_HASH_B64_LEN))
		return ingest_reject(c, TPC_REJECT_SCHEMA, "prev: must be \"\" or a base64url SHA-256");
	return TPD_OK;
}

static const char *const ingest_verdicts[] = { "ok", "user_fixable", "needs_service", NULL };

static enum tpd_err ingest_selfcheck_body(struct ingest_ctx *c, const cJSON *o, bool embedded,
					  const char **verdict)
{
	static const char *const step_keys[] = { "id", "result", "detail", "hint", "hint_zh", NULL };
	static const char *const results[] = { "pass", "fail", "skip", NULL };
	static const char *const triggers[] = { "boot", "fault", "remote", "technician", NULL };
	const cJSON *steps = ingest_get(o, "steps"), *st;
	const char *s;
	enum tpd_err rc;

	*verdict = NULL;
	if (embedded && cJSON_GetArraySize(o) == 0)
		return TPD_OK; /* "selfcheck":{} - none was run */
	rc = ingest_str(c, o, "selfcheck", "trigger", 16, triggers, &s);
	if (!rc)
		rc = ingest_str(c, o, "selfcheck", "verdict", 16, ingest_verdicts, verdict);
	if (rc)
		return rc;
	if (!cJSON_IsArray(steps) || cJSON_GetArraySize(steps) > INGEST_MAX_DEPTH_ITEMS)
		return ingest_reject(c, TPC_REJECT_SCHEMA, "selfcheck.steps: must be an array");
	cJSON_ArrayForEach(st, steps) {
		if (!cJSON_IsObject(st))
			return ingest_reject(c, TPC_REJECT_SCHEMA, "selfcheck.steps: items must be objects");
		rc = ingest_keys(c, st, "selfcheck.steps[]", step_keys, NULL);
		if (!rc) rc = ingest_str(c, st, "step", "id", 64, NULL, &s);
		if (!rc) rc = ingest_str(c, st, "step", "result", 8, results, &s);
		if (!rc && ingest_get(st, "detail")) rc = ingest_str(c, st, "step", "detail", 512, NULL, &s);
		if (!rc && ingest_get(st, "hint")) rc = ingest_str(c, st, "step", "hint", 512, NULL, &s);
		if (!rc && ingest_get(st, "hint_zh"))
			rc = ingest_str(c, st, "step", "hint_zh", 512, NULL, &s);
		if (rc)
			return rc;
	}
	return TPD_OK;
}

static enum tpd_err ingest_selfcheck(struct ingest_ctx *c, const cJSON *o, struct tpc_report *r)
{
	static const char *const keys[] = { "trigger", "steps", "verdict", "prev", NULL };
	enum tpd_err rc = ingest_keys(c, o, "selfcheck", ingest_common_keys, keys);

	if (!rc)
		rc = ingest_prev(c, o);
	if (!rc)
		rc = ingest_selfcheck_body(c, o, false, &r->verdict);
	return rc;
}

static enum tpd_err ingest_fault(struct ingest_ctx *c, const cJSON *o, struct tpc_report *r)
{
	static const char *const keys[] = { "fault", "recent", "selfcheck", "prev", NULL };
	static const char *const fkeys[] = { "code", "class", "severity", "state", "sensor", "value",
					     "limit", "since", "predictive", "eta_s",
					     "baseline", "now", "basis", NULL };
	static const char *const bases[] = { "excess", NULL };
	static const char *const states[] = { "raised", "cleared", NULL };
	const cJSON *f = ingest_get(o, "fault"), *recent = ingest_get(o, "recent");
	const cJSON *sc = ingest_get(o, "selfcheck"), *pred, *it;
	const char *code, *cls, *sev, *state, *basis_name;
	enum tpd_sensor_kind kind;
	enum tpd_fault_class want;
	enum tpd_severity sevv;
	double eta, basis;
	enum tpd_err rc = ingest_keys(c, o, "fault report", ingest_common_keys, keys);

	if (!rc)
		rc = ingest_prev(c, o);
	if (rc)
		return rc;
	if (!cJSON_IsObject(f))
		return ingest_reject(c, TPC_REJECT_SCHEMA, "fault: missing or not an object");
	rc = ingest_keys(c, f, "fault", fkeys, NULL);
	if (!rc) rc = ingest_str(c, f, "fault", "code", 32, NULL, &code);
	if (!rc) rc = ingest_str(c, f, "fault", "class", 16, NULL, &cls);
	if (!rc) rc = ingest_str(c, f, "fault", "severity", 16, NULL, &sev);
	if (!rc) rc = ingest_str(c, f, "fault", "state", 16, states, &state);
	if (!rc) rc = ingest_str(c, f, "fault", "sensor", TPD_SENSOR_NAME_MAX - 1, NULL, &r->sensor);
	if (!rc) rc = ingest_num_or_null(c, f, "fault", "value", true, &r->value);
	if (!rc) rc = ingest_num_or_null(c, f, "fault", "limit", true, &r->limit);
	if (!rc) rc = ingest_num_or_null(c, f, "fault", "since", true, &r->since);
	if (!rc) rc = ingest_num_or_null(c, f, "fault", "eta_s", false, &eta);
	/* a forecast's basis (agent.c: the detector's baseline and present value) */
	if (!rc) rc = ingest_num_or_null(c, f, "fault", "baseline", false, &basis);
	if (!rc) rc = ingest_num_or_null(c, f, "fault", "now", false, &basis);
	if (!rc && ingest_get(f, "basis"))
		rc = ingest_str(c, f, "fault", "basis", 16, bases, &basis_name);
	if (rc)
		return rc;
	if (tpd_fault_code_parse(code, &r->code))
		return ingest_reject(c, TPC_REJECT_SCHEMA, "fault.code: \"%.32s\" is not a SPEC §3 code",
				     code);
	want = tpd_fault_code_class(r->code);
	if (tpd_fault_class_parse(cls, &r->cls) || r->cls != want)
		return ingest_reject(c, TPC_REJECT_SCHEMA, "fault.class: %s is of class %s, not \"%.16s\"",
				     code, tpd_fault_class_name(want), cls);
	if (tpd_severity_parse(sev, &sevv))
		return ingest_reject(c, TPC_REJECT_SCHEMA, "fault.severity: \"%.16s\" is not "
				     "info|warning|critical", sev);
	if (tpd_sensor_kind_parse(r->sensor, &kind))
		return ingest_reject(c, TPC_REJECT_SCHEMA, "fault.sensor: \"%.48s\" is not a SPEC §4 name",
				     r->sensor);
	pred = ingest_get(f, "predictive");
	if (!cJSON_IsBool(pred))
		return ingest_reject(c, TPC_REJECT_SCHEMA, "fault.predictive: must be true or false");
	r->predictive = cJSON_IsTrue(pred);
	r->raised = strcmp(state, "raised") == 0;
	if (recent) {
		if (!cJSON_IsArray(recent) || cJSON_GetArraySize(recent) > INGEST_MAX_DEPTH_ITEMS)
			return ingest_reject(c, TPC_REJECT_SCHEMA, "recent: must be an array");
		cJSON_ArrayForEach(it, recent) {
			if (!cJSON_IsObject(it))
				return ingest_reject(c, TPC_REJECT_SCHEMA, "recent: items must be objects");
		}
	}
	if (sc) {
		if (!cJSON_IsObject(sc))
			return ingest_reject(c, TPC_REJECT_SCHEMA, "selfcheck: must be an object");
		return ingest_selfcheck_body(c, sc, true, &r->verdict);
	}
	return TPD_OK;
}

static enum tpd_err ingest_status(struct ingest_ctx *c, const cJSON *o)
{
	static const char *const keys[] = { "state", "boot_reason", NULL };
	static const char *const states[] = { "online", "offline", NULL };
	const char *s;
	enum tpd_err rc = ingest_keys(c, o, "status", ingest_common_keys, keys);

	if (!rc)
		rc = ingest_str(c, o, "status", "state", 16, states, &s);
	if (!rc && ingest_get(o, "boot_reason"))
		rc = ingest_str(c, o, "status", "boot_reason", 64, NULL, &s);
	return rc;
}

/* The JWS envelope: header checks, registry lookup, signature. On success
 * *json_text points at the decoded payload (owned by jws). */
static enum tpd_err ingest_jws(struct ingest_ctx *c, const char *text, size_t len,
			       const char *topic_id, struct tpc_registry *reg,
			       struct tpd_jws *jws)
{
	enum tpd_err rc = tpd_jws_decode(text, len, jws);

	if (rc == TPD_ERR_NOMEM)
		return rc;
	if (rc)
		return ingest_reject(c, TPC_REJECT_JWS, "not a JWS compact serialization with an "
				     "alg/kid header");
	if (strcmp(jws->alg, "ES256") != 0)
		return ingest_reject(c, TPC_REJECT_ALG, "alg \"%.15s\" is not ES256", jws->alg);
	if (strcmp(jws->kid, topic_id) != 0)
		return ingest_reject(c, TPC_REJECT_KID_MISMATCH, "kid \"%.64s\" differs from topic id %s",
				     jws->kid, topic_id);
	rc = tpc_registry_verify(reg, jws->kid, jws, text);
	if (rc == TPD_ERR_NOTFOUND)
		return ingest_reject(c, TPC_REJECT_UNKNOWN_KID, "kid %s is not in the device registry",
				     jws->kid);
	if (rc)
		return ingest_reject(c, TPC_REJECT_SIGNATURE, "signature does not verify with %s's key",
				     jws->kid);
	return TPD_OK;
}

enum tpd_err tpc_ingest_decode(const char *topic, const void *payload, size_t len,
			       struct tpc_registry *reg, struct tpc_report *out,
			       enum tpc_reject *reason, char *why, size_t whylen)
{
	struct ingest_ctx c = { reason, why, whylen, tpc_registry_policy(reg) };
	char topic_id[TPD_ID_MAX + 1];
	struct tpd_jws jws = { 0 };
	const char *json_text = payload, *end = NULL;
	size_t json_len = len;
	enum tpd_err rc;

	memset(out, 0, sizeof(*out));
	if (tpd_topic_parse(topic, topic_id, &out->kind))
		return ingest_reject(&c, TPC_REJECT_TOPIC, "topic \"%.100s\" is not tp/v1/{id}/{kind}",
				     topic);
	if (out->kind == TPD_TOPIC_CMD)
		return TPD_ERR_NOTFOUND;
	/* Unsigned reports of unknown ids would each create a device row. */
	if (c.pol && c.pol->registered_only &&
	    (out->kind == TPD_TOPIC_TELEMETRY || out->kind == TPD_TOPIC_STATUS) &&
	    !tpc_registry_known(reg, topic_id))
		return ingest_reject(&c, TPC_REJECT_UNREGISTERED, "%s from %s, which is not "
				     "registered (--registered-only)", tpd_topic_kind_name(out->kind),
				     topic_id);
	if (len > TPD_PAYLOAD_MAX)
		return ingest_reject(&c, TPC_REJECT_TOO_BIG, "%zu bytes, limit %d", len, TPD_PAYLOAD_MAX);
	if (out->kind == TPD_TOPIC_FAULT || out->kind == TPD_TOPIC_SELFCHECK) {
		rc = ingest_jws(&c, payload, len, topic_id, reg, &jws);
		if (rc)
			goto fail;
		json_text = jws.payload;
		json_len = jws.payload_len;
		out->verified = true;
		out->jws = strndup(payload, len);
		if (!out->jws) {
			rc = TPD_ERR_NOMEM;
			goto fail;
		}
	}
	rc = ingest_text(&c, json_text, json_len);
	if (rc)
		goto fail;
	out->json = cJSON_ParseWithLengthOpts(json_text, json_len, &end, false);
	if (!cJSON_IsObject(out->json)) {
		rc = ingest_reject(&c, TPC_REJECT_JSON, "payload is not a JSON object");
		goto fail;
	}
	/* the text is stored as received, so it must be that object and nothing
	 * else: no trailing data, no NUL inside */
	while (end < json_text + json_len && strchr(" \t\r\n", *end) && *end)
		end++;
	if (end != json_text + json_len || memchr(json_text, '\0', json_len)) {
		rc = ingest_reject(&c, TPC_REJECT_JSON, "data after the JSON object");
		goto fail;
	}
	rc = ingest_tree(&c, out->json);
	if (rc)
		goto fail;
	out->body = strndup(json_text, json_len);
	if (!out->body) {
		rc = TPD_ERR_NOMEM;
		goto fail;
	}
	rc = ingest_common(&c, out->json, topic_id, out);
	if (rc)
		goto fail;
	switch (out->kind) {
	case TPD_TOPIC_TELEMETRY: rc = ingest_telemetry(&c, out->json); break;
	case TPD_TOPIC_FAULT: rc = ingest_fault(&c, out->json, out); break;
	case TPD_TOPIC_SELFCHECK: rc = ingest_selfcheck(&c, out->json, out); break;
	case TPD_TOPIC_STATUS: rc = ingest_status(&c, out->json); break;
	default: rc = ingest_reject(&c, TPC_REJECT_TOPIC, "not a device topic"); break;
	}
	if (rc)
		goto fail;
	tpd_jws_clear(&jws);
	return TPD_OK;
fail:
	tpd_jws_clear(&jws);
	tpc_report_clear(out);
	return rc;
}

void tpc_report_clear(struct tpc_report *r)
{
	cJSON_Delete(r->json);
	free(r->jws);
	free(r->body);
	r->json = NULL;
	r->jws = NULL;
	r->body = NULL;
}
