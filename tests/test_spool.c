/* test_spool.c - the store-and-forward spool on real files: order, acks,
 * reopen, torn tails at every byte, the byte budget and its eviction order,
 * copy-forward of pinned fault reports. */
#include <fcntl.h>
#include <sys/stat.h>

#include "testutil.h"
#include "spool.h"

static char dir[64], sdir[128];

static int setup_each(void **state)
{
	(void)state;
	tu_mkdtemp(dir, sizeof(dir));
	snprintf(sdir, sizeof(sdir), "%s/spool", dir);
	return 0;
}

static int teardown_each(void **state)
{
	(void)state;
	tu_rm_rf(dir);
	return 0;
}

static struct tpd_spool *open_spool(size_t max, size_t seg)
{
	struct tpd_spool_cfg cfg = { .dir = sdir, .max_bytes = max, .segment_bytes = seg };
	struct tpd_spool *s;
	char err[256] = "";

	if (tpd_spool_open(&cfg, &s, err, sizeof(err)))
		fail_msg("open: %s", err);
	return s;
}

static void add(struct tpd_spool *s, uint64_t seq, enum tpd_topic_kind kind)
{
	char body[200];

	snprintf(body, sizeof(body), "{\"seq\":%llu,\"pad\":\"%0100d\"}", (unsigned long long)seq, 0);
	assert_int_equal(tpd_spool_append(s, seq, kind, body, strlen(body), (double)seq), TPD_OK);
}

/* The pending seqs, in order, as "1,2,5". */
static void pending(struct tpd_spool *s, char *buf, size_t len)
{
	struct tpd_spool_rec r;
	uint64_t after = 0;
	size_t used = 0;

	buf[0] = '\0';
	while (tpd_spool_next(s, after, &r) == TPD_OK) {
		char want[40];

		snprintf(want, sizeof(want), "{\"seq\":%llu,", (unsigned long long)r.seq);
		assert_memory_equal(r.payload, want, strlen(want));
		used += (size_t)snprintf(buf + used, len - used, "%s%llu", used ? "," : "",
					 (unsigned long long)r.seq);
		after = r.seq;
		free(r.payload);
	}
}

static void test_order_ack_reopen(void **state)
{
	struct tpd_spool *s = open_spool(0, 0);
	struct tpd_spool_stats st;
	char got[256];

	(void)state;
	for (uint64_t q = 1; q <= 5; q++)
		add(s, q, q == 3 ? TPD_TOPIC_FAULT : TPD_TOPIC_TELEMETRY);
	assert_int_equal(tpd_spool_append(s, 5, TPD_TOPIC_TELEMETRY, "x", 1, 6), TPD_ERR_INVAL);
	assert_int_equal(tpd_spool_ack(s, 2, 7), TPD_OK);
	assert_int_equal(tpd_spool_ack(s, 4, 7), TPD_OK);
	assert_int_equal(tpd_spool_ack(s, 99, 7), TPD_OK);   /* unknown: ignored */
	pending(s, got, sizeof(got));
	assert_string_equal(got, "1,3,5");
	tpd_spool_close(s);

	s = open_spool(0, 0);                          /* what a restart finds */
	pending(s, got, sizeof(got));
	assert_string_equal(got, "1,3,5");
	tpd_spool_stats(s, &st);
	assert_int_equal(st.recovered, 3);
	assert_int_equal(st.pending_faults, 1);
	assert_int_equal(st.torn_bytes, 0);
	for (uint64_t q = 1; q <= 5; q++)
		tpd_spool_ack(s, q, 8);
	add(s, 6, TPD_TOPIC_TELEMETRY);
	pending(s, got, sizeof(got));
	assert_string_equal(got, "6");
	tpd_spool_close(s);
}

/* Cuts the newest segment at every length: whatever was whole survives,
 * the torn rest is dropped, and the spool takes new reports after. */
