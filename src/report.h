/*
 * report.h - building the JSON reports of SPEC §2 with cJSON.
 *
 * Ownership: tpd_report_new returns a cJSON tree the caller deletes.
 * tpd_report_print returns a malloc'ed string the caller frees. Every helper
 * returns NULL/0 on allocation failure and leaves the tree valid to delete.
 */
#ifndef TPD_REPORT_H
#define TPD_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "tpd/err.h"

/* Who is reporting: the fields every device -> cloud object carries. */
struct tpd_report_ident {
	const char *dev;
	const char *model;
	const char *fw;
};

/* {"v":1,"dev":...,"model":...,"fw":...,"seq":seq,"ts":ts} */
cJSON *tpd_report_new(const struct tpd_report_ident *id, uint64_t seq, double ts);

/* Adds key: v rounded to decimals places (NAN -> null). Returns the new item. */
cJSON *tpd_json_add_num(cJSON *obj, const char *key, double v, int decimals);

/* Serializes compactly; TPD_ERR_TOOBIG above TPD_PAYLOAD_MAX bytes. */
enum tpd_err tpd_report_print(const cJSON *obj, char **out, size_t *len);

#endif
