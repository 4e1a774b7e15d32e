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
 * 4. Bounded memory: a fleet of millions does not fit 5 KB a device, and
 *    most devices of a large fleet are quiet at any hour (offline, or
 *    reporting rarely). Devices are kept on a list by the time their last
 *    telemetry arrived; the least recently seen is saved through the
 *    persist hook (the collector's database) and let go when the bound is
 *    reached or when it has been idle for idle_s, and read back when it
 *    reports again. The saved bytes are the forecast's own (predict.h,
 *    flat, no pointers) behind a header naming the model and the layout;
 *    on reading, the targets must match what the product makes now (kind,
 *    sensor and regressors, target size), so a changed description or
 *    build learns again instead of misreading. The model's counters
 *    (note 3) keep a device that is away: it is still one of its model.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fleet.h"
#include "pool.h"
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
	struct tpc_pool *pool;          /* its devices: a fleet_device and its forecast each */
	struct fleet_spread spread[FLEET_MAX_TARGETS];
};

struct fleet_device {
	char dev[TPD_ID_MAX + 1];
	unsigned model;
	uint32_t reported;              /* bit i: target i's forecast was reported */
	uint32_t learned;               /* bit i: counted in its model's spread[i] */
	uint32_t over;                  /* bit i: counted in spread[i].over */
	uint8_t held[FLEET_MAX_TARGETS];/* hours target i has stood raised, unreported */
	double seen;                    /* when its last telemetry arrived (caller's clock) */
	struct fleet_device *newer, *older;   /* the recency list (note 4) */
	struct tpd_predict *pred;       /* right after it, in the same pool object */
};

/* The saved form's header (note 4); the targets' bytes follow. */
#define FLEET_STATE_MAGIC 0x31465054u   /* "TPF1" */
struct fleet_state_head {
	uint32_t magic;
	uint32_t target_size;           /* sizeof(struct tpd_predict_target) */
	uint32_t ntargets;
	uint32_t reported, learned, over;
	uint8_t held[FLEET_MAX_TARGETS];
	char model[TPD_ID_MAX + 1];
	double threshold, bin_start;
};

struct tpc_fleet {
	const char *const *dirs;
	double threshold;               /* passed to every forecast */
	struct fleet_model models[FLEET_MAX_MODELS];
	unsigned nmodels;
	struct fleet_device **slots;    /* open addressing, power-of-two size */
	size_t cap, n;
	size_t bytes;
	struct fleet_device *newest, *oldest;   /* the recency list (note 4) */
	struct tpc_fleet_persist persist;       /* save NULL: every device stays */
	double idle_s;
	size_t max_resident;
	struct tpc_fleet_stats stats;
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
	/* the devices are in their models' pools */
	for (unsigned i = 0; i < f->nmodels; i++) {
		tpc_pool_free(f->models[i].pool);
		free(f->models[i].product);
	}
	free(f->slots);
	free(f);
}

void tpc_fleet_size(const struct tpc_fleet *f, size_t *devices, size_t *bytes)
{
	*devices = f->n;
	*bytes = f->bytes;
}

void tpc_fleet_stats(const struct tpc_fleet *f, struct tpc_fleet_stats *out)
{
	*out = f->stats;
	out->resident = f->n;
	out->bytes = f->bytes;
}

