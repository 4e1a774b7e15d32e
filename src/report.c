/*
 * report.c - common report envelope and number formatting.
 *
 * Design note: readings are rounded before they are printed (3 decimals
 * for sensors, 3 for timestamps). cJSON prints 15-17 significant digits, so
 * an unrounded average of 53.1 would travel as 53.100000000000001 and waste
 * bytes on every message of the fleet.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tpd/wire.h"
#include "report.h"

cJSON *tpd_json_add_num(cJSON *obj, const char *key, double v, int decimals)
{
	double scale;

	if (!isfinite(v))
		return cJSON_AddNullToObject(obj, key);
	scale = pow(10.0, decimals);
	v = round(v * scale) / scale;
	if (v == 0.0)
		v = 0.0; /* no "-0" */
	return cJSON_AddNumberToObject(obj, key, v);
}

cJSON *tpd_report_new(const struct tpd_report_ident *id, uint64_t seq, double ts)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	if (!cJSON_AddNumberToObject(o, "v", TPD_WIRE_VERSION) ||
	    !cJSON_AddStringToObject(o, "dev", id->dev) ||
	    !cJSON_AddStringToObject(o, "model", id->model) ||
	    !cJSON_AddStringToObject(o, "fw", id->fw) ||
	    !cJSON_AddNumberToObject(o, "seq", (double)seq) ||
	    !tpd_json_add_num(o, "ts", ts, 3)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

enum tpd_err tpd_report_print(const cJSON *obj, char **out, size_t *len)
{
	char *s = cJSON_PrintUnformatted(obj);

	*out = NULL;
	if (!s)
		return TPD_ERR_NOMEM;
	*len = strlen(s);
	if (*len > TPD_PAYLOAD_MAX) {
		cJSON_free(s);
		return TPD_ERR_TOOBIG;
	}
	*out = s;
	return TPD_OK;
}
