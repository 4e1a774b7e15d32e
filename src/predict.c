/*
 * predict.c - the agent's edge forecast (see predict.h).
 *
 * Design notes:
 * 1. Hourly rows, not samples: a daily rhythm is 24 rows a day whatever the
 *    sample rate, the regression cost is per hour, and one implausible
 *    reading (already NAN here, agent.c note 1) cannot move an hour's mean.
 * 2. Load and ambient are regressors, so a busy evening, a week of heavy
 *    use or a heat wave changes the fitted effect of load/ambient, not the
 *    drift. The forecast is made at a busy hour's load and ambient (decaying
 *    maxima), so a device that overheats only when busy is caught while it
 *    is idle.
 * 3. Under-voltage events are rare and bursty: a CUSUM against four times the
 *    device's own long-run rate (at least one event a week) with each hour's
 *    count capped, plus events in at least 3 distinct hours of the last day,
 *    so one grid dip with a handful of flags never raises it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "predict.h"

#define PREDICT_HALF_LIFE_S (7 * 86400.0)   /* trend memory */
#define PREDICT_EVENT_HALF_LIFE_S (3 * 86400.0)
#define PREDICT_SLOW_HALF_LIFE_S (14 * 86400.0)
#define PREDICT_PEAK_HALF_LIFE_S (7 * 86400.0)
#define PREDICT_MIN_ROWS 48                 /* two days of hours */
#define PREDICT_CLEAR_SE 4.0                /* slope must be this many standard errors */
#define PREDICT_HOLD_SE 2.0                 /* ...and stays raised above this */
#define PREDICT_MIN_SAMPLES 5               /* samples that make an hour */
#define PREDICT_EVENT_FLOOR_PER_H (1.0 / 168.0)
#define PREDICT_EVENT_CAP_PER_H 3.0
#define PREDICT_CUSUM_H 6.0
#define PREDICT_EVENT_HOURS 3

static int predict_first_of_kind(const struct tpd_product *p, enum tpd_sensor_kind kind)
{
	for (size_t i = 0; i < p->nsensors; i++)
		if (p->sensors[i].kind == kind)
			return (int)i;
	return -1;
}

static struct tpd_predict_target *predict_add(struct tpd_predict *p, enum tpd_predict_kind kind,
					      int sensor, double limit, int x0, int x1,
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
	if (x1 >= 0)
		t->x[t->nx++] = x1;
	tpd_trend_init(&t->trend, t->nx, half_life_s);
	t->min_y = INFINITY;
	t->last_y = NAN;
	for (unsigned i = 0; i < TPD_TREND_MAX_X; i++) {
		t->peak_x[i] = NAN;
		t->last_x[i] = NAN;
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

		if (s->kind == TPD_KIND_TEMP && !isnan(s->crit) && si != amb) {
			if (p)
				predict_add(p, TPD_PREDICT_TEMP, si, s->crit, load, amb,
					    PREDICT_HALF_LIFE_S);
		} else if (s->kind == TPD_KIND_FAN && !isnan(s->stall_rpm)) {
			if (p)
				predict_add(p, TPD_PREDICT_FAN, si, s->stall_rpm,
					    s->spin_sensor >= 0 ? s->spin_sensor : load, -1,
					    PREDICT_HALF_LIFE_S);
		} else if (s->kind == TPD_KIND_VOLT && !isnan(s->min)) {
			if (p)
				predict_add(p, TPD_PREDICT_RAIL, si, s->min, curr >= 0 ? curr : load,
					    -1, PREDICT_HALF_LIFE_S);
		} else if (s->kind == TPD_KIND_EVENT && strcmp(s->id, "event.undervoltage") == 0) {
			/* The rate at which brownouts would follow one another. */
			if (p)
				predict_add(p, TPD_PREDICT_EVENTS, si,
					    s->brownout_count ? s->brownout_count * 3600.0 /
								s->brownout_window_s : 6.0,
					    -1, -1, PREDICT_EVENT_HALF_LIFE_S);
		} else {
			continue;
		}
		n++;
	}
	return n;
}

struct tpd_predict *tpd_predict_new(const struct tpd_product *prod, double threshold)
{
	unsigned n = predict_targets(NULL, prod);
	struct tpd_predict *p = calloc(1, sizeof(*p) + n * sizeof(p->t[0]));

