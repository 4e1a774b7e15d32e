/* test_workcal.c - business calendars per region: review deadlines in working
 * time (CN with a lunch break, holidays and make-up weekend days; DE across
 * the EU summer-time switches), between() as add()'s inverse, every refusal
 * of the parser, and the shipped cloud/calendars/ files. */
#include "testutil.h"
#include "calendar.h"
#include "workcal.h"

#define H 3600
#define CN_DAY (3 * H + 4 * H + 30 * 60)   /* 09:00-12:00, 13:30-18:00 */

static const char cn_json[] =
	"{\"region\":\"CN\",\"time_zone\":\"Asia/Shanghai\",\"utc_offset\":\"+08:00\",\n"
	" \"working_hours\":[\"09:00-12:00\",\"13:30-18:00\"],\n"
	" \"holidays\":[\"2026-10-01\",\"2026-10-02\",\"2026-10-05\",\"2026-10-06\",\n"
	"  \"2026-10-07\",\"2025-02-03\",\"2025-02-04\"],\n"
	" \"working_days\":[\"2025-02-08\",\"2025-01-26\"]}";

static const char de_json[] =
	"{\"time_zone\":\"Europe/Berlin\",\"utc_offset\":\"+01:00\",\"summer_time\":\"EU\",\n"
	" \"working_hours\":[\"09:00-17:00\"],\"holidays\":[\"2026-04-03\",\"2026-04-06\"]}";

/* Every Sunday worked round the clock: the switch days are 23 and 25 h. */
static const char sun_json[] =
	"{\"time_zone\":\"Europe/Berlin\",\"utc_offset\":\"+01:00\",\"summer_time\":\"EU\",\n"
	" \"working_hours\":[\"00:00-24:00\"],\"working_weekdays\":[7]}";

/* Working hours across the October switch (03:00 CEST -> 02:00 CET). */
static const char night_json[] =
	"{\"time_zone\":\"x\",\"utc_offset\":\"+01:00\",\"summer_time\":\"EU\",\n"
	" \"working_hours\":[\"01:30-02:30\",\"02:45-04:00\",\"23:00-24:00\"],"
	"\"working_weekdays\":[1,3,6,7]}";

struct cals {
	struct tpc_workcal *cn, *de, *sun, *night;
};

static struct tpc_workcal *cal(const char *name, const char *json)
{
	char err[256] = "";
	struct tpc_workcal *c = tpc_workcal_parse(name, json, strlen(json), err, sizeof(err));

	if (!c)
		fail_msg("%s: %s", name, err);
	return c;
}

static int setup(void **state)
{
	static struct cals cs;

	cs.cn = cal("CN", cn_json);
	cs.de = cal("DE", de_json);
	cs.sun = cal("SUN", sun_json);
	cs.night = cal("NIGHT", night_json);
	*state = &cs;
	return 0;
}

static int teardown(void **state)
{
	struct cals *cs = *state;

	tpc_workcal_free(cs->cn);
	tpc_workcal_free(cs->de);
	tpc_workcal_free(cs->sun);
	tpc_workcal_free(cs->night);
	return 0;
}

static int64_t day(const char *s)
{
	int64_t d;

	if (!tpc_date_parse(s, &d))
		fail_msg("bad test date %s", s);
	return d;
}

/* UTC seconds of local date s, hh:mm, at a fixed offset (hours east). */
static int64_t at(const char *s, int hh, int mm, int off_h)
{
	return day(s) * 86400 + hh * H + mm * 60 - off_h * H;
}

