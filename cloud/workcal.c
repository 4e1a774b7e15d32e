/*
 * workcal.c - business calendars per region and working-time arithmetic
 * (see workcal.h).
 *
 * File format (one JSON object; unknown keys are refused, as in the
 * warranty policy, since a misspelt "holiday" silently ignored would move
 * every deadline):
 *   region            optional; if present, the file's base name
 *   time_zone         required label for people, 1..47 characters
 *   utc_offset        required standard offset "+HH:MM"/"-HH:MM", <= 14:00
 *   summer_time       optional "EU" (+1 h from the last Sunday of March
 *                     01:00 UTC to the last Sunday of October 01:00 UTC)
 *                     or "none" (the default)
 *   working_hours     required, 1..4 ascending non-overlapping local
 *                     intervals "HH:MM-HH:MM" ("24:00" allowed as an end)
 *   working_weekdays  optional ISO weekdays 1 = Mon .. 7 = Sun (Mon-Fri)
 *   holidays          optional local dates not worked
 *   working_days      optional make-up working days (worked although a
 *                     weekend or holiday weekday would say otherwise)
 *   comment           optional, ignored
 *
 * Arithmetic walks local days, one at a time: a day that is not worked
 * costs a weekday and two bsearches, a worked one converts its (at most 4)
 * intervals to UTC with the offset valid at each boundary, so a summer-time
 * switch inside working hours is counted as the time that really passes.
 * add() and between() share that walk (workcal_day_spans), which is what
 * makes between(t, add(t, w)) == w hold.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tpd/jsonfile.h"
#include "tpd/wire.h"
#include "calendar.h"
#include "workcal.h"

#define WORKCAL_MAX_BYTES (256 * 1024)
#define WORKCAL_MAX_DATES 4096          /* per list: a century of holidays */
#define WORKCAL_MAX_SPANS 4
#define WORKCAL_MAX_FILES 1024          /* calendars in a directory */
#define WORKCAL_TZ_MAX 47
#define WORKCAL_MAX_OFFSET_S (14 * 3600)
#define WORKCAL_DAY_S 86400

/* One working interval, local seconds since midnight; end may be 86400. */
struct workcal_span {
	int start_s;
	int end_s;
};

struct tpc_workcal {
	char region[TPD_ID_MAX + 1];
	char time_zone[WORKCAL_TZ_MAX + 1];
	int std_offset_s;                  /* seconds east of UTC, standard time */
	bool eu_summer;
	struct workcal_span spans[WORKCAL_MAX_SPANS];
	int nspans;
	int64_t day_s;                     /* sum of the spans */
	bool weekdays[7];                  /* 0 = Monday, as tpc_weekday */
	int64_t *holidays;                 /* local days, sorted */
	size_t nholidays;
	int64_t *working_days;             /* local days, sorted */
	size_t nworking_days;
};

struct workcal_ctx {
	const char *label;                 /* names the file in every error */
	char *err;
	size_t errlen;
};

#define workcal_fail(c, ...) tpd_json_fail((c)->err, (c)->errlen, (c)->label, __VA_ARGS__)

/* ---- time helpers ---------------------------------------------------- */

static int64_t workcal_floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* The instants the arithmetic accepts: the dates tpc_date_parse knows, so
 * timegm/gmtime stay in range and no sum overflows. */
static int64_t workcal_min_s(void)
{
	return tpc_days_from_civil(1900, 1, 1) * WORKCAL_DAY_S;
}

static int64_t workcal_max_s(void)
{
	return tpc_days_from_civil(10000, 1, 1) * WORKCAL_DAY_S - 1;
}

static int64_t workcal_clamp(int64_t t_s)
{
	int64_t lo = workcal_min_s(), hi = workcal_max_s();

	return t_s < lo ? lo : t_s > hi ? hi : t_s;
}

/* The EU summer-time window of year y, [on, off) in UTC. */
struct workcal_summer {
	int64_t on_s;
	int64_t off_s;
};

static int64_t workcal_last_sunday(int y, int m)
{
	int64_t last = tpc_days_from_civil(y, m + 1, 0);   /* day 0 = last of m */

	return last - (tpc_weekday(last) + 1) % 7;          /* Sunday is 6 */
}

