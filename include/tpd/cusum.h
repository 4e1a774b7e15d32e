/*
 * tpd/cusum.h - Page's one-sided CUSUM on a standardized statistic, with its
 * average run length.
 *
 *     S_0 = 0,   S_n = max(0, S_{n-1} + min(z_n, cap) - k),   alarm when S_n >= h
 *
 * z_n is a statistic in units of its own standard deviation under "no
 * change" (mean 0), positive towards the change looked for; k is the
 * allowance (half the shift to detect fastest, in the same units), h the
 * decision interval. Capping z (a winsorized CUSUM) keeps one wild row from
 * deciding alone: it needs at least ceil(h / (cap - k)) rows.
 *
 * For independent N(0,1) rows the in-control average run length (rows
 * before a false alarm) is given by Siegmund's approximation
 *
 *     ARL0 = (exp(2k(h + 1.166)) - 2k(h + 1.166) - 1) / (2k^2)
 *
 * (Siegmund, Sequential Analysis, 1985; within a few per cent of the exact
 * value for k >= 0.25), and for a shift of mu the same with k replaced by
 * (k - mu) (ARL1). State is three doubles.
 */
#ifndef TPD_CUSUM_H
#define TPD_CUSUM_H

#include <stdbool.h>

struct tpd_cusum {
	double k;        /* allowance, in standard deviations */
	double h;        /* decision interval */
	double cap;      /* largest row counted (INFINITY: none) */
	double s;        /* the statistic */
};

void tpd_cusum_init(struct tpd_cusum *c, double k, double h, double cap);

/* Adds one row; returns whether the statistic is at or above h. A NAN row
 * is ignored. */
bool tpd_cusum_add(struct tpd_cusum *c, double z);

/* Siegmund's average run length for rows with mean mu (0: in control). */
double tpd_cusum_arl(double k, double h, double mu);

#endif
