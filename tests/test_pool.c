/*
 * test_pool.c - fixed-size objects on slabs of their own: zeroed, aligned,
 * reused, and the memory of released ones given back (an emptied pool keeps
 * one spare slab mapped and nothing resident in it).
 */
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "testutil.h"
#include "pool.h"

#define OBJ 5056
#define N 2000

/* Resident KiB of the process (VmRSS). */
static long pool_rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static void test_objects_are_zeroed_aligned_and_reused(void **state)
{
	struct tpc_pool *p = tpc_pool_new(OBJ);
	static unsigned char *obj[N];

	(void)state;
	assert_non_null(p);
	for (int i = 0; i < N; i++) {
		obj[i] = tpc_pool_alloc(p);
		assert_non_null(obj[i]);
		assert_int_equal((uintptr_t)obj[i] % alignof(max_align_t), 0);
		for (int j = 0; j < OBJ; j += 97)
			assert_int_equal(obj[i][j], 0);
		memset(obj[i], 0xA5, OBJ);
	}
	/* every other one released and taken again: the same slots, zeroed */
	for (int i = 0; i < N; i += 2)
		tpc_pool_release(p, obj[i]);
	for (int i = 0; i < N; i += 2) {
		obj[i] = tpc_pool_alloc(p);
		for (int j = 0; j < OBJ; j += 97)
			assert_int_equal(obj[i][j], 0);
	}
	assert_true(tpc_pool_mapped(p) <= (size_t)(N * (OBJ + 64) / (512 * 1024) + 2) * 512 * 1024);
	for (int i = 1; i < N; i += 2)
		assert_int_equal(obj[i][OBJ - 1], 0xA5);   /* untouched by the churn */
	for (int i = 0; i < N; i++)
		tpc_pool_release(p, obj[i]);
	/* empty: one spare slab mapped */
	assert_int_equal(tpc_pool_mapped(p), 512 * 1024);
	tpc_pool_free(p);
}

/* 20,000 objects of 5 KB (the fleet's forecasts of 20k devices): released,
 * the process's resident size comes back down, though small allocations
 * live between them (what malloc could not give back). */
static void test_released_memory_goes_back(void **state)
{
	enum { M = 20000 };
	struct tpc_pool *p = tpc_pool_new(OBJ);
	static void *obj[M], *small[M];
	long base, full, after;

	(void)state;
	base = pool_rss_kb();
	for (int i = 0; i < M; i++) {
		small[i] = malloc(400);
		obj[i] = tpc_pool_alloc(p);
		assert_non_null(small[i]);
		assert_non_null(obj[i]);
		memset(obj[i], 1, OBJ);
		memset(small[i], 1, 400);
	}
	full = pool_rss_kb();
	for (int i = 0; i < M; i++)
		tpc_pool_release(p, obj[i]);
	after = pool_rss_kb();
	print_message("  RSS %ld KiB, %ld with 20k objects, %ld after their release\n", base, full,
		      after);
	assert_true(full - base >= M * OBJ / 1024 * 9 / 10);
	/* the small ones stay (400 B each, 8 MB; more under ASan's redzones):
	 * at most a quarter of what was resident is left */
	assert_true(after - base <= (full - base) / 4);
	for (int i = 0; i < M; i++)
		free(small[i]);
	tpc_pool_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_objects_are_zeroed_aligned_and_reused),
		cmocka_unit_test(test_released_memory_goes_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
