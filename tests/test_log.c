/* test_log.c - log lines: ISO time, level, component and program; a file
 * destination reopened after a rotation; the level filter. */
#include <regex.h>
#include <sys/stat.h>

#include "testutil.h"
#include "tpd/log.h"

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 65536);
	size_t n;

	assert_non_null(f);
	assert_non_null(buf);
	n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_log_file_and_reopen(void **state)
{
	char dir[64], path[128], moved[128], err[256];
	char *text;
	regex_t re;

	(void)state;
	tu_mkdtemp(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/t.log", dir);
	snprintf(moved, sizeof(moved), "%s/t.log.1", dir);
	assert_int_equal(tpd_log_open("tpcollect", path, err, sizeof(err)), TPD_OK);
	assert_string_equal(tpd_log_dest(), path);
	tpd_log(TPD_LOG_INFO, "api", "listening on %s:%d", "127.0.0.1", 8080);
	tpd_log(TPD_LOG_DEBUG, "api", "not shown at the default level");
	assert_int_equal(rename(path, moved), 0);
	tpd_log(TPD_LOG_WARN, "mqtt", "still into the moved file");
	assert_int_equal(tpd_log_reopen(err, sizeof(err)), TPD_OK);
	tpd_log_as("other", TPD_LOG_ERR, "store", "into the new file");
	tpd_log_close();

	text = read_all(moved);
	assert_int_equal(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
				 "info  api       tpcollect: listening on 127\\.0\\.0\\.1:8080\n"
				 "[0-9T:.Z-]{24} warn  mqtt      tpcollect: still into the moved file\n$",
				 REG_EXTENDED), 0);
	assert_int_equal(regexec(&re, text, 0, NULL, 0), 0);
	regfree(&re);
	free(text);
	text = read_all(path);
	assert_non_null(strstr(text, " error store     tpcollect: into the new file\n"));
	free(text);
	tu_rm_rf(dir);
}

static void test_log_bad_destination(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(tpd_log_open("tpcollect", "/nonexistent-dir/x.log", err, sizeof(err)),
			 TPD_ERR_INVAL);
	assert_non_null(strstr(err, "/nonexistent-dir/x.log: No such file or directory"));
	assert_string_equal(tpd_log_dest(), "stderr");
	{
		enum tpd_log_level l;

		assert_true(tpd_log_level_parse("warn", &l) && l == TPD_LOG_WARN);
		assert_false(tpd_log_level_parse("loud", &l));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_file_and_reopen),
		cmocka_unit_test(test_log_bad_destination),
	};
	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
