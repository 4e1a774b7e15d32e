/* test_counters.c - lifetime stress counters across restarts, and the
 * brownout forensics (an unclean stop right after low input voltage). */
#include "testutil.h"
#include "counters.h"

static void run(struct tpd_counters *c, const struct tpd_product *p, double t0, int n, double cpu,
		double vin, double uv_every)
{
	for (int i = 0; i < n; i++) {
		double v[5] = { cpu, vin, 4000, 0.4, uv_every > 0 && i % (int)uv_every == 0 };

		tpd_counters_sample(c, p, t0 + i, v);
	}
}

static void test_counters_persist_and_brownout(void **state)
{
	struct tpd_product p;
	struct tpd_counters c;
	char dir[64];

	(void)state;
	tu_product(&p);
	tu_mkdtemp(dir, sizeof(dir));
	tpd_counters_open(&c, dir, false);
	assert_true(c.power_on_s == 0 && c.unclean_restarts == 0);
	run(&c, &p, 1000, 101, 50, 12, 0);          /* 100 s on, cool */
	run(&c, &p, 1101, 31, 90, 12, 10);          /* 31 s above 85 °C, 4 under-voltage edges */
	assert_true(fabs(c.power_on_s - 131) < 1e-9);
	assert_true(fabs(c.above_warn_s - 31) < 1e-9);
	assert_int_equal(c.undervoltage_events, 4);
	run(&c, &p, 5000, 5, 50, 12, 0);            /* a gap of hours is not power-on time */
	assert_true(fabs(c.power_on_s - 135) < 1e-9);
	assert_int_equal(tpd_counters_save(&c, dir, 5004, true), TPD_OK);

	/* a clean restart: counters carried over, no brownout */
	tpd_counters_open(&c, dir, false);
	assert_true(fabs(c.power_on_s - 135) < 1e-9);
	assert_int_equal(c.undervoltage_events, 4);
	assert_int_equal(c.unclean_restarts, 0);
	/* the rail sags to 10.9 V (min 11.4), then the product dies */
	run(&c, &p, 6000, 10, 50, 10.9, 0);
	assert_int_equal(tpd_counters_save(&c, dir, 6009, true), TPD_OK);
	tpd_counters_open(&c, dir, true);
	assert_int_equal(c.unclean_restarts, 1);
	assert_int_equal(c.brownout_restarts, 1);
	assert_true(c.brownout_now);
	/* healthy for ten minutes, then a crash: unclean, but not a brownout */
	run(&c, &p, 7000, 601, 50, 12, 0);
	assert_int_equal(tpd_counters_save(&c, dir, 7600, true), TPD_OK);
	tpd_counters_open(&c, dir, true);
	assert_int_equal(c.unclean_restarts, 2);
	assert_int_equal(c.brownout_restarts, 1);
	assert_false(c.brownout_now);
	/* a garbled file starts from zero instead of failing */

	{
		char path[128];

		snprintf(path, sizeof(path), "%s/counters.json", dir);
		tu_write(path, "{\"power_on_s\": \"lots\"");
	}
	tpd_counters_open(&c, dir, false);
	assert_true(c.power_on_s == 0);
	tu_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters_persist_and_brownout),
	};
	return cmocka_run_group_tests_name("counters", tests, NULL, NULL);
}
