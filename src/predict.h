/*
 * predict.h - the agent's edge forecast: SPEC §3's predictive codes from the
 * device's own recent history, before a limit is crossed.
 *
 *   TEMP_RISING    each temp.* sensor with a critical limit (but the one
 *                  standing for ambient): hourly mean temperature regressed
 *                  on load and ambient plus a time term (tpd/trend.h); raised
 *                  when, at a busy hour's load and ambient, the drift reaches
 *                  the critical limit within the horizon.
 *   FAN_DEGRADED   each fan.* with a stall limit: hourly mean speed while it
 *                  turns, regressed on its demand (the spin_when sensor, else
 *                  load); raised when the speed at today's demand is falling
 *                  to the stall limit within the horizon.
 *   PWR_DEGRADING  each volt.* with a minimum: hourly lowest reading
 *                  regressed on load (the sag under load) falling to the
 *                  minimum within the horizon; and event.undervoltage: a
 *                  Poisson CUSUM on hourly event counts against the device's
 *                  own long-run rate, confirmed by events in several
 *                  distinct hours (so one grid dip is not a trend).
 *
 * A drift must be clear (slope at least 4 standard errors from zero) after
 * at least two days of hourly rows; a raised prediction clears when its ETA
 * moves beyond twice the horizon or the drift is no longer clear. Cost per
 * sample: a few additions per sensor; per hour: one 4x4 solve per target.
 */
#ifndef TPD_PREDICT_H
#define TPD_PREDICT_H

#include <stdbool.h>
#include <stdint.h>

#include "tpd/product.h"
#include "tpd/trend.h"
#include "tpd/wire.h"

#define TPD_PREDICT_MAX_TARGETS 12
#define TPD_PREDICT_BIN_S 3600.0

enum tpd_predict_kind { TPD_PREDICT_TEMP, TPD_PREDICT_FAN, TPD_PREDICT_RAIL, TPD_PREDICT_EVENTS };

struct tpd_predict_target {
	enum tpd_predict_kind kind;
	int sensor;                  /* what is forecast */
	int x[TPD_TREND_MAX_X];      /* regressor sensors */
	unsigned nx;
	double limit;                /* the limit it would cross */
	struct tpd_trend trend;
	/* the hour being accumulated */
	double sum_y, min_y, sum_x[TPD_TREND_MAX_X];
	unsigned n;
	/* busy-hour regressor levels, decaying maxima (TEMP) */
	double peak_x[TPD_TREND_MAX_X];
	/* latest hourly means, for FAN/RAIL forecasts "at today's demand" */
	double last_x[TPD_TREND_MAX_X];
	double last_y;
	/* EVENTS: CUSUM state */
	double cusum, rate_slow;     /* events per hour, long-run */
	uint32_t hours_with_events;  /* bit i: an event i hours ago (24 h) */
	bool active;
	double since;
	double eta_s;
};

/* One change of a prediction, for the agent to report. */
struct tpd_predict_event {
	enum tpd_fault_code code;
	int sensor;
	bool raised;
	double value;                /* the forecast quantity now (see kind) */
	double limit;
	double eta_s;                /* raised: forecast seconds to the limit */
	double since;
};

struct tpd_predict {
	const struct tpd_product *product;  /* borrowed */
	double bin_start;                   /* NAN before the first sample */
	unsigned ntargets;
	struct tpd_predict_target t[];      /* only as many as the product needs */
};

/* Allocates the forecast for a product (about 330 bytes per target: a
 * router has 4). NULL when out of memory. */
struct tpd_predict *tpd_predict_new(const struct tpd_product *prod, double threshold);
void tpd_predict_free(struct tpd_predict *p);

/*
 * Feeds one sample: clean[] per sensor (NAN: failed or implausible),
 * events[] per sensor (event.*: rising edges since the last sample; the
 * agent gives 0/1 per reading, the collector a telemetry period's count).
 * When the sample closes an hour, evaluates every target and writes up to
 * max changes into out; returns how many.
 */
unsigned tpd_predict_sample(struct tpd_predict *p, double ts, const double *clean,
			    const double *events, struct tpd_predict_event *out, unsigned max);

/* The current fit of the target forecasting sensor (false: none, or not
 * enough data yet); for the collector's fleet comparison. */
bool tpd_predict_fit(const struct tpd_predict *p, int sensor, struct tpd_trend_fit *fit);

/*
 * What the device's own history says temperature sensor `sensor` should read
 * now at the current load and ambient (from clean[]), and how far above that
 * is still normal (4 residual standard deviations, at least 6 C). false while
 * that is still being learned (under a day of hours) or for a sensor that is
 * not forecast. For the self-check's temp_for_load step.
 */
bool tpd_predict_expected(const struct tpd_predict *p, int sensor, const double *clean,
			  double ts, double *expected, double *tol);

#endif
