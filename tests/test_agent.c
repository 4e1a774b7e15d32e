/* test_agent.c - the agent core end to end in memory: samples in, reports out. */
#include <cjson/cJSON.h>

#include "testutil.h"

static struct tpd_rng *rng;
static struct tpd_key *key;

static int setup(void **state)
{
	(void)state;
	if (tpd_rng_new(&rng) || tpd_key_generate(rng, &key))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tpd_key_free(key);
	tpd_rng_free(rng);
	return 0;
}

static struct tpd_agent *new_agent(const struct tpd_product *p, const char *dir,
				   struct tu_capture *cap)
{
	struct tpd_agent_cfg cfg = {
		.id = "TP1", .product = p, .state_dir = dir, .key = key, .rng = rng,
		.emit = tu_emit, .emit_ctx = cap,
	};
	struct tpd_agent *a;
	char err[256];

	if (tpd_agent_new(&cfg, &a, err, sizeof(err)))
		fail_msg("agent: %s", err);
	return a;
}

static void feed(struct tpd_agent *a, double t0, int seconds, double cpu, double vin, double fan)
{
	for (int i = 0; i < seconds; i++) {
		double v[5] = { cpu, vin, fan, 0.4, 0 };

		tpd_agent_sample(a, t0 + i, v);
	}
}

/* Decodes captured fault i and verifies it with the agent's key. */
static cJSON *fault_json(const struct tu_capture *cap, int i)
{
	struct tpd_jws j;
	cJSON *o;

	assert_int_equal(cap->kind[i], TPD_TOPIC_FAULT);
	assert_int_equal(tpd_jws_decode(cap->payload[i], strlen(cap->payload[i]), &j), TPD_OK);
	assert_int_equal(tpd_jws_verify(&j, cap->payload[i], key), TPD_OK);
	assert_string_equal(j.kid, "TP1");
	o = cJSON_Parse(j.payload);
	tpd_jws_clear(&j);
	assert_non_null(o);
	return o;
}

static const char *fstr(const cJSON *o, const char *k)
{
	return cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "fault"), k));
}

static double fnum(const cJSON *o, const char *k)
{
	return cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "fault"), k));
}

static void test_telemetry_every_period(void **state)
{
	struct tpd_product p;
	struct tu_capture cap = { 0 };
	struct tpd_agent *a;
	cJSON *o;

	(void)state;
	tu_product(&p);
	a = new_agent(&p, NULL, &cap);
	feed(a, 1764000000, 180, 50, 12, 4000);     /* 3 periods */
	assert_int_equal(cap.n, 2);                 /* third still open */
	tpd_agent_flush(a);
	assert_int_equal(cap.n, 3);
	tpd_agent_flush(a);                         /* nothing new to send */
	assert_int_equal(cap.n, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(cap.kind[i], TPD_TOPIC_TELEMETRY);
		assert_int_equal(cap.seq[i], (uint64_t)i + 1);
		o = cJSON_Parse(cap.payload[i]);
		assert_non_null(o);
		assert_int_equal(cJSON_GetObjectItem(o, "v")->valueint, 1);
		assert_string_equal(cJSON_GetObjectItem(o, "dev")->valuestring, "TP1");
		assert_string_equal(cJSON_GetObjectItem(o, "model")->valuestring, "test-router");
		assert_string_equal(cJSON_GetObjectItem(o, "fw")->valuestring, "9.9.9");
		assert_true(cJSON_GetObjectItem(o, "seq")->valuedouble == i + 1);
		assert_true(cJSON_GetObjectItem(o, "ts")->valuedouble == 1764000060.0 + 60 * i);
		assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "sensors"),
			"temp.cpu"), "n")->valuedouble == 60);
		cJSON_Delete(o);
	}
	tpd_agent_free(a);
	tu_capture_free(&cap);
}

