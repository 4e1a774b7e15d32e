/*
 * tpd/board.h - board drivers: where samples come from.
 *
 * A driver exports one const struct tpd_board_ops. The list of drivers is one
 * static table (board.c), chosen by name once at start-up. Optional ops may be
 * NULL; the wrappers then return TPD_ERR_UNSUPPORTED.
 */
#ifndef TPD_BOARD_H
#define TPD_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "tpd/err.h"
#include "tpd/product.h"

#define TPD_BOARD_ABI 1

/* The board supplies time (trace replay): read() returns each sample's
 * t_s since the start, and the caller paces the replay. */
#define TPD_BOARD_CAP_VIRTUAL_CLOCK 0x1u

struct tpd_board_cfg {
	const struct tpd_product *product; /* borrowed: sensors to read, in order */
	const char *trace_path;            /* sim: the trace file */
	const char *sysfs_root;            /* linux: stands in for /sys */
};

struct tpd_board_ops {
	const char *name;
	unsigned abi;        /* TPD_BOARD_ABI */
	unsigned caps;       /* TPD_BOARD_CAP_* */
	/* Opens the board for cfg->product. On failure writes one line to err. */
	enum tpd_err (*open)(const struct tpd_board_cfg *cfg, void **ctx, char *err, size_t errlen);
	void (*close)(void *ctx);
	/* Reads one sample: values[i] for product sensor i (NAN = failed read);
	 * *t_s is the sample's time since start for virtual-clock boards.
	 * TPD_ERR_EOF when a finite source is exhausted. */
	enum tpd_err (*read)(void *ctx, double *t_s, double *values, char *err, size_t errlen);
};

struct tpd_board;

/* The driver of that name, or NULL. */
const struct tpd_board_ops *tpd_board_find(const char *name);
/* Names of all drivers, comma-separated, into buf (for --help and errors). */
void tpd_board_names(char *buf, size_t len);

enum tpd_err tpd_board_open(const struct tpd_board_ops *ops, const struct tpd_board_cfg *cfg,
			    struct tpd_board **out, char *err, size_t errlen);
void tpd_board_close(struct tpd_board *b);
unsigned tpd_board_caps(const struct tpd_board *b);
enum tpd_err tpd_board_read(struct tpd_board *b, double *t_s, double *values,
			    char *err, size_t errlen);

extern const struct tpd_board_ops tpd_board_sim;
extern const struct tpd_board_ops tpd_board_linux;

/* tpdiagd --probe [--json]: lists the sensors found under sysfs_root (NULL:
 * /sys) with their values and kernel limits, then a product description
 * that loads as printed (board_linux_probe.c; json: SPEC §7's object).
 * TPD_ERR_NOTFOUND when there is nothing to read, NOMEM. */
enum tpd_err tpd_board_linux_probe(const char *sysfs_root, bool json, FILE *out);

#endif
