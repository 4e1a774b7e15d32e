/*
 * spool.c - crash-safe store-and-forward spool (format and rules in spool.h).
 *
 * Layout: record encoding, the in-memory index (entries sorted by seq,
 * segments sorted by id), writing and syncing, opening and recovery, the
 * byte budget (eviction, copy-forward, deleting finished segments), the
 * public calls.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


#include "tpd/jws.h"
#include "spool.h"
#include "statefile.h"

#define SPOOL_MAGIC "TPS1"
#define SPOOL_HDR 24
#define SPOOL_REC_REPORT 1
#define SPOOL_REC_DONE 2
#define SPOOL_MAX_PAYLOAD (TPD_PAYLOAD_MAX + 1024)

struct spool_entry {
	uint64_t seq;
	uint32_t seg;        /* segment id holding the live copy */
	uint32_t off;        /* of the record header */
	uint32_t len;        /* payload bytes */
	uint8_t kind;
	bool live;
};

struct spool_seg {
	uint32_t id;
	size_t bytes;        /* file size */
	size_t live;         /* pending reports whose copy is here */
};

struct tpd_spool {
	struct tpd_spool_cfg cfg;
	char *dir;
	struct spool_entry *e;
	size_t ne, cap_e, dead;
	struct spool_seg *seg;
	size_t nseg, cap_seg;
	int fd;                 /* the current (last) segment, append-only */
	size_t bytes;           /* all segments */
	bool dirty;             /* written since the last fsync */
	double last_sync;
	bool tight;             /* the disk said full: budget shrunk to what it holds */
	struct tpd_spool_stats st;
};

/* Record encoding ------------------------------------------------------------ */

static void spool_put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void spool_put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t spool_get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t spool_get64(const unsigned char *p)
{
	return (uint64_t)spool_get32(p) | (uint64_t)spool_get32(p + 4) << 32;
}

/* First 4 bytes of SHA-256 over header bytes 4..19 and the payload. */
static uint32_t spool_check(const unsigned char *hdr, const void *payload, size_t len)
{
	unsigned char h[32];

	tpd_sha256_two(hdr + 4, 16, payload, len, h);
	return spool_get32(h);
}

static void spool_header(unsigned char *hdr, int type, enum tpd_topic_kind kind, uint64_t seq,
			 const void *payload, size_t len)
{
	memcpy(hdr, SPOOL_MAGIC, 4);
	hdr[4] = (unsigned char)type;
	hdr[5] = (unsigned char)kind;
	hdr[6] = hdr[7] = 0;
	spool_put64(hdr + 8, seq);
	spool_put32(hdr + 16, (uint32_t)len);
	spool_put32(hdr + 20, spool_check(hdr, payload, len));
}

/* Index --------------------------------------------------------------------- */

/* arr with room for one more element (n used of *cap), doubling; NULL when
 * out of memory (arr is then untouched and still the caller's). */
static void *spool_grow(void *arr, size_t *cap, size_t n, size_t elem, size_t first)
{
	size_t c = *cap ? *cap * 2 : first;
	void *grown;

	if (n < *cap)
		return arr;
	grown = realloc(arr, c * elem);
	if (grown)
		*cap = c;
	return grown;
}

static bool spool_faultish(uint8_t kind)
{
	return kind == TPD_TOPIC_FAULT || kind == TPD_TOPIC_SELFCHECK;
}

