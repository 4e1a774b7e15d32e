/*
 * predict.c - the agent's edge forecast (see predict.h).
 *
 * Layout: targets (which sensors are forecast), the hour's accumulation, the
 * thermal-slope detector, the fan-baseline detector, the rail and the event
 * rate, the decision per hour.
 *
 * Design notes:
 * 1. Hourly rows, not samples: a daily rhythm is 24 rows a day whatever the
 *    sample rate (1 s on a device, a telemetry period in the collector), the
 *    CUSUM rows are closer to independent, and one implausible reading
 *    (already NAN here, agent.c note 1) cannot move an hour's mean.
 * 2. No ambient sensor. A board sensor sits on the same PCB as the SoC and
 *    follows it (by 0.25 to 1 in the field), so regressing on it as
 *    "ambient" absorbs the very drift to be found. What wear changes and the
 *    surroundings do not is a ratio: the temperature rise per unit of load
 *    (thermal resistance) and the fan's speed at a given demand.
 * 3. The thermal slope is measured within the hour: T = a + s*load + c*t
 *    on the hour's samples (one a second on a device, one a telemetry period
 *    in the collector). Between hours, ambient follows the day much as the
 *    load does (afternoon heat, evening use), and on a weekend the load
 *    swings less while the ambient does not: a slope fitted across hours
 *    mixes the two and moves with the calendar. Within an hour the ambient
 *    is a straight line, which the time term takes, and what is left is how
 *    the temperature follows the load's minute-to-minute swings. Hours are
 *    then independent rows for the CUSUM, as its run length assumes.
 * 4. Early life is the baseline: a product is assumed sound when it starts
 *    reporting (the first three days). A device that starts already worn is
 *    compared with its worn self, and only its further wear is seen; the
 *    collector's fleet comparison (cloud/fleet.c) covers that case.
 * 5. Under-voltage events are rare and bursty: a CUSUM against four times the
 *    device's own long-run rate (at least one event a week) with each hour's
 *    count capped, plus events in at least 3 distinct hours of the last day,
 *    so one grid dip with a handful of flags never raises it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "predict.h"

#define PREDICT_HALF_LIFE_S (7 * 86400.0)   /* drift memory for the ETA */
#define PREDICT_EVENT_HALF_LIFE_S (3 * 86400.0)
#define PREDICT_SLOW_HALF_LIFE_S (14 * 86400.0)
#define PREDICT_PEAK_HALF_LIFE_S (7 * 86400.0)
#define PREDICT_DAY_HALF_LIFE_S 86400.0     /* "now" in descriptions */
#define PREDICT_GROWTH_HALF_LIFE_S (3 * 86400.0) /* the detectors' ETA memory */
#define PREDICT_MIN_ROWS 48                 /* hours before a drift gives an ETA */
#define PREDICT_CLEAR_SE 4.0                /* rail: slope this many standard errors */
#define PREDICT_HOLD_SE 2.0                 /* ...and stays raised above this */
#define PREDICT_MIN_SAMPLES 5               /* samples that make an hour */
#define PREDICT_EVENT_FLOOR_PER_H (1.0 / 168.0)
#define PREDICT_EVENT_CAP_PER_H 3.0
#define PREDICT_EVENT_BIN_MIN 10.0          /* early-life events that give a rate per load */
#define PREDICT_CUSUM_H 10.0
#define PREDICT_EVENT_HOURS 3
/* The CUSUMs on hourly rows (tpd/cusum.h): allowance and cap in standard
 * deviations. With k = 1 and h = 5 an in-control run lasts about 1.1e5
 * hours (13 years) on independent rows; a shift of 3 sd decides in 3 h. */
#define PREDICT_K 1.0
#define PREDICT_CAP 3.0
/* An hour's thermal slope in its own standard errors scatters more than
 * N(0,1) (the fan's regime, an operating point learned in a busy week):
 * its scale is measured, and never taken below this. */
#define PREDICT_Z_SCALE_FLOOR 1.2
/* Effects too small to call wear, whatever their significance: a thermal
 * slope 15 % above its early life (the allowance is never below half of
 * it), a fan 16 % below its early-life speed (never below all of it: a
 * firmware may rescale a tacho by 10-15 % for good, a bearing does not
 * stop at that). */
#define PREDICT_TEMP_REL 0.15
#define PREDICT_FAN_REL 0.16
#define PREDICT_TEMP_MIN_SLOPE 0.3          /* C per unit load to tell a change of */
#define PREDICT_TEMP_MIN_VAR 1e-4          /* load variance an hour needs (sd 0.01) */
#define PREDICT_TEMP_NOISE_FLOOR_C 0.1      /* a sensor's resolution, at least */
#define PREDICT_TEMP_BIN_HOURS 3            /* hours that make an operating point */
/* The slope's CUSUM must stay over h this many closed hours before it
 * raises: an hour's slope has heavy tails (a load ramp the fan's loop has
 * not caught up with), and four such hours in a row crossed h on healthy
 * devices (4 in 200 healthy device-months of the tuning fleets), while a
 * worn product's CUSUM climbs to its cap and stays. Siegmund's ARL of the
 * plain CUSUM (note 3) is therefore a lower bound here. */
#define PREDICT_TEMP_STAND_H 6
/* The excess over the reference sensor: a rise of 15 % of the early-life
 * load-driven part, and never under 2 C, is worth a call (a sensor's
 * offset moves by 2-5 C with a firmware, but as a step: one of at least
 * 1.5 C, and 3 hourly spreads, in every one of 3 hours after 6 steady
 * ones is absorbed, not counted); spread floor 0.2 C. */
