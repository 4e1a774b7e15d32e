/*
 * calendar.c - civil date arithmetic (see calendar.h).
 *
 * days_from_civil / civil_from_days are Howard Hinnant's public-domain
 * algorithms ("chrono-Compatible Low-Level Date Algorithms"): exact over the
 * whole proleptic Gregorian calendar, no tables, no time zone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"

int64_t tpc_days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void tpc_civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static int calendar_month_days(int y, int m)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

bool tpc_date_parse(const char *s, int64_t *days)
{
	int y, m, d;

	if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++) {
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	}
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1900 || m < 1 || m > 12 || d < 1 || d > calendar_month_days(y, m))
		return false;
	*days = tpc_days_from_civil(y, m, d);
	return true;
}

void tpc_date_format(int64_t days, char *buf, size_t len)
{
	int y, m, d;

	tpc_civil_from_days(days, &y, &m, &d);
	snprintf(buf, len, "%04d-%02d-%02d", y, m, d);
}

int64_t tpc_date_add_months(int64_t days, int months)
{
	int y, m, d, mi, dim;

	tpc_civil_from_days(days, &y, &m, &d);
	mi = y * 12 + (m - 1) + months;
	y = mi / 12;
	m = mi % 12 + 1;
	dim = calendar_month_days(y, m);
	return tpc_days_from_civil(y, m, d > dim ? dim : d);
}

int tpc_weekday(int64_t days)
{
	/* 1970-01-01 was a Thursday (3 with Monday = 0). */
	int64_t w = (days + 3) % 7;

	return (int)(w < 0 ? w + 7 : w);
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