static struct workcal_summer workcal_summer_of(int64_t days)
{
	struct workcal_summer w;
	int y, m, d;

	tpc_civil_from_days(days, &y, &m, &d);
	w.on_s = workcal_last_sunday(y, 3) * WORKCAL_DAY_S + 3600;
	w.off_s = workcal_last_sunday(y, 10) * WORKCAL_DAY_S + 3600;
	return w;
}

/* Offset at u given the summer window of u's year (or of a day within a
 * few days of it: near the new year both answers are standard time). */
static int workcal_offset_in(const struct tpc_workcal *c, const struct workcal_summer *w,
			     int64_t u_s)
{
	if (c->eu_summer && u_s >= w->on_s && u_s < w->off_s)
		return c->std_offset_s + 3600;
	return c->std_offset_s;
}

/*
 * Local instant (seconds since 1970-01-01 local) to UTC, monotonic so that
 * ascending local boundaries stay ascending: a local time that happens
 * twice (October) is its first occurrence, one that does not exist (the
 * March hour skipped) is the switch itself.
 */
static int64_t workcal_local_to_utc(const struct tpc_workcal *c, const struct workcal_summer *w,
				    int64_t local_s)
{
	int64_t u_std = local_s - c->std_offset_s, u_sum = u_std - 3600;

	if (!c->eu_summer)
		return u_std;
	if (workcal_offset_in(c, w, u_sum) == c->std_offset_s + 3600)
		return u_sum;
	if (workcal_offset_in(c, w, u_std) == c->std_offset_s)
		return u_std;
	return w->on_s;
}

/* A UTC interval of working time. */
struct workcal_iv {
	int64_t from_s;
	int64_t to_s;
};

/* The working intervals of local day d in UTC, ascending; 0 when d is not
 * worked. Shared by add() and between() so that both see the same time. */
static int workcal_day_spans(const struct tpc_workcal *c, int64_t d,
			     struct workcal_iv out[WORKCAL_MAX_SPANS])
{
	int64_t midnight = d * WORKCAL_DAY_S;   /* local */
	struct workcal_summer w;

	if (!tpc_workcal_is_working_day(c, d))
		return 0;
	w = workcal_summer_of(d);
	for (int i = 0; i < c->nspans; i++) {
		out[i].from_s = workcal_local_to_utc(c, &w, midnight + c->spans[i].start_s);
		out[i].to_s = workcal_local_to_utc(c, &w, midnight + c->spans[i].end_s);
	}
	return c->nspans;
}

/* The local day t falls on. */
static int64_t workcal_local_day(const struct tpc_workcal *c, int64_t t_s)
{
	return workcal_floor_div(t_s + tpc_workcal_utc_offset(c, t_s), WORKCAL_DAY_S);
}

/* ---- queries --------------------------------------------------------- */

const char *tpc_workcal_region(const struct tpc_workcal *c)
{
	return c->region;
}

const char *tpc_workcal_time_zone(const struct tpc_workcal *c)
{
	return c->time_zone;
}

int64_t tpc_workcal_day_seconds(const struct tpc_workcal *c)
{
	return c->day_s;
}

int tpc_workcal_utc_offset(const struct tpc_workcal *c, int64_t t_s)
{
	struct workcal_summer w;

	if (!c->eu_summer)
		return c->std_offset_s;
	t_s = workcal_clamp(t_s);
	w = workcal_summer_of(workcal_floor_div(t_s, WORKCAL_DAY_S));
	return workcal_offset_in(c, &w, t_s);
}

/* 0 = Monday, as tpc_weekday, but by arithmetic: any day number works
 * (1970-01-01 was a Thursday), where gmtime_r has a range. */
static int workcal_weekday(int64_t days)
{
	int64_t r = (days + 3) % 7;

	return (int)(r < 0 ? r + 7 : r);
}

static bool workcal_in(const int64_t *days, size_t n, int64_t d)
{
	return n && bsearch(&d, days, n, sizeof(*days), tpc_days_cmp);
}

bool tpc_workcal_is_working_day(const struct tpc_workcal *c, int64_t local_days)
{
	if (workcal_in(c->working_days, c->nworking_days, local_days))
		return true;
	if (workcal_in(c->holidays, c->nholidays, local_days))
		return false;
	return c->weekdays[workcal_weekday(local_days)];
}