#define PREDICT_EXCESS_REL 0.15
#define PREDICT_EXCESS_MIN_C 2.0
#define PREDICT_EXCESS_STEP_C 1.5
#define PREDICT_EXCESS_STEP_SD 3.0
#define PREDICT_EXCESS_SIGMA_FLOOR_C 0.2
#define PREDICT_EXCESS_MIN_LOAD_SPAN 0.05   /* learned loads' sd: a line through them */
#define PREDICT_EXCESS_LOAD_MARGIN 0.05     /* how far past the learned loads an hour counts */
/* The adapter: a resistance 50 % and 0.2 ohm above its early life is worth
 * a call (the allowance is never below half of it; one that fails has
 * gained several times its own), fitted on hours whose current varies (sd
 * 5 mA); a rail that drops less than 10 mV per A has none to watch. The
 * fit is biased low by the current sensor's own noise, the same way early
 * and late, so the ratio holds. */
#define PREDICT_RAIL_REL 0.5
#define PREDICT_RAIL_MIN_SHIFT_OHM 0.2
#define PREDICT_RAIL_MIN_VAR 2.5e-5
#define PREDICT_RAIL_NOISE_FLOOR_V 0.002
#define PREDICT_RAIL_MIN_OHM 0.01
#define PREDICT_FAN_SIGMA_FLOOR 0.02
#define PREDICT_FAN_MIN_N 5.0               /* samples that make a fan bin */

static int predict_first_of_kind(const struct tpd_product *p, enum tpd_sensor_kind kind)
{
	for (size_t i = 0; i < p->nsensors; i++)
		if (p->sensors[i].kind == kind)
			return (int)i;
	return -1;
}

/* The excess detector's reference for temperature sensor si: the product's
 * declared ambient, else its first other temperature sensor; -1: none. */
static int predict_excess_ref(const struct tpd_product *p, int si)
{
	if (p->predict_ambient >= 0 && p->predict_ambient != si)
		return p->predict_ambient;
	for (size_t i = 0; i < p->nsensors; i++)
		if (p->sensors[i].kind == TPD_KIND_TEMP && (int)i != si)
			return (int)i;
	return -1;
}

static struct tpd_predict_target *predict_add(struct tpd_predict *p, enum tpd_predict_kind kind,
					      int sensor, double limit, int x0,
					      double half_life_s)
{
	struct tpd_predict_target *t;

	t = &p->t[p->ntargets++];
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	t->sensor = sensor;
	t->limit = limit;
	if (x0 >= 0)
		t->x[t->nx++] = x0;
	tpd_trend_init(&t->trend, t->nx, half_life_s);
	t->min_y = INFINITY;
	t->last_y = NAN;
	for (unsigned i = 0; i < TPD_TREND_MAX_X; i++) {
		t->peak_x[i] = NAN;
		t->last_x[i] = NAN;
	}
	if (kind == TPD_PREDICT_TEMP) {
		/* within the hour nothing decays */
		tpd_trend_init(&t->u.th.hour, 1, INFINITY);
		t->u.th.slope0 = t->u.th.slope_avg = NAN;
		tpd_trend_init(&t->u.th.growth, 0, PREDICT_GROWTH_HALF_LIFE_S);
		tpd_cusum_init(&t->u.th.rise, PREDICT_K, p->threshold, PREDICT_CAP);
		t->u.th.ex.ref = -1;
		t->u.th.ex.a = t->u.th.ex.b = t->u.th.ex.last_load = NAN;
		tpd_cusum_init(&t->u.th.ex.rise, PREDICT_K, p->threshold, PREDICT_CAP);
	} else if (kind == TPD_PREDICT_RAIL) {
		tpd_trend_init(&t->u.rail.hour, 1, INFINITY);
		t->u.rail.ohm0 = t->u.rail.ohm_avg = NAN;
		/* hours of an adapter say less than hours of heat (the current
		 * sensor's own noise): twice the decision interval */
		tpd_cusum_init(&t->u.rail.rise, PREDICT_K, 2 * p->threshold, PREDICT_CAP);
	} else if (kind == TPD_PREDICT_FAN) {
		t->u.fan.ratio = t->u.fan.ratio_avg = NAN;
		tpd_trend_init(&t->u.fan.growth, 0, PREDICT_GROWTH_HALF_LIFE_S);
		tpd_cusum_init(&t->u.fan.shortfall, PREDICT_K, p->threshold, PREDICT_CAP);
	} else if (kind == TPD_PREDICT_EVENTS) {
		t->u.ev.load = -1;
		t->u.ev.last_load = NAN;
	}
	return t;
}

/* Adds the product's targets to p, or only counts them when p is NULL. */
static unsigned predict_targets(struct tpd_predict *p, const struct tpd_product *prod)
{
	int load = predict_first_of_kind(prod, TPD_KIND_LOAD);
	int curr = predict_first_of_kind(prod, TPD_KIND_CURR);
	int amb = prod->predict_ambient;
	unsigned n = 0;

	for (size_t i = 0; i < prod->nsensors && n < TPD_PREDICT_MAX_TARGETS; i++) {
		const struct tpd_sensor_desc *s = &prod->sensors[i];
		int si = (int)i;

		if (s->kind == TPD_KIND_TEMP && !isnan(s->crit) && si != amb && load >= 0) {
			if (p)
				predict_add(p, TPD_PREDICT_TEMP, si, s->crit, load, PREDICT_HALF_LIFE_S)
					->u.th.ex.ref = predict_excess_ref(prod, si);
		} else if (s->kind == TPD_KIND_FAN && !isnan(s->stall_rpm) &&
			   (s->spin_sensor >= 0 || load >= 0)) {
			if (p)
				predict_add(p, TPD_PREDICT_FAN, si, s->stall_rpm,
					    s->spin_sensor >= 0 ? s->spin_sensor : load,
					    PREDICT_HALF_LIFE_S);
		} else if (s->kind == TPD_KIND_VOLT && !isnan(s->min)) {
			if (p)
				predict_add(p, TPD_PREDICT_RAIL, si, s->min, curr >= 0 ? curr : load,
					    PREDICT_HALF_LIFE_S);
		} else if (s->kind == TPD_KIND_EVENT && strcmp(s->id, "event.undervoltage") == 0) {
			/* The rate at which brownouts would follow one another. */
			if (p)
				predict_add(p, TPD_PREDICT_EVENTS, si,
					    s->brownout_count ? s->brownout_count * 3600.0 /
								s->brownout_window_s : 6.0,
					    -1, PREDICT_EVENT_HALF_LIFE_S)->u.ev.load = load;
		} else {
			continue;
		}
		n++;
	}
	return n;
}

