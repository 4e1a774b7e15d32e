/*
 * collector.h - one incoming message end to end: validate, store, apply to
 * claims, count. Independent of MQTT so tests and benchmarks can feed it.
 */
#ifndef TPC_COLLECTOR_H
#define TPC_COLLECTOR_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "tpd/err.h"
#include "ingest.h"

struct tpc_store;
struct tpc_registry;
struct tpc_policy;
struct tpc_fleet;
struct tpc_collector;

struct tpc_collector_stats {
	uint64_t received;
	uint64_t stored;
	uint64_t duplicates;
	uint64_t rejected;
	uint64_t rejected_by[TPC_REJECT_COUNT];
	uint64_t claims_opened;
	uint64_t evidence_added;
	uint64_t store_errors;
	uint64_t chain_broken;    /* signed reports whose "prev" did not match */
	uint64_t forecasts;       /* forecasts of the fleet engine (raised and reversed) */
	uint64_t predicted_claims;/* claims the engine opened */
};

/* store, registry and policy are borrowed (registry may be NULL). */
enum tpd_err tpc_collector_new(struct tpc_store *store, struct tpc_registry *registry,
			       const struct tpc_policy *policy, struct tpc_collector **out);
void tpc_collector_free(struct tpc_collector *c);

/* Turns the predictive engine on (fleet.h; borrowed): each stored telemetry
 * report feeds it, and its forecasts open or annotate claims. */
void tpc_collector_set_fleet(struct tpc_collector *c, struct tpc_fleet *fleet);

/*
 * Handles one message. Logs one line to stderr for a rejection or a store
 * error, and for each claim opened. Returns TPD_OK for stored, duplicate and
 * rejected messages alike (all are final); TPD_ERR_DB when it could not be
 * stored (the caller may retry).
 */
enum tpd_err tpc_collector_handle(struct tpc_collector *c, const char *topic,
				  const void *payload, size_t len, double now);

/* Thread-safe snapshot. */
void tpc_collector_stats(struct tpc_collector *c, struct tpc_collector_stats *out);
cJSON *tpc_collector_stats_json(struct tpc_collector *c);

#endif