int64_t tpc_workcal_add(const struct tpc_workcal *c, int64_t t_s, int64_t work_s)
{
	int64_t last_day = workcal_floor_div(workcal_max_s(), WORKCAL_DAY_S);
	int64_t d, idle = 0;

	t_s = workcal_clamp(t_s);
	if (work_s < 0)
		work_s = 0;
	/* more working time than there is time left: no need to walk there */
	if (work_s > workcal_max_s() - t_s)
		return INT64_MAX;
	/* the day before too: with offsets changing overnight, yesterday's
	 * last interval may still be running */
	for (d = workcal_local_day(c, t_s) - 1; d <= last_day; d++) {
		struct workcal_iv iv[WORKCAL_MAX_SPANS];
		int n = workcal_day_spans(c, d, iv);

		if (n == 0) {
			if (++idle >= TPC_WORKCAL_MAX_IDLE_DAYS)
				return INT64_MAX;
			continue;
		}
		idle = 0;
		for (int i = 0; i < n; i++) {
			int64_t from = iv[i].from_s > t_s ? iv[i].from_s : t_s;

			if (iv[i].to_s <= from)
				continue;       /* over before t, or empty (March gap) */
			if (work_s == 0)
				return from;
			if (iv[i].to_s - from >= work_s)
				return from + work_s;
			work_s -= iv[i].to_s - from;
		}
	}
	return INT64_MAX;
}

int64_t tpc_workcal_between(const struct tpc_workcal *c, int64_t from_s, int64_t to_s)
{
	int64_t sum = 0, last;

	from_s = workcal_clamp(from_s);
	to_s = workcal_clamp(to_s);
	if (to_s <= from_s)
		return 0;
	last = workcal_local_day(c, to_s) + 1;
	for (int64_t d = workcal_local_day(c, from_s) - 1; d <= last; d++) {
		struct workcal_iv iv[WORKCAL_MAX_SPANS];
		int n = workcal_day_spans(c, d, iv);

		for (int i = 0; i < n; i++) {
			int64_t a = iv[i].from_s > from_s ? iv[i].from_s : from_s;
			int64_t b = iv[i].to_s < to_s ? iv[i].to_s : to_s;

			if (b > a)
				sum += b - a;
		}
	}
	return sum;
}

/* ---- parsing --------------------------------------------------------- */

void tpc_workcal_free(struct tpc_workcal *c)
{
	if (!c)
		return;
	free(c->holidays);
	free(c->working_days);
	free(c);
}

static bool workcal_digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/* "HH:MM" as seconds since midnight; "24:00" only when end is set. */
static bool workcal_hhmm(const char *s, bool end, int *sec)
{
	int h, m;

	if (!workcal_digits(s, 2, &h) || s[2] != ':' || !workcal_digits(s + 3, 2, &m) || m > 59)
		return false;
	if (h > 23 && !(end && h == 24 && m == 0))
		return false;
	*sec = h * 3600 + m * 60;
	return true;
}

static enum tpd_err workcal_offset_parse(struct workcal_ctx *x, const cJSON *it,
					 struct tpc_workcal *c)
{
	const char *s = cJSON_IsString(it) ? it->valuestring : NULL;
	int off;

	if (!s || strlen(s) != 6 || (s[0] != '+' && s[0] != '-') ||
	    !workcal_hhmm(s + 1, false, &off))
		return workcal_fail(x, "utc_offset: required, \"+HH:MM\" or \"-HH:MM\"");
	if (off > WORKCAL_MAX_OFFSET_S)
		return workcal_fail(x, "utc_offset: \"%s\" is beyond 14:00", s);
	c->std_offset_s = s[0] == '-' ? -off : off;
	return TPD_OK;
}

