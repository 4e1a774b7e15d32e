/*
 * product.c - loading and validating product descriptions (boards/NAME.json).
 *
 * Layout: error helpers, typed field readers (each names the field path on
 * failure), per-sensor validation, whole-product validation, file helpers.
 *
 * Design note: unknown keys are refused. A description is written by people,
 * and a misspelt "wran" silently dropping a limit is worse than an error.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "tpd/jsonfile.h"
#include "tpd/product.h"

struct prod_ctx {
	const char *name;
	char *err;
	size_t errlen;
};

/* One-line refusal naming the file (c is a struct prod_ctx *). */
#define prod_fail(c, ...) tpd_json_fail((c)->err, (c)->errlen, (c)->name, __VA_ARGS__)

static enum tpd_err prod_check_keys(struct prod_ctx *c, const cJSON *obj,
				    const char *path, const char *const *allowed)
{
	const cJSON *bad = tpd_json_unknown_key(obj, allowed);

	if (bad)
		return prod_fail(c, "%s%s\"%s\": unknown key", path, *path ? "." : "", bad->string);
	return TPD_OK;
}

/* Reads an optional number; leaves *out alone when absent. */
static enum tpd_err prod_num(struct prod_ctx *c, const cJSON *obj, const char *path,
			     const char *key, double lo, double hi, double *out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!it)
		return TPD_OK;
	if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble))
		return prod_fail(c, "%s.%s: must be a number", path, key);
	if (it->valuedouble < lo || it->valuedouble > hi)
		return prod_fail(c, "%s.%s: %g is outside %g..%g", path, key,
				 it->valuedouble, lo, hi);
	*out = it->valuedouble;
	return TPD_OK;
}

/* Reads an optional string into buf; required makes absence an error. */
static enum tpd_err prod_str(struct prod_ctx *c, const cJSON *obj, const char *path,
			     const char *key, bool required, char *buf, size_t len)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!it) {
		if (required)
			return prod_fail(c, "%s%s%s: required", path, *path ? "." : "", key);
		return TPD_OK;
	}
	if (!cJSON_IsString(it))
		return prod_fail(c, "%s%s%s: must be a string", path, *path ? "." : "", key);
	if (strlen(it->valuestring) >= len)
		return prod_fail(c, "%s%s%s: longer than %zu characters", path,
				 *path ? "." : "", key, len - 1);
	memcpy(buf, it->valuestring, strlen(it->valuestring) + 1);
	return TPD_OK;
}

/* Physical plausibility by kind, in SPEC §4 units: a reading outside is a
 * broken sensor, not a fault of the product. */
static void prod_default_plausible(enum tpd_sensor_kind kind, double *lo, double *hi)
{
	static const double ranges[TPD_KIND_COUNT][2] = {
		[TPD_KIND_TEMP] = { -55.0, 175.0 },
		[TPD_KIND_VOLT] = { 0.0, 100.0 },
		[TPD_KIND_CURR] = { -100.0, 100.0 },
		[TPD_KIND_POWER] = { 0.0, 5000.0 },
		[TPD_KIND_FAN] = { 0.0, 30000.0 },
		[TPD_KIND_LOAD] = { 0.0, 1.0 },
		[TPD_KIND_EVENT] = { 0.0, 1.0 },
	};
	*lo = ranges[kind][0];
	*hi = ranges[kind][1];
}

/* Keys that only make sense for some kinds. */
static enum tpd_err prod_kind_keys(struct prod_ctx *c, const cJSON *js, const char *path,
				   enum tpd_sensor_kind kind)
{
	static const struct { const char *key; unsigned kinds; } only[] = {
		{ "warn", 1u << TPD_KIND_TEMP },
		{ "crit", 1u << TPD_KIND_TEMP },
		{ "min", 1u << TPD_KIND_VOLT },
		{ "max", (1u << TPD_KIND_VOLT) | (1u << TPD_KIND_CURR) | (1u << TPD_KIND_POWER) },
		{ "stall_rpm", 1u << TPD_KIND_FAN },
		{ "spin_when", 1u << TPD_KIND_FAN },
		{ "brownout", 1u << TPD_KIND_EVENT },
	};
	for (size_t i = 0; i < sizeof(only) / sizeof(only[0]); i++) {
		if (cJSON_GetObjectItemCaseSensitive(js, only[i].key) &&
		    !(only[i].kinds & (1u << kind)))
			return prod_fail(c, "%s.%s: not a limit for a %s sensor", path,
					 only[i].key, tpd_sensor_kind_unit(kind)[0] ?
					 tpd_sensor_kind_unit(kind) : "unitless");
	}
	return TPD_OK;
}

