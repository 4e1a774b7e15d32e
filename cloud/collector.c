/*
 * collector.c - the ingest pipeline for one message, and its counters.
 *
 * The report and every claim change it causes are one transaction: either
 * the report is stored and applied, or nothing is.
 *
 * Design notes:
 * 1. Counters only ever say what the database holds. A report handled
 *    inside a group commit (tpc_collector_batch_begin..end) is counted in
 *    `pending` and reaches the published stats when the batch commits; a
 *    batch that fails to commit drops its pending counts and counts its
 *    reports as store errors instead (they come again from the broker).
 * 2. A store error is logged at most once a minute (with how many followed
 *    it): when the disk is full every delivery fails, again and again.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tpd/clock.h"
#include "tpd/jws.h"
#include "tpd/log.h"
#include "tpd/utf8.h"
#include "claims.h"
#include "collector.h"
#include "fleet.h"
#include "metrics.h"
#include "registry.h"
#include "seqgap.h"
#include "store.h"

struct tpc_collector {
	struct tpc_store *store;
	struct tpc_registry *registry;
	const struct tpc_policy *policy;
	struct tpc_fleet *fleet;         /* the predictive engine, NULL: off */
	struct tpc_seqgap *gaps;         /* reports missing per device (seqgap.h) */
	pthread_mutex_t lock;            /* guards stats and health (read by HTTP threads) */
	struct tpc_collector_stats stats;
	struct tpc_collector_health health;
	double log_next;                 /* monotonic s: when a store error may be logged again */
	unsigned long log_quiet;         /* store errors not logged since the last line */
	/* The ingest thread's own (tpc_collector_handle's caller): no lock. */
	struct tpc_collector_stats pending;  /* counts not yet committed (note 1) */
	bool forecast_only;              /* tpc_collector_set_forecast_only */
	bool in_batch;                   /* between batch_begin and batch_end */
	bool store_batch;                /* ... and the store's group commit is open */
	bool batch_failed;               /* a report of this batch could not be stored */
	struct tpc_hist *ingest_latency; /* tpc_collector_handle, for /metrics */
	double maintain_next;            /* monotonic s: the next rollup/retention step */
	uint64_t maintain_stored;        /* stats.stored when the last pass ended */
	double maintain_due;             /* monotonic s: a step is made then even under load */
	unsigned batch_n;                /* messages in the open batch */
	struct tpc_fleet_stats fleet_stats; /* the engine's, copied each tick (under lock) */
	double gap_grace_s;              /* tpc_collector_set_gaps */
	struct collector_gap_ask *ask;   /* ranges to ask the database of; NULL: none */
};

/* The due ranges of one tick, asked of the database (collector_gaps_ask). */
#define COLLECTOR_GAP_ASK_MAX 512   /* devices a tick; more wait for the next */
#define COLLECTOR_GAP_SEQS 256      /* seqs a query */
struct collector_gap_ask {
	struct tpc_seqgap_range due[COLLECTOR_GAP_ASK_MAX];
	char dev[COLLECTOR_GAP_ASK_MAX][TPD_ID_MAX + 1];
	uint64_t seqs[COLLECTOR_GAP_SEQS];
};

#define COLLECTOR_MAINTAIN_BUSY_S 0.2    /* between steps while there is work */
#define COLLECTOR_MAINTAIN_AGAIN_S 10.0  /* after a whole pass, reports stored since */
#define COLLECTOR_MAINTAIN_IDLE_S 60.0   /* after a whole pass, nothing stored */
#define COLLECTOR_MAINTAIN_BUSY_BATCH 64 /* a batch this big: ingest is behind, wait */
#define COLLECTOR_MAINTAIN_YIELD_S 5.0   /* ...but at most this long between steps */

#define COLLECTOR_EVICT_PER_TICK 1024 /* idle devices' forecasts saved per tick */

#define COLLECTOR_LOG_EVERY_S 60
#define COLLECTOR_GAP_GRACE_S 30    /* a missing seq is a loss after this */
#define COLLECTOR_GAP_LINES 20      /* device lines per alarm check */

