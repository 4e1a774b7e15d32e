/* test_claims.c - the claim engine through the collector pipeline on a real
 * SQLite file, and again on PostgreSQL when TPC_TEST_PG_URL is set (a fresh
 * schema each test): dedup per device and class, evidence, duplicate
 * delivery. */
#include <stdlib.h>

#include <libpq-fe.h>

#include "testutil.h"
#include "claims.h"
#include "collector.h"
#include "policy.h"
#include "registry.h"
#include "store.h"
#include "workcal.h"

static struct tpd_rng *rng;
static struct tpc_policy *policy;
static struct tpd_key *key;
static struct tpc_registry *reg;
static struct tpc_store *store;
static struct tpc_collector *col;
static char dir[64];
static uint64_t next_seq;
static char prev_hash[TPD_HASH_B64_LEN + 1];   /* the device's evidence chain */
static const char *pg_url;     /* the PostgreSQL group is running on it */

/* An empty schema for the next PostgreSQL test. */
static int pg_fresh_schema(void)
{
	PGconn *db = PQconnectdb(pg_url);
	PGresult *res = PQexec(db, "SET client_min_messages = warning;"
			    /* a failed test's connections (an open transaction would
			     * hold the drop up for ever) */
			    " SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
			    "  WHERE datname = current_database() AND pid <> pg_backend_pid();"
			       " DROP SCHEMA public CASCADE; CREATE SCHEMA public;");
	int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;

	if (rc)
		print_error("%s: %s", pg_url, PQerrorMessage(db));
	PQclear(res);
	PQfinish(db);
	return rc;
}

