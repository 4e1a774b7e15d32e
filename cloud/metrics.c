/*
 * metrics.c - /metrics (metrics.h): a text buffer filled family by family.
 *
 * Format: https://prometheus.io/docs/instrumenting/exposition_formats/
 * (# HELP and # TYPE before each family, label values escaped, histogram
 * buckets cumulative with le="+Inf" equal to _count). Checked by
 * `promtool check metrics` in tests/integration/21-metrics.sh.
 */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "tpd/wire.h"
#include "claims.h"
#include "collector.h"
#include "ingest.h"
#include "lifecycle.h"
#include "metrics.h"
#include "store.h"
#include "webhook.h"

#define METRICS_PAGE_MAX (1024 * 1024)   /* far above any page; a cap all the same */

static const double metrics_bounds[] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
};
#define METRICS_NBOUNDS (sizeof(metrics_bounds) / sizeof(metrics_bounds[0]))

struct tpc_hist {
	pthread_mutex_t lock;
	uint64_t bucket[METRICS_NBOUNDS + 1];   /* not cumulative; the last is +Inf */
	uint64_t count;
	double sum;
};

enum tpd_err tpc_hist_new(struct tpc_hist **out)
{
	struct tpc_hist *h = calloc(1, sizeof(*h));

	*out = h;
	if (!h)
		return TPD_ERR_NOMEM;
	pthread_mutex_init(&h->lock, NULL);
	return TPD_OK;
}

void tpc_hist_free(struct tpc_hist *h)
{
	if (!h)
		return;
	pthread_mutex_destroy(&h->lock);
	free(h);
}

void tpc_hist_observe(struct tpc_hist *h, double seconds)
{
	size_t i = 0;

	if (!h || !(seconds >= 0))
		return;
	while (i < METRICS_NBOUNDS && seconds > metrics_bounds[i])
		i++;
	pthread_mutex_lock(&h->lock);
	h->bucket[i]++;
	h->count++;
	h->sum += seconds;
	pthread_mutex_unlock(&h->lock);
}

/* The page being built; a failed append marks it failed and stops growing. */
struct metrics_buf {
	char *p;
	size_t len, cap;
	bool failed;
};

__attribute__((format(printf, 2, 3)))
static void metrics_put(struct metrics_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = true;
			return;
		}
		if (b->p && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 16384;
		char *g;

		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		if (cap > METRICS_PAGE_MAX || !(g = realloc(b->p, cap))) {
			b->failed = true;
			return;
		}
		b->p = g;
		b->cap = cap;
	}
}

static void metrics_family(struct metrics_buf *b, const char *name, const char *type,
			   const char *help)
{
	metrics_put(b, "# HELP tpcollect_%s %s\n# TYPE tpcollect_%s %s\n", name, help, name, type);
}

/* A label value as the format wants it: \\, \" and \n escaped. */
static void metrics_label(char *out, size_t len, const char *v)
{
	size_t o = 0;

	for (; *v && o + 3 < len; v++) {
		if (*v == '\\' || *v == '"' || *v == '\n') {
			out[o++] = '\\';
			out[o++] = *v == '\n' ? 'n' : *v;
		} else {
			out[o++] = *v;
		}
	}
	out[o] = '\0';
}

static void metrics_hist(struct metrics_buf *b, const char *name, const char *help,
			 struct tpc_hist *h)
{
	struct tpc_hist snap = { 0 };
	uint64_t cum = 0;

	if (h) {
		pthread_mutex_lock(&h->lock);
		memcpy(snap.bucket, h->bucket, sizeof(snap.bucket));
		snap.count = h->count;
		snap.sum = h->sum;
		pthread_mutex_unlock(&h->lock);
	}
	metrics_family(b, name, "histogram", help);
	for (size_t i = 0; i < METRICS_NBOUNDS; i++) {
		cum += snap.bucket[i];
		metrics_put(b, "tpcollect_%s_bucket{le=\"%g\"} %llu\n", name, metrics_bounds[i],
			    (unsigned long long)cum);
	}
	metrics_put(b, "tpcollect_%s_bucket{le=\"+Inf\"} %llu\n", name,
		    (unsigned long long)snap.count);
	metrics_put(b, "tpcollect_%s_sum %.9g\n", name, snap.sum);
	metrics_put(b, "tpcollect_%s_count %llu\n", name, (unsigned long long)snap.count);
}

static void metrics_counter(struct metrics_buf *b, const char *name, const char *help,
			    uint64_t v)
{
	metrics_family(b, name, "counter", help);
	metrics_put(b, "tpcollect_%s %llu\n", name, (unsigned long long)v);
}

