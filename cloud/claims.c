/*
 * claims.c - claim engine: dedup per (device, class), titles and descriptions,
 * suggested resolutions.
 *
 * Layout: per-code wording and resolution table, text helpers, apply().
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "claims.h"

/* What each code means to a customer, and what support should try first.
 * Ranked resolutions: a claim's suggestion is the strongest of its codes. */
static const struct claims_row {
	const char *phrase;
	const char *resolution;
	int rank;
} claims_rows[TPD_FAULT_CODE_COUNT] = {
	[TPD_FAULT_PWR_UNDERVOLT] = { "input voltage below its minimum; the power adapter is the "
				      "likely cause", "replacement", 3 },
	[TPD_FAULT_PWR_OVERVOLT] = { "input voltage above its maximum; a non-original adapter is "
				     "likely", "remote_guidance", 1 },
	[TPD_FAULT_PWR_BROWNOUT] = { "repeated input voltage dips; the power adapter is the "
				     "likely cause", "replacement", 3 },
	[TPD_FAULT_PWR_OVERCURRENT] = { "input current above its limit", "repair", 2 },
	[TPD_FAULT_PWR_DEGRADING] = { "power supply degrading", "replacement", 3 },
	[TPD_FAULT_TEMP_HIGH] = { "temperature above its warning limit", "remote_guidance", 1 },
	[TPD_FAULT_TEMP_CRITICAL] = { "temperature above its critical limit", "remote_guidance", 1 },
	[TPD_FAULT_TEMP_RISING] = { "temperature rising toward its critical limit",
				    "remote_guidance", 1 },
	[TPD_FAULT_FAN_STALL] = { "fan stopped while the product is hot", "repair", 2 },
	[TPD_FAULT_FAN_DEGRADED] = { "fan slowing down at the same demand; wear likely", "repair", 2 },
	[TPD_FAULT_SENSOR_FAIL] = { "a sensor is unreadable or implausible", "remote_guidance", 1 },
	[TPD_FAULT_BOOT_LOOP] = { "repeated reboots", "remote_guidance", 1 },
};

const char *tpc_claims_resolution(enum tpd_fault_code code)
{
	return (unsigned)code < TPD_FAULT_CODE_COUNT ? claims_rows[code].resolution : "remote_guidance";
}

static int claims_rank(const char *resolution)
{
	for (int i = 0; i < TPD_FAULT_CODE_COUNT; i++) {
		if (resolution && strcmp(claims_rows[i].resolution, resolution) == 0)
			return claims_rows[i].rank;
	}
	return 0;
}

void tpc_iso_time(double unix_s, char *buf, size_t len)
{
	time_t t = (time_t)floor(unix_s);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* "475 rpm", "85.6 °C", "11.2 V"; "(none)" for NAN. */
static void claims_quantity(const char *sensor, double v, char *buf, size_t len)
{
	enum tpd_sensor_kind kind;
	const char *unit = "";

	if (tpd_sensor_kind_parse(sensor, &kind) == TPD_OK)
		unit = tpd_sensor_kind_unit(kind);
	if (isnan(v))
		snprintf(buf, len, "(no reading)");
	else
		snprintf(buf, len, "%g%s%s", v, unit[0] ? " " : "", unit);
}

/* One sentence about one fault report. */
static void claims_sentence(const struct tpc_report *r, char *buf, size_t len)
{
	const char *sev = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(r->json, "fault"), "severity"));
	char at[32], since[32], val[48], lim[48];

	tpc_iso_time(r->ts, at, sizeof(at));
	claims_quantity(r->sensor, r->value, val, sizeof(val));
	claims_quantity(r->sensor, r->limit, lim, sizeof(lim));
	if (!isnan(r->since))
		tpc_iso_time(r->since, since, sizeof(since));
	snprintf(buf, len, "%s (%s, %s) at %s: %s; %s read %s against a limit of %s%s%s. "
		 "Signed report seq %llu, signature %s.",
		 tpd_fault_code_name(r->code), tpd_fault_class_name(r->cls), sev ? sev : "?", at,
		 claims_rows[r->code].phrase, r->sensor, val, lim,
		 isnan(r->since) ? "" : ", condition since ", isnan(r->since) ? "" : since,
		 (unsigned long long)r->seq, r->verified ? "verified" : "NOT verified");
}

