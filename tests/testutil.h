/*
 * testutil.h - helpers shared by the cmocka unit tests (header-only).
 */
#ifndef TPD_TESTUTIL_H
#define TPD_TESTUTIL_H

#include <ftw.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tpd/agent.h"
#include "tpd/jws.h"
#include "tpd/product.h"

/* A small router: one CPU sensor with warn/crit, a 12 V rail, a fan that must
 * spin above 45 C, load, and the under-voltage flag with brownout. */
static const char tu_product_json[] =
	"{\"model\":\"test-router\",\"fw\":\"9.9.9\",\"telemetry_period_s\":60,\"sensors\":["
	"{\"id\":\"temp.cpu\",\"warn\":85,\"crit\":100,\"hyst\":3,\"debounce_s\":10},"
	"{\"id\":\"volt.vin\",\"min\":11.4,\"max\":13.2,\"hyst\":0.1,\"debounce_s\":3},"
	"{\"id\":\"fan.main\",\"stall_rpm\":500,\"spin_when\":{\"sensor\":\"temp.cpu\",\"above\":45},"
	"\"hyst\":200,\"debounce_s\":15},"
	"{\"id\":\"load.cpu\"},"
	"{\"id\":\"event.undervoltage\",\"brownout\":{\"count\":3,\"window_s\":600}}]}";

enum { TU_CPU, TU_VIN, TU_FAN, TU_LOAD, TU_UV };

static inline void tu_product(struct tpd_product *p)
{
	char err[256] = "";
	enum tpd_err rc = tpd_product_parse(tu_product_json, strlen(tu_product_json), "test",
					    p, err, sizeof(err));
	if (rc)
		fail_msg("test product: %s", err);
}

static inline void tu_mkdtemp(char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/tpdiag-test.XXXXXX");
	assert_non_null(mkdtemp(buf));
}

static inline int tu_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static inline void tu_rm_rf(const char *dir)
{
	nftw(dir, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void tu_write(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

/* Records what an agent emits. */
#define TU_CAP_MAX 256
struct tu_capture {
	int n;
	enum tpd_topic_kind kind[TU_CAP_MAX];
	uint64_t seq[TU_CAP_MAX];
	char *payload[TU_CAP_MAX];
	int fail_next;   /* make the next emit fail */
};

static inline enum tpd_err tu_emit(void *ctx, enum tpd_topic_kind kind, uint64_t seq,
				   const char *payload, size_t len)
{
	struct tu_capture *c = ctx;

	if (c->fail_next) {
		c->fail_next = 0;
		return TPD_ERR_IO;
	}
	if (c->n >= TU_CAP_MAX)
		return TPD_ERR_TOOBIG;
	c->kind[c->n] = kind;
	c->seq[c->n] = seq;
	c->payload[c->n] = strndup(payload, len);
	c->n++;
	return TPD_OK;
}

static inline void tu_capture_free(struct tu_capture *c)
{
	for (int i = 0; i < c->n; i++)
		free(c->payload[i]);
	c->n = 0;
}

/* Index of the first captured report of kind at or after from, or -1. */
static inline int tu_find(const struct tu_capture *c, enum tpd_topic_kind kind, int from)
{
	for (int i = from; i < c->n; i++) {
		if (c->kind[i] == kind)
			return i;
	}
	return -1;
}

#endif
