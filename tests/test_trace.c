/* test_trace.c - SPEC §5 trace reader, good files and every kind of bad row. */
#include "testutil.h"
#include "tpd/trace.h"

static struct tpd_trace *trace_from(const char *text, enum tpd_err *rc, char *err, size_t errlen)
{
	FILE *fp = fmemopen((void *)text, strlen(text), "r");
	struct tpd_trace *tr = NULL;

	assert_non_null(fp);
	*rc = tpd_trace_open_stream(fp, "t.csv", &tr, err, errlen);
	return tr;
}

static void test_good_trace(void **state)
{
	const char *text = "\xEF\xBB\xBF# a comment\n# model: archer-ax55\n\n"
			   "t_s,temp.cpu,volt.vin,event.undervoltage\r\n"
			   "0,52.1,12.01,0\r\n"
			   "# mid comment\n"
			   "1.5, 52.3 ,,1\n"
			   "1.5,-3e1,11.9,0";
	double t, v[8];
	char err[256];
	enum tpd_err rc;
	struct tpd_trace *tr = trace_from(text, &rc, err, sizeof(err));

	(void)state;
	assert_int_equal(rc, TPD_OK);
	assert_int_equal(tpd_trace_columns(tr), 3);
	assert_string_equal(tpd_trace_column(tr, 0), "temp.cpu");
	assert_null(tpd_trace_column(tr, 3));
	assert_int_equal(tpd_trace_find(tr, "event.undervoltage"), 2);
	assert_int_equal(tpd_trace_find(tr, "fan.main"), -1);
	assert_string_equal(tpd_trace_model(tr), "archer-ax55");
	assert_int_equal(tpd_trace_next(tr, &t, v, 8, err, sizeof(err)), TPD_OK);
	assert_true(t == 0.0 && v[0] == 52.1 && v[1] == 12.01 && v[2] == 0.0);
	assert_int_equal(tpd_trace_next(tr, &t, v, 8, err, sizeof(err)), TPD_OK);
	assert_true(t == 1.5 && v[0] == 52.3);
	assert_true(isnan(v[1]));            /* empty cell = failed read */
	assert_true(v[2] == 1.0);
	assert_int_equal(tpd_trace_next(tr, &t, v, 8, err, sizeof(err)), TPD_OK); /* same t is ok */
	assert_true(v[0] == -30.0);
	assert_int_equal(tpd_trace_next(tr, &t, v, 8, err, sizeof(err)), TPD_ERR_EOF);
	tpd_trace_free(tr);
}

/* Each bad input and the words its one-line error must contain. */
static void expect_bad(const char *text, int rows_ok, const char *needle)
{
	double t, v[TPD_TRACE_MAX_COLS];
	char err[256] = "";
	enum tpd_err rc;
	struct tpd_trace *tr = trace_from(text, &rc, err, sizeof(err));

	if (rows_ok < 0) {
		assert_int_equal(rc, TPD_ERR_INVAL);
		assert_null(tr);
	} else {
		assert_int_equal(rc, TPD_OK);
		for (int i = 0; i < rows_ok; i++)
			assert_int_equal(tpd_trace_next(tr, &t, v, TPD_TRACE_MAX_COLS, err, sizeof(err)),
					 TPD_OK);
		assert_int_equal(tpd_trace_next(tr, &t, v, TPD_TRACE_MAX_COLS, err, sizeof(err)),
				 TPD_ERR_INVAL);
		/* sticky: the reader stays at the error */
		char err2[256];
		assert_int_equal(tpd_trace_next(tr, &t, v, TPD_TRACE_MAX_COLS, err2, sizeof(err2)),
				 TPD_ERR_INVAL);
		tpd_trace_free(tr);
	}
	if (!strstr(err, needle))
		fail_msg("error \"%s\" lacks \"%s\"", err, needle);
	assert_non_null(strstr(err, "t.csv:"));
	assert_null(strchr(err, '\n'));
}

static void test_bad_headers(void **state)
{
	(void)state;
	expect_bad("", -1, "no header");
	expect_bad("# only comments\n", -1, "no header");
	expect_bad("time,temp.cpu\n", -1, "must start with t_s");
	expect_bad("t_s\n0\n", -1, "no sensor column");
	expect_bad("t_s,temp.cpu,humidity.x\n", -1, "column 3");
	expect_bad("t_s,temp.cpu,temp.cpu\n", -1, "duplicate");
}

static void test_bad_rows(void **state)
{
	char *longline;

	(void)state;
	expect_bad("t_s,temp.cpu\n0,1\n1,2,3\n", 1, "3 cells, header has 2");
	expect_bad("t_s,temp.cpu\n0\n", 0, "1 cells");
	expect_bad("t_s,temp.cpu\n0,abc\n", 0, "temp.cpu");
	expect_bad("t_s,temp.cpu\n0,12x\n", 0, "not a number");
	expect_bad("t_s,temp.cpu\n0,nan\n", 0, "not a number");
	expect_bad("t_s,temp.cpu\n0,inf\n", 0, "not a number");
	expect_bad("t_s,temp.cpu\n0,1e999\n", 0, "not a number");
	expect_bad("t_s,temp.cpu\n5,1\n4,1\n", 1, "back in time");
	expect_bad("t_s,temp.cpu\n-1,1\n", 0, "non-negative");
	expect_bad("t_s,temp.cpu\n,1\n", 0, "non-negative");
	longline = malloc(TPD_TRACE_LINE_MAX + 64);
	assert_non_null(longline);
	strcpy(longline, "t_s,temp.cpu\n0,");
	memset(longline + strlen(longline), '1', TPD_TRACE_LINE_MAX + 10);
	longline[strlen("t_s,temp.cpu\n0,") + TPD_TRACE_LINE_MAX + 10] = '\0';
	expect_bad(longline, 0, "longer than");
	free(longline);
}

static void test_open_missing_file(void **state)
{
	struct tpd_trace *tr;
	char err[256];

	(void)state;
	assert_int_equal(tpd_trace_open("/nonexistent/x.csv", &tr, err, sizeof(err)), TPD_ERR_NOTFOUND);
	assert_null(tr);
	assert_non_null(strstr(err, "/nonexistent/x.csv"));
}

static void test_shipped_trace_reads_to_the_end(void **state)
{
	struct tpd_trace *tr;
	double t, v[TPD_TRACE_MAX_COLS], last = -1;
	char err[256];
	long rows = 0;
	enum tpd_err rc;

	(void)state;
	assert_int_equal(tpd_trace_open("boards/traces/TP24A0001.csv", &tr, err, sizeof(err)), TPD_OK);
	while ((rc = tpd_trace_next(tr, &t, v, TPD_TRACE_MAX_COLS, err, sizeof(err))) == TPD_OK) {
		assert_true(t >= last);
		last = t;
		rows++;
	}
	assert_int_equal(rc, TPD_ERR_EOF);
	assert_int_equal(rows, 48 * 360 + 1);
	tpd_trace_free(tr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_trace),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_bad_rows),
		cmocka_unit_test(test_open_missing_file),
		cmocka_unit_test(test_shipped_trace_reads_to_the_end),
	};
	return cmocka_run_group_tests_name("trace", tests, NULL, NULL);
}
