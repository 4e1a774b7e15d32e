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

struct localsock_client {
	int fd;                          /* -1: free slot */
	double deadline_ms;
	char cmd[LOCALSOCK_CMD_MAX];
	size_t cmd_len;
	char *answer;                    /* NULL while the request is read */
	size_t answer_len, sent;
};

struct tpd_local {
	int fd;
	struct localsock_client c[LOCALSOCK_CLIENTS];
	unsigned active;
};

enum tpd_err tpd_local_listen(const char *path, struct tpd_local **out, char *err,
			      size_t errlen)
{
	struct sockaddr_un sa;
	struct tpd_local *l;
	int s;

	*out = NULL;
	if (!localsock_addr(path, &sa)) {
		snprintf(err, errlen, "%.200s: path too long for a Unix socket", path);
		return TPD_ERR_INVAL;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		snprintf(err, errlen, "out of memory");
		return TPD_ERR_NOMEM;
	}
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		free(l);
		return TPD_ERR_IO;
	}
	unlink(path);   /* a stale socket of a previous run (the state dir is locked) */
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0 || chmod(path, 0660) != 0 ||
	    listen(s, LOCALSOCK_BACKLOG) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(s);
		free(l);
		return TPD_ERR_IO;
	}
	l->fd = s;
	for (size_t i = 0; i < LOCALSOCK_CLIENTS; i++)
		l->c[i].fd = -1;
	*out = l;
	return TPD_OK;
}

static void localsock_drop(struct tpd_local *l, struct localsock_client *c)
{
	close(c->fd);
	free(c->answer);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	l->active--;
}

void tpd_local_close(struct tpd_local *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < LOCALSOCK_CLIENTS; i++) {
		if (l->c[i].fd >= 0)
			localsock_drop(l, &l->c[i]);
	}
	close(l->fd);
	free(l);
}

bool tpd_local_busy(const struct tpd_local *l)
{
	return l && l->active > 0;
}

/* Reads what is there; true once the line is complete (EOF ends it too).
 * *bad on overflow, error, or EOF before any byte. */
static bool localsock_read(struct localsock_client *c, bool *bad)
{
	for (;;) {
		ssize_t r = read(c->fd, c->cmd + c->cmd_len, 1);

		if (r < 0) {
			*bad = errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
			return false;
		}
		if (r == 0) {
			c->cmd[c->cmd_len] = '\0';
			*bad = c->cmd_len == 0;
			return !*bad;
		}
		if (c->cmd[c->cmd_len] == '\n') {
			c->cmd[c->cmd_len] = '\0';
			return true;
		}
		if (++c->cmd_len + 1 >= sizeof(c->cmd)) {
			*bad = true;
			return false;
		}
	}
}

/* Writes what the socket takes; true when all is sent or the client is gone. */
static bool localsock_flush(struct localsock_client *c)
{
	while (c->sent < c->answer_len) {
		ssize_t w = send(c->fd, c->answer + c->sent, c->answer_len - c->sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0)
			return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
		c->sent += (size_t)w;
	}
	return true;
}

/* Builds the answer once the request is in: the handler's text plus the
 * final newline. */
static void localsock_answer(struct localsock_client *c, tpd_local_handler_fn handler, void *ctx)
{
	char *a = handler(ctx, c->cmd);
	size_t n = a ? strlen(a) : 0;
	char *buf = a ? realloc(a, n + 2) : NULL;

	if (!buf) {
		free(a);
		c->answer = strdup("{\"error\":\"out of memory\"}\n");
		c->answer_len = c->answer ? strlen(c->answer) : 0;
		return;
	}
	buf[n] = '\n';
	buf[n + 1] = '\0';
	c->answer = buf;
	c->answer_len = n + 1;
}

void tpd_local_serve(struct tpd_local *l, tpd_local_handler_fn handler, void *ctx, double now_ms)
{
	if (!l)
		return;
	/* accept what fits; the rest stays in the backlog for the next call */
	for (size_t i = 0; i < LOCALSOCK_CLIENTS && l->active < LOCALSOCK_CLIENTS; i++) {
		int fd;

		if (l->c[i].fd >= 0)
			continue;
		fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			break;
		l->c[i].fd = fd;
		l->c[i].deadline_ms = now_ms + LOCALSOCK_CLIENT_MS;
		l->active++;
	}
	for (size_t i = 0, answered = 0; i < LOCALSOCK_CLIENTS; i++) {
		struct localsock_client *c = &l->c[i];
		bool bad = false;

		if (c->fd < 0)
			continue;
		/* A few answers per call, so a burst of technicians costs the
		 * loop a bounded slice; the rest are answered on the next calls. */
		if (!c->answer && answered < LOCALSOCK_ANSWERS_PER_CALL && localsock_read(c, &bad)) {
			localsock_answer(c, handler, ctx);
			answered++;
		}
		if (bad || (c->answer && localsock_flush(c)) || now_ms >= c->deadline_ms)
			localsock_drop(l, c);
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