static void test_fault_raise_and_clear_signed_and_chained(void **state)
{
	struct tpd_product p;
	struct tu_capture cap = { 0 };
	struct tpd_agent *a;
	struct tpd_agent_stats st;
	char link[TPD_HASH_B64_LEN + 1];
	int i1, i2;
	cJSON *o;

	(void)state;
	tu_product(&p);
	a = new_agent(&p, NULL, &cap);
	feed(a, 1000, 5, 60, 12, 4000);
	feed(a, 1005, 20, 90, 12, 4000);            /* above warn 85 for 20 s */
	i1 = tu_find(&cap, TPD_TOPIC_FAULT, 0);
	assert_true(i1 >= 0);
	o = fault_json(&cap, i1);
	assert_string_equal(fstr(o, "code"), "TEMP_HIGH");
	assert_string_equal(fstr(o, "class"), "thermal");
	assert_string_equal(fstr(o, "severity"), "warning");
	assert_string_equal(fstr(o, "state"), "raised");
	assert_string_equal(fstr(o, "sensor"), "temp.cpu");
	assert_true(fnum(o, "value") == 90 && fnum(o, "limit") == 85);
	assert_true(fnum(o, "since") == 1005);
	assert_true(cJSON_GetObjectItem(o, "ts")->valuedouble == 1015);   /* 10 s debounce */
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "fault"), "predictive")));
	assert_string_equal(cJSON_GetObjectItem(o, "prev")->valuestring, "");   /* first signed */
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "recent")), 10);
	cJSON_Delete(o);

	feed(a, 1025, 20, 70, 12, 4000);            /* back below 82 for 20 s */
	i2 = tu_find(&cap, TPD_TOPIC_FAULT, i1 + 1);
	assert_true(i2 > i1);
	o = fault_json(&cap, i2);
	assert_string_equal(fstr(o, "state"), "cleared");
	tpd_hash_b64(cap.payload[i1], strlen(cap.payload[i1]), link);
	assert_string_equal(cJSON_GetObjectItem(o, "prev")->valuestring, link);
	assert_true(cap.seq[i2] > cap.seq[i1]);
	cJSON_Delete(o);
	tpd_agent_stats(a, &st);
	assert_int_equal(st.faults_raised, 1);
	assert_int_equal(st.faults_cleared, 1);
	assert_int_equal(st.active_faults, 0);
	tpd_agent_free(a);
	tu_capture_free(&cap);
}

static void test_broken_sensor_raises_sensor_fail_only(void **state)
{
	struct tpd_product p;
	struct tu_capture cap = { 0 };
	struct tpd_agent *a;
	int i;
	cJSON *o;

	(void)state;
	tu_product(&p);
	a = new_agent(&p, NULL, &cap);
	/* 300 C is not a product running hot, it is a broken sensor */
	feed(a, 0, 50, 300, 12, 4000);
	i = tu_find(&cap, TPD_TOPIC_FAULT, 0);
	assert_true(i >= 0);
	o = fault_json(&cap, i);
	assert_string_equal(fstr(o, "code"), "SENSOR_FAIL");
	assert_string_equal(fstr(o, "class"), "sensor");
	assert_string_equal(fstr(o, "sensor"), "temp.cpu");
	assert_true(cJSON_GetObjectItem(o, "ts")->valuedouble == 30);  /* fail_after_s default */
	cJSON_Delete(o);
	assert_int_equal(tu_find(&cap, TPD_TOPIC_FAULT, i + 1), -1);   /* no TEMP_*, no FAN_STALL */
	tpd_agent_free(a);
	tu_capture_free(&cap);
}

/* The test router with self-check steps: power, fan (only if power passed),
 * CPU temperature, readable sensors. */
static void sc_product(struct tpd_product *p)
{
	static const char steps[] =
		",\"selfcheck\":["
		"{\"id\":\"power.input\",\"check\":\"rail\",\"sensor\":\"volt.vin\",\"fail\":\"user_fixable\","
		"\"hint\":{\"en\":\"Use the original adapter.\",\"zh\":\"请使用原装适配器。\"}},"
		"{\"id\":\"power.stable\",\"check\":\"no_events\",\"sensor\":\"event.undervoltage\","
		"\"window_s\":600,\"fail\":\"user_fixable\",\"hint\":{\"en\":\"Try another socket.\",\"zh\":\"请换一个插座。\"}},"
		"{\"id\":\"fan\",\"check\":\"fan_spins\",\"sensor\":\"fan.main\",\"only_if_pass\":\"power.input\","
		"\"fail\":\"needs_service\",\"hint\":{\"en\":\"Needs service.\",\"zh\":\"需要送修。\"}},"
		"{\"id\":\"cpu\",\"check\":\"below_warn\",\"sensor\":\"temp.cpu\",\"fail\":\"user_fixable\","
		"\"hint\":{\"en\":\"Keep the vents clear.\",\"zh\":\"保持通风。\"}},"
		"{\"id\":\"sensors\",\"check\":\"readable\",\"fail\":\"needs_service\","
		"\"hint\":{\"en\":\"Restart it.\",\"zh\":\"请重启。\"}}]}";
	char json[4096], err[256] = "";
	size_t n = strlen(tu_product_json);

	memcpy(json, tu_product_json, n - 1);            /* drop the final } */
	memcpy(json + n - 1, steps, sizeof(steps));
	if (tpd_product_parse(json, strlen(json), "sc", p, err, sizeof(err)))
		fail_msg("%s", err);
}