enum tpd_err tpc_collector_new(struct tpc_store *store, struct tpc_registry *registry,
			       const struct tpc_policy *policy, struct tpc_collector **out)
{
	struct tpc_collector *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return TPD_ERR_NOMEM;
	c->store = store;
	c->registry = registry;
	c->policy = policy;
	if (tpc_hist_new(&c->ingest_latency)) {
		free(c);
		return TPD_ERR_NOMEM;
	}
	c->gap_grace_s = COLLECTOR_GAP_GRACE_S;
	if (tpc_seqgap_new(COLLECTOR_GAP_GRACE_S, COLLECTOR_LOG_EVERY_S, &c->gaps)) {
		tpc_hist_free(c->ingest_latency);
		free(c);
		return TPD_ERR_NOMEM;
	}
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return TPD_OK;
}

void tpc_collector_free(struct tpc_collector *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	tpc_hist_free(c->ingest_latency);
	tpc_seqgap_free(c->gaps);
	free(c->ask);
	free(c);
}

struct tpc_hist *tpc_collector_ingest_hist(struct tpc_collector *c)
{
	return c->ingest_latency;
}

/* Publishes the pending counts (note 1). */
static void collector_flush(struct tpc_collector *c)
{
	struct tpc_collector_stats *p = &c->pending, *s = &c->stats;

	pthread_mutex_lock(&c->lock);
	s->stored += p->stored;
	s->duplicates += p->duplicates;
	s->rejected += p->rejected;
	for (int i = 0; i < TPC_REJECT_COUNT; i++)
		s->rejected_by[i] += p->rejected_by[i];
	s->claims_opened += p->claims_opened;
	s->evidence_added += p->evidence_added;
	s->chain_broken += p->chain_broken;
	s->forecasts += p->forecasts;
	s->predicted_claims += p->predicted_claims;
	for (int i = 0; i < TPD_CLASS_COUNT; i++)
		for (int j = 0; j < 2; j++)
			s->opened_by[i][j] += p->opened_by[i][j];
	pthread_mutex_unlock(&c->lock);
	memset(p, 0, sizeof(*p));
}

/*
 * Records that n reports could not be stored (rc, what): counts them, marks
 * the store failing and logs - once a minute at most (note 2).
 */
__attribute__((format(printf, 4, 5)))
static void collector_store_failed(struct tpc_collector *c, uint64_t n, enum tpd_err rc,
				   const char *fmt, ...)
{
	char what[200], detail[256];
	double now = tpd_clock_mono();
	bool say;
	unsigned long quiet;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	tpc_store_last_error(c->store, detail, sizeof(detail));
	pthread_mutex_lock(&c->lock);
	c->stats.store_errors += n;
	if (c->health.failing_since == 0)
		c->health.failing_since = tpd_clock_wall();
	snprintf(c->health.last_error, sizeof(c->health.last_error), "%.150s: %s%s%.120s", what,
		 tpd_strerror(rc), *detail ? ": " : "", detail);
	say = now >= c->log_next;
	quiet = c->log_quiet;
	if (say) {
		c->log_next = now + COLLECTOR_LOG_EVERY_S;
		c->log_quiet = 0;
	} else {
		c->log_quiet++;
	}
	if (say)
		tpd_log(TPD_LOG_ERR, "store", "cannot store: %s; not acknowledged, the broker "
			"delivers it again%s (%lu more failures in the last minute; next line in %d s "
			"at most)", c->health.last_error,
			c->in_batch ? " after a pause" : "", quiet, COLLECTOR_LOG_EVERY_S);
	pthread_mutex_unlock(&c->lock);
}

static void collector_store_ok(struct tpc_collector *c)
{
	double now = tpd_clock_mono();

	pthread_mutex_lock(&c->lock);
	/* Under the same once-a-minute bound: a disk with a little room left
	 * takes a small batch and refuses the next. */
	if (c->health.failing_since != 0 && now >= c->log_next) {
		tpd_log(TPD_LOG_INFO, "store", "storing again after %.0f s of store errors",
			tpd_clock_wall() - c->health.failing_since);
		c->log_next = now + COLLECTOR_LOG_EVERY_S;
	}
	c->health.failing_since = 0;
	pthread_mutex_unlock(&c->lock);
}

