/*
 * claims.h - the claim engine: from verified fault reports to pre-filled
 * warranty claims, and the support actions on them (SPEC §6).
 *
 * Opening: a raised fault opens a claim unless the device already has an
 * open one (not resolved/closed/rejected) of that class; then the report is
 * added to it as evidence, and a new fault code extends its description and
 * may raise its suggestion and priority. Cleared faults of an open claim's
 * class are evidence too. Each claim gets its warranty from the policy, a
 * priority, and review_due = opened + 2 working days.
 *
 * Support actions (transition, note, feedback) each run in one transaction
 * that also queues the device's notice ({"op":"claim",...} on its cmd topic)
 * in the store's outbox, so a state change and its notice commit together.
 */
#ifndef TPC_CLAIMS_H
#define TPC_CLAIMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpd/err.h"
#include "ingest.h"
#include "policy.h"
#include "store.h"

struct tpc_claim_result {
	int64_t claim;      /* 0: the report touched no claim */
	bool opened;        /* a new claim was opened */
};

/*
 * Applies one stored report (report_id) to the claims. Must run inside the
 * transaction that stored the report, so a claim never refers to a report
 * that is not there. now is the collector's wall time (Unix seconds).
 */
enum tpd_err tpc_claims_apply(struct tpc_store *s, const struct tpc_policy *policy,
			      const struct tpc_report *r, int64_t report_id, double now,
			      struct tpc_claim_result *out);

struct tpc_prediction;

/*
 * Applies a forecast of the collector's engine (fleet.h), in its own
 * transaction. Raised: opens a predictive claim with the numbers behind it,
 * unless the device has an open claim of that class (the forecast joins it:
 * its code, and a timeline line) or ever had one with this code (a claim is
 * not reopened by the engine). Reversed: a timeline line on the open claim
 * that carries the code. out->claim is 0 when nothing was touched.
 */
enum tpd_err tpc_claims_predicted(struct tpc_store *s, const struct tpc_policy *policy,
				  const struct tpc_prediction *p, double now,
				  struct tpc_claim_result *out);

/*
 * Support actions, each its own transaction. by: who (token name). On
 * TPD_ERR_NOTFOUND (no such claim), TPD_ERR_INVAL (bad value) or
 * TPD_ERR_STATE (not allowed now) why holds one line and nothing changed.
 */
enum tpd_err tpc_claims_transition(struct tpc_store *s, int64_t claim, const char *to,
				   const char *by, const char *note, double now,
				   char *why, size_t whylen);
enum tpd_err tpc_claims_note(struct tpc_store *s, int64_t claim, const char *by,
			     const char *note, double now, char *why, size_t whylen);
/* Who works the claim (assignee NULL: nobody); a timeline line and a
 * claim.assigned event when it changes. */
#define TPC_ASSIGNEE_MAX 64
enum tpd_err tpc_claims_assign(struct tpc_store *s, int64_t claim, const char *assignee,
			       const char *by, double now, char *why, size_t whylen);
/* What was done (summary), with which parts, when (at: ISO 8601 UTC, NULL:
 * now; not in the future) and by whom: replaces the claim's resolution,
 * adds a timeline line and a claim.resolution event. */
#define TPC_PARTS_MAX 20
#define TPC_PART_MAX 100
enum tpd_err tpc_claims_set_resolution(struct tpc_store *s, int64_t claim,
				       const char *summary, const char *const *parts,
				       size_t nparts, const char *at, const char *by, double now,
				       char *why, size_t whylen);
enum tpd_err tpc_claims_feedback(struct tpc_store *s, int64_t claim, int rating,
				 const char *comment, const char *by, double now,
				 char *why, size_t whylen);

/* The customer's feedback from the tracking page: taken once
 * (TPD_ERR_STATE after), recorded as by "customer". */
enum tpd_err tpc_claims_customer_feedback(struct tpc_store *s, int64_t claim, int rating,
					  const char *comment, double now, char *why,
					  size_t whylen);

/* Recomputes the warranty of dev's open claims (its purchase date or model
 * changed), noting each change in the claim's timeline. Inside a transaction. */
enum tpd_err tpc_claims_rewarrant(struct tpc_store *s, const struct tpc_policy *policy,
				  const char *dev, double now);

/* The resolution we suggest first for a fault code: remote_guidance, repair,
 * or replacement (an adapter or the unit). */
const char *tpc_claims_resolution(enum tpd_fault_code code);

/* low (sensor faults), high (critical, or a forecast under 2 days), else normal. */
const char *tpc_claims_priority(enum tpd_fault_code code, const char *severity,
				bool predictive, double eta_s);

/* ISO 8601 UTC with seconds ("2026-11-25T10:02:11Z"). */
void tpc_iso_time(double unix_s, char *buf, size_t len);

/* A claim opened by hand (POST /api/v1/claims, tpclaim new; SPEC §7). */
struct tpc_claim_manual {
	const char *device;          /* required */
	const char *model, *purchase_date, *description, *contact, *channel;
	const char *category;        /* power|thermal|sensor|system; NULL: from the
				      * device's latest raised fault, else system */
	const char *origin;          /* customer|support */
	const char *by;              /* who, for the timeline */
};

/*
 * Opens a manual claim, in one transaction: the registry's model, purchase
 * date and contact fill what the form leaves out (and win over it), and
 * the device's last telemetry, faults of the last 30 days and last
 * self-check are attached as evidence and summed up in the description.
 * Out of warranty: priority low, suggested "quote" (a paid repair the
 * customer accepts first). A customer may only claim for a registered
 * serial (TPD_ERR_NOTFOUND). When the device already has an open claim of
 * the class, the report joins it as a timeline entry (out->opened false).
 */
enum tpd_err tpc_claims_manual(struct tpc_store *s, const struct tpc_policy *policy,
			       const struct tpc_claim_manual *m, double now,
			       struct tpc_claim_result *out, char *why, size_t whylen);

/* A claim's tracking-link secret: base64url of 32 random bytes. */
#define TPC_TRACKING_TOKEN_LEN 43
enum tpd_err tpc_claims_tracking_token(char out[TPC_TRACKING_TOKEN_LEN + 1]);

#define TPC_NOTE_MAX 2000
#define TPC_COMMENT_MAX 2000

#endif