/* Index of the first entry with seq >= seq. */
static size_t spool_lower(const struct tpd_spool *s, uint64_t seq)
{
	size_t lo = 0, hi = s->ne;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->e[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct spool_seg *spool_seg_find(struct tpd_spool *s, uint32_t id)
{
	for (size_t i = 0; i < s->nseg; i++) {
		if (s->seg[i].id == id)
			return &s->seg[i];
	}
	return NULL;
}

/* Adds or moves the live copy of seq (a copy-forward duplicate moves it). */
static enum tpd_err spool_index_put(struct tpd_spool *s, uint64_t seq, uint8_t kind, uint32_t seg,
				    uint32_t off, uint32_t len)
{
	size_t at = spool_lower(s, seq);
	struct spool_entry *e;

	if (at < s->ne && s->e[at].seq == seq) {
		e = &s->e[at];
		if (e->live) {
			struct spool_seg *old = spool_seg_find(s, e->seg);

			if (old && old->live)
				old->live--;
		} else {
			s->dead--;
			s->st.pending++;
			s->st.pending_faults += spool_faultish(kind);
		}
	} else {
		void *grown = spool_grow(s->e, &s->cap_e, s->ne, sizeof(*s->e), 256);

		if (!grown)
			return TPD_ERR_NOMEM;
		s->e = grown;
		memmove(&s->e[at + 1], &s->e[at], (s->ne - at) * sizeof(*s->e));
		s->ne++;
		e = &s->e[at];
		s->st.pending++;
		s->st.pending_faults += spool_faultish(kind);
	}
	e->seq = seq;
	e->kind = kind;
	e->seg = seg;
	e->off = off;
	e->len = len;
	e->live = true;
	spool_seg_find(s, seg)->live++;
	return TPD_OK;
}

/* Marks seq done in the index; false when it was not pending. */
static bool spool_index_done(struct tpd_spool *s, uint64_t seq)
{
	size_t at = spool_lower(s, seq);
	struct spool_entry *e;
	struct spool_seg *g;

	if (at >= s->ne || s->e[at].seq != seq || !s->e[at].live)
		return false;
	e = &s->e[at];
	e->live = false;
	s->dead++;
	s->st.pending--;
	s->st.pending_faults -= spool_faultish(e->kind);
	g = spool_seg_find(s, e->seg);
	if (g && g->live)
		g->live--;
	return true;
}

/* Drops dead entries once they are most of the index. */
static void spool_index_compact(struct tpd_spool *s)
{
	size_t j = 0;

	if (s->dead < 64 || s->dead * 2 < s->ne)
		return;
	for (size_t i = 0; i < s->ne; i++) {
		if (s->e[i].live)
			s->e[j++] = s->e[i];
	}
	s->ne = j;
	s->dead = 0;
}

/* Files ---------------------------------------------------------------------- */

static void spool_seg_path(const struct tpd_spool *s, uint32_t id, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%010" PRIu32 ".seg", s->dir, id);
}

static enum tpd_err spool_sync(struct tpd_spool *s, double now)
{
	if (!s->dirty || s->fd < 0)
		return TPD_OK;
	if (fsync(s->fd) != 0)
		return TPD_ERR_IO;
	s->dirty = false;
	s->last_sync = now;
	return TPD_OK;
}

/* Starts segment id as the current one. */
static enum tpd_err spool_seg_new(struct tpd_spool *s, uint32_t id)
{
	char path[4096];
	void *seg = spool_grow(s->seg, &s->cap_seg, s->nseg, sizeof(*s->seg), 16);

	if (!seg)
		return TPD_ERR_NOMEM;
	s->seg = seg;
	if (s->fd >= 0) {
		spool_sync(s, s->last_sync);
		close(s->fd);
	}
	spool_seg_path(s, id, path, sizeof(path));
	s->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (s->fd < 0)
		return TPD_ERR_IO;
	s->seg[s->nseg].id = id;
	s->seg[s->nseg].bytes = 0;
	s->seg[s->nseg].live = 0;
	s->nseg++;
	tpd_statefile_sync_dir(s->dir);
	return TPD_OK;
}

/* Appends one record to the current segment, rolling to a new one when it is
 * full. On failure the segment is cut back, so no half record stays. */
static enum tpd_err spool_write(struct tpd_spool *s, int type, enum tpd_topic_kind kind,
				uint64_t seq, const void *payload, size_t len, bool sync, double now,
				uint32_t *seg, uint32_t *off)
{
	unsigned char hdr[SPOOL_HDR];
	struct spool_seg *cur = &s->seg[s->nseg - 1];
	size_t start;
	enum tpd_err rc;

	if (cur->bytes > 0 && cur->bytes + SPOOL_HDR + len > s->cfg.segment_bytes) {
		rc = spool_seg_new(s, cur->id + 1);
		if (rc)
			return rc;
		cur = &s->seg[s->nseg - 1];
	}
	start = cur->bytes;
	spool_header(hdr, type, kind, seq, payload, len);
	errno = 0;
	if (write(s->fd, hdr, SPOOL_HDR) != SPOOL_HDR ||
	    (len && write(s->fd, payload, len) != (ssize_t)len)) {
		/* A short write to a regular file is the disk filling up. */
		int e = errno ? errno : ENOSPC;

		if (ftruncate(s->fd, (off_t)start) != 0)
			fprintf(stderr, "tpdiagd: spool: cannot cut back a failed write\n");
		errno = e;
		return TPD_ERR_IO;
	}
	cur->bytes += SPOOL_HDR + len;
	s->bytes += SPOOL_HDR + len;
	s->dirty = true;
	if (seg)
		*seg = cur->id;
	if (off)
		*off = (uint32_t)start;
	if (s->cfg.sync == TPD_SPOOL_SYNC_ALWAYS || sync ||
	    (s->cfg.sync != TPD_SPOOL_SYNC_NEVER && now - s->last_sync >= s->cfg.batch_s))
		return s->cfg.sync == TPD_SPOOL_SYNC_NEVER ? TPD_OK : spool_sync(s, now);
	return TPD_OK;
}

/* Deletes finished segments from the oldest on (never the current one).
 * On a full disk (tight) also finished ones behind a pinned oldest: the
 * space matters more then, and what it costs is that a report whose "done"
 * record was in such a segment can come back after a restart (sent again:
 * the collector drops the duplicate; evicted telemetry: sent late). */
static void spool_drop_finished(struct tpd_spool *s)
{
	size_t j = 0, dropped = 0;
	bool in_order = true;
	char path[4096];

	for (size_t i = 0; i < s->nseg; i++) {
		bool last = i + 1 == s->nseg;

		if (!last && s->seg[i].live == 0 && (in_order || s->tight)) {
			spool_seg_path(s, s->seg[i].id, path, sizeof(path));
			if (unlink(path) == 0 || errno == ENOENT) {
				s->bytes -= s->seg[i].bytes;
				dropped++;
				continue;
			}
		}
		in_order = false;
		s->seg[j++] = s->seg[i];
	}
	s->nseg = j;
	if (dropped)
		tpd_statefile_sync_dir(s->dir);
}

/* Reads a record's payload (malloc'ed, NUL-terminated). */
static enum tpd_err spool_read(struct tpd_spool *s, const struct spool_entry *e, char **out)
{
	char path[4096];
	char *buf;
	int fd;
	ssize_t n;

	spool_seg_path(s, e->seg, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return TPD_ERR_IO;
	buf = malloc((size_t)e->len + 1);
	n = buf ? pread(fd, buf, e->len, (off_t)e->off + SPOOL_HDR) : -1;
	close(fd);
	if (n != (ssize_t)e->len) {
		free(buf);
		return buf ? TPD_ERR_IO : TPD_ERR_NOMEM;
	}
	buf[e->len] = '\0';
	*out = buf;
	return TPD_OK;
}

/* Budget --------------------------------------------------------------------- */

static enum tpd_err spool_done(struct tpd_spool *s, uint64_t seq, double now)
{
	if (!spool_index_done(s, seq))
		return TPD_OK;
	return spool_write(s, SPOOL_REC_DONE, 0, seq, NULL, 0, false, now, NULL, NULL);
}

/* Oldest live entry of the wanted sort (faults or telemetry), or NULL. */
static struct spool_entry *spool_oldest(struct tpd_spool *s, bool faults)
{
	for (size_t i = 0; i < s->ne; i++) {
		if (s->e[i].live && spool_faultish(s->e[i].kind) == faults)
			return &s->e[i];
	}
	return NULL;
}

/* Copies the live reports of the oldest segment to the current one, so it
 * can be deleted. Only for fault-ish reports: telemetry is evicted instead. */
static enum tpd_err spool_copy_forward(struct tpd_spool *s, double now)
{
	uint32_t old = s->seg[0].id;

	for (size_t i = 0; i < s->ne; i++) {
		struct spool_entry e = s->e[i];
		uint32_t seg, off;
		char *payload;
		enum tpd_err rc;

		if (!e.live || e.seg != old)
			continue;
		rc = spool_read(s, &e, &payload);
		if (!rc)
			rc = spool_write(s, SPOOL_REC_REPORT, e.kind, e.seq, payload, e.len, true, now,
					 &seg, &off);
		free(payload);
		if (!rc)
			rc = spool_index_put(s, e.seq, e.kind, seg, off, e.len);
		if (rc)
			return rc;
	}
	return TPD_OK;
}

/* Evicts (telemetry first) and deletes until the spool fits its budget. A
 * "done" record or a copy that the disk refuses is counted, not fatal: the
 * index already says the report is gone, and deleting segments is what
 * frees the disk. */
static enum tpd_err spool_budget(struct tpd_spool *s, double now)
{
	bool cf_failed = false;

	for (int guard = 0; guard < 100000 && s->bytes > s->cfg.max_bytes; guard++) {
		struct spool_entry *victim;
		bool oldest_all_faults = s->nseg > 1 && s->seg[0].live > 0;
		size_t fault_bytes = 0;
		enum tpd_err rc;

		spool_drop_finished(s);
		if (s->bytes <= s->cfg.max_bytes)
			break;
		for (size_t i = 0; i < s->ne; i++) {
			if (!s->e[i].live)
				continue;
			if (spool_faultish(s->e[i].kind))
				fault_bytes += SPOOL_HDR + s->e[i].len;
			else if (s->e[i].seg == s->seg[0].id)
				oldest_all_faults = false;
		}
		if (oldest_all_faults && !cf_failed &&
		    fault_bytes + 2 * s->cfg.segment_bytes <= s->cfg.max_bytes) {
			rc = spool_copy_forward(s, now);
			if (rc) {
				s->st.write_failures++;
				cf_failed = true;   /* no room to copy: evict telemetry elsewhere */
			}
			continue;
		}
		victim = spool_oldest(s, false);
		if (victim) {
			s->st.evicted_telemetry++;
		} else {
			victim = spool_oldest(s, true);
			if (!victim)
				break;
			s->st.evicted_faults++;
			fprintf(stderr, "tpdiagd: spool full of fault reports: evicting seq %" PRIu64 "\n",
				victim->seq);
		}
		if (spool_done(s, victim->seq, now))
			s->st.write_failures++;
	}
	spool_index_compact(s);
	return TPD_OK;
}

/* The disk is full (a write failed with ENOSPC): the budget becomes three
 * quarters of what the spool holds now (never under 8 segments of 2 KiB),
 * new segments an eighth of that, and the oldest telemetry makes room. */
static void spool_tighten(struct tpd_spool *s, double now)
{
	size_t floor_bytes = 8 * 2048, want = s->bytes / 4 * 3;

	if (want < floor_bytes)
		want = floor_bytes;
	if (!s->tight || want < s->cfg.max_bytes) {
		fprintf(stderr, "tpdiagd: spool: the disk is full at %zu bytes; budget now %zu bytes, "
			"oldest telemetry evicted first\n", s->bytes, want);
		s->cfg.max_bytes = want;
	}
	s->tight = true;
	s->st.disk_full++;
	if (s->cfg.segment_bytes > s->cfg.max_bytes / 8)
		s->cfg.segment_bytes = s->cfg.max_bytes / 8;
	spool_budget(s, now);
}

/* Open and recovery ---------------------------------------------------------- */

static int spool_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Replays one segment file into the index; cuts a bad tail off. */
static enum tpd_err spool_replay(struct tpd_spool *s, uint32_t id)
{
	char path[4096];
	struct stat st;
	unsigned char *buf = NULL;
	size_t off = 0, size;
	int fd;
	enum tpd_err rc = TPD_OK;

	spool_seg_path(s, id, path, sizeof(path));
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		if (fd >= 0)
			close(fd);
		return TPD_ERR_IO;
	}
	size = (size_t)st.st_size;
	buf = malloc(size ? size : 1);
	if (!buf || (size && pread(fd, buf, size, 0) != (ssize_t)size)) {
		free(buf);
		close(fd);
		return buf ? TPD_ERR_IO : TPD_ERR_NOMEM;
	}
	s->seg[s->nseg - 1].bytes = size;
	while (!rc && off + SPOOL_HDR <= size) {
		const unsigned char *h = buf + off;
		uint32_t len = spool_get32(h + 16);
		uint64_t seq = spool_get64(h + 8);

		if (memcmp(h, SPOOL_MAGIC, 4) != 0 || len > SPOOL_MAX_PAYLOAD ||
		    off + SPOOL_HDR + len > size || spool_get32(h + 20) != spool_check(h, h + SPOOL_HDR, len) ||
		    (h[4] != SPOOL_REC_REPORT && h[4] != SPOOL_REC_DONE) || h[5] >= TPD_TOPIC_KIND_COUNT)
			break;
		if (h[4] == SPOOL_REC_REPORT)
			rc = spool_index_put(s, seq, h[5], id, (uint32_t)off, len);
		else
			spool_index_done(s, seq);
		off += SPOOL_HDR + len;
	}
	if (!rc && off < size) {
		/* A torn or corrupt tail: what follows the last good record goes. */
		s->st.torn_bytes += size - off;
		fprintf(stderr, "tpdiagd: spool: %s: cut %zu bytes of a torn record at offset %zu\n",
			path, size - off, off);
		if (ftruncate(fd, (off_t)off) != 0 || fsync(fd) != 0)
			rc = TPD_ERR_IO;
		s->seg[s->nseg - 1].bytes = off;
	}
	s->bytes += s->seg[s->nseg - 1].bytes;
	free(buf);
	close(fd);
	return rc;
}

static enum tpd_err spool_load(struct tpd_spool *s, char *err, size_t errlen)
{
	DIR *d = opendir(s->dir);
	struct dirent *de;
	uint32_t *ids = NULL;
	size_t n = 0, cap = 0;
	enum tpd_err rc = TPD_OK;

	if (!d) {
		snprintf(err, errlen, "%s: %s", s->dir, strerror(errno));
		return TPD_ERR_IO;
	}
	while ((de = readdir(d))) {
		char *end;
		unsigned long v = strtoul(de->d_name, &end, 10);

		if (end == de->d_name || strcmp(end, ".seg") != 0 || v > UINT32_MAX)
			continue;
		if (n == cap) {
			uint32_t *grown = realloc(ids, (cap = cap ? cap * 2 : 16) * sizeof(*ids));

			if (!grown) {
				rc = TPD_ERR_NOMEM;
				break;
			}
			ids = grown;
		}
		ids[n++] = (uint32_t)v;
	}
	closedir(d);
	if (n)
		qsort(ids, n, sizeof(*ids), spool_cmp_u32);
	for (size_t i = 0; !rc && i < n; i++) {
		void *seg = spool_grow(s->seg, &s->cap_seg, s->nseg, sizeof(*s->seg), 16);

		if (!seg) {
			rc = TPD_ERR_NOMEM;
			break;
		}
		s->seg = seg;
		s->seg[s->nseg].id = ids[i];
		s->seg[s->nseg].bytes = 0;
		s->seg[s->nseg].live = 0;
		s->nseg++;
		rc = spool_replay(s, ids[i]);
		if (rc)
			snprintf(err, errlen, "%s: cannot read segment %010" PRIu32, s->dir, ids[i]);
	}
	free(ids);
	return rc;
}

/* Public -------------------------------------------------------------------- */

enum tpd_err tpd_spool_open(const struct tpd_spool_cfg *cfg, struct tpd_spool **out,
			    char *err, size_t errlen)
{
	struct tpd_spool *s = calloc(1, sizeof(*s));
	uint32_t next_id;
	enum tpd_err rc;

	*out = NULL;
	if (!s)
		return TPD_ERR_NOMEM;
	s->cfg = *cfg;
	s->fd = -1;
	if (!s->cfg.max_bytes)
		s->cfg.max_bytes = 4u << 20;
	if (!s->cfg.segment_bytes)
		s->cfg.segment_bytes = 64u << 10;
	if (s->cfg.batch_s <= 0)
		s->cfg.batch_s = 1.0;
	/* Small segments under a small budget: copying the live reports of the
	 * oldest one forward must always fit beside everything else. */
	if (s->cfg.segment_bytes > s->cfg.max_bytes / 8)
		s->cfg.segment_bytes = s->cfg.max_bytes / 8;
	s->dir = strdup(cfg->dir);
	if (!s->dir) {
		free(s);
		return TPD_ERR_NOMEM;
	}
	if (mkdir(s->dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", s->dir, strerror(errno));
		tpd_spool_close(s);
		return TPD_ERR_IO;
	}
	rc = spool_load(s, err, errlen);
	s->st.recovered = s->st.pending;
	/* Always write into a fresh segment: an old one may end in a cut tail. */
	next_id = s->nseg ? s->seg[s->nseg - 1].id + 1 : 1;
	if (!rc)
		rc = spool_seg_new(s, next_id);
	if (!rc) {
		spool_drop_finished(s);
		rc = spool_budget(s, 0);
	}
	if (rc) {
		if (!err[0])
			snprintf(err, errlen, "%s: %s", s->dir, tpd_strerror(rc));
		tpd_spool_close(s);
		return rc;
	}
	*out = s;
	return TPD_OK;
}

void tpd_spool_close(struct tpd_spool *s)
{
	if (!s)
		return;
	if (s->fd >= 0) {
		spool_sync(s, s->last_sync);
		close(s->fd);
	}
	free(s->e);
	free(s->seg);
	free(s->dir);
	free(s);
}

enum tpd_err tpd_spool_append(struct tpd_spool *s, uint64_t seq, enum tpd_topic_kind kind,
			      const char *payload, size_t len, double now)
{
	uint32_t seg, off;
	enum tpd_err rc;

	bool sync = s->cfg.sync == TPD_SPOOL_SYNC_FAULTS && spool_faultish((uint8_t)kind);

	if (len > SPOOL_MAX_PAYLOAD || (s->ne && seq <= s->e[s->ne - 1].seq))
		return TPD_ERR_INVAL;
	errno = 0;
	rc = spool_write(s, SPOOL_REC_REPORT, kind, seq, payload, len, sync, now, &seg, &off);
	if (rc == TPD_ERR_IO && (errno == ENOSPC || errno == EDQUOT)) {
		/* Make room from telemetry, then try once more. */
		spool_tighten(s, now);
		errno = 0;
		rc = spool_write(s, SPOOL_REC_REPORT, kind, seq, payload, len, sync, now, &seg, &off);
	}
	if (rc) {
		s->st.write_failures++;
		return rc;
	}
	rc = spool_index_put(s, seq, (uint8_t)kind, seg, off, (uint32_t)len);
	if (!rc)
		rc = spool_budget(s, now);
	return rc;
}

enum tpd_err tpd_spool_next(struct tpd_spool *s, uint64_t after, struct tpd_spool_rec *rec)
{
	for (size_t i = spool_lower(s, after + 1); i < s->ne; i++) {
		const struct spool_entry *e = &s->e[i];
		enum tpd_err rc;

		if (!e->live)
			continue;
		rc = spool_read(s, e, &rec->payload);
		if (rc)
			return rc;
		rec->seq = e->seq;
		rec->kind = (enum tpd_topic_kind)e->kind;
		rec->len = e->len;
		return TPD_OK;
	}
	return TPD_ERR_NOTFOUND;
}

enum tpd_err tpd_spool_ack(struct tpd_spool *s, uint64_t seq, double now)
{
	enum tpd_err rc = spool_done(s, seq, now);

	spool_drop_finished(s);
	spool_index_compact(s);
	return rc;
}

void tpd_spool_tick(struct tpd_spool *s, double now)
{
	if (s->cfg.sync != TPD_SPOOL_SYNC_NEVER && s->dirty && now - s->last_sync >= s->cfg.batch_s)
		spool_sync(s, now);
}

void tpd_spool_stats(const struct tpd_spool *s, struct tpd_spool_stats *out)
{
	*out = s->st;
	out->bytes = s->bytes;
}
