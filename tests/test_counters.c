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
	tpd_counters_open(&c, dir, false, "boot-1");
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
	tpd_counters_open(&c, dir, false, "boot-1");
	assert_false(c.rebooted);
	assert_true(fabs(c.power_on_s - 135) < 1e-9);
	assert_int_equal(c.undervoltage_events, 4);
	assert_int_equal(c.unclean_restarts, 0);
	/* the rail sags (11.2 V, then 10.9 V; min 11.4): the first low sample
	 * asks for a save at once, the following ones do not */
	{
		double v[5] = { 50, 11.2, 4000, 0.4, 0 };

		assert_true(tpd_counters_sample(&c, &p, 6000, v));
		v[1] = 10.9;
		assert_false(tpd_counters_sample(&c, &p, 6001, v));
	}
	run(&c, &p, 6002, 8, 50, 11.1, 0);
	assert_int_equal(tpd_counters_save(&c, dir, 6009, true), TPD_OK);
	/* the agent alone crashed (same boot): unclean, not a brownout */
	tpd_counters_open(&c, dir, true, "boot-1");
	assert_int_equal(c.unclean_restarts, 1);
	assert_int_equal(c.brownout_restarts, 0);
	assert_false(c.brownout_now);
	assert_int_equal(tpd_counters_save(&c, dir, 6009, true), TPD_OK);
	/* the product itself went down and came back: a brownout, with the
	 * lowest reading of that sag */
	tpd_counters_open(&c, dir, true, "boot-2");
	assert_true(c.rebooted);
	assert_int_equal(c.unclean_restarts, 2);
	assert_int_equal(c.brownout_restarts, 1);
	assert_true(c.brownout_now);
	assert_float_equal(c.last_low_vin_v, 10.9, 1e-9);
	assert_float_equal(c.brownout_seen_ts, 6009, 0);
	/* the sag is consumed: power lost again before any sample is no second one */
	assert_int_equal(tpd_counters_save(&c, dir, c.last_saved_ts, true), TPD_OK);
	tpd_counters_open(&c, dir, true, "boot-2b");
	assert_false(c.brownout_now);
	assert_int_equal(c.brownout_restarts, 1);
	assert_int_equal(c.unclean_restarts, 3);
	c.unclean_restarts = 2;   /* (keep the counts below as they were) */
	c.nrestarts--;
	assert_string_equal(c.last_low_vin_sensor, "volt.vin");
	assert_int_equal(c.nrestarts, 2);
	assert_float_equal(c.restart_ts[1], 6009, 0);
	/* healthy for ten minutes, then a power loss: unclean, but not a brownout */
	run(&c, &p, 7000, 601, 50, 12, 0);
	assert_int_equal(tpd_counters_save(&c, dir, 7600, true), TPD_OK);
	tpd_counters_open(&c, dir, true, "boot-3");
	assert_int_equal(c.unclean_restarts, 3);
	assert_int_equal(c.brownout_restarts, 1);
	assert_false(c.brownout_now);
	/* the restart ring keeps the newest TPD_SC_MAX_RESTARTS */
	for (int i = 0; i < 10; i++) {
		assert_int_equal(tpd_counters_save(&c, dir, 8000 + i, true), TPD_OK);
		tpd_counters_open(&c, dir, true, "boot-x");
	}
	assert_int_equal(c.nrestarts, TPD_SC_MAX_RESTARTS);
	assert_float_equal(c.restart_ts[TPD_SC_MAX_RESTARTS - 1], 8009, 0);
	/* a garbled file starts from zero instead of failing */

	{
		char path[128];

		snprintf(path, sizeof(path), "%s/counters.json", dir);
		tu_write(path, "{\"power_on_s\": \"lots\"");
	}
	tpd_counters_open(&c, dir, false, "");
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
