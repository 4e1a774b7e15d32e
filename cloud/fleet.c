/*
 * fleet.c - the collector's predictive engine (see fleet.h).
 *
 * Layout: models (product descriptions, loaded on first sight), devices (an
 * open-addressing table by id), the telemetry row, the fleet comparison, and
 * the per-report step.
 *
 * Design notes:
 * 1. The forecast maths is the agent's (src/predict.c) so device and cloud
 *    agree on what a drift is; the cloud adds what a device cannot know: how
 *    its peers of the same model move.
 * 2. A forecast is reported once per device and code while it stands; a
 *    suppressed one (not an outlier in its fleet) is looked at again every
 *    hour, so it is reported as soon as it stands out.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fleet.h"
#include "predict.h"
#include "tpd/product.h"

#define FLEET_MAX_MODELS 64
#define FLEET_MIN_PEERS 5
#define FLEET_Z 3.0

struct fleet_model {
	char name[TPD_ID_MAX + 1];
	struct tpd_product *product;    /* NULL: no description found */
};

struct fleet_device {
	char dev[TPD_ID_MAX + 1];
	unsigned model;
	uint32_t reported;              /* bit i: target i's forecast was reported */
	struct tpd_predict *pred;
};

struct tpc_fleet {
	const char *const *dirs;
	double threshold;               /* passed to every forecast */
	struct fleet_model models[FLEET_MAX_MODELS];
	unsigned nmodels;
	struct fleet_device **slots;    /* open addressing, power-of-two size */
	size_t cap, n;
	size_t bytes;
};

enum tpd_err tpc_fleet_new(const char *const *dirs, double threshold, struct tpc_fleet **out)
{
	struct tpc_fleet *f = calloc(1, sizeof(*f));

	*out = NULL;
	if (!f)
		return TPD_ERR_NOMEM;
	f->dirs = dirs;
	f->threshold = threshold;
	f->cap = 1024;
	f->slots = calloc(f->cap, sizeof(*f->slots));
	if (!f->slots) {
		free(f);
		return TPD_ERR_NOMEM;
	}
	*out = f;
	return TPD_OK;
}

void tpc_fleet_free(struct tpc_fleet *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->cap; i++) {
		if (f->slots[i]) {
			tpd_predict_free(f->slots[i]->pred);
			free(f->slots[i]);
		}
	}
	for (unsigned i = 0; i < f->nmodels; i++)
		free(f->models[i].product);
	free(f->slots);
	free(f);
}

void tpc_fleet_size(const struct tpc_fleet *f, size_t *devices, size_t *bytes)
{
	*devices = f->n;
	*bytes = f->bytes;
}

/* The model's index, loading its description the first time; -1 when the
 * table is full. A model without a description is remembered as such. */
static int fleet_model(struct tpc_fleet *f, const char *name)
{
	struct fleet_model *m;
	char path[4096], err[256];

	for (unsigned i = 0; i < f->nmodels; i++)
		if (strcmp(f->models[i].name, name) == 0)
			return (int)i;
	if (f->nmodels == FLEET_MAX_MODELS)
		return -1;
	m = &f->models[f->nmodels];
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->product = NULL;
	if (tpd_id_valid(name) && tpd_product_resolve(name, f->dirs, path, sizeof(path)) == TPD_OK) {
		m->product = malloc(sizeof(*m->product));
		if (m->product && tpd_product_load(path, m->product, err, sizeof(err))) {
			fprintf(stderr, "tpcollect: predictions for %s off: %s\n", name, err);
			free(m->product);
			m->product = NULL;
		}
	} else {
		fprintf(stderr, "tpcollect: predictions for %s off: no description %s.json\n", name,
			name);
	}
	return (int)f->nmodels++;
}

