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
	uint64_t opened_by[TPD_CLASS_COUNT][2];  /* claims opened by class, [predictive] */
};

/* Whether reports are being stored; read by the API's health answer. */
struct tpc_collector_health {
	double failing_since;     /* Unix s of the first store error in a row; 0: storing */
	char last_error[320];     /* the last store error, one line */
	uint64_t batches_refused; /* group commits not acknowledged to the broker */
	bool broker_tracked;      /* tpc_collector_set_broker was called */
	bool broker_ready;        /* subscribed: reports reach this collector */
	char broker_why[200];     /* why not, one line */
};

/* store, registry and policy are borrowed (registry may be NULL). */
enum tpd_err tpc_collector_new(struct tpc_store *store, struct tpc_registry *registry,
			       const struct tpc_policy *policy, struct tpc_collector **out);
void tpc_collector_free(struct tpc_collector *c);

/* Turns the predictive engine on (fleet.h; borrowed): each stored telemetry
 * report feeds it, and its forecasts open or annotate claims. Devices'
 * forecast state goes to the store when they have been idle for idle_s
 * (tpc_collector_tick; 0: never) or when more than max_resident are in
 * memory (0: no bound), and comes back when they report again. */
void tpc_collector_set_fleet(struct tpc_collector *c, struct tpc_fleet *fleet, double idle_s,
			     size_t max_resident);
/*
 * Forecast only (tpcollect --role forecast): telemetry is not stored (the
 * ingest collectors store it) but fed to the engine, whose forecasts open
 * and annotate claims as usual; every other message is left alone. Of
 * several such collectors on one database the one holding the "forecast"
 * lease (tpc_store_leads) feeds its engine; the others are standbys.
 */
void tpc_collector_set_forecast_only(struct tpc_collector *c, bool on);
/*
 * The gap detector (seqgap.h): grace_s before missing seqs are a loss
 * alarm (tpcollect --gap-grace); shared: other collectors take a share of
 * every device's reports (a shared subscription on one database), so a due
 * range is first looked up in the database and what another stored is no
 * loss. One indexed query per due range: with devices partitioned so that
 * each reaches one collector, there are none to ask about.
 */
enum tpd_err tpc_collector_set_gaps(struct tpc_collector *c, double grace_s, bool shared);
/* At a clean stop: every device's forecast state into the store. */
void tpc_collector_save_forecasts(struct tpc_collector *c);

/*
 * Handles one message. Logs one line to stderr for a rejection and for each
 * claim opened; store errors at most once a minute. Returns TPD_OK for
 * stored, duplicate and rejected messages alike (all are final); TPD_ERR_DB
 * (or another code) when it could not be stored: the message must not be
 * acknowledged, so that it comes again. Ingest thread only.
 */
enum tpd_err tpc_collector_handle(struct tpc_collector *c, const char *topic,
				  const void *payload, size_t len, double now);

/*
 * Group commit over the messages of one MQTT read (ingest thread only).
 * batch_begin opens the store's batch (when it cannot, each report commits
 * alone); batch_end commits it. batch_end returns TPD_OK only when every
 * message handled since batch_begin is final and durable: anything else
 * means none of them may be acknowledged (the store error is counted,
 * logged and shown in the health answer). Counts of a batch show in the
 * stats only once it committed. batch_end without batch_begin is TPD_OK.
 */
void tpc_collector_batch_begin(struct tpc_collector *c);
enum tpd_err tpc_collector_batch_end(struct tpc_collector *c);

/* The latency of tpc_collector_handle (metrics.h); the collector's. */
struct tpc_hist *tpc_collector_ingest_hist(struct tpc_collector *c);
/* Turns reports missing for longer than 30 s into loss alarms (seqgap.h):
 * logged per device once a minute at most, counted in the stats
 * ("seq_gaps", "seq_missing", "seq_filled_late") and listed in the health
 * answer ("loss_alarm", "missing_reports", "missing"). Call it from the
 * ingest thread's loop; cheap when nothing is due. */
void tpc_collector_tick(struct tpc_collector *c, double now_mono);

/* What the MQTT side says (tpcollect's main loop): ready once subscribed;
 * otherwise why not, for the health answer ("ready", "not_ready"). Until
 * it is first called the broker does not count for readiness (tests that
 * feed the collector directly). Thread-safe. */
void tpc_collector_set_broker(struct tpc_collector *c, bool ready, const char *why);

/* Thread-safe snapshot. */
void tpc_collector_stats(struct tpc_collector *c, struct tpc_collector_stats *out);
cJSON *tpc_collector_stats_json(struct tpc_collector *c);
void tpc_collector_health(struct tpc_collector *c, struct tpc_collector_health *out);
/* {"ready":bool[,"not_ready":"why"],"broker":"subscribed|why","store_failing":bool[,"store_failing_since":s,"store_last_error":"..."],
 *  "loss_alarm":bool,"missing_reports":n,"devices_missing_reports":n,
 *  "missing":[{"dev","from","to","since"}…],"batches_refused":n}; NULL on out of memory. */
cJSON *tpc_collector_health_json(struct tpc_collector *c);

#endif
