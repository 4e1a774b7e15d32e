/*
 * store.c - picks a storage backend by URL and serializes access to it.
 *
 * Design notes:
 * 1. One writer connection and one mutex, held from begin to commit. The
 *    collector's writes come from one MQTT thread (and the API's few
 *    support actions); a single writer keeps every backend simple.
 * 2. The API's reads go to STORE_READERS read-only connections, each with
 *    its own mutex (SQLite in WAL: readers see the last commit and neither
 *    blocks the writer). The MQTT thread holds the writer's mutex through a
 *    whole group commit; a query that waited for it stalled behind ingest,
 *    and a slow query stalled ingest. Reads that must see the open
 *    transaction are the _locked ones, on the writer.
 * 3. Inside a group commit, device_seen is only noted (the last fw, state
 *    and the greatest ts per device) and written once per device at
 *    batch_commit, in the same transaction: one UPSERT per device and batch
 *    instead of one per report. A report's note is kept only when its
 *    savepoint is released.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"

static const struct tpc_store_ops *const store_backends[] = {
	&tpc_store_sqlite,
	&tpc_store_pg,
	&tpc_store_pg_short,     /* postgres:// */
};

#define STORE_READERS 4          /* libmicrohttpd's thread pool (api.c) */
#define STORE_SEEN_MAX 512       /* devices noted per batch (design note 3) */

struct store_reader {
	pthread_mutex_t lock;
	void *ctx;
};

/* One device's last_seen update, pending until the batch commits. */
struct store_seen {
	char id[65], model[65], fw[32], state[16];
	double ts;
};

struct tpc_store {
	const struct tpc_store_ops *ops;
	void *ctx;
	struct store_reader readers[STORE_READERS];
	unsigned nreaders;
	atomic_uint next_reader;
	/* design note 3, under lock: committed notes, then the open report's */
	struct store_seen seen[STORE_SEEN_MAX];
	unsigned nseen, nstaged;
	double raw_keep_s;       /* raw telemetry retention, 0: for ever */
	/* Recursive: the MQTT thread holds it through a whole batch
	 * (tpc_store_batch_begin..commit) and takes it again inside for each
	 * report's transaction and its self-locking calls. */
	pthread_mutex_t lock;
	bool batch;        /* a batch transaction is open; read and written under lock */
	/* tpc_store_leads' answers, under lock */
	struct store_lead { const char *job; double until; bool leader; } leads[TPC_STORE_LEADS_MAX];
};

enum tpd_err tpc_store_open(const char *url, struct tpc_store **out, char *err, size_t errlen)
{
	struct tpc_store *s;
	enum tpd_err rc;

	*out = NULL;
	for (size_t i = 0; i < sizeof(store_backends) / sizeof(store_backends[0]); i++) {
		const struct tpc_store_ops *ops = store_backends[i];

		if (strncmp(url, ops->scheme, strlen(ops->scheme)) != 0)
			continue;
		s = calloc(1, sizeof(*s));
		if (!s)
			return TPD_ERR_NOMEM;
		s->ops = ops;
		s->raw_keep_s = 30 * 86400.0;
		pthread_mutexattr_t attr;

		pthread_mutexattr_init(&attr);
		pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
		pthread_mutex_init(&s->lock, &attr);
		pthread_mutexattr_destroy(&attr);
		rc = ops->open(url, &s->ctx, err, errlen);
		if (rc) {
			pthread_mutex_destroy(&s->lock);
			free(s);
			return rc;
		}
		for (unsigned r = 0; ops->open_reader && r < STORE_READERS; r++) {
			rc = ops->open_reader(url, &s->readers[r].ctx, err, errlen);
			if (rc) {
				tpc_store_close(s);
				return rc;
			}
			pthread_mutex_init(&s->readers[r].lock, NULL);
			s->nreaders++;
		}
		*out = s;
		return TPD_OK;
	}
	snprintf(err, errlen, "%.100s: unknown database URL (expected sqlite:PATH or "
		 "postgresql://...)", url);
	return TPD_ERR_UNSUPPORTED;
}

