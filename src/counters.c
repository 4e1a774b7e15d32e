/*
 * counters.c - lifetime stress counters (see counters.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "counters.h"
#include "statefile.h"

#define COUNTERS_FILE "counters.json"
#define COUNTERS_MAX_GAP_S 10.0   /* a longer gap between samples was not "on" */

static double counters_num(const cJSON *o, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(it) && isfinite(it->valuedouble) && it->valuedouble >= 0
	       ? it->valuedouble : 0;
}

static void counters_str(const cJSON *o, const char *key, char *out, size_t len)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));

	snprintf(out, len, "%s", v && strlen(v) < len ? v : "");
}

void tpd_counters_open(struct tpd_counters *c, const char *dir, bool unclean,
		       const char *boot_id)
{
	char text[4096];
	const cJSON *it;
	cJSON *o = NULL;

	memset(c, 0, sizeof(*c));
	c->prev_ts = NAN;
	if (dir && tpd_statefile_read(dir, COUNTERS_FILE, text, sizeof(text)) == TPD_OK)
		o = cJSON_Parse(text);
	c->starts = (uint64_t)counters_num(o, "starts") + 1;
	c->power_on_s = counters_num(o, "power_on_s");
	c->above_warn_s = counters_num(o, "above_warn_s");
	c->undervoltage_events = (uint64_t)counters_num(o, "undervoltage_events");
	c->unclean_restarts = (uint64_t)counters_num(o, "unclean_restarts");
	c->brownout_restarts = (uint64_t)counters_num(o, "brownout_restarts");
	c->last_low_vin_ts = counters_num(o, "last_low_vin_ts");
	c->last_low_vin_v = counters_num(o, "last_low_vin_v");
	counters_str(o, "last_low_vin_sensor", c->last_low_vin_sensor,
		     sizeof(c->last_low_vin_sensor));
	c->last_saved_ts = counters_num(o, "last_saved_ts");
	counters_str(o, "boot_id", c->boot_id, sizeof(c->boot_id));
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "restarts")) {
		if (cJSON_IsNumber(it) && c->nrestarts < TPD_SC_MAX_RESTARTS)
			c->restart_ts[c->nrestarts++] = it->valuedouble;
	}
	cJSON_Delete(o);
	c->rebooted = !boot_id || !boot_id[0] || strcmp(boot_id, c->boot_id) != 0;
	snprintf(c->boot_id, sizeof(c->boot_id), "%s", boot_id ? boot_id : "");
	if (unclean) {
		c->unclean_restarts++;
		if (c->nrestarts == TPD_SC_MAX_RESTARTS) {
			memmove(c->restart_ts, c->restart_ts + 1,
				(TPD_SC_MAX_RESTARTS - 1) * sizeof(c->restart_ts[0]));
			c->nrestarts--;
		}
		c->restart_ts[c->nrestarts++] = c->last_saved_ts;
		if (c->rebooted && c->last_low_vin_ts > 0 &&
		    c->last_saved_ts - c->last_low_vin_ts <= TPD_COUNTERS_SAG_S) {
			c->brownout_restarts++;
			c->brownout_now = true;
			c->brownout_seen_ts = c->last_low_vin_ts;
			c->last_low_vin_ts = 0;   /* one sag, one brownout */
		}
	}
}

bool tpd_counters_sample(struct tpd_counters *c, const struct tpd_product *p, double ts,
			 const double *values)
{
	double dt = isnan(c->prev_ts) ? 0 : ts - c->prev_ts;
	bool hot = false, uv = false, sag_began = false;

	if (dt < 0 || dt > COUNTERS_MAX_GAP_S)
		dt = 0;
	c->prev_ts = ts;
	for (size_t i = 0; i < p->nsensors; i++) {
		const struct tpd_sensor_desc *s = &p->sensors[i];
		double v = values[i];

		if (isnan(v) || v < s->plaus_lo || v > s->plaus_hi)
			continue;
		if (s->kind == TPD_KIND_TEMP && !isnan(s->warn) && v > s->warn)
			hot = true;
		if (s->kind == TPD_KIND_VOLT && !isnan(s->min) && v < s->min) {
			bool fresh = !(ts - c->last_low_vin_ts <= TPD_COUNTERS_SAG_S);

			if (fresh || v < c->last_low_vin_v) {
				c->last_low_vin_v = v;
				snprintf(c->last_low_vin_sensor, sizeof(c->last_low_vin_sensor), "%s",
					 s->id);
			}
			sag_began |= fresh;
			c->last_low_vin_ts = ts;
		}
		if (s->kind == TPD_KIND_EVENT && strcmp(s->id, "event.undervoltage") == 0 && v >= 0.5)
			uv = true;
	}
	if (uv && !c->prev_uv) {
		c->undervoltage_events++;
		c->last_low_vin_ts = ts;
	}
	c->prev_uv = uv;
	c->power_on_s += dt;
	if (hot)
		c->above_warn_s += dt;
	return sag_began;
}

char *tpd_counters_json(const struct tpd_counters *c)
{
	cJSON *o = cJSON_CreateObject();
	char *text = NULL;
	cJSON *r = cJSON_CreateDoubleArray(c->restart_ts, (int)c->nrestarts);

	if (!r || !cJSON_AddItemToObject(o, "restarts", r)) {
		cJSON_Delete(r);
		cJSON_Delete(o);
		return NULL;
	}
	if (o && cJSON_AddNumberToObject(o, "power_on_s", floor(c->power_on_s)) &&
	    cJSON_AddNumberToObject(o, "above_warn_s", floor(c->above_warn_s)) &&
	    cJSON_AddNumberToObject(o, "undervoltage_events", (double)c->undervoltage_events) &&
	    cJSON_AddNumberToObject(o, "starts", (double)c->starts) &&
	    cJSON_AddNumberToObject(o, "unclean_restarts", (double)c->unclean_restarts) &&
	    cJSON_AddNumberToObject(o, "brownout_restarts", (double)c->brownout_restarts) &&
	    cJSON_AddNumberToObject(o, "last_low_vin_ts", c->last_low_vin_ts) &&
	    cJSON_AddNumberToObject(o, "last_low_vin_v", c->last_low_vin_v) &&
	    cJSON_AddStringToObject(o, "last_low_vin_sensor", c->last_low_vin_sensor) &&
	    cJSON_AddStringToObject(o, "boot_id", c->boot_id) &&
	    cJSON_AddNumberToObject(o, "last_saved_ts", c->last_saved_ts))
		text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

enum tpd_err tpd_counters_save(struct tpd_counters *c, const char *dir, double ts, bool force)
{
	char *text;
	enum tpd_err rc;

	if (!dir || (!force && ts - c->last_saved_ts <
			 (c->save_every_s > 0 ? c->save_every_s : TPD_COUNTERS_SAVE_S)))
		return TPD_OK;
	c->last_saved_ts = ts;
	text = tpd_counters_json(c);
	if (!text)
		return TPD_ERR_NOMEM;
	rc = tpd_statefile_write(dir, COUNTERS_FILE, text, strlen(text));
	free(text);
	return rc;
}
