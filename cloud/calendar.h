/*
 * calendar.h - civil dates without time zones: parsing, month arithmetic,
 * weekdays and working days.
 *
 * Dates are counted as days since 1970-01-01 (UTC), computed with libc's
 * timegm/gmtime_r, so nothing here depends on the process's TZ. Warranty
 * periods and review deadlines are computed in UTC; see policy.h.
 */
#ifndef TPC_CALENDAR_H
#define TPC_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Days since 1970-01-01 for a valid y-m-d (no range check). */
int64_t tpc_days_from_civil(int y, int m, int d);
void tpc_civil_from_days(int64_t days, int *y, int *m, int *d);

/* Parses a real calendar date "YYYY-MM-DD" (years 1900..9999). */
bool tpc_date_parse(const char *s, int64_t *days);
/* Parses "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ" (UTC; those two shapes
 * only, a real date and time) into Unix seconds. */
bool tpc_iso_parse(const char *s, double *unix_s);
/* Writes "YYYY-MM-DD" (len >= 11). */
void tpc_date_format(int64_t days, char *buf, size_t len);

/* Adds whole months; a day past the end of the target month is clamped to
 * its last day (2024-02-29 + 12 months = 2025-02-28). */
int64_t tpc_date_add_months(int64_t days, int months);

/* qsort/bsearch comparator for days (int64_t). */
int tpc_days_cmp(const void *a, const void *b);

/* 0 = Monday .. 6 = Sunday. */
int tpc_weekday(int64_t days);

/*
 * The moment n working days after t_s (Unix seconds): each following
 * calendar day that is neither a Saturday, a Sunday nor in holidays
 * (sorted ascending, days since the epoch) counts one, and the time of day
 * is kept. Opened Wednesday 10:02 -> Friday 10:02; opened Friday -> Tuesday.
 */
int64_t tpc_add_working_days(int64_t t_s, int n, const int64_t *holidays, size_t nholidays);

#endif
