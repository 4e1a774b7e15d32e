/*
 * tokens.c - bearer tokens file, hashing and constant-time checks (see tokens.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tpd/jws.h"
#include "tokens.h"

#define TOKENS_MAX 4096
#define TOKENS_LINE_MAX 512

struct tokens_entry {
	char name[TPC_TOKEN_NAME_MAX + 1];
	unsigned char hash[32];
	enum tpc_role role;
};

/* lock guards e and n against a swap (SIGHUP) while HTTP threads check;
 * entries swapped out stay on the retired chain until free, because the
 * name a check returned may still be in use by a request. */
struct tpc_tokens {
	pthread_mutex_t lock;
	struct tokens_entry *e;
	size_t n;
	struct tpc_tokens *retired;
};

bool tpc_token_name_valid(const char *name)
{
	size_t n = strlen(name);

	return n >= 1 && n <= TPC_TOKEN_NAME_MAX &&
	       strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.@-") == n;
}

const char *tpc_role_name(enum tpc_role role)
{
	return role == TPC_ROLE_VIEWER ? "viewer" : "support";
}

bool tpc_role_parse(const char *s, enum tpc_role *out)
{
	if (strcmp(s, "support") == 0)
		*out = TPC_ROLE_SUPPORT;
	else if (strcmp(s, "viewer") == 0)
		*out = TPC_ROLE_VIEWER;
	else
		return false;
	return true;
}

static void tokens_hash(const char *token, unsigned char out[32])
{
	tpd_sha256_two(token, strlen(token), NULL, 0, out);
}

static int tokens_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Parses "NAME sha256:HEX [ROLE]" into e; returns a reason or NULL. */
static const char *tokens_line(char *line, struct tokens_entry *e)
{
	char *sp = strchr(line, ' '), *hex, *role;
	size_t n;

	if (!sp)
		return "expected \"NAME sha256:HEX [ROLE]\"";
	*sp = '\0';
	hex = sp + 1;
	while (*hex == ' ')
		hex++;
	e->role = TPC_ROLE_SUPPORT;
	role = strchr(hex, ' ');
	if (role) {
		*role++ = '\0';
		while (*role == ' ')
			role++;
		if (!tpc_role_parse(role, &e->role))
			return "the role after the hash must be support or viewer";
	}
	if (!tpc_token_name_valid(line) || strlen(line) >= sizeof(e->name))
		return "NAME must be 1-64 of [A-Za-z0-9_.@-]";
	if (strncmp(hex, "sha256:", 7) != 0 || strlen(hex + 7) != 64)
		return "the hash must be sha256: and 64 lowercase hex digits (a plain token does not "
		       "belong in this file; see tpclaim token new)";
	hex += 7;
	for (int i = 0; i < 32; i++) {
		int hi = tokens_hexval(hex[2 * i]), lo = tokens_hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return "the hash must be 64 lowercase hex digits";
		e->hash[i] = (unsigned char)(hi << 4 | lo);
	}
	n = strlen(line);     /* <= TPC_TOKEN_NAME_MAX: checked above */
	memcpy(e->name, line, n);
	e->name[n] = '\0';
	return NULL;
}

enum tpd_err tpc_tokens_load(const char *path, struct tpc_tokens **out, char *err, size_t errlen)
{
	struct tpc_tokens *t;
	char line[TOKENS_LINE_MAX];
	unsigned long lineno = 0;
	enum tpd_err rc = TPD_OK;
	FILE *fp;

