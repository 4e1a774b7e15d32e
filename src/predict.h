/*
 * predict.h - the agent's edge forecast: SPEC §3's predictive codes from the
 * device's own history, before a limit is crossed, with no ambient sensor.
 *
 * Each detector compares the device with its own early life (the first
 * three days of hours it sees, TPD_PREDICT_LEARN_H), in quantities that
 * wear moves and the surroundings do not:
 *
 *   TEMP_RISING    each temp.* sensor with a critical limit (but one a
 *                  product declares as "ambient"): its thermal slope, the
 *                  temperature rise per unit of CPU load. Heat moves from the
 *                  SoC through a thermal resistance; dust and a slower fan
 *                  raise that resistance, so the same load swing heats more.
 *                  Ambient (a heat wave, a hot cupboard, the season) and a
 *                  sensor's offset only move the level. The slope is fitted
 *                  within each hour, on the samples' load swings against a
 *                  straight line in time (so the ambient's slow drift, even
 *                  when it follows the daily load, is not taken for heat from
 *                  the load); a CUSUM watches it rise above early life.
 *                  Or, with a second CUSUM, the sensor's excess over a
 *                  reference sensor (struct tpd_predict_excess): the one
 *                  that works when the load hardly swings.
 *   FAN_DEGRADED   each fan.* with a stall limit: its speed against its own
 *                  early-life speed at the same demand (the spin_when sensor's
 *                  temperature, which drives the fan's control loop), learned
 *                  per 2 C bin. Dust makes the fan turn faster, but along the
 *                  same curve; a worn bearing turns slower at the same demand.
 *                  A CUSUM on the hourly shortfall, whether it ever stalls or
 *                  not.
 *   PWR_DEGRADING  each volt.* with a minimum: the adapter's internal
 *                  resistance, the rail's drop per ampere fitted within
 *                  each hour (V = Voc - R*I), against early life (a CUSUM,
 *                  as for heat); or the hourly lowest reading regressed on
 *                  current falling to the minimum within the horizon; and
 *                  event.undervoltage: a Poisson CUSUM on hourly event
 *                  counts against the device's own long-run rate, confirmed
 *                  by events in several distinct hours (one grid dip is not a
 *                  trend).
 *
 * The CUSUMs (tpd/cusum.h) run on hourly rows standardized by the spread
 * measured on the day after learning; their decision interval is the
 * forecast's threshold H (default TPD_PREDICT_THRESHOLD; an evaluation sweeps
 * it), the rail's and the event rate's thresholds scale with it. Rows are
 * capped at 3 standard deviations, so no single hour decides. The ETA
 * extrapolates the drift of the reading itself at a busy hour's load
 * (tpd/trend.h; the horizon when it shows none yet). A raised prediction
 * clears when its statistic falls back to zero. The ETA of a thermal or fan
 * forecast extrapolates the detector's own quantity (the slope's growth at
 * a busy hour's load, the fan's speed share towards its stall limit) over
 * the last days; the rail's, the reading's own drift.
 *
 * Cost per sample: a few additions per sensor; per hour: one 3x3 solve per
 * target. State: 1,232 bytes per target.
 */
#ifndef TPD_PREDICT_H
#define TPD_PREDICT_H

#include <stdbool.h>
#include <stdint.h>

#include "tpd/cusum.h"
#include "tpd/product.h"
#include "tpd/trend.h"
#include "tpd/wire.h"

#define TPD_PREDICT_MAX_TARGETS 12
#define TPD_PREDICT_BIN_S 3600.0
#define TPD_PREDICT_LEARN_H 72        /* hours of early life that are the baseline */
#define TPD_PREDICT_CAL_H 24          /* hours after it that measure the spread */
#define TPD_PREDICT_THRESHOLD 5.0     /* the CUSUMs' decision interval, default */
#define TPD_PREDICT_FAN_BINS 48       /* 2 C bins from 10 C */
#define TPD_PREDICT_TEMP_BINS 24      /* 4 C bins from 10 C */

enum tpd_predict_kind { TPD_PREDICT_TEMP, TPD_PREDICT_FAN, TPD_PREDICT_RAIL, TPD_PREDICT_EVENTS };