static void test_cn_deadlines(void **state)
{
	struct cals *cs = *state;
	const struct tpc_workcal *cn = cs->cn;

	assert_string_equal(tpc_workcal_region(cn), "CN");
	assert_string_equal(tpc_workcal_time_zone(cn), "Asia/Shanghai");
	assert_int_equal(tpc_workcal_day_seconds(cn), CN_DAY);
	assert_int_equal(tpc_workcal_utc_offset(cn, at("2026-07-01", 0, 0, 0)), 8 * H);
	/* Monday 10:00 + 2 working days -> Wednesday 10:00 */
	assert_int_equal(tpc_workcal_add(cn, at("2026-11-30", 10, 0, 8), 2 * CN_DAY),
			 at("2026-12-02", 10, 0, 8));
	/* opened on Saturday: counted from Monday 09:00, due Tuesday at close */
	assert_int_equal(tpc_workcal_add(cn, at("2026-12-05", 11, 0, 8), 0),
			 at("2026-12-07", 9, 0, 8));
	assert_int_equal(tpc_workcal_add(cn, at("2026-12-05", 11, 0, 8), 2 * CN_DAY),
			 at("2026-12-08", 18, 0, 8));
	assert_int_equal(tpc_workcal_between(cn, at("2026-12-05", 11, 0, 8),
					     at("2026-12-07", 9, 0, 8)), 0);
	/* Friday 17:00, one hour left that day: 1 h + Monday 7.5 h + 6.5 h */
	assert_int_equal(tpc_workcal_between(cn, at("2026-12-04", 17, 0, 8),
					     at("2026-12-05", 0, 0, 8)), H);
	assert_int_equal(tpc_workcal_add(cn, at("2026-12-04", 17, 0, 8), 2 * CN_DAY),
			 at("2026-12-08", 17, 0, 8));
	/* inside working time, 0 is now; at 18:00 sharp it is the next morning */
	assert_int_equal(tpc_workcal_add(cn, at("2026-12-01", 15, 0, 8), 0),
			 at("2026-12-01", 15, 0, 8));
	assert_int_equal(tpc_workcal_add(cn, at("2026-12-01", 18, 0, 8), 0),
			 at("2026-12-02", 9, 0, 8));
	/* negative amounts are 0 */
	assert_int_equal(tpc_workcal_add(cn, at("2026-12-01", 15, 0, 8), -5),
			 at("2026-12-01", 15, 0, 8));
}

static void test_cn_lunch_break(void **state)
{
	struct cals *cs = *state;

	/* 11:00 + 2 h: one hour before lunch, one after 13:30 */
	assert_int_equal(tpc_workcal_add(cs->cn, at("2026-12-01", 11, 0, 8), 2 * H),
			 at("2026-12-01", 14, 30, 8));
	/* ending at 12:00 sharp stays 12:00, not 13:30 */
	assert_int_equal(tpc_workcal_add(cs->cn, at("2026-12-01", 11, 0, 8), H),
			 at("2026-12-01", 12, 0, 8));
	/* opened during lunch: from 13:30 */
	assert_int_equal(tpc_workcal_add(cs->cn, at("2026-12-01", 12, 15, 8), 30 * 60),
			 at("2026-12-01", 14, 0, 8));
	assert_int_equal(tpc_workcal_between(cs->cn, at("2026-12-01", 12, 0, 8),
					     at("2026-12-01", 13, 30, 8)), 0);
	assert_int_equal(tpc_workcal_between(cs->cn, at("2026-12-01", 0, 0, 8),
					     at("2026-12-02", 0, 0, 8)), CN_DAY);
}

