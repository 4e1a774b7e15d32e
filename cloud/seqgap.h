/*
 * seqgap.h - the gap detector on (dev, seq): which reports of each device
 * this collector has not received, and since when.
 *
 * A device numbers its reports 1, 2, 3... (SPEC §2; persisted across
 * reboots), so a seq that jumps ahead leaves a range missing. Reports come
 * late (a spool backlog, a redelivery after a refused batch): a range is
 * only a loss once it has stayed open for `grace_s`; then it is an alarm,
 * reported once per device and minute at most, and kept until its reports
 * arrive after all ("filled late") or the device has too many open ranges.
 *
 * The typical loss it catches: an offline member of the shared subscription
 * (a collector that died, or a client that once subscribed with a
 * persistent session) still gets its share of the stream from mosquitto
 * (upstream #1747), so every other report of a device never reaches the
 * live collector. That is a transport loss, distinct from a broken evidence
 * chain (a signed report whose "prev" does not match: tampering or a lost
 * signed report, found in the database).
 *
 * Not a gap: the seqs a device skips when it restarts (the Last Will's
 * reserved seq, the block skipped after an unclean stop): the report above
 * such a gap is its status "online", so the caller says `restart` for it.
 * The first report of a device in this process sets its baseline.
 *
 * Thread-safe: seen/check on the ingest thread, totals/json from others.
 */
#ifndef TPC_SEQGAP_H
#define TPC_SEQGAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "tpd/err.h"
#include "tpd/wire.h"

struct tpc_seqgap;

#define TPC_SEQGAP_RANGES 32       /* open ranges kept per device */
#define TPC_SEQGAP_RANGES_ASK 256  /* ... in ask mode (seqgap.c note 3) */
#define TPC_SEQGAP_DEVICES 200000  /* devices tracked; more are counted, not tracked */

/* One range of missing seqs, lo..hi inclusive. */
struct tpc_seqgap_range {
	uint64_t lo, hi;
	double since_mono;   /* monotonic s when it opened */
	double since_wall;   /* Unix s when it opened (for the health answer) */
	bool alarmed;        /* open for longer than grace_s */
	bool asked;          /* handed out by tpc_seqgap_due */
};

struct tpc_seqgap_totals {
	uint64_t gaps_alarmed;     /* ranges that became alarms (ever) */
	uint64_t reports_alarmed;  /* reports in them (ever) */
	uint64_t filled_late;      /* reports of an alarmed range that arrived after all */
	uint64_t open_ranges;      /* alarmed ranges still open now */
	uint64_t open_reports;     /* reports in them */
	uint64_t devices_open;     /* devices with an alarmed range open */
	uint64_t untracked;        /* reports of devices beyond TPC_SEQGAP_DEVICES */
};

/* Called by tpc_seqgap_check for a device with new alarms, at most once per
 * report_every_s: its open alarmed ranges (n of them, up to
 * TPC_SEQGAP_RANGES), and how many ranges/reports became alarms since the
 * last call for it. */
typedef void (*tpc_seqgap_alarm_fn)(void *ctx, const char *dev,
				    const struct tpc_seqgap_range *open, size_t n,
				    uint64_t new_ranges, uint64_t new_reports);

/* grace_s: how long a range may stay open before it is an alarm;
 * report_every_s: the shortest time between two alarm calls for a device. */
enum tpd_err tpc_seqgap_new(double grace_s, double report_every_s, struct tpc_seqgap **out);
void tpc_seqgap_free(struct tpc_seqgap *g);

/* A report (dev, seq) arrived at monotonic time now (wall: Unix s). restart:
 * it is the device's status "online" (the seqs below it that were skipped
 * are no loss). Never fails: out of memory only means a gap is not seen. */
void tpc_seqgap_seen(struct tpc_seqgap *g, const char *dev, uint64_t seq, bool restart,
		     double now, double wall);

/* Several collectors sharing the stream each see a share of a device's
 * seqs: the others' are missing here, not lost. With ask on, a range
 * becomes an alarm only after tpc_seqgap_due has handed it out: the caller
 * asks the database which of its seqs another collector stored and passes
 * those to tpc_seqgap_seen before the next check. */
void tpc_seqgap_set_ask(struct tpc_seqgap *g, bool ask);
/* Ask mode: up to max devices to look up, each as one window (due[i].lo:
 * its oldest open range's first seq, .hi: its newest's last) with its id
 * in dev[i]: those with a range open at least grace_s at now that was not
 * handed out yet (it and the others that old are marked asked), or with
 * half of TPC_SEQGAP_RANGES open (seqgap.c note 3). */
size_t tpc_seqgap_due(struct tpc_seqgap *g, double now, struct tpc_seqgap_range *due,
		      char (*dev)[TPD_ID_MAX + 1], size_t max);
/* Sets grace_s (tpcollect --gap-grace). */
void tpc_seqgap_set_grace(struct tpc_seqgap *g, double grace_s);

/* Turns ranges open longer than grace into alarms and calls fn (may be
 * NULL) for devices due a report. Cheap when nothing is due. Returns the
 * number of ranges that became alarms. */
size_t tpc_seqgap_check(struct tpc_seqgap *g, double now, tpc_seqgap_alarm_fn fn, void *ctx);

void tpc_seqgap_totals(struct tpc_seqgap *g, struct tpc_seqgap_totals *out);
/* [{"dev":"…","from":5,"to":5,"since":1764000000.5}, …]: up to max open
 * alarmed ranges, oldest devices first; NULL on out of memory. */
cJSON *tpc_seqgap_json(struct tpc_seqgap *g, size_t max);

#endif
