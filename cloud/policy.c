/*
 * policy.c - the warranty policy file and what it decides (see policy.h).
 *
 * Layout: the parsed form, field readers that name the field on failure,
 * loading, the warranty decision, the review deadline.
 */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tpd/jsonfile.h"
#include "tpd/wire.h"
#include "calendar.h"
#include "workcal.h"
#include "policy.h"

#define POLICY_MAX_BYTES (256 * 1024)
#define POLICY_MAX_ITEMS 256
#define POLICY_MAX_MONTHS 120

struct policy_entry {
	char name[65];
	char covers[96];
	int months;
	bool is_default;
	bool codes[TPD_FAULT_CODE_COUNT];   /* parts with their own period */
	char (*models)[TPD_ID_MAX + 1];
	size_t nmodels;
};

/* lock guards the rest against a swap (SIGHUP reload) while the ingest
 * thread and HTTP threads compute warranties. */
struct tpc_policy {
	pthread_mutex_t lock;
	struct policy_entry *entries;
	size_t nentries;
	size_t dflt;                               /* index of the default */
	const char *exclusion[TPD_FAULT_CODE_COUNT]; /* reason, owned; NULL: covered */
	int64_t *holidays;                         /* days, sorted */
	size_t nholidays;
	struct tpc_workcals *calendars;            /* per region, owned; NULL: none */
};

struct policy_ctx {
	const char *name;
	char *err;
	size_t errlen;
};

/* One-line refusal naming the file (c is a struct policy_ctx *). */
#define policy_fail(c, ...) tpd_json_fail((c)->err, (c)->errlen, (c)->name, __VA_ARGS__)

void tpc_policy_free(struct tpc_policy *p)
{
	if (!p)
		return;
	pthread_mutex_destroy(&p->lock);
	for (size_t i = 0; i < p->nentries; i++)
		free(p->entries[i].models);
	for (int i = 0; i < TPD_FAULT_CODE_COUNT; i++)
		free((char *)p->exclusion[i]);
	free(p->entries);
	free(p->holidays);
	tpc_workcals_free(p->calendars);
	free(p);
}

/* An array of at most POLICY_MAX_ITEMS, or absent (NULL). */
static enum tpd_err policy_array(struct policy_ctx *c, const cJSON *obj, const char *path,
				 const char *key, const cJSON **out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	*out = NULL;
	if (!it)
		return TPD_OK;
	if (!cJSON_IsArray(it))
		return policy_fail(c, "%s%s: must be an array", path, key);
	if (cJSON_GetArraySize(it) > POLICY_MAX_ITEMS)
		return policy_fail(c, "%s%s: more than %d items", path, key, POLICY_MAX_ITEMS);
	*out = it;
	return TPD_OK;
}

static enum tpd_err policy_code(struct policy_ctx *c, const cJSON *it, const char *path,
				enum tpd_fault_code *code)
{
	if (!cJSON_IsString(it) || tpd_fault_code_parse(it->valuestring, code))
		return policy_fail(c, "%s: \"%.40s\" is not a fault code (SPEC §3)", path,
				   cJSON_IsString(it) ? it->valuestring : "?");
	return TPD_OK;
}

static enum tpd_err policy_entry_parse(struct policy_ctx *c, const cJSON *js, size_t idx,
				       struct policy_entry *e)
{
	static const char *const keys[] = { "name", "months", "default", "models", "codes",
					    "covers", "comment", NULL };
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(js, "name");
	const cJSON *months = cJSON_GetObjectItemCaseSensitive(js, "months");
	const cJSON *dflt = cJSON_GetObjectItemCaseSensitive(js, "default");
	const cJSON *covers = cJSON_GetObjectItemCaseSensitive(js, "covers");
	const cJSON *models, *codes, *it, *bad;
	char path[48];
	size_t i = 0;
	enum tpd_err rc;

