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
 * 3. Fleet-relative, without hiding anyone behind a summer: the detectors
 *    compare each device with its own early life in ratios that ambient
 *    does not move (predict.c note 2), so a hot season moves no device and
 *    none is compared away. What a device cannot see is its whole model
 *    moving: a firmware that draws more power raises every thermal slope.
 *    Per model and target the engine counts the learned devices and those
 *    whose detector stands raised or whose excess is past 10 % (O(1) per
 *    hour, whatever the fleet's size), and keeps a decaying mean and
 *    spread of every device-hour's excess.
 *    With 5 or more learned devices and most of them past 10 %, the model
 *    has moved, and a device is reported only when it stands 3 deviations
 *    above its model's mean. A majority cannot be one failing device, so
 *    none hides a single failure. With 1 to 4 devices, or a model where it
 *    was, the device's own detector decides. A raise is reported once it
 *    has stood FLEET_HOLD_H hours, so a change that reaches every device at
 *    once (a firmware pushed to all) is seen as the model's before any one
 *    device is claimed for it; one rolled out over days is not.
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
#define FLEET_MAX_TARGETS TPD_PREDICT_MAX_TARGETS
/* A device is "over" when its excess is past this (the detectors' own
 * effect floors are 12-15 %); the model has moved when most are. */
#define FLEET_MOVED 0.10
#define FLEET_HOLD_H 6
#define FLEET_SPREAD_FLOOR 0.03

/* The fleet of one model on one target (note 3). */
struct fleet_spread {
	unsigned devices;               /* devices that have learned their baseline */
	unsigned over;                  /* ...of them with an excess past FLEET_MOVED */
	uint64_t rows;                  /* device-hours seen */
	double center, mad;             /* decaying mean and mean |deviation| of the excess */
};

struct fleet_model {
	char name[TPD_ID_MAX + 1];
	struct tpd_product *product;    /* NULL: no description found */
	struct fleet_spread spread[FLEET_MAX_TARGETS];
};

struct fleet_device {
	char dev[TPD_ID_MAX + 1];
	unsigned model;
	uint32_t reported;              /* bit i: target i's forecast was reported */
	uint32_t learned;               /* bit i: counted in its model's spread[i] */
	uint32_t over;                  /* bit i: counted in spread[i].over */
	uint8_t held[FLEET_MAX_TARGETS];/* hours target i has stood raised, unreported */
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
	f->bytes += sizeof(*d) + tpd_predict_size(d->pred);
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

/*
 * The model's fleet on target index i: a decaying mean and mean absolute
 * deviation of every device-hour's excess (note 3), O(1) per hour. One
 * device-hour weighs 1 / (six hours of the fleet's device-hours), so the
 * centre follows a model-wide change within a quarter of a day.
 */
static void fleet_learn(struct fleet_model *m, struct fleet_device *d, unsigned i, double excess,
			bool alarmed)
{
	struct fleet_spread *sp = &m->spread[i];
	double w = 1.0 / (6.0 * (sp->devices ? sp->devices : 1));
	bool over = alarmed || excess >= FLEET_MOVED;

	if (!(d->learned & (1u << i))) {
		d->learned |= 1u << i;
		sp->devices++;
	}
	if (over != !!(d->over & (1u << i))) {
		d->over ^= 1u << i;
		if (over)
			sp->over++;
		else
			sp->over--;
	}

	excess = fmin(fmax(excess, -1.0), 1.0);
	if (sp->rows++ == 0) {
		sp->center = excess;
		return;
	}
	sp->mad = sp->mad * (1 - w) + fabs(excess - sp->center) * w;
	sp->center = sp->center * (1 - w) + excess * w;
}

/* A target's excess towards wear: the thermal slope's rise, the fan's
 * shortfall, both as fractions of their early life; NAN: none yet. */
static double fleet_excess(const struct tpd_predict_target *t)
{
	double base, now;

	if (!tpd_predict_basis(t, &base, &now) || !(base > 0))
		return NAN;
	return t->kind == TPD_PREDICT_TEMP ? now / base - 1 : base - now;
}

/*
 * Does d's raised forecast on target i stand as it is (note 3)? Sets the
 * fleet's centre and size. With fewer than FLEET_MIN_PEERS learned devices
 * of the model, or a fleet that is where it was, the device's own detector
 * stands; when most of the model has moved past the detector's own effect
 * floor (a firmware that draws more power, a batch of mis-scaled tachos), a
 * device must stand out from it by FLEET_Z robust deviations.
 */
static bool fleet_stands(const struct tpc_fleet *f, const struct fleet_device *d, unsigned i,
			 double excess, double *center, unsigned *n_out)
{
	const struct fleet_spread *sp = &f->models[d->model].spread[i];
	double scale;

	*center = NAN;
	*n_out = sp->devices;
	if (sp->devices < FLEET_MIN_PEERS || isnan(excess))
		return true;
	*center = sp->center;
	if (2 * sp->over <= sp->devices)
		return true;
	scale = fmax(1.2533 * sp->mad, FLEET_SPREAD_FLOOR);   /* mean |dev| -> sd */
	return (excess - sp->center) / scale >= FLEET_Z;
}

/* Fills p for target i of d (raised or reversed) at time ts. */
static void fleet_describe(const struct tpc_fleet *f, const struct fleet_device *d, unsigned i,
			   double ts, bool raised, struct tpc_prediction *p, bool *report)
{
	const struct tpd_predict_target *t = &d->pred->t[i];
	const struct tpd_product *prod = f->models[d->model].product;
	struct tpd_trend_fit fit;
	double band[2] = { NAN, NAN };
	const double *xe = t->kind == TPD_PREDICT_TEMP ? t->peak_x : t->last_x;
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
	p->slope_per_day = p->slope_se_per_day = p->fleet_center = NAN;
	p->eta_early_s = p->eta_late_s = NAN;
	p->value = t->last_y;
	tpd_predict_describe(t, &p->baseline, &p->now, &p->excess);
	if (fitted && t->kind != TPD_PREDICT_EVENTS) {
		p->value = tpd_trend_predict(&t->trend, &fit, xe, ts);
		tpd_trend_eta(&t->trend, &fit, xe, ts, t->limit, dir, band);
		p->slope_per_day = fit.slope_per_s * 86400;
		p->slope_se_per_day = fit.slope_se_per_s * 86400;
		p->eta_early_s = band[0];
		p->eta_late_s = band[1];
	}
	if (t->kind == TPD_PREDICT_TEMP || t->kind == TPD_PREDICT_FAN) {
		/* how far past its decision interval the change detector is */
		const struct tpd_cusum *c = t->kind == TPD_PREDICT_FAN ? &t->u.fan.shortfall
									: &t->u.th.rise;
		double over = c->s / c->h;

		/* a TEMP forecast may stand on the excess detector alone */
		if (t->kind == TPD_PREDICT_TEMP)
			over = fmax(over, t->u.th.ex.rise.s / t->u.th.ex.rise.h);
		p->confidence = 1 - exp(-over * 2);
	} else if (t->kind == TPD_PREDICT_RAIL && fitted) {
		p->confidence = fit.slope_se_per_s > 0
			? erf(fabs(fit.slope_per_s / fit.slope_se_per_s) / sqrt(2.0)) : 1.0;
	} else {
		p->confidence = 1 - exp(-t->u.ev.cusum / 2);   /* the CUSUM's excess, in events */
	}
	*report = true;
	if (raised && (t->kind == TPD_PREDICT_TEMP || t->kind == TPD_PREDICT_FAN))
		*report = fleet_stands(f, d, i, fleet_excess(t), &p->fleet_center, &p->fleet_n);
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
	for (unsigned i = 0; i < d->pred->ntargets && i < FLEET_MAX_TARGETS; i++) {
		double e = fleet_excess(&d->pred->t[i]);

		if (isnan(e))
			continue;
		fleet_learn(&f->models[model], d, i, e, d->pred->t[i].active);
	}
	for (unsigned i = 0; i < d->pred->ntargets && n < max; i++) {
		const struct tpd_predict_target *t = &d->pred->t[i];
		bool was = d->reported & (1u << i), report;

		if (t->active == was) {
			d->held[i] = 0;
			continue;
		}
		/* a raise must stand a few hours first (note 3) */
		if (t->active && (t->kind == TPD_PREDICT_TEMP || t->kind == TPD_PREDICT_FAN) &&
		    ++d->held[i] < FLEET_HOLD_H)
			continue;
		fleet_describe(f, d, i, r->ts, t->active, &out[n], &report);
		if (!report)
			continue;   /* not an outlier in its fleet (yet) */
		d->reported ^= 1u << i;
		n++;
	}
	return n;
}