static void collector_count(struct tpc_collector *c, uint64_t *pending_field)
{
	(void)c;
	(*pending_field)++;
}

static const char *collector_state(const struct tpc_report *r)
{
	if (r->kind != TPD_TOPIC_STATUS)
		return NULL;
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r->json, "state"));
}

/*
 * Where a signed report stands in its device's evidence chain (SPEC §2
 * "prev"): ok when prev is the hash of the signed report stored just before
 * it (or empty with none before), broken when it is another hash - a record
 * is missing or was altered; unknown when its predecessor is not here (yet):
 * none is stored, or - on a database several collectors write - reports
 * between are not stored yet (the one before may be in another collector's
 * open batch; the seq-gap detector alarms if it never comes).
 * A broken link is kept and counted, and shows on the claim.
 */
static enum tpd_err collector_chain(struct tpc_collector *c, const struct tpc_report *r,
				    const char **chain)
{
	const char *prev = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r->json, "prev"));
	char before[TPD_HASH_B64_LEN + 8];
	enum tpd_err rc = tpc_store_signed_before(c->store, r->dev, r->seq, before, sizeof(before));

	if (rc == TPD_ERR_NOTFOUND) {
		*chain = !prev || !*prev ? "ok" : "unknown";
		return TPD_OK;
	}
	if (rc)
		return rc;
	*chain = prev && strcmp(prev, before) == 0 ? "ok" : "broken";
	if (strcmp(*chain, "broken") == 0) {
		int64_t missing = 0;

		rc = tpc_store_gap_before(c->store, r->dev, r->seq, &missing);
		if (rc)
			return rc;
		if (missing > 0) {
			*chain = "unknown";
			return TPD_OK;
		}
		collector_count(c, &c->pending.chain_broken);
		tpd_log(TPD_LOG_WARN, "chain", "evidence chain of %s broken at seq %" PRIu64 ": \"prev\" "
			"is not the hash of the signed report before it (kept and flagged)", r->dev,
			r->seq);
	}
	return TPD_OK;
}

/* The engine's persist hook (fleet.h): a device's state in the database. */
static enum tpd_err collector_forecast_save(void *ctx, const char *dev, const void *state,
					    size_t len)
{
	struct tpc_collector *c = ctx;

	return tpc_store_forecast_put(c->store, dev, state, len, tpd_clock_wall());
}

static enum tpd_err collector_forecast_load(void *ctx, const char *dev, void **state, size_t *len)
{
	struct tpc_collector *c = ctx;

	return tpc_store_forecast_get(c->store, dev, state, len);
}

void tpc_collector_set_fleet(struct tpc_collector *c, struct tpc_fleet *fleet, double idle_s,
			     size_t max_resident)
{
	struct tpc_fleet_persist p = {
		.ctx = c, .save = collector_forecast_save, .load = collector_forecast_load,
	};

	c->fleet = fleet;
	if (fleet)
		tpc_fleet_set_persist(fleet, &p, idle_s, max_resident);
}

/* A clean stop: every device's forecast into the database, so a restart
 * goes on from it. */
void tpc_collector_save_forecasts(struct tpc_collector *c)
{
	struct tpc_fleet_stats st;
	size_t failed;

	if (!c->fleet)
		return;
	tpc_fleet_stats(c->fleet, &st);
	if (tpc_store_batch_begin(c->store)) {
		failed = st.resident;
	} else {
		failed = tpc_fleet_save_all(c->fleet);
		if (tpc_store_batch_commit(c->store))
			failed = st.resident;
	}
	if (failed)
		tpd_log(TPD_LOG_WARN, "forecast", "%zu of %zu devices' forecast state not saved: "
			"they learn again after the restart", failed, st.resident);
	else
		tpd_log(TPD_LOG_INFO, "forecast", "forecast state of %zu devices saved", st.resident);
}

/* Feeds a stored telemetry report to the engine and applies what it decides.
 * A failure here loses a forecast, never a report: it is logged, and the
 * forecast is made again when the trend persists. */
