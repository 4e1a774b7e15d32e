/*
 * test_predict.c - the edge forecast on 30-day synthetic histories: each
 * confounder alone (daily and weekly load rhythm with the ambient following
 * the day, a heat wave, a week of heavy load, a step into a hot cupboard, a
 * firmware update that shifts the CPU sensor's offset, a one-off grid dip,
 * read failures) raises nothing; each wear (dust and a wearing fan raise the
 * thermal resistance; a wearing fan also turns slower at the same duty; an
 * ageing adapter, a rising under-voltage rate) raises its predictive code
 * before the limit is crossed. The fan follows a control loop: its duty
 * rises with the CPU temperature it reads. Then the CUSUM's run length on
 * noise against Siegmund's figure.
 */
#include "testutil.h"

#include "predict.h"

#define DAY 86400.0
#define STEP_S 60.0
#define T0 1764000000.0

static const char pr_product_json[] =
	"{\"model\":\"pred-router\",\"sensors\":["
	"{\"id\":\"temp.cpu\",\"warn\":85,\"crit\":100},"
	"{\"id\":\"temp.board\",\"warn\":70,\"crit\":85},"
	"{\"id\":\"volt.vin\",\"min\":11.4,\"max\":13.2},"
	"{\"id\":\"curr.vin\",\"max\":2.5},"
	"{\"id\":\"fan.main\",\"stall_rpm\":500,\"spin_when\":{\"sensor\":\"temp.cpu\",\"above\":45}},"
	"{\"id\":\"load.cpu\"},"
	"{\"id\":\"event.undervoltage\",\"brownout\":{\"count\":3,\"window_s\":600}}],"
	"\"predict\":{\"horizon_s\":604800,\"ambient\":\"temp.board\"}}";

enum { P_CPU, P_BOARD, P_VIN, P_CURR, P_FAN, P_LOAD, P_UV, P_N };

/* What a history carries; every wear starts on day 5. */
struct pr_world {
	double heat_wave_c;      /* ambient + this on days 10..15 */
	bool heavy_week;         /* load 0.9 on days 12..19 */
	bool grid_dip;           /* day 15: five flags in one hour, rail at 11.0 V for 5 min */
	bool read_failures;      /* every 97th reading of each sensor fails, a spike a day */
	double dust_per_day;     /* thermal resistance grows by this fraction a day */
	int dust_curve;          /* 0 linear; 1 power 3, 2 exponential, 3 a step then a
				  * ramp: the same wear on day 30 as linear */
	double fan_wear_per_day; /* fan loses this fraction of its speed a day */
	double cupboard_c;       /* from day 12 on, ambient + this */
	double fw_offset_c;      /* from day 14 on, the CPU sensor reads this much more */
	double sag_v_per_day;    /* adapter: the rail under load drops this much a day */
	bool uv_rising;          /* under-voltage flags, growing in rate */
	bool flat_load;          /* load 0.5 +- 0.005 all along: no swing for a slope */
	double fw_day;           /* the firmware's day instead of 14 (0: 14) */
	double heat_wave_day;    /* the heat wave's first day instead of 10 (0: 10) */
	bool steep_hours;        /* day 20, 08:00-12:00: the SoC heats twice as fast with load */
	bool uv_with_load;       /* a sound adapter whose flags come with current (droops) */
};

struct pr_outcome {
	double raised[TPD_FAULT_CODE_COUNT];   /* first raise, days since start; NAN none */
	double eta_s[TPD_FAULT_CODE_COUNT];
	bool excess[TPD_FAULT_CODE_COUNT];     /* the first raise's basis */
	double base[TPD_FAULT_CODE_COUNT], now[TPD_FAULT_CODE_COUNT];
	double crossed_day;                    /* first day the wear crossed its limit */
	unsigned changes;
};

/* uv_with_load: a flag a minute's chance at load 0.9, and its growth with load */
#define UV_LOAD_P0 (1.0 / 60)
#define UV_LOAD_K 8.0

static unsigned pr_rand(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return (*s >> 8) & 0xffff;
}

static double pr_noise(unsigned *s, double a)
{
	return ((double)pr_rand(s) / 65535.0 * 2 - 1) * a;
}

/* Days of wear as a curve shape sees them: equal to `worn` on day 30 (25
 * days of wear) whatever the shape. */