/* TEMP, second statistic: the sensor's excess over a reference sensor
 * (the product's ambient, else its other temperature sensor, which the SoC
 * heats by a share c < 1: T - ref = (1 - c)(T - ambient) - offset), at the
 * hour's load, against the early-life line through load. Ambient cancels;
 * a sensor offset's step is absorbed (the ring delays the rows until it
 * can be told from wear). */
#define TPD_PREDICT_EXCESS_RING 9
#define TPD_PREDICT_EV_BINS 5         /* load bins of the event rate */
struct tpd_predict_excess {
	int ref;                     /* the reference sensor, -1: none */
	unsigned n;                  /* this hour's samples */
	double sum_d, sum_l;         /* this hour: T - ref and load over n samples */
	double ls[5];                /* learning: hours, sum l, sum d, sum ll, sum ld */
	unsigned learn_n, cal_n;     /* hours learned, hours calibrated */
	double a, b;                 /* early life: excess = a + b * load; NAN: none */
	float load_lo, load_hi;      /* the hourly loads early life saw: no extrapolation */
	double sigma, cal_sum, cal_ss; /* hourly residual spread (calibration) */
	double offset;               /* offset steps absorbed so far */
	double last_load;            /* the latest hour's load */
	float ring_r[TPD_PREDICT_EXCESS_RING], ring_l[TPD_PREDICT_EXCESS_RING];
	unsigned ring_n;
	struct tpd_cusum rise;
};

/* TEMP: the thermal slope against its early life. */
struct tpd_predict_thermal {
	struct tpd_trend hour;       /* this hour's samples: T on load and time */
	double load_sum, load_ss;    /* this hour's load, for its spread */
	double slope_sum, weight_sum;/* learning: precision-weighted hourly slopes */
	unsigned slope_n;
	double slope0;               /* early-life C per unit load; NAN: not learned */
	/* the early-life slope per 4 C of the hour's mean temperature: a fan's
	 * control loop damps the swings more when it runs faster, so the slope
	 * belongs to an operating point */
	float bin_sw[TPD_PREDICT_TEMP_BINS];   /* sum of weight * slope */
	float bin_w[TPD_PREDICT_TEMP_BINS];    /* sum of weights */
	uint8_t bin_hours[TPD_PREDICT_TEMP_BINS];
	double slope_avg;            /* decaying mean of hourly slopes (1 day) */
	struct tpd_trend growth;     /* hourly slopes on time (3 days): the ETA */
	double sigma;                /* hourly spread beyond the hours' own errors */
	double cal_ss;
	unsigned cal_n;
	unsigned stand;              /* closed hours in a row with rise over h */
	struct tpd_cusum rise;
	struct tpd_predict_excess ex;
};

/* FAN: speed against its early life at the same demand. */
struct tpd_predict_fanbase {
	float rpm_sum[TPD_PREDICT_FAN_BINS];
	float n[TPD_PREDICT_FAN_BINS];
	double sum_q;                /* this hour: speed / early-life speed */
	unsigned nq;
	double ratio;                /* latest hourly ratio, NAN: none */
	double ratio_avg;            /* decaying mean of hourly ratios (1 day) */
	struct tpd_trend growth;     /* hourly ratios on time (3 days): the ETA */
	double sigma;                /* hourly spread of the ratio (calibration) */
	double cal_ss;
	unsigned cal_n;
	struct tpd_cusum shortfall;
};

/* RAIL: the adapter's internal resistance against its early life. */
struct tpd_predict_sag {
	struct tpd_trend hour;       /* this hour's samples: V on current and time */
	double x_sum, x_ss;          /* this hour's current, for its spread */
	double sw, w;                /* learning: precision-weighted hourly ohms */
	unsigned learn_n;
	double ohm0;                 /* early-life V per A; NAN: not learned */
	double ohm_avg;              /* decaying mean of hourly ohms (1 day) */
	double sigma;                /* hourly spread beyond the hours' own errors */
	double cal_ss;
	unsigned cal_n;
	struct tpd_cusum rise;
};

