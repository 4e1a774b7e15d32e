/*
 * tokens.h - the API's bearer tokens, kept only as SHA-256 hashes.
 *
 * Tokens file (tpcollect --tokens FILE), one per line, '#' comments:
 *   NAME sha256:HEX [ROLE]
 * NAME (1-64 of [A-Za-z0-9_.@-]) is who the timeline says made a change.
 * ROLE is "support" (the default: reads and works claims) or "viewer"
 * (reads only; the API answers every change with 403).
 * `tpclaim token new NAME [--role viewer]` makes a token and prints its line. The file never
 * holds a usable token, so reading it (or a backup of it) lets nobody in.
 */
#ifndef TPC_TOKENS_H
#define TPC_TOKENS_H

#include <stdbool.h>
#include <stddef.h>

#include "tpd/err.h"

struct tpc_tokens;
struct tpd_rng;

#define TPC_TOKEN_NAME_MAX 64

enum tpc_role {
	TPC_ROLE_SUPPORT = 0,   /* reads and changes */
	TPC_ROLE_VIEWER = 1,    /* reads only */
};

/* "support" / "viewer". */
const char *tpc_role_name(enum tpc_role role);
/* Parses a role name; false for anything else. */
bool tpc_role_parse(const char *s, enum tpc_role *out);

/* Loads path; on failure writes "PATH:LINE: problem" into err. */
enum tpd_err tpc_tokens_load(const char *path, struct tpc_tokens **out, char *err, size_t errlen);
void tpc_tokens_free(struct tpc_tokens *t);
/* Makes live hold fresh's tokens (a reload on SIGHUP), thread-safe against
 * tpc_tokens_check. Takes fresh: it keeps the old entries alive until
 * live is freed, as a name returned by a check may still be in use. */
void tpc_tokens_swap(struct tpc_tokens *live, struct tpc_tokens *fresh);
size_t tpc_tokens_count(const struct tpc_tokens *t);

/* The name of the holder of token, or NULL (valid until t is freed).
 * Compares hashes in constant time over every entry. Thread-safe. */
const char *tpc_tokens_check(const struct tpc_tokens *t, const char *token);

/* As tpc_tokens_check, and *role gets the holder's role (untouched when
 * the token is unknown). */
const char *tpc_tokens_lookup(const struct tpc_tokens *t, const char *token,
			      enum tpc_role *role);

/* A fresh random token (43 characters, base64url of 32 bytes) into tok
 * (len >= 48), and its tokens-file line for name into line (with the role
 * written out when it is not the default, support). */
enum tpd_err tpc_token_new(struct tpd_rng *rng, const char *name, enum tpc_role role, char *tok,
			   size_t toklen, char *line, size_t linelen);

bool tpc_token_name_valid(const char *name);

#endif