size_t tpd_predict_bytes(const struct tpd_product *prod)
{
	return sizeof(struct tpd_predict) + predict_targets(NULL, prod) * sizeof(struct tpd_predict_target);
}

void tpd_predict_init(struct tpd_predict *p, const struct tpd_product *prod, double threshold)
{
	memset(p, 0, sizeof(*p));
	p->product = prod;
	p->threshold = threshold > 0 ? threshold : TPD_PREDICT_THRESHOLD;
	p->bin_start = NAN;
	predict_targets(p, prod);
}

struct tpd_predict *tpd_predict_new(const struct tpd_product *prod, double threshold)
{
	struct tpd_predict *p = calloc(1, tpd_predict_bytes(prod));

	if (p)
		tpd_predict_init(p, prod, threshold);
	return p;
}

void tpd_predict_free(struct tpd_predict *p)
{
	free(p);
}

size_t tpd_predict_size(const struct tpd_predict *p)
{
	return sizeof(*p) + p->ntargets * sizeof(p->t[0]);
}

/* The fan's early-life speed at demand d: its bin, else the nearest learned
 * bin below (the speed does not fall as demand rises, so that errs towards
 * "not degraded"); NAN below everything learned. */
static int predict_fan_bin(const struct tpd_product *prod, const struct tpd_predict_target *t,
			   double d)
{
	double b = prod->sensors[t->x[0]].kind == TPD_KIND_LOAD ? d * (TPD_PREDICT_FAN_BINS - 1)
								 : (d - 10.0) / 2.0;

	return b < 0 ? 0 : b >= TPD_PREDICT_FAN_BINS - 1 ? TPD_PREDICT_FAN_BINS - 1 : (int)b;
}

static double predict_fan_base(const struct tpd_predict_fanbase *f, int bin)
{
	for (int i = bin; i >= 0; i--)
		if (f->n[i] >= PREDICT_FAN_MIN_N)
			return f->rpm_sum[i] / f->n[i];
	return NAN;
}

static void predict_accumulate(struct tpd_predict_target *t, double ts, const double *clean,
			       const double *events, const struct tpd_product *prod)
{
	double y = clean[t->sensor];

	if (t->kind == TPD_PREDICT_EVENTS) {
		struct tpd_predict_rate *ev = &t->u.ev;

		if (!isnan(events[t->sensor]))
			t->sum_y += events[t->sensor];
		if (ev->load >= 0 && !isnan(clean[ev->load])) {
			ev->load_sum += clean[ev->load];
			ev->load_n++;
		}
		t->n++;
		return;
	}
	if (isnan(y))
		return;
	/* A fan's wear shows while it turns; stopped is FAN_STALL's business. */
	if (t->kind == TPD_PREDICT_FAN && y < prod->sensors[t->sensor].stall_rpm)
		return;
	for (unsigned i = 0; i < t->nx; i++)
		if (isnan(clean[t->x[i]]))
			return;
	for (unsigned i = 0; i < t->nx; i++)
		t->sum_x[i] += clean[t->x[i]];
	if (t->kind == TPD_PREDICT_TEMP) {
		struct tpd_predict_thermal *th = &t->u.th;
		double l = clean[t->x[0]];

		tpd_trend_add1(&th->hour, ts, l, y);
		th->load_sum += l;
		th->load_ss += l * l;
		if (th->ex.ref >= 0 && !isnan(clean[th->ex.ref])) {
			th->ex.sum_d += y - clean[th->ex.ref];
			th->ex.sum_l += l;
			th->ex.n++;
		}
	} else if (t->kind == TPD_PREDICT_RAIL) {
		struct tpd_predict_sag *r = &t->u.rail;
		double i = clean[t->x[0]];

		tpd_trend_add1(&r->hour, ts, i, y);
		r->x_sum += i;
		r->x_ss += i * i;
	} else if (t->kind == TPD_PREDICT_FAN) {
		struct tpd_predict_fanbase *f = &t->u.fan;
		int bin = predict_fan_bin(prod, t, clean[t->x[0]]);

		if (t->hours < TPD_PREDICT_LEARN_H) {
			f->rpm_sum[bin] += (float)y;
			f->n[bin] += 1.0f;
		} else {
			double base = predict_fan_base(f, bin);

			if (base > 0) {
				f->sum_q += y / base;
				f->nq++;
			}
		}
	}
	t->sum_y += y;
	if (y < t->min_y)
		t->min_y = y;
	t->n++;
}

static int predict_popcount(uint32_t v)
{
	int n = 0;

	for (; v; v &= v - 1)
		n++;
	return n;
}

/* A CUSUM row for a statistic z whose allowance must be at least
 * min_shift/2 (both in standard deviations): shifted so the CUSUM's own
 * allowance k applies, and capped there (tpd/cusum.h). */
static double predict_row(double z, double min_shift)
{
	double k = fmax(PREDICT_K, min_shift / 2);

	return z - k + PREDICT_K;
}

/* A CUSUM may not run far past its decision interval, so it can come back
 * within a few days once the cause is gone (a cleaned heat sink). */
