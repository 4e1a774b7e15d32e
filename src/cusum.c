/*
 * cusum.c - Page's one-sided CUSUM and Siegmund's run-length approximation
 * (see tpd/cusum.h).
 */
#include <math.h>

#include "tpd/cusum.h"

void tpd_cusum_init(struct tpd_cusum *c, double k, double h, double cap)
{
	c->k = k;
	c->h = h;
	c->cap = cap;
	c->s = 0;
}

bool tpd_cusum_add(struct tpd_cusum *c, double z)
{
	if (!isnan(z))
		c->s = fmax(0.0, c->s + fmin(z, c->cap) - c->k);
	return c->s >= c->h;
}

double tpd_cusum_arl(double k, double h, double mu)
{
	double d = k - mu, b = h + 1.166;

	/* The limit d -> 0 of the formula below. */
	if (fabs(d) < 1e-9)
		return b * b;
	return (exp(2 * d * b) - 2 * d * b - 1) / (2 * d * d);
}