	snprintf(path, sizeof(path), "policies[%zu].", idx);
	if (!cJSON_IsObject(js))
		return policy_fail(c, "policies[%zu]: must be an object", idx);
	bad = tpd_json_unknown_key(js, keys);
	if (bad)
		return policy_fail(c, "%s\"%s\": unknown key", path, bad->string);
	if (!cJSON_IsString(name) || !tpd_id_valid(name->valuestring))
		return policy_fail(c, "%sname: required, 1-64 of [A-Za-z0-9_-]", path);
	snprintf(e->name, sizeof(e->name), "%s", name->valuestring);
	if (!cJSON_IsNumber(months) || months->valuedouble != floor(months->valuedouble) ||
	    months->valuedouble < 1 || months->valuedouble > POLICY_MAX_MONTHS)
		return policy_fail(c, "%smonths: required, a whole number 1..%d", path,
				   POLICY_MAX_MONTHS);
	e->months = (int)months->valuedouble;
	if (dflt && !cJSON_IsBool(dflt))
		return policy_fail(c, "%sdefault: must be true or false", path);
	e->is_default = cJSON_IsTrue(dflt);
	if (covers && (!cJSON_IsString(covers) || strlen(covers->valuestring) >= sizeof(e->covers)))
		return policy_fail(c, "%scovers: must be a string under %zu characters", path,
				   sizeof(e->covers));
	snprintf(e->covers, sizeof(e->covers), "%s", covers ? covers->valuestring : "the product");
	rc = policy_array(c, js, path, "models", &models);
	if (!rc)
		rc = policy_array(c, js, path, "codes", &codes);
	if (rc)
		return rc;
	if (models && cJSON_GetArraySize(models) > 0) {
		e->models = calloc((size_t)cJSON_GetArraySize(models), sizeof(*e->models));
		if (!e->models)
			return TPD_ERR_NOMEM;
	}
	cJSON_ArrayForEach(it, models) {
		if (!cJSON_IsString(it) || !tpd_id_valid(it->valuestring))
			return policy_fail(c, "%smodels[%zu]: must be a model name", path, i);
		snprintf(e->models[e->nmodels++], TPD_ID_MAX + 1, "%s", it->valuestring);
		i++;
	}
	i = 0;
	cJSON_ArrayForEach(it, codes) {
		enum tpd_fault_code code;
		char cpath[64];

		snprintf(cpath, sizeof(cpath), "%scodes[%zu]", path, i++);
		rc = policy_code(c, it, cpath, &code);
		if (rc)
			return rc;
		e->codes[code] = true;
	}
	return TPD_OK;
}

static enum tpd_err policy_exclusions(struct policy_ctx *c, const cJSON *root,
				      struct tpc_policy *p)
{
	static const char *const keys[] = { "code", "reason", NULL };
	const cJSON *arr, *it;
	size_t i = 0;
	enum tpd_err rc = policy_array(c, root, "", "exclusions", &arr);

	cJSON_ArrayForEach(it, arr) {
		const cJSON *reason = cJSON_GetObjectItemCaseSensitive(it, "reason"), *bad;
		enum tpd_fault_code code;
		char path[48];

		if (rc)
			return rc;
		snprintf(path, sizeof(path), "exclusions[%zu]", i);
		if (!cJSON_IsObject(it))
			return policy_fail(c, "%s: must be an object", path);
		bad = tpd_json_unknown_key(it, keys);
		if (bad)
			return policy_fail(c, "%s.\"%s\": unknown key", path, bad->string);
		snprintf(path, sizeof(path), "exclusions[%zu].code", i++);
		rc = policy_code(c, cJSON_GetObjectItemCaseSensitive(it, "code"), path, &code);
		if (rc)
			return rc;
		if (!cJSON_IsString(reason) || !reason->valuestring[0] ||
		    strlen(reason->valuestring) > 200)
			return policy_fail(c, "exclusions[%zu].reason: required, 1-200 characters",
					   i - 1);
		if (p->exclusion[code])
			return policy_fail(c, "exclusions[%zu].code: %s is listed twice", i - 1,
					   tpd_fault_code_name(code));
		p->exclusion[code] = strdup(reason->valuestring);
		if (!p->exclusion[code])
			return TPD_ERR_NOMEM;
	}
	return rc;
}

static enum tpd_err policy_holidays(struct policy_ctx *c, const cJSON *root, struct tpc_policy *p)
{
	const cJSON *arr, *it;
	enum tpd_err rc = policy_array(c, root, "", "holidays", &arr);

	if (rc || !arr || cJSON_GetArraySize(arr) == 0)
		return rc;
	p->holidays = calloc((size_t)cJSON_GetArraySize(arr), sizeof(*p->holidays));
	if (!p->holidays)
		return TPD_ERR_NOMEM;
	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsString(it) || !tpc_date_parse(it->valuestring, &p->holidays[p->nholidays]))
			return policy_fail(c, "holidays[%zu]: \"%.20s\" is not a YYYY-MM-DD date",
					   p->nholidays, cJSON_IsString(it) ? it->valuestring : "?");
		p->nholidays++;
	}
	qsort(p->holidays, p->nholidays, sizeof(*p->holidays), tpc_days_cmp);
	return TPD_OK;
}

static enum tpd_err policy_from_json(struct policy_ctx *c, const cJSON *root, struct tpc_policy *p)
{
	static const char *const keys[] = { "policies", "exclusions", "holidays", "comment", NULL };
	const cJSON *arr, *it, *bad;
	size_t ndefault = 0;
	enum tpd_err rc;

