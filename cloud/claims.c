/*
 * claims.c - the claim engine: dedup per (device, class), titles and
 * descriptions, warranty, priority, review deadline; support actions.
 *
 * Layout: per-code wording and resolution table, text helpers, opening and
 * extending claims from reports, the device notice, support actions.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <sys/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tpd/jws.h"
#include "tpd/wire.h"
#include "tpd/utf8.h"
#include "calendar.h"
#include "claims.h"
#include "events.h"
#include "fleet.h"
#include "lifecycle.h"
#include "registry.h"

/* What each code means to a customer, and what support should try first.
 * Ranked resolutions: a claim's suggestion is the strongest of its codes. */
static const struct claims_row {
	const char *phrase;
	const char *phrase_zh;
	const char *resolution;
	int rank;
} claims_rows[TPD_FAULT_CODE_COUNT] = {
	[TPD_FAULT_PWR_UNDERVOLT] = { "input voltage below its minimum; the power adapter is the "
				      "likely cause", "输入电压低于下限，电源适配器很可能是原因",
				      "replacement", 3 },
	[TPD_FAULT_PWR_OVERVOLT] = { "input voltage above its maximum; a non-original adapter is "
				     "likely", "输入电压高于上限，很可能使用了非原装适配器",
				     "remote_guidance", 1 },
	[TPD_FAULT_PWR_BROWNOUT] = { "repeated input voltage dips; the power adapter is the "
				     "likely cause", "输入电压反复跌落，电源适配器很可能是原因",
				     "replacement", 3 },
	[TPD_FAULT_PWR_OVERCURRENT] = { "input current above its limit", "输入电流超过限值",
					"repair", 2 },
	[TPD_FAULT_PWR_DEGRADING] = { "power supply degrading", "电源性能逐渐衰退", "replacement",
				      3 },
	[TPD_FAULT_TEMP_HIGH] = { "temperature above its warning limit", "温度超过警告限值",
				  "remote_guidance", 1 },
	[TPD_FAULT_TEMP_CRITICAL] = { "temperature above its critical limit", "温度超过临界限值",
				      "remote_guidance", 1 },
	[TPD_FAULT_TEMP_RISING] = { "temperature rising toward its critical limit",
				    "温度正朝临界限值上升", "remote_guidance", 1 },
	/* a fan still turning, only too slowly, is not "stopped" (claims_phrase) */
	[TPD_FAULT_FAN_STALL] = { "fan below its stall limit while the product is hot",
				  "产品发热时风扇转速低于停转限值", "repair", 2 },
	[TPD_FAULT_FAN_DEGRADED] = { "fan slowing down at the same demand; wear likely",
				     "相同需求下风扇转速下降，很可能已磨损", "repair", 2 },
	[TPD_FAULT_SENSOR_FAIL] = { "a sensor is unreadable or implausible",
				    "传感器无法读取或读数不可信", "remote_guidance", 1 },
	[TPD_FAULT_BOOT_LOOP] = { "repeated reboots", "反复重启", "remote_guidance", 1 },
};

/* The words for code at reading v: FAN_STALL at 0 rpm is a stopped fan. */
static const char *claims_phrase(enum tpd_fault_code code, double v, bool zh)
{
	if (code == TPD_FAULT_FAN_STALL && v == 0)
		return zh ? "产品发热时风扇停转" : "fan stopped while the product is hot";
	return zh ? claims_rows[code].phrase_zh : claims_rows[code].phrase;
}

/* Names the customer and a Chinese desk read for the codes' class and
 * severity, the origin and channel of a manual claim. */
static const char *claims_zh_word(const char *en)
{
	static const char *const words[][2] = {
		{ "power", "电源" }, { "thermal", "温度" }, { "sensor", "传感器" },
		{ "system", "系统" }, { "warning", "警告" }, { "critical", "严重" },
		{ "info", "提示" }, { "customer", "客户" }, { "support", "客服" },
		{ "web", "网页" }, { "phone", "电话" }, { "email", "电子邮件" },
		{ "chat", "在线聊天" },
	};

	for (size_t i = 0; en && i < sizeof(words) / sizeof(words[0]); i++) {
		if (strcmp(words[i][0], en) == 0)
			return words[i][1];
	}
	return en ? en : "?";
}

static const char *const claims_priorities[] = { "low", "normal", "high", NULL };

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

static int claims_priority_rank(const char *p)
{
	for (int i = 0; p && claims_priorities[i]; i++) {
		if (strcmp(p, claims_priorities[i]) == 0)
			return i;
	}
	return 1;
}

const char *tpc_claims_priority(enum tpd_fault_code code, const char *severity,
				bool predictive, double eta_s)
{
	/* A broken sensor's own severity says little: its readings are the fault. */
	if (tpd_fault_code_class(code) == TPD_CLASS_SENSOR)
		return "low";
	if (predictive && isfinite(eta_s) && eta_s < 2 * 86400.0)
		return "high";
	if (!predictive && severity && strcmp(severity, "critical") == 0)
		return "high";
	return "normal";
}

void tpc_iso_time(double unix_s, char *buf, size_t len)
{
	time_t t = (time_t)floor(unix_s);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Drops a UTF-8 character that a cut at the end of buf left incomplete
 * (claim text is served as JSON: it must stay valid UTF-8). */
static void claims_utf8_trim(char *buf)
{
	size_t n = strlen(buf), lead = n;
	unsigned long cp;

	while (lead > 0 && n - lead < 4 && ((unsigned char)buf[lead - 1] & 0xC0) == 0x80)
		lead--;
	if (lead > 0 && ((unsigned char)buf[lead - 1] & 0xC0) == 0xC0)
		lead--;   /* the lead byte of the last character */
	if (lead < n && tpd_utf8_seq((const unsigned char *)buf + lead, n - lead, &cp) != n - lead)
		buf[lead] = '\0';
}

/* "475 rpm", "85.6 °C", "11.2 V"; "(no reading)" for NAN. */
static void claims_quantity(const char *sensor, double v, bool zh, char *buf, size_t len)
{
	enum tpd_sensor_kind kind;
	const char *unit = "";

	if (tpd_sensor_kind_parse(sensor, &kind) == TPD_OK)
		unit = tpd_sensor_kind_unit(kind);
	if (isnan(v))
		snprintf(buf, len, zh ? "（无读数）" : "(no reading)");
	else
		snprintf(buf, len, "%g%s%s", v, unit[0] ? " " : "", unit);
}

static const cJSON *claims_fault(const struct tpc_report *r)
{
	return cJSON_GetObjectItemCaseSensitive(r->json, "fault");
}

static const char *claims_severity(const struct tpc_report *r)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(claims_fault(r), "severity"));
}

static double claims_fault_num(const struct tpc_report *r, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(claims_fault(r), key);

	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static double claims_eta(const struct tpc_report *r)
{
	return claims_fault_num(r, "eta_s");
}

/* "3.2 days" / "5.0 hours" / "12 minutes" */
static void claims_duration(double s, bool zh, char *buf, size_t len)
{
	if (s >= 2 * 86400)
		snprintf(buf, len, zh ? "%.1f 天" : "%.1f days", s / 86400);
	else if (s >= 2 * 3600)
		snprintf(buf, len, zh ? "%.1f 小时" : "%.1f hours", s / 3600);
	else
		snprintf(buf, len, zh ? "%.0f 分钟" : "%.0f minutes", s / 60);
}

/* Did the device's TEMP_RISING come from its excess detector ("basis")? */
static bool claims_fault_excess(const struct tpc_report *r)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(r->json, "fault");
	const char *b = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "basis"));

	return b && strcmp(b, "excess") == 0;
}

/* Why the device's detector predicts it (agent.c: "baseline", "now"). */
static void claims_fault_why(const struct tpc_report *r, bool zh, char *buf, size_t len)
{
	double base = claims_fault_num(r, "baseline"), now = claims_fault_num(r, "now");

	buf[0] = '\0';
	if (r->code == TPD_FAULT_TEMP_RISING && claims_fault_excess(r) && !isnan(base) &&
	    !isnan(now))
		snprintf(buf, len, zh ? " 在此负载下比参考传感器高 %.1f °C，早期为 %.1f °C"
			 "（%+.1f °C）。" : " It runs %.1f C above its reference sensor at this "
			 "load against %.1f C in its early life (%+.1f C).", now, base, now - base);
	else if (r->code == TPD_FAULT_TEMP_RISING && base > 0 && !isnan(now))
		snprintf(buf, len, zh ? " 其热斜率为每单位 CPU 负载 %.1f °C，早期为 %.1f °C"
			 "（%+.0f %%）。" : " Its thermal slope is %.1f C per unit of CPU load "
			 "against %.1f C in its early life (%+.0f %%).", now, base,
			 100 * (now / base - 1));
	else if (r->code == TPD_FAULT_FAN_DEGRADED && base > 0 && !isnan(now))
		snprintf(buf, len, zh ? " 在相同温度下风扇转速为早期的 %.0f %%。"
			 : " The fan turns at %.0f %% of its early-life speed at the same "
			 "temperature.", 100 * now / base);
}

