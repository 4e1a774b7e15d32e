/*
 * tpd/agent.h - the diagnostics agent core, independent of board and transport.
 *
 * An agent is fed samples (values in the product's sensor order, NAN for a
 * failed read) and emits SPEC §2 reports through a callback. It reads no
 * clock and opens no socket: the caller owns time (a board or a virtual
 * clock) and transport (MQTT, a test buffer, tpsim's shared connection). It
 * holds no global state, so a process may run thousands of agents; a single
 * agent is not thread-safe.
 */
#ifndef TPD_AGENT_H
#define TPD_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpd/err.h"
#include "tpd/product.h"
#include "tpd/wire.h"

struct tpd_agent;
struct tpd_key;
struct tpd_rng;

/*
 * Receives one report. kind says the topic (and so QoS/retain); payload is
 * JSON (telemetry, status) or a JWS (fault, self-check). The payload is only
 * valid during the call. A non-zero return is counted as an emit failure; the
 * agent carries on (issue 4's spool will make this lossless).
 */
typedef enum tpd_err (*tpd_agent_emit_fn)(void *ctx, enum tpd_topic_kind kind,
					  uint64_t seq, const char *payload, size_t len);

struct tpd_agent_cfg {
	const char *id;                    /* device id, SPEC §2 */
	const struct tpd_product *product; /* borrowed; must outlive the agent */
	const char *fw;                    /* NULL: the product's fw */
	const char *state_dir;             /* NULL: seq and chain kept in memory */
	const struct tpd_key *key;         /* borrowed; signs fault reports */
	struct tpd_rng *rng;               /* borrowed; signing blinding */
	tpd_agent_emit_fn emit;
	void *emit_ctx;
	/* Raise no predictive faults of its own (the forecast still runs for the
	 * self-check): lets an evaluation measure the collector's fleet engine
	 * alone. */
	bool no_edge_predict;
	/* The forecast's decision threshold (predict.h; 0: its default). An
	 * evaluation sweeps it to draw recall against false claims. */
	double predict_threshold;
	/* The last run did not shut down cleanly: it may have counted seqs in
	 * memory past the reservation on disk, so this one starts
	 * TPD_SEQ_UNCLEAN_SKIP further (statefile.h, the seq rule). */
	bool unclean_start;
};

struct tpd_agent_stats {
	uint64_t samples;
	uint64_t telemetry;       /* telemetry reports emitted */
	uint64_t faults_raised;
	uint64_t faults_cleared;
	uint64_t emit_failures;
	uint64_t selfchecks;      /* self-check reports emitted */
	unsigned active_faults;
	uint64_t seq_write_failures;  /* seq reservations the disk refused */
	uint64_t seq_beyond;          /* seqs used above the reservation on disk */
	uint64_t chain_write_failures; /* evidence-chain links not saved */
};

/*
 * Creates an agent. On failure returns an error, writes one line into err,
 * and leaves *out NULL. The state directory must exist.
 */
enum tpd_err tpd_agent_new(const struct tpd_agent_cfg *cfg, struct tpd_agent **out,
			   char *err, size_t errlen);
void tpd_agent_free(struct tpd_agent *agent);

/* Feeds one sample taken at device time ts (Unix seconds). values has one
 * entry per product sensor. Emits telemetry when a period ends and a fault
 * report for each raise or clear. */
enum tpd_err tpd_agent_sample(struct tpd_agent *agent, double ts, const double *values);

/* Emits the telemetry of the period in progress (end of a trace, shutdown). */
enum tpd_err tpd_agent_flush(struct tpd_agent *agent);

/*
 * Builds a status report ("online"/"offline") with a fresh seq. *out is
 * malloc'ed (caller frees). Used for the retained status and the Last Will.
 */
enum tpd_err tpd_agent_status_json(struct tpd_agent *agent, const char *state,
				   const char *boot_reason, double ts, char **out, size_t *len);

void tpd_agent_stats(const struct tpd_agent *agent, struct tpd_agent_stats *out);

/*
 * The borrowed product description was changed in place (tpdiagd on
 * SIGHUP) with the same sensors and the same set of limits: takes the new
 * limit values, hysteresis, debounce and fail_after_s into the detectors,
 * keeping their state (an active fault stays active and clears by the new
 * limit). Everything else (seq, chain, telemetry, forecasts, self-check
 * steps) reads the description as it is now. The caller checks the shape;
 * nothing here allocates.
 */
void tpd_agent_product_changed(struct tpd_agent *agent);

/* Writes the seq reservation if it does not cover every seq used; true
 * when it does. A clean-shutdown marker may be written only then. */
bool tpd_agent_seq_durable(struct tpd_agent *agent);

/*
 * Runs the product's self-check now over the latest readings and recent
 * history, and emits the signed report (SPEC §2). trigger: boot | fault |
 * remote | technician. TPD_ERR_UNSUPPORTED when the product has no steps.
 * The agent runs it itself after its first sample (boot) and with every
 * raised power or thermal fault (attached to that report too).
 */
enum tpd_err tpd_agent_selfcheck(struct tpd_agent *agent, double ts, const char *trigger);
/* The same, also returning the report's JSON (*json malloc'ed, caller frees). */
enum tpd_err tpd_agent_selfcheck_report(struct tpd_agent *agent, double ts, const char *trigger,
					char **json);

/*
 * What the daemon knows about earlier runs (its lifetime counters): the times
 * of recent unclean restarts, oldest first (the last TPD_SC_MAX_RESTARTS are
 * kept), for the self-check's clean_restarts step.
 */
void tpd_agent_set_restarts(struct tpd_agent *agent, const double *ts, unsigned n);

/*
 * Brownout forensics: this start followed an unclean stop while an input
 * rail was below its minimum. With its first sample the agent reports a
 * PWR_BROWNOUT fault (sensor: that rail; value: its lowest reading before the
 * stop; limit: its minimum; since: when that was read), with the self-check
 * attached, and clears it once the rail has been in range for 10 minutes.
 */
struct tpd_agent_brownout {
	int sensor;        /* product sensor index of the rail */
	double value;      /* lowest reading before the stop, in the sensor's unit */
	double seen_ts;    /* when it was read (Unix seconds) */
};
void tpd_agent_note_brownout(struct tpd_agent *agent, const struct tpd_agent_brownout *b);

/*
 * What a technician sees (tpdiag status/faults/counters): per sensor the
 * latest value, unit, limits and state (ok|warn|fail|unreadable), the last
 * 64 fault events, the counters and the last self-check verdict, as JSON
 * (*out malloc'ed, caller frees).
 */
enum tpd_err tpd_agent_live_json(const struct tpd_agent *agent, char **out);

#endif