/* EVENTS: the under-voltage rate. */
struct tpd_predict_rate {
	double cusum, rate_slow;     /* events per hour, long-run */
	uint32_t hours_with_events;  /* bit i: an event i hours ago (24 h) */
	int load;                    /* the load sensor, -1: none */
	double load_sum;             /* this hour's load over load_n samples */
	unsigned load_n;
	double last_load;            /* the hour just closed: NAN none */
	/* early life's rate per fifth of the load range: droops come with
	 * current, so an hour is held against early life at its own load */
	float bin_events[TPD_PREDICT_EV_BINS], bin_hours[TPD_PREDICT_EV_BINS];
	double rate_sum;             /* learning: events over rate_n hours */
	unsigned rate_n;
	double rate0;                /* early life's rate over all loads */
};

struct tpd_predict_target {
	enum tpd_predict_kind kind;
	int sensor;                  /* what is forecast */
	int x[TPD_TREND_MAX_X];      /* regressor sensors */
	unsigned nx;
	double limit;                /* the limit it would cross */
	struct tpd_trend trend;      /* the reading's drift at the same load: the ETA */
	unsigned hours;              /* hours counted (learning first) */
	/* the hour being accumulated */
	double sum_y, min_y, sum_x[TPD_TREND_MAX_X];
	unsigned n;
	/* busy-hour regressor levels, decaying maxima (TEMP) */
	double peak_x[TPD_TREND_MAX_X];
	/* latest hourly means, for FAN/RAIL forecasts "at today's demand" */
	double last_x[TPD_TREND_MAX_X];
	double last_y;
	union {
		struct tpd_predict_thermal th;
		struct tpd_predict_fanbase fan;
		struct tpd_predict_sag rail;
		struct tpd_predict_rate ev;
	} u;
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
	/* why, in the detector's own terms (NAN: not this kind): TEMP the
	 * thermal slope in C per unit load, or with excess set the excess in C
	 * over the reference sensor at the latest hour's load; FAN the speed as
	 * a fraction of its early-life speed at the same demand (baseline 1) */
	double baseline, now;
	bool excess;
};

struct tpd_predict {
	const struct tpd_product *product;  /* borrowed */
	double threshold;                   /* the CUSUMs' decision interval */
	double bin_start;                   /* NAN before the first sample */
	unsigned ntargets;
	struct tpd_predict_target t[];      /* only as many as the product needs */
};

/* Allocates the forecast for a product; threshold 0 takes
 * TPD_PREDICT_THRESHOLD. NULL when out of memory. */
struct tpd_predict *tpd_predict_new(const struct tpd_product *prod, double threshold);
void tpd_predict_free(struct tpd_predict *p);
/* Or in the caller's memory: tpd_predict_bytes(prod) bytes, initialised by
 * tpd_predict_init (nothing to free but the memory). */
size_t tpd_predict_bytes(const struct tpd_product *prod);
void tpd_predict_init(struct tpd_predict *p, const struct tpd_product *prod, double threshold);

/* Bytes of the forecast's state. */
size_t tpd_predict_size(const struct tpd_predict *p);

/*
 * Feeds one sample: clean[] per sensor (NAN: failed or implausible),
 * events[] per sensor (event.*: rising edges since the last sample; the
 * agent gives 0/1 per reading, the collector a telemetry period's count).
 * When the sample closes an hour, evaluates every target and writes up to
 * max changes into out; returns how many.
 */
unsigned tpd_predict_sample(struct tpd_predict *p, double ts, const double *clean,
			    const double *events, struct tpd_predict_event *out, unsigned max);

/* What target t says now, in its own terms (see tpd_predict_event): its
 * baseline and present value; false before it has learned. */
bool tpd_predict_basis(const struct tpd_predict_target *t, double *baseline, double *now);

/* As tpd_predict_basis, for a description of a raised forecast: a TEMP
 * target whose excess detector raised it alone gives the excess over its
 * reference sensor at the latest hour's load instead (excess true). */
bool tpd_predict_describe(const struct tpd_predict_target *t, double *baseline, double *now,
			  bool *excess);

/*
 * What the device's own history says temperature sensor `sensor` should read
 * now at the current load (from clean[]), and how far above that is still
 * normal (4 residual standard deviations, at least 6 C). false while that is
 * still being learned (under a day of hours) or for a sensor that is not
 * forecast. For the self-check's temp_for_load step.
 */
bool tpd_predict_expected(const struct tpd_predict *p, int sensor, const double *clean,
			  double ts, double *expected, double *tol);

#endif