/* One sentence about one fault report. */
static void claims_sentence(const struct tpc_report *r, bool zh, char *buf, size_t len)
{
	const char *sev = claims_severity(r), *cls = tpd_fault_class_name(r->cls);
	double eta = claims_eta(r);
	char at[32], since[32] = "", val[48], lim[48], forecast[512] = "";

	tpc_iso_time(r->ts, at, sizeof(at));
	claims_quantity(r->sensor, r->value, zh, val, sizeof(val));
	claims_quantity(r->sensor, r->limit, zh, lim, sizeof(lim));
	if (!isnan(r->since))
		tpc_iso_time(r->since, since, sizeof(since));
	if (r->predictive && isfinite(eta)) {
		char d[32], why[256];

		claims_duration(eta, zh, d, sizeof(d));
		claims_fault_why(r, zh, why, sizeof(why));
		snprintf(forecast, sizeof(forecast), zh ? "%s 预测：按当前趋势约 %s 后达到限值"
			 "（eta_s %.0f）。" : "%s Forecast: the limit is reached in about %s "
			 "(eta_s %.0f) at the present trend.", why, d, eta);
	}
	if (zh)
		snprintf(buf, len, "%s（%s，%s%s）于 %s：%s；%s 读数 %s，限值 %s%s%s%s。%s"
			 "签名报告 seq %llu，签名%s。", tpd_fault_code_name(r->code),
			 claims_zh_word(cls), claims_zh_word(sev), r->predictive ? "，预测性" : "",
			 at, claims_phrase(r->code, r->value, true), r->sensor, val, lim,
			 since[0] ? "，自 " : "", since, since[0] ? " 起持续" : "", forecast,
			 (unsigned long long)r->seq, r->verified ? "已验证" : "未通过验证");
	else
		snprintf(buf, len, "%s (%s, %s%s) at %s: %s; %s read %s against a limit of %s%s%s.%s "
			 "Signed report seq %llu, signature %s.", tpd_fault_code_name(r->code), cls,
			 sev ? sev : "?", r->predictive ? ", predictive" : "", at,
			 claims_phrase(r->code, r->value, false), r->sensor, val, lim,
			 since[0] ? ", condition since " : "", since, forecast,
			 (unsigned long long)r->seq, r->verified ? "verified" : "NOT verified");
}

/* What the on-device self-check attached to the fault found: failed steps
 * with their numbers, then how many passed. */
static void claims_selfcheck(const struct tpc_report *r, bool zh, char *buf, size_t len)
{
	const cJSON *sc = cJSON_GetObjectItemCaseSensitive(r->json, "selfcheck");
	const cJSON *steps = cJSON_GetObjectItemCaseSensitive(sc, "steps"), *st;
	size_t used;
	int pass = 0, skip = 0;

	if (!r->verdict || !cJSON_IsArray(steps)) {
		snprintf(buf, len, zh ? "未附带设备自检结果。"
			 : "No on-device self-check result was attached.");
		return;
	}
	used = (size_t)snprintf(buf, len, zh ? "设备自检：结论 %s。"
				: "On-device self-check: verdict %s.", r->verdict);
	cJSON_ArrayForEach(st, steps) {
		const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "id"));
		const char *res = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "result"));
		const char *detail = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "detail"));

		if (res && strcmp(res, "pass") == 0) {
			pass++;
		} else if (res && strcmp(res, "skip") == 0) {
			skip++;
		} else if (used < len) {
			int n = zh ? snprintf(buf + used, len - used, " 未通过 %s%s%.200s%s。",
					      id ? id : "?", detail ? "（" : "", detail ? detail : "",
					      detail ? "）" : "")
				   : snprintf(buf + used, len - used, " Failed %s%s%.200s%s.",
					      id ? id : "?", detail ? " (" : "", detail ? detail : "",
					      detail ? ")" : "");

			used += n > 0 ? (size_t)n : 0;
		}
	}
	if (used < len && zh)
		snprintf(buf + used, len - used, " %d 项通过，%d 项跳过。", pass, skip);
	else if (used < len)
		snprintf(buf + used, len - used, " %d step%s passed, %d skipped.", pass,
			 pass == 1 ? "" : "s", skip);
	claims_utf8_trim(buf);   /* a long detail may have been cut inside a character */
}

/* Queues {"op":"claim","claim":ID,"state":STATE} for the device. */
static enum tpd_err claims_notify(struct tpc_store *s, const char *dev, int64_t claim,
				  const char *state)
{
	char topic[TPD_TOPIC_MAX], cid[32], payload[160];

	if (tpd_topic_format(topic, sizeof(topic), dev, TPD_TOPIC_CMD))
		return TPD_ERR_INVAL;
	tpc_claim_id_format(claim, cid, sizeof(cid));
	snprintf(payload, sizeof(payload), "{\"op\":\"claim\",\"claim\":\"%s\",\"state\":\"%s\"}",
		 cid, state);
	return tpc_store_outbox_add(s, topic, payload);
}

static void claims_warranty_row(const struct tpc_warranty *w, struct tpc_claim_warranty *row)
{
	row->status = w->status;
	row->until = w->until[0] ? w->until : NULL;
	row->policy = w->policy;
	row->reason = w->reason[0] ? w->reason : NULL;
}

/* What a new claim says, whoever opens it. */
struct claims_new {
	const char *dev, *model, *fw;
	enum tpd_fault_code code;
	bool predictive;
	double detected_ts;
	const char *title, *description, *verdict, *severity, *by;
	const char *title_zh, *description_zh;
	double eta_s;
	const char *origin;      /* device|forecast */
	const char *forecast;    /* JSON of the trend, or NULL */
};

/* The claim's language: the registry's locale, else Chinese for a device
 * in the CN calendar region or reached over WeChat, else English. */
static const char *claims_locale(const char *locale, const char *region, const char *channel)
{
	if (locale && tpc_locale_valid(locale))
		return locale;
	if ((region && strcmp(region, "CN") == 0) || (channel && strcasecmp(channel, "wechat") == 0))
		return "zh-CN";
	return "en";
}

/* Inserts a claim with its warranty, first fault code, timeline and the
 * device's notice. */
static enum tpd_err claims_insert(struct tpc_store *s, const struct tpc_policy *policy,
				  const struct claims_new *n, double now, int64_t *claim)
{
	const char *code = tpd_fault_code_name(n->code);
	char now_iso[32], due_iso[32], token[TPC_TRACKING_TOKEN_LEN + 1];
	struct tpc_claim_new c = { 0 };
	struct tpc_device_profile dev;
	struct tpc_warranty w;
	bool added;
	enum tpd_err rc;

	rc = tpc_store_device_profile(s, n->dev, &dev);
	if (rc && rc != TPD_ERR_NOTFOUND)
		return rc;
	c.region = dev.region[0] ? dev.region : NULL;
	c.locale = claims_locale(dev.locale, dev.region, dev.channel);
	tpc_iso_time(now, now_iso, sizeof(now_iso));
	tpc_iso_time((double)tpc_policy_review_due(policy, c.region, now), due_iso, sizeof(due_iso));
	c.purchase_date = dev.purchase_date[0] ? dev.purchase_date : NULL;
	tpc_policy_warranty(policy, n->model, &code, 1, c.purchase_date, n->detected_ts, &w);
	c.device = n->dev;
	c.model = n->model;
	c.category = tpd_fault_class_name(tpd_fault_code_class(n->code));
	c.predictive = n->predictive;
	c.detected_ts = n->detected_ts;
	c.opened_at = now_iso;
	c.title = n->title;
	c.description = n->description;
	c.title_zh = n->title_zh;
	c.description_zh = n->description_zh;
	c.forecast = n->forecast;
	c.selfcheck_verdict = n->verdict;
	c.suggested_resolution = claims_rows[n->code].resolution;
	c.priority = tpc_claims_priority(n->code, n->severity, n->predictive, n->eta_s);
	c.review_due = due_iso;
	claims_warranty_row(&w, &c.warranty);
	c.origin = n->origin;
	rc = tpc_claims_tracking_token(token);
	c.tracking_token = token;
	if (!rc)
		rc = tpc_store_claim_insert(s, &c, claim);
	if (!rc)
		rc = tpc_store_claim_add_fault(s, *claim, code, n->detected_ts, &added);
	if (!rc)
		rc = tpc_store_claim_add_timeline(s, *claim, now_iso, "opened", n->by, code);
	if (!rc && w.reason[0])
		rc = tpc_store_claim_add_timeline(s, *claim, now_iso, "warranty", "system", w.reason);
	if (!rc)
		rc = claims_notify(s, n->dev, *claim, "open");
	if (!rc)
		rc = tpc_events_queue(s, *claim, "claim.opened", now);
	return rc;
}

