/*
 * tpd/jsonfile.h - reading hand-written JSON data files (product
 * descriptions, the warranty policy): a size cap, syntax errors reported as
 * NAME:LINE:COL, and a check that an object holds only known keys (a
 * misspelt key silently ignored is worse than an error).
 */
#ifndef TPD_JSONFILE_H
#define TPD_JSONFILE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "tpd/err.h"

/* Reads a whole file of at most max bytes into a NUL-terminated buffer
 * (*text is the caller's, free()). On failure writes "PATH: why" into err;
 * TPD_ERR_NOTFOUND when it does not exist, TPD_ERR_TOOBIG over max. */
enum tpd_err tpd_json_read_file(const char *path, size_t max, char **text, size_t *len,
				char *err, size_t errlen);

/* Parses text; on a syntax error writes "NAME:LINE:COL: why" into err.
 * *root is the caller's (cJSON_Delete). */
enum tpd_err tpd_json_parse_doc(const char *text, size_t len, const char *name, cJSON **root,
				char *err, size_t errlen);

/* Writes "NAME: formatted problem" into err and returns TPD_ERR_INVAL: the
 * one-line refusal of a data file. */
enum tpd_err tpd_json_fail(char *err, size_t errlen, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* True when s is one of the NULL-terminated set. */
bool tpd_str_in_set(const char *s, const char *const *set);

/* The first member of obj whose key is not in allowed, or NULL. */
const cJSON *tpd_json_unknown_key(const cJSON *obj, const char *const *allowed);

/*
 * A string member of obj as a terminal may show it: device- and
 * user-supplied text (fw, notes, titles, claim notices) can carry escape
 * sequences or invalid UTF-8, so anything but printable text and line
 * breaks is replaced in the tree, once, by its \xNN form (tpd_esc_lines).
 * "-" when absent or not a string; "(unprintable)" when out of memory. The
 * result lives as long as obj.
 */
const char *tpd_json_printable(const cJSON *obj, const char *key);

#endif