void tpc_fleet_set_persist(struct tpc_fleet *f, const struct tpc_fleet_persist *p, double idle_s,
			   size_t max_resident)
{
	f->persist = *p;
	f->idle_s = idle_s > 0 ? idle_s : 0;
	f->max_resident = max_resident;
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
	m->pool = NULL;
	if (tpd_id_valid(name) && tpd_product_resolve(name, f->dirs, path, sizeof(path)) == TPD_OK) {
		m->product = malloc(sizeof(*m->product));
		if (m->product && tpd_product_load(path, m->product, err, sizeof(err))) {
			fprintf(stderr, "tpcollect: predictions for %s off: %s\n", name, err);
			free(m->product);
			m->product = NULL;
		}
		if (m->product && !(m->pool = tpc_pool_new(sizeof(struct fleet_device) +
							   tpd_predict_bytes(m->product)))) {
			fprintf(stderr, "tpcollect: predictions for %s off: out of memory\n", name);
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

/* Empties a slot of the linear-probing table, shifting back the entries
 * that probed past it so every lookup still finds them. */
static void fleet_unslot(struct tpc_fleet *f, struct fleet_device **slot)
{
	size_t mask = f->cap - 1, i = (size_t)(slot - f->slots), j = i;

	f->slots[i] = NULL;
	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (!f->slots[j])
			break;
		home = (size_t)fleet_hash(f->slots[j]->dev) & mask;
		/* it stays when its home lies cyclically in (i, j] */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		f->slots[i] = f->slots[j];
		f->slots[j] = NULL;
		i = j;
	}
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

static void fleet_unlink(struct tpc_fleet *f, struct fleet_device *d)
{
	if (d->newer)
		d->newer->older = d->older;
	else
		f->newest = d->older;
	if (d->older)
		d->older->newer = d->newer;
	else
		f->oldest = d->newer;
	d->newer = d->older = NULL;
}

/* d reported at now: to the front of the recency list. */
static void fleet_touch(struct tpc_fleet *f, struct fleet_device *d, double now)
{
	d->seen = now;
	if (f->newest == d)
		return;
	if (d->newer || d->older || f->oldest == d)
		fleet_unlink(f, d);
	d->older = f->newest;
	if (f->newest)
		f->newest->newer = d;
	f->newest = d;
	if (!f->oldest)
		f->oldest = d;
}

/* d's state as saved bytes (note 4); the caller frees them. */
static void *fleet_pack(const struct tpc_fleet *f, const struct fleet_device *d, size_t *len)
{
	struct fleet_state_head h;
	size_t tbytes = d->pred->ntargets * sizeof(d->pred->t[0]);
	unsigned char *b = malloc(sizeof(h) + tbytes);

	if (!b)
		return NULL;
	memset(&h, 0, sizeof(h));   /* padding too: the same state, the same bytes */
	h.magic = FLEET_STATE_MAGIC;
	h.target_size = (uint32_t)sizeof(d->pred->t[0]);
	h.ntargets = d->pred->ntargets;
	h.reported = d->reported;
	h.learned = d->learned;
	h.over = d->over;
	memcpy(h.held, d->held, sizeof(h.held));
	snprintf(h.model, sizeof(h.model), "%s", f->models[d->model].name);
	h.threshold = d->pred->threshold;
	h.bin_start = d->pred->bin_start;
	memcpy(b, &h, sizeof(h));
	memcpy(b + sizeof(h), d->pred->t, tbytes);
	*len = sizeof(h) + tbytes;
	return b;
}

/* Reads saved bytes into a fresh device d of model `model`: false (d
 * untouched) when they are not of this model, threshold and layout. */
static bool fleet_unpack(const struct tpc_fleet *f, struct fleet_device *d, const void *state,
			 size_t len)
{
	struct fleet_state_head h;
	const unsigned char *b = state;
	struct tpd_predict *p = d->pred;

	if (len < sizeof(h))
		return false;
	memcpy(&h, b, sizeof(h));
	if (h.magic != FLEET_STATE_MAGIC || h.target_size != sizeof(p->t[0]) ||
	    h.ntargets != p->ntargets || len != sizeof(h) + (size_t)h.ntargets * sizeof(p->t[0]) ||
	    memchr(h.model, '\0', sizeof(h.model)) == NULL ||
	    strcmp(h.model, f->models[d->model].name) != 0 || h.threshold != p->threshold)
		return false;
	for (unsigned i = 0; i < h.ntargets; i++) {
		struct tpd_predict_target t;

		memcpy(&t, b + sizeof(h) + i * sizeof(t), sizeof(t));
		if (t.kind != p->t[i].kind || t.sensor != p->t[i].sensor || t.nx != p->t[i].nx ||
		    memcmp(t.x, p->t[i].x, sizeof(t.x)) != 0 ||
		    (t.kind == TPD_PREDICT_TEMP && t.u.th.ex.ref != p->t[i].u.th.ex.ref) ||
		    (t.kind == TPD_PREDICT_EVENTS && t.u.ev.load != p->t[i].u.ev.load))
			return false;
	}
	memcpy(p->t, b + sizeof(h), (size_t)h.ntargets * sizeof(p->t[0]));
	p->bin_start = h.bin_start;
	d->reported = h.reported;
	d->learned = h.learned;
	d->over = h.over;
	memcpy(d->held, h.held, sizeof(d->held));
	return true;
}

static bool fleet_save(struct tpc_fleet *f, const struct fleet_device *d)
{
	size_t len;
	void *b = fleet_pack(f, d, &len);
	enum tpd_err rc = b ? f->persist.save(f->persist.ctx, d->dev, b, len) : TPD_ERR_NOMEM;

	free(b);
	if (rc)
		f->stats.save_failed++;
	return rc == TPD_OK;
}

static void fleet_drop(struct tpc_fleet *f, struct fleet_device *d)
{
	fleet_unlink(f, d);
	fleet_unslot(f, fleet_slot(f->slots, f->cap, d->dev));
	f->n--;
	f->bytes -= sizeof(*d) + tpd_predict_size(d->pred);
	tpc_pool_release(f->models[d->model].pool, d);
}

/* Saves and lets go of the least recently seen device; false when its save
 * was refused (it stays). */
static bool fleet_evict_oldest(struct tpc_fleet *f)
{
	struct fleet_device *d = f->oldest;

	if (!d || !fleet_save(f, d))
		return false;
	fleet_drop(f, d);
	f->stats.evicted++;
	return true;
}

bool tpc_fleet_idle(const struct tpc_fleet *f, double now)
{
	return f->persist.save && f->idle_s > 0 && f->oldest && f->oldest->seen < now - f->idle_s;
}

size_t tpc_fleet_evict_idle(struct tpc_fleet *f, double now, size_t max)
{
	size_t n = 0;

	if (!f->persist.save || !(f->idle_s > 0))
		return 0;
	while (n < max && f->oldest && f->oldest->seen < now - f->idle_s && fleet_evict_oldest(f))
		n++;
	return n;
}

size_t tpc_fleet_save_all(struct tpc_fleet *f)
{
	size_t failed = 0;

	if (!f->persist.save)
		return 0;
	for (struct fleet_device *d = f->oldest; d; d = d->newer)
		failed += !fleet_save(f, d);
	return failed;
}

/* A device's saved state, when there is one of this model and layout. */
static void fleet_restore(struct tpc_fleet *f, struct fleet_device *d)
{
	void *state = NULL;
	size_t len = 0;

	if (!f->persist.load || f->persist.load(f->persist.ctx, d->dev, &state, &len) != TPD_OK)
		return;
	if (fleet_unpack(f, d, state, len))
		f->stats.restored++;
	else
		f->stats.discarded++;
	free(state);
}

static struct fleet_device *fleet_device(struct tpc_fleet *f, const char *dev, unsigned model,
					 double now)
{
	struct fleet_device **slot, *d;

	slot = fleet_slot(f->slots, f->cap, dev);
	if (*slot) {
		fleet_touch(f, *slot, now);
		return *slot;
	}
	/* a newcomer: room first (note 4), then the table's load factor */
	if (f->max_resident && f->persist.save && f->n >= f->max_resident)
		fleet_evict_oldest(f);
	if ((f->n + 1) * 4 > f->cap * 3 && !fleet_grow(f))
		return NULL;
	d = tpc_pool_alloc(f->models[model].pool);
	if (!d)
		return NULL;
	d->pred = (struct tpd_predict *)(d + 1);
	tpd_predict_init(d->pred, f->models[model].product, f->threshold);
	snprintf(d->dev, sizeof(d->dev), "%s", dev);
	d->model = model;
	fleet_restore(f, d);
	*fleet_slot(f->slots, f->cap, dev) = d;
	fleet_touch(f, d, now);
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

unsigned tpc_fleet_telemetry(struct tpc_fleet *f, const struct tpc_report *r, double now,
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
	d = fleet_device(f, r->dev, (unsigned)model, now);
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
