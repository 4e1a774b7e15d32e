/*
 * tpd/units.h - sizes and durations with units, for options and config keys.
 *
 * A value is decimal digits with an optional fraction (at most 6 digits
 * after the point) and an optional unit, nothing else: no sign, no
 * spaces, no hex or exponent. A plain number keeps the option's own unit.
 *   sizes:     B, K, M, G, T (powers of 1024; KB, KiB ... are the same),
 *              case-insensitive: 64K, 1M, 1.5G, 4096
 *   durations: ms, s, m, h, d, w (lower case): 90s, 15m, 12h, 30d, 0.5s
 * Results are whole bytes or milliseconds (a fraction rounds down).
 */
#ifndef TPD_UNITS_H
#define TPD_UNITS_H

#include <stdbool.h>
#include <stdint.h>

enum tpd_units_rc {
	TPD_UNITS_OK = 0,
	TPD_UNITS_EMPTY = 1,     /* no value */
	TPD_UNITS_NEGATIVE = 2,  /* starts with '-' */
	TPD_UNITS_JUNK = 3,      /* not a number */
	TPD_UNITS_UNIT = 4,      /* a number, then an unknown unit */
	TPD_UNITS_OVERFLOW = 5,  /* does not fit 64 bits */
	TPD_UNITS_RANGE = 6,     /* outside [lo, hi] */
};

#define TPD_UNITS_MS_PER_S 1000ULL
#define TPD_UNITS_MS_PER_DAY 86400000ULL

/* A size in bytes; plain_bytes is what a plain number counts (1 for bytes). */
enum tpd_units_rc tpd_units_size(const char *s, uint64_t plain_bytes, uint64_t lo, uint64_t hi,
				 uint64_t *bytes);

/* A duration in milliseconds; plain_ms is what a plain number counts
 * (TPD_UNITS_MS_PER_S for an option in seconds, TPD_UNITS_MS_PER_DAY for days). */
enum tpd_units_rc tpd_units_duration(const char *s, uint64_t plain_ms, uint64_t lo_ms,
				     uint64_t hi_ms, uint64_t *ms);

/* Why a value was refused: "not a number", "unknown unit", ... */
const char *tpd_units_strerror(enum tpd_units_rc rc);

/*
 * For an option or config key: true with the value in *out, or false after
 * one line on stderr, "PROG: bad usage: --OPT VALUE: why (hint)". s NULL
 * leaves *out (the default) and is true. Durations come out in seconds.
 */
bool tpd_units_opt_size(const char *prog, const char *opt, const char *s, uint64_t plain_bytes,
			uint64_t lo, uint64_t hi, const char *hint, uint64_t *out);
bool tpd_units_opt_duration(const char *prog, const char *opt, const char *s, uint64_t plain_ms,
			    uint64_t lo_ms, uint64_t hi_ms, const char *hint, double *seconds);

#endif