/* A device fault's title: "MODEL: Phrase (sensor value, limit L)", with the
 * time to the limit when the device predicted it. */
static void claims_fault_title(const struct tpc_report *r, bool zh, char *buf, size_t len)
{
	const char *phrase = claims_phrase(r->code, r->value, zh);
	char val[48], lim[48], d[32];
	bool eta = r->predictive && isfinite(claims_eta(r));

	claims_quantity(r->sensor, r->value, zh, val, sizeof(val));
	claims_quantity(r->sensor, r->limit, zh, lim, sizeof(lim));
	if (eta)
		claims_duration(claims_eta(r), zh, d, sizeof(d));
	if (zh && eta)
		snprintf(buf, len, "%s：%s（%s %s；约 %s 后达到限值 %s）", r->model, phrase, r->sensor,
			 val, d, lim);
	else if (zh)
		snprintf(buf, len, "%s：%s（%s %s，限值 %s）", r->model, phrase, r->sensor, val, lim);
	else if (eta)
		snprintf(buf, len, "%s: %c%s (%s %s; limit %s in about %s)", r->model,
			 toupper((unsigned char)phrase[0]), phrase + 1, r->sensor, val, lim, d);
	else
		snprintf(buf, len, "%s: %c%s (%s %s, limit %s)", r->model,
			 toupper((unsigned char)phrase[0]), phrase + 1, r->sensor, val, lim);
}

static void claims_fault_description(const struct tpc_report *r, bool zh, char *buf, size_t len)
{
	char sentence[1280], sc[1024];

	claims_sentence(r, zh, sentence, sizeof(sentence));
	claims_selfcheck(r, zh, sc, sizeof(sc));
	snprintf(buf, len, zh ? "设备 %s（%s，固件 %s）报告：%s %s"
		 : "Device %s (%s, firmware %s) reported %s %s", r->dev, r->model,
		 r->fw ? r->fw : "?", sentence, sc);
}

static enum tpd_err claims_open(struct tpc_store *s, const struct tpc_policy *policy,
				const struct tpc_report *r, double now, int64_t *claim)
{
	char title[320], desc[4096], title_zh[400], desc_zh[4096];
	struct claims_new n = {
		.dev = r->dev, .model = r->model, .fw = r->fw, .code = r->code,
		.predictive = r->predictive, .detected_ts = r->ts, .title = title,
		.description = desc, .title_zh = title_zh, .description_zh = desc_zh,
		.verdict = r->verdict, .severity = claims_severity(r),
		.by = "system", .eta_s = claims_eta(r), .origin = "device",
	};

	claims_fault_title(r, false, title, sizeof(title));
	claims_fault_title(r, true, title_zh, sizeof(title_zh));
	claims_fault_description(r, false, desc, sizeof(desc));
	claims_fault_description(r, true, desc_zh, sizeof(desc_zh));
	return claims_insert(s, policy, &n, now, claim);
}

/* The claim's fault codes (pointers into cl), first first. */
static size_t claims_codes(const cJSON *cl, const char **codes, size_t max)
{
	const cJSON *it;
	size_t n = 0;

	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(cl, "fault_codes")) {
		if (n < max && cJSON_IsString(it))
			codes[n++] = it->valuestring;
	}
	return n;
}

static const char *claims_field(const cJSON *o, const char *key)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static bool claims_same(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Recomputes cl's warranty from the device's purchase date on record; writes
 * it (and a timeline line) when anything changed. */
static enum tpd_err claims_rewarrant_one(struct tpc_store *s, const struct tpc_policy *policy,
					 const cJSON *cl, int64_t claim, const char *now_iso)
{
	const cJSON *old = cJSON_GetObjectItemCaseSensitive(cl, "warranty");
	const cJSON *det = cJSON_GetObjectItemCaseSensitive(cl, "detected_ts");
	const char *codes[TPD_FAULT_CODE_COUNT], *bought = NULL;
	struct tpc_claim_warranty row;
	struct tpc_warranty w;
	struct tpc_device_profile dev;
	char note[400];
	size_t n = claims_codes(cl, codes, TPD_FAULT_CODE_COUNT);
	enum tpd_err rc;

	rc = tpc_store_device_profile(s, claims_field(cl, "device"), &dev);
	if (rc == TPD_OK && dev.purchase_date[0])
		bought = dev.purchase_date;
	else if (rc && rc != TPD_ERR_NOTFOUND)
		return rc;
	tpc_policy_warranty(policy, claims_field(cl, "model"), codes, n, bought,
			    cJSON_IsNumber(det) ? det->valuedouble : NAN, &w);
	if (claims_same(w.status, claims_field(old, "status")) &&
	    claims_same(w.until, claims_field(old, "until")) &&
	    claims_same(w.policy, claims_field(old, "policy")) &&
	    claims_same(bought, claims_field(cl, "purchase_date")))
		return TPD_OK;
	claims_warranty_row(&w, &row);
	row.purchase_date = bought;
	rc = tpc_store_claim_set_warranty(s, claim, &row);
	snprintf(note, sizeof(note), "%s%s%s (policy %s, purchased %s)%s%s", w.status,
		 w.until[0] ? " until " : "", w.until, w.policy, bought ? bought : "unknown",
		 w.reason[0] ? ": " : "", w.reason);
	if (!rc)
		rc = tpc_store_claim_add_timeline(s, claim, now_iso, "warranty", "system", note);
	return rc;
}

/* The claim's description in lang with r's sentence added (malloc'd). */
static char *claims_extended(const cJSON *cl, const char *lang, const struct tpc_report *r,
			     bool zh)
{
	const cJSON *text = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(cl, "text"), lang);
	const char *old = claims_field(text, "description");
	char sentence[1280], *desc;
	size_t n;

	claims_sentence(r, zh, sentence, sizeof(sentence));
	n = (old ? strlen(old) : 0) + strlen(sentence) + 16;
	desc = malloc(n);
	if (desc)
		snprintf(desc, n, zh ? "%s\n随后 %s" : "%s\nThen %s", old ? old : "", sentence);
	return desc;
}

/* A new code joins an open claim: one more sentence, maybe a stronger
 * suggestion and priority, and the warranty again (the code may be excluded). */
static enum tpd_err claims_extend(struct tpc_store *s, const struct tpc_policy *policy,
				  const struct tpc_report *r, int64_t claim, const char *now_iso)
{
	const char *old_res, *res, *old_prio, *prio;
	char *desc = NULL, *desc_zh = NULL;
	bool zh;
	cJSON *cl = NULL;
	enum tpd_err rc;

	rc = tpc_store_claim_add_timeline(s, claim, now_iso, "fault_added", "system",
					  tpd_fault_code_name(r->code));
	if (!rc)
		rc = tpc_store_claim_get_locked(s, claim, &cl);
	if (rc)
		return rc;
	old_res = claims_field(cl, "suggested_resolution");
	old_prio = claims_field(cl, "priority");
	desc = claims_extended(cl, "en", r, false);
	/* a claim from before the Chinese text (schema 8) stays English only */
	zh = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cl, "text"),
					      "zh-CN") != NULL;
	if (zh)
		desc_zh = claims_extended(cl, "zh-CN", r, true);
	if (!desc || (zh && !desc_zh)) {
		free(desc);
		free(desc_zh);
		cJSON_Delete(cl);
		return TPD_ERR_NOMEM;
	}
	res = claims_rows[r->code].resolution;
	if (claims_rank(old_res) >= claims_rank(res))
		res = old_res;
	prio = tpc_claims_priority(r->code, claims_severity(r), r->predictive, claims_eta(r));
	if (claims_priority_rank(old_prio) >= claims_priority_rank(prio))
		prio = old_prio;
	rc = tpc_store_claim_update_text(s, claim, desc, desc_zh, res, prio);
	free(desc);
	free(desc_zh);
	if (!rc)
		rc = claims_rewarrant_one(s, policy, cl, claim, now_iso);
	cJSON_Delete(cl);
	return rc;
}

enum tpd_err tpc_claims_apply(struct tpc_store *s, const struct tpc_policy *policy,
			      const struct tpc_report *r, int64_t report_id, double now,
			      struct tpc_claim_result *out)
{
	char now_iso[32];
	int64_t claim;
	bool added = false;
	enum tpd_err rc;