static double pr_curve(int shape, double worn)
{
	double u = worn / 25.0;

	switch (shape) {
	case 1: return 25.0 * u * u * u;
	case 2: return 25.0 * (exp(3 * u) - 1) / (exp(3.0) - 1);
	case 3: return worn > 0 ? 25.0 * (0.3 + 0.7 * u) : 0;
	default: return worn;
	}
}

static void pr_run(const struct pr_world *w, int days, struct pr_outcome *o)
{
	struct tpd_product prod;
	struct tpd_predict *pred;
	char err[256] = "";
	unsigned seed = 12345;
	bool was_uv = false;

	assert_int_equal(tpd_product_parse(pr_product_json, strlen(pr_product_json), "pred", &prod,
					   err, sizeof(err)), TPD_OK);
	pred = tpd_predict_new(&prod, 0);
	assert_non_null(pred);
	memset(o, 0, sizeof(*o));
	for (int c = 0; c < TPD_FAULT_CODE_COUNT; c++)
		o->raised[c] = o->eta_s[c] = NAN;
	o->crossed_day = NAN;
	for (long k = 0; k < (long)(days * DAY / STEP_S); k++) {
		double ts = T0 + k * STEP_S, day = k * STEP_S / DAY, hour = fmod(day, 1.0) * 24;
		int dow = (int)day % 7;
		double worn = day > 5 ? day - 5 : 0;
		double v[P_N], clean[P_N];
		double edge[P_N] = { 0 };
		struct tpd_predict_event ev[TPD_PREDICT_MAX_TARGETS];
		double amb, load, rpm_target, uv_p;
		unsigned n;

		/* Daily rhythm peaking in the evening, quieter weekends. */
		load = 0.45 + 0.4 * sin(2 * M_PI * (hour - 14) / 24.0) * (dow >= 5 ? 0.6 : 1.0) +
		       pr_noise(&seed, 0.05);
		if (w->heavy_week && day >= 12 && day < 19)
			load = 0.9 + pr_noise(&seed, 0.03);
		if (w->flat_load)
			load = 0.5 + pr_noise(&seed, 0.005);
		load = fmin(fmax(load, 0.0), 1.0);
		amb = 24 + 3 * sin(2 * M_PI * (hour - 15) / 24.0) + pr_noise(&seed, 0.2);
		{
			double hw = w->heat_wave_day > 0 ? w->heat_wave_day : 10;

			if (day >= hw && day < hw + 5)
				amb += w->heat_wave_c;
		}
		if (day >= 12)
			amb += w->cupboard_c;
		{
			/* heat from the SoC through a resistance that dust and a
			 * slower fan raise; the board sensor follows the SoC */
			double wear = fmax(0, 1 - w->fan_wear_per_day * worn);
			double r = 1 + w->dust_per_day * pr_curve(w->dust_curve, worn) + 0.6 * (1 - wear);
			double rise = (14 + 26 * load) * r;

			if (w->steep_hours && day >= 20 + 8 / 24.0 && day < 20 + 12 / 24.0)
				rise = (14 + 52 * load) * r;

			v[P_CPU] = amb + rise + pr_noise(&seed, 0.4);
			v[P_BOARD] = amb + 0.5 * rise;
			if (day >= (w->fw_day > 0 ? w->fw_day : 14))
				v[P_CPU] += w->fw_offset_c;
			/* the control loop reads the (possibly offset) sensor */
			rpm_target = 2600 + 45 * (v[P_CPU] - 45);
			v[P_FAN] = v[P_CPU] > 45 ? rpm_target * wear + pr_noise(&seed, 30) : 0;
		}
		v[P_LOAD] = load;
		v[P_CURR] = 0.6 + 0.9 * load + pr_noise(&seed, 0.02);
		v[P_VIN] = 12.1 - 0.2 * v[P_CURR] - w->sag_v_per_day * worn * (v[P_CURR] / 1.5) +
			   pr_noise(&seed, 0.01);
		/* Under-voltage flags: one now and then in every world, a growing
		 * rate in a failing one, a burst in one hour for a grid dip. */
		uv_p = 1.0 / (14 * 1440.0);
		if (w->uv_rising && day > 5)
			uv_p = 0.002 * worn * worn / 1440.0 * 60;
		if (w->uv_with_load)
			uv_p = UV_LOAD_P0 * exp(UV_LOAD_K * (load - 0.9));
		v[P_UV] = (double)pr_rand(&seed) / 65536.0 < uv_p;
		if (w->grid_dip && day >= 15 && day < 15 + 5 * STEP_S / DAY) {
			v[P_VIN] = 11.0;
			v[P_UV] = k % 2 == 0;
		}
		if (w->read_failures) {
			for (int i = 0; i < P_N; i++)
				if ((k + i) % 97 == 0)
					v[i] = NAN;
			if (k % 1440 == 700)
				v[P_CPU] = 400;   /* implausible, filtered to NAN by the agent */
		}
		for (int i = 0; i < P_N; i++) {
			clean[i] = v[i] >= prod.sensors[i].plaus_lo && v[i] <= prod.sensors[i].plaus_hi
					   ? v[i] : NAN;
		}
		edge[P_UV] = clean[P_UV] >= 0.5 && !was_uv;
		was_uv = clean[P_UV] >= 0.5;
		/* When did the wear reach its limit at the busy hour? */
		if (isnan(o->crossed_day) &&
		    ((w->dust_per_day > 0 && clean[P_CPU] >= 100) ||
		     (w->fan_wear_per_day > 0 && clean[P_FAN] > 0 && clean[P_FAN] < 500) ||
		     (w->sag_v_per_day > 0 && clean[P_VIN] < 11.4)))
			o->crossed_day = day;
		n = tpd_predict_sample(pred, ts, clean, edge, ev, TPD_PREDICT_MAX_TARGETS);
		for (unsigned i = 0; i < n; i++) {
			o->changes++;
			if (ev[i].raised && isnan(o->raised[ev[i].code])) {
				o->raised[ev[i].code] = day;
				o->eta_s[ev[i].code] = ev[i].eta_s;
				o->excess[ev[i].code] = ev[i].excess;
				o->base[ev[i].code] = ev[i].baseline;
				o->now[ev[i].code] = ev[i].now;
			}
		}
	}
	tpd_predict_free(pred);
}