static void test_cn_holidays_and_makeup_days(void **state)
{
	struct cals *cs = *state;
	const struct tpc_workcal *cn = cs->cn;

	/* Wednesday 2026-09-30 10:00: 6.5 h, National Day off, Thursday
	 * 2026-10-08 7.5 h, Friday 09:00-10:00 */
	assert_int_equal(tpc_workcal_add(cn, at("2026-09-30", 10, 0, 8), 2 * CN_DAY),
			 at("2026-10-09", 10, 0, 8));
	assert_false(tpc_workcal_is_working_day(cn, day("2026-10-01")));
	assert_false(tpc_workcal_is_working_day(cn, day("2026-10-03")));   /* a Saturday */
	assert_true(tpc_workcal_is_working_day(cn, day("2026-10-08")));
	/* make-up Sunday 2025-01-26 and Saturday 2025-02-08 are worked */
	assert_true(tpc_workcal_is_working_day(cn, day("2025-01-26")));
	assert_true(tpc_workcal_is_working_day(cn, day("2025-02-08")));
	assert_false(tpc_workcal_is_working_day(cn, day("2025-02-09")));
	/* Friday 2025-02-07 10:00 + one working day: 6.5 h that day, then
	 * Saturday 2025-02-08 09:00-10:00 */
	assert_int_equal(tpc_workcal_add(cn, at("2025-02-07", 10, 0, 8), CN_DAY),
			 at("2025-02-08", 10, 0, 8));
	/* opened Saturday 2025-01-25: worked from Sunday 09:00 */
	assert_int_equal(tpc_workcal_add(cn, at("2025-01-25", 12, 0, 8), 0),
			 at("2025-01-26", 9, 0, 8));
	/* Monday 2025-02-03 and Tuesday 02-04 are holidays: Friday 01-31 ->
	 * Wednesday 02-05 */
	assert_int_equal(tpc_workcal_add(cn, at("2025-01-31", 18, 0, 8), 1),
			 at("2025-02-05", 9, 0, 8) + 1);
}

static void test_de_summer_time(void **state)
{
	struct cals *cs = *state;
	const struct tpc_workcal *de = cs->de;
	int64_t day_s = tpc_workcal_day_seconds(de);

	assert_int_equal(day_s, 8 * H);
	/* the switch: Sunday 2026-03-29 01:00 UTC */
	assert_int_equal(tpc_workcal_utc_offset(de, at("2026-03-29", 0, 59, 0) + 59), H);
	assert_int_equal(tpc_workcal_utc_offset(de, at("2026-03-29", 1, 0, 0)), 2 * H);
	assert_int_equal(tpc_workcal_utc_offset(de, at("2026-10-25", 0, 59, 0)), 2 * H);
	assert_int_equal(tpc_workcal_utc_offset(de, at("2026-10-25", 1, 0, 0)), H);
	assert_int_equal(tpc_workcal_utc_offset(de, at("2026-01-15", 12, 0, 0)), H);
	/* a week before: Friday 16:00 CET -> Tuesday 16:00 CET = 15:00 UTC */
	assert_int_equal(tpc_workcal_add(de, at("2026-03-20", 16, 0, 1), 2 * day_s),
			 at("2026-03-24", 15, 0, 0));
	/* Friday 2026-03-27 16:00 CET: 1 h, Monday 8 h, Tuesday 09:00-16:00
	 * CEST -> 14:00 UTC, an hour earlier in UTC */
	assert_int_equal(tpc_workcal_add(de, at("2026-03-27", 16, 0, 1), 2 * day_s),
			 at("2026-03-31", 14, 0, 0));
	assert_int_equal(tpc_workcal_between(de, at("2026-03-27", 16, 0, 1),
					     at("2026-03-31", 14, 0, 0)), 2 * day_s);
	/* and back in October: Friday 2026-10-23 16:00 CEST -> Tuesday 16:00
	 * CET = 15:00 UTC */
	assert_int_equal(tpc_workcal_add(de, at("2026-10-23", 16, 0, 2), 2 * day_s),
			 at("2026-10-27", 15, 0, 0));
	/* Good Friday and Easter Monday 2026 skipped: Thursday 04-02 after
	 * hours -> Tuesday 04-07 */
	assert_int_equal(tpc_workcal_add(de, at("2026-04-02", 17, 0, 2), 1),
			 at("2026-04-07", 9, 0, 2) + 1);
}