	out->claim = 0;
	out->opened = false;
	if (r->kind != TPD_TOPIC_FAULT)
		return TPD_OK;
	tpc_iso_time(now, now_iso, sizeof(now_iso));
	rc = tpc_store_claim_find_open(s, r->dev, tpd_fault_class_name(r->cls), &claim);
	if (rc == TPD_ERR_NOTFOUND) {
		if (!r->raised)
			return TPD_OK; /* a clear with no open claim is history, not a claim */
		rc = claims_open(s, policy, r, now, &claim);
		out->opened = rc == TPD_OK;
		/* another collector on the database opened it first (its insert
		 * committed while ours waited on the unique index): join it */
		if (rc == TPD_ERR_DUPLICATE)
			rc = tpc_store_claim_find_open(s, r->dev, tpd_fault_class_name(r->cls), &claim);
		if (rc == TPD_ERR_NOTFOUND)
			rc = TPD_ERR_DB;   /* and closed already: the redelivery decides */
	}
	if (rc == TPD_OK && !out->opened && r->raised) {
		rc = tpc_store_claim_add_fault(s, claim, tpd_fault_code_name(r->code), r->ts, &added);
		if (!rc && added)
			rc = claims_extend(s, policy, r, claim, now_iso);
	}
	if (rc)
		return rc;
	out->claim = claim;
	return tpc_store_claim_add_evidence(s, claim, report_id, "fault", r->seq, r->verified,
					    tpd_fault_code_name(r->code), r->raised ? "raised" : "cleared");
}

enum tpd_err tpc_claims_rewarrant(struct tpc_store *s, const struct tpc_policy *policy,
				  const char *dev, double now)
{
	struct tpc_claim_filter f = { .device = dev, .limit = 1000 };
	const cJSON *cl;
	cJSON *list;
	char now_iso[32];
	enum tpd_err rc;

	tpc_iso_time(now, now_iso, sizeof(now_iso));
	rc = tpc_store_claim_list_locked(s, &f, &list);
	if (rc)
		return rc;
	cJSON_ArrayForEach(cl, list) {
		int64_t id;

		if (rc || !tpc_claim_state_open(claims_field(cl, "state")) ||
		    !tpc_claim_id_parse(claims_field(cl, "id"), &id))
			continue;
		rc = claims_rewarrant_one(s, policy, cl, id, now_iso);
	}
	cJSON_Delete(list);
	return rc;
}

/* Support actions ------------------------------------------------------- */

/* Begins a transaction and reads the claim; on failure nothing is held. */
static enum tpd_err claims_begin(struct tpc_store *s, int64_t claim, cJSON **cl, char *why,
				 size_t whylen)
{
	char cid[32];
	enum tpd_err rc = tpc_store_begin(s);

	*cl = NULL;
	if (rc)
		return rc;
	rc = tpc_store_claim_get_locked(s, claim, cl);
	if (rc) {
		tpc_store_rollback(s);
		tpc_claim_id_format(claim, cid, sizeof(cid));
		if (rc == TPD_ERR_NOTFOUND)
			snprintf(why, whylen, "no claim %s", cid);
	}
	return rc;
}

static enum tpd_err claims_end(struct tpc_store *s, cJSON *cl, enum tpd_err rc)
{
	cJSON_Delete(cl);
	if (rc) {
		tpc_store_rollback(s);
		return rc;
	}
	return tpc_store_commit(s);
}

static enum tpd_err claims_text_ok(const char *what, const char *text, size_t max, bool required,
				   char *why, size_t whylen)
{
	size_t n = text ? strlen(text) : 0, bad = 0;

	if (required && n == 0) {
		snprintf(why, whylen, "%s: required, a non-empty string", what);
		return TPD_ERR_INVAL;
	}
	if (n > max) {
		snprintf(why, whylen, "%s: longer than %zu characters", what, max);
		return TPD_ERR_INVAL;
	}
	/* Stored and served as JSON and shown on terminals (issue 14): invalid
	 * UTF-8 would make GET /claims/{id} invalid JSON, an escape sequence
	 * would drive a support agent's terminal. Line breaks and tabs stay. */
	if (!tpd_utf8_clean(text ? text : "", n, TPD_UTF8_ALLOW_NEWLINES, &bad)) {
		unsigned long cp;

		if (tpd_utf8_seq((const unsigned char *)text + bad, n - bad, &cp))
			snprintf(why, whylen, "%s: control character U+%04lX at byte %zu is not allowed",
				 what, cp, bad);
		else
			snprintf(why, whylen, "%s: invalid UTF-8 at byte %zu", what, bad);
		return TPD_ERR_INVAL;
	}
	return TPD_OK;
}

enum tpd_err tpc_claims_transition(struct tpc_store *s, int64_t claim, const char *to,
				   const char *by, const char *note, double now,
				   char *why, size_t whylen)
{
	char now_iso[32];
	const char *from;
	cJSON *cl;
	enum tpd_err rc = claims_text_ok("note", note, TPC_NOTE_MAX, false, why, whylen);

	if (rc)
		return rc;
	if (!tpc_claim_state_valid(to))
		return tpc_lifecycle_check("open", to, why, whylen);
	rc = claims_begin(s, claim, &cl, why, whylen);
	if (rc)
		return rc;
	from = claims_field(cl, "state");
	rc = tpc_lifecycle_check(from, to, why, whylen);
	tpc_iso_time(now, now_iso, sizeof(now_iso));
	if (!rc)
		rc = tpc_store_claim_set_state(s, claim, to);
	if (!rc)
		rc = tpc_store_claim_add_timeline(s, claim, now_iso, to, by,
						  note && *note ? note : NULL);
	if (!rc)
		rc = claims_notify(s, claims_field(cl, "device"), claim, to);
	if (!rc)
		rc = tpc_events_queue(s, claim, "claim.state_changed", now);
	/* the customer is asked how it went (webhook.h, mail.h) */
	if (!rc && strcmp(to, "resolved") == 0)
		rc = tpc_events_queue(s, claim, "claim.feedback_requested", now);
	return claims_end(s, cl, rc);
}

enum tpd_err tpc_claims_note(struct tpc_store *s, int64_t claim, const char *by,
			     const char *note, double now, char *why, size_t whylen)
{
	char now_iso[32];
	cJSON *cl;
	enum tpd_err rc = claims_text_ok("note", note, TPC_NOTE_MAX, true, why, whylen);

	if (rc)
		return rc;
	rc = claims_begin(s, claim, &cl, why, whylen);
	if (rc)
		return rc;
	tpc_iso_time(now, now_iso, sizeof(now_iso));
	rc = tpc_store_claim_add_timeline(s, claim, now_iso, "note", by, note);
	if (!rc)
		rc = tpc_events_queue(s, claim, "claim.note_added", now);
	return claims_end(s, cl, rc);
}

/* One line of at most max bytes (a name, a part), or why not. */
static enum tpd_err claims_line_ok(const char *what, const char *text, size_t max, char *why,
				   size_t whylen)
{
	enum tpd_err rc = claims_text_ok(what, text, max, true, why, whylen);

	if (!rc && strpbrk(text, "\r\n\t")) {
		snprintf(why, whylen, "%s: one line", what);
		rc = TPD_ERR_INVAL;
	}
	return rc;
}

enum tpd_err tpc_claims_assign(struct tpc_store *s, int64_t claim, const char *assignee,
			       const char *by, double now, char *why, size_t whylen)
{
	struct tpc_claim_work w = { .set_assignee = true, .assignee = assignee };
	char now_iso[32];
	cJSON *cl;
	enum tpd_err rc = assignee ? claims_line_ok("assignee", assignee, TPC_ASSIGNEE_MAX, why,
						    whylen) : TPD_OK;

	if (rc)
		return rc;
	rc = claims_begin(s, claim, &cl, why, whylen);
	if (rc)
		return rc;
	if (claims_same(assignee, claims_field(cl, "assignee")))
		return claims_end(s, cl, TPD_OK);   /* no timeline line, no event */
	tpc_iso_time(now, now_iso, sizeof(now_iso));
	rc = tpc_store_claim_set_work(s, claim, &w);
	if (!rc)
		rc = tpc_store_claim_add_timeline(s, claim, now_iso, assignee ? "assigned" : "unassigned",
						  by, assignee);
	if (!rc)
		rc = tpc_events_queue(s, claim, "claim.assigned", now);
	return claims_end(s, cl, rc);
}

