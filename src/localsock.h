/*
 * localsock.h - the agent's local socket for the technician CLI (tpdiag).
 *
 * A Unix stream socket, mode 0660 (the owner and the group that may
 * diagnose). One request per connection: the client writes one line, the
 * command ("status", "selfcheck", ...); the agent answers with JSON
 * documents, one per line, and closes. Most answers are one line; a
 * self-check sends a line per step as it completes ({"step":{...},"index":i,
 * "of":n}), then the report itself, so the last line is always the answer.
 *
 * Serving never blocks the agent (issue 14: a client dripping one byte at a
 * time used to stall sampling, MQTT and fault detection for ~13 s): the
 * agent calls tpd_local_serve from its main loop and each call does only
 * what the sockets take at once. Every socket is non-blocking; up to
 * LOCALSOCK_CLIENTS clients are served side by side, each with its own
 * LOCALSOCK_CLIENT_MS deadline from accept for its request and answer
 * (then it is dropped); the listen backlog is LOCALSOCK_BACKLOG, so a burst
 * of technicians waits in the kernel instead of being refused.
 */
#ifndef TPD_LOCALSOCK_H
#define TPD_LOCALSOCK_H

#include <stddef.h>

#include "tpd/err.h"

#include <stdbool.h>

#define LOCALSOCK_CLIENT_MS 2000   /* a client's whole exchange, from accept */
#define LOCALSOCK_CMD_MAX 64
#define LOCALSOCK_CLIENTS 32       /* served at once; the rest wait in the backlog */
#define LOCALSOCK_BACKLOG 64
#define LOCALSOCK_ANSWERS_PER_CALL 8  /* handler calls per tpd_local_serve */

struct tpd_local;

/* The answer to cmd (malloc'ed, one or more JSON lines, the callee's to
 * build, freed by us). */
typedef char *(*tpd_local_handler_fn)(void *ctx, const char *cmd);

/* Binds path (replacing a stale socket), mode 0660. On failure writes err
 * and leaves *out NULL. */
enum tpd_err tpd_local_listen(const char *path, struct tpd_local **out, char *err,
			      size_t errlen);
/* Closes the socket and every client (the path stays; the caller unlinks
 * it). NULL is a no-op. */
void tpd_local_close(struct tpd_local *l);
/* Accepts waiting clients, reads and writes what each socket takes now,
 * answers complete requests (handler), drops clients past their deadline.
 * now_ms: a monotonic clock. Never waits. NULL l is a no-op. */
void tpd_local_serve(struct tpd_local *l, tpd_local_handler_fn handler, void *ctx, double now_ms);
/* True while a client is being served: the caller should call serve again
 * soon (within a few ms) rather than sleep a whole period. */
bool tpd_local_busy(const struct tpd_local *l);

/* Client side: sends cmd to path and calls on_line with each line of the
 * answer as it arrives (without its newline). TPD_ERR_IO with errno set
 * when the agent does not answer (ETIMEDOUT after timeout_ms of silence),
 * EMSGSIZE for a line over 1 MiB. */
typedef void (*tpd_local_line_fn)(void *ctx, const char *line);
enum tpd_err tpd_local_ask(const char *path, const char *cmd, int timeout_ms,
			   tpd_local_line_fn on_line, void *ctx);

#endif