	*out = NULL;
	fp = fopen(path, "r");
	if (!fp) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return TPD_ERR_IO;
	}
	t = calloc(1, sizeof(*t));
	if (t) {
		pthread_mutex_init(&t->lock, NULL);
		t->e = calloc(TOKENS_MAX, sizeof(*t->e));
	}
	if (!t || !t->e) {
		fclose(fp);
		tpc_tokens_free(t);
		return TPD_ERR_NOMEM;
	}
	while (!rc && fgets(line, sizeof(line), fp)) {
		size_t len = strlen(line);
		const char *why;

		lineno++;
		if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
			snprintf(err, errlen, "%s:%lu: line too long", path, lineno);
			rc = TPD_ERR_INVAL;
			break;
		}
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' '))
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		if (t->n == TOKENS_MAX) {
			snprintf(err, errlen, "%s:%lu: more than %d tokens", path, lineno, TOKENS_MAX);
			rc = TPD_ERR_INVAL;
			break;
		}
		why = tokens_line(line, &t->e[t->n]);
		if (why) {
			snprintf(err, errlen, "%s:%lu: %s", path, lineno, why);
			rc = TPD_ERR_INVAL;
			break;
		}
		t->n++;
	}
	fclose(fp);
	if (!rc && t->n == 0) {
		snprintf(err, errlen, "%s: no tokens (every request would be refused)", path);
		rc = TPD_ERR_INVAL;
	}
	if (rc) {
		tpc_tokens_free(t);
		return rc;
	}
	*out = t;
	return TPD_OK;
}

void tpc_tokens_free(struct tpc_tokens *t)
{
	while (t) {
		struct tpc_tokens *next = t->retired;

		pthread_mutex_destroy(&t->lock);
		free(t->e);
		free(t);
		t = next;
	}
}

void tpc_tokens_swap(struct tpc_tokens *live, struct tpc_tokens *fresh)
{
	struct tokens_entry *e;
	size_t n;

	pthread_mutex_lock(&live->lock);
	e = live->e;
	n = live->n;
	live->e = fresh->e;
	live->n = fresh->n;
	fresh->e = e;
	fresh->n = n;
	fresh->retired = live->retired;
	live->retired = fresh;
	pthread_mutex_unlock(&live->lock);
}

size_t tpc_tokens_count(const struct tpc_tokens *t)
{
	return t ? t->n : 0;
}

const char *tpc_tokens_check(const struct tpc_tokens *t, const char *token)
{
	enum tpc_role role;

	return tpc_tokens_lookup(t, token, &role);
}

const char *tpc_tokens_lookup(const struct tpc_tokens *t, const char *token,
			      enum tpc_role *role)
{
	unsigned char h[32];
	const char *who = NULL;

	if (!t || !token || !*token || strlen(token) > 256)
		return NULL;
	tokens_hash(token, h);
	pthread_mutex_lock((pthread_mutex_t *)&t->lock);
	for (size_t i = 0; i < t->n; i++) {
		unsigned char diff = 0;

		for (int j = 0; j < 32; j++)
			diff |= (unsigned char)(h[j] ^ t->e[i].hash[j]);
		if (diff == 0 && !who) {
			who = t->e[i].name;
			*role = t->e[i].role;
		}
	}
	pthread_mutex_unlock((pthread_mutex_t *)&t->lock);
	return who;
}

enum tpd_err tpc_token_new(struct tpd_rng *rng, const char *name, enum tpc_role role, char *tok,
			   size_t toklen, char *line, size_t linelen)
{
	unsigned char raw[32], h[32];
	char enc[48];
	size_t used;
	enum tpd_err rc;

	if (!tpc_token_name_valid(name) || toklen < sizeof(enc))
		return TPD_ERR_INVAL;
	rc = tpd_rng_bytes(rng, raw, sizeof(raw));
	if (rc)
		return rc;
	tpd_b64url_encode(raw, sizeof(raw), enc);
	snprintf(tok, toklen, "%s", enc);
	tokens_hash(tok, h);
	used = (size_t)snprintf(line, linelen, "%s sha256:", name);
	for (int i = 0; i < 32 && used + 2 < linelen; i++, used += 2)
		snprintf(line + used, linelen - used, "%02x", h[i]);
	if (role != TPC_ROLE_SUPPORT && used < linelen)
		snprintf(line + used, linelen - used, " %s", tpc_role_name(role));
	return TPD_OK;
}