static bool predict_cusum(struct tpd_cusum *c, double row)
{
	bool over = tpd_cusum_add(c, row);

	c->s = fmin(c->s, 3 * c->h);
	return over;
}

static int predict_temp_bin(double temp)
{
	double b = (temp - 10.0) / 4.0;

	return b < 0 ? 0 : b >= TPD_PREDICT_TEMP_BINS - 1 ? TPD_PREDICT_TEMP_BINS - 1 : (int)b;
}

static void predict_temp_learn(struct tpd_predict_thermal *th, int bin, double slope, double w)
{
	th->bin_sw[bin] += (float)(w * w * slope);
	th->bin_w[bin] += (float)(w * w);
	if (th->bin_hours[bin] < UINT8_MAX)
		th->bin_hours[bin]++;
}

/* The early-life slope at an hour's operating point: its own bin, else the
 * nearest learned one colder (hotter than anything learned is where wear
 * leads; the faster fan there damps more, so this errs towards "not
 * worn"); NAN when colder than everything learned. */
static double predict_temp_base(const struct tpd_predict_thermal *th, int bin)
{
	for (int i = bin; i >= 0; i--)
		if (th->bin_hours[i] >= PREDICT_TEMP_BIN_HOURS && th->bin_w[i] > 0)
			return th->bin_sw[i] / th->bin_w[i];
	return NAN;
}

static void predict_sort(float *v, unsigned n)
{
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && v[j - 1] > v[j]; j--) {
			float x = v[j];

			v[j] = v[j - 1];
			v[j - 1] = x;
		}
}

/* An offset step up in the ring (its last 3 hours all above the 6 before
 * by more than noise): absorbed into the offset before any of those hours
 * reaches the CUSUM. A wear step that size is absorbed too; the slope and
 * fan detectors still see it. A step down is left alone: it only makes the
 * device look cooler (and a cleaned heat sink must clear the forecast). */
static void predict_excess_step(struct tpd_predict_excess *e)
{
	const unsigned old = TPD_PREDICT_EXCESS_RING - 3;
	float prev[TPD_PREDICT_EXCESS_RING], step[3];
	double mid, big = fmax(PREDICT_EXCESS_STEP_SD * e->sigma, PREDICT_EXCESS_STEP_C);
	int up = 0;

	memcpy(prev, e->ring_r, old * sizeof(float));
	predict_sort(prev, old);
	mid = (prev[old / 2 - 1] + prev[old / 2]) / 2;
	for (unsigned i = 0; i < 3; i++) {
		step[i] = (float)(e->ring_r[old + i] - mid);
		up += step[i] > big;
	}
	if (up != 3)
		return;
	predict_sort(step, 3);
	e->offset += step[1];
	for (unsigned i = old; i < TPD_PREDICT_EXCESS_RING; i++)
		e->ring_r[i] -= step[1];
}

/* A calibration hour of the excess detector. At the end, a calibration day
 * that runs above the learned line has its mean taken into the offset and
 * the spread taken around it: a firmware step inside the learning days
 * left the line's level between the two offsets, and must not look like a
 * rise ever after. A day below the line is left alone, as a step down is:
 * a heat wave over the learning days (the fan faster, the excess lower)
 * would otherwise make every ordinary day after it look like a rise. */
static void predict_excess_calibrate(struct tpd_predict_excess *e, double r)
{
	double m;

	e->cal_sum += r;
	e->cal_ss += r * r;
	if (++e->cal_n < TPD_PREDICT_CAL_H)
		return;
	m = fmax(e->cal_sum / e->cal_n, 0);
	e->sigma = fmax(sqrt(fmax(e->cal_ss / e->cal_n - m * m, 0)), PREDICT_EXCESS_SIGMA_FLOOR_C);
	e->offset += m;
	for (unsigned i = 0; i < e->ring_n; i++)
		e->ring_r[i] -= (float)m;
}

/* The excess detector's hour (predict.h, struct tpd_predict_excess): learn
 * the line through load, then the spread, then a CUSUM on the residuals as
 * they leave the ring. */
static void predict_excess_hour(struct tpd_predict_excess *e)
{
	double d, l, r;

	if (e->n < PREDICT_MIN_SAMPLES)
		goto reset;
	d = e->sum_d / e->n;
	l = e->sum_l / e->n;
	e->last_load = l;
	if (e->learn_n < TPD_PREDICT_LEARN_H) {
		double *q = e->ls;

		q[0] += 1; q[1] += l; q[2] += d; q[3] += l * l; q[4] += l * d;
		e->load_lo = e->learn_n == 0 ? (float)l : fminf(e->load_lo, (float)l);
		e->load_hi = e->learn_n == 0 ? (float)l : fmaxf(e->load_hi, (float)l);
		if (++e->learn_n == TPD_PREDICT_LEARN_H) {
			double sxx = q[3] - q[1] * q[1] / q[0];

			/* loads that hardly moved give no line: the level alone */
			e->b = sxx / q[0] > PREDICT_EXCESS_MIN_LOAD_SPAN * PREDICT_EXCESS_MIN_LOAD_SPAN
				       ? (q[4] - q[1] * q[2] / q[0]) / sxx : 0;
			e->a = (q[2] - e->b * q[1]) / q[0];
		}
		goto reset;
	}
	/* an hour at a load early life never saw says nothing: the line is
	 * not straight there (below the fan's spin-up the excess jumps) */
	if (l < e->load_lo - PREDICT_EXCESS_LOAD_MARGIN || l > e->load_hi + PREDICT_EXCESS_LOAD_MARGIN)
		goto reset;
	r = d - (e->a + e->b * l) - e->offset;
	/* Every hour after learning goes through the ring, calibration's
	 * too, so that a firmware step in the calibration day is absorbed
	 * before it can inflate the spread. */
	if (e->ring_n == TPD_PREDICT_EXCESS_RING) {
		double r0 = e->ring_r[0], l0 = e->ring_l[0];

		memmove(e->ring_r, e->ring_r + 1, (TPD_PREDICT_EXCESS_RING - 1) * sizeof(float));
		memmove(e->ring_l, e->ring_l + 1, (TPD_PREDICT_EXCESS_RING - 1) * sizeof(float));
		e->ring_n--;
		if (e->cal_n < TPD_PREDICT_CAL_H) {
			predict_excess_calibrate(e, r0);
			r -= e->cal_n == TPD_PREDICT_CAL_H ? fmax(e->cal_sum / e->cal_n, 0) : 0;
		} else {
			double shift = fmax(PREDICT_EXCESS_REL * fabs(e->b) * l0, PREDICT_EXCESS_MIN_C);

			predict_cusum(&e->rise, predict_row(r0 / e->sigma, shift / e->sigma));
		}
	}
	e->ring_r[e->ring_n] = (float)r;
	e->ring_l[e->ring_n] = (float)l;
	if (++e->ring_n == TPD_PREDICT_EXCESS_RING)
		predict_excess_step(e);
reset:
	e->sum_d = e->sum_l = 0;
	e->n = 0;
}