static enum tpd_err workcal_hours_parse(struct workcal_ctx *x, const cJSON *arr,
					struct tpc_workcal *c)
{
	const cJSON *it;

	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) < 1 ||
	    cJSON_GetArraySize(arr) > WORKCAL_MAX_SPANS)
		return workcal_fail(x, "working_hours: required, an array of 1 to %d intervals",
				    WORKCAL_MAX_SPANS);
	cJSON_ArrayForEach(it, arr) {
		struct workcal_span *sp = &c->spans[c->nspans];
		const char *s = cJSON_IsString(it) ? it->valuestring : NULL;
		int i = c->nspans;

		if (!s || strlen(s) != 11 || s[5] != '-' || !workcal_hhmm(s, false, &sp->start_s) ||
		    !workcal_hhmm(s + 6, true, &sp->end_s))
			return workcal_fail(x, "working_hours[%d]: \"%.20s\" is not "
					    "\"HH:MM-HH:MM\"", i, s ? s : "?");
		if (sp->end_s < sp->start_s)
			return workcal_fail(x, "working_hours[%d]: \"%s\" ends before it starts",
					    i, s);
		if (sp->end_s == sp->start_s)
			return workcal_fail(x, "working_hours[%d]: \"%s\" is empty", i, s);
		if (i > 0 && sp->start_s < c->spans[i - 1].end_s)
			return workcal_fail(x, "working_hours[%d]: \"%s\" starts before "
					    "working_hours[%d] ends", i, s, i - 1);
		c->day_s += sp->end_s - sp->start_s;
		c->nspans++;
	}
	return TPD_OK;
}

static enum tpd_err workcal_weekdays_parse(struct workcal_ctx *x, const cJSON *arr,
					   struct tpc_workcal *c)
{
	const cJSON *it;
	int i = 0;

	if (!arr) {
		for (int d = 0; d < 5; d++)
			c->weekdays[d] = true;
		return TPD_OK;
	}
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > 7)
		return workcal_fail(x, "working_weekdays: must be an array of at most 7 weekdays");
	cJSON_ArrayForEach(it, arr) {
		double v = cJSON_IsNumber(it) ? it->valuedouble : 0;
		int wd = v >= 1 && v <= 7 ? (int)v : 0;   /* range first: a cast of 1e300 is UB */

		if (wd == 0 || v != (double)wd)
			return workcal_fail(x, "working_weekdays[%d]: must be 1 (Monday) to "
					    "7 (Sunday)", i);
		if (c->weekdays[wd - 1])
			return workcal_fail(x, "working_weekdays[%d]: %d is listed twice", i, wd);
		c->weekdays[wd - 1] = true;
		i++;
	}
	return TPD_OK;
}

/* An optional array of dates, sorted, no date twice. *out is c's. */
static enum tpd_err workcal_dates_parse(struct workcal_ctx *x, const cJSON *root, const char *key,
					int64_t **out, size_t *n)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, key), *it;
	char buf[16];

	if (!arr)
		return TPD_OK;
	if (!cJSON_IsArray(arr))
		return workcal_fail(x, "%s: must be an array of \"YYYY-MM-DD\" dates", key);
	if (cJSON_GetArraySize(arr) > WORKCAL_MAX_DATES)
		return workcal_fail(x, "%s: more than %d dates", key, WORKCAL_MAX_DATES);
	if (cJSON_GetArraySize(arr) == 0)
		return TPD_OK;
	*out = calloc((size_t)cJSON_GetArraySize(arr), sizeof(**out));
	if (!*out)
		return TPD_ERR_NOMEM;
	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsString(it) || !tpc_date_parse(it->valuestring, &(*out)[*n]))
			return workcal_fail(x, "%s[%zu]: \"%.20s\" is not a YYYY-MM-DD date",
					    key, *n, cJSON_IsString(it) ? it->valuestring : "?");
		(*n)++;
	}
	qsort(*out, *n, sizeof(**out), tpc_days_cmp);
	for (size_t i = 1; i < *n; i++) {
		if ((*out)[i] == (*out)[i - 1]) {
			tpc_date_format((*out)[i], buf, sizeof(buf));
			return workcal_fail(x, "%s: \"%s\" is listed twice", key, buf);
		}
	}
	return TPD_OK;
}

static enum tpd_err workcal_from_json(struct workcal_ctx *x, const cJSON *root,
				      struct tpc_workcal *c)
{
	static const char *const keys[] = { "region", "time_zone", "utc_offset", "summer_time",
					    "working_hours", "working_weekdays", "holidays",
					    "working_days", "comment", NULL };
	const cJSON *region = cJSON_GetObjectItemCaseSensitive(root, "region");
	const cJSON *tz = cJSON_GetObjectItemCaseSensitive(root, "time_zone");
	const cJSON *summer = cJSON_GetObjectItemCaseSensitive(root, "summer_time");
	const cJSON *weekdays = cJSON_GetObjectItemCaseSensitive(root, "working_weekdays");
	const cJSON *bad;
	char buf[16];
	enum tpd_err rc;

