/*
 * trend.c - exponentially weighted least squares with a time term (see
 * tpd/trend.h).
 *
 * Design notes:
 * 1. Rows decay by 2^(-dt/half_life) as time moves on, applied to the stored
 *    sums when a row arrives, so the cost per row is O(p^2) and the state
 *    does not grow: old behaviour fades instead of being dropped at a window
 *    edge (no jump in the estimate when a heat wave leaves the window).
 * 2. p <= 4, so the normal equations are solved by Cholesky on the packed
 *    triangle; the slope's variance is the time entry of (X'WX)^-1 times the
 *    residual variance, with the decayed weight sum as the number of rows.
 */
#include <math.h>
#include <string.h>

#include "tpd/trend.h"

#define TREND_DAY_S 86400.0
#define TREND_MIN_ROWS 12

/* Index of (i, j), i <= j, in the packed upper triangle of a p x p matrix. */
static unsigned trend_ix(unsigned i, unsigned j)
{
	return j * (j + 1) / 2 + i;
}

void tpd_trend_init(struct tpd_trend *tr, unsigned nx, double half_life_s)
{
	memset(tr, 0, sizeof(*tr));
	tr->nx = nx > TPD_TREND_MAX_X ? TPD_TREND_MAX_X : nx;
	tr->half_life_s = half_life_s;
	tr->t0_s = NAN;
}

/* The design row: 1, x1..xk, t (days since the first row). */
static unsigned trend_row(const struct tpd_trend *tr, const double *x, double t_s, double *row)
{
	unsigned p = tr->nx + 2;

	row[0] = 1.0;
	for (unsigned i = 0; i < tr->nx; i++)
		row[1 + i] = x[i];
	row[p - 1] = (t_s - tr->t0_s) / TREND_DAY_S;
	return p;
}

void tpd_trend_add(struct tpd_trend *tr, double t_s, const double *x, double y)
{
	double row[TPD_TREND_MAX_P];
	unsigned p;

	if (isnan(y) || isnan(t_s))
		return;
	for (unsigned i = 0; i < tr->nx; i++)
		if (isnan(x[i]))
			return;
	if (isnan(tr->t0_s)) {
		tr->t0_s = t_s;
		tr->last_s = t_s;
	}
	/* an infinite half-life (a fit within one hour) never decays */
	if (t_s > tr->last_s && isfinite(tr->half_life_s)) {
		double k = exp2(-(t_s - tr->last_s) / tr->half_life_s);

		for (size_t i = 0; i < sizeof(tr->xtx) / sizeof(tr->xtx[0]); i++)
			tr->xtx[i] *= k;
		for (unsigned i = 0; i < TPD_TREND_MAX_P; i++)
			tr->xty[i] *= k;
		tr->yty *= k;
		tr->n_eff *= k;
	}
	if (t_s > tr->last_s)
		tr->last_s = t_s;
	p = trend_row(tr, x, t_s, row);
	for (unsigned j = 0; j < p; j++) {
		for (unsigned i = 0; i <= j; i++)
			tr->xtx[trend_ix(i, j)] += row[i] * row[j];
		tr->xty[j] += row[j] * y;
	}
	tr->yty += y * y;
	tr->n_eff += 1.0;
	tr->rows++;
}

void tpd_trend_add1(struct tpd_trend *tr, double t_s, double x, double y)
{
	double t;

	if (isnan(y) || isnan(t_s) || isnan(x))
		return;
	if (isnan(tr->t0_s))
		tr->t0_s = tr->last_s = t_s;
	if (t_s > tr->last_s)
		tr->last_s = t_s;
	t = (t_s - tr->t0_s) / TREND_DAY_S;
	/* the packed triangle of [1 x t]'[1 x t] (trend_ix) */
	tr->xtx[0] += 1;
	tr->xtx[1] += x;
	tr->xtx[2] += x * x;
	tr->xtx[3] += t;
	tr->xtx[4] += x * t;
	tr->xtx[5] += t * t;
	tr->xty[0] += y;
	tr->xty[1] += x * y;
	tr->xty[2] += t * y;
	tr->yty += y * y;
	tr->n_eff += 1.0;
	tr->rows++;
}

/* Cholesky A = L L' of the packed symmetric p x p matrix into l (row-major
 * full). false when A is not positive definite enough to trust. */