/* The thermal-slope detector's hour (note 3): the slope of the hour just
 * closed, against early life at the same operating point. */
static void predict_thermal_hour(struct tpd_predict_target *t)
{
	struct tpd_predict_thermal *th = &t->u.th;
	struct tpd_trend_fit fit;
	double n = th->hour.n_eff, var, slope, a, w, z, base;
	int bin;

	if (th->ex.ref >= 0)
		predict_excess_hour(&th->ex);
	var = n > 0 ? th->load_ss / n - (th->load_sum / n) * (th->load_sum / n) : 0;
	if (n < PREDICT_MIN_SAMPLES || var < PREDICT_TEMP_MIN_VAR || !tpd_trend_fit(&th->hour, &fit))
		goto reset;
	slope = fit.b[1];
	/* the hour's slope in its own standard errors: an hour of 12 samples
	 * or a flat load says less than one of 360 with the load swinging */
	w = sqrt(n * var) / fmax(fit.sigma, PREDICT_TEMP_NOISE_FLOOR_C);
	a = exp2(-TPD_PREDICT_BIN_S / PREDICT_DAY_HALF_LIFE_S);
	th->slope_avg = isnan(th->slope_avg) ? slope : th->slope_avg * a + slope * (1 - a);
	tpd_trend_add(&th->growth, th->hour.last_s, NULL, slope);
	bin = predict_temp_bin(th->hour.xty[0] / n);
	if (th->slope_n < TPD_PREDICT_LEARN_H) {
		th->slope_sum += slope * w * w;
		th->weight_sum += w * w;
		predict_temp_learn(th, bin, slope, w);
		if (++th->slope_n == TPD_PREDICT_LEARN_H) {
			/* A product whose temperature does not follow its load has
			 * no slope to watch. */
			th->slope0 = th->slope_sum / th->weight_sum;
			if (th->slope0 < PREDICT_TEMP_MIN_SLOPE)
				th->slope0 = NAN;
		}
		goto reset;
	}
	if (isnan(th->slope0))
		goto reset;
	base = predict_temp_base(th, bin);
	if (isnan(base)) {
		/* colder than all of early life (it was learned in a busy week,
		 * or in summer): learn this operating point now, as wear only
		 * makes a product hotter */
		if (!t->active && th->rise.s == 0)
			predict_temp_learn(th, bin, slope, w);
		goto reset;
	}
	z = (slope - base) * w;
	if (th->cal_n < TPD_PREDICT_CAL_H) {
		/* how far the hours stray beyond their own errors (a slope that
		 * moves with the fan's regime through the day) */
		th->cal_ss += z * z;
		if (++th->cal_n == TPD_PREDICT_CAL_H)
			th->sigma = fmax(sqrt(th->cal_ss / th->cal_n), PREDICT_Z_SCALE_FLOOR);
		goto reset;
	}
	predict_cusum(&th->rise, predict_row(z / th->sigma,
					     PREDICT_TEMP_REL * base * w / th->sigma));
	th->stand = th->rise.s >= th->rise.h ? th->stand + 1 : 0;
reset:
	tpd_trend_init(&th->hour, 1, INFINITY);
	th->load_sum = th->load_ss = 0;
}

/* The adapter-resistance detector's hour: as the thermal slope's, without
 * operating points (an adapter's resistance does not depend on the load). */
static void predict_rail_hour(struct tpd_predict_target *t)
{
	struct tpd_predict_sag *r = &t->u.rail;
	struct tpd_trend_fit fit;
	double n = r->hour.n_eff, var, ohm, a, w, z;

	var = n > 0 ? r->x_ss / n - (r->x_sum / n) * (r->x_sum / n) : 0;
	if (n < PREDICT_MIN_SAMPLES || var < PREDICT_RAIL_MIN_VAR || !tpd_trend_fit(&r->hour, &fit))
		goto reset;
	ohm = -fit.b[1];
	w = sqrt(n * var) / fmax(fit.sigma, PREDICT_RAIL_NOISE_FLOOR_V);
	a = exp2(-TPD_PREDICT_BIN_S / PREDICT_DAY_HALF_LIFE_S);
	r->ohm_avg = isnan(r->ohm_avg) ? ohm : r->ohm_avg * a + ohm * (1 - a);
	if (r->learn_n < TPD_PREDICT_LEARN_H) {
		r->sw += ohm * w * w;
		r->w += w * w;
		if (++r->learn_n == TPD_PREDICT_LEARN_H) {
			r->ohm0 = r->sw / r->w;
			if (!(r->ohm0 >= PREDICT_RAIL_MIN_OHM))
				r->ohm0 = NAN;
		}
		goto reset;
	}
	if (isnan(r->ohm0))
		goto reset;
	z = (ohm - r->ohm0) * w;
	if (r->cal_n < TPD_PREDICT_CAL_H) {
		r->cal_ss += z * z;
		if (++r->cal_n == TPD_PREDICT_CAL_H)
			r->sigma = fmax(sqrt(r->cal_ss / r->cal_n), 1.0);
		goto reset;
	}
	predict_cusum(&r->rise, predict_row(z / r->sigma, fmax(PREDICT_RAIL_REL * r->ohm0,
							       PREDICT_RAIL_MIN_SHIFT_OHM) * w / r->sigma));
reset:
	tpd_trend_init(&r->hour, 1, INFINITY);
	r->x_sum = r->x_ss = 0;
}

