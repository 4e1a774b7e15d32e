/* test_wire.c - SPEC §2-4 tables: ids, topics, fault codes, sensor kinds. */
#include "testutil.h"
#include "tpd/wire.h"

static void test_id_valid(void **state)
{
	char long_id[80];

	(void)state;
	assert_true(tpd_id_valid("TP24A0001"));
	assert_true(tpd_id_valid("a_b-C9"));
	assert_false(tpd_id_valid(""));
	assert_false(tpd_id_valid(NULL));
	assert_false(tpd_id_valid("a/b"));
	assert_false(tpd_id_valid("a+b"));
	assert_false(tpd_id_valid("a#"));
	assert_false(tpd_id_valid("dév"));
	memset(long_id, 'x', 64);
	long_id[64] = '\0';
	assert_true(tpd_id_valid(long_id));
	long_id[64] = 'x';
	long_id[65] = '\0';
	assert_false(tpd_id_valid(long_id));
}

static void test_topic_round_trip(void **state)
{
	char topic[TPD_TOPIC_MAX], id[TPD_ID_MAX + 1];
	enum tpd_topic_kind kind;

	(void)state;
	for (int k = 0; k < TPD_TOPIC_KIND_COUNT; k++) {
		assert_int_equal(tpd_topic_format(topic, sizeof(topic), "TP1", k), TPD_OK);
		assert_int_equal(tpd_topic_parse(topic, id, &kind), TPD_OK);
		assert_string_equal(id, "TP1");
		assert_int_equal(kind, k);
	}
	assert_int_equal(tpd_topic_format(topic, sizeof(topic), "TP1", TPD_TOPIC_FAULT), TPD_OK);
	assert_string_equal(topic, "tp/v1/TP1/fault");
	assert_int_equal(tpd_topic_format(topic, 8, "TP1", TPD_TOPIC_FAULT), TPD_ERR_TOOBIG);
	assert_int_equal(tpd_topic_format(topic, sizeof(topic), "a/b", TPD_TOPIC_FAULT), TPD_ERR_INVAL);
	assert_int_equal(tpd_topic_parse("tp/v1/TP1/other", id, &kind), TPD_ERR_INVAL);
	assert_int_equal(tpd_topic_parse("tp/v2/TP1/fault", id, &kind), TPD_ERR_INVAL);
	assert_int_equal(tpd_topic_parse("tp/v1//fault", id, &kind), TPD_ERR_INVAL);
	assert_int_equal(tpd_topic_parse("tp/v1/TP1/fault/x", id, &kind), TPD_ERR_INVAL);
	assert_int_equal(tpd_topic_parse("tp/v1/T+1/fault", id, &kind), TPD_ERR_INVAL);
}

static void test_fault_table_matches_spec(void **state)
{
	static const struct { const char *code, *cls; bool predictive; } spec[] = {
		{ "PWR_UNDERVOLT", "power", false }, { "PWR_OVERVOLT", "power", false },
		{ "PWR_BROWNOUT", "power", false }, { "PWR_OVERCURRENT", "power", false },
		{ "PWR_DEGRADING", "power", true }, { "TEMP_HIGH", "thermal", false },
		{ "TEMP_CRITICAL", "thermal", false }, { "TEMP_RISING", "thermal", true },
		{ "FAN_STALL", "thermal", false }, { "FAN_DEGRADED", "thermal", true },
		{ "SENSOR_FAIL", "sensor", false }, { "BOOT_LOOP", "system", false },
	};
	enum tpd_fault_code code;
	enum tpd_fault_class cls;

	(void)state;
	assert_int_equal(sizeof(spec) / sizeof(spec[0]), TPD_FAULT_CODE_COUNT);
	for (size_t i = 0; i < sizeof(spec) / sizeof(spec[0]); i++) {
		assert_int_equal(tpd_fault_code_parse(spec[i].code, &code), TPD_OK);
		assert_string_equal(tpd_fault_code_name(code), spec[i].code);
		assert_string_equal(tpd_fault_class_name(tpd_fault_code_class(code)), spec[i].cls);
		assert_int_equal(tpd_fault_code_predictive(code), spec[i].predictive);
		assert_int_equal(tpd_fault_class_parse(spec[i].cls, &cls), TPD_OK);
	}
	assert_int_equal(tpd_fault_code_parse("TEMP_WARM", &code), TPD_ERR_INVAL);
	assert_int_equal(tpd_fault_class_parse("mechanical", &cls), TPD_ERR_INVAL);
}

static void test_sensor_kinds(void **state)
{
	enum tpd_sensor_kind k;

	(void)state;
	assert_int_equal(tpd_sensor_kind_parse("temp.cpu", &k), TPD_OK);
	assert_int_equal(k, TPD_KIND_TEMP);
	assert_string_equal(tpd_sensor_kind_unit(k), "°C");
	assert_int_equal(tpd_sensor_kind_parse("volt.vin", &k), TPD_OK);
	assert_string_equal(tpd_sensor_kind_unit(k), "V");
	assert_int_equal(tpd_sensor_kind_parse("fan.main", &k), TPD_OK);
	assert_string_equal(tpd_sensor_kind_unit(k), "rpm");
	assert_int_equal(tpd_sensor_kind_parse("event.undervoltage", &k), TPD_OK);
	assert_int_equal(k, TPD_KIND_EVENT);
	assert_int_equal(tpd_sensor_kind_parse("humidity.x", &k), TPD_ERR_INVAL);
	assert_int_equal(tpd_sensor_kind_parse("temp.", &k), TPD_ERR_INVAL);
	assert_int_equal(tpd_sensor_kind_parse("temp", &k), TPD_ERR_INVAL);
	assert_int_equal(tpd_sensor_kind_parse("temp.CPU", &k), TPD_ERR_INVAL);
	assert_int_equal(tpd_sensor_kind_parse("tempx.cpu", &k), TPD_ERR_INVAL);
	assert_int_equal(tpd_strerror(TPD_ERR_VERIFY)[0] != '\0', 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_id_valid),
		cmocka_unit_test(test_topic_round_trip),
		cmocka_unit_test(test_fault_table_matches_spec),
		cmocka_unit_test(test_sensor_kinds),
	};
	return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