static void collector_forecast(struct tpc_collector *c, const struct tpc_report *r, double now)
{
	struct tpc_prediction p[8];
	unsigned n = tpc_fleet_telemetry(c->fleet, r, tpd_clock_mono(), p, 8);

	for (unsigned i = 0; i < n; i++) {
		struct tpc_claim_result res;
		enum tpd_err rc = tpc_claims_predicted(c->store, c->policy, &p[i], now, &res);
		char cid[32];

		collector_count(c, &c->pending.forecasts);
		if (rc) {
			tpd_log(TPD_LOG_WARN, "forecast", "forecast %s for %s not applied: %s",
				tpd_fault_code_name(p[i].code), p[i].dev, tpd_strerror(rc));
			continue;
		}
		tpc_claim_id_format(res.claim, cid, sizeof(cid));
		if (res.opened) {
			collector_count(c, &c->pending.predicted_claims);
			collector_count(c, &c->pending.claims_opened);
			collector_count(c, &c->pending.opened_by[tpd_fault_code_class(p[i].code)][1]);
		}
		tpd_log(TPD_LOG_INFO, "forecast", "forecast %s %s for %s (%s, eta %.1f days)%s%s",
			tpd_fault_code_name(p[i].code), p[i].raised ? "raised" : "reversed", p[i].dev,
			p[i].sensor, p[i].eta_s / 86400, res.opened ? ": opened claim " : "",
			res.opened ? cid : "");
	}
}

void tpc_collector_set_forecast_only(struct tpc_collector *c, bool on)
{
	c->forecast_only = on;
}

/* Stores r and applies it, in one transaction. */
static enum tpd_err collector_store(struct tpc_collector *c, const struct tpc_report *r,
				    double now, struct tpc_claim_result *res, bool *dup)
{
	struct tpc_report_row row = { 0 };
	char hash[TPD_HASH_B64_LEN + 1];
	int64_t id = 0;
	enum tpd_err rc;

	*dup = false;
	row.dev = r->dev;
	row.seq = r->seq;
	row.kind = tpd_topic_kind_name(r->kind);
	row.ts = r->ts;
	row.body = r->body;
	row.jws = r->jws;
	row.verified = r->verified;
	row.json = r->json;
	rc = tpc_store_begin(c->store);
	if (rc)
		goto out;
	if (r->jws) {
		tpd_hash_b64(r->jws, strlen(r->jws), hash);
		row.jws_hash = hash;
		rc = collector_chain(c, r, &row.chain);
		if (rc) {
			tpc_store_rollback(c->store);
			goto out;
		}
	}
	rc = tpc_store_insert_report(c->store, &row, &id);
	if (rc == TPD_ERR_DUPLICATE) {
		*dup = true;
		tpc_store_rollback(c->store);
		rc = TPD_OK;
		goto out;
	}
	if (!rc)
		rc = tpc_store_device_seen(c->store, r->dev, r->model, r->fw, r->ts, collector_state(r));
	if (!rc)
		rc = tpc_claims_apply(c->store, c->policy, r, id, now, res);
	if (rc) {
		tpc_store_rollback(c->store);
		goto out;
	}
	rc = tpc_store_commit(c->store);
out:
	return rc;
}

/*
 * A report refused for an unknown key may come from a device another
 * collector on the same database registered since this one loaded its keys
 * (the devices table is shared, the registry in memory is each one's): the
 * key is looked up in the store and, when it is there, learned. An unknown
 * id costs one indexed read per message, as its refusal is logged anyway.
 */
static bool collector_learn_key(struct tpc_collector *c, const char *topic)
{
	char id[TPD_ID_MAX + 1];
	enum tpd_topic_kind kind;
	const char *key;
	cJSON *dev = NULL;
	bool learned = false;

	if (tpd_topic_parse(topic, id, &kind) ||
	    tpc_store_device_get(c->store, id, &dev))
		return false;
	key = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(dev, "public_key"));
	learned = key && *key && tpc_registry_put_key(c->registry, id, key) == TPD_OK;
	cJSON_Delete(dev);
	return learned;
}

