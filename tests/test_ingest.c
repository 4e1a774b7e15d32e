/* test_ingest.c - validation of incoming messages: what the agent sends is
 * accepted (round trip), and each kind of bad input is refused with its
 * reason. */
#include <cjson/cJSON.h>

#include "testutil.h"
#include "ingest.h"
#include "registry.h"

static struct tpd_rng *rng;
static struct tpd_key *key, *other_key;
static struct tpc_registry *reg;
static char dir[64];

static int setup(void **state)
{
	char path[128], b64[256], row[1024];

	(void)state;
	if (tpd_rng_new(&rng) || tpd_key_generate(rng, &key) || tpd_key_generate(rng, &other_key))
		return -1;
	tu_mkdtemp(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/reg.csv", dir);
	tpd_key_public_b64(key, b64, sizeof(b64));
	snprintf(row, sizeof(row), "device_id,model,purchase_date,public_key\n"
		 "TP1,test-router,2025-06-01,%s\nTP2,test-router,,%s\n", b64, b64);
	tu_write(path, row);
	return tpc_registry_load(path, &reg, row, sizeof(row)) ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	tpc_registry_free(reg);
	tpd_key_free(key);
	tpd_key_free(other_key);
	tpd_rng_free(rng);
	tu_rm_rf(dir);
	return 0;
}

/* Runs the agent on the test product so that it emits telemetry and faults. */
static void agent_reports(struct tu_capture *cap, const char *id)
{
	struct tpd_product p;
	struct tpd_agent_cfg cfg = { .id = id, .key = key, .emit = tu_emit, .emit_ctx = cap };
	struct tpd_agent *a;
	char err[128];

	tu_product(&p);
	cfg.product = &p;
	cfg.rng = rng;
	assert_int_equal(tpd_agent_new(&cfg, &a, err, sizeof(err)), TPD_OK);
	for (int t = 0; t < 150; t++) {
		double v[5] = { t < 60 ? 50 : 95, 12, 4000, 0.3, 0 };

		tpd_agent_sample(a, 1764000000 + t, v);
	}
	tpd_agent_free(a);
}

static enum tpd_err decode(const char *topic, const char *payload, struct tpc_report *r,
			   enum tpc_reject *reason, char *why)
{
	return tpc_ingest_decode(topic, payload, strlen(payload), reg, r, reason, why, 256);
}

static void test_agent_reports_round_trip(void **state)
{
	struct tu_capture cap = { 0 };
	struct tpc_report r;
	enum tpc_reject reason;
	char why[256], topic[TPD_TOPIC_MAX];
	int faults = 0, telem = 0;

	(void)state;
	agent_reports(&cap, "TP1");
	for (int i = 0; i < cap.n; i++) {
		tpd_topic_format(topic, sizeof(topic), "TP1", cap.kind[i]);
		if (decode(topic, cap.payload[i], &r, &reason, why))
			fail_msg("agent report %d refused: %s", i, why);
		assert_string_equal(r.dev, "TP1");
		assert_string_equal(r.model, "test-router");
		assert_int_equal(r.seq, cap.seq[i]);
		if (r.kind == TPD_TOPIC_FAULT) {
			faults++;
			assert_true(r.verified);
			assert_non_null(r.jws);
			assert_true(r.raised);
			assert_int_equal(r.cls, TPD_CLASS_THERMAL);
			assert_true(r.code == TPD_FAULT_TEMP_HIGH || r.code == TPD_FAULT_TEMP_CRITICAL);
			assert_string_equal(r.sensor, "temp.cpu");
			assert_true(r.value == 95);
		} else {
			telem++;
			assert_false(r.verified);
			assert_null(r.jws);
		}
		tpc_report_clear(&r);
	}
	assert_true(faults == 1 && telem == 2);
	tu_capture_free(&cap);
}

static void expect_reject(const char *topic, const char *payload, enum tpc_reject want,
			  const char *needle)
{
	struct tpc_report r;
	enum tpc_reject reason = TPC_REJECT_COUNT;
	char why[256] = "";

	assert_int_equal(decode(topic, payload, &r, &reason, why), TPD_ERR_INVAL);
	if (reason != want)
		fail_msg("rejected as %s (%s), expected %s", tpc_reject_name(reason), why,
			 tpc_reject_name(want));
	if (needle && !strstr(why, needle))
		fail_msg("reason \"%s\" lacks \"%s\"", why, needle);
	assert_null(r.json);
}

#define HDR "\"v\":1,\"dev\":\"TP1\",\"model\":\"m\",\"fw\":\"1\",\"seq\":5,\"ts\":1764000000"
#define TOPIC_T "tp/v1/TP1/telemetry"

static void test_bad_plain_messages(void **state)
{
	char *big;

	(void)state;
	expect_reject("tp/v1/TP1", "{}", TPC_REJECT_TOPIC, "topic");
	expect_reject("tp/v1/TP1/bogus", "{}", TPC_REJECT_TOPIC, NULL);
	expect_reject("other/TP1/telemetry", "{}", TPC_REJECT_TOPIC, NULL);
	expect_reject(TOPIC_T, "{not json", TPC_REJECT_JSON, NULL);
	expect_reject(TOPIC_T, "[1,2]", TPC_REJECT_JSON, NULL);
	expect_reject(TOPIC_T, "", TPC_REJECT_JSON, NULL);
	expect_reject(TOPIC_T, "{" HDR ",\"period_s\":60,\"sensors\":{}", TPC_REJECT_JSON, NULL);
	/* the text is stored as sent: nothing may follow the object */
	expect_reject(TOPIC_T, "{" HDR ",\"period_s\":60,\"sensors\":{}} {\"x\":1}", TPC_REJECT_JSON,
		      "after the JSON object");
	expect_reject(TOPIC_T, "{" HDR ",\"period_s\":60,\"sensors\":{}}garbage", TPC_REJECT_JSON, NULL);
	/* dev differs from the topic */
	expect_reject("tp/v1/TP2/telemetry", "{" HDR ",\"period_s\":60,\"sensors\":{}}",
		      TPC_REJECT_DEV_MISMATCH, "TP2");
	/* wrong types */
	expect_reject(TOPIC_T, "{\"v\":1,\"dev\":\"TP1\",\"model\":\"m\",\"fw\":\"1\",\"seq\":\"5\","
		      "\"ts\":1,\"period_s\":60,\"sensors\":{}}", TPC_REJECT_SCHEMA, "seq");
	expect_reject(TOPIC_T, "{\"v\":1,\"dev\":\"TP1\",\"model\":\"m\",\"fw\":\"1\",\"seq\":5.5,"
		      "\"ts\":1,\"period_s\":60,\"sensors\":{}}", TPC_REJECT_SCHEMA, "seq");
	expect_reject(TOPIC_T, "{\"v\":2,\"dev\":\"TP1\",\"model\":\"m\",\"fw\":\"1\",\"seq\":5,"
		      "\"ts\":1,\"period_s\":60,\"sensors\":{}}", TPC_REJECT_SCHEMA, "v");
	expect_reject(TOPIC_T, "{\"v\":1,\"dev\":7,\"model\":\"m\",\"fw\":\"1\",\"seq\":5,"
		      "\"ts\":1,\"period_s\":60,\"sensors\":{}}", TPC_REJECT_SCHEMA, "dev");
	expect_reject(TOPIC_T, "{" HDR ",\"period_s\":\"60\",\"sensors\":{}}", TPC_REJECT_SCHEMA,
		      "period_s");
	expect_reject(TOPIC_T, "{" HDR ",\"period_s\":60,\"sensors\":{\"temp.cpu\":{\"min\":\"x\","
		      "\"max\":1,\"avg\":1,\"n\":1}}}", TPC_REJECT_SCHEMA, "min");
	expect_reject(TOPIC_T, "{" HDR ",\"period_s\":60,\"sensors\":{\"bogus\":{}}}",
		      TPC_REJECT_SCHEMA, "bogus");
	expect_reject(TOPIC_T, "{" HDR ",\"period_s\":60,\"sensors\":{},\"load\":{\"cpu\":7}}",
		      TPC_REJECT_SCHEMA, "load.cpu");
	/* unknown fields, top level and nested */
	expect_reject(TOPIC_T, "{" HDR ",\"period_s\":60,\"sensors\":{},\"extra\":1}",
		      TPC_REJECT_SCHEMA, "extra");
	expect_reject(TOPIC_T, "{" HDR ",\"period_s\":60,\"sensors\":{\"temp.cpu\":{\"min\":1,"
		      "\"max\":1,\"avg\":1,\"n\":1,\"p99\":1}}}", TPC_REJECT_SCHEMA, "p99");
	expect_reject("tp/v1/TP1/status", "{" HDR ",\"state\":\"asleep\"}", TPC_REJECT_SCHEMA, "asleep");
	/* SQL metacharacters are data, and here not even a valid id */
	expect_reject("tp/v1/TP1'--/telemetry", "{}", TPC_REJECT_TOPIC, NULL);
	/* oversized */
	big = malloc(TPD_PAYLOAD_MAX + 2);
	memset(big, ' ', TPD_PAYLOAD_MAX + 1);
	big[TPD_PAYLOAD_MAX + 1] = '\0';
	expect_reject(TOPIC_T, big, TPC_REJECT_TOO_BIG, "limit");
	free(big);
}

static void test_good_plain_messages(void **state)
{
	struct tpc_report r;
	enum tpc_reject reason;
	char why[256];

	(void)state;
	assert_int_equal(decode("tp/v1/TP1/status", "{" HDR ",\"state\":\"online\","
				"\"boot_reason\":\"first_start\"}", &r, &reason, why), TPD_OK);
	assert_int_equal(r.kind, TPD_TOPIC_STATUS);
	tpc_report_clear(&r);
	assert_int_equal(decode(TOPIC_T, "{" HDR ",\"period_s\":60,\"sensors\":{\"temp.cpu\":"
				"{\"min\":null,\"max\":null,\"avg\":null,\"n\":0,\"fail\":60}},"
				"\"events\":{\"undervoltage\":0},\"load\":{\"cpu\":null}}",
				&r, &reason, why), TPD_OK);
	tpc_report_clear(&r);
	/* the collector's own commands are not reports */
	assert_int_equal(decode("tp/v1/TP1/cmd", "{\"op\":\"selfcheck\"}", &r, &reason, why),
			 TPD_ERR_NOTFOUND);
}

static char *sign(struct tpd_key *k, const char *kid, const char *payload)
{
	char *jws;

	assert_int_equal(tpd_jws_sign(k, rng, kid, payload, strlen(payload), &jws), TPD_OK);
	return jws;
}

#define FAULT_BODY(dev) "{\"v\":1,\"dev\":\"" dev "\",\"model\":\"m\",\"fw\":\"1\",\"seq\":9," \
	"\"ts\":1764000000,\"fault\":{\"code\":\"FAN_STALL\",\"class\":\"thermal\"," \
	"\"severity\":\"critical\",\"state\":\"raised\",\"sensor\":\"fan.main\",\"value\":0," \
	"\"limit\":500,\"since\":1763999990,\"predictive\":false},\"recent\":[],\"prev\":\"\"}"

static void test_signed_reports(void **state)
{
	struct tpc_report r;
	enum tpc_reject reason;
	char why[256], *jws, header[128], forged[1024];

	(void)state;
	jws = sign(key, "TP1", FAULT_BODY("TP1"));
	assert_int_equal(decode("tp/v1/TP1/fault", jws, &r, &reason, why), TPD_OK);
	assert_true(r.verified);
	assert_int_equal(r.code, TPD_FAULT_FAN_STALL);
	tpc_report_clear(&r);
	/* a plain JSON fault is not a JWS */
	expect_reject("tp/v1/TP1/fault", FAULT_BODY("TP1"), TPC_REJECT_JWS, NULL);
	/* published under another device's topic */
	expect_reject("tp/v1/TP2/fault", jws, TPC_REJECT_KID_MISMATCH, "TP1");
	free(jws);
	/* signed by a key the registry does not hold for TP1 */
	jws = sign(other_key, "TP1", FAULT_BODY("TP1"));
	expect_reject("tp/v1/TP1/fault", jws, TPC_REJECT_SIGNATURE, NULL);
	free(jws);
	/* a device that is not registered */
	jws = sign(key, "TP9", FAULT_BODY("TP9"));
	expect_reject("tp/v1/TP9/fault", jws, TPC_REJECT_UNKNOWN_KID, "TP9");
	free(jws);
	/* kid matches the topic but the payload names another device */
	jws = sign(key, "TP2", FAULT_BODY("TP1"));
	expect_reject("tp/v1/TP2/fault", jws, TPC_REJECT_DEV_MISMATCH, NULL);
	free(jws);
	/* alg none with an empty signature */
	tpd_b64url_encode((const unsigned char *)"{\"alg\":\"none\",\"kid\":\"TP1\"}", 26, header);
	snprintf(forged, sizeof(forged), "%s.e30.", header);
	expect_reject("tp/v1/TP1/fault", forged, TPC_REJECT_ALG, "none");
	/* a valid signature over a report that breaks the schema */
	jws = sign(key, "TP1", "{\"v\":1,\"dev\":\"TP1\",\"model\":\"m\",\"fw\":\"1\",\"seq\":9,"
		   "\"ts\":1,\"fault\":{\"code\":\"FAN_STALL\",\"class\":\"power\",\"severity\":\"critical\","
		   "\"state\":\"raised\",\"sensor\":\"fan.main\",\"value\":0,\"limit\":500,\"since\":1,"
		   "\"predictive\":false},\"prev\":\"\"}");
	expect_reject("tp/v1/TP1/fault", jws, TPC_REJECT_SCHEMA, "class");
	free(jws);
	/* a forecast with its basis (the agent's optional baseline/now) is
	 * taken; a basis that is not a number is not */
	jws = sign(key, "TP1", "{\"v\":1,\"dev\":\"TP1\",\"model\":\"m\",\"fw\":\"1\",\"seq\":10,"
		   "\"ts\":1764000000,\"fault\":{\"code\":\"TEMP_RISING\",\"class\":\"thermal\","
		   "\"severity\":\"warning\",\"state\":\"raised\",\"sensor\":\"temp.cpu\",\"value\":80,"
		   "\"limit\":100,\"since\":1764000000,\"predictive\":true,\"eta_s\":86400,"
		   "\"baseline\":26.1,\"now\":31.4},\"recent\":[],\"prev\":\"\"}");
	assert_int_equal(decode("tp/v1/TP1/fault", jws, &r, &reason, why), TPD_OK);
	assert_true(r.predictive);
	tpc_report_clear(&r);
	free(jws);
	jws = sign(key, "TP1", "{\"v\":1,\"dev\":\"TP1\",\"model\":\"m\",\"fw\":\"1\",\"seq\":10,"
		   "\"ts\":1764000000,\"fault\":{\"code\":\"TEMP_RISING\",\"class\":\"thermal\","
		   "\"severity\":\"warning\",\"state\":\"raised\",\"sensor\":\"temp.cpu\",\"value\":80,"
		   "\"limit\":100,\"since\":1764000000,\"predictive\":true,\"now\":\"hot\"},"
		   "\"recent\":[],\"prev\":\"\"}");
	expect_reject("tp/v1/TP1/fault", jws, TPC_REJECT_SCHEMA, "now");
	free(jws);
	/* prev missing */
	jws = sign(key, "TP1", "{\"v\":1,\"dev\":\"TP1\",\"model\":\"m\",\"fw\":\"1\",\"seq\":9,"
		   "\"ts\":1,\"fault\":{}}");
	expect_reject("tp/v1/TP1/fault", jws, TPC_REJECT_SCHEMA, "prev");
	free(jws);
}

static void expect_reject_n(const char *topic, const char *payload, size_t len,
			    enum tpc_reject want, const char *needle)
{
	struct tpc_report r;
	enum tpc_reject reason = TPC_REJECT_COUNT;
	char why[256] = "";

	assert_int_equal(tpc_ingest_decode(topic, payload, len, reg, &r, &reason, why, sizeof(why)),
			 TPD_ERR_INVAL);
	if (reason != want)
		fail_msg("rejected as %s (%s), expected %s", tpc_reject_name(reason), why,
			 tpc_reject_name(want));
	if (needle && !strstr(why, needle))
		fail_msg("reason \"%s\" lacks \"%s\"", why, needle);
	/* one log line, whatever the device wrote */
	assert_null(strpbrk(why, "\n\r\x1b"));
}

#define SENS "\"sensors\":{\"temp.cpu\":{\"min\":1,\"max\":1,\"avg\":1,\"n\":1}}"

/* Issue 14, finding 7: what a last-wins or C-string reader would read
 * differently from what we validated. */
static void test_strict_text(void **state)
{
	static const char nul_raw[] = "{" HDR ",\"period_s\":60,\"sensors\":{},\"x\":\"a\0b\"}";
	char *jws;

	(void)state;
	/* duplicate keys: top level (a last-wins reader sees seq -5), nested */
	expect_reject(TOPIC_T, "{" HDR ",\"period_s\":60," SENS ",\"seq\":-5}", TPC_REJECT_DUP_KEY,
		      "seq");
	expect_reject(TOPIC_T, "{" HDR ",\"period_s\":60,\"sensors\":{\"temp.cpu\":{\"min\":1,"
		      "\"max\":1,\"avg\":1,\"n\":1,\"n\":2}}}", TPC_REJECT_DUP_KEY, "\"n\"");
	expect_reject(TOPIC_T, "{" HDR ",\"period_s\":60,\"sensors\":{\"temp.cpu\":{\"min\":1,"
		      "\"max\":1,\"avg\":1,\"n\":1},\"temp.cpu\":{\"min\":9,\"max\":9,\"avg\":9,"
		      "\"n\":1}}}", TPC_REJECT_DUP_KEY, "temp.cpu");
	/* another device's dev, second */
	expect_reject(TOPIC_T, "{" HDR ",\"dev\":\"TP2\",\"period_s\":60," SENS "}",
		      TPC_REJECT_DUP_KEY, "dev");
	/* \u0000 in dev (would pass the topic check as "A") and in a sensor name */
	expect_reject("tp/v1/A/telemetry", "{\"v\":1,\"dev\":\"A\\u0000EVIL\",\"model\":\"m\","
		      "\"fw\":\"1\",\"seq\":5,\"ts\":1764000000,\"period_s\":60,\"sensors\":{}}",
		      TPC_REJECT_NUL, "u0000");
	expect_reject(TOPIC_T, "{" HDR ",\"period_s\":60,\"sensors\":{\"temp.cpu\\u0000x\":{"
		      "\"min\":1,\"max\":1,\"avg\":1,\"n\":1}}}", TPC_REJECT_NUL, NULL);
	/* an escaped backslash before u0000 is text, not a NUL */
	expect_reject(TOPIC_T, "{" HDR ",\"period_s\":60,\"sensors\":{\"a\\\\u0000\":{}}}",
		      TPC_REJECT_SCHEMA, NULL);
	expect_reject_n(TOPIC_T, nul_raw, sizeof(nul_raw) - 1, TPC_REJECT_NUL, NULL);
	/* BOM */
	expect_reject(TOPIC_T, "\xef\xbb\xbf{" HDR ",\"period_s\":60," SENS "}", TPC_REJECT_BOM,
		      "byte-order");
	/* invalid UTF-8: a lone continuation, an overlong, a cut sequence */
	expect_reject(TOPIC_T, "{\"v\":1,\"dev\":\"TP1\",\"model\":\"m\",\"fw\":\"1\x80\","
		      "\"seq\":5,\"ts\":1764000000,\"period_s\":60,\"sensors\":{}}",
		      TPC_REJECT_BAD_UTF8, "UTF-8");
	expect_reject(TOPIC_T, "{\"v\":1,\"dev\":\"TP1\",\"model\":\"m\",\"fw\":\"\xc0\xaf\","
		      "\"seq\":5,\"ts\":1764000000,\"period_s\":60,\"sensors\":{}}",
		      TPC_REJECT_BAD_UTF8, NULL);
	expect_reject(TOPIC_T, "{\"v\":1,\"dev\":\"TP1\",\"model\":\"m\",\"fw\":\"\xe9\xa3\","
		      "\"seq\":5,\"ts\":1764000000,\"period_s\":60,\"sensors\":{}}",
		      TPC_REJECT_BAD_UTF8, NULL);
	/* control characters: escaped (ESC clearing a screen, a newline forging
	 * a log line), raw, and C1 as raw UTF-8; in fw, boot_reason, an event */
	expect_reject(TOPIC_T, "{\"v\":1,\"dev\":\"TP1\",\"model\":\"m\",\"fw\":\"\\u001b[2J\","
		      "\"seq\":5,\"ts\":1764000000,\"period_s\":60,\"sensors\":{}}",
		      TPC_REJECT_CONTROL, "U+001B");
	expect_reject("tp/v1/TP1/status", "{" HDR ",\"state\":\"online\",\"boot_reason\":"
		      "\"x\\ntpcollect: opened claim C-999999\"}", TPC_REJECT_CONTROL, NULL);
	expect_reject("tp/v1/TP1/status", "{" HDR ",\"state\":\"online\",\"boot_reason\":"
		      "\"x\ty\"}", TPC_REJECT_CONTROL, "0x09");
	expect_reject(TOPIC_T, "{" HDR ",\"period_s\":60,\"sensors\":{},\"events\":{\"under\xc2\x9b"
		      "x\":1}}", TPC_REJECT_CONTROL, "key");
	/* the same checks run on a signed report's payload */
	jws = sign(key, "TP1", "{\"v\":1,\"dev\":\"TP1\",\"model\":\"m\",\"fw\":\"1\",\"seq\":9,"
		   "\"seq\":10,\"ts\":1764000000,\"fault\":{},\"prev\":\"\"}");
	expect_reject("tp/v1/TP1/fault", jws, TPC_REJECT_DUP_KEY, "seq");
	free(jws);
	/* and honest non-ASCII text still passes */
	{
		struct tpc_report r;
		enum tpc_reject reason;
		char why[256];

		assert_int_equal(decode("tp/v1/TP1/status", "{\"v\":1,\"dev\":\"TP1\",\"model\":\"m\","
					"\"fw\":\"1.0-\xe9\xa3\x8e\",\"seq\":5,\"ts\":1764000000,"
					"\"state\":\"online\"}", &r, &reason, why), TPD_OK);
		tpc_report_clear(&r);
	}
}

static double fixed_now(void *ctx)
{
	return *(const double *)ctx;
}

/* Issue 14, finding 9: the collector's clock bounds ts; --registered-only
 * ignores unregistered ids. */
static void test_policy(void **state)
{
	double now = 1764000000;
	struct tpc_ingest_policy p = { .max_back_s = 365 * 86400.0, .max_ahead_s = 86400,
				       .now = fixed_now, .now_ctx = &now };
	struct tpc_report r;
	enum tpc_reject reason;
	char why[256];

	(void)state;
	tpc_registry_set_policy(reg, &p);
	expect_reject(TOPIC_T, "{\"v\":1,\"dev\":\"TP1\",\"model\":\"m\",\"fw\":\"1\",\"seq\":5,"
		      "\"ts\":32503680000,\"period_s\":60,\"sensors\":{}}", TPC_REJECT_TS_SKEW,
		      "--max-skew");
	expect_reject(TOPIC_T, "{\"v\":1,\"dev\":\"TP1\",\"model\":\"m\",\"fw\":\"1\",\"seq\":5,"
		      "\"ts\":1764086401,\"period_s\":60,\"sensors\":{}}", TPC_REJECT_TS_SKEW, NULL);
	expect_reject(TOPIC_T, "{\"v\":1,\"dev\":\"TP1\",\"model\":\"m\",\"fw\":\"1\",\"seq\":5,"
		      "\"ts\":100,\"period_s\":60,\"sensors\":{}}", TPC_REJECT_TS_SKEW, NULL);
	/* inside the window, both edges */
	assert_int_equal(decode(TOPIC_T, "{\"v\":1,\"dev\":\"TP1\",\"model\":\"m\",\"fw\":\"1\","
				"\"seq\":5,\"ts\":1764086399,\"period_s\":60,\"sensors\":{}}", &r,
				&reason, why), TPD_OK);
	tpc_report_clear(&r);
	assert_int_equal(decode(TOPIC_T, "{\"v\":1,\"dev\":\"TP1\",\"model\":\"m\",\"fw\":\"1\","
				"\"seq\":5,\"ts\":1732464001,\"period_s\":60,\"sensors\":{}}", &r,
				&reason, why), TPD_OK);
	tpc_report_clear(&r);
	/* unregistered ids: accepted without the mode, ignored with it */
	assert_int_equal(decode("tp/v1/TPX/telemetry", "{\"v\":1,\"dev\":\"TPX\",\"model\":\"m\","
				"\"fw\":\"1\",\"seq\":5,\"ts\":1764000000,\"period_s\":60,"
				"\"sensors\":{}}", &r, &reason, why), TPD_OK);
	tpc_report_clear(&r);
	p.registered_only = true;
	tpc_registry_set_policy(reg, &p);
	expect_reject("tp/v1/TPX/telemetry", "{\"v\":1,\"dev\":\"TPX\",\"model\":\"m\","
		      "\"fw\":\"1\",\"seq\":5,\"ts\":1764000000,\"period_s\":60,\"sensors\":{}}",
		      TPC_REJECT_UNREGISTERED, "TPX");
	expect_reject("tp/v1/TPX/status", "{\"v\":1,\"dev\":\"TPX\",\"model\":\"m\","
		      "\"fw\":\"1\",\"seq\":5,\"ts\":1764000000,\"state\":\"online\"}",
		      TPC_REJECT_UNREGISTERED, NULL);
	assert_int_equal(decode(TOPIC_T, "{" HDR ",\"period_s\":60,\"sensors\":{}}", &r, &reason,
				why), TPD_OK);
	tpc_report_clear(&r);
	tpc_registry_set_policy(reg, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agent_reports_round_trip),
		cmocka_unit_test(test_bad_plain_messages),
		cmocka_unit_test(test_good_plain_messages),
		cmocka_unit_test(test_signed_reports),
		cmocka_unit_test(test_strict_text),
		cmocka_unit_test(test_policy),
	};
	return cmocka_run_group_tests_name("ingest", tests, setup, teardown);
}