static uint64_t fleet_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static struct fleet_device **fleet_slot(struct fleet_device **slots, size_t cap, const char *dev)
{
	size_t i = (size_t)fleet_hash(dev) & (cap - 1);

	while (slots[i] && strcmp(slots[i]->dev, dev) != 0)
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

static bool fleet_grow(struct tpc_fleet *f)
{
	size_t cap = f->cap * 2;
	struct fleet_device **slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return false;
	for (size_t i = 0; i < f->cap; i++)
		if (f->slots[i])
			*fleet_slot(slots, cap, f->slots[i]->dev) = f->slots[i];
	free(f->slots);
	f->slots = slots;
	f->cap = cap;
	return true;
}

static struct fleet_device *fleet_device(struct tpc_fleet *f, const char *dev, unsigned model)
{
	struct fleet_device **slot, *d;

	if ((f->n + 1) * 4 > f->cap * 3 && !fleet_grow(f))
		return NULL;
	slot = fleet_slot(f->slots, f->cap, dev);
	if (*slot)
		return *slot;
	d = calloc(1, sizeof(*d));
	if (!d || !(d->pred = tpd_predict_new(f->models[model].product, f->threshold))) {
		free(d);
		return NULL;
	}
	snprintf(d->dev, sizeof(d->dev), "%s", dev);
	d->model = model;
	*slot = d;
	f->n++;
	f->bytes += sizeof(*d) + sizeof(*d->pred) + d->pred->ntargets * sizeof(d->pred->t[0]);
	return d;
}

static double fleet_num(const cJSON *o, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(it) ? it->valuedouble : NAN;
}

/* One telemetry period as a forecast row: averages, the rail's minimum (its
 * sag), load from "load", event counts from "events" (SPEC §2). */
static void fleet_row(const struct tpd_product *p, const cJSON *t, double *clean, double *events)
{
	const cJSON *sensors = cJSON_GetObjectItemCaseSensitive(t, "sensors");
	const cJSON *load = cJSON_GetObjectItemCaseSensitive(t, "load");
	const cJSON *ev = cJSON_GetObjectItemCaseSensitive(t, "events");

	for (size_t i = 0; i < p->nsensors; i++) {
		const struct tpd_sensor_desc *s = &p->sensors[i];
		const char *name = strchr(s->id, '.') + 1;
		const cJSON *agg = cJSON_GetObjectItemCaseSensitive(sensors, s->id);

		clean[i] = NAN;
		events[i] = 0;
		if (s->kind == TPD_KIND_LOAD)
			clean[i] = fleet_num(load, name);
		else if (s->kind == TPD_KIND_EVENT)
			events[i] = fleet_num(ev, name);
		else
			clean[i] = fleet_num(agg, s->kind == TPD_KIND_VOLT ? "min" : "avg");
		if (!isnan(clean[i]) && (clean[i] < s->plaus_lo || clean[i] > s->plaus_hi))
			clean[i] = NAN;
	}
}

static int fleet_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double fleet_median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), fleet_cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The smallest slope spread (per day) worth telling apart, per kind. */
static double fleet_slope_floor(enum tpd_predict_kind kind)
{
	return kind == TPD_PREDICT_TEMP ? 0.1 : kind == TPD_PREDICT_FAN ? 20.0 : 0.005;
}

/*
 * Does d's drift on target t stand out from its model's fleet? Sets the
 * fleet's median slope (per day) and size. With fewer than FLEET_MIN_PEERS
 * fitted devices the device's own forecast stands.
 */
static bool fleet_outlier(const struct tpc_fleet *f, const struct fleet_device *d,
			  const struct tpd_predict_target *t, double slope_per_day,
			  double *median, unsigned *n_out)
{
	size_t n = 0, cap = 64;
	double *v = malloc(cap * sizeof(*v)), med, mad, scale, dir;
	bool out = true;

	*median = NAN;
	*n_out = 0;
	for (size_t i = 0; v && i < f->cap; i++) {
		const struct fleet_device *o = f->slots[i];
		struct tpd_trend_fit fit;

		if (!o || o->model != d->model || !tpd_predict_fit(o->pred, t->sensor, &fit))
			continue;
		if (n == cap) {
			double *g = realloc(v, 2 * cap * sizeof(*v));

			if (!g)
				break;
			v = g;
			cap *= 2;
		}
		v[n++] = fit.slope_per_s * 86400;
	}
	*n_out = (unsigned)n;
	if (!v || n < FLEET_MIN_PEERS) {
		free(v);
		return true;
	}
	med = fleet_median(v, n);
	for (size_t i = 0; i < n; i++)
		v[i] = fabs(v[i] - med);
	mad = fleet_median(v, n);
	scale = fmax(1.4826 * mad, fleet_slope_floor(t->kind));
	dir = t->kind == TPD_PREDICT_TEMP ? 1.0 : -1.0;
	out = dir * (slope_per_day - med) / scale >= FLEET_Z;
	*median = med;
	free(v);
	return out;
}