	if (!cJSON_IsObject(root))
		return policy_fail(c, "top level must be an object");
	bad = tpd_json_unknown_key(root, keys);
	if (bad)
		return policy_fail(c, "\"%s\": unknown key", bad->string);
	rc = policy_array(c, root, "", "policies", &arr);
	if (rc)
		return rc;
	if (!arr || cJSON_GetArraySize(arr) == 0)
		return policy_fail(c, "policies: required, a non-empty array");
	p->entries = calloc((size_t)cJSON_GetArraySize(arr), sizeof(*p->entries));
	if (!p->entries)
		return TPD_ERR_NOMEM;
	cJSON_ArrayForEach(it, arr) {
		struct policy_entry *e = &p->entries[p->nentries];

		p->nentries++;   /* counted first so free() sees a half-built entry */
		rc = policy_entry_parse(c, it, p->nentries - 1, e);
		if (rc)
			return rc;
		for (size_t j = 0; j + 1 < p->nentries; j++) {
			if (strcmp(p->entries[j].name, e->name) == 0)
				return policy_fail(c, "policies[%zu].name: \"%s\" is used twice",
						   p->nentries - 1, e->name);
		}
		if (e->is_default) {
			p->dflt = p->nentries - 1;
			ndefault++;
		}
	}
	if (ndefault != 1)
		return policy_fail(c, "policies: exactly one must have \"default\": true (found %zu)",
				   ndefault);
	rc = policy_exclusions(c, root, p);
	if (!rc)
		rc = policy_holidays(c, root, p);
	return rc;
}

enum tpd_err tpc_policy_parse(const char *text, size_t len, const char *name,
			      struct tpc_policy **out, char *err, size_t errlen)
{
	struct policy_ctx c = { name ? name : "policy", err, errlen };
	struct tpc_policy *p;
	cJSON *root;
	enum tpd_err rc;

	*out = NULL;
	if (len > POLICY_MAX_BYTES)
		return policy_fail(&c, "larger than %d bytes", POLICY_MAX_BYTES);
	rc = tpd_json_parse_doc(text, len, c.name, &root, err, errlen);
	if (rc)
		return rc;
	p = calloc(1, sizeof(*p));
	if (p)
		pthread_mutex_init(&p->lock, NULL);
	rc = p ? policy_from_json(&c, root, p) : TPD_ERR_NOMEM;
	cJSON_Delete(root);
	if (rc) {
		tpc_policy_free(p);
		return rc;
	}
	*out = p;
	return TPD_OK;
}

enum tpd_err tpc_policy_load(const char *path, struct tpc_policy **out, char *err, size_t errlen)
{
	char *text;
	size_t len;
	enum tpd_err rc;

	*out = NULL;
	rc = tpd_json_read_file(path, POLICY_MAX_BYTES, &text, &len, err, errlen);
	if (rc)
		return rc;
	rc = tpc_policy_parse(text, len, path, out, err, errlen);
	free(text);
	return rc;
}

enum tpd_err tpc_policy_builtin(struct tpc_policy **out)
{
	static const char text[] =
		"{\"policies\":[{\"name\":\"standard-12m\",\"months\":12,\"default\":true}]}";
	char err[128];

	return tpc_policy_parse(text, sizeof(text) - 1, "built-in policy", out, err, sizeof(err));
}

/* The entry covering a claim (see policy.h for the order). */
static const struct policy_entry *policy_pick(const struct tpc_policy *p, const char *model,
					      const char *first_code)
{
	enum tpd_fault_code code;

	if (first_code && tpd_fault_code_parse(first_code, &code) == TPD_OK) {
		for (size_t i = 0; i < p->nentries; i++) {
			if (p->entries[i].codes[code])
				return &p->entries[i];
		}
	}
	for (size_t i = 0; model && i < p->nentries; i++) {
		for (size_t j = 0; j < p->entries[i].nmodels; j++) {
			if (strcmp(p->entries[i].models[j], model) == 0)
				return &p->entries[i];
		}
	}
	return &p->entries[p->dflt];
}

#define POLICY_SWAP(a, b) do { __typeof__(a) tmp_ = (a); (a) = (b); (b) = tmp_; } while (0)

void tpc_policy_swap(struct tpc_policy *live, struct tpc_policy *fresh)
{
	pthread_mutex_lock(&live->lock);
	POLICY_SWAP(live->entries, fresh->entries);
	POLICY_SWAP(live->nentries, fresh->nentries);
	POLICY_SWAP(live->dflt, fresh->dflt);
	for (int i = 0; i < TPD_FAULT_CODE_COUNT; i++)
		POLICY_SWAP(live->exclusion[i], fresh->exclusion[i]);
	POLICY_SWAP(live->holidays, fresh->holidays);
	POLICY_SWAP(live->nholidays, fresh->nholidays);
	/* the calendars are loaded apart (tpc_policy_set_calendars): a reload
	 * of the policy file keeps them */
	pthread_mutex_unlock(&live->lock);
	tpc_policy_free(fresh);
}

