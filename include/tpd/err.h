/*
 * tpd/err.h - the one error enum shared by the agent, the collector and the tools.
 *
 * Numbers are fixed: they appear in logs and may be compared by scripts. Add new
 * codes at the end; never renumber.
 */
#ifndef TPD_ERR_H
#define TPD_ERR_H

enum tpd_err {
	TPD_OK = 0,
	TPD_ERR_NOMEM = 1,       /* allocation failed */
	TPD_ERR_INVAL = 2,       /* bad argument or malformed input */
	TPD_ERR_IO = 3,          /* file or socket I/O failed (see errno) */
	TPD_ERR_EOF = 4,         /* end of input (e.g. trace replay finished) */
	TPD_ERR_UNSUPPORTED = 5, /* optional operation not provided */
	TPD_ERR_NOTFOUND = 6,    /* named thing does not exist */
	TPD_ERR_TOOBIG = 7,      /* a bounded buffer or payload limit was hit */
	TPD_ERR_CRYPTO = 8,      /* key, signature or hash failure */
	TPD_ERR_VERIFY = 9,      /* signature did not verify */
	TPD_ERR_MQTT = 10,       /* MQTT client error */
	TPD_ERR_DB = 11,         /* storage backend error */
	TPD_ERR_DUPLICATE = 12,  /* already stored (e.g. repeated (dev, seq)) */
	TPD_ERR_STATE = 13,      /* operation not allowed in the current state */
	TPD_ERR_RETRY = 14,      /* lost to a concurrent transaction (a deadlock): undone, try again */
};

/* Returns a static, human-readable description; never NULL. */
const char *tpd_strerror(enum tpd_err err);

#endif
