/*
 * rollup.c - raw rows into hourly and daily rollups (rollup.h).
 *
 * A group is one period of one layout: rows of a device come in seq order,
 * so a group closes when the period or the layout changes. Its aggregate
 * is merged with the stored row rather than written over it: a period can
 * be rolled up in several maintenance steps (a step's row budget ends in
 * the middle of an hour), and each step adds what it saw.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rollup.h"
#include "telem_codec.h"

struct rollup_group {
	bool used;
	double start;
	int64_t layout;
	struct tpc_telem_agg agg;
};

struct tpc_rollup {
	struct tpc_rollup_io io;
	int64_t dev_id;
	unsigned undecodable;
	struct rollup_group hour, day;
	struct tpc_telem_agg merged;      /* scratch of rollup_merge */
	unsigned char buf[3][TPC_TELEM_DATA_MAX];
};

struct tpc_rollup *tpc_rollup_new(const struct tpc_rollup_io *io)
{
	struct tpc_rollup *r = calloc(1, sizeof(*r));

	if (r)
		r->io = *io;
	return r;
}

void tpc_rollup_free(struct tpc_rollup *r)
{
	free(r);
}

void tpc_rollup_device(struct tpc_rollup *r, int64_t dev_id)
{
	r->dev_id = dev_id;
	r->undecodable = 0;
	r->hour.used = r->day.used = false;
}

unsigned tpc_rollup_undecodable(const struct tpc_rollup *r)
{
	return r->undecodable;
}

/* Merges g into its stored row (get, add, put). */
static enum tpd_err rollup_merge(struct tpc_rollup *r, struct rollup_group *g, bool day)
{
	unsigned char *mine = r->buf[0], *stored = r->buf[1], *out = r->buf[2];
	size_t mlen, slen, len;
	const char *layout;
	enum tpd_err rc;

	if (!g->used)
		return TPD_OK;
	g->used = false;
	layout = r->io.name_of(r->io.ctx, g->layout);
	if (!layout)
		return TPD_ERR_DB;
	if (tpc_telem_agg_encode(&g->agg, layout, mine, TPC_TELEM_DATA_MAX, &mlen))
		return TPD_ERR_DB;
	rc = r->io.get(r->io.ctx, day, r->dev_id, g->start, g->layout, stored, TPC_TELEM_DATA_MAX,
		       &slen);
	if (rc)
		return rc;
	memset(&r->merged, 0, sizeof(r->merged));
	if (slen)
		rc = tpc_telem_agg_add_rollup(&r->merged, layout, stored, slen);
	if (!rc)
		rc = tpc_telem_agg_add_rollup(&r->merged, layout, mine, mlen);
	if (!rc)
		rc = tpc_telem_agg_encode(&r->merged, layout, out, TPC_TELEM_DATA_MAX, &len);
	if (rc)
		return TPD_ERR_DB;
	return r->io.put(r->io.ctx, day, r->dev_id, g->start, g->layout, out, len);
}

static enum tpd_err rollup_add(struct tpc_rollup *r, struct rollup_group *g, bool day,
			       double start, int64_t layout_id, const unsigned char *data,
			       size_t len)
{
	const char *layout;
	enum tpd_err rc;

	if (g->used && (g->start != start || g->layout != layout_id)) {
		rc = rollup_merge(r, g, day);
		if (rc)
			return rc;
	}
	layout = r->io.name_of(r->io.ctx, layout_id);
	if (!layout)
		return TPD_ERR_DB;
	if (!g->used) {
		memset(&g->agg, 0, sizeof(g->agg));
		g->used = true;
		g->start = start;
		g->layout = layout_id;
	}
	/* a row that does not decode is left out of its rollup (the hour's
	 * and the day's alike: count it once) */
	if (tpc_telem_agg_add_row(&g->agg, layout, data, len) && !day)
		r->undecodable++;
	return TPD_OK;
}

enum tpd_err tpc_rollup_row(struct tpc_rollup *r, double ts, int64_t layout,
			    const unsigned char *data, size_t len)
{
	enum tpd_err rc = rollup_add(r, &r->hour, false, floor(ts / 3600) * 3600, layout, data, len);

	return rc ? rc : rollup_add(r, &r->day, true, floor(ts / 86400) * 86400, layout, data, len);
}

enum tpd_err tpc_rollup_flush(struct tpc_rollup *r)
{
	enum tpd_err rc = rollup_merge(r, &r->hour, false);

	return rc ? rc : rollup_merge(r, &r->day, true);
}
