/*
 * tpd/trend.h - a drift estimate that is not fooled by what explains a
 * reading: exponentially weighted least squares
 *
 *     y = b0 + b1*x1 + ... + bk*xk + bt*t        (t in days, k <= 2)
 *
 * over a stream of rows (hourly aggregates, typically). x holds what moves
 * y for reasons that are not wear: load (daily and weekly rhythms, a week of
 * heavy use), ambient temperature (heat waves), fan demand. bt is then the
 * drift at the same load and ambient: dust, a wearing fan, an ageing adapter.
 *
 * State is the regression's sufficient statistics (X'WX, X'Wy, y'Wy), decayed
 * by a half-life as rows arrive: 17 doubles whatever the history, so the
 * agent and the collector (per device and sensor) keep it for every product.
 * The fit gives bt with its standard error, so callers forecast only from a
 * drift that is clearly there, and an ETA band from bt +- 2 se.
 */
#ifndef TPD_TREND_H
#define TPD_TREND_H

#include <stdbool.h>

#define TPD_TREND_MAX_X 2
#define TPD_TREND_MAX_P (TPD_TREND_MAX_X + 2)   /* + intercept + time */

struct tpd_trend {
	unsigned nx;              /* regressors besides intercept and time */
	double half_life_s;       /* weight of a row halves this long after it */
	double t0_s;              /* time origin (first row), NAN before it */
	double last_s;            /* time of the latest row */
	double n_eff;             /* sum of weights: rows, decayed */
	unsigned rows;            /* rows ever added */
	double xtx[TPD_TREND_MAX_P * (TPD_TREND_MAX_P + 1) / 2]; /* packed upper triangle */
	double xty[TPD_TREND_MAX_P];
	double yty;
};

struct tpd_trend_fit {
	unsigned p;                   /* parameters: nx + 2 */
	double b[TPD_TREND_MAX_P];    /* intercept, x1..xk, per-day slope */
	double slope_per_s;           /* bt / 86400 */
	double slope_se_per_s;        /* its standard error */
	double sigma;                 /* residual standard deviation */
	double n_eff;
};

void tpd_trend_init(struct tpd_trend *tr, unsigned nx, double half_life_s);

/* Adds one row at time t_s (not before the previous row). x has nx values.
 * A row with any NAN is ignored. */
void tpd_trend_add(struct tpd_trend *tr, double t_s, const double *x, double y);

/* tpd_trend_add for a fit with one regressor that never decays (a fit
 * within one hour, on every sample): the same sums, without the general
 * path's loops, for the agent's per-sample cost. */
void tpd_trend_add1(struct tpd_trend *tr, double t_s, double x, double y);

/* Solves the regression. false while there are too few rows or the
 * regressors do not vary enough to tell their effect from the drift. */
bool tpd_trend_fit(const struct tpd_trend *tr, struct tpd_trend_fit *fit);

/* The fitted y for regressors x at time t_s. */
double tpd_trend_predict(const struct tpd_trend *tr, const struct tpd_trend_fit *fit,
			 const double *x, double t_s);

/* Seconds from t_s until the fitted y at x reaches limit: a ceiling when
 * dir is +1, a floor when dir is -1. 0 when it is already at or past it,
 * INFINITY when the slope does not move towards it. With band non-NULL,
 * band[0..1] get the same for the slope +- 2 standard errors (the early and
 * the late end). */
double tpd_trend_eta(const struct tpd_trend *tr, const struct tpd_trend_fit *fit, const double *x,
		     double t_s, double limit, int dir, double band[2]);

#endif