/* Fills p for target t of d (raised or reversed) at time ts. */
static void fleet_describe(const struct tpc_fleet *f, const struct fleet_device *d,
			   const struct tpd_predict_target *t, double ts, bool raised,
			   struct tpc_prediction *p, bool *report)
{
	const struct tpd_product *prod = f->models[d->model].product;
	struct tpd_trend_fit fit;
	double band[2] = { NAN, NAN };
	const double *xe = t->kind == TPD_PREDICT_FAN ? t->last_x : t->peak_x;
	int dir = t->kind == TPD_PREDICT_TEMP || t->kind == TPD_PREDICT_EVENTS ? 1 : -1;
	bool fitted = tpd_trend_fit(&t->trend, &fit);

	memset(p, 0, sizeof(*p));
	snprintf(p->dev, sizeof(p->dev), "%s", d->dev);
	snprintf(p->model, sizeof(p->model), "%s", prod->model);
	snprintf(p->sensor, sizeof(p->sensor), "%s", prod->sensors[t->sensor].id);
	p->code = t->kind == TPD_PREDICT_TEMP ? TPD_FAULT_TEMP_RISING
		  : t->kind == TPD_PREDICT_FAN ? TPD_FAULT_FAN_DEGRADED : TPD_FAULT_PWR_DEGRADING;
	p->raised = raised;
	p->ts = ts;
	p->limit = t->limit;
	p->eta_s = t->eta_s;
	p->hours = t->trend.n_eff;
	p->slope_per_day = p->slope_se_per_day = p->fleet_slope_per_day = NAN;
	p->value = t->last_y;
	if (fitted && t->kind != TPD_PREDICT_EVENTS) {
		p->value = tpd_trend_predict(&t->trend, &fit, xe, ts);
		tpd_trend_eta(&t->trend, &fit, xe, ts, t->limit, dir, band);
		p->slope_per_day = fit.slope_per_s * 86400;
		p->slope_se_per_day = fit.slope_se_per_s * 86400;
		p->confidence = fit.slope_se_per_s > 0
			? erf(fabs(fit.slope_per_s / fit.slope_se_per_s) / sqrt(2.0)) : 1.0;
	} else {
		p->confidence = 1 - exp(-t->cusum / 2);   /* the CUSUM's excess, in events */
	}
	p->eta_early_s = band[0];
	p->eta_late_s = band[1];
	*report = true;
	if (raised && t->kind != TPD_PREDICT_EVENTS && fitted)
		*report = fleet_outlier(f, d, t, p->slope_per_day, &p->fleet_slope_per_day,
					&p->fleet_n);
}

unsigned tpc_fleet_telemetry(struct tpc_fleet *f, const struct tpc_report *r,
			     struct tpc_prediction *out, unsigned max)
{
	double clean[TPD_PRODUCT_MAX_SENSORS], events[TPD_PRODUCT_MAX_SENSORS];
	struct tpd_predict_event ev[TPD_PREDICT_MAX_TARGETS];
	struct fleet_device *d;
	double bin;
	unsigned n = 0;
	int model;

	if (r->kind != TPD_TOPIC_TELEMETRY || !r->model)
		return 0;
	model = fleet_model(f, r->model);
	if (model < 0 || !f->models[model].product)
		return 0;
	d = fleet_device(f, r->dev, (unsigned)model);
	if (!d)
		return 0;
	fleet_row(f->models[model].product, r->json, clean, events);
	bin = d->pred->bin_start;
	tpd_predict_sample(d->pred, r->ts, clean, events, ev, TPD_PREDICT_MAX_TARGETS);
	if (!(d->pred->bin_start > bin))
		return 0;   /* no hour closed: nothing was decided */
	for (unsigned i = 0; i < d->pred->ntargets && n < max; i++) {
		const struct tpd_predict_target *t = &d->pred->t[i];
		bool was = d->reported & (1u << i), report;

		if (t->active == was)
			continue;
		fleet_describe(f, d, t, r->ts, t->active, &out[n], &report);
		if (!report)
			continue;   /* not an outlier in its fleet (yet) */
		d->reported ^= 1u << i;
		n++;
	}
	return n;
}