static void pr_assert_quiet(const struct pr_world *w)
{
	struct pr_outcome o;

	pr_run(w, 30, &o);
	for (int c = 0; c < TPD_FAULT_CODE_COUNT; c++)
		if (!isnan(o.raised[c]))
			fail_msg("%s raised on day %.1f", tpd_fault_code_name(c), o.raised[c]);
	assert_int_equal(o.changes, 0);
}

static void test_rhythms_alone_are_quiet(void **state)
{
	struct pr_world w = { 0 };

	(void)state;
	pr_assert_quiet(&w);
}

static void test_heat_wave_is_quiet(void **state)
{
	struct pr_world w = { .heat_wave_c = 12 };

	(void)state;
	pr_assert_quiet(&w);
}

static void test_heavy_week_is_quiet(void **state)
{
	struct pr_world w = { .heavy_week = true };

	(void)state;
	pr_assert_quiet(&w);
}

static void test_hot_cupboard_is_quiet(void **state)
{
	struct pr_world w = { .cupboard_c = 9 };

	(void)state;
	pr_assert_quiet(&w);
}

static void test_sensor_offset_update_is_quiet(void **state)
{
	struct pr_world w = { .fw_offset_c = 5 };

	(void)state;
	pr_assert_quiet(&w);
}

/* A firmware that moves the CPU sensor's offset while the detectors are
 * still learning (day 1.5) or calibrating (day 3.5): the early-life line's
 * level ends up between the two offsets, which must not read as a rise. */
static void test_offset_update_in_learning_is_quiet(void **state)
{
	struct pr_world w = { .fw_offset_c = 3, .fw_day = 1.5 };

	(void)state;
	pr_assert_quiet(&w);
}

static void test_offset_update_in_calibration_is_quiet(void **state)
{
	struct pr_world w = { .fw_offset_c = 3, .fw_day = 3.5 };

	(void)state;
	pr_assert_quiet(&w);
}

/* A heat wave over the learning days: early life is learned hot. */
static void test_heat_wave_over_learning_is_quiet(void **state)
{
	struct pr_world w = { .heat_wave_c = 8, .heat_wave_day = 0.5 };

	(void)state;
	pr_assert_quiet(&w);
}

/* Four hours of steep slopes in a row (a transient the fan's loop lags
 * behind): the slope's CUSUM may cross h, but must not stay there. */
