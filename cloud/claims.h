/*
 * claims.h - the claim engine: from verified fault reports to pre-filled
 * warranty claims (SPEC §6).
 *
 * Rules: a raised power or thermal fault opens a claim unless the device
 * already has an open one (not resolved/closed/rejected) of that class; then
 * the report is added to it as evidence, and a new fault code is appended to
 * its description. Cleared faults of an open claim's class are evidence too.
 */
#ifndef TPC_CLAIMS_H
#define TPC_CLAIMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpd/err.h"
#include "ingest.h"
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
enum tpd_err tpc_claims_apply(struct tpc_store *s, const struct tpc_report *r, int64_t report_id,
			      double now, struct tpc_claim_result *out);

/* The resolution we suggest first for a fault code: remote_guidance, repair,
 * or replacement (an adapter or the unit). */
const char *tpc_claims_resolution(enum tpd_fault_code code);

/* ISO 8601 UTC with seconds ("2026-11-25T10:02:11Z"). */
void tpc_iso_time(double unix_s, char *buf, size_t len);

#endif
