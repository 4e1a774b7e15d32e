/*
 * statefile.h - small durable state in the agent's state directory.
 *
 * Files are replaced atomically (write temp, fsync, rename, fsync dir), so a
 * power cut leaves either the old or the new content, never a torn one.
 *
 * The sequence counter (SPEC §2: per device, strictly increasing, persisted
 * across reboots) is reserved in blocks: the file holds the first seq not yet
 * handed out by a past run, and is rewritten once per TPD_SEQ_BLOCK reports.
 * After a crash the unused rest of a block is skipped, never reused: gaps are
 * allowed, repeats are not. This keeps flash writes to one per block.
 */
#ifndef TPD_STATEFILE_H
#define TPD_STATEFILE_H

#include <stddef.h>
#include <stdint.h>

#include "tpd/err.h"

#define TPD_SEQ_BLOCK 256

/* Writes data to dir/name atomically. */
enum tpd_err tpd_statefile_write(const char *dir, const char *name, const char *data, size_t len);

/* fsyncs a directory, so a created, renamed or deleted entry is durable. */
enum tpd_err tpd_statefile_sync_dir(const char *dir);

/* Reads dir/name into buf (NUL-terminated). TPD_ERR_NOTFOUND when absent,
 * TPD_ERR_TOOBIG when it does not fit. */
enum tpd_err tpd_statefile_read(const char *dir, const char *name, char *buf, size_t len);

struct tpd_seq {
	char *dir;           /* NULL: in memory only */
	uint64_t next;       /* next seq to hand out */
	uint64_t reserved;   /* seqs below this are covered by the file */
};

/* Opens the counter in dir (NULL = memory only, starting at 1). A corrupt seq
 * file is TPD_ERR_INVAL: starting again at 1 would make the collector drop
 * every new report as a duplicate. */
enum tpd_err tpd_seq_open(struct tpd_seq *s, const char *dir);
void tpd_seq_close(struct tpd_seq *s);

/* Hands out the next seq, reserving a new block on disk when needed. On an
 * I/O error nothing is handed out. */
enum tpd_err tpd_seq_next(struct tpd_seq *s, uint64_t *out);

#endif
