/* test_policy.c - civil dates, working days, and the warranty decision table
 * (in/expired/excluded/unknown, leap days, accessories, models). */
#include <time.h>

#include "testutil.h"
#include "calendar.h"
#include "policy.h"

static const char policy_json[] =
	"{\"comment\":\"test policy\",\n"
	" \"policies\":[\n"
	"  {\"name\":\"standard-12m\",\"months\":12,\"default\":true},\n"
	"  {\"name\":\"router-24m\",\"months\":24,\"models\":[\"archer-ax55\"]},\n"
	"  {\"name\":\"nas-36m\",\"months\":36,\"models\":[\"nas-2bay\"]},\n"
	"  {\"name\":\"adapter-6m\",\"months\":6,\"covers\":\"the power adapter\",\n"
	"   \"codes\":[\"PWR_UNDERVOLT\",\"PWR_BROWNOUT\"]}],\n"
	" \"exclusions\":[{\"code\":\"PWR_OVERVOLT\",\"reason\":\"non-original adapter\"}],\n"
	" \"holidays\":[\"2026-12-25\",\"2026-12-24\",\"2027-01-01\"]}\n";

static struct tpc_policy *policy;

static int setup(void **state)
{
	char err[256];

	(void)state;
	return tpc_policy_parse(policy_json, strlen(policy_json), "t", &policy, err, sizeof(err))
	       ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	tpc_policy_free(policy);
	return 0;
}

static int64_t day(const char *s)
{
	int64_t d;

	assert_true(tpc_date_parse(s, &d));
	return d;
}

