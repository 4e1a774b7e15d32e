/*
 * seqgap.c - per-device missing seq ranges (seqgap.h): lookup, range
 * bookkeeping, the alarm check, snapshots.
 *
 * Devices are found through a tsearch(3) tree keyed by id and also listed
 * in an array (in the order they appeared) for the check and snapshots.
 * A device's open ranges are kept sorted by lo; since a new range always
 * lies above every older one (it starts at the highest seq seen + 1),
 * sorted by lo is also oldest first.
 *
 * Design notes:
 * 1. The check walks all devices only when the earliest unalarmed range is
 *    due (next_due), so the main loop may call it every pass.
 * 2. A device with TPC_SEQGAP_RANGES open ranges loses its oldest to make
 *    room; an unalarmed one evicted so is counted as an alarm on the spot
 *    (it is in no list any more, so it could never be filled).
 * 3. Ask mode (several collectors share the stream): every report of a
 *    device that went to another collector opens a range here, so a
 *    device reporting fast fills its ranges long before they are due.
 *    tpc_seqgap_due therefore hands out a device's whole window (its
 *    oldest open range's lo to its newest's hi) when a range is due or
 *    when it has half of TPC_SEQGAP_RANGES open; one lookup fills them
 *    all. Between two lookups a device may open more ranges than a lone
 *    collector would keep: up to TPC_SEQGAP_RANGES_ASK.
 */
#include <pthread.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>

#include "tpd/wire.h"
#include "seqgap.h"

struct seqgap_dev {
	char id[TPD_ID_MAX + 1];
	uint64_t max;                    /* highest seq seen */
	struct tpc_seqgap_range *r;      /* open ranges, sorted by lo */
	size_t n, cap;
	double report_next;              /* monotonic s: next alarm call allowed */
	uint64_t new_ranges, new_reports;/* alarms not yet reported */
};

struct tpc_seqgap {
	pthread_mutex_t lock;
	double grace_s, report_every_s;
	bool ask;                        /* tpc_seqgap_set_ask */
	bool crowded;                    /* ask: a device has many open ranges */
	void *root;                      /* tsearch tree of struct seqgap_dev */
	struct seqgap_dev **devs;
	size_t ndevs, capdevs;
	double next_due;                 /* monotonic s of the earliest unalarmed range's alarm */
	struct tpc_seqgap_totals t;
};

static int seqgap_cmp(const void *a, const void *b)
{
	return strcmp(((const struct seqgap_dev *)a)->id, ((const struct seqgap_dev *)b)->id);
}

enum tpd_err tpc_seqgap_new(double grace_s, double report_every_s, struct tpc_seqgap **out)
{
	struct tpc_seqgap *g = calloc(1, sizeof(*g));

	*out = NULL;
	if (!g)
		return TPD_ERR_NOMEM;
	pthread_mutex_init(&g->lock, NULL);
	g->grace_s = grace_s;
	g->report_every_s = report_every_s;
	g->next_due = 1e300;
	*out = g;
	return TPD_OK;
}

static void seqgap_noop(void *p)
{
	(void)p;
}