static void test_steep_hours_are_quiet(void **state)
{
	struct pr_world w = { .steep_hours = true };

	(void)state;
	pr_assert_quiet(&w);
}

/* A busy week on a sound adapter whose under-voltage flags come with the
 * current (load droops): the rate rises with the load, never beyond what
 * the same load gave in early life. */
static void test_busy_week_droops_are_quiet(void **state)
{
	struct pr_world w = { .heavy_week = true, .uv_with_load = true };

	(void)state;
	pr_assert_quiet(&w);
}

/* The CUSUM on N(0,1) rows: the mean run length to a false alarm against
 * Siegmund's figure, within a factor of 2 (tpd/cusum.h), for two designs. */
static void pr_assert_arl(double k, double h, unsigned runs)
{
	uint64_t s = 0x9E3779B97F4A7C15ull;
	double total = 0, want = tpd_cusum_arl(k, h, 0);

	for (unsigned r = 0; r < runs; r++) {
		struct tpd_cusum c;
		unsigned long n = 0;

		tpd_cusum_init(&c, k, h, INFINITY);
		do {
			/* Box-Muller on a xorshift64* stream */
			double u1, u2;

			s ^= s >> 12; s ^= s << 25; s ^= s >> 27;
			u1 = ((s * 2685821657736338717ull) >> 11) / 9007199254740992.0 + 1e-300;
			s ^= s >> 12; s ^= s << 25; s ^= s >> 27;
			u2 = ((s * 2685821657736338717ull) >> 11) / 9007199254740992.0;
			n++;
			if (tpd_cusum_add(&c, sqrt(-2 * log(u1)) * cos(2 * M_PI * u2)))
				break;
		} while (n < 100000000ul);
		total += (double)n;
	}
	print_message("  CUSUM k=%.2f h=%.1f: mean run %.0f rows over %u runs, Siegmund %.0f\n", k, h,
		      total / runs, runs, want);
	assert_true(total / runs > want / 2 && total / runs < want * 2);
}

static void test_cusum_run_length_on_noise(void **state)
{
	(void)state;
	pr_assert_arl(0.5, 4.0, 400);
	pr_assert_arl(1.0, 3.0, 200);
	/* and a shift of 2 sd decides within a handful of rows */
	assert_true(tpd_cusum_arl(1.0, 5.0, 2.0) < 8);
}

static void test_grid_dip_is_quiet(void **state)
{
	struct pr_world w = { .grid_dip = true };

	(void)state;
	pr_assert_quiet(&w);
}

static void test_read_failures_are_quiet(void **state)
{
	struct pr_world w = { .read_failures = true };

	(void)state;
	pr_assert_quiet(&w);
}

/* One wear: its code is raised before the limit is crossed, and nothing
 * else but `also` (-1: none), which the same wear may rightly raise too. */
static void pr_assert_predicted_also(const struct pr_world *w, enum tpd_fault_code code, int also)
{
	struct pr_outcome o;

	pr_run(w, 30, &o);
	print_message("  %s: raised day %.1f (eta %.1f d), limit crossed day %.1f\n",
		      tpd_fault_code_name(code), o.raised[code], o.eta_s[code] / DAY, o.crossed_day);
	assert_false(isnan(o.raised[code]));
	assert_true(isnan(o.crossed_day) || o.raised[code] < o.crossed_day);
	/* a change detector decides; the ETA is its quantity's growth so far */
	assert_true(o.eta_s[code] > 0 && isfinite(o.eta_s[code]));
	for (int c = 0; c < TPD_FAULT_CODE_COUNT; c++)
		if (c != (int)code && c != also && !isnan(o.raised[c]))
			fail_msg("also %s raised on day %.1f", tpd_fault_code_name(c), o.raised[c]);
}

static void pr_assert_predicted(const struct pr_world *w, enum tpd_fault_code code)
{
	pr_assert_predicted_also(w, code, -1);
}

static void test_dust_raises_temp_rising(void **state)
{
	struct pr_world w = { .dust_per_day = 0.03 };

	(void)state;
	pr_assert_predicted(&w, TPD_FAULT_TEMP_RISING);
}

/* Each wear family is caught: a late-steep power curve, an exponential one,
 * and a step then a ramp, all reaching the same wear on day 30. */
static void test_dust_wear_families(void **state)
{
	(void)state;
	for (int shape = 1; shape <= 3; shape++) {
		struct pr_world w = { .dust_per_day = 0.03, .dust_curve = shape };

		print_message("  curve %d\n", shape);
		pr_assert_predicted(&w, TPD_FAULT_TEMP_RISING);
	}
}

