/*
 * spool.h - the device's store-and-forward spool: every report is on disk
 * before it is published, and leaves only when the broker has acknowledged
 * it (PUBACK).
 *
 * On disk: STATE_DIR/spool/NNNNNNNNNN.seg, append-only segments written one
 * at a time. A segment holds records:
 *
 *   magic "TPS1" | type u8 (report, done) | kind u8 | pad u16 | seq u64 |
 *   len u32 | check u32 (first 4 bytes of SHA-256 over type..len + payload)
 *   | payload (the report as published)
 *
 * A "done" record (len 0) says its seq was acknowledged or evicted. Opening
 * replays the segments: a torn or corrupt tail (power cut mid-write) fails
 * its check and is cut off; what was complete before it survives. A segment
 * is deleted once it holds nothing pending and every older one is gone, so
 * a "done" record never outlives the report it cancels. When the spool is
 * over its byte budget the oldest pending telemetry is evicted first; fault
 * and self-check reports only when no telemetry is left, and each eviction
 * is counted and logged by the caller. A write the disk refuses for want
 * of space (ENOSPC) shrinks the budget to three quarters of what the spool
 * holds, evicts the oldest telemetry and deletes what it can (even a
 * finished segment behind a pinned one), then tries once more: on a full
 * disk fault reports keep their place at telemetry's cost. Live reports pinned in the oldest
 * segment are copied forward (same seq) so that segment can go: no file is
 * ever rewritten in place.
 *
 * Durability (tpd_spool_cfg.sync): every record is write()n at once, so a
 * killed process loses nothing; fsync follows each fault/self-check report
 * (TPD_SPOOL_SYNC_FAULTS, default), every record (ALWAYS), or is left to the
 * kernel (NEVER); telemetry and done records are fsync'ed at most once per
 * batch_s otherwise, to spare flash.
 *
 * One spool per device; not thread-safe; no global state.
 */
#ifndef TPD_SPOOL_H
#define TPD_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpd/err.h"
#include "tpd/wire.h"

struct tpd_spool;

enum tpd_spool_sync { TPD_SPOOL_SYNC_FAULTS, TPD_SPOOL_SYNC_ALWAYS, TPD_SPOOL_SYNC_NEVER };

struct tpd_spool_cfg {
	const char *dir;            /* created if missing */
	size_t max_bytes;           /* disk budget; 0: 4 MiB */
	size_t segment_bytes;       /* 0: 64 KiB */
	enum tpd_spool_sync sync;
	double batch_s;             /* fsync interval for the rest; 0: 1 s */
};

struct tpd_spool_stats {
	size_t pending;             /* reports not yet acknowledged */
	size_t pending_faults;      /* of which fault and self-check reports */
	size_t bytes;               /* on disk, all segments */
	uint64_t evicted_telemetry, evicted_faults;
	uint64_t torn_bytes;        /* cut off at open (a torn tail) */
	uint64_t recovered;         /* pending reports found at open */
	uint64_t disk_full;         /* writes refused for want of space (budget shrunk) */
	uint64_t write_failures;    /* records the disk refused (reports, done, copies) */
};

/* A pending report handed out for publishing; payload is the caller's (free). */
struct tpd_spool_rec {
	uint64_t seq;
	enum tpd_topic_kind kind;
	char *payload;
	size_t len;
};

/* Opens (and recovers) the spool. On failure writes one line into err. */
enum tpd_err tpd_spool_open(const struct tpd_spool_cfg *cfg, struct tpd_spool **out,
			    char *err, size_t errlen);
/* Syncs and closes; NULL is a no-op. */
void tpd_spool_close(struct tpd_spool *s);

/* Appends a report (seq strictly greater than any before). May evict older
 * reports to stay within the budget (see the stats). TPD_ERR_IO when the
 * write failed: the report is then not in the spool. */
enum tpd_err tpd_spool_append(struct tpd_spool *s, uint64_t seq, enum tpd_topic_kind kind,
			      const char *payload, size_t len, double now);

/* The oldest pending report with seq > after; TPD_ERR_NOTFOUND when none. */
enum tpd_err tpd_spool_next(struct tpd_spool *s, uint64_t after, struct tpd_spool_rec *rec);

/* The broker has the report: it leaves the spool. Unknown seqs are ignored. */
enum tpd_err tpd_spool_ack(struct tpd_spool *s, uint64_t seq, double now);

/* Runs a due batch fsync (call from the main loop). */
void tpd_spool_tick(struct tpd_spool *s, double now);

void tpd_spool_stats(const struct tpd_spool *s, struct tpd_spool_stats *out);

#endif
