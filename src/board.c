/*
 * board.c - the table of board drivers and the wrappers that call them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tpd/board.h"

/* Every driver this build has, in --help order. */
static const struct tpd_board_ops *const board_drivers[] = {
	&tpd_board_sim,
	&tpd_board_linux,
};

struct tpd_board {
	const struct tpd_board_ops *ops;
	void *ctx;
};

const struct tpd_board_ops *tpd_board_find(const char *name)
{
	for (size_t i = 0; i < sizeof(board_drivers) / sizeof(board_drivers[0]); i++) {
		if (strcmp(board_drivers[i]->name, name) == 0)
			return board_drivers[i];
	}
	return NULL;
}

void tpd_board_names(char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(board_drivers) / sizeof(board_drivers[0]) && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
					board_drivers[i]->name);
}

enum tpd_err tpd_board_open(const struct tpd_board_ops *ops, const struct tpd_board_cfg *cfg,
			    struct tpd_board **out, char *err, size_t errlen)
{
	struct tpd_board *b;
	enum tpd_err rc;

	*out = NULL;
	if (ops->abi != TPD_BOARD_ABI || !ops->open || !ops->read) {
		snprintf(err, errlen, "board driver %s: incompatible ABI %u", ops->name, ops->abi);
		return TPD_ERR_UNSUPPORTED;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return TPD_ERR_NOMEM;
	b->ops = ops;
	rc = ops->open(cfg, &b->ctx, err, errlen);
	if (rc) {
		free(b);
		return rc;
	}
	*out = b;
	return TPD_OK;
}

void tpd_board_close(struct tpd_board *b)
{
	if (!b)
		return;
	if (b->ops->close)
		b->ops->close(b->ctx);
	free(b);
}

unsigned tpd_board_caps(const struct tpd_board *b)
{
	return b->ops->caps;
}

enum tpd_err tpd_board_read(struct tpd_board *b, double *t_s, double *values,
			    char *err, size_t errlen)
{
	return b->ops->read(b->ctx, t_s, values, err, errlen);
}