static enum tpd_err claims_open(struct tpc_store *s, const struct tpc_report *r,
				const char *now_iso, int64_t *claim)
{
	char title[256], desc[2048], sentence[1024], val[48], lim[48], purchase[16];
	const char *fw = r->fw ? r->fw : "?";
	struct tpc_claim_new c = { 0 };
	bool added;
	enum tpd_err rc;

	claims_quantity(r->sensor, r->value, val, sizeof(val));
	claims_quantity(r->sensor, r->limit, lim, sizeof(lim));
	snprintf(title, sizeof(title), "%s: %c%s (%s %s, limit %s)", r->model,
		 toupper((unsigned char)claims_rows[r->code].phrase[0]),
		 claims_rows[r->code].phrase + 1, r->sensor, val, lim);
	claims_sentence(r, sentence, sizeof(sentence));
	snprintf(desc, sizeof(desc), "Device %s (%s, firmware %s) reported %s %s", r->dev, r->model,
		 fw, sentence,
		 r->verdict ? "" : "No on-device self-check result was attached.");
	c.device = r->dev;
	c.model = r->model;
	c.category = tpd_fault_class_name(r->cls);
	c.predictive = r->predictive;
	c.detected_ts = r->ts;
	c.opened_at = now_iso;
	c.purchase_date = tpc_store_device_purchase_date(s, r->dev, purchase, sizeof(purchase))
			  ? NULL : purchase;
	c.title = title;
	c.description = desc;
	c.selfcheck_verdict = r->verdict;
	c.suggested_resolution = claims_rows[r->code].resolution;
	rc = tpc_store_claim_insert(s, &c, claim);
	if (!rc)
		rc = tpc_store_claim_add_fault(s, *claim, tpd_fault_code_name(r->code), r->ts, &added);
	if (!rc)
		rc = tpc_store_claim_add_timeline(s, *claim, now_iso, "opened", "system",
						  tpd_fault_code_name(r->code));
	return rc;
}

/* A new code joins an open claim: one more sentence, maybe a stronger
 * suggestion. */
static enum tpd_err claims_extend(struct tpc_store *s, const struct tpc_report *r, int64_t claim,
				  const char *now_iso)
{
	char sentence[1024], *desc;
	const char *old_desc, *old_res, *res;
	cJSON *cl = NULL;
	size_t n;
	enum tpd_err rc;

	rc = tpc_store_claim_add_timeline(s, claim, now_iso, "fault_added", "system",
					  tpd_fault_code_name(r->code));
	if (rc)
		return rc;
	rc = tpc_store_claim_get_locked(s, claim, &cl);
	if (rc)
		return rc;
	old_desc = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cl, "description"));
	old_res = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cl, "suggested_resolution"));
	claims_sentence(r, sentence, sizeof(sentence));
	n = (old_desc ? strlen(old_desc) : 0) + strlen(sentence) + 16;
	desc = malloc(n);
	if (!desc) {
		cJSON_Delete(cl);
		return TPD_ERR_NOMEM;
	}
	snprintf(desc, n, "%s\nThen %s", old_desc ? old_desc : "", sentence);
	res = claims_rows[r->code].resolution;
	if (claims_rank(old_res) >= claims_rank(res))
		res = old_res;
	rc = tpc_store_claim_update_text(s, claim, desc, res);
	free(desc);
	cJSON_Delete(cl);
	return rc;
}

enum tpd_err tpc_claims_apply(struct tpc_store *s, const struct tpc_report *r, int64_t report_id,
			      double now, struct tpc_claim_result *out)
{
	char now_iso[32];
	int64_t claim;
	bool added = false;
	enum tpd_err rc;

	out->claim = 0;
	out->opened = false;
	if (r->kind != TPD_TOPIC_FAULT || (r->cls != TPD_CLASS_POWER && r->cls != TPD_CLASS_THERMAL))
		return TPD_OK;
	tpc_iso_time(now, now_iso, sizeof(now_iso));
	rc = tpc_store_claim_find_open(s, r->dev, tpd_fault_class_name(r->cls), &claim);
	if (rc == TPD_ERR_NOTFOUND) {
		if (!r->raised)
			return TPD_OK; /* a clear with no open claim is history, not a claim */
		rc = claims_open(s, r, now_iso, &claim);
		out->opened = rc == TPD_OK;
	} else if (rc == TPD_OK && r->raised) {
		rc = tpc_store_claim_add_fault(s, claim, tpd_fault_code_name(r->code), r->ts, &added);
		if (!rc && added)
			rc = claims_extend(s, r, claim, now_iso);
	}
	if (rc)
		return rc;
	out->claim = claim;
	return tpc_store_claim_add_evidence(s, claim, report_id, "fault", r->seq, r->verified,
					    tpd_fault_code_name(r->code), r->raised ? "raised" : "cleared");
}
