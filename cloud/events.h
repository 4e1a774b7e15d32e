/*
 * events.h - claim events for helpdesks (SPEC §7 webhooks), queued in the
 * transaction of the change they tell about.
 *
 * An event is stored whole, as the body every webhook target is sent:
 *   {"event":"claim.opened|claim.state_changed|claim.note_added|claim.feedback
 *             |claim.feedback_requested","id":"<uuid v4>","at":"<ISO-8601 UTC>",
 *    "claim":{...the claim JSON as it is after the change...}}
 * (the claim with its tracking token, which webhook.h turns into the
 * tracking link), so a retry sends the same bytes with the same id, and a
 * rolled-back change leaves no event behind (transactional outbox).
 */
#ifndef TPC_EVENTS_H
#define TPC_EVENTS_H

#include <stdint.h>

#include "tpd/err.h"

struct tpc_store;

/* Queues event about claim. Inside a store transaction (the lock held);
 * on failure the caller rolls back. now: Unix seconds. */
enum tpd_err tpc_events_queue(struct tpc_store *s, int64_t claim, const char *event, double now);

/* A random (v4) UUID, 36 characters + NUL. */
enum tpd_err tpc_events_uuid(char out[37]);

#endif