static enum tpd_err prod_sensor(struct prod_ctx *c, const cJSON *js, size_t idx,
				struct tpd_sensor_desc *s)
{
	static const char *const keys[] = {
		"id", "label", "nominal", "warn", "crit", "min", "max", "stall_rpm",
		"spin_when", "brownout", "hyst", "debounce_s", "fail_after_s", "stuck_s",
		"plausible", "source", NULL
	};
	char path[40];
	const cJSON *pl, *bo;
	enum tpd_err rc;

	snprintf(path, sizeof(path), "sensors[%zu]", idx);
	if (!cJSON_IsObject(js))
		return prod_fail(c, "%s: must be an object", path);
	rc = prod_check_keys(c, js, path, keys);
	if (rc)
		return rc;
	memset(s, 0, sizeof(*s));
	rc = prod_str(c, js, path, "id", true, s->id, sizeof(s->id));
	if (rc)
		return rc;
	if (tpd_sensor_kind_parse(s->id, &s->kind))
		return prod_fail(c, "%s.id: \"%s\" is not a SPEC §4 sensor name", path, s->id);
	snprintf(path, sizeof(path), "sensors[%zu] (%s)", idx, s->id);
	rc = prod_str(c, js, path, "label", false, s->label, sizeof(s->label));
	if (!rc)
		rc = prod_str(c, js, path, "source", false, s->source, sizeof(s->source));
	if (rc)
		return rc;
	rc = prod_kind_keys(c, js, path, s->kind);
	if (rc)
		return rc;
	s->nominal = s->warn = s->crit = s->min = s->max = s->stall_rpm = NAN;
	s->spin_sensor = -1;
	s->spin_above = NAN;
	s->fail_after_s = 30.0;
	prod_default_plausible(s->kind, &s->plaus_lo, &s->plaus_hi);
	rc = prod_num(c, js, path, "nominal", -1e6, 1e6, &s->nominal);
	if (!rc) rc = prod_num(c, js, path, "warn", -1e6, 1e6, &s->warn);
	if (!rc) rc = prod_num(c, js, path, "crit", -1e6, 1e6, &s->crit);
	if (!rc) rc = prod_num(c, js, path, "min", -1e6, 1e6, &s->min);
	if (!rc) rc = prod_num(c, js, path, "max", -1e6, 1e6, &s->max);
	if (!rc) rc = prod_num(c, js, path, "stall_rpm", 0, 1e5, &s->stall_rpm);
	if (!rc) rc = prod_num(c, js, path, "hyst", 0, 1e6, &s->hyst);
	if (!rc) rc = prod_num(c, js, path, "debounce_s", 0, 86400, &s->debounce_s);
	if (!rc) rc = prod_num(c, js, path, "fail_after_s", 0, 86400, &s->fail_after_s);
	if (!rc) rc = prod_num(c, js, path, "stuck_s", 0, 7 * 86400, &s->stuck_s);
	if (rc)
		return rc;
	if (!isnan(s->warn) && !isnan(s->crit) && s->warn >= s->crit)
		return prod_fail(c, "%s: warn %g must be below crit %g", path, s->warn, s->crit);
	if (!isnan(s->min) && !isnan(s->max) && s->min >= s->max)
		return prod_fail(c, "%s: min %g must be below max %g", path, s->min, s->max);
	pl = cJSON_GetObjectItemCaseSensitive(js, "plausible");
	if (pl) {
		if (!cJSON_IsArray(pl) || cJSON_GetArraySize(pl) != 2 ||
		    !cJSON_IsNumber(cJSON_GetArrayItem(pl, 0)) ||
		    !cJSON_IsNumber(cJSON_GetArrayItem(pl, 1)))
			return prod_fail(c, "%s.plausible: must be [low, high]", path);
		s->plaus_lo = cJSON_GetArrayItem(pl, 0)->valuedouble;
		s->plaus_hi = cJSON_GetArrayItem(pl, 1)->valuedouble;
		if (!(s->plaus_lo < s->plaus_hi))
			return prod_fail(c, "%s.plausible: low must be below high", path);
	}
	bo = cJSON_GetObjectItemCaseSensitive(js, "brownout");
	if (bo) {
		static const char *const bkeys[] = { "count", "window_s", NULL };
		double count = 0;

		if (strcmp(s->id, "event.undervoltage") != 0)
			return prod_fail(c, "%s.brownout: only for event.undervoltage", path);
		if (!cJSON_IsObject(bo))
			return prod_fail(c, "%s.brownout: must be an object", path);
		rc = prod_check_keys(c, bo, path, bkeys);
		if (!rc) rc = prod_num(c, bo, path, "count", 2, 64, &count);
		if (!rc) rc = prod_num(c, bo, path, "window_s", 1, 86400, &s->brownout_window_s);
		if (rc)
			return rc;
		if (count < 2 || s->brownout_window_s <= 0)
			return prod_fail(c, "%s.brownout: needs count (2..64) and window_s", path);
		s->brownout_count = (unsigned)count;
	}
	return TPD_OK;
}

