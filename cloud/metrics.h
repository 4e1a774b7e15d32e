/*
 * metrics.h - the collector's /metrics in the Prometheus text exposition
 * format (version 0.0.4), and the latency histograms behind it.
 *
 * Every name is prefixed tpcollect_ (SPEC §7). Counters end in _total and
 * count since the process started; gauges are read from the store when
 * scraped. The page is built from snapshots: a scrape never holds a lock
 * that ingest waits on for longer than one small query.
 */
#ifndef TPC_METRICS_H
#define TPC_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "tpd/err.h"

struct tpc_collector;
struct tpc_store;
struct tpc_webhook;
struct tpc_hist;

/* A latency histogram with fixed bounds (0.5 ms .. 10 s); thread-safe. */
enum tpd_err tpc_hist_new(struct tpc_hist **out);
void tpc_hist_free(struct tpc_hist *h);
void tpc_hist_observe(struct tpc_hist *h, double seconds);

/* What the page is made of. Everything but collector and store may be NULL. */
struct tpc_metrics_src {
	struct tpc_collector *collector;
	struct tpc_store *store;
	struct tpc_hist *api_latency;
	struct tpc_webhook *webhook;
	/* the API's own connection counters */
	uint64_t api_connections, api_slow_closed, api_refused_early;
};

/*
 * The page as a NUL-terminated string (the caller's, free()), or NULL when
 * out of memory. When the store cannot be read its gauges are left out and
 * tpcollect_scrape_db_ok is 0.
 */
char *tpc_metrics_render(const struct tpc_metrics_src *src, double now);

#endif
