/*
 * webhook.h - delivers the claim events (events.h) to helpdesks: an HTTP
 * POST of each event to every configured target, in order, from a worker
 * thread of its own (never the ingest thread), retried with backoff until a
 * 2xx (SPEC §7).
 *
 * Targets file (tpcollect --webhooks FILE), one per line, '#' comments:
 *   NAME URL SECRET
 *   NAME smtp://RELAY:PORT FROM-ADDRESS
 * NAME: 1-64 of [A-Za-z0-9_.-] (the target's cursor in the database, and
 * its label in /metrics); URL: http:// or https://; SECRET: the HMAC key,
 * 16-256 printable characters. The file holds secrets: it should be
 * readable by the collector only (a wider mode is warned about).
 * An smtp:// (or smtps://) target is a mail relay: of the events it takes
 * claim.feedback_requested only, and mails the claim's customer (its
 * "contact", when that is an e-mail address) the request for feedback with
 * the tracking link, in English and Simplified Chinese; other events pass.
 *
 * What a helpdesk gets is the stored event with the claim's tracking token
 * turned into its "tracking_url" (the view of a token holder, api.h).
 *
 * Each request carries
 *   Content-Type: application/json
 *   X-TP-Event: <event>
 *   X-TP-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(SECRET, "<t>." + body)>
 * The receiver recomputes the HMAC and refuses a t too far from its clock
 * (a replayed request); the body's "id" is the same on every retry, so a
 * receiver that saw it already acknowledges it again without acting.
 *
 * Durability: the events are rows of the store; a target's cursor (the last
 * event it acknowledged) is stored after each 2xx. A restart resumes at the
 * cursor, so an event is delivered at least once. A target first seen
 * starts at the newest event (no history). A target that keeps failing holds
 * its own queue only: the others, and ingest, go on.
 */
#ifndef TPC_WEBHOOK_H
#define TPC_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "tpd/err.h"

struct tpc_store;
struct tpc_webhook;

#define TPC_WEBHOOK_TARGETS_MAX 16
#define TPC_WEBHOOK_NAME_MAX 64

/* Loads the targets file; on failure one line "PATH:LINE: problem" in err. */
enum tpd_err tpc_webhook_load(const char *path, struct tpc_webhook **out, char *err,
			      size_t errlen);
/* Parses the file's text (the fuzz target's entry point). */
enum tpd_err tpc_webhook_parse(const char *text, size_t len, const char *path,
			       struct tpc_webhook **out, char *err, size_t errlen);
/* Stops the worker (waits for an attempt in flight, at most its timeout)
 * and frees. NULL is a no-op. */
void tpc_webhook_free(struct tpc_webhook *wh);

/* Starts the worker on store (borrowed until free). retry_max_s caps the
 * backoff (1 s doubling); public_url (copied) starts tracking links.
 * curl_global_init must have run. */
enum tpd_err tpc_webhook_start(struct tpc_webhook *wh, struct tpc_store *store,
			       double retry_max_s, const char *public_url);

struct tpc_webhook_status {
	char name[TPC_WEBHOOK_NAME_MAX + 1];
	int64_t pending;          /* events not yet acknowledged (as of the last pass) */
	uint64_t delivered;       /* 2xx answers since start */
	uint64_t failures;        /* failed attempts since start */
	unsigned attempts;        /* failed attempts at the current event */
	double failing_since;     /* Unix s of the first failure in a row; 0: fine */
	char last_error[200];
};

/* NULL counts 0. Thread-safe. */
size_t tpc_webhook_count(const struct tpc_webhook *wh);
void tpc_webhook_status(struct tpc_webhook *wh, size_t i, struct tpc_webhook_status *out);

/* Signs: out gets "t=<t>,v1=<hex>" (out >= 96 bytes). */
enum tpd_err tpc_webhook_sign(const char *secret, long long t, const char *body, size_t len,
			      char *out, size_t outlen);

#endif