enum tpd_err tpc_claims_set_resolution(struct tpc_store *s, int64_t claim,
				       const char *summary, const char *const *parts,
				       size_t nparts, const char *at, const char *by, double now,
				       char *why, size_t whylen)
{
	struct tpc_claim_work w = { .set_resolution = true, .summary = summary, .by = by };
	char now_iso[32], what[32], *parts_json = NULL;
	cJSON *cl = NULL, *arr;
	double at_s;
	enum tpd_err rc = claims_text_ok("summary", summary, TPC_NOTE_MAX, true, why, whylen);

	if (rc)
		return rc;
	if (nparts > TPC_PARTS_MAX) {
		snprintf(why, whylen, "parts: at most %d", TPC_PARTS_MAX);
		return TPD_ERR_INVAL;
	}
	for (size_t i = 0; !rc && i < nparts; i++) {
		snprintf(what, sizeof(what), "parts[%zu]", i);
		rc = claims_line_ok(what, parts[i], TPC_PART_MAX, why, whylen);
	}
	if (rc)
		return rc;
	if (at && (!tpc_iso_parse(at, &at_s) || strlen(at) != 20)) {
		snprintf(why, whylen, "at: \"%.30s\" is not YYYY-MM-DDTHH:MM:SSZ", at);
		return TPD_ERR_INVAL;
	}
	if (at && at_s > now + 300) {
		snprintf(why, whylen, "at: %s is in the future", at);
		return TPD_ERR_INVAL;
	}
	tpc_iso_time(now, now_iso, sizeof(now_iso));
	w.at = at ? at : now_iso;
	arr = cJSON_CreateArray();
	for (size_t i = 0; arr && i < nparts; i++)
		if (!cJSON_AddItemToArray(arr, cJSON_CreateString(parts[i])))
			break;
	parts_json = arr ? cJSON_PrintUnformatted(arr) : NULL;
	cJSON_Delete(arr);
	if (!parts_json)
		return TPD_ERR_NOMEM;
	w.parts = parts_json;
	rc = claims_begin(s, claim, &cl, why, whylen);
	if (rc) {
		cJSON_free(parts_json);
		return rc;
	}
	rc = tpc_store_claim_set_work(s, claim, &w);
	if (!rc)
		rc = tpc_store_claim_add_timeline(s, claim, now_iso, "resolution", by, summary);
	if (!rc)
		rc = tpc_events_queue(s, claim, "claim.resolution", now);
	cJSON_free(parts_json);
	return claims_end(s, cl, rc);
}

static enum tpd_err claims_feedback(struct tpc_store *s, int64_t claim, int rating,
				    const char *comment, const char *by, double now, bool once,
				    char *why, size_t whylen)
{
	char now_iso[32], note[TPC_COMMENT_MAX + 32];
	const char *state;
	cJSON *cl;
	enum tpd_err rc = claims_text_ok("comment", comment, TPC_COMMENT_MAX, false, why, whylen);

	if (rc)
		return rc;
	if (rating < 1 || rating > 5) {
		snprintf(why, whylen, "rating: %d is not 1..5", rating);
		return TPD_ERR_INVAL;
	}
	rc = claims_begin(s, claim, &cl, why, whylen);
	if (rc)
		return rc;
	state = claims_field(cl, "state");
	if (!tpc_claim_feedback_allowed(state)) {
		snprintf(why, whylen, "feedback is taken on resolved or closed claims; this one is %s",
			 state ? state : "?");
		return claims_end(s, cl, TPD_ERR_STATE);
	}
	if (once && !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(cl, "feedback"))) {
		snprintf(why, whylen, "feedback was given already; thank you");
		return claims_end(s, cl, TPD_ERR_STATE);
	}
	tpc_iso_time(now, now_iso, sizeof(now_iso));
	snprintf(note, sizeof(note), "rating %d/5%s%s", rating, comment && *comment ? ": " : "",
		 comment ? comment : "");
	rc = tpc_store_claim_set_feedback(s, claim, rating, comment && *comment ? comment : NULL,
					  now_iso);
	if (!rc)
		rc = tpc_store_claim_add_timeline(s, claim, now_iso, "feedback", by, note);
	if (!rc)
		rc = tpc_events_queue(s, claim, "claim.feedback", now);
	return claims_end(s, cl, rc);
}

enum tpd_err tpc_claims_feedback(struct tpc_store *s, int64_t claim, int rating,
				 const char *comment, const char *by, double now,
				 char *why, size_t whylen)
{
	return claims_feedback(s, claim, rating, comment, by, now, false, why, whylen);
}

enum tpd_err tpc_claims_customer_feedback(struct tpc_store *s, int64_t claim, int rating,
					  const char *comment, double now, char *why,
					  size_t whylen)
{
	return claims_feedback(s, claim, rating, comment, "customer", now, true, why, whylen);
}

/* Why the engine predicts it: the detector's quantity against early life. */
static void claims_forecast_why(const struct tpc_prediction *p, bool zh, char *buf, size_t len)
{
	if (p->code == TPD_FAULT_TEMP_RISING && !isnan(p->now) && p->excess)
		snprintf(buf, len, zh ? "在此负载下比参考传感器高 %.1f °C，早期为 %.1f °C（%+.1f °C："
			 "同样的工作产生更多热量，常见原因是积灰或风扇变慢；环境温度对两个传感器的"
			 "影响相同）" : "it runs %.1f C above its reference sensor at this load "
			 "against %.1f C in its early life (%+.1f C: more heat for the same work, as "
			 "dust or a slower fan cause; ambient moves both sensors alike)",
			 p->now, p->baseline, p->now - p->baseline);
	else if (p->code == TPD_FAULT_TEMP_RISING && !isnan(p->now))
		snprintf(buf, len, zh ? "其热斜率为每单位 CPU 负载 %.1f °C，早期为 %.1f °C（%+.0f %%："
			 "同样的工作产生更多热量，常见原因是积灰或风扇变慢；环境温度只影响水平，"
			 "不影响斜率）" : "its thermal slope is %.1f C per unit of CPU load against "
			 "%.1f C in its early life (%+.0f %%: more heat for the same work, as dust "
			 "or a slower fan cause; ambient moves the level, not the slope)",
			 p->now, p->baseline, 100 * (p->now / p->baseline - 1));
	else if (p->code == TPD_FAULT_FAN_DEGRADED && !isnan(p->now))
		snprintf(buf, len, zh ? "在相同温度下转速为早期的 %.0f %%（轴承磨损会使风扇在相同需求下"
			 "转得更慢）" : "it turns at %.0f %% of its early-life speed at the same "
			 "temperature (a worn bearing turns slower at the same demand)", 100 * p->now);
	else
		snprintf(buf, len, zh ? "相同负载下读数持续漂移" : "its reading drifts at the same load");
}

/* The engine's forecast in words, with its numbers. */
static void claims_forecast_text(const struct tpc_prediction *p, bool zh, char *buf, size_t len)
{
	char val[48], lim[48], eta[32], early[32] = "?", late[32] = "?", fleet[200] = "";
	char why[512];
	enum tpd_sensor_kind kind;
	const char *unit = "";
	/* the ETA comes from the detector's own quantity, the band from the
	 * reading's trend: say so when they disagree */
	bool agree = p->eta_s >= p->eta_early_s && !(p->eta_s > p->eta_late_s);

	if (tpd_sensor_kind_parse(p->sensor, &kind) == TPD_OK)
		unit = tpd_sensor_kind_unit(kind);
	claims_quantity(p->sensor, p->value, zh, val, sizeof(val));
	claims_quantity(p->sensor, p->limit, zh, lim, sizeof(lim));
	claims_duration(p->eta_s, zh, eta, sizeof(eta));
	if (isfinite(p->eta_early_s))
		claims_duration(p->eta_early_s, zh, early, sizeof(early));
	if (isfinite(p->eta_late_s))
		claims_duration(p->eta_late_s, zh, late, sizeof(late));
	else
		snprintf(late, sizeof(late), zh ? "不会达到" : "not at all");
	if (!isnan(p->fleet_center))
		snprintf(fleet, sizeof(fleet), zh ? "（%s 机型共 %u 台设备，平均偏离 %+.0f %%）"
			 : " (the %s fleet of %u stands at %+.0f %% on average)",
			 p->model, p->fleet_n, 100 * p->fleet_center);
	if (p->code == TPD_FAULT_PWR_DEGRADING && isnan(p->slope_per_day)) {
		if (zh)
			snprintf(buf, len, "收集器根据 %.0f 小时的遥测预测 %s：%s 上的欠压事件频率远高于"
				 "设备自身的长期水平，且分布在多个不同小时（最近一小时：%.0f 次）；按此"
				 "趋势，约 %s 内将出现掉电（每小时 %g 次事件）。置信度 %.0f %%。", p->hours,
				 tpd_fault_code_name(p->code), p->sensor, p->value, eta, p->limit,
				 100 * p->confidence);
		else
			snprintf(buf, len, "The collector forecasts %s from %.0f hours of telemetry: "
				 "under-voltage events on %s come at a rate well above the device's own "
				 "long-run rate, in several distinct hours (last hour: %.0f); at that "
				 "trend brownouts (%g events an hour) follow within about %s. "
				 "Confidence %.0f %%.", tpd_fault_code_name(p->code), p->hours, p->sensor,
				 p->value, p->limit, eta, 100 * p->confidence);
		return;
	}
	claims_forecast_why(p, zh, why, sizeof(why));
	if (zh)
		snprintf(buf, len, "收集器根据 %.0f 小时的遥测预测 %s：%s%s；%s 在%s负载下为 %s，每天变化 "
			 "%+.3g ± %.2g %s；约 %s 后达到限值 %s（%s区间 %s 至 %s），置信度 %.1f %%。"
			 "遥测未签名（其身份由设备的 TLS 客户端证书确认）。",
			 p->hours, tpd_fault_code_name(p->code), why, fleet, p->sensor,
			 p->code == TPD_FAULT_FAN_DEGRADED ? "今日" : "繁忙时段", val,
			 p->slope_per_day, p->slope_se_per_day, unit, eta, lim,
			 agree ? "" : "仅按读数自身趋势：", early, late, 100 * p->confidence);
	else
		snprintf(buf, len, "The collector forecasts %s from %.0f hours of telemetry: %s%s; "
			 "%s is %s at %s demand and moves %+.3g +- %.2g %s a day; the "
			 "limit of %s is reached in about %s (%sbetween %s and %s), confidence %.1f %%. "
			 "Telemetry is unsigned (its identity is the device's TLS client certificate).",
			 tpd_fault_code_name(p->code), p->hours, why, fleet, p->sensor, val,
			 p->code == TPD_FAULT_FAN_DEGRADED ? "today's" : "a busy hour's",
			 p->slope_per_day, p->slope_se_per_day, unit, lim, eta,
			 agree ? "" : "the reading's own trend alone: ", early, late,
			 100 * p->confidence);
}