/* spin_when names another sensor, so it is resolved once all are known. */
static enum tpd_err prod_spin_when(struct prod_ctx *c, const cJSON *js, size_t idx,
				   struct tpd_product *p)
{
	static const char *const keys[] = { "sensor", "above", NULL };
	struct tpd_sensor_desc *s = &p->sensors[idx];
	const cJSON *sw = cJSON_GetObjectItemCaseSensitive(js, "spin_when");
	char path[64], ref[TPD_SENSOR_NAME_MAX] = "";
	enum tpd_err rc;

	if (!sw)
		return TPD_OK;
	snprintf(path, sizeof(path), "sensors[%zu] (%s).spin_when", idx, s->id);
	if (!cJSON_IsObject(sw))
		return prod_fail(c, "%s: must be an object", path);
	rc = prod_check_keys(c, sw, path, keys);
	if (!rc) rc = prod_str(c, sw, path, "sensor", true, ref, sizeof(ref));
	if (!rc) rc = prod_num(c, sw, path, "above", -1e6, 1e6, &s->spin_above);
	if (rc)
		return rc;
	if (isnan(s->spin_above))
		return prod_fail(c, "%s.above: required", path);
	s->spin_sensor = tpd_product_find(p, ref);
	if (s->spin_sensor < 0 || (size_t)s->spin_sensor == idx)
		return prod_fail(c, "%s.sensor: \"%s\" is not another sensor of this product",
				 path, ref);
	return TPD_OK;
}

/* Which sensor kinds each check reads. */
static bool prod_check_fits(enum tpd_sc_check check, const struct tpd_sensor_desc *s)
{
	switch (check) {
	case TPD_SC_RAIL:
		return !isnan(s->min) || !isnan(s->max);
	case TPD_SC_NO_EVENTS:
		return s->kind == TPD_KIND_EVENT;
	case TPD_SC_BELOW_WARN:
		return !isnan(s->warn);
	case TPD_SC_FAN_SPINS:
		return !isnan(s->stall_rpm);
	case TPD_SC_TEMP_FOR_LOAD:
		return s->kind == TPD_KIND_TEMP && !isnan(s->crit);
	case TPD_SC_READABLE:
	case TPD_SC_CLEAN_RESTARTS:
		return true;
	}
	return false;
}

