/*
 * jsonfile.c - capped file reading, positioned syntax errors, key checks
 * (see tpd/jsonfile.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tpd/jsonfile.h"
#include "tpd/utf8.h"

enum tpd_err tpd_json_read_file(const char *path, size_t max, char **text, size_t *len,
				char *err, size_t errlen)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	size_t n;

	*text = NULL;
	*len = 0;
	if (!fp) {
		int e = errno;

		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return e == ENOENT ? TPD_ERR_NOTFOUND : TPD_ERR_IO;
	}
	buf = malloc(max + 1);
	if (!buf) {
		fclose(fp);
		return TPD_ERR_NOMEM;
	}
	n = fread(buf, 1, max + 1, fp);
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: read error", path);
		free(buf);
		fclose(fp);
		return TPD_ERR_IO;
	}
	fclose(fp);
	if (n > max) {
		snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
		free(buf);
		return TPD_ERR_TOOBIG;
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return TPD_OK;
}

static void jsonfile_pos(const char *json, const char *at, unsigned *line, unsigned *col)
{
	*line = 1;
	*col = 1;
	for (const char *p = json; p < at && *p; p++) {
		if (*p == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

enum tpd_err tpd_json_parse_doc(const char *text, size_t len, const char *name, cJSON **root,
				char *err, size_t errlen)
{
	const char *end = NULL;
	unsigned line, col;

	*root = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (*root)
		return TPD_OK;
	if (!end || end < text || end > text + len) {
		snprintf(err, errlen, "%s: not valid JSON", name);
		return TPD_ERR_INVAL;
	}
	jsonfile_pos(text, end, &line, &col);
	snprintf(err, errlen, "%s:%u:%u: %s", name, line, col,
		 end + 1 >= text + len ? "JSON ends early (an unclosed { or [?)" : "JSON syntax error");
	return TPD_ERR_INVAL;
}

enum tpd_err tpd_json_fail(char *err, size_t errlen, const char *name, const char *fmt, ...)
{
	char what[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", name, what);
	return TPD_ERR_INVAL;
}

bool tpd_str_in_set(const char *s, const char *const *set)
{
	for (; s && *set; set++) {
		if (strcmp(s, *set) == 0)
			return true;
	}
	return false;
}

const cJSON *tpd_json_unknown_key(const cJSON *obj, const char *const *allowed)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, obj) {
		if (!tpd_str_in_set(it->string, allowed))
			return it;
	}
	return NULL;
}

const char *tpd_json_printable(const cJSON *obj, const char *key)
{
	cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	char *esc;

	if (!cJSON_IsString(it))
		return "-";
	if (!tpd_esc_needed(it->valuestring))
		return it->valuestring;
	esc = tpd_esc_lines(it->valuestring);
	if (!esc || !cJSON_SetValuestring(it, esc)) {
		free(esc);
		return "(unprintable)";
	}
	free(esc);
	return it->valuestring;
}