static int setup_each(void **state)
{
	char path[128], b64[256], text[1024], url[512];
	enum tpc_upsert up;

	(void)state;
	tu_mkdtemp(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/reg.csv", dir);
	tpd_key_public_b64(key, b64, sizeof(b64));
	snprintf(text, sizeof(text), "device_id,model,purchase_date,public_key\n"
		 "TP1,m,2025-06-01,%s\nTP2,m,,%s\n", b64, b64);
	tu_write(path, text);
	if (pg_url && pg_fresh_schema())
		return -1;
	snprintf(url, sizeof(url), "%s", pg_url ? pg_url : "");
	if (!pg_url)
		snprintf(url, sizeof(url), "sqlite:%s/c.db", dir);
	if (tpc_registry_load(path, &reg, text, sizeof(text)) ||
	    tpc_store_open(url, &store, text, sizeof(text)) ||
	    tpc_collector_new(store, reg, policy, &col))
		return -1;
	tpc_store_begin(store);
	tpc_store_device_upsert(store, &(struct tpc_device_row){ .id = "TP1", .model = "m",
				.purchase_date = "2025-06-01", .public_key = b64 }, &up);
	tpc_store_commit(store);
	next_seq = 100;
	prev_hash[0] = '\0';
	return 0;
}

static int teardown_each(void **state)
{
	(void)state;
	tpc_collector_free(col);
	tpc_store_close(store);
	tpc_registry_free(reg);
	tu_rm_rf(dir);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	static const char text[] =
		"{\"policies\":[{\"name\":\"std-12m\",\"months\":12,\"default\":true},"
		"{\"name\":\"adapter-6m\",\"months\":6,\"codes\":[\"PWR_UNDERVOLT\"]}],"
		"\"exclusions\":[{\"code\":\"PWR_OVERVOLT\",\"reason\":\"non-original adapter\"}],"
		"\"holidays\":[\"2025-11-27\"]}";
	char err[256];

	return tpd_rng_new(&rng) || tpd_key_generate(rng, &key) ||
	       tpc_policy_parse(text, sizeof(text) - 1, "test", &policy, err, sizeof(err)) ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	tpd_key_free(key);
	tpd_rng_free(rng);
	tpc_policy_free(policy);
	return 0;
}

/* Publishes (to the collector directly) one signed fault report. Returns the
 * JWS (caller frees) so a test can deliver it again. */
static char *fault(const char *dev, const char *code, const char *cls, const char *sensor,
		   bool raised)
{
	char body[1024], topic[TPD_TOPIC_MAX], *jws;

	snprintf(body, sizeof(body), "{\"v\":1,\"dev\":\"%s\",\"model\":\"m\",\"fw\":\"1.0\","
		 "\"seq\":%llu,\"ts\":1764000000,\"fault\":{\"code\":\"%s\",\"class\":\"%s\","
		 "\"severity\":\"critical\",\"state\":\"%s\",\"sensor\":\"%s\",\"value\":1,"
		 "\"limit\":2,\"since\":1763999990,\"predictive\":false},\"prev\":\"%s\"}",
		 dev, (unsigned long long)next_seq++, code, cls, raised ? "raised" : "cleared", sensor,
		 prev_hash);
	assert_int_equal(tpd_jws_sign(key, rng, dev, body, strlen(body), &jws), TPD_OK);
	tpd_hash_b64(jws, strlen(jws), prev_hash);
	tpd_topic_format(topic, sizeof(topic), dev, TPD_TOPIC_FAULT);
	assert_int_equal(tpc_collector_handle(col, topic, jws, strlen(jws), 1764000100), TPD_OK);
	return jws;
}

static cJSON *claims_of(const char *dev)
{
	struct tpc_claim_filter f = { .device = dev };
	cJSON *list;

	assert_int_equal(tpc_store_claim_list(store, &f, &list, NULL), TPD_OK);
	return list;
}

static void test_one_claim_per_device_and_class(void **state)
{
	cJSON *list, *c;
	struct tpc_collector_stats st;

	(void)state;
	free(fault("TP1", "FAN_STALL", "thermal", "fan.main", true));
	free(fault("TP1", "TEMP_HIGH", "thermal", "temp.cpu", true));
	free(fault("TP1", "TEMP_HIGH", "thermal", "temp.cpu", false));
	free(fault("TP1", "TEMP_HIGH", "thermal", "temp.cpu", true));    /* again: evidence only */
	list = claims_of("TP1");
	assert_int_equal(cJSON_GetArraySize(list), 1);
	c = cJSON_GetArrayItem(list, 0);
	assert_string_equal(cJSON_GetObjectItem(c, "category")->valuestring, "thermal");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(c, "fault_codes")), 2);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(c, "evidence")), 4);
	assert_string_equal(cJSON_GetObjectItem(c, "purchase_date")->valuestring, "2025-06-01");
	assert_string_equal(cJSON_GetObjectItem(c, "suggested_resolution")->valuestring, "repair");
	assert_non_null(strstr(cJSON_GetObjectItem(c, "description")->valuestring, "FAN_STALL"));
	assert_non_null(strstr(cJSON_GetObjectItem(c, "description")->valuestring, "Then TEMP_HIGH"));
	/* 1 rpm is a fan too slow, not a stopped one (issue 18) */
	assert_non_null(strstr(cJSON_GetObjectItem(c, "title")->valuestring,
			       "Fan below its stall limit"));
	/* both languages kept, English chosen (no locale or region in the registry) */
	assert_string_equal(cJSON_GetObjectItem(c, "locale")->valuestring, "en");
	{
		const cJSON *zh = cJSON_GetObjectItem(cJSON_GetObjectItem(c, "text"), "zh-CN");
		const char *zd = cJSON_GetStringValue(cJSON_GetObjectItem(zh, "description"));

		assert_non_null(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(zh, "title")),
				       "风扇转速低于停转限值"));
		assert_non_null(zd);
		assert_non_null(strstr(zd, "随后 TEMP_HIGH"));
		assert_non_null(strstr(zd, "签名报告 seq"));
		assert_null(strstr(zd, "Then"));
	}
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(c, "assignee")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(c, "resolution")));
	cJSON_Delete(list);

	/* a power fault is another class: a second claim */
	free(fault("TP1", "PWR_UNDERVOLT", "power", "volt.vin", true));
	list = claims_of("TP1");
	assert_int_equal(cJSON_GetArraySize(list), 2);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 1), "suggested_resolution")
			    ->valuestring, "replacement");
	cJSON_Delete(list);
	tpc_collector_stats(col, &st);
	assert_int_equal(st.claims_opened, 2);
	assert_int_equal(st.stored, 5);
}