void tpc_seqgap_free(struct tpc_seqgap *g)
{
	if (!g)
		return;
	tdestroy(g->root, seqgap_noop);
	for (size_t i = 0; i < g->ndevs; i++) {
		free(g->devs[i]->r);
		free(g->devs[i]);
	}
	free(g->devs);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

static struct seqgap_dev *seqgap_find(struct tpc_seqgap *g, const char *id, bool *created)
{
	struct seqgap_dev key, *d, **slot;

	*created = false;
	if (strlen(id) > TPD_ID_MAX)
		return NULL;
	strcpy(key.id, id);   /* length checked just above */
	slot = tfind(&key, &g->root, seqgap_cmp);
	if (slot)
		return *slot;
	if (g->ndevs >= TPC_SEQGAP_DEVICES)
		return NULL;
	if (g->ndevs == g->capdevs) {
		size_t cap = g->capdevs ? g->capdevs * 2 : 64;
		struct seqgap_dev **devs = realloc(g->devs, cap * sizeof(*devs));

		if (!devs)
			return NULL;
		g->devs = devs;
		g->capdevs = cap;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	memcpy(d->id, key.id, sizeof(d->id));
	slot = tsearch(d, &g->root, seqgap_cmp);
	if (!slot) {
		free(d);
		return NULL;
	}
	g->devs[g->ndevs++] = d;
	*created = true;
	return d;
}

static uint64_t seqgap_size(const struct tpc_seqgap_range *r)
{
	return r->hi - r->lo + 1;
}

static void seqgap_remove(struct seqgap_dev *d, size_t i)
{
	memmove(&d->r[i], &d->r[i + 1], (d->n - i - 1) * sizeof(d->r[0]));
	d->n--;
}

static bool seqgap_grow(const struct tpc_seqgap *g, struct seqgap_dev *d)
{
	size_t cap = d->cap ? d->cap * 2 : 2, most = g->ask ? TPC_SEQGAP_RANGES_ASK
							   : TPC_SEQGAP_RANGES;
	struct tpc_seqgap_range *r;

	if (d->cap >= most)
		return false;
	if (cap > most)
		cap = most;
	r = realloc(d->r, cap * sizeof(*r));
	if (!r)
		return false;
	d->r = r;
	d->cap = cap;
	return true;
}

/* Counts lo..hi of a range that is given up as an alarm (note 2). */
static void seqgap_give_up(struct tpc_seqgap *g, struct seqgap_dev *d, bool alarmed,
			   uint64_t lo, uint64_t hi)
{
	if (alarmed) {
		g->t.open_reports -= hi - lo + 1;
		return;
	}
	g->t.gaps_alarmed++;
	g->t.reports_alarmed += hi - lo + 1;
	d->new_ranges++;
	d->new_reports += hi - lo + 1;
}

/* Room for one more range at d->n: grows the array, or evicts the oldest. */
static bool seqgap_room(struct tpc_seqgap *g, struct seqgap_dev *d)
{
	if (d->n < d->cap || seqgap_grow(g, d))
		return true;
	if (d->n == 0)
		return false;
	seqgap_give_up(g, d, d->r[0].alarmed, d->r[0].lo, d->r[0].hi);
	if (d->r[0].alarmed)
		g->t.open_ranges--;
	seqgap_remove(d, 0);
	return true;
}

/* One seq of range i arrived: shrinks, removes or splits the range. */
static void seqgap_fill(struct tpc_seqgap *g, struct seqgap_dev *d, size_t i, uint64_t seq)
{
	struct tpc_seqgap_range *r = &d->r[i], upper;
	bool alarmed = r->alarmed;

	if (alarmed) {
		g->t.filled_late++;
		g->t.open_reports--;
	}
	if (r->lo == r->hi) {
		if (alarmed)
			g->t.open_ranges--;
		seqgap_remove(d, i);
		return;
	}
	if (seq == r->lo || seq == r->hi) {
		if (seq == r->lo)
			r->lo++;
		else
			r->hi--;
		return;
	}
	if (d->n == d->cap && !seqgap_grow(g, d)) {
		if (i == 0) {
			/* this is the oldest: its lower part goes */
			seqgap_give_up(g, d, alarmed, r->lo, seq - 1);
			r->lo = seq + 1;
			return;
		}
		seqgap_give_up(g, d, d->r[0].alarmed, d->r[0].lo, d->r[0].hi);
		if (d->r[0].alarmed)
			g->t.open_ranges--;
		seqgap_remove(d, 0);
		i--;
	}
	r = &d->r[i];
	upper = *r;
	upper.lo = seq + 1;
	r->hi = seq - 1;
	memmove(&d->r[i + 2], &d->r[i + 1], (d->n - i - 1) * sizeof(d->r[0]));
	d->r[i + 1] = upper;
	d->n++;
	if (alarmed)
		g->t.open_ranges++;
}

void tpc_seqgap_seen(struct tpc_seqgap *g, const char *dev, uint64_t seq, bool restart,
		     double now, double wall)
{
	struct seqgap_dev *d;
	bool created;

	pthread_mutex_lock(&g->lock);
	d = seqgap_find(g, dev, &created);
	if (!d) {
		g->t.untracked++;
		goto out;
	}
	if (created) {
		d->max = seq;
		goto out;
	}
	if (seq > d->max) {
		if (seq > d->max + 1 && !restart && seqgap_room(g, d)) {
			struct tpc_seqgap_range *r = &d->r[d->n++];

			r->lo = d->max + 1;
			r->hi = seq - 1;
			r->since_mono = now;
			r->since_wall = wall;
			r->alarmed = false;
			r->asked = false;
			if (now + g->grace_s < g->next_due)
				g->next_due = now + g->grace_s;
			/* with ask on, a device's ranges are looked up before they
			 * crowd out each other (design note 3) */
			if (g->ask && d->n >= TPC_SEQGAP_RANGES / 2)
				g->crowded = true;
		}
		d->max = seq;
		goto out;
	}
	for (size_t i = 0; i < d->n; i++) {
		if (seq < d->r[i].lo)
			break;
		if (seq <= d->r[i].hi) {
			seqgap_fill(g, d, i, seq);
			break;
		}
	}
out:
	pthread_mutex_unlock(&g->lock);
}

size_t tpc_seqgap_due(struct tpc_seqgap *g, double now, struct tpc_seqgap_range *due,
		      char (*dev)[TPD_ID_MAX + 1], size_t max)
{
	size_t n = 0;

	pthread_mutex_lock(&g->lock);
	if (now < g->next_due && !g->crowded) {
		pthread_mutex_unlock(&g->lock);
		return 0;
	}
	g->crowded = false;
	for (size_t k = 0; n < max && k < g->ndevs; k++) {
		struct seqgap_dev *d = g->devs[k];
		size_t first = d->n;
		bool ripe = d->n >= TPC_SEQGAP_RANGES / 2;

		for (size_t i = 0; i < d->n; i++) {
			if (d->r[i].alarmed)
				continue;
			if (first == d->n)
				first = i;
			if (!d->r[i].asked && now >= d->r[i].since_mono + g->grace_s)
				ripe = true;
		}
		if (first == d->n || !ripe)
			continue;
		for (size_t i = first; i < d->n; i++)
			if (now >= d->r[i].since_mono + g->grace_s)
				d->r[i].asked = true;
		due[n] = d->r[first];
		due[n].hi = d->r[d->n - 1].hi;
		memcpy(dev[n], d->id, sizeof(dev[n]));
		n++;
	}
	if (n == max)
		g->crowded = true;   /* the rest at the next call */
	pthread_mutex_unlock(&g->lock);
	return n;
}

void tpc_seqgap_set_ask(struct tpc_seqgap *g, bool ask)
{
	pthread_mutex_lock(&g->lock);
	g->ask = ask;
	pthread_mutex_unlock(&g->lock);
}

void tpc_seqgap_set_grace(struct tpc_seqgap *g, double grace_s)
{
	pthread_mutex_lock(&g->lock);
	g->grace_s = grace_s;
	pthread_mutex_unlock(&g->lock);
}

size_t tpc_seqgap_check(struct tpc_seqgap *g, double now, tpc_seqgap_alarm_fn fn, void *ctx)
{
	size_t alarmed = 0;
	double next = 1e300;

	pthread_mutex_lock(&g->lock);
	if (now < g->next_due) {
		pthread_mutex_unlock(&g->lock);
		return 0;
	}
	for (size_t k = 0; k < g->ndevs; k++) {
		struct seqgap_dev *d = g->devs[k];
		for (size_t i = 0; i < d->n; i++) {
			struct tpc_seqgap_range *r = &d->r[i];

			if (!r->alarmed && now >= r->since_mono + g->grace_s && g->ask && !r->asked) {
				next = now;   /* due, not asked yet: the next check */
				continue;
			}
			if (!r->alarmed && now >= r->since_mono + g->grace_s) {
				r->alarmed = true;
				alarmed++;
				g->t.gaps_alarmed++;
				g->t.reports_alarmed += seqgap_size(r);
				g->t.open_ranges++;
				g->t.open_reports += seqgap_size(r);
				d->new_ranges++;
				d->new_reports += seqgap_size(r);
			}
			if (!r->alarmed && r->since_mono + g->grace_s < next)
				next = r->since_mono + g->grace_s;
		}
		if (d->new_ranges && now >= d->report_next) {
			struct tpc_seqgap_range list[TPC_SEQGAP_RANGES];
			size_t m = 0;

			for (size_t i = 0; i < d->n; i++)
				if (d->r[i].alarmed && m < TPC_SEQGAP_RANGES)
					list[m++] = d->r[i];
			if (fn)
				fn(ctx, d->id, list, m, d->new_ranges, d->new_reports);
			d->new_ranges = d->new_reports = 0;
			d->report_next = now + g->report_every_s;
		} else if (d->new_ranges && d->report_next < next) {
			next = d->report_next;   /* come back to report it */
		}
	}
	g->next_due = next;
	pthread_mutex_unlock(&g->lock);
	return alarmed;
}

void tpc_seqgap_totals(struct tpc_seqgap *g, struct tpc_seqgap_totals *out)
{
	pthread_mutex_lock(&g->lock);
	*out = g->t;
	out->devices_open = 0;
	for (size_t k = 0; k < g->ndevs; k++) {
		for (size_t i = 0; i < g->devs[k]->n; i++) {
			if (g->devs[k]->r[i].alarmed) {
				out->devices_open++;
				break;
			}
		}
	}
	pthread_mutex_unlock(&g->lock);
}

cJSON *tpc_seqgap_json(struct tpc_seqgap *g, size_t max)
{
	cJSON *a = cJSON_CreateArray();
	size_t n = 0;
	bool ok = a != NULL;

	pthread_mutex_lock(&g->lock);
	for (size_t k = 0; ok && n < max && k < g->ndevs; k++) {
		const struct seqgap_dev *d = g->devs[k];

		for (size_t i = 0; ok && n < max && i < d->n; i++) {
			cJSON *o;

			if (!d->r[i].alarmed)
				continue;
			o = cJSON_CreateObject();
			ok = o && cJSON_AddItemToArray(a, o);
			if (!ok) {
				cJSON_Delete(o);
				break;
			}
			ok = cJSON_AddStringToObject(o, "dev", d->id) &&
			     cJSON_AddNumberToObject(o, "from", (double)d->r[i].lo) &&
			     cJSON_AddNumberToObject(o, "to", (double)d->r[i].hi) &&
			     cJSON_AddNumberToObject(o, "since", d->r[i].since_wall);
			n++;
		}
	}
	pthread_mutex_unlock(&g->lock);
	if (!ok) {
		cJSON_Delete(a);
		return NULL;
	}
	return a;
}