/* The numbers a predictive claim was opened on, for the console's plot:
 * the reading's line from (ts, value) at slope_per_day to the limit, and
 * the ETA band. Non-finite numbers are null. Caller frees. */
static char *claims_forecast_json(const struct tpc_prediction *p)
{
	const struct { const char *key; double v; } nums[] = {
		{ "ts", p->ts }, { "value", p->value }, { "limit", p->limit },
		{ "slope_per_day", p->slope_per_day }, { "slope_se_per_day", p->slope_se_per_day },
		{ "eta_s", p->eta_s }, { "eta_early_s", p->eta_early_s },
		{ "eta_late_s", p->eta_late_s }, { "confidence", p->confidence },
	};
	cJSON *o = cJSON_CreateObject();
	char *text = NULL;
	bool ok = o && cJSON_AddStringToObject(o, "sensor", p->sensor) &&
		  cJSON_AddStringToObject(o, "code", tpd_fault_code_name(p->code));

	for (size_t i = 0; ok && i < sizeof(nums) / sizeof(nums[0]); i++)
		ok = isfinite(nums[i].v) ? cJSON_AddNumberToObject(o, nums[i].key, nums[i].v) != NULL
					 : cJSON_AddNullToObject(o, nums[i].key) != NULL;
	if (ok)
		text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

/* Has dev ever had a claim with this class and code? (one indexed
 * existence query: this runs inside ingest for every forecast) */
static enum tpd_err claims_had(struct tpc_store *s, const char *dev, const char *category,
			       const char *code, bool *had)
{
	return tpc_store_claim_had(s, dev, category, code, had);
}

/*
 * The forecast an open claim is drawn with (the console's ETA band): a
 * raised one replaces the claim's when it is the same code's or comes
 * sooner; a reversed one clears its own code's (no ETA left to draw).
 */
static enum tpd_err claims_track_forecast(struct tpc_store *s, int64_t claim,
					  const struct tpc_prediction *p)
{
	struct tpc_claim_work w = { .set_forecast = true };
	const cJSON *cur;
	cJSON *cl = NULL;
	double cur_eta;
	bool same;
	enum tpd_err rc = tpc_store_claim_get_locked(s, claim, &cl);

	if (rc)
		return rc;
	cur = cJSON_GetObjectItemCaseSensitive(cl, "forecast");
	same = claims_same(claims_field(cur, "code"), tpd_fault_code_name(p->code));
	cur_eta = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(cur, "eta_s"));
	if (p->raised && (!cJSON_IsObject(cur) || same || !(cur_eta <= p->eta_s))) {
		w.forecast = claims_forecast_json(p);
		rc = w.forecast ? tpc_store_claim_set_work(s, claim, &w) : TPD_ERR_NOMEM;
		cJSON_free((char *)w.forecast);
	} else if (!p->raised && same) {
		rc = tpc_store_claim_set_work(s, claim, &w);
	}
	cJSON_Delete(cl);
	return rc;
}

static enum tpd_err claims_predicted(struct tpc_store *s, const struct tpc_policy *policy,
				     const struct tpc_prediction *p, double now,
				     struct tpc_claim_result *out)
{
	const char *code = tpd_fault_code_name(p->code);
	const char *category = tpd_fault_class_name(tpd_fault_code_class(p->code));
	char text[1200], title[320], desc[2048], now_iso[32], lim[48], d[32];
	char text_zh[1600], title_zh[400], desc_zh[2048];
	int64_t claim = 0;
	bool had, added;
	enum tpd_err rc;

	memset(out, 0, sizeof(*out));
	tpc_iso_time(now, now_iso, sizeof(now_iso));
	claims_forecast_text(p, false, text, sizeof(text));
	rc = tpc_store_begin(s);
	if (rc)
		return rc;
	rc = tpc_store_claim_find_open(s, p->dev, category, &claim);
	if (rc == TPD_OK) {
		if (p->raised) {
			rc = tpc_store_claim_add_fault(s, claim, code, p->ts, &added);
			if (!rc)
				rc = tpc_store_claim_add_timeline(s, claim, now_iso, "forecast",
								  "predictor", text);
			if (!rc)
				rc = claims_track_forecast(s, claim, p);
		} else {
			rc = claims_had(s, p->dev, category, code, &had);
			if (!rc && had) {
				snprintf(text, sizeof(text), "%s trend reversed: %s no longer nears its "
					 "limit within the horizon (now %.4g, moving %+.3g a day).", code,
					 p->sensor, p->value, p->slope_per_day);
				rc = tpc_store_claim_add_timeline(s, claim, now_iso, "trend_reversed",
								  "predictor", text);
			if (!rc && had)
				rc = claims_track_forecast(s, claim, p);
			}
		}
		out->claim = rc ? 0 : claim;
	} else if (rc == TPD_ERR_NOTFOUND && p->raised) {
		rc = claims_had(s, p->dev, category, code, &had);
		if (!rc && !had) {
			struct claims_new n = {
				.dev = p->dev, .model = p->model, .code = p->code, .predictive = true,
				.detected_ts = p->ts, .title = title, .description = desc,
				.title_zh = title_zh, .description_zh = desc_zh,
				.severity = "warning", .by = "predictor", .eta_s = p->eta_s,
				.origin = "forecast", .forecast = claims_forecast_json(p),
			};

			claims_quantity(p->sensor, p->limit, false, lim, sizeof(lim));
			claims_duration(p->eta_s, false, d, sizeof(d));
			snprintf(title, sizeof(title), "%s: %c%s (%s; limit %s in about %s, forecast)",
				 p->model, toupper((unsigned char)claims_rows[p->code].phrase[0]),
				 claims_rows[p->code].phrase + 1, p->sensor, lim, d);
			snprintf(desc, sizeof(desc), "Device %s (%s): %s", p->dev, p->model, text);
			claims_quantity(p->sensor, p->limit, true, lim, sizeof(lim));
			claims_duration(p->eta_s, true, d, sizeof(d));
			claims_forecast_text(p, true, text_zh, sizeof(text_zh));
			snprintf(title_zh, sizeof(title_zh), "%s：%s（%s；约 %s 后达到限值 %s，预测）",
				 p->model, claims_rows[p->code].phrase_zh, p->sensor, d, lim);
			snprintf(desc_zh, sizeof(desc_zh), "设备 %s（%s）：%s", p->dev, p->model,
				 text_zh);
			rc = n.forecast ? claims_insert(s, policy, &n, now, &claim) : TPD_ERR_NOMEM;
			cJSON_free((char *)n.forecast);
			out->claim = rc ? 0 : claim;
			out->opened = rc == TPD_OK;
		}
	} else if (rc == TPD_ERR_NOTFOUND) {
		rc = TPD_OK;
	}
	if (rc) {
		tpc_store_rollback(s);
		return rc;
	}
	return tpc_store_commit(s);
}