static const char *str(const cJSON *o, const char *name)
{
	return cJSON_GetStringValue(cJSON_GetObjectItem(o, name));
}

static void test_sensor_claims_low_priority_and_no_claim_for_lone_clears(void **state)
{
	cJSON *list, *c;

	(void)state;
	free(fault("TP2", "TEMP_HIGH", "thermal", "temp.cpu", false));
	list = claims_of("TP2");
	assert_int_equal(cJSON_GetArraySize(list), 0);
	cJSON_Delete(list);
	free(fault("TP2", "SENSOR_FAIL", "sensor", "temp.cpu", true));
	list = claims_of("TP2");
	assert_int_equal(cJSON_GetArraySize(list), 1);
	c = cJSON_GetArrayItem(list, 0);
	assert_string_equal(str(c, "category"), "sensor");
	assert_string_equal(str(c, "suggested_resolution"), "remote_guidance");
	assert_string_equal(str(c, "priority"), "low");
	/* TP2 has no purchase date on record */
	assert_string_equal(str(cJSON_GetObjectItem(c, "warranty"), "status"), "unknown");
	cJSON_Delete(list);
}

/* Opened at 1764000100 = 2025-11-24T16:01:40Z, a Monday; the policy lists
 * 2025-11-27 (Thursday) as a holiday: 2 working days -> Wednesday. */
static void test_warranty_priority_review_due_and_notice(void **state)
{
	cJSON *list, *c, *w;
	char *topic, *payload;
	int64_t id;

	(void)state;
	free(fault("TP1", "FAN_STALL", "thermal", "fan.main", true));
	list = claims_of("TP1");
	c = cJSON_GetArrayItem(list, 0);
	w = cJSON_GetObjectItem(c, "warranty");
	assert_string_equal(str(w, "status"), "in_warranty");
	assert_string_equal(str(w, "until"), "2026-06-01");
	assert_string_equal(str(w, "policy"), "std-12m");
	assert_string_equal(str(c, "priority"), "high");      /* critical severity */
	assert_string_equal(str(c, "review_due"), "2025-11-26T16:01:40Z");
	assert_string_equal(str(c, "opened_at"), "2025-11-24T16:01:40Z");
	cJSON_Delete(list);
	/* the device is told, through the outbox */
	assert_int_equal(tpc_store_outbox_next(store, 0, &id, &topic, &payload), TPD_OK);
	assert_string_equal(topic, "tp/v1/TP1/cmd");
	assert_string_equal(payload, "{\"op\":\"claim\",\"claim\":\"C-000001\",\"state\":\"open\"}");
	free(topic);
	free(payload);

	/* an adapter fault is covered by the adapter's own 6 months */
	free(fault("TP1", "PWR_UNDERVOLT", "power", "volt.vin", true));
	list = claims_of("TP1");
	w = cJSON_GetObjectItem(cJSON_GetArrayItem(list, 1), "warranty");
	assert_string_equal(str(w, "status"), "in_warranty");
	assert_string_equal(str(w, "policy"), "adapter-6m");
	assert_string_equal(str(w, "until"), "2025-12-01");
	cJSON_Delete(list);
}

static void test_excluded_code_joining_a_claim_changes_its_warranty(void **state)
{
	cJSON *list, *c, *w, *tl;

	(void)state;
	free(fault("TP1", "PWR_OVERCURRENT", "power", "curr.in", true));
	list = claims_of("TP1");
	assert_string_equal(str(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "warranty"), "status"),
			    "in_warranty");
	cJSON_Delete(list);
	free(fault("TP1", "PWR_OVERVOLT", "power", "volt.vin", true));
	list = claims_of("TP1");
	c = cJSON_GetArrayItem(list, 0);
	w = cJSON_GetObjectItem(c, "warranty");
	assert_string_equal(str(w, "status"), "excluded");
	assert_non_null(strstr(str(w, "reason"), "non-original adapter"));
	tl = cJSON_GetObjectItem(c, "timeline");
	assert_string_equal(str(cJSON_GetArrayItem(tl, cJSON_GetArraySize(tl) - 1), "event"),
			    "warranty");
	cJSON_Delete(list);
}