static enum tpd_err collector_handle(struct tpc_collector *c, const char *topic,
				     const void *payload, size_t len, double now)
{
	struct tpc_report r;
	struct tpc_claim_result res = { 0 };
	enum tpc_reject reason = TPC_REJECT_SCHEMA;
	char why[256], etopic[160];
	bool dup;
	enum tpd_err rc;

	rc = tpc_ingest_decode(topic, payload, len, c->registry, &r, &reason, why, sizeof(why));
	if (rc == TPD_ERR_INVAL && (reason == TPC_REJECT_UNKNOWN_KID ||
				    reason == TPC_REJECT_UNREGISTERED) && collector_learn_key(c, topic))
		rc = tpc_ingest_decode(topic, payload, len, c->registry, &r, &reason, why,
				       sizeof(why));
	if (rc == TPD_ERR_NOTFOUND)
		return TPD_OK; /* our own cmd messages */
	pthread_mutex_lock(&c->lock);
	c->stats.received++;   /* deliveries, redeliveries included */
	pthread_mutex_unlock(&c->lock);
	if (rc == TPD_ERR_INVAL) {
		c->pending.rejected++;
		c->pending.rejected_by[reason]++;
		/* the topic is the sender's too: escaped, so it cannot forge a line */
		tpd_log(TPD_LOG_WARN, "ingest", "rejected message on %s: %s: %s",
			tpd_esc(etopic, sizeof(etopic), topic), tpc_reject_name(reason), why);
		return TPD_OK;
	}
	if (rc) {
		collector_store_failed(c, 1, rc, "message on %s",
				       tpd_esc(etopic, sizeof(etopic), topic));
		return rc;
	}
	if (c->forecast_only) {
		/* stored by the ingest collectors; a redelivery after this one's
		 * reconnect may count twice in its hour's average, which moves a
		 * trend by nothing that matters */
		if (r.kind == TPD_TOPIC_TELEMETRY && c->fleet && tpc_store_leads(c->store, "forecast"))
			collector_forecast(c, &r, now);
		tpc_report_clear(&r);
		return TPD_OK;
	}
	rc = collector_store(c, &r, now, &res, &dup);
	if (rc) {
		collector_store_failed(c, 1, rc, "%s report %s/%" PRIu64, tpd_topic_kind_name(r.kind),
				       r.dev, r.seq);
	} else if (dup) {
		c->pending.duplicates++;
	} else {
		c->pending.stored++;
		c->pending.claims_opened += res.opened;
		if (res.opened && r.cls < TPD_CLASS_COUNT)
			c->pending.opened_by[r.cls][r.predictive]++;
		c->pending.evidence_added += res.claim && !res.opened;
		if (res.opened) {
			char cid[32];

			tpc_claim_id_format(res.claim, cid, sizeof(cid));
			tpd_log(TPD_LOG_INFO, "claims", "opened claim %s for %s: %s", cid, r.dev,
				tpd_fault_code_name(r.code));
		}
	}
	if (!rc)
		tpc_seqgap_seen(c->gaps, r.dev, r.seq, r.kind == TPD_TOPIC_STATUS &&
				collector_state(&r) && strcmp(collector_state(&r), "online") == 0,
				tpd_clock_mono(), tpd_clock_wall());
	if (!rc && !dup && c->fleet)
		collector_forecast(c, &r, now);
	tpc_report_clear(&r);
	return rc;
}

enum tpd_err tpc_collector_handle(struct tpc_collector *c, const char *topic,
				  const void *payload, size_t len, double now)
{
	double t0 = tpd_clock_mono();
	enum tpd_err rc = collector_handle(c, topic, payload, len, now);

	tpc_hist_observe(c->ingest_latency, tpd_clock_mono() - t0);
	c->batch_n++;
	if (rc)
		c->batch_failed = true;
	if (!c->store_batch) {
		/* committed on its own already (or not at all) */
		collector_flush(c);
		if (!rc && !c->in_batch)
			collector_store_ok(c);
	}
	return rc;
}

struct collector_alarm_ctx {
	size_t lines, more_devices;
	double grace_s;
};