	if (!p)
		return NULL;
	p->product = prod;
	p->bin_start = NAN;
	predict_targets(p, prod);
	return p;
}

void tpd_predict_free(struct tpd_predict *p)
{
	free(p);
}

bool tpd_predict_fit(const struct tpd_predict *p, int sensor, struct tpd_trend_fit *fit)
{
	for (unsigned i = 0; i < p->ntargets; i++) {
		if (p->t[i].sensor == sensor)
			return tpd_trend_fit(&p->t[i].trend, fit) &&
			       p->t[i].trend.rows >= PREDICT_MIN_ROWS;
	}
	return false;
}

static void predict_accumulate(struct tpd_predict_target *t, const double *clean,
			       const double *events, const struct tpd_product *prod)
{
	double y = clean[t->sensor];

	if (t->kind == TPD_PREDICT_EVENTS) {
		if (!isnan(events[t->sensor]))
			t->sum_y += events[t->sensor];
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

/* Closes the hour into the target's trend; false when the hour had too few
 * samples to count. */
static bool predict_close_hour(struct tpd_predict_target *t, double mid)
{
	double x[TPD_TREND_MAX_X];
	double y, k = exp2(-TPD_PREDICT_BIN_S / PREDICT_PEAK_HALF_LIFE_S);
	bool ok = t->n >= PREDICT_MIN_SAMPLES;

	if (t->kind == TPD_PREDICT_EVENTS) {
		t->hours_with_events = (t->hours_with_events << 1) & 0xffffffu;
		if (ok && t->sum_y > 0)
			t->hours_with_events |= 1;
	}
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
reset:
	t->sum_y = 0;
	t->min_y = INFINITY;
	memset(t->sum_x, 0, sizeof(t->sum_x));
	t->n = 0;
	return ok;
}

/* The event-rate detector (note 3), run on each closed hour. */
static bool predict_events_alarm(struct tpd_predict_target *t, bool counted)
{
	double lambda0, lambda1, k, c;

	if (!counted)
		return t->active;
	c = fmin(t->last_y, PREDICT_EVENT_CAP_PER_H);
	lambda0 = fmax(t->rate_slow, PREDICT_EVENT_FLOOR_PER_H);
	lambda1 = 4 * lambda0;
	k = (lambda1 - lambda0) / log(lambda1 / lambda0);
	t->cusum = fmax(0.0, t->cusum + c - k);
	{
		double a = exp2(-TPD_PREDICT_BIN_S / PREDICT_SLOW_HALF_LIFE_S);

		t->rate_slow = t->rate_slow * a + t->last_y * (1 - a);
	}
	if (t->active)
		return t->cusum > 0 || t->hours_with_events != 0;
	return t->cusum >= PREDICT_CUSUM_H &&
	       predict_popcount(t->hours_with_events) >= PREDICT_EVENT_HOURS;
}

/* Decides one target after its hour closed; fills ev and returns true on a
 * change. */
static bool predict_evaluate(struct tpd_predict *p, struct tpd_predict_target *t, double now,
			     bool counted, struct tpd_predict_event *ev)
{
	double horizon = p->product->predict_horizon_s;
	struct tpd_trend_fit fit;
	const double *xe = t->kind == TPD_PREDICT_FAN ? t->last_x : t->peak_x;
	bool fitted, clear_drift, alarm;
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
	if (t->kind == TPD_PREDICT_EVENTS) {
		alarm = predict_events_alarm(t, counted);
		/* The rate's own trend says when; without one, within the horizon. */
		if (!(fitted && fit.slope_per_s > 0 && eta <= horizon))
			eta = horizon;
	} else {
		double z = fitted && fit.slope_se_per_s > 0 ? dir * fit.slope_per_s / fit.slope_se_per_s
							    : 0;

		clear_drift = z >= (t->active ? PREDICT_HOLD_SE : PREDICT_CLEAR_SE);
		/* Already past the limit is the limit detectors' business: a
		 * forecast after the fact helps nobody. */
		alarm = fitted && clear_drift && eta <= (t->active ? 2 * horizon : horizon) &&
			(t->active || eta > 0);
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
		predict_accumulate(&p->t[i], clean, events, p->product);
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