static void test_broken_chain_kept_and_flagged(void **state)
{
	struct tpc_collector_stats st;
	cJSON *list, *c;

	(void)state;
	free(fault("TP1", "FAN_STALL", "thermal", "fan.main", true));
	free(fault("TP1", "TEMP_HIGH", "thermal", "temp.cpu", true));
	list = claims_of("TP1");
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "chain_broken")));
	cJSON_Delete(list);
	/* a report whose "prev" is not the hash of the one before: a record
	 * went missing or was altered */
	snprintf(prev_hash, sizeof(prev_hash), "%s", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	free(fault("TP1", "TEMP_CRITICAL", "thermal", "temp.cpu", true));
	list = claims_of("TP1");
	c = cJSON_GetArrayItem(list, 0);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(c, "chain_broken")));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(c, "evidence")), 3);   /* kept */
	assert_string_equal(str(cJSON_GetArrayItem(cJSON_GetObjectItem(c, "evidence"), 2), "chain"),
			    "broken");
	assert_string_equal(str(cJSON_GetArrayItem(cJSON_GetObjectItem(c, "evidence"), 1), "chain"),
			    "ok");
	cJSON_Delete(list);
	tpc_collector_stats(col, &st);
	assert_int_equal(st.chain_broken, 1);
}

static void test_lifecycle_enforced_with_timeline_and_feedback(void **state)
{
	static const char *const path[] = { "in_review", "approved", "remote_guidance",
					     "replacement", "resolved", "closed", NULL };
	char why[320];
	cJSON *list, *c, *tl;
	int64_t id = 1;
	char *topic, *payload;
	int64_t ob = 0, last = 0;

	(void)state;
	free(fault("TP1", "FAN_STALL", "thermal", "fan.main", true));
	assert_int_equal(tpc_claims_transition(store, id, "approved", "ann", NULL, 1764000200, why,
					       sizeof(why)), TPD_ERR_STATE);
	assert_string_equal(why, "cannot go from open to approved; allowed from open: in_review");
	assert_int_equal(tpc_claims_transition(store, id, "bogus", "ann", NULL, 1764000200, why,
					       sizeof(why)), TPD_ERR_INVAL);
	assert_int_equal(tpc_claims_transition(store, 99, "in_review", "ann", NULL, 1764000200, why,
					       sizeof(why)), TPD_ERR_NOTFOUND);
	assert_int_equal(tpc_claims_feedback(store, id, 5, "great", "cust", 1764000200, why,
					     sizeof(why)), TPD_ERR_STATE);
	for (int i = 0; path[i]; i++) {
		assert_int_equal(tpc_claims_transition(store, id, path[i], "ann",
						       i == 0 ? "'; DROP TABLE claims;--" : NULL,
						       1764000300 + i, why, sizeof(why)), TPD_OK);
		if (strcmp(path[i], "resolved") == 0)
			assert_int_equal(tpc_claims_feedback(store, id, 4, "fast", "cust", 1764000400,
							     why, sizeof(why)), TPD_OK);
	}
	assert_int_equal(tpc_claims_transition(store, id, "in_review", "ann", NULL, 1764000500, why,
					       sizeof(why)), TPD_ERR_STATE);
	assert_string_equal(why, "cannot go from closed to in_review; closed is final");
	assert_int_equal(tpc_claims_feedback(store, id, 6, NULL, "cust", 1764000500, why,
					     sizeof(why)), TPD_ERR_INVAL);
	assert_int_equal(tpc_claims_note(store, id, "ann", "", 1764000500, why, sizeof(why)),
			 TPD_ERR_INVAL);
	/* issue 14: invalid UTF-8 would make the claim's JSON invalid; an escape
	 * sequence would drive a terminal; line breaks are fine */
	assert_int_equal(tpc_claims_note(store, id, "ann", "bad \xff\xfe", 1764000500, why,
					 sizeof(why)), TPD_ERR_INVAL);
	assert_non_null(strstr(why, "invalid UTF-8"));
	assert_int_equal(tpc_claims_note(store, id, "ann", "\x1b[2J", 1764000500, why, sizeof(why)),
			 TPD_ERR_INVAL);
	assert_non_null(strstr(why, "U+001B"));
	assert_int_equal(tpc_claims_feedback(store, id, 4, "ok \xc2\x9b", "cust", 1764000500, why,
					     sizeof(why)), TPD_ERR_INVAL);
	assert_int_equal(tpc_claims_note(store, id, "ann", "called the customer", 1764000600, why,
					 sizeof(why)), TPD_OK);

	list = claims_of("TP1");
	c = cJSON_GetArrayItem(list, 0);
	assert_string_equal(str(c, "state"), "closed");
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(c, "feedback"), "rating")->valueint, 4);
	tl = cJSON_GetObjectItem(c, "timeline");
	/* opened, 6 transitions, feedback, note */
	assert_int_equal(cJSON_GetArraySize(tl), 9);
	assert_string_equal(str(cJSON_GetArrayItem(tl, 1), "event"), "in_review");
	assert_string_equal(str(cJSON_GetArrayItem(tl, 1), "by"), "ann");
	assert_string_equal(str(cJSON_GetArrayItem(tl, 1), "note"), "'; DROP TABLE claims;--");
	assert_string_equal(str(cJSON_GetArrayItem(tl, 8), "note"), "called the customer");
	cJSON_Delete(list);
	/* every state change queued a notice, in order */
	for (int n = 0;; n++) {
		if (tpc_store_outbox_next(store, ob, &ob, &topic, &payload) != TPD_OK) {
			assert_int_equal(n, 7);
			break;
		}
		assert_true(ob > last);
		last = ob;
		if (n == 6)
			assert_non_null(strstr(payload, "\"state\":\"closed\""));
		free(topic);
		free(payload);
	}
	/* a closed claim no longer blocks a new one for the class */
	free(fault("TP1", "FAN_STALL", "thermal", "fan.main", true));
	list = claims_of("TP1");
	assert_int_equal(cJSON_GetArraySize(list), 2);
	cJSON_Delete(list);
}

