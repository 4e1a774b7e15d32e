/*
 * policy.h - the warranty policy: coverage periods per model and per part,
 * exclusions, and the support team's holidays (a JSON data file).
 *
 *   {"policies": [{"name": "standard-12m", "months": 12, "default": true},
 *                 {"name": "router-24m", "months": 24, "models": ["archer-ax55"]},
 *                 {"name": "adapter-12m", "months": 12, "covers": "the power adapter",
 *                  "codes": ["PWR_UNDERVOLT", "PWR_BROWNOUT", "PWR_DEGRADING"]}],
 *    "exclusions": [{"code": "PWR_OVERVOLT", "reason": "..."}],
 *    "holidays": ["2026-12-25"]}
 *
 * Which policy covers a claim: the one listing the claim's first fault code
 * (a part with its own period, e.g. the adapter), else the one listing the
 * model, else the default. Status: no purchase date -> unknown; detected
 * after purchase + months (end of month clamped) -> expired; any of the
 * claim's codes excluded -> excluded (pending review); else in_warranty.
 * "until" is purchase + months, the last covered day (SPEC §6: bought
 * 2025-06-01 on router-24m -> until 2027-06-01). All dates are UTC.
 */
#ifndef TPC_POLICY_H
#define TPC_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpd/err.h"

struct tpc_policy;

struct tpc_warranty {
	const char *status;  /* in_warranty|expired|excluded|unknown (static string) */
	char until[11];      /* YYYY-MM-DD, "" when unknown */
	char policy[65];     /* the policy's name */
	char covers[96];     /* what it covers ("the product", "the power adapter") */
	char reason[256];    /* why excluded, or "" */
};

/* Reads and checks a policy file. On failure writes "PATH: field: problem"
 * into err and *out stays NULL. */
enum tpd_err tpc_policy_load(const char *path, struct tpc_policy **out, char *err, size_t errlen);
/* The same from text (name is used in messages). */
enum tpd_err tpc_policy_parse(const char *text, size_t len, const char *name,
			      struct tpc_policy **out, char *err, size_t errlen);
/* The built-in policy: standard-12m for everything, no exclusions, no holidays. */
enum tpd_err tpc_policy_builtin(struct tpc_policy **out);
void tpc_policy_free(struct tpc_policy *p);
/* Makes live hold fresh's rules (a reload on SIGHUP) and frees fresh;
 * thread-safe against the functions below, which copy what they return. */
void tpc_policy_swap(struct tpc_policy *live, struct tpc_policy *fresh);

/* Computes the warranty of a claim (thread-safe). codes: the claim's fault codes, first
 * one first; purchase_date NULL or "" when unknown. */
void tpc_policy_warranty(const struct tpc_policy *p, const char *model,
			 const char *const *codes, size_t ncodes, const char *purchase_date,
			 double detected_ts, struct tpc_warranty *out);

struct tpc_workcals;

/* Gives the policy the business calendars of the regions (workcal.h; NULL:
 * none), freeing those it had. Thread-safe; a tpc_policy_swap keeps them. */
void tpc_policy_set_calendars(struct tpc_policy *p, struct tpc_workcals *cals);

/* The review deadline of a claim opened at opened_s: 2 working days of the
 * region's calendar (2 x its working day, counted in its working hours,
 * from the next working moment: opened on a Saturday counts from Monday's
 * start); without a calendar for region (NULL, or none loaded), 2 weekdays
 * that are not the policy's holidays, at the same time of day (UTC). */
int64_t tpc_policy_review_due(const struct tpc_policy *p, const char *region, double opened_s);
/* Time left until due at now_s, in working seconds of region's calendar
 * (*working true) or plain seconds (false); negative: overdue by that much. */
int64_t tpc_policy_review_left(const struct tpc_policy *p, const char *region, double now_s,
			       double due_s, bool *working);

#define TPC_REVIEW_WORKING_DAYS 2

#endif