static void policy_warranty(const struct tpc_policy *p, const char *model,
			    const char *const *codes, size_t ncodes, const char *purchase_date,
			    double detected_ts, struct tpc_warranty *out);

/* The lock is the policy's own mutable part: const for callers, as the
 * policy's contents are. */
void tpc_policy_warranty(const struct tpc_policy *p, const char *model,
			 const char *const *codes, size_t ncodes, const char *purchase_date,
			 double detected_ts, struct tpc_warranty *out)
{
	pthread_mutex_lock((pthread_mutex_t *)&p->lock);
	policy_warranty(p, model, codes, ncodes, purchase_date, detected_ts, out);
	pthread_mutex_unlock((pthread_mutex_t *)&p->lock);
}

static void policy_warranty(const struct tpc_policy *p, const char *model,
			    const char *const *codes, size_t ncodes, const char *purchase_date,
			    double detected_ts, struct tpc_warranty *out)
{
	const struct policy_entry *e = policy_pick(p, model, ncodes ? codes[0] : NULL);
	int64_t bought, until, detected;

	memset(out, 0, sizeof(*out));
	snprintf(out->policy, sizeof(out->policy), "%s", e->name);
	snprintf(out->covers, sizeof(out->covers), "%s", e->covers);
	if (!purchase_date || !tpc_date_parse(purchase_date, &bought)) {
		out->status = "unknown";
		return;
	}
	/* As SPEC §6 writes it: bought 2025-06-01 on 24 months -> until
	 * 2027-06-01, a fault detected on that day still covered. */
	until = tpc_date_add_months(bought, e->months);
	tpc_date_format(until, out->until, sizeof(out->until));
	detected = isfinite(detected_ts) ? (int64_t)floor(detected_ts / 86400.0) : bought;
	if (detected > until) {
		out->status = "expired";
		return;
	}
	for (size_t i = 0; i < ncodes; i++) {
		enum tpd_fault_code code;

		if (codes[i] && tpd_fault_code_parse(codes[i], &code) == TPD_OK &&
		    p->exclusion[code]) {
			out->status = "excluded";
			snprintf(out->reason, sizeof(out->reason), "%s: %s", codes[i],
				 p->exclusion[code]);
			return;
		}
	}
	out->status = "in_warranty";
}

void tpc_policy_set_calendars(struct tpc_policy *p, struct tpc_workcals *cals)
{
	struct tpc_workcals *old;

	pthread_mutex_lock(&p->lock);
	old = p->calendars;
	p->calendars = cals;
	pthread_mutex_unlock(&p->lock);
	tpc_workcals_free(old);
}

/* The calendar of region, or NULL (the lock is held). */
static const struct tpc_workcal *policy_calendar(const struct tpc_policy *p, const char *region)
{
	return p->calendars && region && *region ? tpc_workcals_find(p->calendars, region) : NULL;
}

int64_t tpc_policy_review_due(const struct tpc_policy *p, const char *region, double opened_s)
{
	const struct tpc_workcal *cal;
	int64_t due;

	pthread_mutex_lock((pthread_mutex_t *)&p->lock);
	cal = policy_calendar(p, region);
	if (cal)
		due = tpc_workcal_add(cal, (int64_t)floor(opened_s),
				      TPC_REVIEW_WORKING_DAYS * tpc_workcal_day_seconds(cal));
	else
		due = tpc_add_working_days((int64_t)floor(opened_s), TPC_REVIEW_WORKING_DAYS,
					   p->holidays, p->nholidays);
	pthread_mutex_unlock((pthread_mutex_t *)&p->lock);
	return due;
}

int64_t tpc_policy_review_left(const struct tpc_policy *p, const char *region, double now_s,
			       double due_s, bool *working)
{
	const struct tpc_workcal *cal;
	int64_t now = (int64_t)floor(now_s), due = (int64_t)floor(due_s), left;

	pthread_mutex_lock((pthread_mutex_t *)&p->lock);
	cal = policy_calendar(p, region);
	if (!cal)
		left = due - now;
	else if (due >= now)
		left = tpc_workcal_between(cal, now, due);
	else
		left = -tpc_workcal_between(cal, due, now);
	pthread_mutex_unlock((pthread_mutex_t *)&p->lock);
	*working = cal != NULL;
	return left;
}
