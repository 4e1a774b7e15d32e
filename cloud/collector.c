/*
 * collector.c - the ingest pipeline for one message, and its counters.
 *
 * The report and every claim change it causes are one transaction: either
 * the report is stored and applied, or nothing is.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tpd/jws.h"
#include "claims.h"
#include "collector.h"
#include "fleet.h"
#include "registry.h"
#include "store.h"

struct tpc_collector {
	struct tpc_store *store;
	struct tpc_registry *registry;
	const struct tpc_policy *policy;
	struct tpc_fleet *fleet;         /* the predictive engine, NULL: off */
	pthread_mutex_t lock;            /* guards stats (read by HTTP threads) */
	struct tpc_collector_stats stats;
};

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
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return TPD_OK;
}

void tpc_collector_free(struct tpc_collector *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static void collector_count(struct tpc_collector *c, uint64_t *field)
{
	pthread_mutex_lock(&c->lock);
	(*field)++;
	pthread_mutex_unlock(&c->lock);
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
 * is missing or was altered; unknown when its predecessor is not here (yet).
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
		collector_count(c, &c->stats.chain_broken);
		fprintf(stderr, "tpcollect: evidence chain of %s broken at seq %" PRIu64 ": \"prev\" is "
			"not the hash of the signed report before it (kept and flagged)\n", r->dev,
			r->seq);
	}
	return TPD_OK;
}

void tpc_collector_set_fleet(struct tpc_collector *c, struct tpc_fleet *fleet)
{
	c->fleet = fleet;
}

/* Feeds a stored telemetry report to the engine and applies what it decides.
 * A failure here loses a forecast, never a report: it is logged, and the
 * forecast is made again when the trend persists. */
static void collector_forecast(struct tpc_collector *c, const struct tpc_report *r, double now)
{
	struct tpc_prediction p[8];
	unsigned n = tpc_fleet_telemetry(c->fleet, r, p, 8);

	for (unsigned i = 0; i < n; i++) {
		struct tpc_claim_result res;
		enum tpd_err rc = tpc_claims_predicted(c->store, c->policy, &p[i], now, &res);
		char cid[32];

		collector_count(c, &c->stats.forecasts);
		if (rc) {
			fprintf(stderr, "tpcollect: forecast %s for %s not applied: %s\n",
				tpd_fault_code_name(p[i].code), p[i].dev, tpd_strerror(rc));
			continue;
		}
		tpc_claim_id_format(res.claim, cid, sizeof(cid));
		if (res.opened) {
			collector_count(c, &c->stats.predicted_claims);
			collector_count(c, &c->stats.claims_opened);
		}
		fprintf(stderr, "tpcollect: forecast %s %s for %s (%s, eta %.1f days)%s%s\n",
			tpd_fault_code_name(p[i].code), p[i].raised ? "raised" : "reversed", p[i].dev,
			p[i].sensor, p[i].eta_s / 86400, res.opened ? ": opened claim " : "",
			res.opened ? cid : "");
	}
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

enum tpd_err tpc_collector_handle(struct tpc_collector *c, const char *topic,
				  const void *payload, size_t len, double now)
{
	struct tpc_report r;
	struct tpc_claim_result res = { 0 };
	enum tpc_reject reason = TPC_REJECT_SCHEMA;
	char why[256];
	bool dup;
	enum tpd_err rc;

	rc = tpc_ingest_decode(topic, payload, len, c->registry, &r, &reason, why, sizeof(why));
	if (rc == TPD_ERR_NOTFOUND)
		return TPD_OK; /* our own cmd messages */
	collector_count(c, &c->stats.received);
	if (rc == TPD_ERR_INVAL) {
		pthread_mutex_lock(&c->lock);
		c->stats.rejected++;
		c->stats.rejected_by[reason]++;
		pthread_mutex_unlock(&c->lock);
		fprintf(stderr, "tpcollect: rejected message on %.120s: %s: %s\n", topic,
			tpc_reject_name(reason), why);
		return TPD_OK;
	}
	if (rc) {
		collector_count(c, &c->stats.store_errors);
		fprintf(stderr, "tpcollect: cannot decode message on %.120s: %s\n", topic,
			tpd_strerror(rc));
		return rc;
	}
	rc = collector_store(c, &r, now, &res, &dup);
	if (rc) {
		collector_count(c, &c->stats.store_errors);
		fprintf(stderr, "tpcollect: cannot store %s report %s/%" PRIu64 ": %s\n",
			tpd_topic_kind_name(r.kind), r.dev, r.seq, tpd_strerror(rc));
	} else if (dup) {
		collector_count(c, &c->stats.duplicates);
	} else {
		pthread_mutex_lock(&c->lock);
		c->stats.stored++;
		c->stats.claims_opened += res.opened;
		c->stats.evidence_added += res.claim && !res.opened;
		pthread_mutex_unlock(&c->lock);
		if (res.opened) {
			char cid[32];

			tpc_claim_id_format(res.claim, cid, sizeof(cid));
			fprintf(stderr, "tpcollect: opened claim %s for %s: %s\n", cid, r.dev,
				tpd_fault_code_name(r.code));
		}
	}
	if (!rc && !dup && c->fleet)
		collector_forecast(c, &r, now);
	tpc_report_clear(&r);
	return rc;
}

void tpc_collector_stats(struct tpc_collector *c, struct tpc_collector_stats *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->stats;
	pthread_mutex_unlock(&c->lock);
}

cJSON *tpc_collector_stats_json(struct tpc_collector *c)
{
	struct tpc_collector_stats st;
	const struct { const char *key; const uint64_t *v; } rows[] = {
		{ "received", &st.received }, { "stored", &st.stored },
		{ "duplicates", &st.duplicates }, { "rejected", &st.rejected },
		{ "claims_opened", &st.claims_opened }, { "evidence_added", &st.evidence_added },
		{ "store_errors", &st.store_errors }, { "chain_broken", &st.chain_broken },
		{ "forecasts", &st.forecasts }, { "predicted_claims", &st.predicted_claims },
	};
	cJSON *o = cJSON_CreateObject(), *by = o ? cJSON_AddObjectToObject(o, "rejected_by") : NULL;
	bool ok = by != NULL;

	tpc_collector_stats(c, &st);
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
