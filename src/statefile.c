/*
 * statefile.c - atomic small files and the block-reserved sequence counter.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

enum tpd_err tpd_seq_next(struct tpd_seq *s, uint64_t *out)
{
	if (s->dir && s->next >= s->reserved) {
		char buf[32];
		uint64_t upto = s->next + TPD_SEQ_BLOCK;
		int n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", upto);
		enum tpd_err rc = tpd_statefile_write(s->dir, "seq", buf, (size_t)n);

		if (rc)
			return rc;
		s->reserved = upto;
	}
	*out = s->next++;
	return TPD_OK;
}
