/*
 * telem.c - telemetry aggregation over one reporting period.
 */
#include <math.h>
#include <string.h>

#include "report.h"
#include "telem.h"

static void telem_clear(struct tpd_telem *t)
{
	t->samples = 0;
	for (size_t i = 0; i < TPD_PRODUCT_MAX_SENSORS; i++) {
		int last = t->acc[i].last_flag;

		t->acc[i] = (struct tpd_telem_acc){ .min = INFINITY, .max = -INFINITY };
		t->acc[i].last_flag = last;
	}
}

void tpd_telem_init(struct tpd_telem *t, const struct tpd_product *p)
{
	memset(t, 0, sizeof(*t));
	t->product = p;
	t->period_s = p->telemetry_period_s;
	t->start_s = NAN;
	for (size_t i = 0; i < TPD_PRODUCT_MAX_SENSORS; i++)
		t->acc[i].last_flag = -1;
	telem_clear(t);
}

int tpd_telem_due(const struct tpd_telem *t, double ts)
{
	return !isnan(t->start_s) && ts >= t->start_s + t->period_s;
}

void tpd_telem_reset(struct tpd_telem *t, double ts)
{
	/* Periods are aligned to multiples of period_s so that devices report on
	 * the same boundaries and a gap does not shift every later period. */
	t->start_s = floor(ts / t->period_s) * t->period_s;
	telem_clear(t);
}

void tpd_telem_add(struct tpd_telem *t, double ts, const double *values, const int *good)
{
	if (isnan(t->start_s))
		tpd_telem_reset(t, ts);
	t->samples++;
	for (size_t i = 0; i < t->product->nsensors; i++) {
		struct tpd_telem_acc *a = &t->acc[i];
		double v = values[i];

		if (!good[i]) {
			a->fail++;
			continue;
		}
		if (t->product->sensors[i].kind == TPD_KIND_EVENT) {
			int flag = v >= 0.5;

			if (flag && a->last_flag == 0)
				a->edges++;
			/* A flag already set at the very first sample counts once. */
			if (flag && a->last_flag == -1)
				a->edges++;
			a->last_flag = flag;
		}
		if (v < a->min)
			a->min = v;
		if (v > a->max)
			a->max = v;
		a->sum += v;
		a->n++;
	}
}

enum tpd_err tpd_telem_to_json(const struct tpd_telem *t, cJSON *obj, double *end_s)
{
	cJSON *sensors, *events, *load;

	*end_s = t->start_s + t->period_s;
	if (!tpd_json_add_num(obj, "period_s", t->period_s, 3))
		return TPD_ERR_NOMEM;
	sensors = cJSON_AddObjectToObject(obj, "sensors");
	events = cJSON_AddObjectToObject(obj, "events");
	load = cJSON_AddObjectToObject(obj, "load");
	if (!sensors || !events || !load)
		return TPD_ERR_NOMEM;
	for (size_t i = 0; i < t->product->nsensors; i++) {
		const struct tpd_sensor_desc *s = &t->product->sensors[i];
		const struct tpd_telem_acc *a = &t->acc[i];
		const char *shortname = strchr(s->id, '.') + 1;
		cJSON *agg;

		if (s->kind == TPD_KIND_EVENT) {
			if (!tpd_json_add_num(events, shortname, a->edges, 0))
				return TPD_ERR_NOMEM;
			continue;
		}
		if (s->kind == TPD_KIND_LOAD) {
			if (!(a->n ? tpd_json_add_num(load, shortname, a->sum / a->n, 3)
				   : cJSON_AddNullToObject(load, shortname)))
				return TPD_ERR_NOMEM;
			continue;
		}
		agg = cJSON_AddObjectToObject(sensors, s->id);
		if (!agg)
			return TPD_ERR_NOMEM;
		if (a->n) {
			if (!tpd_json_add_num(agg, "min", a->min, 3) ||
			    !tpd_json_add_num(agg, "max", a->max, 3) ||
			    !tpd_json_add_num(agg, "avg", a->sum / a->n, 3))
				return TPD_ERR_NOMEM;
		} else {
			if (!cJSON_AddNullToObject(agg, "min") || !cJSON_AddNullToObject(agg, "max") ||
			    !cJSON_AddNullToObject(agg, "avg"))
				return TPD_ERR_NOMEM;
		}
		if (!tpd_json_add_num(agg, "n", a->n, 0))
			return TPD_ERR_NOMEM;
		if (a->fail && !tpd_json_add_num(agg, "fail", a->fail, 0))
			return TPD_ERR_NOMEM;
	}
	return TPD_OK;
}