static void test_resolution_upgrades_with_stronger_codes(void **state)
{
	cJSON *list;

	(void)state;
	free(fault("TP1", "TEMP_HIGH", "thermal", "temp.cpu", true));
	list = claims_of("TP1");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "suggested_resolution")
			    ->valuestring, "remote_guidance");
	cJSON_Delete(list);
	free(fault("TP1", "FAN_STALL", "thermal", "fan.main", true));
	list = claims_of("TP1");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "suggested_resolution")
			    ->valuestring, "repair");
	/* and it does not go back down */
	cJSON_Delete(list);
	free(fault("TP1", "TEMP_CRITICAL", "thermal", "temp.cpu", true));
	list = claims_of("TP1");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "suggested_resolution")
			    ->valuestring, "repair");
	cJSON_Delete(list);
}

static void test_duplicate_delivery_is_one_report(void **state)
{
	struct tpc_collector_stats st;
	char *jws;
	int64_t n;
	cJSON *list;

	(void)state;
	jws = fault("TP1", "FAN_STALL", "thermal", "fan.main", true);
	/* at-least-once delivery: the same (dev, seq) arrives twice more */
	assert_int_equal(tpc_collector_handle(col, "tp/v1/TP1/fault", jws, strlen(jws), 1), TPD_OK);
	assert_int_equal(tpc_collector_handle(col, "tp/v1/TP1/fault", jws, strlen(jws), 2), TPD_OK);
	free(jws);
	assert_int_equal(tpc_store_count_reports(store, "TP1", "fault", &n), TPD_OK);
	assert_int_equal(n, 1);
	tpc_collector_stats(col, &st);
	assert_int_equal(st.duplicates, 2);
	assert_int_equal(st.stored, 1);
	list = claims_of("TP1");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0),
								  "evidence")), 1);
	cJSON_Delete(list);
}