	if (!cJSON_IsObject(root))
		return workcal_fail(x, "top level must be an object");
	bad = tpd_json_unknown_key(root, keys);
	if (bad)
		return workcal_fail(x, "\"%.40s\": unknown key", bad->string);
	if (region && (!cJSON_IsString(region) || strcmp(region->valuestring, c->region) != 0))
		return workcal_fail(x, "region: \"%.40s\" is not the file's name \"%s\"",
				    cJSON_IsString(region) ? region->valuestring : "?", c->region);
	if (!cJSON_IsString(tz) || !tz->valuestring[0] || strlen(tz->valuestring) > WORKCAL_TZ_MAX)
		return workcal_fail(x, "time_zone: required, a string of 1 to %d characters",
				    WORKCAL_TZ_MAX);
	snprintf(c->time_zone, sizeof(c->time_zone), "%s", tz->valuestring);
	rc = workcal_offset_parse(x, cJSON_GetObjectItemCaseSensitive(root, "utc_offset"), c);
	if (rc)
		return rc;
	if (summer && (!cJSON_IsString(summer) || (strcmp(summer->valuestring, "EU") != 0 &&
						   strcmp(summer->valuestring, "none") != 0)))
		return workcal_fail(x, "summer_time: must be \"EU\" or \"none\"");
	c->eu_summer = summer && strcmp(summer->valuestring, "EU") == 0;
	rc = workcal_hours_parse(x, cJSON_GetObjectItemCaseSensitive(root, "working_hours"), c);
	if (!rc)
		rc = workcal_weekdays_parse(x, weekdays, c);
	if (!rc)
		rc = workcal_dates_parse(x, root, "holidays", &c->holidays, &c->nholidays);
	if (!rc)
		rc = workcal_dates_parse(x, root, "working_days", &c->working_days,
					 &c->nworking_days);
	if (rc)
		return rc;
	/* both would leave the day's meaning to the order of the lookups */
	for (size_t i = 0; i < c->nworking_days; i++) {
		if (workcal_in(c->holidays, c->nholidays, c->working_days[i])) {
			tpc_date_format(c->working_days[i], buf, sizeof(buf));
			return workcal_fail(x, "working_days: \"%s\" is also in holidays", buf);
		}
	}
	return TPD_OK;
}

/* parse with errors labelled separately from the region (load: the path). */
static struct tpc_workcal *workcal_parse_as(const char *name, const char *label, const char *text,
					    size_t len, char *err, size_t errlen)
{
	struct workcal_ctx x = { label, err, errlen };
	struct tpc_workcal *c;
	cJSON *root;
	enum tpd_err rc;

	if (!name || !tpd_id_valid(name)) {
		workcal_fail(&x, "region name \"%.40s\" is not 1-64 of [A-Za-z0-9_-]",
			     name ? name : "");
		return NULL;
	}
	if (len > WORKCAL_MAX_BYTES) {
		workcal_fail(&x, "larger than %d bytes", WORKCAL_MAX_BYTES);
		return NULL;
	}
	if (tpd_json_parse_doc(text, len, label, &root, err, errlen))
		return NULL;
	c = calloc(1, sizeof(*c));
	if (c) {
		snprintf(c->region, sizeof(c->region), "%s", name);
		rc = workcal_from_json(&x, root, c);
	} else {
		rc = TPD_ERR_NOMEM;
	}
	cJSON_Delete(root);
	if (rc == TPD_ERR_NOMEM)
		workcal_fail(&x, "out of memory");
	if (rc) {
		tpc_workcal_free(c);
		return NULL;
	}
	return c;
}

struct tpc_workcal *tpc_workcal_parse(const char *name, const char *text, size_t len,
				      char *err, size_t errlen)
{
	return workcal_parse_as(name, name ? name : "calendar", text, len, err, errlen);
}

