/* test_utf8.c - UTF-8 validation and the log/terminal escape (issue 14). */
#include "testutil.h"
#include "tpd/utf8.h"

static void test_valid(void **state)
{
	(void)state;
	assert_true(tpd_utf8_valid("plain", 5));
	assert_true(tpd_utf8_valid("d\xc3\xa9j\xc3\xa0 \xe9\xa3\x8e\xe6\x89\x87 \xf0\x9f\x98\x80", 18));
	assert_false(tpd_utf8_valid("\xc3", 1));              /* cut short */
	assert_false(tpd_utf8_valid("\xc0\xaf", 2));          /* overlong '/' */
	assert_false(tpd_utf8_valid("\xe0\x80\xaf", 3));      /* overlong, 3 bytes */
	assert_false(tpd_utf8_valid("\xed\xa0\x80", 3));      /* surrogate U+D800 */
	assert_false(tpd_utf8_valid("\xf4\x90\x80\x80", 4));  /* above U+10FFFF */
	assert_false(tpd_utf8_valid("\x80", 1));              /* lone continuation */
	assert_false(tpd_utf8_valid("\xff", 1));
}

static void test_clean(void **state)
{
	size_t at = 99;

	(void)state;
	assert_true(tpd_utf8_clean("fw 1.0.4", 8, 0, NULL));
	assert_false(tpd_utf8_clean("a\nb", 3, 0, &at));
	assert_int_equal(at, 1);
	assert_true(tpd_utf8_clean("a\nb\tc\r\n", 7, TPD_UTF8_ALLOW_NEWLINES, NULL));
	assert_false(tpd_utf8_clean("A\0EVIL", 6, TPD_UTF8_ALLOW_NEWLINES, &at));
	assert_int_equal(at, 1);
	assert_false(tpd_utf8_clean("\x1b[2J", 4, TPD_UTF8_ALLOW_NEWLINES, &at));
	assert_int_equal(at, 0);
	assert_false(tpd_utf8_clean("x\x7f", 2, 0, NULL));
	assert_false(tpd_utf8_clean("x\xc2\x9b", 3, 0, &at));   /* C1 CSI */
	assert_int_equal(at, 1);
	assert_false(tpd_utf8_clean("ok\xff", 3, 0, &at));
	assert_int_equal(at, 2);
}

static void test_esc(void **state)
{
	char out[64], tiny[6];

	(void)state;
	assert_string_equal(tpd_esc(out, sizeof(out), "TP24A0001"), "TP24A0001");
	assert_string_equal(tpd_esc(out, sizeof(out), "x\ntpcollect: opened claim C-999999"),
			    "x\\x0atpcollect: opened claim C-999999");
	assert_string_equal(tpd_esc(out, sizeof(out), "\x1b[2J"), "\\x1b[2J");
	assert_string_equal(tpd_esc(out, sizeof(out), "a\\b"), "a\\\\b");
	assert_string_equal(tpd_esc(out, sizeof(out), "\xe9\xa3\x8e ok \xff"), "\xe9\xa3\x8e ok \\xff");
	assert_string_equal(tpd_esc(out, sizeof(out), NULL), "");
	/* truncation never splits an escape or a character */
	assert_string_equal(tpd_esc(tiny, sizeof(tiny), "ab\x1b" "cdef"), "ab");
	assert_string_equal(tpd_esc(tiny, sizeof(tiny), "a\xe9\xa3\x8e\xe9\xa3\x8e"), "a\xe9\xa3\x8e");
}

static void test_esc_lines(void **state)
{
	char *e;

	(void)state;
	assert_false(tpd_esc_needed("called the customer\nfixed \xe9\xa3\x8e"));
	assert_true(tpd_esc_needed("fw \x1b[2J"));
	assert_true(tpd_esc_needed("over\rwrite"));
	assert_true(tpd_esc_needed("bad \xff"));
	e = tpd_esc_lines("line 1\n\x1b[2Jline 2\n");
	assert_string_equal(e, "line 1\n\\x1b[2Jline 2\n");
	free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_esc),
		cmocka_unit_test(test_esc_lines),
	};
	return cmocka_run_group_tests_name("utf8", tests, NULL, NULL);
}