/* The claim a forecast (or a manual report) would open may have been opened
 * by another collector on the database meanwhile: its insert then fails on
 * the one-open-claim index (TPD_ERR_DUPLICATE, all rolled back), and a
 * second pass finds it and joins it. An insert chosen as a deadlock's
 * victim (TPD_ERR_RETRY) is made again the same way: the first pass's
 * rollback let the other transaction go on. (A fault's claim is not tried
 * again inside its batch: the batch still holds what the other waits for;
 * the batch is refused and the broker delivers it again.) */
static bool claims_again(enum tpd_err rc)
{
	return rc == TPD_ERR_DUPLICATE || rc == TPD_ERR_RETRY;
}

enum tpd_err tpc_claims_predicted(struct tpc_store *s, const struct tpc_policy *policy,
				  const struct tpc_prediction *p, double now,
				  struct tpc_claim_result *out)
{
	enum tpd_err rc = claims_predicted(s, policy, p, now, out);

	return claims_again(rc) ? claims_predicted(s, policy, p, now, out) : rc;
}

/* Manual claims ---------------------------------------------------------- */

enum tpd_err tpc_claims_tracking_token(char out[TPC_TRACKING_TOKEN_LEN + 1])
{
	unsigned char b[32];

	/* 256 bits from the kernel's CSPRNG: not guessable, and no RNG state
	 * of ours shared between the ingest and HTTP threads */
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return TPD_ERR_IO;
	tpd_b64url_encode(b, sizeof(b), out);
	return TPD_OK;
}

static const char *const claims_channels[] = { "web", "phone", "email", "chat", NULL };

static bool claims_in(const char *s, const char *const *set)
{
	for (size_t i = 0; set[i]; i++)
		if (strcmp(s, set[i]) == 0)
			return true;
	return false;
}

static enum tpd_err claims_manual_check(const struct tpc_claim_manual *m, char *why, size_t whylen)
{
	static const char *const cats[] = { "power", "thermal", "sensor", "system", NULL };
	int64_t days;
	enum tpd_err rc;

	if (!m->device || !tpd_id_valid(m->device)) {
		snprintf(why, whylen, "device: required, the serial number ([A-Za-z0-9_-]{1,64})");
		return TPD_ERR_INVAL;
	}
	rc = claims_text_ok("description", m->description, TPC_NOTE_MAX, true, why, whylen);
	if (!rc)
		rc = claims_text_ok("contact", m->contact, 200, false, why, whylen);
	if (!rc)
		rc = claims_text_ok("model", m->model, 64, false, why, whylen);
	if (rc)
		return rc;
	if (m->model && strpbrk(m->model, "\r\n\t")) {
		snprintf(why, whylen, "model: one line");
		return TPD_ERR_INVAL;
	}
	if (m->channel && !claims_in(m->channel, claims_channels)) {
		snprintf(why, whylen, "channel: \"%.20s\" is not web, phone, email or chat", m->channel);
		return TPD_ERR_INVAL;
	}
	if (m->category && !claims_in(m->category, cats)) {
		snprintf(why, whylen, "category: \"%.20s\" is not power, thermal, sensor or system",
			 m->category);
		return TPD_ERR_INVAL;
	}
	if (m->purchase_date && (strlen(m->purchase_date) != 10 ||
				 !tpc_date_parse(m->purchase_date, &days))) {
		snprintf(why, whylen, "purchase_date: \"%.20s\" is not a date YYYY-MM-DD",
			 m->purchase_date);
		return TPD_ERR_INVAL;
	}
	return TPD_OK;
}

/* The first line-ish of a description for a title: at most len - 1 bytes,
 * cut before a UTF-8 character, never inside one, blanks for line breaks. */
static void claims_excerpt(const char *text, char *buf, size_t len)
{
	size_t n = strlen(text);

	if (n > len - 1) {
		n = len - 1;
		while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
			n--;   /* text[n] would continue the character before it */
	}
	memcpy(buf, text, n);
	buf[n] = '\0';
	for (char *p = buf; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
}

/* Appends a sentence to buf (cut at len, at a character boundary). */
__attribute__((format(printf, 3, 4)))
static void claims_cat(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;
	int n;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n >= len - used)
		claims_utf8_trim(buf);
}

/* What the device told us lately, attached to a manual claim: its last
 * telemetry (as numbers with units), its faults of the last 30 days and its
 * last self-check, each as evidence and summed up in the description. */
static enum tpd_err claims_attach(struct tpc_store *s, int64_t claim, const char *dev,
				  double now, char *desc, char *desc_zh, size_t desclen,
				  const char **verdict, char *vbuf, size_t vlen, char *fault_class,
				  size_t fclen)
{
	static const char *const kinds[] = { "telemetry", "fault", "selfcheck" };
	static const unsigned limits[] = { 1, 10, 1 };
	double ref_ts = now;
	enum tpd_err rc = TPD_OK;

	*verdict = NULL;
	for (size_t k = 0; !rc && k < 3; k++) {
		cJSON *rows = NULL, *row;
		bool first = true;

		rc = tpc_store_reports_recent(s, dev, kinds[k], 0, limits[k], &rows);
		cJSON_ArrayForEach(row, rows) {
			double ts = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(row, "ts"));

			/* "recent" on the device's clock: a replayed or long-offline
			 * device still has its last month */
			if (k == 0)
				ref_ts = ts;
			if (k == 1 && ts < ref_ts - 30 * 86400.0)
				continue;
			double id = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(row, "id"));
			double seq = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(row, "seq"));
			bool verified = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(row, "verified"));
			cJSON *body = cJSON_Parse(cJSON_GetStringValue(
				cJSON_GetObjectItemCaseSensitive(row, "body")));
			const cJSON *f = cJSON_GetObjectItemCaseSensitive(body, "fault");
			const char *code = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "code"));
			const char *state = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "state"));

			if (rc) {
				cJSON_Delete(body);
				break;
			}
			/* telemetry is kept as compact rows, not as reports: it is
			 * context in the description, not evidence (id 0) */
			if (id > 0)
				rc = tpc_store_claim_add_evidence(s, claim, (int64_t)id, kinds[k],
								  (uint64_t)seq, verified, code, state);
			if (k == 0) {
				const cJSON *sensors = cJSON_GetObjectItemCaseSensitive(body, "sensors"), *it;

				claims_cat(desc, desclen, " Last telemetry (seq %.0f):", seq);
				claims_cat(desc_zh, desclen, " 最近遥测（seq %.0f）：", seq);
				cJSON_ArrayForEach(it, sensors) {
					char q[48];
					double avg = cJSON_GetNumberValue(
						cJSON_GetObjectItemCaseSensitive(it, "avg"));

					claims_quantity(it->string, avg, false, q, sizeof(q));
					claims_cat(desc, desclen, "%s %s %s", first ? "" : ",", it->string, q);
					claims_quantity(it->string, avg, true, q, sizeof(q));
					claims_cat(desc_zh, desclen, "%s%s %s", first ? "" : "，", it->string, q);
					first = false;
				}
				claims_cat(desc, desclen, ".");
				claims_cat(desc_zh, desclen, "。");
			} else if (k == 1 && code) {
				claims_cat(desc, desclen, "%s%s %s", first ? " Faults in the last 30 days "
					   "(newest first): " : ", ", code, state ? state : "");
				claims_cat(desc_zh, desclen, "%s%s %s", first ? " 最近 30 天的故障（最新在前）："
					   : "，", code, state ? state : "");
				if (first && !fault_class[0] && state && strcmp(state, "raised") == 0) {
					const char *cls = cJSON_GetStringValue(
						cJSON_GetObjectItemCaseSensitive(f, "class"));

					if (cls)
						snprintf(fault_class, fclen, "%s", cls);
				}
				first = false;
			} else if (k == 2) {
				const char *v = cJSON_GetStringValue(
					cJSON_GetObjectItemCaseSensitive(body, "verdict"));
				const cJSON *steps = cJSON_GetObjectItemCaseSensitive(body, "steps"), *st;

				if (v) {
					snprintf(vbuf, vlen, "%s", v);
					*verdict = vbuf;
					claims_cat(desc, desclen, " Last self-check: %s.", v);
					claims_cat(desc_zh, desclen, " 最近自检：%s。", v);
				}
				cJSON_ArrayForEach(st, steps) {
					const char *res = cJSON_GetStringValue(
						cJSON_GetObjectItemCaseSensitive(st, "result"));
					const char *sid = cJSON_GetStringValue(
						cJSON_GetObjectItemCaseSensitive(st, "id"));

					if (res && sid && strcmp(res, "fail") == 0) {
						claims_cat(desc, desclen, " Failed %s.", sid);
						claims_cat(desc_zh, desclen, " 未通过 %s。", sid);
					}
				}
			}
			cJSON_Delete(body);
		}
		if (k == 1 && !first) {
			claims_cat(desc, desclen, ".");
			claims_cat(desc_zh, desclen, "。");
		}
		cJSON_Delete(rows);
	}
	return rc;
}

