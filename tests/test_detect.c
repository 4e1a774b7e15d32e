/* test_detect.c - threshold detectors (debounce and hysteresis edges) and the
 * brownout window. */
#include "testutil.h"
#include "detect.h"

static struct tpd_threshold hot(void)
{
	struct tpd_threshold d;

	/* TEMP_HIGH above 85, clear below 82, 10 s debounce */
	tpd_threshold_init(&d, TPD_FAULT_TEMP_HIGH, TPD_SEV_WARNING, 0, true, 85.0, 3.0, 10.0);
	return d;
}

static void test_raise_exactly_at_debounce(void **state)
{
	struct tpd_threshold d = hot();

	(void)state;
	assert_int_equal(tpd_threshold_step(&d, 0, 86, TPD_GATE_ON), TPD_DETECT_NONE);
	assert_int_equal(tpd_threshold_step(&d, 9.999, 86, TPD_GATE_ON), TPD_DETECT_NONE);
	assert_int_equal(tpd_threshold_step(&d, 10, 86, TPD_GATE_ON), TPD_DETECT_RAISED);
	assert_true(d.active);
	assert_true(d.since_s == 0);   /* the condition began at t=0 */
	assert_int_equal(tpd_threshold_step(&d, 11, 90, TPD_GATE_ON), TPD_DETECT_NONE);
}

static void test_interrupted_debounce_restarts(void **state)
{
	struct tpd_threshold d = hot();

	(void)state;
	tpd_threshold_step(&d, 0, 86, TPD_GATE_ON);
	tpd_threshold_step(&d, 5, 84, TPD_GATE_ON);   /* dip below: restart */
	assert_int_equal(tpd_threshold_step(&d, 6, 86, TPD_GATE_ON), TPD_DETECT_NONE);
	assert_int_equal(tpd_threshold_step(&d, 15, 86, TPD_GATE_ON), TPD_DETECT_NONE);
	assert_int_equal(tpd_threshold_step(&d, 16, 86, TPD_GATE_ON), TPD_DETECT_RAISED);
	assert_true(d.since_s == 6);
}

static void test_exactly_at_limit_does_not_raise(void **state)
{
	struct tpd_threshold d = hot();

	(void)state;
	for (int t = 0; t < 100; t++)
		assert_int_equal(tpd_threshold_step(&d, t, 85.0, TPD_GATE_ON), TPD_DETECT_NONE);
}

static void test_hysteresis_band_holds_state(void **state)
{
	struct tpd_threshold d = hot();

	(void)state;
	tpd_threshold_step(&d, 0, 90, TPD_GATE_ON);
	assert_int_equal(tpd_threshold_step(&d, 10, 90, TPD_GATE_ON), TPD_DETECT_RAISED);
	/* 82..85 is the dead band: an active fault stays active */
	for (int t = 11; t < 100; t++)
		assert_int_equal(tpd_threshold_step(&d, t, 83 + (t % 2), TPD_GATE_ON), TPD_DETECT_NONE);
	assert_true(d.active);
	/* exactly at limit - hyst is still inside the band */
	assert_int_equal(tpd_threshold_step(&d, 100, 82.0, TPD_GATE_ON), TPD_DETECT_NONE);
	assert_int_equal(tpd_threshold_step(&d, 111, 82.0, TPD_GATE_ON), TPD_DETECT_NONE);
	assert_int_equal(tpd_threshold_step(&d, 120, 81.9, TPD_GATE_ON), TPD_DETECT_NONE);
	assert_int_equal(tpd_threshold_step(&d, 129.9, 81.0, TPD_GATE_ON), TPD_DETECT_NONE);
	assert_int_equal(tpd_threshold_step(&d, 130, 81.0, TPD_GATE_ON), TPD_DETECT_CLEARED);
	assert_false(d.active);
}

static void test_clear_needs_debounce_too(void **state)
{
	struct tpd_threshold d = hot();

	(void)state;
	tpd_threshold_step(&d, 0, 90, TPD_GATE_ON);
	tpd_threshold_step(&d, 10, 90, TPD_GATE_ON);
	tpd_threshold_step(&d, 20, 70, TPD_GATE_ON);
	tpd_threshold_step(&d, 25, 88, TPD_GATE_ON);  /* back up: clear restarts */
	assert_int_equal(tpd_threshold_step(&d, 31, 70, TPD_GATE_ON), TPD_DETECT_NONE);
	assert_int_equal(tpd_threshold_step(&d, 41, 70, TPD_GATE_ON), TPD_DETECT_CLEARED);
}

static void test_failed_reads_neither_raise_nor_reset(void **state)
{
	struct tpd_threshold d = hot();

	(void)state;
	tpd_threshold_step(&d, 0, 86, TPD_GATE_ON);
	for (int t = 1; t < 30; t++)
		assert_int_equal(tpd_threshold_step(&d, t, NAN, TPD_GATE_ON), TPD_DETECT_NONE);
	assert_false(d.active);
	/* the pending condition survived the gap; one real reading completes it */
	assert_int_equal(tpd_threshold_step(&d, 30, 86, TPD_GATE_ON), TPD_DETECT_RAISED);
	/* and an active fault is not cleared by missing data */
	for (int t = 31; t < 100; t++)
		assert_int_equal(tpd_threshold_step(&d, t, NAN, TPD_GATE_ON), TPD_DETECT_NONE);
	assert_true(d.active);
}