static void test_dates(void **state)
{
	char buf[16];
	int64_t d;

	(void)state;
	assert_int_equal(day("1970-01-01"), 0);
	assert_int_equal(day("2026-11-25"), 20782);
	tpc_date_format(20782, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-25");
	assert_true(tpc_date_parse("2024-02-29", &d));
	assert_false(tpc_date_parse("2025-02-29", &d));
	assert_false(tpc_date_parse("1900-02-29", &d));   /* not a leap year */
	assert_true(tpc_date_parse("2000-02-29", &d));    /* a leap year */
	assert_false(tpc_date_parse("2026-13-01", &d));
	assert_false(tpc_date_parse("2026-1-01", &d));
	assert_false(tpc_date_parse("2026-01-01x", &d));
	assert_false(tpc_date_parse("", &d));
	assert_int_equal(tpc_weekday(day("2026-11-25")), 2);   /* Wednesday */
	tpc_date_format(tpc_date_add_months(day("2024-02-29"), 12), buf, sizeof(buf));
	assert_string_equal(buf, "2025-02-28");
	tpc_date_format(tpc_date_add_months(day("2024-02-29"), 48), buf, sizeof(buf));
	assert_string_equal(buf, "2028-02-29");
	tpc_date_format(tpc_date_add_months(day("2025-08-31"), 6), buf, sizeof(buf));
	assert_string_equal(buf, "2026-02-28");
	tpc_date_format(tpc_date_add_months(day("2025-11-30"), 3), buf, sizeof(buf));
	assert_string_equal(buf, "2026-02-28");
}

static void check_due(const char *opened, const char *want)
{
	char due[32], buf[40];
	int64_t t = day(opened) * 86400 + 10 * 3600 + 2 * 60 + 11;   /* 10:02:11Z */

	tpc_date_format(tpc_policy_review_due(policy, NULL, (double)t) / 86400, due, sizeof(due));
	snprintf(buf, sizeof(buf), "%s -> %s", opened, due);
	if (strcmp(due, want) != 0)
		fail_msg("review_due %s, want %s", buf, want);
	assert_int_equal(tpc_policy_review_due(policy, NULL, (double)t) % 86400, 10 * 3600 + 2 * 60 + 11);
}

/* ISO-8601 times (the API's since/until): two shapes, real dates only,
 * UTC whatever TZ says. */
static void test_iso_times(void **state)
{
	double t;

	(void)state;
	setenv("TZ", "America/New_York", 1);
	tzset();
	assert_true(tpc_iso_parse("2026-11-25T10:02:11Z", &t));
	assert_true(t == 1795600931.0);
	assert_true(tpc_iso_parse("2026-11-25", &t));
	assert_true(t == 1795564800.0);
	assert_true(tpc_iso_parse("1970-01-01T00:00:00Z", &t) && t == 0);
	assert_false(tpc_iso_parse("2026-02-30", &t));
	assert_false(tpc_iso_parse("2026-11-25T24:00:00Z", &t));
	assert_false(tpc_iso_parse("2026-11-25T10:60:00Z", &t));
	assert_false(tpc_iso_parse("2026-11-25 10:02:11Z", &t));
	assert_false(tpc_iso_parse("2026-11-25T10:02:11", &t));
	assert_false(tpc_iso_parse(" 2026-11-25", &t));
	assert_false(tpc_iso_parse("2026-1-25", &t));
	assert_false(tpc_iso_parse("", &t));
	assert_int_equal(tpc_days_from_civil(1969, 12, 31), -1);
	unsetenv("TZ");
	tzset();
}

static void test_working_days(void **state)
{
	(void)state;
	check_due("2026-11-25", "2026-11-27");   /* Wed -> Fri (SPEC §6 example) */
	check_due("2026-11-26", "2026-11-30");   /* Thu -> Mon */
	check_due("2026-11-27", "2026-12-01");   /* Fri -> Tue */
	check_due("2026-11-28", "2026-12-01");   /* Sat -> Tue */
	check_due("2026-11-29", "2026-12-01");   /* Sun -> Tue */
	check_due("2026-12-22", "2026-12-28");   /* Tue; 24th, 25th holidays, weekend */
	check_due("2026-12-30", "2027-01-04");   /* Wed; 1 Jan holiday, weekend */
}

struct wcase {
	const char *model, *codes[3], *purchase, *detected;
	const char *status, *until, *policy;
};

static void test_warranty_table(void **state)
{
	static const struct wcase cases[] = {
		/* default 12 months; detected on the last day is still covered */
		{ "cpe-1", { "FAN_STALL" }, "2025-06-01", "2026-06-01", "in_warranty", "2026-06-01", "standard-12m" },
		{ "cpe-1", { "FAN_STALL" }, "2025-06-01", "2026-06-02", "expired", "2026-06-01", "standard-12m" },
		/* a model with a longer period (SPEC §6 example) */
		{ "archer-ax55", { "TEMP_RISING" }, "2025-06-01", "2026-11-25", "in_warranty", "2027-06-01", "router-24m" },
		{ "nas-2bay", { "FAN_DEGRADED" }, "2023-01-15", "2026-01-15", "in_warranty", "2026-01-15", "nas-36m" },
		{ "nas-2bay", { "FAN_DEGRADED" }, "2023-01-15", "2026-01-16", "expired", "2026-01-15", "nas-36m" },
		/* the adapter: its own 6 months, whatever the model */
		{ "archer-ax55", { "PWR_UNDERVOLT" }, "2025-06-01", "2025-12-01", "in_warranty", "2025-12-01", "adapter-6m" },
		{ "archer-ax55", { "PWR_BROWNOUT", "TEMP_HIGH" }, "2025-06-01", "2025-12-02", "expired", "2025-12-01", "adapter-6m" },
		/* leap days: bought 29 Feb, 12 months end 28 Feb */
		{ "cpe-1", { "TEMP_HIGH" }, "2024-02-29", "2025-02-28", "in_warranty", "2025-02-28", "standard-12m" },
		{ "cpe-1", { "TEMP_HIGH" }, "2024-02-29", "2025-03-01", "expired", "2025-02-28", "standard-12m" },
		/* an excluded code anywhere in the claim */
		{ "archer-ax55", { "PWR_OVERCURRENT", "PWR_OVERVOLT" }, "2025-06-01", "2026-01-01", "excluded", "2027-06-01", "router-24m" },
		/* expiry outranks exclusion: nothing to review */
		{ "cpe-1", { "PWR_OVERVOLT" }, "2020-01-01", "2026-01-01", "expired", "2021-01-01", "standard-12m" },
		/* no purchase date */
		{ "archer-ax55", { "FAN_STALL" }, NULL, "2026-01-01", "unknown", "", "router-24m" },
		{ "archer-ax55", { "FAN_STALL" }, "", "2026-01-01", "unknown", "", "router-24m" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct wcase *c = &cases[i];
		struct tpc_warranty w;
		size_t n = 0;

		while (n < 3 && c->codes[n])
			n++;
		tpc_policy_warranty(policy, c->model, c->codes, n, c->purchase,
				    (double)day(c->detected) * 86400 + 43200, &w);
		if (strcmp(w.status, c->status) || strcmp(w.until, c->until) ||
		    strcmp(w.policy, c->policy))
			fail_msg("case %zu: got %s/%s/%s, want %s/%s/%s", i, w.status, w.until,
				 w.policy, c->status, c->until, c->policy);
		if (strcmp(c->status, "excluded") == 0)
			assert_non_null(strstr(w.reason, "PWR_OVERVOLT: non-original adapter"));
		else
			assert_string_equal(w.reason, "");
	}
}

static void expect_refused(const char *json, const char *what)
{
	struct tpc_policy *p = NULL;
	char err[256] = "";

	assert_int_equal(tpc_policy_parse(json, strlen(json), "bad.json", &p, err, sizeof(err)),
			 TPD_ERR_INVAL);
	assert_null(p);
	if (!strstr(err, what))
		fail_msg("error \"%s\" does not mention \"%s\"", err, what);
	assert_non_null(strstr(err, "bad.json"));
}

static void test_bad_policies_refused(void **state)
{
	struct tpc_policy *p;
	char err[256];

	(void)state;
	expect_refused("{\"policies\":[{\"name\":\"a\",\"months\":12}]}", "exactly one");
	expect_refused("{\"policies\":[]}", "policies: required");
	expect_refused("{\"policies\":[{\"name\":\"a\",\"months\":0,\"default\":true}]}", "months");
	expect_refused("{\"policies\":[{\"name\":\"a\",\"months\":1.5,\"default\":true}]}", "months");
	expect_refused("{\"policies\":[{\"name\":\"a\",\"months\":12,\"default\":true,\"mnths\":1}]}",
		       "\"mnths\": unknown key");
	expect_refused("{\"policies\":[{\"name\":\"a\",\"months\":12,\"default\":true,"
		       "\"codes\":[\"FAN_BROKEN\"]}]}", "not a fault code");
	expect_refused("{\"policies\":[{\"name\":\"a\",\"months\":12,\"default\":true},"
		       "{\"name\":\"a\",\"months\":6}]}", "used twice");
	expect_refused("{\"policies\":[{\"name\":\"a\",\"months\":12,\"default\":true}],"
		       "\"holidays\":[\"2026-02-30\"]}", "holidays[0]");
	expect_refused("{\"policies\":[{\"name\":\"a\",\"months\":12,\"default\":true}],"
		       "\"exclusions\":[{\"code\":\"PWR_OVERVOLT\"}]}", "reason");
	expect_refused("{\"policies\":[{\"name\":\"a\",\n\"months\":12,}", "bad.json:2:");
	expect_refused("[]", "top level");
	assert_int_equal(tpc_policy_load("/nonexistent/warranty.json", &p, err, sizeof(err)),
			 TPD_ERR_NOTFOUND);
	assert_non_null(strstr(err, "/nonexistent/warranty.json"));
}

static void test_shipped_policy_file_loads(void **state)
{
	struct tpc_policy *p = NULL;
	struct tpc_warranty w;
	const char *code = "TEMP_RISING";
	char err[256];

	(void)state;
	if (tpc_policy_load("cloud/warranty.json", &p, err, sizeof(err)))
		fail_msg("%s", err);
	/* the SPEC §6 example claim */
	tpc_policy_warranty(p, "archer-ax55", &code, 1, "2025-06-01", 1764000071.5, &w);
	assert_string_equal(w.status, "in_warranty");
	assert_string_equal(w.until, "2027-06-01");
	assert_string_equal(w.policy, "router-24m");
	tpc_policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_iso_times),
		cmocka_unit_test(test_working_days),
		cmocka_unit_test(test_warranty_table),
		cmocka_unit_test(test_bad_policies_refused),
		cmocka_unit_test(test_shipped_policy_file_loads),
	};
	return cmocka_run_group_tests_name("policy", tests, setup, teardown);
}