static void test_switch_days_elapsed_time(void **state)
{
	struct cals *cs = *state;

	/* Sunday local 00:00 to Monday 00:00: 23 h in March, 25 h in October */
	assert_int_equal(tpc_workcal_between(cs->sun, at("2026-03-28", 0, 0, 0),
					     at("2026-03-31", 0, 0, 0)), 23 * H);
	assert_int_equal(tpc_workcal_between(cs->sun, at("2026-10-24", 0, 0, 0),
					     at("2026-10-27", 0, 0, 0)), 25 * H);
	assert_int_equal(tpc_workcal_between(cs->sun, at("2026-07-04", 0, 0, 0),
					     at("2026-07-07", 0, 0, 0)), 24 * H);
	/* Saturday 2026-03-28 12:00 CET: the Sunday starts 23:00 UTC Saturday,
	 * 23 h of work end at Monday 00:00 CEST = 22:00 UTC Sunday */
	assert_int_equal(tpc_workcal_add(cs->sun, at("2026-03-28", 12, 0, 1), 0),
			 at("2026-03-28", 23, 0, 0));
	assert_int_equal(tpc_workcal_add(cs->sun, at("2026-03-28", 12, 0, 1), 23 * H),
			 at("2026-03-29", 22, 0, 0));
	/* Sunday 2026-10-25, 02:00-03:00 local happens twice: a boundary in it
	 * is its first (summer-time) occurrence. 01:30-02:30 is 23:30-00:30
	 * UTC; 02:45 CEST is 00:45 UTC and 04:00 CET 03:00 UTC, so that
	 * interval is the 2 h 15 that really pass */
	assert_int_equal(tpc_workcal_between(cs->night, at("2026-10-24", 23, 0, 0),
					     at("2026-10-25", 5, 0, 0)), H + 135 * 60);
	assert_int_equal(tpc_workcal_add(cs->night, at("2026-10-24", 23, 0, 0), 0),
			 at("2026-10-24", 23, 30, 0));
	assert_int_equal(tpc_workcal_add(cs->night, at("2026-10-24", 23, 0, 0), H),
			 at("2026-10-25", 0, 30, 0));
	assert_int_equal(tpc_workcal_add(cs->night, at("2026-10-24", 23, 0, 0), H + 1),
			 at("2026-10-25", 0, 45, 0) + 1);
	/* Sunday 2026-03-29: 01:30-02:30 local is 00:30 UTC to the switch
	 * (02:00-02:30 does not exist), 02:45 does not exist either: 03:00
	 * CEST = 01:00 UTC to 04:00 CEST = 02:00 UTC */
	assert_int_equal(tpc_workcal_between(cs->night, at("2026-03-29", 0, 0, 0),
					     at("2026-03-29", 5, 0, 0)), 30 * 60 + H);
}

/* between(t, add(t, w)) == w: the two walk the same intervals. */
static void check_inverse(const struct tpc_workcal *c, uint64_t seed, int n)
{
	int64_t base = at("2024-12-20", 0, 0, 0);

	for (int i = 0; i < n; i++) {
		int64_t t, w, due;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		t = base + (int64_t)((seed >> 20) % (3ULL * 366 * 86400));
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		w = (int64_t)((seed >> 24) % (20ULL * 86400));
		if (i % 7 == 0)
			w = (int64_t)(seed >> 40) % 4 * tpc_workcal_day_seconds(c);
		due = tpc_workcal_add(c, t, w);
		assert_true(due != INT64_MAX);
		assert_true(due >= t);
		if (tpc_workcal_between(c, t, due) != w)
			fail_msg("%s: t=%lld w=%lld due=%lld between=%lld", tpc_workcal_region(c),
				 (long long)t, (long long)w, (long long)due,
				 (long long)tpc_workcal_between(c, t, due));
		/* and nothing earlier would do */
		if (w > 0)
			assert_int_equal(tpc_workcal_between(c, t, due - 1), w - 1);
	}
}

static void test_between_inverts_add(void **state)
{
	struct cals *cs = *state;

	check_inverse(cs->cn, 1, 3000);
	check_inverse(cs->de, 2, 3000);
	check_inverse(cs->sun, 3, 1000);
	check_inverse(cs->night, 4, 3000);
	assert_int_equal(tpc_workcal_between(cs->cn, at("2026-12-02", 0, 0, 0),
					     at("2026-12-01", 0, 0, 0)), 0);
}

static const struct tpc_workcal *cs_cn(void **state)
{
	return ((struct cals *)*state)->cn;
}

