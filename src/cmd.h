/*
 * cmd.h - commands the cloud sends a device on tp/v1/{id}/cmd (SPEC §2):
 *   {"op":"selfcheck"}
 *   {"op":"claim","claim":"C-000123","state":"in_review"}
 *
 * Parsing is strict (a command is from outside the device): unknown ops or
 * fields, wrong types or oversized values are refused with one line. Claim
 * notices are kept in the state directory's claims.json (newest first, at
 * most TPD_CMD_CLAIMS_KEPT) so the technician sees progress offline.
 */
#ifndef TPD_CMD_H
#define TPD_CMD_H

#include <stddef.h>

#include "tpd/err.h"

enum tpd_cmd_op { TPD_CMD_SELFCHECK, TPD_CMD_CLAIM };

struct tpd_cmd {
	enum tpd_cmd_op op;
	char claim[24];     /* "C-000123" */
	char state[32];     /* a claim state (SPEC §6) */
};

#define TPD_CMD_MAX_BYTES 1024
#define TPD_CMD_CLAIMS_KEPT 16
#define TPD_CMD_CLAIMS_FILE_MAX (TPD_CMD_CLAIMS_KEPT * 128 + 256)  /* claims.json bytes */

enum tpd_err tpd_cmd_parse(const char *payload, size_t len, struct tpd_cmd *out, char *why,
			   size_t whylen);

/*
 * Returns in *out (malloc'ed, caller frees) the claims file text with c
 * applied: {"claims":[{"claim":..,"state":..,"received":T},...]}, this claim
 * first. old may be NULL or unreadable (then it starts afresh).
 */
enum tpd_err tpd_cmd_claims_merge(const char *old, const struct tpd_cmd *c, double now,
				  char **out);

#endif
