/*
 * localsock.h - the agent's local socket for the technician CLI (tpdiag).
 *
 * A Unix stream socket, mode 0660 (the owner and the group that may
 * diagnose). One request per connection: the client writes one line, the
 * command ("status", "selfcheck", ...); the agent answers with JSON
 * documents, one per line, and closes. Most answers are one line; a
 * self-check sends a line per step as it completes ({"step":{...},"index":i,
 * "of":n}), then the report itself, so the last line is always the answer. The agent polls it from its main loop and never
 * blocks on a slow client for more than LOCALSOCK_CLIENT_MS.
 */
#ifndef TPD_LOCALSOCK_H
#define TPD_LOCALSOCK_H

#include <stddef.h>

#include "tpd/err.h"

#define LOCALSOCK_CLIENT_MS 200
#define LOCALSOCK_CMD_MAX 64

/* The answer to cmd (malloc'ed, one or more JSON lines, the callee's to
 * build, freed by us). */
typedef char *(*tpd_local_handler_fn)(void *ctx, const char *cmd);

/* Binds path (replacing a stale socket), mode 0660. On failure writes err. */
enum tpd_err tpd_local_listen(const char *path, int *fd, char *err, size_t errlen);
/* Serves every client waiting now; returns at once when none. */
void tpd_local_serve(int fd, tpd_local_handler_fn handler, void *ctx);

/* Client side: sends cmd to path and calls on_line with each line of the
 * answer as it arrives (without its newline). TPD_ERR_IO with errno set
 * when the agent does not answer (ETIMEDOUT after timeout_ms of silence),
 * EMSGSIZE for a line over 1 MiB. */
typedef void (*tpd_local_line_fn)(void *ctx, const char *line);
enum tpd_err tpd_local_ask(const char *path, const char *cmd, int timeout_ms,
			   tpd_local_line_fn on_line, void *ctx);

#endif
