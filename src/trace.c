/*
 * trace.c - SPEC §5 trace reader.
 *
 * Layout: line reading (bounded, CRLF and BOM tolerant), cell parsing, header,
 * rows. Any problem is reported as "NAME:LINE: problem" and the reader sticks
 * at the error: a trace is authored data, so a garbage cell means the file is
 * wrong, not that the sensor failed (an empty cell says that).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tpd/trace.h"
#include "tpd/wire.h"

struct tpd_trace {
	FILE *fp;
	char *name;
	unsigned long line;                  /* number of the last line read */
	size_t ncols;                        /* sensor columns */
	char *cols[TPD_TRACE_MAX_COLS];
	char model[TPD_ID_MAX + 1];
	double last_t;                       /* for the non-decreasing check */
	enum tpd_err sticky;                 /* first error, repeated after */
	char buf[TPD_TRACE_LINE_MAX + 1];
};

static enum tpd_err trace_fail(struct tpd_trace *tr, char *err, size_t errlen,
			       const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (err && errlen)
		snprintf(err, errlen, "%s:%lu: %s", tr->name, tr->line, what);
	tr->sticky = TPD_ERR_INVAL;
	return TPD_ERR_INVAL;
}

/* Reads one line into tr->buf without its line ending. TPD_ERR_EOF at end of
 * file, TPD_ERR_TOOBIG for an over-long line, TPD_ERR_IO on a read error. */
static enum tpd_err trace_read_line(struct tpd_trace *tr)
{
	size_t n;

	if (!fgets(tr->buf, sizeof(tr->buf), tr->fp))
		return ferror(tr->fp) ? TPD_ERR_IO : TPD_ERR_EOF;
	tr->line++;
	n = strlen(tr->buf);
	if (n == sizeof(tr->buf) - 1 && tr->buf[n - 1] != '\n' && !feof(tr->fp))
		return TPD_ERR_TOOBIG;
	while (n > 0 && (tr->buf[n - 1] == '\n' || tr->buf[n - 1] == '\r'))
		tr->buf[--n] = '\0';
	return TPD_OK;
}

static void trace_note_comment(struct tpd_trace *tr, const char *line)
{
	const char *p = line + 1;
	size_t n;

	while (*p == ' ' || *p == '\t')
		p++;
	if (tr->model[0] || strncmp(p, "model:", 6) != 0)
		return;
	p += 6;
	while (*p == ' ' || *p == '\t')
		p++;
	n = strcspn(p, " \t");
	if (n == 0 || n > TPD_ID_MAX)
		return;
	memcpy(tr->model, p, n);
	tr->model[n] = '\0';
}

/* Reads lines until one that is neither blank nor a comment. */
static enum tpd_err trace_next_data_line(struct tpd_trace *tr, char *err, size_t errlen)
{
	enum tpd_err rc;

	for (;;) {
		rc = trace_read_line(tr);
		if (rc == TPD_ERR_TOOBIG)
			return trace_fail(tr, err, errlen, "line longer than %d bytes",
					  TPD_TRACE_LINE_MAX);
		if (rc == TPD_ERR_IO)
			return trace_fail(tr, err, errlen, "read error: %s", strerror(errno));
		if (rc)
			return rc;
		if (tr->line == 1 && strncmp(tr->buf, "\xEF\xBB\xBF", 3) == 0)
			memmove(tr->buf, tr->buf + 3, strlen(tr->buf + 3) + 1);
		if (tr->buf[0] == '#') {
			trace_note_comment(tr, tr->buf);
			continue;
		}
		if (tr->buf[strspn(tr->buf, " \t")] == '\0')
			continue;
		return TPD_OK;
	}
}

/* Splits tr->buf in place at commas; returns the number of cells (may exceed
 * max, in which case only max are stored). */
static size_t trace_split(char *line, char **cells, size_t max)
{
	size_t n = 0;
	char *p = line;

	for (;;) {
		char *comma = strchr(p, ',');

		if (n < max)
			cells[n] = p;
		n++;
		if (!comma)
			break;
		*comma = '\0';
		p = comma + 1;
	}
	return n;
}

static char *trace_trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return s;
}

/* Parses a cell: empty -> NAN (failed read); else a finite number. */
static enum tpd_err trace_cell(char *cell, double *out)
{
	char *end;
	double v;

	cell = trace_trim(cell);
	if (*cell == '\0') {
		*out = NAN;
		return TPD_OK;
	}
	errno = 0;
	v = strtod(cell, &end);
	if (end == cell || *end != '\0' || errno == ERANGE || !isfinite(v))
		return TPD_ERR_INVAL;
	*out = v;
	return TPD_OK;
}

static enum tpd_err trace_header(struct tpd_trace *tr, char *err, size_t errlen)
{
	char *cells[TPD_TRACE_MAX_COLS + 2];
	size_t n;
	enum tpd_err rc;