static cJSON *selfcheck_json(const struct tu_capture *cap, int i)
{
	struct tpd_jws j;
	cJSON *o;

	assert_int_equal(cap->kind[i], TPD_TOPIC_SELFCHECK);
	assert_int_equal(tpd_jws_decode(cap->payload[i], strlen(cap->payload[i]), &j), TPD_OK);
	assert_int_equal(tpd_jws_verify(&j, cap->payload[i], key), TPD_OK);
	o = cJSON_Parse(j.payload);
	tpd_jws_clear(&j);
	return o;
}

static const char *step_field(const cJSON *sc, int step, const char *k)
{
	return cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(
		cJSON_GetObjectItem(sc, "steps"), step), k));
}

static void test_selfcheck_boot_fault_and_remote(void **state)
{
	struct tpd_product p;
	struct tu_capture cap = { 0 };
	struct tpd_agent *a;
	cJSON *o, *sc;
	int i, f;

	(void)state;
	sc_product(&p);
	a = new_agent(&p, NULL, &cap);
	feed(a, 0, 10, 50, 12, 4000);
	/* boot: everything passes, the fan is hot enough to need spinning */
	i = tu_find(&cap, TPD_TOPIC_SELFCHECK, 0);
	assert_true(i >= 0);
	o = selfcheck_json(&cap, i);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "trigger")), "boot");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "verdict")), "ok");
	assert_string_equal(step_field(o, 2, "result"), "pass");
	assert_null(step_field(o, 2, "hint"));            /* a pass needs no hint */
	cJSON_Delete(o);

	/* the fan stops while hot: the fault carries the self-check's finding */
	feed(a, 10, 60, 50, 12, 0);
	f = tu_find(&cap, TPD_TOPIC_FAULT, 0);
	assert_true(f >= 0);
	o = fault_json(&cap, f);
	assert_string_equal(fstr(o, "code"), "FAN_STALL");
	sc = cJSON_GetObjectItem(o, "selfcheck");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(sc, "verdict")), "needs_service");
	assert_string_equal(step_field(sc, 2, "result"), "fail");
	assert_string_equal(step_field(sc, 2, "hint"), "Needs service.");
	assert_string_equal(step_field(sc, 2, "hint_zh"), "需要送修。");
	assert_non_null(strstr(step_field(sc, 2, "detail"), "fan.main 0 rpm while hot"));
	cJSON_Delete(o);
	/* ...and is published on its own, right after */
	i = tu_find(&cap, TPD_TOPIC_SELFCHECK, f + 1);
	assert_true(i == f + 1);
	o = selfcheck_json(&cap, i);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "trigger")), "fault");
	cJSON_Delete(o);

	/* low input power: the fan step is skipped (tree), power fails, and an
	 * under-voltage event makes power.stable fail for the next 600 s */
	for (int t = 70; t < 80; t++) {
		double v[5] = { 50, 10.0, 0, 0.4, t == 75 };

		tpd_agent_sample(a, t, v);
	}
	assert_int_equal(tpd_agent_selfcheck(a, 80, "remote"), TPD_OK);
	i = cap.n - 1;
	o = selfcheck_json(&cap, i);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "trigger")), "remote");
	assert_string_equal(step_field(o, 0, "result"), "fail");
	assert_non_null(strstr(step_field(o, 0, "detail"), "volt.vin 10 V (allowed 11.4..13.2)"));
	assert_string_equal(step_field(o, 1, "result"), "fail");
	assert_string_equal(step_field(o, 2, "result"), "skip");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "verdict")), "user_fixable");
	cJSON_Delete(o);
	tpd_agent_free(a);
	tu_capture_free(&cap);
}