/* The fan-baseline detector's hour. */
static void predict_fan_hour(struct tpd_predict_target *t, double mid)
{
	struct tpd_predict_fanbase *f = &t->u.fan;
	double q, a = exp2(-TPD_PREDICT_BIN_S / PREDICT_DAY_HALF_LIFE_S);

	if (f->nq < PREDICT_MIN_SAMPLES)
		goto reset;
	q = f->sum_q / f->nq;
	f->ratio = q;
	f->ratio_avg = isnan(f->ratio_avg) ? q : f->ratio_avg * a + q * (1 - a);
	tpd_trend_add(&f->growth, mid, NULL, q);
	if (f->cal_n < TPD_PREDICT_CAL_H) {
		f->cal_ss += (1 - q) * (1 - q);
		if (++f->cal_n == TPD_PREDICT_CAL_H)
			f->sigma = fmax(sqrt(f->cal_ss / f->cal_n), PREDICT_FAN_SIGMA_FLOOR);
	} else {
		predict_cusum(&f->shortfall, predict_row((1 - q) / f->sigma,
							 2 * PREDICT_FAN_REL / f->sigma));
	}
reset:
	f->sum_q = 0;
	f->nq = 0;
}

/* Closes the hour into the target's state; false when the hour had too few
 * samples to count. */
static bool predict_close_hour(struct tpd_predict_target *t, double mid)
{
	double x[TPD_TREND_MAX_X];
	double y, k = exp2(-TPD_PREDICT_BIN_S / PREDICT_PEAK_HALF_LIFE_S);
	bool ok = t->n >= PREDICT_MIN_SAMPLES;

	if (t->kind == TPD_PREDICT_EVENTS) {
		struct tpd_predict_rate *ev = &t->u.ev;

		ev->hours_with_events = (ev->hours_with_events << 1) & 0xffffffu;
		if (ok && t->sum_y > 0)
			ev->hours_with_events |= 1;
		ev->last_load = ev->load_n ? ev->load_sum / ev->load_n : NAN;
		ev->load_sum = 0;
		ev->load_n = 0;
	}
	if (t->kind == TPD_PREDICT_FAN && t->hours >= TPD_PREDICT_LEARN_H)
		predict_fan_hour(t, mid);
	if (t->kind == TPD_PREDICT_TEMP)
		predict_thermal_hour(t);
	if (t->kind == TPD_PREDICT_RAIL)
		predict_rail_hour(t);
	if (!ok)
		goto reset;
	y = t->kind == TPD_PREDICT_RAIL ? t->min_y : t->kind == TPD_PREDICT_EVENTS ? t->sum_y
										    : t->sum_y / t->n;
	for (unsigned i = 0; i < t->nx; i++) {
		x[i] = t->sum_x[i] / t->n;
		t->last_x[i] = x[i];
		/* A decaying maximum: follows a rise at once, a fall slowly. */
		t->peak_x[i] = isnan(t->peak_x[i]) || x[i] > t->peak_x[i]
				       ? x[i] : x[i] + (t->peak_x[i] - x[i]) * k;
	}
	t->last_y = y;
	tpd_trend_add(&t->trend, mid, x, y);
	t->hours++;
reset:
	t->sum_y = 0;
	t->min_y = INFINITY;
	memset(t->sum_x, 0, sizeof(t->sum_x));
	t->n = 0;
	return ok;
}

static int predict_ev_bin(double load)
{
	int b = (int)(load * TPD_PREDICT_EV_BINS);

	return isnan(load) ? -1 : b < 0 ? 0 : b >= TPD_PREDICT_EV_BINS ? TPD_PREDICT_EV_BINS - 1 : b;
}

/* Early life's rate at an hour's load: its own bin, else the nearest
 * learned one below (a lighter load droops less: this errs towards "worn"),
 * else the lightest learned; NAN when the hour is busier than anything
 * early life saw (a busy week), which says nothing about the adapter.
 * Without a load sensor, the rate over all hours. */
static double predict_ev_base(const struct tpd_predict_rate *ev, int bin)
{
	int hi = -1;

	if (bin < 0)
		return ev->rate0;
	for (int i = 0; i < TPD_PREDICT_EV_BINS; i++)
		if (ev->bin_hours[i] >= PREDICT_TEMP_BIN_HOURS)
			hi = i;
	if (hi < 0)
		return ev->rate0;
	if (bin > hi)
		return NAN;
	for (int i = bin; i >= 0; i--)
		if (ev->bin_hours[i] >= PREDICT_TEMP_BIN_HOURS)
			return ev->bin_events[i] / ev->bin_hours[i];
	for (int i = bin + 1; i <= hi; i++)
		if (ev->bin_hours[i] >= PREDICT_TEMP_BIN_HOURS)
			return ev->bin_events[i] / ev->bin_hours[i];
	return ev->rate0;
}