/* One line per device with new alarms: its open missing ranges. */
static void collector_on_gap(void *ctx, const char *dev, const struct tpc_seqgap_range *open,
			     size_t n, uint64_t new_ranges, uint64_t new_reports)
{
	struct collector_alarm_ctx *a = ctx;
	char list[400];
	size_t len = 0;
	uint64_t missing = 0;

	if (a->lines >= COLLECTOR_GAP_LINES) {
		a->more_devices++;
		return;
	}
	a->lines++;
	list[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		missing += open[i].hi - open[i].lo + 1;
		if (len + 48 >= sizeof(list)) {
			if (len + 5 < sizeof(list))
				len += (size_t)snprintf(list + len, sizeof(list) - len, " ...");
			continue;
		}
		len += (size_t)(open[i].lo == open[i].hi
			? snprintf(list + len, sizeof(list) - len, "%s%" PRIu64, i ? " " : "", open[i].lo)
			: snprintf(list + len, sizeof(list) - len, "%s%" PRIu64 "-%" PRIu64, i ? " " : "",
				   open[i].lo, open[i].hi));
	}
	tpd_log(TPD_LOG_ERR, "gaps", "loss alarm: %s: %" PRIu64 " reports in %" PRIu64 " new ranges "
		"not received within %.0f s (lost, or delivered to another member of the shared "
		"subscription); missing now: %" PRIu64 " (seq %s)", dev, new_reports, new_ranges,
		a->grace_s, missing, n ? list : "none kept");
}

enum tpd_err tpc_collector_set_gaps(struct tpc_collector *c, double grace_s, bool shared)
{
	if (shared && !c->ask && !(c->ask = malloc(sizeof(*c->ask))))
		return TPD_ERR_NOMEM;
	if (!shared) {
		free(c->ask);
		c->ask = NULL;
	}
	c->gap_grace_s = grace_s;
	tpc_seqgap_set_grace(c->gaps, grace_s);
	tpc_seqgap_set_ask(c->gaps, shared);
	return TPD_OK;
}

/* Several collectors share the stream (tpc_collector_set_gaps): the seqs of
 * a due range that another one stored are no loss. A range the database
 * cannot be asked about now stays asked, and becomes an alarm: a missing
 * report is never hidden by a failing query. */
static void collector_gaps_ask(struct tpc_collector *c, double now_mono)
{
	struct collector_gap_ask *q = c->ask;
	size_t n = tpc_seqgap_due(c->gaps, now_mono, q->due, q->dev, COLLECTOR_GAP_ASK_MAX);

	for (size_t i = 0; i < n; i++) {
		uint64_t lo = q->due[i].lo;
		size_t m;

		do {
			if (tpc_store_seqs_stored(c->store, q->dev[i], lo, q->due[i].hi, q->seqs,
						  COLLECTOR_GAP_SEQS, &m))
				break;
			for (size_t k = 0; k < m; k++)
				tpc_seqgap_seen(c->gaps, q->dev[i], q->seqs[k], false, now_mono,
						tpd_clock_wall());
			lo = m ? q->seqs[m - 1] + 1 : lo;
		} while (m == COLLECTOR_GAP_SEQS && lo <= q->due[i].hi);
	}
}

void tpc_collector_tick(struct tpc_collector *c, double now_mono)
{
	struct collector_alarm_ctx a = { .grace_s = c->gap_grace_s };

	if (c->ask)
		collector_gaps_ask(c, now_mono);
	tpc_seqgap_check(c->gaps, now_mono, collector_on_gap, &a);
	/* idle devices' forecasts out of memory (fleet.c note 4), a bounded
	 * number a tick so a fleet going quiet at once does not stall ingest */
	if (c->fleet) {
		struct tpc_fleet_stats fs;
		size_t n = 0;

		/* one transaction for the tick's evictions; a failed commit loses
		 * their saved forecasts (never a report): they learn again */
		if (!c->in_batch && tpc_fleet_idle(c->fleet, now_mono) &&
		    tpc_store_batch_begin(c->store) == TPD_OK) {
			n = tpc_fleet_evict_idle(c->fleet, now_mono, COLLECTOR_EVICT_PER_TICK);
			if (tpc_store_batch_commit(c->store))
				tpd_log(TPD_LOG_WARN, "forecast", "forecast state of %zu idle devices "
					"not saved (database): they learn again", n);
		}
		tpc_fleet_stats(c->fleet, &fs);
		pthread_mutex_lock(&c->lock);
		c->fleet_stats = fs;
		pthread_mutex_unlock(&c->lock);
	}
	if (a.more_devices)
		tpd_log(TPD_LOG_ERR, "gaps", "loss alarm: %zu more devices with missing reports "
			"(GET /api/v1/health lists them)", a.more_devices);
}