static void test_rejects_store_nothing(void **state)
{
	struct tpc_collector_stats st;
	int64_t n;

	(void)state;
	assert_int_equal(tpc_collector_handle(col, "tp/v1/TP1/telemetry", "{bad", 4, 1), TPD_OK);
	assert_int_equal(tpc_collector_handle(col, "tp/v1/TP1/fault", "x.y.z", 5, 1), TPD_OK);
	assert_int_equal(tpc_collector_handle(col, "tp/v1/TP1/cmd", "{}", 2, 1), TPD_OK);
	assert_int_equal(tpc_store_count_reports(store, NULL, NULL, &n), TPD_OK);
	assert_int_equal(n, 0);
	tpc_collector_stats(col, &st);
	assert_int_equal(st.rejected, 2);           /* cmd is ignored, not rejected */
	assert_int_equal(st.rejected_by[TPC_REJECT_JSON], 1);
	assert_int_equal(st.rejected_by[TPC_REJECT_JWS], 1);
	assert_int_equal(st.received, 2);
}

/* A device of region CN: the claim is in Chinese (English kept beside it)
 * and its review is due in the CN calendar's working hours: opened Monday
 * 2025-11-24T16:01:40Z = Tuesday 00:01 in Shanghai, counted from Tuesday
 * 09:00; 2 working days of 7.5 h (09:00-12:00, 13:30-18:00) end Wednesday
 * 18:00 CST = 10:00Z. The policy's own holiday (Thursday) is not the
 * region's and does not count. */
static void test_region_calendar_and_chinese_text(void **state)
{
	struct tpc_workcals *cals;
	enum tpc_upsert up;
	cJSON *list, *c, *en;
	char err[256];

	(void)state;
	cals = tpc_workcals_load_dir("cloud/calendars", err, sizeof(err));
	if (!cals)
		fail_msg("%s", err);
	tpc_policy_set_calendars(policy, cals);
	tpc_store_begin(store);
	assert_int_equal(tpc_store_device_upsert(store, &(struct tpc_device_row){
		.id = "TP1", .model = "m", .purchase_date = "2025-06-01", .region = "CN" }, &up),
		TPD_OK);
	assert_int_equal(up, TPC_UPSERT_UPDATED);
	tpc_store_commit(store);
	free(fault("TP1", "TEMP_HIGH", "thermal", "temp.cpu", true));
	list = claims_of("TP1");
	c = cJSON_GetArrayItem(list, 0);
	assert_string_equal(str(c, "locale"), "zh-CN");
	assert_string_equal(str(c, "region"), "CN");
	assert_string_equal(str(c, "review_due"), "2025-11-26T10:00:00Z");
	assert_non_null(strstr(str(c, "title"), "温度超过警告限值"));
	assert_non_null(strstr(str(c, "description"), "设备 TP1"));
	en = cJSON_GetObjectItem(cJSON_GetObjectItem(c, "text"), "en");
	assert_non_null(strstr(str(en, "title"), "Temperature above its warning limit"));
	assert_non_null(strstr(str(en, "description"), "Device TP1"));
	cJSON_Delete(list);
	/* a region without a calendar falls back to the policy's weekdays */
	assert_int_equal(tpc_policy_review_due(policy, "XX", 1764000100), 1764000100 + 2 * 86400);
	tpc_policy_set_calendars(policy, NULL);
}

