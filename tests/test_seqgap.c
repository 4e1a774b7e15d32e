/* test_seqgap.c - the (dev, seq) gap detector: ranges open, fill late,
 * split, become alarms after the grace time, restarts are no loss, and the
 * per-device cap. */
#include "testutil.h"
#include "seqgap.h"

struct alarms {
	int calls;
	uint64_t new_reports;
	size_t open;
	char dev[80];
};

static void on_alarm(void *ctx, const char *dev, const struct tpc_seqgap_range *open, size_t n,
		     uint64_t new_ranges, uint64_t new_reports)
{
	struct alarms *a = ctx;

	(void)open;
	(void)new_ranges;
	a->calls++;
	a->new_reports += new_reports;
	a->open = n;
	snprintf(a->dev, sizeof(a->dev), "%s", dev);
}

static void test_seqgap_alarm_after_grace(void **state)
{
	struct tpc_seqgap *g;
	struct tpc_seqgap_totals t;
	struct alarms a = { 0 };

	(void)state;
	assert_int_equal(tpc_seqgap_new(30, 60, &g), TPD_OK);
	tpc_seqgap_seen(g, "D1", 10, false, 100, 1e9);   /* baseline */
	tpc_seqgap_seen(g, "D1", 11, false, 100, 1e9);
	tpc_seqgap_seen(g, "D1", 15, false, 101, 1e9);   /* 12..14 missing */
	tpc_seqgap_seen(g, "D1", 15, false, 101, 1e9);   /* a duplicate changes nothing */
	assert_int_equal(tpc_seqgap_check(g, 120, on_alarm, &a), 0);   /* within grace */
	assert_int_equal(a.calls, 0);
	tpc_seqgap_seen(g, "D1", 13, false, 125, 1e9);   /* late: splits into 12 and 14 */
	assert_int_equal(tpc_seqgap_check(g, 131.5, on_alarm, &a), 2);
	assert_int_equal(a.calls, 1);
	assert_string_equal(a.dev, "D1");
	assert_int_equal(a.new_reports, 2);
	assert_int_equal(a.open, 2);
	tpc_seqgap_totals(g, &t);
	assert_int_equal(t.gaps_alarmed, 2);
	assert_int_equal(t.open_reports, 2);
	assert_int_equal(t.devices_open, 1);
	/* one arrives after the alarm after all */
	tpc_seqgap_seen(g, "D1", 12, false, 140, 1e9);
	tpc_seqgap_totals(g, &t);
	assert_int_equal(t.filled_late, 1);
	assert_int_equal(t.open_ranges, 1);
	assert_int_equal(t.open_reports, 1);
	{
		cJSON *j = tpc_seqgap_json(g, 10);

		assert_int_equal(cJSON_GetArraySize(j), 1);
		assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "from")->valueint, 14);
		cJSON_Delete(j);
	}
	/* a new alarm for D1 is reported no sooner than a minute after the last */
	tpc_seqgap_seen(g, "D1", 20, false, 141, 1e9);   /* 16..19 */
	assert_int_equal(tpc_seqgap_check(g, 172, on_alarm, &a), 1);
	assert_int_equal(a.calls, 1);
	tpc_seqgap_check(g, 192, on_alarm, &a);
	assert_int_equal(a.calls, 2);
	assert_int_equal(a.new_reports, 6);
	tpc_seqgap_free(g);
}

static void test_seqgap_restart_is_no_loss(void **state)
{
	struct tpc_seqgap *g;
	struct tpc_seqgap_totals t;

	(void)state;
	assert_int_equal(tpc_seqgap_new(30, 60, &g), TPD_OK);
	tpc_seqgap_seen(g, "D2", 2, true, 0, 0);        /* status online after the Will's seq 1 */
	tpc_seqgap_seen(g, "D2", 3, false, 0, 0);
	tpc_seqgap_seen(g, "D2", 514, true, 1, 0);      /* restart: a block of seqs skipped */
	tpc_seqgap_seen(g, "D2", 515, false, 1, 0);
	tpc_seqgap_seen(g, "D2", 400, false, 1, 0);     /* an old spooled report: no range to fill */
	tpc_seqgap_check(g, 100, NULL, NULL);
	tpc_seqgap_totals(g, &t);
	assert_int_equal(t.gaps_alarmed, 0);
	assert_int_equal(t.open_ranges, 0);
	tpc_seqgap_free(g);
}

/* Every other report missing (a stray member of the shared subscription):
 * the cap keeps the newest ranges; the evicted ones still count. */
static void test_seqgap_cap(void **state)
{
	struct tpc_seqgap *g;
	struct tpc_seqgap_totals t;
	struct alarms a = { 0 };

	(void)state;
	assert_int_equal(tpc_seqgap_new(30, 60, &g), TPD_OK);
	for (uint64_t s = 1; s <= 201; s += 2)
		tpc_seqgap_seen(g, "D3", s, false, 0, 0);
	tpc_seqgap_seen(g, "D4", 7, false, 0, 0);
	tpc_seqgap_check(g, 31, on_alarm, &a);
	tpc_seqgap_totals(g, &t);
	assert_int_equal(t.gaps_alarmed, 100);
	assert_int_equal(t.reports_alarmed, 100);
	assert_int_equal(t.open_ranges, TPC_SEQGAP_RANGES);
	assert_int_equal(t.open_reports, TPC_SEQGAP_RANGES);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.new_reports, 100);
	/* fill the middle of a wider range: it splits even at the cap */
	tpc_seqgap_seen(g, "D4", 17, false, 40, 0);     /* 8..16 */
	tpc_seqgap_seen(g, "D4", 12, false, 41, 0);
	tpc_seqgap_check(g, 100, NULL, NULL);
	tpc_seqgap_totals(g, &t);
	assert_int_equal(t.open_reports, TPC_SEQGAP_RANGES + 8);
	tpc_seqgap_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seqgap_alarm_after_grace),
		cmocka_unit_test(test_seqgap_restart_is_no_loss),
		cmocka_unit_test(test_seqgap_cap),
	};
	return cmocka_run_group_tests_name("seqgap", tests, NULL, NULL);
}