static void test_gives_up(void **state)
{
	static const char never[] =
		"{\"time_zone\":\"x\",\"utc_offset\":\"+00:00\","
		"\"working_hours\":[\"09:00-17:00\"],\"working_weekdays\":[]}";
	static const char rare[] =
		"{\"time_zone\":\"x\",\"utc_offset\":\"-05:30\","
		"\"working_hours\":[\"09:00-17:00\"],\"working_weekdays\":[],"
		"\"working_days\":[\"2030-01-02\"]}";
	struct tpc_workcal *c = cal("never", never), *r = cal("rare", rare);

	assert_int_equal(tpc_workcal_add(c, at("2026-01-01", 0, 0, 0), 1), INT64_MAX);
	assert_int_equal(tpc_workcal_add(c, at("2026-01-01", 0, 0, 0), 0), INT64_MAX);
	assert_int_equal(tpc_workcal_between(c, at("2026-01-01", 0, 0, 0),
					     at("2027-01-01", 0, 0, 0)), 0);
	assert_int_equal(tpc_workcal_utc_offset(r, 0), -(5 * H + 30 * 60));
	/* four years of nothing is under the horizon, twenty are not */
	assert_int_equal(tpc_workcal_add(r, at("2026-01-01", 0, 0, 0), H),
			 at("2030-01-02", 9, 0, 0) + 5 * H + 30 * 60 + H);
	assert_int_equal(tpc_workcal_add(r, at("2010-01-01", 0, 0, 0), H), INT64_MAX);
	/* far-off instants are clamped, never overflow */
	assert_int_equal(tpc_workcal_add(r, INT64_MAX, H), INT64_MAX);
	assert_int_equal(tpc_workcal_add(r, INT64_MIN, H), INT64_MAX);
	assert_int_equal(tpc_workcal_add(cs_cn(state), at("2026-01-01", 0, 0, 0), INT64_MAX),
			 INT64_MAX);
	assert_int_equal(tpc_workcal_between(r, INT64_MIN, INT64_MAX), 8 * H);
	assert_false(tpc_workcal_is_working_day(r, INT64_MIN / 2));
	tpc_workcal_free(c);
	tpc_workcal_free(r);
}

static void refused_as(const char *name, const char *json, size_t len, const char *what)
{
	char err[256] = "";
	struct tpc_workcal *c = tpc_workcal_parse(name, json, len, err, sizeof(err));

	if (c) {
		tpc_workcal_free(c);
		fail_msg("accepted: %s", json);
	}
	if (!strstr(err, what))
		fail_msg("error \"%s\" does not mention \"%s\"", err, what);
	if (strncmp(err, name, strlen(name)) != 0 || strchr(err, '\n'))
		fail_msg("error \"%s\" is not one line naming %s", err, name);
}

static void refused(const char *json, const char *what)
{
	refused_as("CN", json, strlen(json), what);
}

/* A valid calendar's members with one of them replaced or added. */
#define TZ "\"time_zone\":\"Asia/Shanghai\""
#define OFF "\"utc_offset\":\"+08:00\""
#define HOURS "\"working_hours\":[\"09:00-12:00\",\"13:00-18:00\"]"