static bool trend_cholesky(const double *a, unsigned p, double l[TPD_TREND_MAX_P][TPD_TREND_MAX_P])
{
	memset(l, 0, sizeof(double) * TPD_TREND_MAX_P * TPD_TREND_MAX_P);
	for (unsigned j = 0; j < p; j++) {
		double d = a[trend_ix(j, j)];

		for (unsigned k = 0; k < j; k++)
			d -= l[j][k] * l[j][k];
		/* A regressor that barely varies is collinear with the intercept. */
		if (!(d > 1e-9 * a[trend_ix(j, j)]) || !(d > 0))
			return false;
		l[j][j] = sqrt(d);
		for (unsigned i = j + 1; i < p; i++) {
			double s = a[trend_ix(j, i)];

			for (unsigned k = 0; k < j; k++)
				s -= l[i][k] * l[j][k];
			l[i][j] = s / l[j][j];
		}
	}
	return true;
}

/* Solves L L' z = b. */
static void trend_solve(double l[TPD_TREND_MAX_P][TPD_TREND_MAX_P], unsigned p, const double *b,
			double *z)
{
	double w[TPD_TREND_MAX_P];

	for (unsigned i = 0; i < p; i++) {
		double s = b[i];

		for (unsigned k = 0; k < i; k++)
			s -= l[i][k] * w[k];
		w[i] = s / l[i][i];
	}
	for (unsigned i = p; i-- > 0;) {
		double s = w[i];

		for (unsigned k = i + 1; k < p; k++)
			s -= l[k][i] * z[k];
		z[i] = s / l[i][i];
	}
}

bool tpd_trend_fit(const struct tpd_trend *tr, struct tpd_trend_fit *fit)
{
	double l[TPD_TREND_MAX_P][TPD_TREND_MAX_P], e[TPD_TREND_MAX_P] = { 0 }, inv[TPD_TREND_MAX_P];
	unsigned p = tr->nx + 2;
	double rss, var;

	memset(fit, 0, sizeof(*fit));
	fit->p = p;
	fit->n_eff = tr->n_eff;
	if (tr->rows < TREND_MIN_ROWS || tr->n_eff <= p + 1 || !trend_cholesky(tr->xtx, p, l))
		return false;
	trend_solve(l, p, tr->xty, fit->b);
	/* RSS = y'y - 2 b'X'y + b'X'X b = y'y - b'X'y at the solution. */
	rss = tr->yty;
	for (unsigned i = 0; i < p; i++)
		rss -= fit->b[i] * tr->xty[i];
	if (rss < 0)
		rss = 0;   /* rounding on an exact fit */
	var = rss / (tr->n_eff - p);
	e[p - 1] = 1.0;
	trend_solve(l, p, e, inv);
	fit->sigma = sqrt(var);
	fit->slope_per_s = fit->b[p - 1] / TREND_DAY_S;
	fit->slope_se_per_s = sqrt(var * inv[p - 1]) / TREND_DAY_S;
	return true;
}

double tpd_trend_predict(const struct tpd_trend *tr, const struct tpd_trend_fit *fit,
			 const double *x, double t_s)
{
	double row[TPD_TREND_MAX_P], y = 0;
	unsigned p = trend_row(tr, x, t_s, row);

	for (unsigned i = 0; i < p; i++)
		y += fit->b[i] * row[i];
	return y;
}

/* Time to close gap (>= 0, in the limit's direction) at speed v (same sign
 * convention: > 0 moves towards it). */
static double trend_eta_at(double gap, double v)
{
	if (gap <= 0)
		return 0;
	return v > 0 ? gap / v : INFINITY;
}

double tpd_trend_eta(const struct tpd_trend *tr, const struct tpd_trend_fit *fit, const double *x,
		     double t_s, double limit, int dir, double band[2])
{
	double d = dir < 0 ? -1.0 : 1.0;
	double gap = d * (limit - tpd_trend_predict(tr, fit, x, t_s));
	double v = d * fit->slope_per_s, se = fit->slope_se_per_s;

	if (band) {
		band[0] = trend_eta_at(gap, v + 2 * se);
		band[1] = trend_eta_at(gap, v - 2 * se);
	}
	return trend_eta_at(gap, v);
}