void tpc_store_close(struct tpc_store *s)
{
	if (!s)
		return;
	for (unsigned r = 0; r < s->nreaders; r++) {
		s->ops->close(s->readers[r].ctx);
		pthread_mutex_destroy(&s->readers[r].lock);
	}
	s->ops->close(s->ctx);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* Inside a batch a transaction is a savepoint of the batch's: its rollback
 * undoes that report alone, its "commit" waits for the batch's. */
enum tpd_err tpc_store_begin(struct tpc_store *s)
{
	enum tpd_err rc;

	pthread_mutex_lock(&s->lock);
	rc = s->ops->exec(s->ctx, s->batch ? "SAVEPOINT report" : "BEGIN IMMEDIATE");
	if (rc)
		pthread_mutex_unlock(&s->lock);
	s->nstaged = 0;
	return rc;
}

/* Keeps the released report's device notes (design note 3). */
static void store_seen_keep(struct tpc_store *s)
{
	unsigned base = s->nseen;

	for (unsigned i = 0; i < s->nstaged; i++) {
		struct store_seen *n = &s->seen[base + i], *o = NULL;

		for (unsigned j = 0; j < s->nseen; j++)
			if (strcmp(s->seen[j].id, n->id) == 0)
				o = &s->seen[j];
		if (!o) {
			s->seen[s->nseen++] = *n;
			continue;
		}
		/* as the UPSERT would have left it: the first model, the last
		 * fw, the greatest ts, the last state given */
		if (!o->model[0])
			memcpy(o->model, n->model, sizeof(o->model));
		memcpy(o->fw, n->fw, sizeof(o->fw));
		if (n->state[0])
			memcpy(o->state, n->state, sizeof(o->state));
		if (n->ts > o->ts || isnan(o->ts))
			o->ts = n->ts;
	}
	s->nstaged = 0;
}

static int store_seen_cmp(const void *a, const void *b)
{
	return strcmp(((const struct store_seen *)a)->id, ((const struct store_seen *)b)->id);
}

/* Writes the noted devices; inside the batch transaction. In id order:
 * collectors sharing a database then lock the devices' rows in one order,
 * and two batches never deadlock on them. */
static enum tpd_err store_seen_flush(struct tpc_store *s)
{
	enum tpd_err rc = TPD_OK;

	qsort(s->seen, s->nseen, sizeof(s->seen[0]), store_seen_cmp);
	for (unsigned i = 0; !rc && i < s->nseen; i++) {
		const struct store_seen *n = &s->seen[i];

		rc = s->ops->device_seen(s->ctx, n->id, n->model[0] ? n->model : NULL,
					 n->fw[0] ? n->fw : NULL, n->ts,
					 n->state[0] ? n->state : NULL);
	}
	s->nseen = s->nstaged = 0;
	return rc;
}

enum tpd_err tpc_store_commit(struct tpc_store *s)
{
	enum tpd_err rc = s->ops->exec(s->ctx, s->batch ? "RELEASE report" : "COMMIT");

	if (rc) {
		tpc_store_rollback(s);
		return rc;
	}
	if (s->batch)
		store_seen_keep(s);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void tpc_store_rollback(struct tpc_store *s)
{
	s->nstaged = 0;
	if (s->batch) {
		s->ops->exec(s->ctx, "ROLLBACK TO report");
		s->ops->exec(s->ctx, "RELEASE report");
	} else {
		s->ops->exec(s->ctx, "ROLLBACK");
	}
	pthread_mutex_unlock(&s->lock);
}

enum tpd_err tpc_store_batch_begin(struct tpc_store *s)
{
	enum tpd_err rc;

	pthread_mutex_lock(&s->lock);
	rc = s->ops->exec(s->ctx, "BEGIN IMMEDIATE");
	if (rc) {
		pthread_mutex_unlock(&s->lock);
		return rc;
	}
	s->batch = true;
	s->nseen = s->nstaged = 0;
	return TPD_OK;
}

enum tpd_err tpc_store_batch_commit(struct tpc_store *s)
{
	enum tpd_err rc = store_seen_flush(s);

	if (!rc)
		rc = s->ops->exec(s->ctx, "COMMIT");

	if (rc)
		s->ops->exec(s->ctx, "ROLLBACK");
	s->batch = false;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void tpc_store_last_error(struct tpc_store *s, char *buf, size_t len)
{
	if (len)
		buf[0] = '\0';
	if (!s->ops->last_error)
		return;
	pthread_mutex_lock(&s->lock);
	s->ops->last_error(s->ctx, buf, len);
	pthread_mutex_unlock(&s->lock);
}

enum tpd_err tpc_store_insert_report(struct tpc_store *s, const struct tpc_report_row *r,
				     int64_t *id)
{
	return s->ops->insert_report(s->ctx, r, id);
}

enum tpd_err tpc_store_gap_before(struct tpc_store *s, const char *dev, uint64_t seq,
				  int64_t *missing)
{
	*missing = 0;
	return s->ops->gap_before ? s->ops->gap_before(s->ctx, dev, seq, missing) : TPD_OK;
}

enum tpd_err tpc_store_signed_before(struct tpc_store *s, const char *dev, uint64_t seq,
				     char *hash, size_t len)
{
	return s->ops->signed_before(s->ctx, dev, seq, hash, len);
}

enum tpd_err tpc_store_device_seen(struct tpc_store *s, const char *id, const char *model,
				   const char *fw, double ts, const char *state)
{
	struct store_seen *n;

	/* outside a batch, or a batch with no room left: at once */
	if (!s->batch || s->nseen + s->nstaged >= STORE_SEEN_MAX || strlen(id) >= sizeof(n->id) ||
	    (model && strlen(model) >= sizeof(n->model)) || (fw && strlen(fw) >= sizeof(n->fw)) ||
	    (state && strlen(state) >= sizeof(n->state)))
		return s->ops->device_seen(s->ctx, id, model, fw, ts, state);
	n = &s->seen[s->nseen + s->nstaged++];
	snprintf(n->id, sizeof(n->id), "%s", id);
	snprintf(n->model, sizeof(n->model), "%s", model ? model : "");
	snprintf(n->fw, sizeof(n->fw), "%s", fw ? fw : "");
	snprintf(n->state, sizeof(n->state), "%s", state ? state : "");
	n->ts = ts;
	return TPD_OK;
}

enum tpd_err tpc_store_device_upsert(struct tpc_store *s, const struct tpc_device_row *d,
				     enum tpc_upsert *res)
{
	return s->ops->device_upsert(s->ctx, d, res);
}

enum tpd_err tpc_store_device_profile(struct tpc_store *s, const char *id,
				      struct tpc_device_profile *p)
{
	return s->ops->device_profile(s->ctx, id, p);
}

enum tpd_err tpc_store_forecast_put(struct tpc_store *s, const char *dev, const void *state,
				    size_t len, double saved_at)
{
	enum tpd_err rc;

	if (!s->ops->forecast_put)
		return TPD_ERR_UNSUPPORTED;
	rc = tpc_store_begin(s);
	if (rc)
		return rc;
	rc = s->ops->forecast_put(s->ctx, dev, state, len, saved_at);
	if (rc) {
		tpc_store_rollback(s);
		return rc;
	}
	return tpc_store_commit(s);
}

enum tpd_err tpc_store_forecast_get(struct tpc_store *s, const char *dev, void **state,
				    size_t *len)
{
	enum tpd_err rc;

	*state = NULL;
	*len = 0;
	if (!s->ops->forecast_get)
		return TPD_ERR_UNSUPPORTED;
	pthread_mutex_lock(&s->lock);
	rc = s->ops->forecast_get(s->ctx, dev, state, len);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

enum tpd_err tpc_store_claim_find_open(struct tpc_store *s, const char *device,
				       const char *category, int64_t *id)
{
	return s->ops->claim_find_open(s->ctx, device, category, id);
}

enum tpd_err tpc_store_claim_insert(struct tpc_store *s, const struct tpc_claim_new *c,
				    int64_t *id)
{
	return s->ops->claim_insert(s->ctx, c, id);
}

enum tpd_err tpc_store_claim_add_fault(struct tpc_store *s, int64_t claim, const char *code,
				       double ts, bool *added)
{
	return s->ops->claim_add_fault(s->ctx, claim, code, ts, added);
}

enum tpd_err tpc_store_claim_add_evidence(struct tpc_store *s, int64_t claim, int64_t report,
					  const char *kind, uint64_t seq, bool verified,
					  const char *code, const char *state)
{
	return s->ops->claim_add_evidence(s->ctx, claim, report, kind, seq, verified, code, state);
}

enum tpd_err tpc_store_claim_add_timeline(struct tpc_store *s, int64_t claim, const char *at,
					  const char *event, const char *by, const char *note)
{
	return s->ops->claim_add_timeline(s->ctx, claim, at, event, by, note);
}

enum tpd_err tpc_store_claim_update_text(struct tpc_store *s, int64_t claim,
					 const char *description, const char *description_zh,
					 const char *suggested_resolution, const char *priority)
{
	return s->ops->claim_update_text(s->ctx, claim, description, description_zh,
					 suggested_resolution, priority);
}

enum tpd_err tpc_store_claim_set_work(struct tpc_store *s, int64_t claim,
				      const struct tpc_claim_work *w)
{
	return s->ops->claim_set_work(s->ctx, claim, w);
}

enum tpd_err tpc_store_claim_set_state(struct tpc_store *s, int64_t claim, const char *state)
{
	return s->ops->claim_set_state(s->ctx, claim, state);
}

enum tpd_err tpc_store_claim_set_warranty(struct tpc_store *s, int64_t claim,
					  const struct tpc_claim_warranty *w)
{
	return s->ops->claim_set_warranty(s->ctx, claim, w);
}

enum tpd_err tpc_store_claim_set_feedback(struct tpc_store *s, int64_t claim, int rating,
					  const char *comment, const char *at)
{
	return s->ops->claim_set_feedback(s->ctx, claim, rating, comment, at);
}

enum tpd_err tpc_store_outbox_add(struct tpc_store *s, const char *topic, const char *payload)
{
	return s->ops->outbox_add(s->ctx, topic, payload);
}

enum tpd_err tpc_store_claim_get_locked(struct tpc_store *s, int64_t claim, cJSON **out)
{
	return s->ops->claim_get(s->ctx, claim, out);
}

enum tpd_err tpc_store_device_get_locked(struct tpc_store *s, const char *id, cJSON **out)
{
	return s->ops->device_get(s->ctx, id, out);
}

enum tpd_err tpc_store_claim_list_locked(struct tpc_store *s, const struct tpc_claim_filter *f,
					 cJSON **out)
{
	return s->ops->claim_list(s->ctx, f, out, NULL);
}

enum tpd_err tpc_store_claim_had(struct tpc_store *s, const char *dev, const char *category,
				 const char *code, bool *had)
{
	return s->ops->claim_had(s->ctx, dev, category, code, had);
}

/* A free reader if there is one, else the next in turn (waiting for it);
 * returned locked. NULL when the backend has none. */
static struct store_reader *store_reader(struct tpc_store *s)
{
	struct store_reader *r;

	if (!s->nreaders)
		return NULL;
	for (unsigned i = 0; i < s->nreaders; i++)
		if (pthread_mutex_trylock(&s->readers[i].lock) == 0)
			return &s->readers[i];
	r = &s->readers[atomic_fetch_add(&s->next_reader, 1) % s->nreaders];
	pthread_mutex_lock(&r->lock);
	return r;
}

/* Runs one backend read on a reader (design note 2), else on the writer. */
#define STORE_READ(s, fn, ...)                                         \
	do {                                                           \
		struct store_reader *r_ = store_reader(s);             \
		enum tpd_err rc_;                                      \
		if (r_) {                                              \
			rc_ = (s)->ops->fn(r_->ctx, __VA_ARGS__);      \
			pthread_mutex_unlock(&r_->lock);               \
		} else {                                               \
			pthread_mutex_lock(&(s)->lock);                \
			rc_ = (s)->ops->fn((s)->ctx, __VA_ARGS__);     \
			pthread_mutex_unlock(&(s)->lock);              \
		}                                                      \
		return rc_;                                            \
	} while (0)

/* Self-locking wrappers: run one backend read under the store's lock. */
#define STORE_LOCKED(s, call)                          \
	do {                                           \
		enum tpd_err rc_;                      \
		pthread_mutex_lock(&(s)->lock);        \
		rc_ = (s)->ops->call;                  \
		pthread_mutex_unlock(&(s)->lock);      \
		return rc_;                            \
	} while (0)

enum tpd_err tpc_store_claim_evidence(struct tpc_store *s, int64_t claim, cJSON **out)
{
	STORE_READ(s, claim_evidence, claim, out);
}

enum tpd_err tpc_store_device_get(struct tpc_store *s, const char *id, cJSON **out)
{
	STORE_READ(s, device_get, id, out);
}

enum tpd_err tpc_store_device_list(struct tpc_store *s, const char *after, unsigned limit,
				   cJSON **out)
{
	STORE_READ(s, device_list, after, limit, out);
}

enum tpd_err tpc_store_device_keys(struct tpc_store *s, tpc_device_key_fn fn, void *arg)
{
	STORE_LOCKED(s, device_keys(s->ctx, fn, arg));
}

static const char *const store_resolutions[] = { "auto", "raw", "hour", "day" };

const char *tpc_resolution_name(enum tpc_resolution r)
{
	return (unsigned)r < 4 ? store_resolutions[r] : "?";
}

bool tpc_resolution_parse(const char *str, enum tpc_resolution *out)
{
	for (unsigned i = 0; i < 4; i++) {
		if (strcmp(str, store_resolutions[i]) == 0) {
			*out = (enum tpc_resolution)i;
			return true;
		}
	}
	return false;
}

#define STORE_RAW_SPAN_S (2 * 86400.0)     /* longer ranges: rollups */
#define STORE_HOUR_SPAN_S (92 * 86400.0)   /* longer: daily */

static enum tpd_err store_telemetry_list(struct tpc_store *s, const struct tpc_telemetry_filter *f,
					 cJSON **out)
{
	STORE_READ(s, telemetry_list, f, out);
}

enum tpd_err tpc_store_telemetry_list(struct tpc_store *s, struct tpc_telemetry_filter *f,
				      cJSON **out)
{
	if (f->resolution == TPC_RES_AUTO) {
		struct timespec ts;
		double now = f->now, span;

		if (now <= 0) {
			clock_gettime(CLOCK_REALTIME, &ts);
			now = (double)ts.tv_sec + ts.tv_nsec / 1e9;
		}
		span = (isfinite(f->until) ? f->until : now) - f->since;
		/* no start: the raw reports, paged (all there is within retention) */
		if (!isfinite(f->since) || (span <= STORE_RAW_SPAN_S &&
					    (s->raw_keep_s <= 0 || f->since >= now - s->raw_keep_s)))
			f->resolution = TPC_RES_RAW;
		else
			f->resolution = span <= STORE_HOUR_SPAN_S ? TPC_RES_HOUR : TPC_RES_DAY;
	}
	return store_telemetry_list(s, f, out);
}

void tpc_store_set_raw_days(struct tpc_store *s, double raw_days)
{
	s->raw_keep_s = raw_days > 0 ? raw_days * 86400.0 : 0;
}

enum tpd_err tpc_store_maintain(struct tpc_store *s, double now, bool *more)
{
	enum tpd_err rc;

	*more = false;
	if (!s->ops->maintain)
		return TPD_OK;
	rc = tpc_store_begin(s);
	if (rc)
		return rc;
	rc = s->ops->maintain(s->ctx, now, s->raw_keep_s, more);
	if (rc) {
		tpc_store_rollback(s);
		return rc;
	}
	return tpc_store_commit(s);
}

enum tpd_err tpc_store_outbox_next(struct tpc_store *s, int64_t after, int64_t *id, char **topic,
				   char **payload)
{
	STORE_LOCKED(s, outbox_next(s->ctx, after, id, topic, payload));
}

enum tpd_err tpc_store_outbox_done(struct tpc_store *s, int64_t id)
{
	STORE_LOCKED(s, outbox_done(s->ctx, id));
}

enum tpd_err tpc_store_claim_get(struct tpc_store *s, int64_t claim, cJSON **out)
{
	STORE_READ(s, claim_get, claim, out);
}

enum tpd_err tpc_store_claim_list(struct tpc_store *s, const struct tpc_claim_filter *f,
				  cJSON **out, int64_t *total)
{
	STORE_READ(s, claim_list, f, out, total);
}

enum tpd_err tpc_store_seqs_stored(struct tpc_store *s, const char *dev, uint64_t lo, uint64_t hi,
				   uint64_t *seqs, size_t max, size_t *n)
{
	STORE_READ(s, seqs_stored, dev, lo, hi, seqs, max, n);
}

enum tpd_err tpc_store_count_reports(struct tpc_store *s, const char *dev, const char *kind,
				     int64_t *n)
{
	STORE_LOCKED(s, count_reports(s->ctx, dev, kind, n));
}

enum tpd_err tpc_store_event_add(struct tpc_store *s, const char *uuid, const char *event,
				 int64_t claim, const char *at, const char *body)
{
	return s->ops->event_add(s->ctx, uuid, event, claim, at, body);
}

bool tpc_store_leads(struct tpc_store *s, const char *job)
{
	struct store_lead *l = NULL;
	struct timespec ts;
	double now;
	bool leader;

	if (!s->ops->lead)
		return true;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < sizeof(s->leads) / sizeof(s->leads[0]) && !l; i++) {
		if (!s->leads[i].job || strcmp(s->leads[i].job, job) == 0)
			l = &s->leads[i];
	}
	if (l && l->job && now < l->until) {
		leader = l->leader;
	} else {
		if (s->ops->lead(s->ctx, job, &leader))
			leader = false;
		if (l) {
			l->job = job;   /* the callers' string literals */
			l->until = now + TPC_STORE_LEAD_S;
			l->leader = leader;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return leader;
}

void tpc_store_unlead(struct tpc_store *s, const char *job)
{
	if (!s->ops->unlead)
		return;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < sizeof(s->leads) / sizeof(s->leads[0]); i++) {
		if (s->leads[i].job && strcmp(s->leads[i].job, job) == 0) {
			s->leads[i].until = 0;   /* ask again next time */
			s->leads[i].leader = false;
		}
	}
	s->ops->unlead(s->ctx, job);
	pthread_mutex_unlock(&s->lock);
}

enum tpd_err tpc_store_event_next(struct tpc_store *s, int64_t after, int64_t *id, char **body)
{
	STORE_LOCKED(s, event_next(s->ctx, after, id, body));
}

enum tpd_err tpc_store_event_pending(struct tpc_store *s, int64_t after, int64_t *n)
{
	STORE_LOCKED(s, event_pending(s->ctx, after, n));
}

enum tpd_err tpc_store_webhook_cursor(struct tpc_store *s, const char *target, int64_t *last)
{
	STORE_LOCKED(s, webhook_cursor(s->ctx, target, last));
}

enum tpd_err tpc_store_webhook_cursor_set(struct tpc_store *s, const char *target, int64_t last)
{
	STORE_LOCKED(s, webhook_cursor_set(s->ctx, target, last));
}

enum tpd_err tpc_store_counts(struct tpc_store *s, const char *now_iso, cJSON **out)
{
	STORE_LOCKED(s, counts(s->ctx, now_iso, out));
}

enum tpd_err tpc_store_claim_by_token(struct tpc_store *s, const char *token, int64_t *id)
{
	STORE_LOCKED(s, claim_by_token(s->ctx, token, id));
}

enum tpd_err tpc_store_reports_recent(struct tpc_store *s, const char *dev, const char *kind,
				      double since, unsigned limit, cJSON **out)
{
	return s->ops->reports_recent(s->ctx, dev, kind, since, limit, out);
}

void tpc_claim_id_format(int64_t id, char *buf, size_t len)
{
	snprintf(buf, len, "C-%06" PRId64, id);
}

bool tpc_claim_id_parse(const char *s, int64_t *id)
{
	char *end;
	long long v;

	if (strncmp(s, "C-", 2) != 0 || s[2] < '0' || s[2] > '9')
		return false;
	errno = 0;
	v = strtoll(s + 2, &end, 10);
	if (*end != '\0' || errno || v <= 0)
		return false;
	*id = v;
	return true;
}