/* The event-rate detector (note 5), run on each closed hour. */
static bool predict_events_alarm(struct tpd_predict_target *t, bool counted, double scale)
{
	struct tpd_predict_rate *ev = &t->u.ev;
	double lambda0, lambda1, k, c, base;
	int bin = predict_ev_bin(ev->last_load);

	if (!counted)
		return t->active;
	/* Early life is the baseline rate, as for every other detector: a
	 * long-run mean that starts from zero lags a steady rate of droops for
	 * weeks, and its CUSUM would count that lag as a rise. */
	if (ev->rate_n < TPD_PREDICT_LEARN_H) {
		ev->rate_sum += t->last_y;
		if (bin >= 0) {
			ev->bin_events[bin] += (float)t->last_y;
			ev->bin_hours[bin] += 1.0f;
		}
		if (++ev->rate_n == TPD_PREDICT_LEARN_H)
			ev->rate_slow = ev->rate0 = ev->rate_sum / ev->rate_n;
		return false;
	}
	/* The long-run rate follows the adapter slowly; with enough droops
	 * in early life to tell loads apart, relative to early life's rate
	 * at the hour's load. */
	base = ev->rate_slow;
	if (ev->rate_sum >= PREDICT_EVENT_BIN_MIN) {
		base = predict_ev_base(ev, bin);
		if (isnan(base))
			return t->active;
		base *= ev->rate_slow / ev->rate0;
	}
	c = fmin(t->last_y, PREDICT_EVENT_CAP_PER_H);
	lambda0 = fmax(base, PREDICT_EVENT_FLOOR_PER_H);
	lambda1 = 4 * lambda0;
	k = (lambda1 - lambda0) / log(lambda1 / lambda0);
	ev->cusum = fmax(0.0, ev->cusum + c - k);
	{
		double a = exp2(-TPD_PREDICT_BIN_S / PREDICT_SLOW_HALF_LIFE_S);

		ev->rate_slow = ev->rate_slow * a + t->last_y * (1 - a);
	}
	if (t->active)
		return ev->cusum > 0 || ev->hours_with_events != 0;
	return ev->cusum >= PREDICT_CUSUM_H * scale &&
	       predict_popcount(ev->hours_with_events) >= PREDICT_EVENT_HOURS;
}

bool tpd_predict_basis(const struct tpd_predict_target *t, double *baseline, double *now)
{
	*baseline = *now = NAN;
	if (t->kind == TPD_PREDICT_TEMP && !isnan(t->u.th.slope0)) {
		*baseline = t->u.th.slope0;
		*now = t->u.th.slope_avg;
		return true;
	}
	if (t->kind == TPD_PREDICT_RAIL && !isnan(t->u.rail.ohm0)) {
		*baseline = t->u.rail.ohm0;
		*now = t->u.rail.ohm_avg;
		return true;
	}
	if (t->kind == TPD_PREDICT_FAN && !isnan(t->u.fan.ratio_avg)) {
		*baseline = 1.0;
		*now = t->u.fan.ratio_avg;
		return true;
	}
	return false;
}

bool tpd_predict_describe(const struct tpd_predict_target *t, double *baseline, double *now,
			  bool *excess)
{
	const struct tpd_predict_excess *e = &t->u.th.ex;

	*excess = false;
	/* the thermal slope says why, unless the excess decided alone */
	if (t->kind == TPD_PREDICT_TEMP && e->rise.s > 0 && t->u.th.rise.s == 0 &&
	    !isnan(e->a) && !isnan(e->last_load) && e->ring_n > 0) {
		double sum = 0;

		/* now: the ring's hours, the latest the detector holds */
		for (unsigned i = 0; i < e->ring_n; i++)
			sum += e->ring_r[i];
		*excess = true;
		*baseline = e->a + e->b * e->last_load;
		*now = *baseline + sum / e->ring_n;
		return true;
	}
	return tpd_predict_basis(t, baseline, now);
}

/*
 * When the detector's own quantity reaches the limit at its present growth
 * (INFINITY: it does not grow towards it, or too few days yet):
 *   TEMP  the busy hour's temperature `busy` rises by the slope's growth
 *         times the busy hour's load (the heat at no load, which grows with
 *         it, is left out, so this errs late);
 *   FAN   the speed share falls to the stall limit's share of the
 *         early-life speed at the latest hour's demand.
 */
static double predict_growth_eta(const struct tpd_predict *p, const struct tpd_predict_target *t,
				 double busy, double now)
{
	const struct tpd_trend *g = t->kind == TPD_PREDICT_TEMP ? &t->u.th.growth
								 : &t->u.fan.growth;
	struct tpd_trend_fit fit;
	double rate;

	if (g->rows < 24 || !tpd_trend_fit(g, &fit))
		return INFINITY;
	if (t->kind == TPD_PREDICT_TEMP) {
		rate = fit.slope_per_s * t->peak_x[0];
		return rate > 0 && !isnan(busy) ? fmax(0.0, (t->limit - busy) / rate) : INFINITY;
	} else {
		int bin = predict_fan_bin(p->product, t, t->last_x[0]);
		double base = predict_fan_base(&t->u.fan, bin);
		double q = tpd_trend_predict(g, &fit, NULL, now);

		if (!(base > 0) || !(fit.slope_per_s < 0))
			return INFINITY;
		return fmax(0.0, (q - t->limit / base) / -fit.slope_per_s);
	}
}

/* Decides one target after its hour closed; fills ev and returns true on a
 * change. */