static enum tpd_err prod_step(struct prod_ctx *c, const cJSON *js, size_t idx,
			      struct tpd_product *p)
{
	static const char *const keys[] = { "id", "check", "sensor", "window_s", "count", "fail",
					    "only_if_pass", "hint", NULL };
	static const char *const hkeys[] = { "en", "zh", NULL };
	struct tpd_sc_step *st = &p->steps[idx];
	const cJSON *hint = cJSON_GetObjectItemCaseSensitive(js, "hint");
	char path[48], buf[64] = "";
	double count;
	enum tpd_err rc;

	snprintf(path, sizeof(path), "selfcheck[%zu]", idx);
	if (!cJSON_IsObject(js))
		return prod_fail(c, "%s: must be an object", path);
	rc = prod_check_keys(c, js, path, keys);
	if (!rc) rc = prod_str(c, js, path, "id", true, st->id, sizeof(st->id));
	if (rc)
		return rc;
	for (size_t j = 0; j < idx; j++) {
		if (strcmp(p->steps[j].id, st->id) == 0)
			return prod_fail(c, "%s.id: duplicate \"%s\"", path, st->id);
	}
	rc = prod_str(c, js, path, "check", true, buf, sizeof(buf));
	if (rc)
		return rc;
	if (!tpd_sc_check_parse(buf, &st->check))
		return prod_fail(c, "%s.check: \"%s\" is not rail, no_events, below_warn, fan_spins, "
				 "temp_for_load, clean_restarts "
				 "or readable", path, buf);
	st->sensor = -1;
	buf[0] = '\0';
	rc = prod_str(c, js, path, "sensor",
		      st->check != TPD_SC_READABLE && st->check != TPD_SC_CLEAN_RESTARTS, buf,
		      sizeof(buf));
	if (rc)
		return rc;
	if (buf[0]) {
		st->sensor = tpd_product_find(p, buf);
		if (st->sensor < 0)
			return prod_fail(c, "%s.sensor: \"%s\" is not a sensor of this product", path, buf);
		if (!prod_check_fits(st->check, &p->sensors[st->sensor]))
			return prod_fail(c, "%s: %s needs a sensor with %s", path, tpd_sc_check_name(st->check),
					 st->check == TPD_SC_RAIL ? "min or max" : st->check == TPD_SC_NO_EVENTS
					 ? "kind event" : st->check == TPD_SC_BELOW_WARN ? "warn"
					 : st->check == TPD_SC_TEMP_FOR_LOAD ? "crit" : "stall_rpm");
	}
	st->window_s = st->check == TPD_SC_CLEAN_RESTARTS ? 86400 : 600;
	count = 3;
	rc = prod_num(c, js, path, "window_s", 1, 30 * 86400, &st->window_s);
	if (!rc) rc = prod_num(c, js, path, "count", 1, TPD_SC_MAX_RESTARTS, &count);
	st->count = (unsigned)count;
	buf[0] = '\0';
	if (!rc) rc = prod_str(c, js, path, "fail", true, buf, sizeof(buf));
	if (rc)
		return rc;
	if (strcmp(buf, "user_fixable") == 0)
		st->fail = TPD_SC_USER_FIXABLE;
	else if (strcmp(buf, "needs_service") == 0)
		st->fail = TPD_SC_NEEDS_SERVICE;
	else
		return prod_fail(c, "%s.fail: must be user_fixable or needs_service", path);
	st->only_if_pass = -1;
	buf[0] = '\0';
	rc = prod_str(c, js, path, "only_if_pass", false, buf, sizeof(buf));
	if (rc)
		return rc;
	for (size_t j = 0; buf[0] && j < idx; j++) {
		if (strcmp(p->steps[j].id, buf) == 0)
			st->only_if_pass = (int)j;
	}
	if (buf[0] && st->only_if_pass < 0)
		return prod_fail(c, "%s.only_if_pass: \"%s\" is not an earlier step", path, buf);
	if (!cJSON_IsObject(hint))
		return prod_fail(c, "%s.hint: required, {\"en\": \"...\", \"zh\": \"...\"}", path);
	snprintf(path + strlen(path), sizeof(path) - strlen(path), ".hint");
	rc = prod_check_keys(c, hint, path, hkeys);
	if (!rc) rc = prod_str(c, hint, path, "en", true, st->hint_en, sizeof(st->hint_en));
	if (!rc) rc = prod_str(c, hint, path, "zh", true, st->hint_zh, sizeof(st->hint_zh));
	return rc;
}