void tpc_collector_batch_begin(struct tpc_collector *c)
{
	if (c->in_batch)
		return;
	c->in_batch = true;
	c->batch_failed = false;
	c->batch_n = 0;
	c->store_batch = tpc_store_batch_begin(c->store) == TPD_OK;
}

/* Rollups and retention (store.h), one short step at a time between
 * batches, on the ingest thread that owns the writer. A failure is logged
 * by the store and tried again at the next idle interval. */
static void collector_maintain(struct tpc_collector *c, unsigned batch_n)
{
	double now = tpd_clock_mono();
	bool more = false;
	uint64_t stored;

	/* rollups yield to a backlog: a step while batches come full only
	 * every COLLECTOR_MAINTAIN_YIELD_S */
	if (batch_n >= COLLECTOR_MAINTAIN_BUSY_BATCH && now < c->maintain_due)
		return;
	/* of several collectors on one database, one rolls up (store.h) */
	if (!tpc_store_leads(c->store, "maintain"))
		return;

	pthread_mutex_lock(&c->lock);
	stored = c->stats.stored;
	pthread_mutex_unlock(&c->lock);
	if (now < c->maintain_next &&
	    (stored == c->maintain_stored || now < c->maintain_next - COLLECTOR_MAINTAIN_IDLE_S +
						   COLLECTOR_MAINTAIN_AGAIN_S))
		return;
	if (tpc_store_maintain(c->store, tpd_clock_wall(), &more))
		more = false;
	if (!more)
		c->maintain_stored = stored;
	c->maintain_next = now + (more ? COLLECTOR_MAINTAIN_BUSY_S : COLLECTOR_MAINTAIN_IDLE_S);
	c->maintain_due = now + COLLECTOR_MAINTAIN_YIELD_S;
}

enum tpd_err tpc_collector_batch_end(struct tpc_collector *c)
{
	enum tpd_err rc = TPD_OK;

	if (!c->in_batch) {
		collector_maintain(c, 0);
		return TPD_OK;
	}
	if (c->store_batch) {
		c->store_batch = false;
		rc = tpc_store_batch_commit(c->store);
		if (rc) {
			uint64_t lost = c->pending.stored;

			memset(&c->pending, 0, sizeof(c->pending));
			collector_store_failed(c, lost ? lost : 1, rc, "commit of %" PRIu64 " reports",
					       lost);
		} else {
			collector_flush(c);
		}
	}
	if (rc || c->batch_failed) {
		pthread_mutex_lock(&c->lock);
		c->health.batches_refused++;
		pthread_mutex_unlock(&c->lock);
		c->in_batch = false;
		return rc ? rc : TPD_ERR_DB;
	}
	c->in_batch = false;
	collector_store_ok(c);
	collector_maintain(c, c->batch_n);
	return TPD_OK;
}

void tpc_collector_set_broker(struct tpc_collector *c, bool ready, const char *why)
{
	pthread_mutex_lock(&c->lock);
	c->health.broker_tracked = true;
	c->health.broker_ready = ready;
	snprintf(c->health.broker_why, sizeof(c->health.broker_why), "%s", ready ? "subscribed" : why);
	pthread_mutex_unlock(&c->lock);
}

void tpc_collector_stats(struct tpc_collector *c, struct tpc_collector_stats *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->stats;
	pthread_mutex_unlock(&c->lock);
}