/* A fan driver frozen at one reading (with stuck_s) is a sensor fault, not
 * a healthy fan; a live, jittering one is not. */
static void test_stuck_reading_raises_sensor_fail(void **state)
{
	struct tpd_product p;
	struct tu_capture cap = { 0 };
	struct tpd_agent *a;
	cJSON *o;
	int i;

	(void)state;
	tu_product(&p);
	p.sensors[TU_FAN].stuck_s = 600;
	a = new_agent(&p, NULL, &cap);
	for (int t = 0; t < 600; t++) {          /* jitters: live */
		double v[5] = { 50, 12, 4000 + (t % 3), 0.4, 0 };

		tpd_agent_sample(a, t, v);
	}
	assert_int_equal(tu_find(&cap, TPD_TOPIC_FAULT, 0), -1);
	feed(a, 600, 700, 50, 12, 4000);           /* frozen for 700 s */
	i = tu_find(&cap, TPD_TOPIC_FAULT, 0);
	assert_true(i >= 0);
	o = fault_json(&cap, i);
	assert_string_equal(fstr(o, "code"), "SENSOR_FAIL");
	assert_string_equal(fstr(o, "sensor"), "fan.main");
	/* frozen from t=600, counted bad from 1200, raised fail_after_s (30) later */
	assert_true(fnum(o, "since") >= 1200 && cJSON_GetObjectItem(o, "ts")->valuedouble <= 1235);
	cJSON_Delete(o);
	tpd_agent_free(a);
	tu_capture_free(&cap);
}

static void test_fan_stall_only_when_hot(void **state)
{
	struct tpd_product p;
	struct tu_capture cap = { 0 };
	struct tpd_agent *a;
	int i;
	cJSON *o;

	(void)state;
	tu_product(&p);
	a = new_agent(&p, NULL, &cap);
	feed(a, 0, 100, 40, 12, 0);                /* fan off, product cool: fine */
	assert_int_equal(tu_find(&cap, TPD_TOPIC_FAULT, 0), -1);
	feed(a, 100, 30, 60, 12, 0);               /* hot and still off: stall */
	i = tu_find(&cap, TPD_TOPIC_FAULT, 0);
	assert_true(i >= 0);
	o = fault_json(&cap, i);
	assert_string_equal(fstr(o, "code"), "FAN_STALL");
	assert_true(fnum(o, "limit") == 500);
	cJSON_Delete(o);
	tpd_agent_free(a);
	tu_capture_free(&cap);
}

static void test_undervoltage_and_brownout(void **state)
{
	struct tpd_product p;
	struct tu_capture cap = { 0 };
	struct tpd_agent *a;
	bool under = false, brown = false;

	(void)state;
	tu_product(&p);
	a = new_agent(&p, NULL, &cap);
	feed(a, 0, 10, 50, 11.0, 4000);            /* below 11.4 for 10 s */
	for (int k = 0; k < 3; k++) {              /* three dips within a minute */
		double v1[5] = { 50, 12, 4000, 0.4, 1 }, v0[5] = { 50, 12, 4000, 0.4, 0 };

		tpd_agent_sample(a, 20 + k * 10, v1);
		tpd_agent_sample(a, 21 + k * 10, v0);
	}
	for (int i = 0; i < cap.n; i++) {
		if (cap.kind[i] != TPD_TOPIC_FAULT)
			continue;
		cJSON *o = fault_json(&cap, i);

		under |= !strcmp(fstr(o, "code"), "PWR_UNDERVOLT") && !strcmp(fstr(o, "state"), "raised");
		brown |= !strcmp(fstr(o, "code"), "PWR_BROWNOUT") && fnum(o, "value") == 3;
		cJSON_Delete(o);
	}
	assert_true(under);
	assert_true(brown);
	tpd_agent_free(a);
	tu_capture_free(&cap);
}