static enum tpd_err prod_selfcheck(struct prod_ctx *c, const cJSON *arr, struct tpd_product *p)
{
	const cJSON *it;
	enum tpd_err rc;

	if (!arr)
		return TPD_OK;
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > TPD_SELFCHECK_MAX_STEPS)
		return prod_fail(c, "selfcheck: must be an array of at most %d steps",
				 TPD_SELFCHECK_MAX_STEPS);
	cJSON_ArrayForEach(it, arr) {
		rc = prod_step(c, it, p->nsteps, p);
		if (rc)
			return rc;
		p->nsteps++;
	}
	return TPD_OK;
}

/* "predict": {"horizon_s": 604800, "ambient": "temp.board"}, all optional. */
static enum tpd_err prod_predict(struct prod_ctx *c, const cJSON *js, struct tpd_product *p)
{
	static const char *const keys[] = { "horizon_s", "ambient", NULL };
	char ref[TPD_SENSOR_NAME_MAX] = "";
	enum tpd_err rc;

	p->predict_horizon_s = 7 * 86400.0;
	p->predict_ambient = -1;
	if (!js)
		return TPD_OK;
	if (!cJSON_IsObject(js))
		return prod_fail(c, "predict: must be an object");
	rc = prod_check_keys(c, js, "predict", keys);
	if (!rc) rc = prod_num(c, js, "predict", "horizon_s", 3600, 365 * 86400.0,
			       &p->predict_horizon_s);
	if (!rc) rc = prod_str(c, js, "predict", "ambient", false, ref, sizeof(ref));
	if (rc)
		return rc;
	if (ref[0]) {
		p->predict_ambient = tpd_product_find(p, ref);
		if (p->predict_ambient < 0 || p->sensors[p->predict_ambient].kind != TPD_KIND_TEMP)
			return prod_fail(c, "predict.ambient: \"%s\" is not a temp.* sensor of this "
					 "product", ref);
	}
	return TPD_OK;
}

static enum tpd_err prod_from_json(struct prod_ctx *c, const cJSON *root,
				   struct tpd_product *p)
{
	static const char *const keys[] = {
		"model", "name", "category", "fw", "sample_period_s",
		"telemetry_period_s", "sensors", "selfcheck", "predict", NULL
	};
	const cJSON *sensors, *it;
	size_t i = 0;
	enum tpd_err rc;

	if (!cJSON_IsObject(root))
		return prod_fail(c, "top level must be an object");
	rc = prod_check_keys(c, root, "", keys);
	if (rc)
		return rc;
	memset(p, 0, sizeof(*p));
	p->sample_period_s = 1.0;
	p->telemetry_period_s = 60.0;
	snprintf(p->fw, sizeof(p->fw), "0.0.0");
	rc = prod_str(c, root, "", "model", true, p->model, sizeof(p->model));
	if (!rc) rc = prod_str(c, root, "", "name", false, p->name, sizeof(p->name));
	if (!rc) rc = prod_str(c, root, "", "category", false, p->category, sizeof(p->category));
	if (!rc) rc = prod_str(c, root, "", "fw", false, p->fw, sizeof(p->fw));
	if (!rc) rc = prod_num(c, root, "product", "sample_period_s", 0.01, 3600, &p->sample_period_s);
	if (!rc) rc = prod_num(c, root, "product", "telemetry_period_s", 1, 86400,
			       &p->telemetry_period_s);
	if (rc)
		return rc;
	if (!tpd_id_valid(p->model))
		return prod_fail(c, "model: \"%s\" must be 1-64 of [A-Za-z0-9_-]", p->model);
	if (p->telemetry_period_s < p->sample_period_s)
		return prod_fail(c, "telemetry_period_s must not be shorter than sample_period_s");
	sensors = cJSON_GetObjectItemCaseSensitive(root, "sensors");
	if (!cJSON_IsArray(sensors) || cJSON_GetArraySize(sensors) == 0)
		return prod_fail(c, "sensors: required, a non-empty array");
	if (cJSON_GetArraySize(sensors) > TPD_PRODUCT_MAX_SENSORS)
		return prod_fail(c, "sensors: more than %d", TPD_PRODUCT_MAX_SENSORS);
	cJSON_ArrayForEach(it, sensors) {
		rc = prod_sensor(c, it, i, &p->sensors[i]);
		if (rc)
			return rc;
		if (tpd_product_find(p, p->sensors[i].id) >= 0)
			return prod_fail(c, "sensors[%zu].id: duplicate \"%s\"", i, p->sensors[i].id);
		p->nsensors = ++i;
	}
	i = 0;
	cJSON_ArrayForEach(it, sensors) {
		rc = prod_spin_when(c, it, i++, p);
		if (rc)
			return rc;
	}
	rc = prod_predict(c, cJSON_GetObjectItemCaseSensitive(root, "predict"), p);
	if (rc)
		return rc;
	return prod_selfcheck(c, cJSON_GetObjectItemCaseSensitive(root, "selfcheck"), p);
}

