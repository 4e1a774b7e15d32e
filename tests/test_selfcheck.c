/*
 * test_selfcheck.c - every self-check step's pass, fail and skip, the tree
 * (only_if_pass) and the verdict, on hand-made inputs.
 */
#include <cjson/cJSON.h>

#include "testutil.h"

#include "tpd/selfcheck.h"

static const char sc_json[] =
	"{\"model\":\"sc\",\"sensors\":["
	"{\"id\":\"temp.cpu\",\"warn\":85,\"crit\":100},"
	"{\"id\":\"volt.vin\",\"min\":11.4,\"max\":13.2},"
	"{\"id\":\"fan.main\",\"stall_rpm\":500,\"spin_when\":{\"sensor\":\"temp.cpu\",\"above\":45}},"
	"{\"id\":\"load.cpu\"},"
	"{\"id\":\"event.undervoltage\"}],"
	"\"selfcheck\":["
	"{\"id\":\"power.input\",\"check\":\"rail\",\"sensor\":\"volt.vin\",\"fail\":\"user_fixable\","
	"\"hint\":{\"en\":\"adapter\",\"zh\":\"适配器\"}},"
	"{\"id\":\"power.stable\",\"check\":\"no_events\",\"sensor\":\"event.undervoltage\","
	"\"window_s\":600,\"fail\":\"user_fixable\",\"hint\":{\"en\":\"socket\",\"zh\":\"插座\"}},"
	"{\"id\":\"fan\",\"check\":\"fan_spins\",\"sensor\":\"fan.main\",\"only_if_pass\":\"power.input\","
	"\"fail\":\"needs_service\",\"hint\":{\"en\":\"fan\",\"zh\":\"风扇\"}},"
	"{\"id\":\"thermal\",\"check\":\"below_warn\",\"sensor\":\"temp.cpu\",\"fail\":\"user_fixable\","
	"\"hint\":{\"en\":\"air\",\"zh\":\"通风\"}},"
	"{\"id\":\"thermal.load\",\"check\":\"temp_for_load\",\"sensor\":\"temp.cpu\","
	"\"fail\":\"user_fixable\",\"hint\":{\"en\":\"dust\",\"zh\":\"灰尘\"}},"
	"{\"id\":\"restarts\",\"check\":\"clean_restarts\",\"count\":3,\"window_s\":86400,"
	"\"fail\":\"needs_service\",\"hint\":{\"en\":\"service\",\"zh\":\"送修\"}},"
	"{\"id\":\"sensors\",\"check\":\"readable\",\"fail\":\"needs_service\","
	"\"hint\":{\"en\":\"restart\",\"zh\":\"重启\"}}]}";

enum { S_RAIL, S_EVENTS, S_FAN, S_WARN, S_LOAD, S_RESTARTS, S_READABLE, S_N };

struct sc_world {
	double value[5];            /* temp.cpu, volt.vin, fan.main, load.cpu, event */
	double last_event_ts[5];
	bool should_spin[5];
	double expected[5], tol[5];
	double restarts[8];
	unsigned nrestarts;
};

static void sc_healthy(struct sc_world *w)
{
	static const struct sc_world h = {
		.value = { 60, 12.0, 3000, 0.5, 0 },
		.last_event_ts = { NAN, NAN, NAN, NAN, NAN },
		.should_spin = { true, true, true, true, true },
		.expected = { 58, NAN, NAN, NAN, NAN },
		.tol = { 6, NAN, NAN, NAN, NAN },
	};
	*w = h;
}

static enum tpd_sc_verdict sc_run(const struct sc_world *w, struct tpd_sc_outcome *out)
{
	static struct tpd_product p;
	static bool loaded;
	char err[256];
	struct tpd_sc_input in;