static bool predict_evaluate(struct tpd_predict *p, struct tpd_predict_target *t, double now,
			     bool counted, struct tpd_predict_event *ev)
{
	double horizon = p->product->predict_horizon_s;
	double scale = p->threshold / TPD_PREDICT_THRESHOLD;
	struct tpd_trend_fit fit;
	const double *xe = t->kind == TPD_PREDICT_TEMP ? t->peak_x : t->last_x;
	bool fitted, alarm;
	double eta = INFINITY, value = t->last_y;
	int dir;

	/* Which way is towards the limit: up for heat and event rate, down for
	 * fan speed and a sagging rail. */
	dir = t->kind == TPD_PREDICT_TEMP || t->kind == TPD_PREDICT_EVENTS ? 1 : -1;
	fitted = tpd_trend_fit(&t->trend, &fit) && t->trend.rows >= PREDICT_MIN_ROWS;
	if (fitted) {
		eta = tpd_trend_eta(&t->trend, &fit, xe, now, t->limit, dir, NULL);
		if (t->kind != TPD_PREDICT_EVENTS)
			value = tpd_trend_predict(&t->trend, &fit, xe, now);
	}
	switch (t->kind) {
	case TPD_PREDICT_TEMP: {
		const struct tpd_cusum *sl = &t->u.th.rise, *ex = &t->u.th.ex.rise;

		alarm = t->active ? sl->s > 0 || ex->s > 0
				  : t->u.th.stand >= PREDICT_TEMP_STAND_H || ex->s >= ex->h;
		break;
	}
	case TPD_PREDICT_FAN:
		alarm = t->active ? t->u.fan.shortfall.s > 0
				  : t->u.fan.shortfall.s >= t->u.fan.shortfall.h;
		break;
	case TPD_PREDICT_EVENTS:
		alarm = predict_events_alarm(t, counted, scale);
		break;
	default: {
		const struct tpd_cusum *c = &t->u.rail.rise;
		double z = fitted && fit.slope_se_per_s > 0 ? dir * fit.slope_per_s / fit.slope_se_per_s
							    : 0;
		bool clear_drift = z >= (t->active ? PREDICT_HOLD_SE : PREDICT_CLEAR_SE * scale);

		/* The rail's lowest reading drifting to its minimum; already past
		 * it is the limit detectors' business: a forecast after the fact
		 * helps nobody. */
		alarm = fitted && clear_drift && eta <= (t->active ? 2 * horizon : horizon) &&
			(t->active || eta > 0);
		/* or the adapter's resistance has risen */
		alarm = alarm || (t->active ? c->s > 0 : c->s >= c->h);
		if (alarm && !(eta <= 2 * horizon))
			eta = horizon;
	}
	}
	/* A change detector says that, not when: its own quantity's growth
	 * says when, else the reading's drift, else the horizon it looks
	 * across. */
	if (t->kind == TPD_PREDICT_TEMP || t->kind == TPD_PREDICT_FAN) {
		double e = predict_growth_eta(p, t, value, now);

		if (isfinite(e))
			eta = e;
		if (!isfinite(eta))
			eta = horizon;
	} else if (t->kind == TPD_PREDICT_EVENTS && !(fitted && fit.slope_per_s > 0 && eta <= horizon)) {
		eta = horizon;
	}
	if (alarm == t->active) {
		if (alarm)
			t->eta_s = eta;
		return false;
	}
	t->active = alarm;
	if (alarm)
		t->since = now;
	t->eta_s = eta;
	*ev = (struct tpd_predict_event){
		.code = t->kind == TPD_PREDICT_TEMP   ? TPD_FAULT_TEMP_RISING
			: t->kind == TPD_PREDICT_FAN  ? TPD_FAULT_FAN_DEGRADED
						      : TPD_FAULT_PWR_DEGRADING,
		.sensor = t->sensor, .raised = alarm, .value = value, .limit = t->limit,
		.eta_s = alarm ? eta : NAN, .since = t->since,
	};
	tpd_predict_describe(t, &ev->baseline, &ev->now, &ev->excess);
	return true;
}

unsigned tpd_predict_sample(struct tpd_predict *p, double ts, const double *clean,
			    const double *events, struct tpd_predict_event *out, unsigned max)
{
	unsigned n = 0;

	if (isnan(p->bin_start))
		p->bin_start = floor(ts / TPD_PREDICT_BIN_S) * TPD_PREDICT_BIN_S;
	if (ts >= p->bin_start + TPD_PREDICT_BIN_S) {
		double mid = p->bin_start + TPD_PREDICT_BIN_S / 2;

		for (unsigned i = 0; i < p->ntargets; i++) {
			struct tpd_predict_target *t = &p->t[i];
			bool counted = predict_close_hour(t, mid);

			if (n < max && predict_evaluate(p, t, ts, counted, &out[n]))
				n++;
		}
		p->bin_start = floor(ts / TPD_PREDICT_BIN_S) * TPD_PREDICT_BIN_S;
	}
	for (unsigned i = 0; i < p->ntargets; i++)
		predict_accumulate(&p->t[i], ts, clean, events, p->product);
	return n;
}

bool tpd_predict_expected(const struct tpd_predict *p, int sensor, const double *clean,
			  double ts, double *expected, double *tol)
{
	for (unsigned i = 0; i < p->ntargets; i++) {
		const struct tpd_predict_target *t = &p->t[i];
		struct tpd_trend_fit fit;
		double x[TPD_TREND_MAX_X];

		if (t->kind != TPD_PREDICT_TEMP || t->sensor != sensor)
			continue;
		if (t->trend.rows < 24 || !tpd_trend_fit(&t->trend, &fit))
			return false;
		for (unsigned k = 0; k < t->nx; k++) {
			x[k] = clean[t->x[k]];
			if (isnan(x[k]))
				return false;
		}
		*expected = tpd_trend_predict(&t->trend, &fit, x, ts);
		*tol = fmax(4 * fit.sigma, 6.0);
		return true;
	}
	return false;
}
