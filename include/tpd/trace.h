/*
 * tpd/trace.h - streaming reader for sensor trace files (SPEC §5).
 *
 * A trace is CSV: '#' comment lines, a header "t_s,<sensor>,...", then rows.
 * An empty cell is a failed read and comes back as NAN. Rows are read one at a
 * time, so a month-long trace costs one line buffer, not the whole file.
 */
#ifndef TPD_TRACE_H
#define TPD_TRACE_H

#include <stddef.h>
#include <stdio.h>

#include "tpd/err.h"

#define TPD_TRACE_MAX_COLS 64     /* sensor columns, t_s not counted */
#define TPD_TRACE_LINE_MAX 4096   /* bytes in one line, newline included */

struct tpd_trace;

/*
 * Opens and reads up to the header. On success *out owns the FILE (closed by
 * tpd_trace_free). On failure returns an error, writes "PATH:LINE: problem"
 * into err and leaves *out NULL.
 */
enum tpd_err tpd_trace_open(const char *path, struct tpd_trace **out,
			    char *err, size_t errlen);

/* As tpd_trace_open, over an already open stream (e.g. fmemopen). The trace
 * takes ownership of fp on success and on failure. name is used in messages. */
enum tpd_err tpd_trace_open_stream(FILE *fp, const char *name,
				   struct tpd_trace **out, char *err, size_t errlen);

void tpd_trace_free(struct tpd_trace *tr);

size_t tpd_trace_columns(const struct tpd_trace *tr);
/* Sensor name of column i (0-based, t_s excluded); NULL when out of range. */
const char *tpd_trace_column(const struct tpd_trace *tr, size_t i);
/* Index of a sensor column, or -1. */
int tpd_trace_find(const struct tpd_trace *tr, const char *sensor);
/* Model from a "# model: NAME" comment seen so far, or NULL. */
const char *tpd_trace_model(const struct tpd_trace *tr);

/*
 * Reads the next row: *t_s, and values[0..ncols-1] (NAN = failed read).
 * Returns TPD_OK, TPD_ERR_EOF at the end, or TPD_ERR_INVAL with
 * "NAME:LINE: problem" in err for a bad row (the trace stays at that error).
 */
enum tpd_err tpd_trace_next(struct tpd_trace *tr, double *t_s, double *values,
			    size_t nvalues, char *err, size_t errlen);

#endif