	if (!loaded) {
		if (tpd_product_parse(sc_json, strlen(sc_json), "sc", &p, err, sizeof(err)))
			fail_msg("%s", err);
		loaded = true;
	}
	assert_int_equal(p.nsteps, S_N);
	in = (struct tpd_sc_input){
		.product = &p, .value = w->value, .last_event_ts = w->last_event_ts,
		.should_spin = w->should_spin, .expected = w->expected, .expected_tol = w->tol,
		.restart_ts = w->restarts, .nrestarts = w->nrestarts, .now = 1000000,
	};
	return tpd_selfcheck_run(&in, out);
}

static void test_all_pass_is_ok(void **state)
{
	struct sc_world w;
	struct tpd_sc_outcome out[S_N];

	(void)state;
	sc_healthy(&w);
	assert_int_equal(sc_run(&w, out), TPD_SC_OK);
	for (int i = 0; i < S_N; i++)
		assert_int_equal(out[i].result, TPD_SC_PASS);
	assert_non_null(strstr(out[S_LOAD].detail, "58.0 +- 6.0"));
	assert_non_null(strstr(out[S_RESTARTS].detail, "0 unclean restarts"));
}

/* Each step alone fails, with the verdict its "fail" says. */
static void test_each_step_fails(void **state)
{
	struct sc_world w;
	struct tpd_sc_outcome out[S_N];

	(void)state;
	sc_healthy(&w);
	w.value[1] = 10.8;                         /* rail low */
	assert_int_equal(sc_run(&w, out), TPD_SC_USER_FIXABLE);
	assert_int_equal(out[S_RAIL].result, TPD_SC_FAIL);
	assert_non_null(strstr(out[S_RAIL].detail, "10.8 V (allowed 11.4..13.2)"));
	assert_int_equal(out[S_FAN].result, TPD_SC_SKIP);   /* the tree: rail first */

	sc_healthy(&w);
	w.last_event_ts[4] = 1000000 - 120;        /* a dip two minutes ago */
	assert_int_equal(sc_run(&w, out), TPD_SC_USER_FIXABLE);
	assert_int_equal(out[S_EVENTS].result, TPD_SC_FAIL);

	sc_healthy(&w);
	w.value[2] = 0;                            /* fan stopped while hot */
	assert_int_equal(sc_run(&w, out), TPD_SC_NEEDS_SERVICE);
	assert_int_equal(out[S_FAN].result, TPD_SC_FAIL);

	sc_healthy(&w);
	w.value[0] = 88;                           /* above warning */
	w.expected[0] = 85;
	assert_int_equal(sc_run(&w, out), TPD_SC_USER_FIXABLE);
	assert_int_equal(out[S_WARN].result, TPD_SC_FAIL);
	assert_int_equal(out[S_LOAD].result, TPD_SC_PASS);  /* hot, but as hot as this load makes it */

	sc_healthy(&w);
	w.value[0] = 75;                           /* 17 C above normal for this load */
	assert_int_equal(sc_run(&w, out), TPD_SC_USER_FIXABLE);
	assert_int_equal(out[S_WARN].result, TPD_SC_PASS);
	assert_int_equal(out[S_LOAD].result, TPD_SC_FAIL);

	sc_healthy(&w);
	w.nrestarts = 4;                           /* 3 in the last day, one older */
	w.restarts[0] = 1000000 - 3 * 86400;
	w.restarts[1] = 1000000 - 80000;
	w.restarts[2] = 1000000 - 3600;
	w.restarts[3] = 1000000 - 60;
	assert_int_equal(sc_run(&w, out), TPD_SC_NEEDS_SERVICE);
	assert_int_equal(out[S_RESTARTS].result, TPD_SC_FAIL);
	assert_non_null(strstr(out[S_RESTARTS].detail, "3 unclean restarts"));
	w.nrestarts = 3;                           /* two in the day: passes */
	w.restarts[2] = 1000000 - 2 * 86400;
	assert_int_equal(sc_run(&w, out), TPD_SC_OK);

	sc_healthy(&w);
	w.value[3] = NAN;                          /* load unreadable */
	assert_int_equal(sc_run(&w, out), TPD_SC_NEEDS_SERVICE);
	assert_int_equal(out[S_READABLE].result, TPD_SC_FAIL);
	assert_non_null(strstr(out[S_READABLE].detail, "load.cpu"));
}

