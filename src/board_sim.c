/*
 * board_sim.c - the "sim" board: replays a SPEC §5 trace file.
 *
 * Each product sensor is bound to the trace column of the same name once, at
 * open. A trace that lacks a sensor the product describes is refused there:
 * replaying it would report a healthy sensor as failed for the whole run.
 * Columns the product does not describe are ignored.
 */
#include <stdio.h>
#include <stdlib.h>

#include "tpd/board.h"
#include "tpd/trace.h"

struct sim_board {
	struct tpd_trace *trace;
	size_t nsensors;
	int col[TPD_PRODUCT_MAX_SENSORS];   /* trace column of product sensor i */
	double row[TPD_TRACE_MAX_COLS];
};

static void sim_close(void *ctx)
{
	struct sim_board *sb = ctx;

	if (!sb)
		return;
	tpd_trace_free(sb->trace);
	free(sb);
}

static enum tpd_err sim_open(const struct tpd_board_cfg *cfg, void **ctx, char *err, size_t errlen)
{
	struct sim_board *sb;
	enum tpd_err rc;

	*ctx = NULL;
	if (!cfg->trace_path) {
		snprintf(err, errlen, "the sim board needs --trace FILE");
		return TPD_ERR_INVAL;
	}
	sb = calloc(1, sizeof(*sb));
	if (!sb)
		return TPD_ERR_NOMEM;
	rc = tpd_trace_open(cfg->trace_path, &sb->trace, err, errlen);
	if (rc) {
		free(sb);
		return rc;
	}
	sb->nsensors = cfg->product->nsensors;
	for (size_t i = 0; i < sb->nsensors; i++) {
		const char *id = cfg->product->sensors[i].id;

		sb->col[i] = tpd_trace_find(sb->trace, id);
		if (sb->col[i] < 0) {
			snprintf(err, errlen, "%s: no column for sensor %s of product %s",
				 cfg->trace_path, id, cfg->product->model);
			sim_close(sb);
			return TPD_ERR_INVAL;
		}
	}
	*ctx = sb;
	return TPD_OK;
}

static enum tpd_err sim_read(void *ctx, double *t_s, double *values, char *err, size_t errlen)
{
	struct sim_board *sb = ctx;
	enum tpd_err rc;

	rc = tpd_trace_next(sb->trace, t_s, sb->row, TPD_TRACE_MAX_COLS, err, errlen);
	if (rc)
		return rc;
	for (size_t i = 0; i < sb->nsensors; i++)
		values[i] = sb->row[sb->col[i]];
	return TPD_OK;
}

const struct tpd_board_ops tpd_board_sim = {
	.name = "sim",
	.abi = TPD_BOARD_ABI,
	.caps = TPD_BOARD_CAP_VIRTUAL_CLOCK,
	.open = sim_open,
	.close = sim_close,
	.read = sim_read,
};
