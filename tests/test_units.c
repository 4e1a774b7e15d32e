/* test_units.c - sizes and durations with units (issue 20). */
#include "testutil.h"
#include "tpd/units.h"

#define ANY 0, UINT64_MAX

static uint64_t size_of(const char *s)
{
	uint64_t v = 12345;

	assert_int_equal(tpd_units_size(s, 1, ANY, &v), TPD_UNITS_OK);
	return v;
}

static uint64_t ms_of(const char *s, uint64_t plain_ms)
{
	uint64_t v = 12345;

	assert_int_equal(tpd_units_duration(s, plain_ms, ANY, &v), TPD_UNITS_OK);
	return v;
}

static void test_sizes(void **state)
{
	(void)state;
	assert_int_equal(size_of("4096"), 4096);
	assert_int_equal(size_of("0"), 0);
	assert_int_equal(size_of("64K"), 65536);
	assert_int_equal(size_of("64k"), 65536);
	assert_int_equal(size_of("64KiB"), 65536);
	assert_int_equal(size_of("64kb"), 65536);
	assert_int_equal(size_of("1M"), 1048576);
	assert_int_equal(size_of("1.5M"), 1572864);
	assert_int_equal(size_of("2G"), 2147483648ULL);
	assert_int_equal(size_of("1T"), 1099511627776ULL);
	assert_int_equal(size_of("10B"), 10);
	assert_int_equal(size_of("18446744073709551615"), UINT64_MAX);
}

static void test_durations(void **state)
{
	(void)state;
	assert_int_equal(ms_of("90", 1000), 90000);          /* plain: the option's unit */
	assert_int_equal(ms_of("30", 86400000), 30ULL * 86400000);
	assert_int_equal(ms_of("90s", 86400000), 90000);
	assert_int_equal(ms_of("15m", 1000), 900000);
	assert_int_equal(ms_of("12h", 1000), 43200000);
	assert_int_equal(ms_of("30d", 1000), 30ULL * 86400000);
	assert_int_equal(ms_of("2w", 1000), 14ULL * 86400000);
	assert_int_equal(ms_of("250ms", 1000), 250);
	assert_int_equal(ms_of("0.2", 1000), 200);
	assert_int_equal(ms_of("1.5h", 1000), 5400000);
	assert_int_equal(ms_of("0.000001s", 1000), 0);       /* rounds down */
}

static void test_refused(void **state)
{
	uint64_t v = 777;

	(void)state;
	assert_int_equal(tpd_units_size("", 1, ANY, &v), TPD_UNITS_EMPTY);
	assert_int_equal(tpd_units_size(NULL, 1, ANY, &v), TPD_UNITS_EMPTY);
	assert_int_equal(tpd_units_size("-1", 1, ANY, &v), TPD_UNITS_NEGATIVE);
	assert_int_equal(tpd_units_duration("-5s", 1000, ANY, &v), TPD_UNITS_NEGATIVE);
	assert_int_equal(tpd_units_size("+1", 1, ANY, &v), TPD_UNITS_JUNK);
	assert_int_equal(tpd_units_size(" 1", 1, ANY, &v), TPD_UNITS_JUNK);
	assert_int_equal(tpd_units_size("1 K", 1, ANY, &v), TPD_UNITS_JUNK);
	assert_int_equal(tpd_units_size("0x10", 1, ANY, &v), TPD_UNITS_UNIT);
	assert_int_equal(tpd_units_size("1e3", 1, ANY, &v), TPD_UNITS_UNIT);
	assert_int_equal(tpd_units_size("K", 1, ANY, &v), TPD_UNITS_JUNK);
	assert_int_equal(tpd_units_size(".5K", 1, ANY, &v), TPD_UNITS_JUNK);
	assert_int_equal(tpd_units_size("5.K", 1, ANY, &v), TPD_UNITS_JUNK);
	assert_int_equal(tpd_units_size("1.0000001M", 1, ANY, &v), TPD_UNITS_JUNK);
	assert_int_equal(tpd_units_size("nan", 1, ANY, &v), TPD_UNITS_JUNK);
	assert_int_equal(tpd_units_size("inf", 1, ANY, &v), TPD_UNITS_JUNK);
	assert_int_equal(tpd_units_size("5X", 1, ANY, &v), TPD_UNITS_UNIT);
	assert_int_equal(tpd_units_size("5KK", 1, ANY, &v), TPD_UNITS_UNIT);
	assert_int_equal(tpd_units_size("5K!", 1, ANY, &v), TPD_UNITS_UNIT);
	assert_int_equal(tpd_units_duration("5H", 1000, ANY, &v), TPD_UNITS_UNIT);  /* lower case */
	assert_int_equal(tpd_units_duration("5y", 1000, ANY, &v), TPD_UNITS_UNIT);
	assert_int_equal(tpd_units_size("18446744073709551616", 1, ANY, &v), TPD_UNITS_OVERFLOW);
	assert_int_equal(tpd_units_size("99999999999999999999999", 1, ANY, &v), TPD_UNITS_OVERFLOW);
	assert_int_equal(tpd_units_size("16777216T", 1, ANY, &v), TPD_UNITS_OVERFLOW);
	assert_int_equal(tpd_units_duration("30600000000w", 1000, ANY, &v), TPD_UNITS_OVERFLOW);
	assert_int_equal(tpd_units_duration("18446744073709551615", 1000, ANY, &v),
			 TPD_UNITS_OVERFLOW);
	assert_int_equal(tpd_units_size("63K", 1, 64 << 10, 1 << 30, &v), TPD_UNITS_RANGE);
	assert_int_equal(tpd_units_size("2G", 1, 64 << 10, 1 << 30, &v), TPD_UNITS_RANGE);
	assert_int_equal(v, 777);                                 /* never written on failure */
	assert_int_equal(tpd_units_size("1G", 1, 64 << 10, 1 << 30, &v), TPD_UNITS_OK);
	assert_int_equal(v, 1 << 30);
	assert_string_equal(tpd_units_strerror(TPD_UNITS_UNIT), "unknown unit");
	assert_string_equal(tpd_units_strerror(TPD_UNITS_OVERFLOW), "too large");
}

static void test_opt(void **state)
{
	double s = 60;
	uint64_t b = 4;

	(void)state;
	assert_true(tpd_units_opt_duration("t", "every", NULL, 1000, ANY, "x", &s));
	assert_true(s == 60);                                      /* NULL keeps the default */
	assert_true(tpd_units_opt_duration("t", "every", "1.5m", 1000, ANY, "x", &s));
	assert_true(s == 90);
	assert_false(tpd_units_opt_duration("t", "every", "1.5q", 1000, ANY, "x", &s));
	assert_true(s == 90);
	assert_true(tpd_units_opt_size("t", "max", "2M", 1, ANY, "x", &b));
	assert_int_equal(b, 2 << 20);
	assert_false(tpd_units_opt_size("t", "max", "-2M", 1, ANY, "x", &b));
	assert_int_equal(b, 2 << 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_opt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
