/*
 * localsock.c - one-line requests, JSON-lines answers, over a Unix socket
 * (see localsock.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "localsock.h"

#define LOCALSOCK_ANSWER_MAX (1u << 20)

static bool localsock_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return false;
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return true;
}

enum tpd_err tpd_local_listen(const char *path, int *fd, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	int s;

	*fd = -1;
	if (!localsock_addr(path, &sa)) {
		snprintf(err, errlen, "%s: path too long for a Unix socket", path);
		return TPD_ERR_INVAL;
	}
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return TPD_ERR_IO;
	}
	unlink(path);   /* a stale socket of a previous run (the state dir is locked) */
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0 || chmod(path, 0660) != 0 ||
	    listen(s, 8) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(s);
		return TPD_ERR_IO;
	}
	*fd = s;
	return TPD_OK;
}

/* Reads one line within the deadline; false on timeout, EOF or overflow. */
static bool localsock_line(int c, char *buf, size_t len)
{
	size_t n = 0;

	while (n + 1 < len) {
		struct pollfd p = { .fd = c, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, LOCALSOCK_CLIENT_MS) <= 0)
			return false;
		r = read(c, buf + n, 1);
		if (r <= 0) {
			buf[n] = '\0';   /* EOF ends the line too */
			return n > 0;
		}
		if (buf[n] == '\n') {
			buf[n] = '\0';
			return true;
		}
		n++;
	}
	return false;
}

static void localsock_write_all(int c, const char *s, size_t len)
{
	while (len > 0) {
		struct pollfd p = { .fd = c, .events = POLLOUT };
		ssize_t w;

		if (poll(&p, 1, LOCALSOCK_CLIENT_MS) <= 0)
			return;
		w = write(c, s, len);
		if (w <= 0)
			return;
		s += w;
		len -= (size_t)w;
	}
}

void tpd_local_serve(int fd, tpd_local_handler_fn handler, void *ctx)
{
	for (int served = 0; fd >= 0 && served < 8; served++) {
		char cmd[LOCALSOCK_CMD_MAX], *answer;
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

		if (c < 0)
			return;
		if (localsock_line(c, cmd, sizeof(cmd))) {
			answer = handler(ctx, cmd);
			if (answer) {
				localsock_write_all(c, answer, strlen(answer));
				localsock_write_all(c, "\n", 1);
			}
			free(answer);
		}
		close(c);
	}
}

/* Hands every complete line in buf[0..*n) to on_line and keeps the rest. */
static void localsock_lines(char *buf, size_t *n, tpd_local_line_fn on_line, void *ctx)
{
	size_t start = 0;

	for (size_t i = 0; i < *n; i++) {
		if (buf[i] != '\n')
			continue;
		buf[i] = '\0';
		if (i > start)
			on_line(ctx, buf + start);
		start = i + 1;
	}
	memmove(buf, buf + start, *n - start);
	*n -= start;
}

enum tpd_err tpd_local_ask(const char *path, const char *cmd, int timeout_ms,
			   tpd_local_line_fn on_line, void *ctx)
{
	struct sockaddr_un sa;
	char *buf = NULL;
	size_t n = 0, cap = 0;
	bool any = false;
	int s, e = 0;

	if (!localsock_addr(path, &sa)) {
		errno = ENAMETOOLONG;
		return TPD_ERR_IO;
	}
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    write(s, cmd, strlen(cmd)) != (ssize_t)strlen(cmd) || write(s, "\n", 1) != 1) {
		e = errno;
		goto out;
	}
	for (;;) {
		struct pollfd p = { .fd = s, .events = POLLIN };
		ssize_t r;

		if (n + 4096 + 1 > cap) {
			char *grown = cap + 8192 > LOCALSOCK_ANSWER_MAX ? NULL : realloc(buf, cap + 8192);

			if (!grown) {
				e = EMSGSIZE;
				goto out;
			}
			buf = grown;
			cap += 8192;
		}
		if (poll(&p, 1, timeout_ms) <= 0) {
			e = ETIMEDOUT;
			goto out;
		}
		r = read(s, buf + n, cap - n - 1);
		if (r <= 0)
			break;
		n += (size_t)r;
		any = true;
		localsock_lines(buf, &n, on_line, ctx);
	}
	if (n > 0) {   /* a last line without its newline */
		buf[n] = '\0';
		on_line(ctx, buf);
	}
	if (!any)
		e = ECONNRESET;
out:
	if (s >= 0)
		close(s);
	free(buf);
	errno = e;
	return e ? TPD_ERR_IO : TPD_OK;
}