/* Under a load that never swings there is no thermal slope to fit: the
 * excess over the board sensor (which follows the SoC by 0.5 here) catches
 * the dust, and says so with numbers; an ambient step, a sensor's offset
 * step and a heat wave under the same flat load raise nothing. */
static void test_flat_load_dust_caught_by_excess(void **state)
{
	struct pr_world w = { .dust_per_day = 0.03, .flat_load = true };
	struct pr_outcome o;
	int c = TPD_FAULT_TEMP_RISING;

	(void)state;
	pr_assert_predicted(&w, TPD_FAULT_TEMP_RISING);
	pr_run(&w, 30, &o);
	assert_true(o.excess[c]);
	/* early life: 0.5 * (14 + 26 * 0.5) = 13.5 C over the board */
	assert_float_equal(o.base[c], 13.5, 0.5);
	print_message("  excess %.2f C against %.2f C in early life\n", o.now[c], o.base[c]);
	/* the CUSUM's allowance is half the 2 C effect floor */
	assert_true(o.now[c] >= o.base[c] + 1);
}

static void test_flat_load_confounders_are_quiet(void **state)
{
	struct pr_world cup = { .cupboard_c = 9, .flat_load = true };
	struct pr_world fw = { .fw_offset_c = 5, .flat_load = true };
	struct pr_world fw_down = { .fw_offset_c = -5, .flat_load = true };
	struct pr_world wave = { .heat_wave_c = 8, .flat_load = true, .read_failures = true };

	(void)state;
	pr_assert_quiet(&cup);
	pr_assert_quiet(&fw);
	pr_assert_quiet(&fw_down);
	pr_assert_quiet(&wave);
}

static void test_dust_under_heat_wave(void **state)
{
	struct pr_world w = { .dust_per_day = 0.03, .heat_wave_c = 8, .read_failures = true };

	(void)state;
	pr_assert_predicted(&w, TPD_FAULT_TEMP_RISING);
}

static void test_fan_wear_raises_fan_degraded(void **state)
{
	struct pr_world w = { .fan_wear_per_day = 0.04 };

	(void)state;
	/* a slower fan also raises the thermal slope */
	pr_assert_predicted_also(&w, TPD_FAULT_FAN_DEGRADED, TPD_FAULT_TEMP_RISING);
}

static void test_adapter_sag_raises_pwr_degrading(void **state)
{
	struct pr_world w = { .sag_v_per_day = 0.03 };

	(void)state;
	pr_assert_predicted(&w, TPD_FAULT_PWR_DEGRADING);
}

static void test_rising_undervoltage_rate(void **state)
{
	struct pr_world w = { .uv_rising = true };

	(void)state;
	pr_assert_predicted(&w, TPD_FAULT_PWR_DEGRADING);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rhythms_alone_are_quiet),
		cmocka_unit_test(test_heat_wave_is_quiet),
		cmocka_unit_test(test_heavy_week_is_quiet),
		cmocka_unit_test(test_grid_dip_is_quiet),
		cmocka_unit_test(test_hot_cupboard_is_quiet),
		cmocka_unit_test(test_sensor_offset_update_is_quiet),
		cmocka_unit_test(test_offset_update_in_learning_is_quiet),
		cmocka_unit_test(test_offset_update_in_calibration_is_quiet),
		cmocka_unit_test(test_heat_wave_over_learning_is_quiet),
		cmocka_unit_test(test_steep_hours_are_quiet),
		cmocka_unit_test(test_busy_week_droops_are_quiet),
		cmocka_unit_test(test_cusum_run_length_on_noise),
		cmocka_unit_test(test_read_failures_are_quiet),
		cmocka_unit_test(test_dust_raises_temp_rising),
		cmocka_unit_test(test_dust_under_heat_wave),
		cmocka_unit_test(test_flat_load_dust_caught_by_excess),
		cmocka_unit_test(test_flat_load_confounders_are_quiet),
		cmocka_unit_test(test_dust_wear_families),
		cmocka_unit_test(test_fan_wear_raises_fan_degraded),
		cmocka_unit_test(test_adapter_sag_raises_pwr_degrading),
		cmocka_unit_test(test_rising_undervoltage_rate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