static void test_skips(void **state)
{
	struct sc_world w;
	struct tpd_sc_outcome out[S_N];

	(void)state;
	sc_healthy(&w);
	w.expected[0] = NAN;                       /* normal not learned yet */
	w.should_spin[2] = false;                  /* cool: the fan may rest */
	w.value[2] = 0;
	assert_int_equal(sc_run(&w, out), TPD_SC_OK);
	assert_int_equal(out[S_LOAD].result, TPD_SC_SKIP);
	assert_non_null(strstr(out[S_LOAD].detail, "still being learned"));
	assert_int_equal(out[S_FAN].result, TPD_SC_SKIP);
	w.value[0] = NAN;                          /* unreadable: skipped, and caught by readable */
	assert_int_equal(sc_run(&w, out), TPD_SC_NEEDS_SERVICE);
	assert_int_equal(out[S_WARN].result, TPD_SC_SKIP);
	assert_int_equal(out[S_READABLE].result, TPD_SC_FAIL);
}

/* The report body: hints (en + zh) on failures only. */
static void test_report_json(void **state)
{
	struct sc_world w;
	struct tpd_sc_outcome out[S_N];
	struct tpd_product p;
	enum tpd_sc_verdict v;
	char err[256];
	cJSON *o = cJSON_CreateObject(), *steps;

	(void)state;
	assert_int_equal(tpd_product_parse(sc_json, strlen(sc_json), "sc", &p, err, sizeof(err)),
			 TPD_OK);
	sc_healthy(&w);
	w.value[0] = 75;
	v = sc_run(&w, out);
	assert_true(tpd_selfcheck_to_json(&p, "technician", out, v, o));
	steps = cJSON_GetObjectItem(o, "steps");
	assert_int_equal(cJSON_GetArraySize(steps), S_N);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(
		cJSON_GetArrayItem(steps, S_LOAD), "hint")), "dust");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(
		cJSON_GetArrayItem(steps, S_LOAD), "hint_zh")), "灰尘");
	assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(steps, S_RAIL), "hint"));
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "verdict")), "user_fixable");
	cJSON_Delete(o);
}

static void test_bad_steps_refused(void **state)
{
	static const char *const bad[][2] = {
		{ "{\"id\":\"x\",\"check\":\"temp_for_load\",\"sensor\":\"volt.vin\",\"fail\":\"user_fixable\","
		  "\"hint\":{\"en\":\"a\",\"zh\":\"b\"}}", "temp_for_load needs a sensor with crit" },
		{ "{\"id\":\"x\",\"check\":\"clean_restarts\",\"count\":0,\"fail\":\"user_fixable\","
		  "\"hint\":{\"en\":\"a\",\"zh\":\"b\"}}", "count" },
		{ "{\"id\":\"x\",\"check\":\"reboots\",\"fail\":\"user_fixable\","
		  "\"hint\":{\"en\":\"a\",\"zh\":\"b\"}}", "clean_restarts" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char json[1024], err[256] = "";
		struct tpd_product p;

		snprintf(json, sizeof(json), "{\"model\":\"m\",\"sensors\":[{\"id\":\"temp.cpu\","
			 "\"crit\":100},{\"id\":\"volt.vin\",\"min\":11}],\"selfcheck\":[%s]}", bad[i][0]);
		assert_int_equal(tpd_product_parse(json, strlen(json), "b", &p, err, sizeof(err)),
				 TPD_ERR_INVAL);
		if (!strstr(err, bad[i][1]))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, bad[i][1]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_pass_is_ok),
		cmocka_unit_test(test_each_step_fails),
		cmocka_unit_test(test_skips),
		cmocka_unit_test(test_report_json),
		cmocka_unit_test(test_bad_steps_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