enum tpd_err tpd_product_parse(const char *json, size_t len, const char *name,
			       struct tpd_product *out, char *err, size_t errlen)
{
	struct prod_ctx c = { name ? name : "product", err, errlen };
	struct tpd_product *p;
	cJSON *root;
	enum tpd_err rc;

	if (len > TPD_PRODUCT_MAX_BYTES)
		return prod_fail(&c, "larger than %d bytes", TPD_PRODUCT_MAX_BYTES);
	rc = tpd_json_parse_doc(json, len, c.name, &root, err, errlen);
	if (rc)
		return rc;
	/* Build into a scratch copy so *out changes only on success. */
	p = malloc(sizeof(*p));
	if (!p) {
		cJSON_Delete(root);
		return TPD_ERR_NOMEM;
	}
	rc = prod_from_json(&c, root, p);
	if (!rc)
		*out = *p;
	free(p);
	cJSON_Delete(root);
	return rc;
}

enum tpd_err tpd_product_load(const char *path, struct tpd_product *out,
			      char *err, size_t errlen)
{
	char scratch[8], *text;
	size_t len;
	enum tpd_err rc;

	if (!err || !errlen) {
		err = scratch;
		errlen = sizeof(scratch);
	}
	rc = tpd_json_read_file(path, TPD_PRODUCT_MAX_BYTES, &text, &len, err, errlen);
	if (rc)
		return rc == TPD_ERR_TOOBIG ? TPD_ERR_INVAL : rc;
	rc = tpd_product_parse(text, len, path, out, err, errlen);
	free(text);
	return rc;
}

enum tpd_err tpd_product_resolve(const char *name_or_file, const char *const *dirs,
				 char *path, size_t pathlen)
{
	size_t n = strlen(name_or_file);
	struct stat st;

	if (strchr(name_or_file, '/') || (n > 5 && strcmp(name_or_file + n - 5, ".json") == 0)) {
		if ((size_t)snprintf(path, pathlen, "%s", name_or_file) >= pathlen)
			return TPD_ERR_TOOBIG;
		return stat(path, &st) == 0 ? TPD_OK : TPD_ERR_NOTFOUND;
	}
	if (!tpd_id_valid(name_or_file))
		return TPD_ERR_INVAL;
	for (; dirs && *dirs; dirs++) {
		if ((size_t)snprintf(path, pathlen, "%s/%s.json", *dirs, name_or_file) >= pathlen)
			continue;
		if (stat(path, &st) == 0)
			return TPD_OK;
	}
	return TPD_ERR_NOTFOUND;
}

int tpd_product_find(const struct tpd_product *p, const char *id)
{
	for (size_t i = 0; i < p->nsensors; i++) {
		if (strcmp(p->sensors[i].id, id) == 0)
			return (int)i;
	}
	return -1;
}