static enum tpd_err claims_manual(struct tpc_store *s, const struct tpc_policy *policy,
				  const struct tpc_claim_manual *m, double now,
				  struct tpc_claim_result *out, char *why, size_t whylen)
{
	char now_iso[32], due_iso[32], title[200], desc[4096], token[TPC_TRACKING_TOKEN_LEN + 1];
	char title_zh[240], desc_zh[4096], vbuf[32], fault_class[16] = "", excerpt[104];
	const char *model, *purchase, *verdict = NULL, *contact, *channel, *category;
	struct tpc_claim_new c = { 0 };
	struct tpc_warranty w;
	cJSON *dev = NULL;
	int64_t claim = 0;
	enum tpd_err rc = claims_manual_check(m, why, whylen);

	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	rc = tpc_store_begin(s);
	if (rc)
		return rc;
	rc = tpc_store_device_get_locked(s, m->device, &dev);
	if (rc == TPD_ERR_NOTFOUND && strcmp(m->origin, "customer") == 0) {
		snprintf(why, whylen, "no device with serial %s is registered; check the label on "
			 "the device, or contact support", m->device);
		goto fail;
	}
	if (rc == TPD_ERR_NOTFOUND && !m->model) {
		snprintf(why, whylen, "device %s is not known: give its model", m->device);
		rc = TPD_ERR_INVAL;
		goto fail;
	}
	if (rc && rc != TPD_ERR_NOTFOUND)
		goto fail;
	/* the registry's facts win over what a form says */
	model = claims_field(dev, "model");
	model = model && *model ? model : m->model;
	purchase = claims_field(dev, "purchase_date");
	purchase = purchase && *purchase ? purchase : m->purchase_date;
	contact = m->contact && *m->contact ? m->contact : claims_field(dev, "owner_contact");
	channel = m->channel ? m->channel : claims_field(dev, "channel");
	c.region = claims_field(dev, "region");
	c.locale = claims_locale(claims_field(dev, "locale"), c.region, channel);
	tpc_iso_time(now, now_iso, sizeof(now_iso));
	tpc_iso_time((double)tpc_policy_review_due(policy, c.region, now), due_iso, sizeof(due_iso));
	snprintf(desc, sizeof(desc), "Reported by the %s%s%s: \"%s\".", m->origin,
		 channel ? " via " : "", channel ? channel : "", m->description);
	snprintf(desc_zh, sizeof(desc_zh), "由%s%s%s报告：“%s”。", claims_zh_word(m->origin),
		 channel ? "通过" : "", channel ? claims_zh_word(channel) : "", m->description);
	if (m->purchase_date && claims_field(dev, "purchase_date") &&
	    strcmp(m->purchase_date, claims_field(dev, "purchase_date")) != 0) {
		claims_cat(desc, sizeof(desc), " Purchase date given as %s; the registry says %s.",
			   m->purchase_date, claims_field(dev, "purchase_date"));
		claims_cat(desc_zh, sizeof(desc_zh), " 表单填写的购买日期为 %s；登记记录为 %s。",
			   m->purchase_date, claims_field(dev, "purchase_date"));
	}
	/* the claim must exist before its evidence: insert first, then attach
	 * and rewrite the description (one transaction) */
	rc = tpc_claims_tracking_token(token);
	if (rc)
		goto fail;
	category = m->category;
	tpc_policy_warranty(policy, model, NULL, 0, purchase, now, &w);
	claims_excerpt(m->description, excerpt, sizeof(excerpt));
	snprintf(title, sizeof(title), "%s: reported by the %s: %s", model ? model : "?",
		 m->origin, excerpt);
	snprintf(title_zh, sizeof(title_zh), "%s：%s报告：%s", model ? model : "?",
		 claims_zh_word(m->origin), excerpt);
	c.device = m->device;
	c.model = model;
	c.category = category ? category : "system";
	c.detected_ts = now;
	c.opened_at = now_iso;
	c.purchase_date = purchase;
	c.title = title;
	c.description = desc;
	c.title_zh = title_zh;
	c.description_zh = desc_zh;
	c.suggested_resolution = "remote_guidance";
	/* out of warranty: lower priority, and a paid repair is for the
	 * customer to accept first (tpc_claims_priority's doc) */
	c.priority = strcmp(w.status, "in_warranty") == 0 || strcmp(w.status, "unknown") == 0
		     ? "normal" : "low";
	c.review_due = due_iso;
	claims_warranty_row(&w, &c.warranty);
	c.warranty.purchase_date = purchase;
	c.origin = m->origin;
	c.contact = contact;
	c.channel = channel;
	c.tracking_token = token;
	if (!category) {
		/* no class given: the device's latest raised fault names it */
		cJSON *rows = NULL, *row;

		double newest = NAN;

		rc = tpc_store_reports_recent(s, m->device, "fault", 0, 10, &rows);
		cJSON_ArrayForEach(row, rows) {
			double ts = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(row, "ts"));

			if (isnan(newest))
				newest = ts;
			if (ts < newest - 30 * 86400.0)
				break;
			cJSON *b = cJSON_Parse(cJSON_GetStringValue(
				cJSON_GetObjectItemCaseSensitive(row, "body")));
			const cJSON *f = cJSON_GetObjectItemCaseSensitive(b, "fault");
			const char *st = claims_field(f, "state"), *cls = claims_field(f, "class");

			if (!fault_class[0] && st && cls && strcmp(st, "raised") == 0)
				snprintf(fault_class, sizeof(fault_class), "%s", cls);
			cJSON_Delete(b);
		}
		cJSON_Delete(rows);
		if (rc)
			goto fail;
		if (fault_class[0])
			c.category = fault_class;
	}
	rc = tpc_store_claim_find_open(s, m->device, c.category, &claim);
	if (rc == TPD_OK) {
		/* one open claim per device and class (SPEC §6): the report joins it */
		rc = tpc_store_claim_add_timeline(s, claim, now_iso, "customer_report", m->by, desc);
		if (!rc)
			rc = tpc_events_queue(s, claim, "claim.note_added", now);
		if (rc)
			goto fail;
		out->claim = claim;
		cJSON_Delete(dev);
		return tpc_store_commit(s);
	}
	if (rc != TPD_ERR_NOTFOUND)
		goto fail;
	rc = tpc_store_claim_insert(s, &c, &claim);
	if (!rc)
		rc = claims_attach(s, claim, m->device, now, desc, desc_zh, sizeof(desc), &verdict,
				   vbuf, sizeof(vbuf), fault_class, sizeof(fault_class));
	if (!rc && verdict && strcmp(verdict, "needs_service") == 0)
		c.suggested_resolution = "repair";
	if (!rc && strcmp(c.priority, "low") == 0)
		c.suggested_resolution = "quote";
	if (!rc)
		rc = tpc_store_claim_update_text(s, claim, desc, desc_zh, c.suggested_resolution,
						 c.priority);
	if (!rc)
		rc = tpc_store_claim_add_timeline(s, claim, now_iso, "opened", m->by,
						  strcmp(c.priority, "low") == 0
						  ? "out of warranty: a paid repair, quoted to the customer "
						    "before any work" : NULL);
	if (!rc && w.reason[0])
		rc = tpc_store_claim_add_timeline(s, claim, now_iso, "warranty", "system", w.reason);
	if (!rc && dev)
		rc = claims_notify(s, m->device, claim, "open");
	if (!rc)
		rc = tpc_events_queue(s, claim, "claim.opened", now);
	if (rc)
		goto fail;
	cJSON_Delete(dev);
	out->claim = claim;
	out->opened = true;
	return tpc_store_commit(s);
fail:
	cJSON_Delete(dev);
	tpc_store_rollback(s);
	return rc;
}

enum tpd_err tpc_claims_manual(struct tpc_store *s, const struct tpc_policy *policy,
			       const struct tpc_claim_manual *m, double now,
			       struct tpc_claim_result *out, char *why, size_t whylen)
{
	enum tpd_err rc = claims_manual(s, policy, m, now, out, why, whylen);

	/* as tpc_claims_predicted: another collector's claim to join */
	return claims_again(rc) ? claims_manual(s, policy, m, now, out, why, whylen) : rc;
}
