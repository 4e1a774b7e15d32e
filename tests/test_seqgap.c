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
/* Ask mode (several collectors share the stream): a due range is handed
 * out once, not alarmed before; what the others stored fills it; the rest
 * becomes an alarm at the next check. */
static void test_seqgap_ask(void **state)
{
	struct tpc_seqgap_range due[4];
	char dev[4][TPD_ID_MAX + 1];
	struct tpc_seqgap *g;
	struct tpc_seqgap_totals t;
	struct alarms a = { 0 };

	(void)state;
	assert_int_equal(tpc_seqgap_new(30, 60, &g), TPD_OK);
	tpc_seqgap_set_ask(g, true);
	tpc_seqgap_seen(g, "D1", 1, false, 100, 1e9);
	tpc_seqgap_seen(g, "D1", 4, false, 100, 1e9);    /* 2..3: the others' share */
	tpc_seqgap_seen(g, "D2", 1, false, 100, 1e9);
	tpc_seqgap_seen(g, "D2", 3, false, 100, 1e9);    /* 2 */
	assert_int_equal(tpc_seqgap_due(g, 120, due, dev, 4), 0);      /* within grace */
	assert_int_equal(tpc_seqgap_check(g, 131, on_alarm, &a), 0);   /* due, not asked */
	assert_int_equal(tpc_seqgap_due(g, 131, due, dev, 1), 1);      /* max 1 a call */
	assert_string_equal(dev[0], "D1");
	assert_int_equal(due[0].lo, 2);
	assert_int_equal(due[0].hi, 3);
	tpc_seqgap_seen(g, "D1", 2, false, 131, 1e9);    /* stored by another */
	tpc_seqgap_seen(g, "D1", 3, false, 131, 1e9);
	assert_int_equal(tpc_seqgap_check(g, 131, on_alarm, &a), 0);   /* D2 not asked yet */
	assert_int_equal(tpc_seqgap_due(g, 132, due, dev, 4), 1);
	assert_string_equal(dev[0], "D2");
	assert_int_equal(tpc_seqgap_due(g, 132, due, dev, 4), 0);      /* once */
	assert_int_equal(tpc_seqgap_check(g, 132, on_alarm, &a), 1);   /* nobody stored it */
	assert_string_equal(a.dev, "D2");
	tpc_seqgap_totals(g, &t);
	assert_int_equal(t.gaps_alarmed, 1);
	assert_int_equal(t.open_reports, 1);
	assert_int_equal(t.filled_late, 0);
	/* a device reporting fast: half its ranges open, it is handed out
	 * before any is due, as one window */
	tpc_seqgap_seen(g, "D3", 1, false, 200, 1e9);
	for (uint64_t seq = 3; seq < 3 + 2 * TPC_SEQGAP_RANGES / 2; seq += 2)
		tpc_seqgap_seen(g, "D3", seq, false, 200, 1e9);
	assert_int_equal(tpc_seqgap_due(g, 201, due, dev, 4), 1);
	assert_string_equal(dev[0], "D3");
	assert_int_equal(due[0].lo, 2);
	assert_int_equal(due[0].hi, 2 * TPC_SEQGAP_RANGES / 2);
	for (uint64_t seq = 2; seq <= due[0].hi; seq += 2)
		tpc_seqgap_seen(g, "D3", seq, false, 201, 1e9);
	assert_int_equal(tpc_seqgap_check(g, 300, on_alarm, &a), 0);
	tpc_seqgap_totals(g, &t);
	assert_int_equal(t.gaps_alarmed, 1);   /* D2's, still */
	tpc_seqgap_free(g);
}

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
		cmocka_unit_test(test_seqgap_ask),
	};
	return cmocka_run_group_tests_name("seqgap", tests, NULL, NULL);
}