static void metrics_ingest(struct metrics_buf *b, struct tpc_collector *col)
{
	struct tpc_collector_stats st;
	struct tpc_collector_health h;

	tpc_collector_stats(col, &st);
	tpc_collector_health(col, &h);
	metrics_counter(b, "messages_received_total",
			"MQTT messages received (redeliveries included).", st.received);
	metrics_counter(b, "reports_stored_total", "Reports stored (committed).", st.stored);
	metrics_counter(b, "reports_duplicate_total",
			"Reports received again with a (dev, seq) already stored.", st.duplicates);
	metrics_family(b, "messages_rejected_total", "counter",
		       "Messages refused, by reason (one log line each).");
	for (int i = 0; i < TPC_REJECT_COUNT; i++)
		metrics_put(b, "tpcollect_messages_rejected_total{reason=\"%s\"} %llu\n",
			    tpc_reject_name((enum tpc_reject)i), (unsigned long long)st.rejected_by[i]);
	metrics_family(b, "claims_opened_total", "counter",
		       "Claims opened, by fault class and whether a forecast opened them.");
	for (int c = 0; c < TPD_CLASS_COUNT; c++)
		for (int p = 0; p < 2; p++)
			metrics_put(b, "tpcollect_claims_opened_total{class=\"%s\",predictive=\"%s\"} "
				    "%llu\n", tpd_fault_class_name((enum tpd_fault_class)c),
				    p ? "true" : "false", (unsigned long long)st.opened_by[c][p]);
	metrics_counter(b, "claim_evidence_added_total",
			"Reports added as evidence to a claim already open.", st.evidence_added);
	metrics_counter(b, "evidence_chain_broken_total",
			"Signed reports whose \"prev\" is not the hash of the one before.",
			st.chain_broken);
	metrics_counter(b, "forecasts_total", "Forecasts of the fleet engine (raised and reversed).",
			st.forecasts);
	metrics_counter(b, "db_errors_total",
			"Reports that could not be stored (not acknowledged; delivered again).",
			st.store_errors);
	metrics_counter(b, "batches_refused_total",
			"Group commits not acknowledged to the broker.", h.batches_refused);
	metrics_family(b, "store_failing", "gauge", "1 while reports cannot be stored.");
	metrics_put(b, "tpcollect_store_failing %d\n", h.failing_since != 0);
}

/* The store's gauges; false when it could not be read. */
static bool metrics_store(struct metrics_buf *b, struct tpc_store *store, double now)
{
	char iso[32];
	cJSON *o = NULL, *by;

	tpc_iso_time(now, iso, sizeof(iso));
	if (tpc_store_counts(store, iso, &o))
		return false;
	by = cJSON_GetObjectItemCaseSensitive(o, "claims");
	metrics_family(b, "claims", "gauge", "Claims by state.");
	for (int i = 0; tpc_claim_states[i]; i++) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(by, tpc_claim_states[i]);

		metrics_put(b, "tpcollect_claims{state=\"%s\"} %.0f\n", tpc_claim_states[i],
			    cJSON_IsNumber(n) ? n->valuedouble : 0);
	}
	metrics_family(b, "claims_review_overdue", "gauge",
		       "Claims open or in review past their review_due.");
	metrics_put(b, "tpcollect_claims_review_overdue %.0f\n",
		    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "overdue")));
	metrics_family(b, "outbox_depth", "gauge",
		       "Messages waiting to go out: device notices (MQTT) and events per webhook target.");
	metrics_put(b, "tpcollect_outbox_depth{queue=\"device_notices\"} %.0f\n",
		    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "outbox")));
	cJSON_Delete(o);
	return true;
}

static void metrics_webhooks(struct metrics_buf *b, struct tpc_webhook *wh)
{
	size_t n = tpc_webhook_count(wh);
	struct tpc_webhook_status st;
	char name[160];

	for (size_t i = 0; i < n; i++) {
		tpc_webhook_status(wh, i, &st);
		metrics_label(name, sizeof(name), st.name);
		metrics_put(b, "tpcollect_outbox_depth{queue=\"webhook:%s\"} %lld\n", name,
			    (long long)st.pending);
	}
	metrics_family(b, "webhook_deliveries_total", "counter", "Events delivered (a 2xx answer).");
	for (size_t i = 0; i < n; i++) {
		tpc_webhook_status(wh, i, &st);
		metrics_label(name, sizeof(name), st.name);
		metrics_put(b, "tpcollect_webhook_deliveries_total{target=\"%s\"} %llu\n", name,
			    (unsigned long long)st.delivered);
	}
	metrics_family(b, "webhook_failures_total", "counter",
		       "Delivery attempts that failed (no answer, or not 2xx).");
	for (size_t i = 0; i < n; i++) {
		tpc_webhook_status(wh, i, &st);
		metrics_label(name, sizeof(name), st.name);
		metrics_put(b, "tpcollect_webhook_failures_total{target=\"%s\"} %llu\n", name,
			    (unsigned long long)st.failures);
	}
	metrics_family(b, "webhook_up", "gauge",
		       "1 when the target's last attempt succeeded (or none was needed).");
	for (size_t i = 0; i < n; i++) {
		tpc_webhook_status(wh, i, &st);
		metrics_label(name, sizeof(name), st.name);
		metrics_put(b, "tpcollect_webhook_up{target=\"%s\"} %d\n", name, st.failing_since == 0);
	}
}

char *tpc_metrics_render(const struct tpc_metrics_src *src, double now)
{
	struct metrics_buf b = { 0 };
	bool db_ok;

	metrics_ingest(&b, src->collector);
	db_ok = metrics_store(&b, src->store, now);
	if (db_ok)
		metrics_webhooks(&b, src->webhook);
	metrics_family(&b, "scrape_db_ok", "gauge",
		       "1 when this page's database gauges could be read.");
	metrics_put(&b, "tpcollect_scrape_db_ok %d\n", db_ok);
	metrics_hist(&b, "ingest_duration_seconds",
		     "Time to validate, store and apply one message (before its group commit).",
		     tpc_collector_ingest_hist(src->collector));
	metrics_hist(&b, "api_request_duration_seconds",
		     "Time to answer one API request, from its headers to its response.",
		     src->api_latency);
	metrics_family(&b, "api_connections", "gauge", "HTTP connections open.");
	metrics_put(&b, "tpcollect_api_connections %llu\n", (unsigned long long)src->api_connections);
	metrics_counter(&b, "api_slow_closed_total",
			"HTTP connections cut for sending their headers too slowly.",
			src->api_slow_closed);
	metrics_counter(&b, "api_refused_before_body_total",
			"Requests answered (404/405/401/413/503) before their body was read.",
			src->api_refused_early);
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	return b.p;
}