static void test_seq_persists_and_never_repeats(void **state)
{
	struct tpd_product p;
	struct tu_capture cap = { 0 };
	struct tpd_agent *a;
	char dir[64];
	uint64_t last;

	(void)state;
	tu_product(&p);
	tu_mkdtemp(dir, sizeof(dir));
	a = new_agent(&p, dir, &cap);
	feed(a, 0, 600, 50, 12, 4000);
	last = cap.seq[cap.n - 1];
	tpd_agent_free(a);                         /* like a crash: no clean shutdown */
	a = new_agent(&p, dir, &cap);
	feed(a, 600, 120, 50, 12, 4000);
	assert_true(cap.seq[cap.n - 1] > last);
	for (int i = 1; i < cap.n; i++)
		assert_true(cap.seq[i] > cap.seq[i - 1]);
	tpd_agent_free(a);
	tu_capture_free(&cap);
	tu_rm_rf(dir);
}

static void test_chain_persists_across_restart(void **state)
{
	struct tpd_product p;
	struct tu_capture cap = { 0 };
	struct tpd_agent *a;
	char dir[64], link[TPD_HASH_B64_LEN + 1];
	int i1, i2;
	cJSON *o;

	(void)state;
	tu_product(&p);
	tu_mkdtemp(dir, sizeof(dir));
	a = new_agent(&p, dir, &cap);
	feed(a, 0, 20, 90, 12, 4000);
	tpd_agent_free(a);
	i1 = tu_find(&cap, TPD_TOPIC_FAULT, 0);
	a = new_agent(&p, dir, &cap);              /* detectors start fresh: raises again */
	feed(a, 100, 20, 90, 12, 4000);
	i2 = tu_find(&cap, TPD_TOPIC_FAULT, i1 + 1);
	assert_true(i1 >= 0 && i2 > i1);
	o = fault_json(&cap, i2);
	tpd_hash_b64(cap.payload[i1], strlen(cap.payload[i1]), link);
	assert_string_equal(cJSON_GetObjectItem(o, "prev")->valuestring, link);
	cJSON_Delete(o);
	tpd_agent_free(a);
	tu_capture_free(&cap);
	tu_rm_rf(dir);
}

static void test_emit_failure_is_counted_and_survived(void **state)
{
	struct tpd_product p;
	struct tu_capture cap = { 0 };
	struct tpd_agent *a;
	struct tpd_agent_stats st;

	(void)state;
	tu_product(&p);
	a = new_agent(&p, NULL, &cap);
	cap.fail_next = 1;
	feed(a, 0, 61, 50, 12, 4000);
	feed(a, 61, 60, 50, 12, 4000);
	tpd_agent_stats(a, &st);
	assert_int_equal(st.emit_failures, 1);
	assert_int_equal(cap.n, 1);                /* the next period went out */
	assert_int_equal(cap.seq[0], 2);           /* seq 1 was spent on the failed one */
	tpd_agent_free(a);
	tu_capture_free(&cap);
}

static void test_status_and_bad_config(void **state)
{
	struct tpd_product p;
	struct tu_capture cap = { 0 };
	struct tpd_agent *a;
	struct tpd_agent_cfg cfg = { .id = "bad/id", .key = key, .rng = rng, .emit = tu_emit };
	char *json, err[256];
	size_t len;
	cJSON *o;

	(void)state;
	tu_product(&p);
	cfg.product = &p;
	assert_int_equal(tpd_agent_new(&cfg, &a, err, sizeof(err)), TPD_ERR_INVAL);
	assert_null(a);
	assert_non_null(strstr(err, "bad/id"));
	cfg.id = "TP1";
	cfg.key = NULL;
	assert_int_equal(tpd_agent_new(&cfg, &a, err, sizeof(err)), TPD_ERR_INVAL);
	a = new_agent(&p, NULL, &cap);
	assert_int_equal(tpd_agent_status_json(a, "offline", "clean_restart", 5.5, &json, &len), TPD_OK);
	o = cJSON_Parse(json);
	assert_string_equal(cJSON_GetObjectItem(o, "state")->valuestring, "offline");
	assert_string_equal(cJSON_GetObjectItem(o, "boot_reason")->valuestring, "clean_restart");
	assert_true(cJSON_GetObjectItem(o, "seq")->valuedouble == 1);
	assert_true(cJSON_GetObjectItem(o, "ts")->valuedouble == 5.5);
	cJSON_Delete(o);
	free(json);
	tpd_agent_free(a);
}

/* Dust: the CPU runs 2 C hotter every day under the same daily load cycle.
 * The agent reports TEMP_RISING, signed, predictive, with an ETA, days before
 * TEMP_CRITICAL would be raised. */
