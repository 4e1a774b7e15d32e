/*
 * test_trend.c - the drift regression on series with known answers.
 */
#include "testutil.h"

#include "tpd/trend.h"

#define DAY 86400.0
#define HOUR 3600.0

/* A small deterministic noise source (LCG), uniform in [-a, a]. */
static double tt_noise(unsigned *s, double a)
{
	*s = *s * 1103515245u + 12345u;
	return ((double)((*s >> 8) & 0xffff) / 65535.0 * 2 - 1) * a;
}

static void test_exact_slope_and_eta(void **state)
{
	struct tpd_trend tr;
	struct tpd_trend_fit f;
	double band[2], eta;

	(void)state;
	tpd_trend_init(&tr, 0, 30 * DAY);
	/* 50 C rising 0.5 C a day, hourly, for 4 days. */
	for (int h = 0; h < 96; h++)
		tpd_trend_add(&tr, 1e9 + h * HOUR, NULL, 50 + 0.5 * h / 24.0);
	assert_true(tpd_trend_fit(&tr, &f));
	assert_float_equal(f.slope_per_s * DAY, 0.5, 1e-9);
	assert_float_equal(f.b[0], 50, 1e-9);
	/* At hour 95 it is 51.979; 100 C is 96.04 days away. */
	eta = tpd_trend_eta(&tr, &f, NULL, 1e9 + 95 * HOUR, 100, 1, band);
	assert_float_equal(eta / DAY, (100 - (50 + 0.5 * 95 / 24.0)) / 0.5, 1e-6);
	assert_float_equal(band[0] / eta, 1, 1e-5);   /* exact fit: (almost) no band */
	/* A limit already passed in the slope's direction is reached now... */
	assert_float_equal(tpd_trend_eta(&tr, &f, NULL, 1e9 + 95 * HOUR, 51, 1, NULL), 0, 0);
	/* ...falling: a floor above the series is passed, one below reached in time. */
	tpd_trend_init(&tr, 0, 30 * DAY);
	for (int h = 0; h < 96; h++)
		tpd_trend_add(&tr, h * HOUR, NULL, 4000 - 10.0 * h);
	assert_true(tpd_trend_fit(&tr, &f));
	assert_float_equal(tpd_trend_eta(&tr, &f, NULL, 95 * HOUR, 5000, -1, NULL), 0, 0);
	assert_float_equal(tpd_trend_eta(&tr, &f, NULL, 95 * HOUR, 500, -1, NULL) / HOUR, 255, 1e-6);
	/* Flat: never (or in centuries, from rounding). */
	tpd_trend_init(&tr, 0, 30 * DAY);
	for (int h = 0; h < 96; h++)
		tpd_trend_add(&tr, h * HOUR, NULL, 42);
	assert_true(tpd_trend_fit(&tr, &f));
	assert_true(isinf(tpd_trend_eta(&tr, &f, NULL, 95 * HOUR, 100, 1, NULL)) ||
		    tpd_trend_eta(&tr, &f, NULL, 95 * HOUR, 100, 1, NULL) > 100 * 365 * DAY);
}

/* A daily load cycle moves the temperature 20 C; with load as a regressor
 * the drift is ~0 and its standard error says so. */
static void test_load_explains_daily_cycle(void **state)
{
	struct tpd_trend tr;
	struct tpd_trend_fit f;
	unsigned seed = 7;

	(void)state;
	tpd_trend_init(&tr, 1, 7 * DAY);
	for (int h = 0; h < 24 * 14; h++) {
		double load = 0.5 + 0.45 * sin(2 * M_PI * h / 24.0);
		double temp = 45 + 20 * load + tt_noise(&seed, 0.5);

		tpd_trend_add(&tr, h * HOUR, &load, temp);
	}
	assert_true(tpd_trend_fit(&tr, &f));
	assert_float_equal(f.b[1], 20, 0.3);
	assert_true(fabs(f.slope_per_s) < 4 * f.slope_se_per_s);
	assert_true(fabs(f.slope_per_s * DAY) < 0.05);
}