static void test_torn_tail_at_every_byte(void **state)
{
	struct tpd_spool *s = open_spool(0, 0);
	char path[256], got[256];
	struct stat st;
	off_t full, rec;

	(void)state;
	add(s, 1, TPD_TOPIC_FAULT);
	add(s, 2, TPD_TOPIC_TELEMETRY);
	tpd_spool_close(s);
	snprintf(path, sizeof(path), "%s/0000000001.seg", sdir);
	assert_int_equal(stat(path, &st), 0);
	full = st.st_size;
	rec = full / 2;              /* two records of equal size */
	for (off_t cut = full - 1; cut >= 0; cut--) {
		char copy[256];
		int fd;

		/* restore the full file, then tear it */
		tu_rm_rf(sdir);
		s = open_spool(0, 0);
		add(s, 1, TPD_TOPIC_FAULT);
		add(s, 2, TPD_TOPIC_TELEMETRY);
		tpd_spool_close(s);
		fd = open(path, O_WRONLY);
		assert_true(fd >= 0 && ftruncate(fd, cut) == 0);
		close(fd);
		s = open_spool(0, 0);
		pending(s, got, sizeof(got));
		snprintf(copy, sizeof(copy), "%s", cut >= rec ? "1" : "");
		if (strcmp(got, copy) != 0)
			fail_msg("cut at %lld: pending \"%s\", want \"%s\"", (long long)cut, got, copy);
		add(s, 3, TPD_TOPIC_TELEMETRY);
		tpd_spool_close(s);
		s = open_spool(0, 0);
		pending(s, got, sizeof(got));
		assert_string_equal(got, cut >= rec ? "1,3" : "3");
		tpd_spool_close(s);
	}
}

static void test_corrupt_byte_is_cut(void **state)
{
	struct tpd_spool *s = open_spool(0, 0);
	struct tpd_spool_stats st;
	char path[256], got[256];
	int fd;

	(void)state;
	add(s, 1, TPD_TOPIC_FAULT);
	add(s, 2, TPD_TOPIC_TELEMETRY);
	add(s, 3, TPD_TOPIC_TELEMETRY);
	tpd_spool_close(s);
	snprintf(path, sizeof(path), "%s/0000000001.seg", sdir);
	fd = open(path, O_WRONLY);
	/* flip a payload byte of the second record */
	assert_int_equal(pwrite(fd, "X", 1, 24 + 130 + 24 + 10), 1);
	close(fd);
	s = open_spool(0, 0);
	pending(s, got, sizeof(got));
	assert_string_equal(got, "1");
	tpd_spool_stats(s, &st);
	assert_true(st.torn_bytes > 0);
	tpd_spool_close(s);
}

static void test_budget_evicts_telemetry_before_faults(void **state)
{
	/* 8 KiB budget, 1 KiB segments; reports are ~150 bytes on disk */
	struct tpd_spool *s = open_spool(8192, 1024);
	struct tpd_spool_stats st;
	struct tpd_spool_rec r;
	uint64_t after = 0;
	int faults = 0, telem = 0;

	(void)state;
	for (uint64_t q = 1; q <= 400; q++)
		add(s, q, q % 40 == 0 ? TPD_TOPIC_FAULT : TPD_TOPIC_TELEMETRY);
	tpd_spool_stats(s, &st);
	assert_true(st.bytes <= 8192);
	assert_int_equal(st.evicted_faults, 0);
	assert_true(st.evicted_telemetry > 300);
	while (tpd_spool_next(s, after, &r) == TPD_OK) {
		if (r.kind == TPD_TOPIC_FAULT)
			faults++;
		else
			telem++;
		after = r.seq;
		free(r.payload);
	}
	assert_int_equal(faults, 10);                  /* every fault survives */
	assert_true(telem > 0);                         /* and the newest telemetry */
	assert_int_equal(after, 400);
	tpd_spool_close(s);
	s = open_spool(8192, 1024);                     /* and it all survives a restart */
	tpd_spool_stats(s, &st);
	assert_int_equal(st.pending_faults, 10);
	assert_int_equal(st.pending, (size_t)(faults + telem));
	tpd_spool_close(s);
}

static void test_only_faults_left_evicts_oldest_fault(void **state)
{
	struct tpd_spool *s = open_spool(4096, 1024);
	struct tpd_spool_stats st;
	struct tpd_spool_rec r;

	(void)state;
	for (uint64_t q = 1; q <= 100; q++)
		add(s, q, TPD_TOPIC_FAULT);
	tpd_spool_stats(s, &st);
	assert_true(st.bytes <= 4096);
	assert_true(st.evicted_faults > 0);
	assert_int_equal(tpd_spool_next(s, 0, &r), TPD_OK);
	assert_true(r.seq > 1);                         /* the oldest went first */
	free(r.payload);
	tpd_spool_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order_ack_reopen, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_torn_tail_at_every_byte, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_corrupt_byte_is_cut, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_budget_evicts_telemetry_before_faults, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_only_faults_left_evicts_oldest_fault, setup_each, teardown_each),
	};
	return cmocka_run_group_tests_name("spool", tests, NULL, NULL);
}