static void test_predictive_fault_before_the_limit(void **state)
{
	static const char json[] =
		"{\"model\":\"dusty\",\"sample_period_s\":60,\"telemetry_period_s\":86400,"
		"\"sensors\":[{\"id\":\"temp.cpu\",\"warn\":85,\"crit\":100},{\"id\":\"load.cpu\"}]}";
	struct tpd_product p;
	struct tu_capture cap = { 0 };
	struct tpd_agent *a;
	char err[256];
	int i, crit = -1, rising = -1;
	cJSON *o;

	(void)state;
	assert_int_equal(tpd_product_parse(json, strlen(json), "dusty", &p, err, sizeof(err)), TPD_OK);
	a = new_agent(&p, NULL, &cap);
	for (long k = 0; k < 30 * 1440; k++) {
		double day = k / 1440.0, load = 0.5 + 0.45 * sin(2 * M_PI * day);
		/* dust from day 5: the same load heats 4 % more each day */
		double v[2] = { 40 + 25 * load * (day > 5 ? 1 + 0.04 * (day - 5) : 1), load };

		tpd_agent_sample(a, 1764000000.0 + k * 60.0, v);
	}
	for (i = 0; i < cap.n; i++) {
		const char *code;

		if (cap.kind[i] != TPD_TOPIC_FAULT)
			continue;
		o = fault_json(&cap, i);
		code = fstr(o, "code");
		if (rising < 0 && strcmp(code, "TEMP_RISING") == 0) {
			rising = i;
			assert_string_equal(fstr(o, "state"), "raised");
			assert_string_equal(fstr(o, "severity"), "warning");
			assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "fault"),
								     "predictive")));
			assert_true(fnum(o, "eta_s") > 0 && isfinite(fnum(o, "eta_s")));
			/* and why: the thermal slope against early life */
			assert_true(fnum(o, "now") > 1.03 * fnum(o, "baseline"));
			assert_float_equal(fnum(o, "baseline"), 25, 1.5);
			assert_float_equal(fnum(o, "limit"), 100, 0);
		}
		if (crit < 0 && strcmp(code, "TEMP_CRITICAL") == 0)
			crit = i;
		cJSON_Delete(o);
	}
	assert_true(rising >= 0);
	assert_true(crit < 0 || rising < crit);
	tpd_agent_free(a);
	tu_capture_free(&cap);
}

static void test_many_agents_in_one_process(void **state)
{
	enum { N = 500 };
	struct tpd_product p;
	struct tu_capture *cap = calloc(N, sizeof(*cap));
	struct tpd_agent **a = calloc(N, sizeof(*a));

	(void)state;
	tu_product(&p);
	for (int i = 0; i < N; i++)
		a[i] = new_agent(&p, NULL, &cap[i]);
	/* only odd agents overheat; state must not leak between instances */
	for (int t = 0; t < 30; t++) {
		for (int i = 0; i < N; i++) {
			double v[5] = { i % 2 ? 95 : 50, 12, 4000, 0.3, 0 };

			tpd_agent_sample(a[i], t, v);
		}
	}
	for (int i = 0; i < N; i++) {
		assert_int_equal(tu_find(&cap[i], TPD_TOPIC_FAULT, 0) >= 0, i % 2);
		tpd_agent_free(a[i]);
		tu_capture_free(&cap[i]);
	}
	free(a);
	free(cap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_telemetry_every_period),
		cmocka_unit_test(test_fault_raise_and_clear_signed_and_chained),
		cmocka_unit_test(test_broken_sensor_raises_sensor_fail_only),
		cmocka_unit_test(test_fan_stall_only_when_hot),
		cmocka_unit_test(test_stuck_reading_raises_sensor_fail),
		cmocka_unit_test(test_selfcheck_boot_fault_and_remote),
		cmocka_unit_test(test_undervoltage_and_brownout),
		cmocka_unit_test(test_seq_persists_and_never_repeats),
		cmocka_unit_test(test_chain_persists_across_restart),
		cmocka_unit_test(test_emit_failure_is_counted_and_survived),
		cmocka_unit_test(test_status_and_bad_config),
		cmocka_unit_test(test_predictive_fault_before_the_limit),
		cmocka_unit_test(test_many_agents_in_one_process),
	};
	return cmocka_run_group_tests_name("agent", tests, setup, teardown);
}