/* The same cycle plus 0.3 C/day of dust: found, with an honest band. */
static void test_drift_under_cycle(void **state)
{
	struct tpd_trend tr;
	struct tpd_trend_fit f;
	unsigned seed = 11;
	double x = 0.95, band[2], eta;

	(void)state;
	tpd_trend_init(&tr, 1, 7 * DAY);
	for (int h = 0; h < 24 * 10; h++) {
		double load = 0.5 + 0.45 * sin(2 * M_PI * h / 24.0);

		tpd_trend_add(&tr, h * HOUR, &load, 45 + 20 * load + 0.3 * h / 24.0 +
						       tt_noise(&seed, 1.0));
	}
	assert_true(tpd_trend_fit(&tr, &f));
	assert_float_equal(f.slope_per_s * DAY, 0.3, 0.03);
	assert_true(f.slope_per_s > 4 * f.slope_se_per_s);
	/* At full load now (day 10): 45 + 19 + 3 = 67; 100 C in ~110 days. */
	eta = tpd_trend_eta(&tr, &f, &x, 240 * HOUR, 100, 1, band);
	assert_float_equal(eta / DAY, 110, 12);
	assert_true(band[0] < eta && eta < band[1]);
}

/* Old behaviour fades: a step change 3 weeks ago weighs little now. */
static void test_forgetting(void **state)
{
	struct tpd_trend tr;

	(void)state;
	tpd_trend_init(&tr, 0, 2 * DAY);
	for (int h = 0; h < 24 * 20; h++)
		tpd_trend_add(&tr, h * HOUR, NULL, 1.0);
	/* n_eff converges to 1 / (1 - 2^(-1/48)) ~ 69.8 rows. */
	assert_float_equal(tr.n_eff, 1 / (1 - exp2(-1 / 48.0)), 0.5);
	assert_int_equal(tr.rows, 480);
}

/* Too few rows, a regressor that never moves, NAN rows: no fit, no crash. */
static void test_refuses_weak_data(void **state)
{
	struct tpd_trend tr;
	struct tpd_trend_fit f;
	double x = 0.5, nan_x = NAN;

	(void)state;
	tpd_trend_init(&tr, 1, 7 * DAY);
	for (int h = 0; h < 5; h++)
		tpd_trend_add(&tr, h * HOUR, &x, 50 + h);
	assert_false(tpd_trend_fit(&tr, &f));
	for (int h = 5; h < 48; h++)
		tpd_trend_add(&tr, h * HOUR, &x, 50 + h);   /* load constant */
	assert_false(tpd_trend_fit(&tr, &f));
	tpd_trend_add(&tr, 49 * HOUR, &nan_x, 1);
	tpd_trend_add(&tr, 50 * HOUR, &x, NAN);
	assert_int_equal(tr.rows, 48);
}

/* The one-regressor, no-decay fast path gives the general path's fit. */
static void test_add1_is_add(void **state)
{
	struct tpd_trend a, b;
	struct tpd_trend_fit fa, fb;

	(void)state;
	tpd_trend_init(&a, 1, INFINITY);
	tpd_trend_init(&b, 1, INFINITY);
	for (int i = 0; i < 360; i++) {
		double t = 1764000000.0 + 10 * i, x = 0.5 + 0.3 * sin(i * 0.7);
		double y = 40 + 26 * x + 0.001 * i + 0.2 * cos(i * 1.3);

		tpd_trend_add(&a, t, &x, y);
		tpd_trend_add1(&b, t, x, y);
	}
	tpd_trend_add1(&b, 1764003600.0, NAN, 50);   /* ignored, as tpd_trend_add does */
	assert_true(tpd_trend_fit(&a, &fa) && tpd_trend_fit(&b, &fb));
	for (unsigned i = 0; i < 3; i++)
		assert_float_equal(fa.b[i], fb.b[i], 1e-9 * (1 + fabs(fa.b[i])));
	assert_float_equal(fa.sigma, fb.sigma, 1e-9);
	assert_int_equal(a.rows, b.rows);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_slope_and_eta),
		cmocka_unit_test(test_load_explains_daily_cycle),
		cmocka_unit_test(test_drift_under_cycle),
		cmocka_unit_test(test_forgetting),
		cmocka_unit_test(test_refuses_weak_data),
		cmocka_unit_test(test_add1_is_add),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