void tpc_collector_health(struct tpc_collector *c, struct tpc_collector_health *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->health;
	pthread_mutex_unlock(&c->lock);
}

cJSON *tpc_collector_health_json(struct tpc_collector *c)
{
	struct tpc_collector_health h;
	cJSON *o = cJSON_CreateObject();
	bool ok = o != NULL;

	struct tpc_seqgap_totals g;
	cJSON *gaps;

	tpc_collector_health(c, &h);
	tpc_seqgap_totals(c->gaps, &g);
	/* ready: reports reach the collector and are stored */
	ok = ok && cJSON_AddBoolToObject(o, "ready", h.failing_since == 0 &&
					 (!h.broker_tracked || h.broker_ready));
	if (ok && h.failing_since != 0)
		ok = cJSON_AddStringToObject(o, "not_ready", "store failing") != NULL;
	else if (ok && h.broker_tracked && !h.broker_ready)
		ok = cJSON_AddStringToObject(o, "not_ready", h.broker_why) != NULL;
	if (ok && h.broker_tracked)
		ok = cJSON_AddStringToObject(o, "broker", h.broker_why) != NULL;
	ok = ok && cJSON_AddBoolToObject(o, "store_failing", h.failing_since != 0);
	/* a transport loss (seqgap.h), distinct from a broken evidence chain */
	ok = ok && cJSON_AddBoolToObject(o, "loss_alarm", g.open_ranges != 0) &&
	     cJSON_AddNumberToObject(o, "missing_reports", (double)g.open_reports) &&
	     cJSON_AddNumberToObject(o, "devices_missing_reports", (double)g.devices_open);
	gaps = ok ? tpc_seqgap_json(c->gaps, 20) : NULL;
	ok = ok && gaps && cJSON_AddItemToObject(o, "missing", gaps);
	if (!ok)
		cJSON_Delete(gaps);
	if (ok && h.failing_since != 0)
		ok = cJSON_AddNumberToObject(o, "store_failing_since", h.failing_since) &&
		     cJSON_AddStringToObject(o, "store_last_error", h.last_error);
	ok = ok && cJSON_AddNumberToObject(o, "batches_refused", (double)h.batches_refused);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

cJSON *tpc_collector_stats_json(struct tpc_collector *c)
{
	struct tpc_collector_stats st;
	struct tpc_seqgap_totals g;
	struct tpc_fleet_stats fs;
	uint64_t resident;
	const struct { const char *key; const uint64_t *v; } rows[] = {
		{ "forecast_devices_in_memory", &resident }, { "forecast_states_saved", &fs.evicted },
		{ "forecast_states_read_back", &fs.restored },
		{ "seq_gaps", &g.gaps_alarmed }, { "seq_missing", &g.reports_alarmed },
		{ "seq_filled_late", &g.filled_late },
		{ "received", &st.received }, { "stored", &st.stored },
		{ "duplicates", &st.duplicates }, { "rejected", &st.rejected },
		{ "claims_opened", &st.claims_opened }, { "evidence_added", &st.evidence_added },
		{ "store_errors", &st.store_errors }, { "chain_broken", &st.chain_broken },
		{ "forecasts", &st.forecasts }, { "predicted_claims", &st.predicted_claims },
	};
	cJSON *o = tpc_collector_health_json(c);
	cJSON *by = o ? cJSON_AddObjectToObject(o, "rejected_by") : NULL;
	bool ok = by != NULL;

	tpc_collector_stats(c, &st);
	tpc_seqgap_totals(c->gaps, &g);
	pthread_mutex_lock(&c->lock);
	fs = c->fleet_stats;
	pthread_mutex_unlock(&c->lock);
	resident = fs.resident;
	for (size_t i = 0; ok && i < sizeof(rows) / sizeof(rows[0]); i++)
		ok = cJSON_AddNumberToObject(o, rows[i].key, (double)*rows[i].v) != NULL;
	for (int i = 0; ok && i < TPC_REJECT_COUNT; i++)
		ok = cJSON_AddNumberToObject(by, tpc_reject_name((enum tpc_reject)i),
					     (double)st.rejected_by[i]) != NULL;
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}
