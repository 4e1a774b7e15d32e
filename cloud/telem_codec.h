/*
 * telem_codec.h - telemetry reports as compact rows, and their rollups.
 *
 * A telemetry report (SPEC §2) is split into a layout and values. The
 * layout is a string naming what the report holds, in order: model, fw,
 * then one token per sensor aggregate, event and load value. Devices of a
 * model send the same layout period after period, so the database keeps
 * each layout once (a dictionary id) and a row holds only the values, as
 * varints: a number is the decimal mantissa and its scale (the agent rounds
 * to 3 decimals, so 53.1 takes 2 bytes), falling back to the 8-byte double
 * when it has no short exact form. Decoding gives back the same doubles,
 * so the API's JSON is the one the device's text parses to.
 *
 * A rollup (an hour or a day of one device and layout) keeps per sensor
 * min, max, the n-weighted average (rounded to 3 decimals, as the agent
 * rounds) and n; per event the sum of counts; per load value its average
 * and how many periods had one; and the reports and seconds covered.
 */
#ifndef TPC_TELEM_CODEC_H
#define TPC_TELEM_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "tpd/err.h"

#define TPC_TELEM_LAYOUT_MAX 8192   /* bytes of a layout string */
#define TPC_TELEM_DATA_MAX 16384    /* bytes of an encoded row or rollup */
#define TPC_TELEM_ITEMS_MAX 768     /* tokens of a layout (3 x ingest's 256) */

/* One rollup item: a sensor aggregate, an event or a load value. */
struct tpc_telem_item {
	double min, max, avg;   /* NAN when n == 0 (events: unused) */
	uint64_t n;             /* samples; events: the count's sum; load: periods with a value */
	uint64_t fail;
};

struct tpc_telem_agg {
	unsigned nitems;
	uint64_t reports;
	double period_s;        /* seconds covered (sum of period_s) */
	struct tpc_telem_item item[TPC_TELEM_ITEMS_MAX];
};

/*
 * Splits a validated telemetry object (ingest.c) into its layout string and
 * encoded values. layout and data are the caller's buffers. Returns
 * TPD_ERR_INVAL when it does not fit (then store it some other way: never
 * for what ingest admits).
 */
enum tpd_err tpc_telem_encode(const cJSON *report, char *layout, size_t layout_len,
			      unsigned char *data, size_t data_max, size_t *data_len);

/* The report object again (v, dev, model, fw, seq, ts, period_s, sensors,
 * events, load). *out is the caller's. TPD_ERR_INVAL for a corrupt row. */
enum tpd_err tpc_telem_decode(const char *dev, uint64_t seq, double ts, const char *layout,
			      const unsigned char *data, size_t len, cJSON **out);

/* Appends a compact row to arr as the API lists reports: {id 0, seq, ts,
 * verified false, body (the decoded report's text)}. TPD_ERR_INVAL for a
 * corrupt row. */
enum tpd_err tpc_telem_item_append(cJSON *arr, const char *dev, uint64_t seq, double ts,
				   const char *layout, const unsigned char *data, size_t len);

/* Adds one encoded row to agg (zeroed by the caller before the first). */
enum tpd_err tpc_telem_agg_add_row(struct tpc_telem_agg *agg, const char *layout,
				   const unsigned char *data, size_t len);
/* Merges an encoded rollup into agg. */
enum tpd_err tpc_telem_agg_add_rollup(struct tpc_telem_agg *agg, const char *layout,
				      const unsigned char *data, size_t len);
enum tpd_err tpc_telem_agg_encode(const struct tpc_telem_agg *agg, const char *layout,
				  unsigned char *data, size_t data_max, size_t *data_len);
/* {dev, model, fw, ts (the start), period_s, reports, sensors, events, load}. */
enum tpd_err tpc_telem_agg_decode(const char *dev, double start, const char *layout,
				  const unsigned char *data, size_t len, cJSON **out);

#endif
