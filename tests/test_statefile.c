/* test_statefile.c - atomic state files and the block-reserved seq counter. */
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "statefile.h"

static void test_atomic_write_read(void **state)
{
	char dir[64], buf[32];

	(void)state;
	tu_mkdtemp(dir, sizeof(dir));
	assert_int_equal(tpd_statefile_read(dir, "x", buf, sizeof(buf)), TPD_ERR_NOTFOUND);
	assert_int_equal(tpd_statefile_write(dir, "x", "hello", 5), TPD_OK);
	assert_int_equal(tpd_statefile_read(dir, "x", buf, sizeof(buf)), TPD_OK);
	assert_string_equal(buf, "hello");
	assert_int_equal(tpd_statefile_write(dir, "x", "bye", 3), TPD_OK);
	assert_int_equal(tpd_statefile_read(dir, "x", buf, sizeof(buf)), TPD_OK);
	assert_string_equal(buf, "bye");
	assert_int_equal(tpd_statefile_read(dir, "x", buf, 3), TPD_ERR_TOOBIG);
	assert_int_equal(tpd_statefile_write("/nonexistent/dir", "x", "a", 1), TPD_ERR_IO);
	tu_rm_rf(dir);
}

static void test_seq_blocks(void **state)
{
	struct tpd_seq s;
	char dir[64], buf[32];
	uint64_t v = 0, last = 0;

	(void)state;
	tu_mkdtemp(dir, sizeof(dir));
	assert_int_equal(tpd_seq_open(&s, dir), TPD_OK);
	for (int i = 0; i < TPD_SEQ_BLOCK + 10; i++) {
		assert_int_equal(tpd_seq_next(&s, &v), TPD_OK);
		assert_int_equal(v, (uint64_t)i + 1);
	}
	last = v;
	tpd_seq_close(&s);
	/* the file covers every seq handed out: a restart continues above them */
	assert_int_equal(tpd_statefile_read(dir, "seq", buf, sizeof(buf)), TPD_OK);
	assert_true(strtoull(buf, NULL, 10) > last);
	assert_int_equal(tpd_seq_open(&s, dir), TPD_OK);
	assert_int_equal(tpd_seq_next(&s, &v), TPD_OK);
	assert_true(v > last);
	tpd_seq_close(&s);
	tu_rm_rf(dir);
}

static void test_corrupt_seq_refused(void **state)
{
	static const char *const bad[] = { "abc", "", "0\n", "12x", "-5", "99999999999999999999999" };
	struct tpd_seq s;
	char dir[64];

	(void)state;
	tu_mkdtemp(dir, sizeof(dir));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(tpd_statefile_write(dir, "seq", bad[i], strlen(bad[i])), TPD_OK);
		assert_int_equal(tpd_seq_open(&s, dir), TPD_ERR_INVAL);
	}
	tu_rm_rf(dir);
}

static void test_memory_only(void **state)
{
	struct tpd_seq s;
	uint64_t v;

	(void)state;
	assert_int_equal(tpd_seq_open(&s, NULL), TPD_OK);
	for (uint64_t i = 1; i < 1000; i++) {
		assert_int_equal(tpd_seq_next(&s, &v), TPD_OK);
		assert_int_equal(v, i);
	}
	tpd_seq_close(&s);
}

/* Issue 14, the seq rule (statefile.h): a reservation the disk refuses
 * never stops the counter and never lets a restart reuse a seq. */
static void test_seq_when_the_disk_refuses(void **state)
{
	struct tpd_seq s;
	char dir[64], path[128], buf[32];
	uint64_t v = 0, first;

	(void)state;
	tu_mkdtemp(dir, sizeof(dir));
	assert_int_equal(tpd_seq_open(&s, dir), TPD_OK);
	assert_int_equal(tpd_seq_next(&s, &first), TPD_OK);
	/* the file is fixed width (in-place rewrite) and a block ahead */
	assert_int_equal(tpd_statefile_read(dir, "seq", buf, sizeof(buf)), TPD_OK);
	assert_int_equal(strlen(buf), 21);
	assert_true(strtoull(buf, NULL, 10) >= first + TPD_SEQ_BLOCK);
	/* now nothing can be written: "seq" becomes a directory */
	snprintf(path, sizeof(path), "%s/seq", dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	for (int i = 0; i < 3 * TPD_SEQ_BLOCK; i++) {
		uint64_t prev = v;

		assert_int_equal(tpd_seq_next(&s, &v), TPD_OK);   /* never refuses */
		assert_true(i == 0 || v == prev + 1);
	}
	assert_true(s.write_failures > 0);
	assert_true(s.beyond > 0);                 /* counted for the log */
	assert_true(s.write_failures < 3 * TPD_SEQ_BLOCK / 8);   /* retried every 16, not each */
	assert_false(tpd_seq_durable(&s));         /* so no clean marker */
	/* the disk recovers: durable writes a reservation above v */
	assert_int_equal(rmdir(path), 0);
	assert_true(tpd_seq_durable(&s));
	tpd_seq_close(&s);
	assert_int_equal(tpd_seq_open(&s, dir), TPD_OK);
	assert_int_equal(tpd_seq_next(&s, &first), TPD_OK);
	assert_true(first > v);
	/* an unclean start skips past whatever the last run counted in memory */
	tpd_seq_skip(&s, TPD_SEQ_UNCLEAN_SKIP);
	assert_int_equal(tpd_seq_next(&s, &v), TPD_OK);
	assert_true(v > first + TPD_SEQ_UNCLEAN_SKIP - 1);
	tpd_seq_close(&s);
	assert_int_equal(tpd_statefile_read(dir, "seq", buf, sizeof(buf)), TPD_OK);
	assert_true(strtoull(buf, NULL, 10) > v);
	tu_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_atomic_write_read),
		cmocka_unit_test(test_seq_blocks),
		cmocka_unit_test(test_corrupt_seq_refused),
		cmocka_unit_test(test_seq_when_the_disk_refuses),
		cmocka_unit_test(test_memory_only),
	};
	return cmocka_run_group_tests_name("statefile", tests, NULL, NULL);
}
