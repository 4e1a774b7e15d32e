/*
 * lifecycle.h - claim states and the transitions support may make (SPEC §6).
 *
 *   open -> in_review -> approved | rejected
 *   approved -> remote_guidance | repair_scheduled | replacement
 *   remote_guidance -> repair_scheduled | replacement   (guidance did not help)
 *   remote_guidance | repair_scheduled | replacement -> resolved -> closed
 *
 * rejected and closed are final. A claim is "open" (blocks a second claim
 * for the same device and class) until resolved, closed or rejected.
 * Feedback is taken on resolved and closed claims.
 */
#ifndef TPC_LIFECYCLE_H
#define TPC_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>

#include "tpd/err.h"

/* Every state, NULL-terminated, in lifecycle order. */
extern const char *const tpc_claim_states[];

bool tpc_claim_state_valid(const char *s);
bool tpc_claim_state_open(const char *s);
bool tpc_claim_feedback_allowed(const char *state);

/*
 * Checks from -> to. TPD_ERR_INVAL when to is not a state at all,
 * TPD_ERR_STATE when it is not reachable from from; why then says which
 * states are ("cannot go from open to approved; allowed from open:
 * in_review").
 */
enum tpd_err tpc_lifecycle_check(const char *from, const char *to, char *why, size_t len);

/* "in_review" / "approved, rejected" / "" (final): the states reachable from s. */
void tpc_lifecycle_next(const char *s, char *buf, size_t len);

/* The states reachable from s, NULL-terminated (static storage); an empty
 * list for a final or unknown state. */
const char *const *tpc_lifecycle_targets(const char *s);

#endif
