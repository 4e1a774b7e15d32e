/*
 * statefile.c - atomic small files and the block-reserved sequence counter.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "statefile.h"

enum tpd_err tpd_statefile_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return TPD_ERR_IO;
	rc = fsync(fd);
	close(fd);
	return rc == 0 ? TPD_OK : TPD_ERR_IO;
}

enum tpd_err tpd_statefile_write(const char *dir, const char *name, const char *data, size_t len)
{
	char path[4096], tmp[4096];
	int fd;
	ssize_t w;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >= sizeof(tmp))
		return TPD_ERR_TOOBIG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return TPD_ERR_IO;
	w = write(fd, data, len);
	if (w != (ssize_t)len || fsync(fd) != 0) {
		close(fd);
		unlink(tmp);
		return TPD_ERR_IO;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return TPD_ERR_IO;
	}
	return tpd_statefile_sync_dir(dir);
}

enum tpd_err tpd_statefile_replace(const char *dir, const char *name, const char *data,
				   size_t len)
{
	char path[4096];
	struct stat st;
	int fd;
	enum tpd_err rc = tpd_statefile_write(dir, name, data, len);

	if (rc != TPD_ERR_IO)
		return rc;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return TPD_ERR_TOOBIG;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return TPD_ERR_IO;
	/* Same size only: the blocks are already the file's, nothing to allocate. */
	if (fstat(fd, &st) != 0 || (size_t)st.st_size != len ||
	    pwrite(fd, data, len, 0) != (ssize_t)len || fsync(fd) != 0)
		rc = TPD_ERR_IO;
	else
		rc = TPD_OK;
	close(fd);
	return rc;
}

enum tpd_err tpd_statefile_read(const char *dir, const char *name, char *buf, size_t len)
{
	char path[4096];
	FILE *fp;
	size_t n;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return TPD_ERR_TOOBIG;
	fp = fopen(path, "r");
	if (!fp)
		return errno == ENOENT ? TPD_ERR_NOTFOUND : TPD_ERR_IO;
	n = fread(buf, 1, len, fp);
	if (ferror(fp)) {
		fclose(fp);
		return TPD_ERR_IO;
	}
	fclose(fp);
	if (n >= len)
		return TPD_ERR_TOOBIG;
	buf[n] = '\0';
	return TPD_OK;
}

enum tpd_err tpd_seq_open(struct tpd_seq *s, const char *dir)
{
	char buf[32], *end;
	unsigned long long v;
	enum tpd_err rc;

	memset(s, 0, sizeof(*s));
	s->next = 1;
	s->reserved = 1;
	if (!dir)
		return TPD_OK;
	s->dir = strdup(dir);
	if (!s->dir)
		return TPD_ERR_NOMEM;
	rc = tpd_statefile_read(dir, "seq", buf, sizeof(buf));
	if (rc == TPD_ERR_NOTFOUND)
		return TPD_OK;
	if (rc) {
		tpd_seq_close(s);
		return rc == TPD_ERR_TOOBIG ? TPD_ERR_INVAL : rc;
	}
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (end == buf || (*end != '\n' && *end != '\0') || errno || v == 0 ||
	    v > UINT64_MAX / 2) {
		tpd_seq_close(s);
		return TPD_ERR_INVAL;
	}
	s->next = v;
	s->reserved = v;
	return TPD_OK;
}

void tpd_seq_close(struct tpd_seq *s)
{
	free(s->dir);
	s->dir = NULL;
}

/* Writes the reservation upto (fixed width, rule 2 in statefile.h). */
static enum tpd_err seq_write(struct tpd_seq *s, uint64_t upto)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%020" PRIu64 "\n", upto);
	enum tpd_err rc = tpd_statefile_replace(s->dir, "seq", buf, (size_t)n);

	if (rc) {
		s->write_failures++;
		s->retry_at = s->next + 16;
		return rc;
	}
	s->reserved = upto;
	s->retry_at = 0;
	return TPD_OK;
}

enum tpd_err tpd_seq_next(struct tpd_seq *s, uint64_t *out)
{
	if (s->dir && s->next + TPD_SEQ_BLOCK >= s->reserved && s->next >= s->retry_at)
		seq_write(s, s->next + 2 * TPD_SEQ_BLOCK);   /* failure: counted, rule 3 */
	if (s->dir && s->next >= s->reserved)
		s->beyond++;
	*out = s->next++;
	return TPD_OK;
}

void tpd_seq_skip(struct tpd_seq *s, uint64_t n)
{
	if (s->next + n < UINT64_MAX / 2)
		s->next += n;
}

bool tpd_seq_durable(struct tpd_seq *s)
{
	if (!s->dir || s->next <= s->reserved)
		return true;
	return seq_write(s, s->next + TPD_SEQ_BLOCK) == TPD_OK;
}