struct tpc_workcal *tpc_workcal_load(const char *path, char *err, size_t errlen)
{
	struct workcal_ctx x = { path, err, errlen };
	const char *base = strrchr(path, '/');
	char name[TPD_ID_MAX + 1];
	struct tpc_workcal *c;
	size_t n, len;
	char *text;

	base = base ? base + 1 : path;
	n = strlen(base);
	if (n <= 5 || strcmp(base + n - 5, ".json") != 0 || n - 5 > TPD_ID_MAX) {
		workcal_fail(&x, "not a REGION.json file name");
		return NULL;
	}
	memcpy(name, base, n - 5);
	name[n - 5] = '\0';
	if (tpd_json_read_file(path, WORKCAL_MAX_BYTES, &text, &len, err, errlen))
		return NULL;
	c = workcal_parse_as(name, path, text, len, err, errlen);
	free(text);
	return c;
}

/* ---- a directory of calendars ---------------------------------------- */

struct tpc_workcals {
	struct tpc_workcal **cals;         /* sorted by region */
	size_t n;
};

void tpc_workcals_free(struct tpc_workcals *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		tpc_workcal_free(s->cals[i]);
	free(s->cals);
	free(s);
}

static int workcal_name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int workcal_region_cmp(const void *a, const void *b)
{
	const struct tpc_workcal *x = *(const struct tpc_workcal *const *)a;
	const struct tpc_workcal *y = *(const struct tpc_workcal *const *)b;

	return strcmp(x->region, y->region);
}

struct tpc_workcals *tpc_workcals_load_dir(const char *dir, char *err, size_t errlen)
{
	struct workcal_ctx x = { dir, err, errlen };
	struct tpc_workcals *s = NULL;
	char **names = NULL;
	size_t nnames = 0;
	struct dirent *de;
	DIR *dp = opendir(dir);

	if (!dp) {
		workcal_fail(&x, "%s", strerror(errno));
		return NULL;
	}
	names = calloc(WORKCAL_MAX_FILES, sizeof(*names));
	s = calloc(1, sizeof(*s));
	if (!names || !s)
		goto nomem;
	while ((de = readdir(dp))) {
		size_t n = strlen(de->d_name);

		if (de->d_name[0] == '.' || n <= 5 || strcmp(de->d_name + n - 5, ".json") != 0)
			continue;
		if (nnames == WORKCAL_MAX_FILES) {
			workcal_fail(&x, "more than %d calendars", WORKCAL_MAX_FILES);
			goto fail;
		}
		names[nnames] = strdup(de->d_name);
		if (!names[nnames])
			goto nomem;
		nnames++;
	}
	/* file order, so the first bad file reported is the same every run */
	qsort(names, nnames, sizeof(*names), workcal_name_cmp);
	s->cals = calloc(nnames ? nnames : 1, sizeof(*s->cals));
	if (!s->cals)
		goto nomem;
	for (size_t i = 0; i < nnames; i++) {
		char path[4096];

		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= (int)sizeof(path)) {
			workcal_fail(&x, "%s: path too long", names[i]);
			goto fail;
		}
		s->cals[s->n] = tpc_workcal_load(path, err, errlen);
		if (!s->cals[s->n])
			goto fail;
		s->n++;
	}
	qsort(s->cals, s->n, sizeof(*s->cals), workcal_region_cmp);
	goto out;
nomem:
	workcal_fail(&x, "out of memory");
fail:
	tpc_workcals_free(s);
	s = NULL;
out:
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	closedir(dp);
	return s;
}

const struct tpc_workcal *tpc_workcals_find(const struct tpc_workcals *s, const char *region)
{
	struct tpc_workcal key, *kp = &key, **hit;

	if (!region || strlen(region) > TPD_ID_MAX || s->n == 0)
		return NULL;
	snprintf(key.region, sizeof(key.region), "%s", region);
	hit = bsearch(&kp, s->cals, s->n, sizeof(*s->cals), workcal_region_cmp);
	return hit ? *hit : NULL;
}

size_t tpc_workcals_count(const struct tpc_workcals *s)
{
	return s->n;
}

const struct tpc_workcal *tpc_workcals_at(const struct tpc_workcals *s, size_t i)
{
	return i < s->n ? s->cals[i] : NULL;
}