static void test_low_limit(void **state)
{
	struct tpd_threshold d;

	(void)state;
	tpd_threshold_init(&d, TPD_FAULT_PWR_UNDERVOLT, TPD_SEV_CRITICAL, 1, false, 11.4, 0.1, 3);
	tpd_threshold_step(&d, 0, 11.3, TPD_GATE_ON);
	assert_int_equal(tpd_threshold_step(&d, 3, 11.3, TPD_GATE_ON), TPD_DETECT_RAISED);
	tpd_threshold_step(&d, 4, 11.45, TPD_GATE_ON);  /* inside band (11.4..11.5) */
	assert_int_equal(tpd_threshold_step(&d, 10, 11.45, TPD_GATE_ON), TPD_DETECT_NONE);
	tpd_threshold_step(&d, 11, 11.6, TPD_GATE_ON);
	assert_int_equal(tpd_threshold_step(&d, 14, 11.6, TPD_GATE_ON), TPD_DETECT_CLEARED);
}

static void test_gate(void **state)
{
	struct tpd_threshold d;

	(void)state;
	tpd_threshold_init(&d, TPD_FAULT_FAN_STALL, TPD_SEV_CRITICAL, 2, false, 500, 200, 15);
	/* fan stopped but product cool: not a stall */
	for (int t = 0; t < 60; t++)
		assert_int_equal(tpd_threshold_step(&d, t, 0, TPD_GATE_OFF), TPD_DETECT_NONE);
	/* unknown (temperature unreadable): no progress either way */
	for (int t = 60; t < 120; t++)
		assert_int_equal(tpd_threshold_step(&d, t, 0, TPD_GATE_UNKNOWN), TPD_DETECT_NONE);
	tpd_threshold_step(&d, 120, 0, TPD_GATE_ON);
	assert_int_equal(tpd_threshold_step(&d, 135, 0, TPD_GATE_ON), TPD_DETECT_RAISED);
	/* product cooled down: the fan may rest, the stall clears */
	tpd_threshold_step(&d, 140, 0, TPD_GATE_OFF);
	assert_int_equal(tpd_threshold_step(&d, 155, 0, TPD_GATE_OFF), TPD_DETECT_CLEARED);
}

static void test_brownout(void **state)
{
	struct tpd_brownout b;
	double t = 0;

	(void)state;
	tpd_brownout_init(&b, 4, 3, 600);
	/* a flag held high for a long time is one event */
	for (int i = 0; i < 100; i++)
		assert_int_equal(tpd_brownout_step(&b, t++, 1), TPD_DETECT_NONE);
	assert_int_equal(tpd_brownout_in_window(&b, t), 1);
	tpd_brownout_step(&b, t++, 0);
	tpd_brownout_step(&b, t++, NAN);                  /* failed read: ignored */
	assert_int_equal(tpd_brownout_step(&b, t++, 1), TPD_DETECT_NONE); /* 2nd */
	tpd_brownout_step(&b, t++, 0);
	assert_int_equal(tpd_brownout_step(&b, t, 1), TPD_DETECT_RAISED); /* 3rd */
	assert_true(b.since_s == 0);
	tpd_brownout_step(&b, t + 1, 0);
	/* the window empties 600 s after the last event, then it clears */
	assert_int_equal(tpd_brownout_step(&b, t + 600, 0), TPD_DETECT_NONE);
	assert_int_equal(tpd_brownout_step(&b, t + 601, 0), TPD_DETECT_CLEARED);
}

static void test_brownout_spread_out_events_do_not_raise(void **state)
{
	struct tpd_brownout b;

	(void)state;
	tpd_brownout_init(&b, 4, 3, 600);
	for (int i = 0; i < 20; i++) {
		/* one dip every 400 s: never 3 within 600 s */
		assert_int_equal(tpd_brownout_step(&b, i * 400.0, 1), TPD_DETECT_NONE);
		assert_int_equal(tpd_brownout_step(&b, i * 400.0 + 1, 0), TPD_DETECT_NONE);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_raise_exactly_at_debounce),
		cmocka_unit_test(test_interrupted_debounce_restarts),
		cmocka_unit_test(test_exactly_at_limit_does_not_raise),
		cmocka_unit_test(test_hysteresis_band_holds_state),
		cmocka_unit_test(test_clear_needs_debounce_too),
		cmocka_unit_test(test_failed_reads_neither_raise_nor_reset),
		cmocka_unit_test(test_low_limit),
		cmocka_unit_test(test_gate),
		cmocka_unit_test(test_brownout),
		cmocka_unit_test(test_brownout_spread_out_events_do_not_raise),
	};
	return cmocka_run_group_tests_name("detect", tests, NULL, NULL);
}