static void test_assignee_and_resolution(void **state)
{
	const char *parts[] = { "fan FAN-4010-12V", "thermal pad" };
	const char *bad_part[] = { "two\nlines" };
	char why[320];
	cJSON *list, *c, *r, *tl;
	int64_t id;

	(void)state;
	free(fault("TP1", "FAN_STALL", "thermal", "fan.main", true));
	list = claims_of("TP1");
	assert_true(tpc_claim_id_parse(str(cJSON_GetArrayItem(list, 0), "id"), &id));
	cJSON_Delete(list);
	assert_int_equal(tpc_claims_assign(store, id, "li.wei", "lead", 1764000200, why,
					   sizeof(why)), TPD_OK);
	assert_int_equal(tpc_claims_assign(store, id, "a\nb", "lead", 1764000200, why,
					   sizeof(why)), TPD_ERR_INVAL);
	assert_string_equal(why, "assignee: one line");
	assert_int_equal(tpc_claims_assign(store, 999, "x", "lead", 1764000200, why, sizeof(why)),
			 TPD_ERR_NOTFOUND);
	assert_int_equal(tpc_claims_set_resolution(store, id, "replaced the fan", parts, 2,
						   "2025-11-25T09:30:00Z", "li.wei", 1764100000,
						   why, sizeof(why)), TPD_OK);
	assert_int_equal(tpc_claims_set_resolution(store, id, "", parts, 2, NULL, "li.wei",
						   1764100000, why, sizeof(why)), TPD_ERR_INVAL);
	assert_int_equal(tpc_claims_set_resolution(store, id, "x", bad_part, 1, NULL, "li.wei",
						   1764100000, why, sizeof(why)), TPD_ERR_INVAL);
	assert_string_equal(why, "parts[0]: one line");
	assert_int_equal(tpc_claims_set_resolution(store, id, "x", NULL, 0, "2030-01-01T00:00:00Z",
						   "li.wei", 1764100000, why, sizeof(why)),
			 TPD_ERR_INVAL);
	assert_int_equal(tpc_claims_set_resolution(store, id, "x", NULL, 0, "yesterday", "li.wei",
						   1764100000, why, sizeof(why)), TPD_ERR_INVAL);
	list = claims_of("TP1");
	c = cJSON_GetArrayItem(list, 0);
	assert_string_equal(str(c, "assignee"), "li.wei");
	r = cJSON_GetObjectItem(c, "resolution");
	assert_string_equal(str(r, "summary"), "replaced the fan");
	assert_string_equal(str(r, "at"), "2025-11-25T09:30:00Z");
	assert_string_equal(str(r, "by"), "li.wei");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "parts")), 2);
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(r, "parts"), 1)->valuestring,
			    "thermal pad");
	tl = cJSON_GetObjectItem(c, "timeline");
	assert_string_equal(str(cJSON_GetArrayItem(tl, cJSON_GetArraySize(tl) - 2), "event"),
			    "assigned");
	assert_string_equal(str(cJSON_GetArrayItem(tl, cJSON_GetArraySize(tl) - 1), "event"),
			    "resolution");
	cJSON_Delete(list);
	/* unassigned again; the resolution stays */
	assert_int_equal(tpc_claims_assign(store, id, NULL, "lead", 1764000300, why, sizeof(why)),
			 TPD_OK);
	list = claims_of("TP1");
	c = cJSON_GetArrayItem(list, 0);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(c, "assignee")));
	assert_string_equal(str(cJSON_GetObjectItem(c, "resolution"), "summary"), "replaced the fan");
	cJSON_Delete(list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_claim_per_device_and_class, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_sensor_claims_low_priority_and_no_claim_for_lone_clears, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_warranty_priority_review_due_and_notice, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_excluded_code_joining_a_claim_changes_its_warranty, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_lifecycle_enforced_with_timeline_and_feedback, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_broken_chain_kept_and_flagged, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_resolution_upgrades_with_stronger_codes, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_duplicate_delivery_is_one_report, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_rejects_store_nothing, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_region_calendar_and_chinese_text, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_assignee_and_resolution, setup_each, teardown_each),
	};
	const char *required = getenv("TPC_TEST_PG_REQUIRED");
	int failed = cmocka_run_group_tests_name("claims", tests, setup, teardown);

	pg_url = getenv("TPC_TEST_PG_URL");
	if (pg_url && *pg_url) {
		failed += cmocka_run_group_tests_name("claims_pg", tests, setup, teardown);
	} else if (required && strcmp(required, "1") == 0) {
		fprintf(stderr, "[  FAILED  ] claims_pg: TPC_TEST_PG_REQUIRED=1 but TPC_TEST_PG_URL"
			" is not set: the PostgreSQL tests did not run\n");
		failed++;
	} else {
		printf("[ SKIPPED  ] claims_pg: TPC_TEST_PG_URL is not set, the PostgreSQL tests"
		       " did not run\n");
	}
	return failed;
}
