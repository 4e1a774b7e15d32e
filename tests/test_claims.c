/* test_claims.c - the claim engine through the collector pipeline on a real
 * SQLite file: dedup per device and class, evidence, duplicate delivery. */
#include "testutil.h"
#include "claims.h"
#include "collector.h"
#include "registry.h"
#include "store.h"

static struct tpd_rng *rng;
static struct tpd_key *key;
static struct tpc_registry *reg;
static struct tpc_store *store;
static struct tpc_collector *col;
static char dir[64];
static uint64_t next_seq;

static int setup_each(void **state)
{
	char path[128], b64[256], text[1024], url[128];

	(void)state;
	tu_mkdtemp(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/reg.csv", dir);
	tpd_key_public_b64(key, b64, sizeof(b64));
	snprintf(text, sizeof(text), "device_id,model,purchase_date,public_key\n"
		 "TP1,m,2025-06-01,%s\nTP2,m,,%s\n", b64, b64);
	tu_write(path, text);
	snprintf(url, sizeof(url), "sqlite:%s/c.db", dir);
	if (tpc_registry_load(path, &reg, text, sizeof(text)) ||
	    tpc_store_open(url, &store, text, sizeof(text)) || tpc_collector_new(store, reg, &col))
		return -1;
	tpc_store_begin(store);
	tpc_store_device_register(store, "TP1", "m", "2025-06-01", NULL, NULL);
	tpc_store_commit(store);
	next_seq = 100;
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
	return tpd_rng_new(&rng) || tpd_key_generate(rng, &key) ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	tpd_key_free(key);
	tpd_rng_free(rng);
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
		 "\"limit\":2,\"since\":1763999990,\"predictive\":false},\"prev\":\"\"}",
		 dev, (unsigned long long)next_seq++, code, cls, raised ? "raised" : "cleared", sensor);
	assert_int_equal(tpd_jws_sign(key, rng, dev, body, strlen(body), &jws), TPD_OK);
	tpd_topic_format(topic, sizeof(topic), dev, TPD_TOPIC_FAULT);
	assert_int_equal(tpc_collector_handle(col, topic, jws, strlen(jws), 1764000100), TPD_OK);
	return jws;
}

static cJSON *claims_of(const char *dev)
{
	struct tpc_claim_filter f = { .device = dev };
	cJSON *list;

	assert_int_equal(tpc_store_claim_list(store, &f, &list), TPD_OK);
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
	assert_non_null(strstr(cJSON_GetObjectItem(c, "title")->valuestring, "Fan stopped"));
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

static void test_no_claim_for_sensor_faults_or_lone_clears(void **state)
{
	cJSON *list;

	(void)state;
	free(fault("TP2", "SENSOR_FAIL", "sensor", "temp.cpu", true));
	free(fault("TP2", "TEMP_HIGH", "thermal", "temp.cpu", false));
	list = claims_of("TP2");
	assert_int_equal(cJSON_GetArraySize(list), 0);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_claim_per_device_and_class, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_no_claim_for_sensor_faults_or_lone_clears, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_resolution_upgrades_with_stronger_codes, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_duplicate_delivery_is_one_report, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_rejects_store_nothing, setup_each, teardown_each),
	};
	return cmocka_run_group_tests_name("claims", tests, setup, teardown);
}