static void test_parse_errors(void **state)
{
	char *big;
	size_t n;

	(void)state;
	refused("{" TZ ",\n" OFF ",}", "CN:2:");
	refused("[]", "CN: top level must be an object");
	refused("{" TZ "," OFF "," HOURS ",\"holiday\":[]}", "CN: \"holiday\": unknown key");
	refused("{\"region\":\"DE\"," TZ "," OFF "," HOURS "}",
		"CN: region: \"DE\" is not the file's name \"CN\"");
	refused("{\"region\":1," TZ "," OFF "," HOURS "}", "region: \"?\" is not");
	refused("{" OFF "," HOURS "}", "CN: time_zone: required");
	refused("{\"time_zone\":\"\"," OFF "," HOURS "}", "time_zone: required");
	refused("{\"time_zone\":\"012345678901234567890123456789012345678901234567\"," OFF "," HOURS
		"}", "time_zone: required, a string of 1 to 47");
	refused("{" TZ "," HOURS "}", "CN: utc_offset: required, \"+HH:MM\"");
	refused("{" TZ ",\"utc_offset\":\"08:00\"," HOURS "}", "utc_offset: required");
	refused("{" TZ ",\"utc_offset\":\"+8:00\"," HOURS "}", "utc_offset: required");
	refused("{" TZ ",\"utc_offset\":\"+08:60\"," HOURS "}", "utc_offset: required");
	refused("{" TZ ",\"utc_offset\":\"-14:01\"," HOURS "}",
		"CN: utc_offset: \"-14:01\" is beyond 14:00");
	refused("{" TZ "," OFF "," HOURS ",\"summer_time\":\"US\"}",
		"CN: summer_time: must be \"EU\" or \"none\"");
	refused("{" TZ "," OFF "}", "CN: working_hours: required, an array of 1 to 4");
	refused("{" TZ "," OFF ",\"working_hours\":[]}", "working_hours: required");
	refused("{" TZ "," OFF ",\"working_hours\":[\"01:00-02:00\",\"03:00-04:00\","
		"\"05:00-06:00\",\"07:00-08:00\",\"09:00-10:00\"]}", "working_hours: required");
	refused("{" TZ "," OFF ",\"working_hours\":[\"9:00-12:00\"]}",
		"CN: working_hours[0]: \"9:00-12:00\" is not \"HH:MM-HH:MM\"");
	refused("{" TZ "," OFF ",\"working_hours\":[\"09:00-12:00\",\"24:00-24:00\"]}",
		"working_hours[1]: \"24:00-24:00\" is not");
	refused("{" TZ "," OFF ",\"working_hours\":[\"09:00-24:01\"]}", "is not \"HH:MM-HH:MM\"");
	refused("{" TZ "," OFF ",\"working_hours\":[7]}", "working_hours[0]: \"?\" is not");
	refused("{" TZ "," OFF ",\"working_hours\":[\"09:00-12:00\",\"13:00-12:00\"]}",
		"CN: working_hours[1]: \"13:00-12:00\" ends before it starts");
	refused("{" TZ "," OFF ",\"working_hours\":[\"09:00-09:00\"]}",
		"CN: working_hours[0]: \"09:00-09:00\" is empty");
	refused("{" TZ "," OFF ",\"working_hours\":[\"09:00-12:00\",\"11:00-13:00\"]}",
		"CN: working_hours[1]: \"11:00-13:00\" starts before working_hours[0] ends");
	refused("{" TZ "," OFF ",\"working_hours\":[\"13:00-14:00\",\"09:00-12:00\"]}",
		"starts before working_hours[0] ends");
	refused("{" TZ "," OFF "," HOURS ",\"working_weekdays\":5}",
		"CN: working_weekdays: must be an array");
	refused("{" TZ "," OFF "," HOURS ",\"working_weekdays\":[1,2,3,4,5,6,7,1]}",
		"working_weekdays: must be an array of at most 7");
	refused("{" TZ "," OFF "," HOURS ",\"working_weekdays\":[1,0]}",
		"CN: working_weekdays[1]: must be 1 (Monday) to 7 (Sunday)");
	refused("{" TZ "," OFF "," HOURS ",\"working_weekdays\":[1.5]}", "working_weekdays[0]");
	refused("{" TZ "," OFF "," HOURS ",\"working_weekdays\":[\"1\"]}", "working_weekdays[0]");
	refused("{" TZ "," OFF "," HOURS ",\"working_weekdays\":[1,2,1]}",
		"CN: working_weekdays[2]: 1 is listed twice");
	refused("{" TZ "," OFF "," HOURS ",\"holidays\":\"2026-01-01\"}",
		"CN: holidays: must be an array");
	refused("{" TZ "," OFF "," HOURS ",\"working_days\":{}}",
		"CN: working_days: must be an array");
	refused("{" TZ "," OFF "," HOURS ",\"holidays\":[\"2026-01-01\",\"2026-02-30\"]}",
		"CN: holidays[1]: \"2026-02-30\" is not a YYYY-MM-DD date");
	refused("{" TZ "," OFF "," HOURS ",\"working_days\":[null]}",
		"CN: working_days[0]: \"?\" is not a YYYY-MM-DD date");
	refused("{" TZ "," OFF "," HOURS ",\"holidays\":[\"2026-01-02\",\"2026-01-01\","
		"\"2026-01-02\"]}", "CN: holidays: \"2026-01-02\" is listed twice");
	refused("{" TZ "," OFF "," HOURS ",\"holidays\":[\"2026-01-01\",\"2026-01-04\"],"
		"\"working_days\":[\"2026-01-04\"]}",
		"CN: working_days: \"2026-01-04\" is also in holidays");
	refused_as("C N", "{}", 2, "C N: region name \"C N\" is not 1-64 of [A-Za-z0-9_-]");

	/* 4097 dates; then a file over the size cap */
	big = malloc(300 * 1024);
	assert_non_null(big);
	n = (size_t)sprintf(big, "{" TZ "," OFF "," HOURS ",\"holidays\":[");
	for (int i = 0; i < 4097; i++)
		n += (size_t)sprintf(big + n, "%s\"2026-01-01\"", i ? "," : "");
	n += (size_t)sprintf(big + n, "]}");
	refused_as("CN", big, n, "CN: holidays: more than 4096 dates");
	memset(big, ' ', 300 * 1024);
	big[0] = '{';
	big[300 * 1024 - 1] = '}';
	refused_as("CN", big, 300 * 1024, "CN: larger than 262144 bytes");
	free(big);
}

