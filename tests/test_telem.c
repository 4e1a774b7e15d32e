/* test_telem.c - telemetry aggregation over a period. */
#include "testutil.h"
#include "telem.h"

static void test_aggregates(void **state)
{
	struct tpd_product p;
	struct tpd_telem t;
	double v[5];
	int good[5] = { 1, 1, 1, 1, 1 };
	double end;
	cJSON *o;

	(void)state;
	tu_product(&p);
	tpd_telem_init(&t, &p);
	for (int i = 0; i < 60; i++) {
		v[TU_CPU] = 50 + i % 3;               /* 50, 51, 52 */
		v[TU_VIN] = 12.0;
		v[TU_FAN] = 4000;
		v[TU_LOAD] = 0.25;
		v[TU_UV] = (i >= 10 && i < 15) || i == 30 || i == 31 ? 1 : 0; /* 2 events */
		good[TU_VIN] = i != 7;                /* one failed read */
		assert_false(tpd_telem_due(&t, 1764000000.0 + i));
		tpd_telem_add(&t, 1764000000.0 + i, v, good);
	}
	assert_true(tpd_telem_due(&t, 1764000060.0));
	o = cJSON_CreateObject();
	assert_int_equal(tpd_telem_to_json(&t, o, &end), TPD_OK);
	assert_true(end == 1764000060.0);
	cJSON *cpu = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "sensors"), "temp.cpu");
	assert_true(cJSON_GetObjectItem(cpu, "min")->valuedouble == 50);
	assert_true(cJSON_GetObjectItem(cpu, "max")->valuedouble == 52);
	assert_true(cJSON_GetObjectItem(cpu, "avg")->valuedouble == 51);
	assert_true(cJSON_GetObjectItem(cpu, "n")->valuedouble == 60);
	assert_null(cJSON_GetObjectItem(cpu, "fail"));
	cJSON *vin = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "sensors"), "volt.vin");
	assert_true(cJSON_GetObjectItem(vin, "n")->valuedouble == 59);
	assert_true(cJSON_GetObjectItem(vin, "fail")->valuedouble == 1);
	assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "events"), "undervoltage")->valuedouble == 2);
	assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "load"), "cpu")->valuedouble == 0.25);
	/* load and events are not repeated under sensors */
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "sensors"), "load.cpu"));
	assert_true(cJSON_GetObjectItem(o, "period_s")->valuedouble == 60);
	cJSON_Delete(o);
}

static void test_periods_align_and_reset(void **state)
{
	struct tpd_product p;
	struct tpd_telem t;
	double v[5] = { 50, 12, 4000, 0.5, 0 }, end;
	int good[5] = { 1, 1, 1, 1, 1 };
	cJSON *o;

	(void)state;
	tu_product(&p);
	tpd_telem_init(&t, &p);
	tpd_telem_add(&t, 1000.5, v, good);          /* period [960, 1020) */
	assert_true(t.start_s == 960);
	assert_false(tpd_telem_due(&t, 1019.9));
	assert_true(tpd_telem_due(&t, 1020));
	tpd_telem_reset(&t, 1500);                   /* a gap: jump to [1500, 1560) */
	assert_true(t.start_s == 1500);
	assert_int_equal(t.samples, 0);
	v[TU_UV] = 1;                                /* flag already up: one event */
	tpd_telem_add(&t, 1500, v, good);
	tpd_telem_add(&t, 1501, v, good);
	o = cJSON_CreateObject();
	assert_int_equal(tpd_telem_to_json(&t, o, &end), TPD_OK);
	assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "events"), "undervoltage")->valuedouble == 1);
	assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "sensors"),
							    "temp.cpu"), "n")->valuedouble == 2);
	cJSON_Delete(o);
}

static void test_all_reads_failed_gives_nulls(void **state)
{
	struct tpd_product p;
	struct tpd_telem t;
	double v[5] = { NAN, 12, 4000, 0.5, 0 }, end;
	int good[5] = { 0, 1, 1, 0, 1 };
	cJSON *o, *cpu;

	(void)state;
	tu_product(&p);
	tpd_telem_init(&t, &p);
	tpd_telem_add(&t, 0, v, good);
	o = cJSON_CreateObject();
	assert_int_equal(tpd_telem_to_json(&t, o, &end), TPD_OK);
	cpu = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "sensors"), "temp.cpu");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(cpu, "avg")));
	assert_true(cJSON_GetObjectItem(cpu, "fail")->valuedouble == 1);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "load"), "cpu")));
	cJSON_Delete(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aggregates),
		cmocka_unit_test(test_periods_align_and_reset),
		cmocka_unit_test(test_all_reads_failed_gives_nulls),
	};
	return cmocka_run_group_tests_name("telem", tests, NULL, NULL);
}
