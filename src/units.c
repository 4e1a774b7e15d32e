/* units.c - sizes (64K, 1M) and durations (90s, 12h, 30d) for options. */
#include "tpd/units.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define UNITS_MAX_FRAC 6

struct units_name {
	const char *name;
	uint64_t mult;
};

static const struct units_name units_size[] = {
	{ "b", 1 }, { "k", 1ULL << 10 }, { "kb", 1ULL << 10 }, { "kib", 1ULL << 10 },
	{ "m", 1ULL << 20 }, { "mb", 1ULL << 20 }, { "mib", 1ULL << 20 },
	{ "g", 1ULL << 30 }, { "gb", 1ULL << 30 }, { "gib", 1ULL << 30 },
	{ "t", 1ULL << 40 }, { "tb", 1ULL << 40 }, { "tib", 1ULL << 40 },
	{ NULL, 0 },
};

static const struct units_name units_duration[] = {
	{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
	{ "d", 86400000 }, { "w", 604800000 },
	{ NULL, 0 },
};

/*
 * The common part: DIGITS[.DIGITS][UNIT], UNIT from names (compared with
 * cmp: strcasecmp for sizes, strcmp for durations, where m is minutes).
 */
static enum tpd_units_rc units_parse(const char *s, const struct units_name *names,
				     int (*cmp)(const char *, const char *), uint64_t plain,
				     uint64_t lo, uint64_t hi, uint64_t *out)
{
	uint64_t ip = 0, frac = 0, scale = 1, mult = plain, v;
	const char *p = s;
	int nint = 0, nfrac = 0, i;

	if (!s || !*s)
		return TPD_UNITS_EMPTY;
	if (*p == '-')
		return TPD_UNITS_NEGATIVE;
	for (; *p >= '0' && *p <= '9'; p++, nint++) {
		unsigned d = (unsigned)(*p - '0');

		if (ip > (UINT64_MAX - d) / 10)
			return TPD_UNITS_OVERFLOW;
		ip = ip * 10 + d;
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, nfrac++) {
			if (nfrac >= UNITS_MAX_FRAC)
				return TPD_UNITS_JUNK;
			frac = frac * 10 + (uint64_t)(*p - '0');
			scale *= 10;
		}
		if (nfrac == 0)
			return TPD_UNITS_JUNK;
	}
	if (nint == 0)
		return TPD_UNITS_JUNK;
	if (*p) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
			return TPD_UNITS_JUNK;
		for (i = 0; names[i].name; i++) {
			if (cmp(p, names[i].name) == 0)
				break;
		}
		if (!names[i].name)
			return TPD_UNITS_UNIT;
		mult = names[i].mult;
	}
	/* frac < 10^6 and mult <= 2^40 * plain: frac * mult fits unless plain is huge */
	if (mult && ip > UINT64_MAX / mult)
		return TPD_UNITS_OVERFLOW;
	v = ip * mult;
	if (frac) {
		if (mult > UINT64_MAX / frac)
			return TPD_UNITS_OVERFLOW;
		if (v > UINT64_MAX - frac * mult / scale)
			return TPD_UNITS_OVERFLOW;
		v += frac * mult / scale;
	}
	if (v < lo || v > hi)
		return TPD_UNITS_RANGE;
	*out = v;
	return TPD_UNITS_OK;
}

enum tpd_units_rc tpd_units_size(const char *s, uint64_t plain_bytes, uint64_t lo, uint64_t hi,
				 uint64_t *bytes)
{
	return units_parse(s, units_size, strcasecmp, plain_bytes, lo, hi, bytes);
}

enum tpd_units_rc tpd_units_duration(const char *s, uint64_t plain_ms, uint64_t lo_ms,
				     uint64_t hi_ms, uint64_t *ms)
{
	return units_parse(s, units_duration, strcmp, plain_ms, lo_ms, hi_ms, ms);
}

const char *tpd_units_strerror(enum tpd_units_rc rc)
{
	switch (rc) {
	case TPD_UNITS_OK: return "ok";
	case TPD_UNITS_EMPTY: return "no value";
	case TPD_UNITS_NEGATIVE: return "negative";
	case TPD_UNITS_JUNK: return "not a number";
	case TPD_UNITS_UNIT: return "unknown unit";
	case TPD_UNITS_OVERFLOW: return "too large";
	case TPD_UNITS_RANGE: return "out of range";
	}
	return "invalid";
}

static bool units_usage(const char *prog, const char *opt, const char *s, enum tpd_units_rc rc,
			const char *hint)
{
	fprintf(stderr, "%s: bad usage: --%s %s: %s (%s)\n", prog, opt, s, tpd_units_strerror(rc),
		hint);
	return false;
}

bool tpd_units_opt_size(const char *prog, const char *opt, const char *s, uint64_t plain_bytes,
			uint64_t lo, uint64_t hi, const char *hint, uint64_t *out)
{
	enum tpd_units_rc rc;
	uint64_t v;

	if (!s)
		return true;
	rc = tpd_units_size(s, plain_bytes, lo, hi, &v);
	if (rc)
		return units_usage(prog, opt, s, rc, hint);
	*out = v;
	return true;
}

bool tpd_units_opt_duration(const char *prog, const char *opt, const char *s, uint64_t plain_ms,
			    uint64_t lo_ms, uint64_t hi_ms, const char *hint, double *seconds)
{
	enum tpd_units_rc rc;
	uint64_t v;

	if (!s)
		return true;
	rc = tpd_units_duration(s, plain_ms, lo_ms, hi_ms, &v);
	if (rc)
		return units_usage(prog, opt, s, rc, hint);
	*seconds = (double)v / 1000.0;
	return true;
}
