/*
 * rollup.h - raw telemetry rows folded into hourly and daily rollups, for
 * both storage backends' maintenance step (store_sqlite.c note 7).
 *
 * The backend feeds one device's raw rows in seq order and says how to read
 * and write a rollup row; this module groups them by period and layout,
 * merges each group into the stored row (get, add, put) when the period or
 * layout changes and at the end. No SQL here, no state outside the object.
 */
#ifndef TPC_ROLLUP_H
#define TPC_ROLLUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpd/err.h"

/* What a backend gives: its names (layouts are dictionary ids) and its
 * rollup rows, keyed by (device, period start, layout); day: the daily
 * table, else the hourly one. get sets *len 0 when there is no row. */
struct tpc_rollup_io {
	void *ctx;
	const char *(*name_of)(void *ctx, int64_t id);
	enum tpd_err (*get)(void *ctx, bool day, int64_t dev_id, double start, int64_t layout,
			    unsigned char *buf, size_t cap, size_t *len);
	enum tpd_err (*put)(void *ctx, bool day, int64_t dev_id, double start, int64_t layout,
			    const unsigned char *data, size_t len);
};

struct tpc_rollup;

/* NULL when out of memory (the aggregates are large: heap, not stack). */
struct tpc_rollup *tpc_rollup_new(const struct tpc_rollup_io *io);
void tpc_rollup_free(struct tpc_rollup *r);

/* Starts a device (the previous one must have been flushed). */
void tpc_rollup_device(struct tpc_rollup *r, int64_t dev_id);
/* Adds a raw row of the device's (a row that does not decode is left out
 * and counted, not fatal). TPD_ERR_DB when a finished group's merge fails. */
enum tpd_err tpc_rollup_row(struct tpc_rollup *r, double ts, int64_t layout,
			    const unsigned char *data, size_t len);
/* Merges the groups still open. */
enum tpd_err tpc_rollup_flush(struct tpc_rollup *r);
/* Rows left out since tpc_rollup_device. */
unsigned tpc_rollup_undecodable(const struct tpc_rollup *r);

#endif
