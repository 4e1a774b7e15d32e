/*
 * detect.c - threshold and brownout detectors (see detect.h for semantics).
 *
 * Design note: the raise and clear conditions are not complements. Between
 * "past the limit" and "back inside by hyst" lies a dead band in which the
 * detector keeps its state; this is what stops a value hovering at the limit
 * from flapping a fault on and off.
 */
#include <math.h>

#include "detect.h"

void tpd_threshold_init(struct tpd_threshold *d, enum tpd_fault_code code,
			enum tpd_severity sev, int sensor, bool above, double limit,
			double hyst, double debounce_s)
{
	d->code = code;
	d->severity = sev;
	d->sensor = sensor;
	d->above = above;
	d->limit = limit;
	d->hyst = hyst;
	d->debounce_s = debounce_s;
	d->active = false;
	d->pending_s = NAN;
	d->since_s = NAN;
}

static bool detect_past_limit(const struct tpd_threshold *d, double v)
{
	return d->above ? v > d->limit : v < d->limit;
}

static bool detect_back_inside(const struct tpd_threshold *d, double v)
{
	return d->above ? v < d->limit - d->hyst : v > d->limit + d->hyst;
}

enum tpd_detect_event tpd_threshold_step(struct tpd_threshold *d, double t_s,
					 double value, enum tpd_gate gate)
{
	bool want; /* the condition that moves the detector out of its state */

	if (gate == TPD_GATE_UNKNOWN || (isnan(value) && gate != TPD_GATE_OFF))
		return TPD_DETECT_NONE;
	if (!d->active)
		want = gate == TPD_GATE_ON && detect_past_limit(d, value);
	else
		want = gate == TPD_GATE_OFF || detect_back_inside(d, value);
	if (!want) {
		d->pending_s = NAN;
		return TPD_DETECT_NONE;
	}
	if (isnan(d->pending_s))
		d->pending_s = t_s;
	if (t_s - d->pending_s < d->debounce_s)
		return TPD_DETECT_NONE;
	d->active = !d->active;
	if (d->active)
		d->since_s = d->pending_s;
	d->pending_s = NAN;
	return d->active ? TPD_DETECT_RAISED : TPD_DETECT_CLEARED;
}

void tpd_brownout_init(struct tpd_brownout *b, int sensor, unsigned count, double window_s)
{
	*b = (struct tpd_brownout){ 0 };
	b->sensor = sensor;
	b->count = count > TPD_BROWNOUT_MAX_EVENTS ? TPD_BROWNOUT_MAX_EVENTS : count;
	b->window_s = window_s;
	b->since_s = NAN;
}

/* Drops events older than the window ending at t_s. */
static void brownout_expire(struct tpd_brownout *b, double t_s)
{
	while (b->n > 0) {
		unsigned oldest = (b->head + TPD_BROWNOUT_MAX_EVENTS - b->n) % TPD_BROWNOUT_MAX_EVENTS;

		if (t_s - b->ring[oldest] <= b->window_s)
			break;
		b->n--;
	}
}

unsigned tpd_brownout_in_window(const struct tpd_brownout *b, double t_s)
{
	unsigned k = 0;

	for (unsigned i = 0; i < b->n; i++) {
		unsigned idx = (b->head + TPD_BROWNOUT_MAX_EVENTS - 1 - i) % TPD_BROWNOUT_MAX_EVENTS;

		if (t_s - b->ring[idx] <= b->window_s)
			k++;
	}
	return k;
}

enum tpd_detect_event tpd_brownout_step(struct tpd_brownout *b, double t_s, double flag)
{
	bool on;

	if (isnan(flag))
		return TPD_DETECT_NONE;
	on = flag >= 0.5;
	if (on && !b->last_flag) {
		b->ring[b->head] = t_s;
		b->head = (b->head + 1) % TPD_BROWNOUT_MAX_EVENTS;
		if (b->n < TPD_BROWNOUT_MAX_EVENTS)
			b->n++;
	}
	b->last_flag = on;
	brownout_expire(b, t_s);
	if (!b->active && b->count > 0 && b->n >= b->count) {
		unsigned first = (b->head + TPD_BROWNOUT_MAX_EVENTS - b->n) % TPD_BROWNOUT_MAX_EVENTS;

		b->active = true;
		b->since_s = b->ring[first];
		return TPD_DETECT_RAISED;
	}
	if (b->active && b->n == 0) {
		b->active = false;
		return TPD_DETECT_CLEARED;
	}
	return TPD_DETECT_NONE;
}