	rc = trace_next_data_line(tr, err, errlen);
	if (rc == TPD_ERR_EOF)
		return trace_fail(tr, err, errlen, "no header line (expected \"t_s,<sensor>,...\")");
	if (rc)
		return rc;
	n = trace_split(tr->buf, cells, TPD_TRACE_MAX_COLS + 2);
	if (n > TPD_TRACE_MAX_COLS + 1)
		return trace_fail(tr, err, errlen, "more than %d sensor columns",
				  TPD_TRACE_MAX_COLS);
	if (strcmp(trace_trim(cells[0]), "t_s") != 0)
		return trace_fail(tr, err, errlen, "header must start with t_s, found \"%.40s\"",
				  trace_trim(cells[0]));
	if (n < 2)
		return trace_fail(tr, err, errlen, "header names no sensor column");
	for (size_t i = 1; i < n; i++) {
		enum tpd_sensor_kind kind;
		char *name = trace_trim(cells[i]);

		if (tpd_sensor_kind_parse(name, &kind))
			return trace_fail(tr, err, errlen,
					  "column %zu: \"%.48s\" is not a sensor name of SPEC §4 "
					  "(<kind>.<name>, kind temp|volt|curr|power|fan|load|event)",
					  i + 1, name);
		for (size_t j = 0; j < tr->ncols; j++) {
			if (strcmp(tr->cols[j], name) == 0)
				return trace_fail(tr, err, errlen, "column %zu: duplicate sensor \"%s\"",
						  i + 1, name);
		}
		tr->cols[tr->ncols] = strdup(name);
		if (!tr->cols[tr->ncols])
			return TPD_ERR_NOMEM;
		tr->ncols++;
	}
	return TPD_OK;
}

enum tpd_err tpd_trace_open_stream(FILE *fp, const char *name,
				   struct tpd_trace **out, char *err, size_t errlen)
{
	struct tpd_trace *tr;
	enum tpd_err rc;

	*out = NULL;
	tr = calloc(1, sizeof(*tr));
	if (!tr) {
		fclose(fp);
		return TPD_ERR_NOMEM;
	}
	tr->fp = fp;
	tr->last_t = -INFINITY;
	tr->name = strdup(name ? name : "trace");
	if (!tr->name) {
		tpd_trace_free(tr);
		return TPD_ERR_NOMEM;
	}
	rc = trace_header(tr, err, errlen);
	if (rc) {
		if (rc == TPD_ERR_NOMEM && err && errlen)
			snprintf(err, errlen, "%s: out of memory", tr->name);
		tpd_trace_free(tr);
		return rc;
	}
	*out = tr;
	return TPD_OK;
}

enum tpd_err tpd_trace_open(const char *path, struct tpd_trace **out,
			    char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");

	*out = NULL;
	if (!fp) {
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? TPD_ERR_NOTFOUND : TPD_ERR_IO;
	}
	return tpd_trace_open_stream(fp, path, out, err, errlen);
}

void tpd_trace_free(struct tpd_trace *tr)
{
	if (!tr)
		return;
	if (tr->fp)
		fclose(tr->fp);
	for (size_t i = 0; i < tr->ncols; i++)
		free(tr->cols[i]);
	free(tr->name);
	free(tr);
}

size_t tpd_trace_columns(const struct tpd_trace *tr)
{
	return tr->ncols;
}

const char *tpd_trace_column(const struct tpd_trace *tr, size_t i)
{
	return i < tr->ncols ? tr->cols[i] : NULL;
}

int tpd_trace_find(const struct tpd_trace *tr, const char *sensor)
{
	for (size_t i = 0; i < tr->ncols; i++) {
		if (strcmp(tr->cols[i], sensor) == 0)
			return (int)i;
	}
	return -1;
}

const char *tpd_trace_model(const struct tpd_trace *tr)
{
	return tr->model[0] ? tr->model : NULL;
}

enum tpd_err tpd_trace_next(struct tpd_trace *tr, double *t_s, double *values,
			    size_t nvalues, char *err, size_t errlen)
{
	char *cells[TPD_TRACE_MAX_COLS + 2];
	size_t n;
	double t;
	enum tpd_err rc;

	if (tr->sticky) {
		if (err && errlen)
			snprintf(err, errlen, "%s:%lu: trace stopped at an earlier error",
				 tr->name, tr->line);
		return tr->sticky;
	}
	if (nvalues < tr->ncols)
		return TPD_ERR_INVAL;
	rc = trace_next_data_line(tr, err, errlen);
	if (rc)
		return rc;
	n = trace_split(tr->buf, cells, TPD_TRACE_MAX_COLS + 2);
	if (n != tr->ncols + 1)
		return trace_fail(tr, err, errlen, "%zu cells, header has %zu", n, tr->ncols + 1);
	if (trace_cell(cells[0], &t) || isnan(t) || t < 0)
		return trace_fail(tr, err, errlen, "t_s \"%.40s\" is not a non-negative number",
				  trace_trim(cells[0]));
	if (t < tr->last_t)
		return trace_fail(tr, err, errlen, "t_s %.3f goes back in time (previous %.3f)",
				  t, tr->last_t);
	for (size_t i = 0; i < tr->ncols; i++) {
		if (trace_cell(cells[i + 1], &values[i]))
			return trace_fail(tr, err, errlen, "column %s: \"%.40s\" is not a number",
					  tr->cols[i], trace_trim(cells[i + 1]));
	}
	tr->last_t = t;
	*t_s = t;
	return TPD_OK;
}
