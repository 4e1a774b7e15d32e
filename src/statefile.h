/*
 * statefile.h - small durable state in the agent's state directory.
 *
 * Files are replaced atomically (write temp, fsync, rename, fsync dir), so a
 * power cut leaves either the old or the new content, never a torn one.
 *
 * The sequence counter (SPEC §2: per device, strictly increasing, persisted
 * across reboots) is reserved in blocks: the file holds a seq above every
 * one handed out so far, and is rewritten once per TPD_SEQ_BLOCK reports.
 * After a crash the unused rest of a block is skipped, never reused: gaps are
 * allowed, repeats are not. This keeps flash writes to one per block.
 *
 * The seq rule on a full or failing disk (issue 14):
 * 1. The file is kept a whole block ahead: it is rewritten (to next + 2
 *    blocks) when less than a block of the reservation is left, so a first
 *    failed write still leaves up to TPD_SEQ_BLOCK seqs that are covered.
 * 2. The file has a fixed width (20 digits and a newline). When the atomic
 *    replace fails (a full disk has no block for the temp file) the file is
 *    overwritten in place, which needs no new block; 21 bytes in the first
 *    sector are written whole on the media we know.
 * 3. When even that fails (read-only, EIO), the counter keeps counting in
 *    memory past the reservation (a report is never dropped for want of a
 *    seq), counts it (tpd_seq_state) so the caller can log it, and retries
 *    the write every 16 seqs.
 * 4. A clean shutdown writes its "clean" marker only after the reservation
 *    again covers every seq used (tpd_seq_durable). A start without the
 *    marker cannot know how far the last run counted in memory, so it skips
 *    TPD_SEQ_UNCLEAN_SKIP past the reservation (tpd_seq_skip): 2^20 seqs,
 *    about two years of 60 s telemetry, with room for 2^33 such starts
 *    below 2^53 (the collector's exact-integer limit).
 */
#ifndef TPD_STATEFILE_H
#define TPD_STATEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpd/err.h"

#define TPD_SEQ_BLOCK 256
#define TPD_SEQ_UNCLEAN_SKIP (1ull << 20)

/* Writes data to dir/name atomically. */
enum tpd_err tpd_statefile_write(const char *dir, const char *name, const char *data, size_t len);

/* tpd_statefile_write, and when that fails and dir/name already holds
 * exactly len bytes, an in-place overwrite (pwrite + fsync), which a full
 * filesystem still takes. For fixed-width files only (seq, chain): the
 * overwrite is not atomic across a power cut the way a rename is. */
enum tpd_err tpd_statefile_replace(const char *dir, const char *name, const char *data,
				   size_t len);

/* fsyncs a directory, so a created, renamed or deleted entry is durable. */
enum tpd_err tpd_statefile_sync_dir(const char *dir);

/* Reads dir/name into buf (NUL-terminated). TPD_ERR_NOTFOUND when absent,
 * TPD_ERR_TOOBIG when it does not fit. */
enum tpd_err tpd_statefile_read(const char *dir, const char *name, char *buf, size_t len);

struct tpd_seq {
	char *dir;           /* NULL: in memory only */
	uint64_t next;       /* next seq to hand out */
	uint64_t reserved;   /* seqs below this are covered by the file */
	uint64_t write_failures;  /* reservations that could not be written */
	uint64_t beyond;          /* seqs handed out at or above the reservation */
	uint64_t retry_at;        /* after a failure: next seq to try again at */
};

/* Opens the counter in dir (NULL = memory only, starting at 1). A corrupt seq
 * file is TPD_ERR_INVAL: starting again at 1 would make the collector drop
 * every new report as a duplicate. */
enum tpd_err tpd_seq_open(struct tpd_seq *s, const char *dir);
void tpd_seq_close(struct tpd_seq *s);

/* Hands out the next seq, reserving a new block on disk when needed. Never
 * fails: when the block cannot be written it counts on in memory (rule 3
 * above; see write_failures and beyond). */
enum tpd_err tpd_seq_next(struct tpd_seq *s, uint64_t *out);

/* Moves the next seq n further (rule 4). The next tpd_seq_next reserves. */
void tpd_seq_skip(struct tpd_seq *s, uint64_t n);

/* Writes the reservation now if it does not cover every seq handed out;
 * true when it does (or the counter is in memory only). */
bool tpd_seq_durable(struct tpd_seq *s);

#endif
