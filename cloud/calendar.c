/*
 * calendar.c - civil dates and ISO-8601 times (see calendar.h), on libc:
 * timegm(3) and gmtime_r(3) do the day counting, strptime(3) the parsing.
 *
 * A date is days since 1970-01-01 UTC; timegm normalises out-of-range
 * fields (day 0 of a month is the last day of the one before), which is
 * how the month lengths and the clamping in add_months are found. Nothing
 * depends on the process's TZ: timegm and gmtime_r are UTC by definition.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "calendar.h"

int64_t tpc_days_from_civil(int y, int m, int d)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d };
	time_t t = timegm(&tm);

	return t >= 0 ? (int64_t)t / 86400 : ((int64_t)t - 86399) / 86400;
}

void tpc_civil_from_days(int64_t days, int *y, int *m, int *d)
{
	time_t t = (time_t)(days * 86400);
	struct tm tm;

	gmtime_r(&t, &tm);
	*y = tm.tm_year + 1900;
	*m = tm.tm_mon + 1;
	*d = tm.tm_mday;
}

/* Days in month m (1..12) of year y: day 0 of the next month is its last. */
static int calendar_month_days(int y, int m)
{
	int yy, mm, dd;

	tpc_civil_from_days(tpc_days_from_civil(y, m + 1, 0), &yy, &mm, &dd);
	return dd;
}

/* Checks the fixed shape ('d' a digit, anything else itself) before strptime,
 * which would also take "2026-1-1" and leading blanks. */
static bool calendar_shape(const char *s, const char *shape)
{
	size_t n = strlen(shape);

	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return false;
	}
	return true;
}

/* strptime with fmt over all of s, then a real date (strptime takes
 * 2025-02-30: timegm would move it to March, which the round trip sees). */
static bool calendar_strptime(const char *s, const char *fmt, struct tm *tm)
{
	struct tm norm;
	time_t t;
	const char *end;

	memset(tm, 0, sizeof(*tm));
	end = strptime(s, fmt, tm);
	if (!end || *end)
		return false;
	norm = *tm;
	t = timegm(&norm);
	return t != (time_t)-1 && norm.tm_mday == tm->tm_mday && norm.tm_mon == tm->tm_mon &&
	       norm.tm_year == tm->tm_year;
}

bool tpc_date_parse(const char *s, int64_t *days)
{
	struct tm tm;

	if (!s || !calendar_shape(s, "dddd-dd-dd") || !calendar_strptime(s, "%Y-%m-%d", &tm) ||
	    tm.tm_year < 0)
		return false;
	*days = tpc_days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	return true;
}

bool tpc_iso_parse(const char *s, double *unix_s)
{
	struct tm tm;
	bool date_only;

	if (!s)
		return false;
	date_only = calendar_shape(s, "dddd-dd-dd");
	if (!date_only && !calendar_shape(s, "dddd-dd-ddTdd:dd:ddZ"))
		return false;
	if (!calendar_strptime(s, date_only ? "%Y-%m-%d" : "%Y-%m-%dT%H:%M:%SZ", &tm) ||
	    tm.tm_year < 0)
		return false;
	*unix_s = (double)timegm(&tm);
	return true;
}

void tpc_date_format(int64_t days, char *buf, size_t len)
{
	time_t t = (time_t)(days * 86400);
	struct tm tm;

	gmtime_r(&t, &tm);
	if (strftime(buf, len, "%Y-%m-%d", &tm) == 0 && len)
		buf[0] = '\0';
}

int64_t tpc_date_add_months(int64_t days, int months)
{
	int y, m, d, dim;

	tpc_civil_from_days(days, &y, &m, &d);
	/* the first of the target month, normalised by timegm */
	tpc_civil_from_days(tpc_days_from_civil(y, m + months, 1), &y, &m, &dim);
	dim = calendar_month_days(y, m);
	return tpc_days_from_civil(y, m, d > dim ? dim : d);
}

int tpc_weekday(int64_t days)
{
	time_t t = (time_t)(days * 86400);
	struct tm tm;

	gmtime_r(&t, &tm);
	return (tm.tm_wday + 6) % 7;   /* tm_wday: 0 = Sunday */
}

int tpc_days_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

int64_t tpc_add_working_days(int64_t t_s, int n, const int64_t *holidays, size_t nholidays)
{
	int64_t day = t_s >= 0 ? t_s / 86400 : (t_s - 86399) / 86400;
	int64_t tod = t_s - day * 86400;

	while (n > 0) {
		day++;
		if (tpc_weekday(day) >= 5)
			continue;
		if (nholidays && bsearch(&day, holidays, nholidays, sizeof(*holidays), tpc_days_cmp))
			continue;
		n--;
	}
	return day * 86400 + tod;
}
