/*
 * telem.h - per-period telemetry aggregation (SPEC §2 "telemetry").
 *
 * For each product sensor: min/max/avg/n of the good readings in the period,
 * and the count of failed or implausible ones. event.* sensors count rising
 * edges; load.* sensors report their average under "load".
 */
#ifndef TPD_TELEM_H
#define TPD_TELEM_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "tpd/err.h"
#include "tpd/product.h"

struct tpd_telem_acc {
	double min, max, sum;
	unsigned n;        /* good readings */
	unsigned fail;     /* failed or implausible readings */
	unsigned edges;    /* event.*: rising edges */
	int last_flag;     /* event.*: previous flag, -1 unknown */
};

struct tpd_telem {
	const struct tpd_product *product;  /* borrowed */
	double period_s;
	double start_s;                      /* period start, NAN before the first sample */
	unsigned samples;                    /* samples in this period */
	struct tpd_telem_acc acc[TPD_PRODUCT_MAX_SENSORS];
};

void tpd_telem_init(struct tpd_telem *t, const struct tpd_product *p);

/* True when a sample at ts belongs to a later period than the one being
 * accumulated (so the caller should emit and reset first). */
int tpd_telem_due(const struct tpd_telem *t, double ts);

/* Adds one sample; good[i] says whether values[i] was a good reading. */
void tpd_telem_add(struct tpd_telem *t, double ts, const double *values, const int *good);

/* Adds the period's fields ("period_s", "sensors", "events", "load") to obj.
 * *end_s is set to the period's end. TPD_ERR_NOMEM leaves obj partly filled. */
enum tpd_err tpd_telem_to_json(const struct tpd_telem *t, cJSON *obj, double *end_s);

/* Starts the period containing ts (aligned to period boundaries). */
void tpd_telem_reset(struct tpd_telem *t, double ts);

#endif