static void test_load_errors(void **state)
{
	char dir[64], path[128], err[256] = "";
	FILE *f;

	(void)state;
	assert_null(tpc_workcal_load("/nonexistent/CN.json", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/CN.json"));
	assert_null(tpc_workcal_load("cloud/calendars/CN.txt", err, sizeof(err)));
	assert_non_null(strstr(err, "cloud/calendars/CN.txt: not a REGION.json file name"));
	assert_null(tpc_workcal_load(".json", err, sizeof(err)));
	assert_non_null(strstr(err, "not a REGION.json"));
	assert_null(tpc_workcals_load_dir("/nonexistent", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent: "));

	/* one bad file fails the whole directory, named with its path */
	tu_mkdtemp(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/AA.json", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(de_json, f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/BB.json", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"region\":\"CN\"," TZ "," OFF "," HOURS "}", f);
	fclose(f);
	assert_null(tpc_workcals_load_dir(dir, err, sizeof(err)));
	assert_non_null(strstr(err, "BB.json: region: \"CN\" is not the file's name \"BB\""));
	unlink(path);
	{
		struct tpc_workcals *s = tpc_workcals_load_dir(dir, err, sizeof(err));

		if (!s)
			fail_msg("%s", err);
		assert_int_equal(tpc_workcals_count(s), 1);
		assert_non_null(tpc_workcals_find(s, "AA"));
		assert_null(tpc_workcals_find(s, "BB"));
		tpc_workcals_free(s);
	}
	snprintf(path, sizeof(path), "%s/AA.json", dir);
	unlink(path);
	{
		struct tpc_workcals *s = tpc_workcals_load_dir(dir, err, sizeof(err));

		assert_non_null(s);
		assert_int_equal(tpc_workcals_count(s), 0);
		assert_null(tpc_workcals_find(s, "AA"));
		tpc_workcals_free(s);
	}
	rmdir(dir);
}

static void test_shipped_calendars_load(void **state)
{
	char err[256] = "";
	struct tpc_workcals *s = tpc_workcals_load_dir("cloud/calendars", err, sizeof(err));
	const struct tpc_workcal *cn, *de;

	(void)state;
	if (!s)
		fail_msg("%s", err);
	assert_int_equal(tpc_workcals_count(s), 2);
	assert_string_equal(tpc_workcal_region(tpc_workcals_at(s, 0)), "CN");
	assert_string_equal(tpc_workcal_region(tpc_workcals_at(s, 1)), "DE");
	assert_null(tpc_workcals_at(s, 2));
	cn = tpc_workcals_find(s, "CN");
	de = tpc_workcals_find(s, "DE");
	assert_non_null(cn);
	assert_non_null(de);
	assert_null(tpc_workcals_find(s, "cn"));   /* case-sensitive */
	assert_null(tpc_workcals_find(s, "FR"));
	assert_string_equal(tpc_workcal_time_zone(cn), "Asia/Shanghai");
	assert_string_equal(tpc_workcal_time_zone(de), "Europe/Berlin");
	assert_int_equal(tpc_workcal_day_seconds(cn), CN_DAY);
	assert_int_equal(tpc_workcal_day_seconds(de), 8 * H);

	/* CN 2025 and 2026, State Council schedules */
	assert_false(tpc_workcal_is_working_day(cn, day("2025-01-28")));
	assert_true(tpc_workcal_is_working_day(cn, day("2025-01-26")));
	assert_true(tpc_workcal_is_working_day(cn, day("2025-02-08")));
	assert_true(tpc_workcal_is_working_day(cn, day("2025-04-27")));
	assert_false(tpc_workcal_is_working_day(cn, day("2025-10-08")));
	assert_true(tpc_workcal_is_working_day(cn, day("2025-10-11")));
	assert_false(tpc_workcal_is_working_day(cn, day("2026-01-02")));
	assert_true(tpc_workcal_is_working_day(cn, day("2026-01-04")));
	assert_false(tpc_workcal_is_working_day(cn, day("2026-02-23")));
	assert_true(tpc_workcal_is_working_day(cn, day("2026-02-14")));
	assert_true(tpc_workcal_is_working_day(cn, day("2026-02-28")));
	assert_true(tpc_workcal_is_working_day(cn, day("2026-05-09")));
	assert_true(tpc_workcal_is_working_day(cn, day("2026-09-20")));
	assert_false(tpc_workcal_is_working_day(cn, day("2026-10-07")));
	assert_true(tpc_workcal_is_working_day(cn, day("2026-10-10")));
	/* Thursday 2026-01-01 at 10:00: off to Saturday, worked Sunday 01-04 */
	assert_int_equal(tpc_workcal_add(cn, at("2026-01-01", 10, 0, 8), 0),
			 at("2026-01-04", 9, 0, 8));

	/* DE: Easter, Ascension and Whit Monday move; fixed dates */
	assert_false(tpc_workcal_is_working_day(de, day("2025-04-18")));
	assert_false(tpc_workcal_is_working_day(de, day("2025-06-09")));
	assert_false(tpc_workcal_is_working_day(de, day("2026-04-03")));
	assert_false(tpc_workcal_is_working_day(de, day("2026-05-14")));
	assert_false(tpc_workcal_is_working_day(de, day("2026-05-25")));
	assert_false(tpc_workcal_is_working_day(de, day("2027-03-29")));
	assert_false(tpc_workcal_is_working_day(de, day("2027-05-06")));
	assert_false(tpc_workcal_is_working_day(de, day("2026-12-25")));
	assert_true(tpc_workcal_is_working_day(de, day("2026-12-28")));
	assert_int_equal(tpc_workcal_add(de, at("2026-03-27", 16, 0, 1), 16 * H),
			 at("2026-03-31", 14, 0, 0));
	check_inverse(cn, 5, 2000);
	check_inverse(de, 6, 2000);
	tpc_workcals_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cn_deadlines),
		cmocka_unit_test(test_cn_lunch_break),
		cmocka_unit_test(test_cn_holidays_and_makeup_days),
		cmocka_unit_test(test_de_summer_time),
		cmocka_unit_test(test_switch_days_elapsed_time),
		cmocka_unit_test(test_between_inverts_add),
		cmocka_unit_test(test_gives_up),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_shipped_calendars_load),
	};
	return cmocka_run_group_tests_name("workcal", tests, setup, teardown);
}
