/* test_telem_codec.c - compact telemetry rows give back the same report,
 * numbers without a short decimal form included; rollups merge as stated;
 * a corrupt row is refused, not misread. */
#include "testutil.h"
#include "telem_codec.h"

static const char report[] =
	"{\"v\":1,\"dev\":\"TPC1\",\"model\":\"archer-ax55\",\"fw\":\"1.0.4\",\"seq\":812,"
	"\"ts\":1764000060.25,\"period_s\":60,\"sensors\":{"
	"\"temp.cpu\":{\"min\":51.2,\"max\":55.0,\"avg\":53.1,\"n\":60},"
	"\"volt.vin\":{\"min\":-11.92,\"max\":0.30000000000000004,\"avg\":1e300,\"n\":60,\"fail\":2},"
	"\"fan.main\":{\"min\":null,\"max\":-0.0,\"avg\":123456789.125,\"n\":0}},"
	"\"events\":{\"undervoltage\":3,\"reboot\":0},\"load\":{\"cpu\":0.35,\"gpu\":null}}";

static void test_round_trip_is_exact(void **state)
{
	cJSON *in = cJSON_Parse(report), *out = NULL;
	char layout[TPC_TELEM_LAYOUT_MAX];
	unsigned char data[TPC_TELEM_DATA_MAX];
	size_t len;

	(void)state;
	assert_non_null(in);
	assert_int_equal(tpc_telem_encode(in, layout, sizeof(layout), data, sizeof(data), &len),
			 TPD_OK);
	assert_true(len < 80);                    /* the JSON text is over 400 bytes */
	assert_int_equal(tpc_telem_decode("TPC1", 812, 1764000060.25, layout, data, len, &out),
			 TPD_OK);
	assert_true(cJSON_Compare(in, out, true));
	assert_true(signbit(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(out,
		"sensors"), "fan.main"), "max")->valuedouble));
	cJSON_Delete(out);
	/* every truncation and a layout without fields are refused */
	for (size_t l = 0; l < len; l++)
		assert_int_equal(tpc_telem_decode("TPC1", 1, 1, layout, data, l, &out), TPD_ERR_INVAL);
	assert_int_equal(tpc_telem_decode("TPC1", 1, 1, "no separator", data, len, &out),
			 TPD_ERR_INVAL);
	cJSON_Delete(in);
}

static void test_rollup_merges(void **state)
{
	struct tpc_telem_agg *agg = calloc(1, sizeof(*agg)), *again = calloc(1, sizeof(*again));
	cJSON *in = cJSON_Parse(report), *out;
	char layout[TPC_TELEM_LAYOUT_MAX];
	unsigned char data[TPC_TELEM_DATA_MAX], roll[TPC_TELEM_DATA_MAX];
	size_t len, rlen;
	const cJSON *t;

	(void)state;
	assert_int_equal(tpc_telem_encode(in, layout, sizeof(layout), data, sizeof(data), &len),
			 TPD_OK);
	for (int i = 0; i < 3; i++)
		assert_int_equal(tpc_telem_agg_add_row(agg, layout, data, len), TPD_OK);
	assert_int_equal(tpc_telem_agg_encode(agg, layout, roll, sizeof(roll), &rlen), TPD_OK);
	/* merging two encoded rollups is adding their rows */
	assert_int_equal(tpc_telem_agg_add_rollup(again, layout, roll, rlen), TPD_OK);
	assert_int_equal(tpc_telem_agg_add_rollup(again, layout, roll, rlen), TPD_OK);
	assert_int_equal(tpc_telem_agg_encode(again, layout, roll, sizeof(roll), &rlen), TPD_OK);
	assert_int_equal(tpc_telem_agg_decode("TPC1", 1764000000, layout, roll, rlen, &out), TPD_OK);
	assert_int_equal(cJSON_GetObjectItem(out, "reports")->valueint, 6);
	assert_true(cJSON_GetObjectItem(out, "period_s")->valuedouble == 360);
	t = cJSON_GetObjectItem(cJSON_GetObjectItem(out, "sensors"), "temp.cpu");
	assert_true(cJSON_GetObjectItem(t, "avg")->valuedouble == 53.1);
	assert_int_equal(cJSON_GetObjectItem(t, "n")->valueint, 360);
	t = cJSON_GetObjectItem(cJSON_GetObjectItem(out, "sensors"), "volt.vin");
	assert_int_equal(cJSON_GetObjectItem(t, "fail")->valueint, 12);
	assert_true(cJSON_GetObjectItem(t, "min")->valuedouble == -11.92);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(out, "events"), "undervoltage")->valueint,
			 18);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(out, "load"), "gpu")));
	/* a row of another layout does not fit this rollup */
	assert_int_equal(tpc_telem_agg_add_row(again, "m\x1f" "f\x1fstemp.cpu", data, len),
			 TPD_ERR_INVAL);
	cJSON_Delete(out);
	cJSON_Delete(in);
	free(agg);
	free(again);
}

/* A sensor's max and avg are written relative to its min (in the finer of
 * the two scales), and rows written before that still decode. */
static void test_relative_numbers(void **state)
{
	static const char close[] =
		"{\"model\":\"m\",\"fw\":\"f\",\"period_s\":60,\"sensors\":{"
		"\"temp.cpu\":{\"min\":62.11,\"max\":62.11,\"avg\":62.11,\"n\":1},"
		"\"temp.board\":{\"min\":48,\"max\":49.5,\"avg\":48.837,\"n\":60},"
		"\"fan.main\":{\"min\":-3,\"max\":1e300,\"avg\":null,\"n\":60},"
		"\"volt.vin\":{\"min\":12,\"max\":12.1,\"avg\":12.05,\"n\":60}}}";
	/* what the previous encoder wrote for temp.cpu alone: each number whole */
	static const unsigned char old_row[] = { 0xc0, 0x07, 0xb2, 0x88, 0x06, 0xb2, 0x88, 0x06,
						 0xb2, 0x88, 0x06, 0x01 };
	/* a relative number (k 7) where a sensor's min should be; "n as the
	 * previous sensor's" on the first sensor */
	static const unsigned char rel_first[] = { 0xc0, 0x07, 0x07, 0x07, 0x07, 0x01 };
	static const unsigned char same_first[] = { 0xc0, 0x07, 0xb2, 0x88, 0x06, 0x0f, 0x07 };
	cJSON *in = cJSON_Parse(close), *out = NULL;
	char layout[TPC_TELEM_LAYOUT_MAX];
	unsigned char data[TPC_TELEM_DATA_MAX];
	size_t len;
	const cJSON *t;

	(void)state;
	assert_non_null(in);
	assert_int_equal(tpc_telem_encode(in, layout, sizeof(layout), data, sizeof(data), &len),
			 TPD_OK);
	/* period 2, temp.cpu 3+1+1+1, temp.board 2+2+3+1, fan.main 1+9+1+1 (its
	 * max is not relative, so n is written), volt.vin 2+2+2 (n as fan's) */
	assert_int_equal(len, 34);
	assert_int_equal(tpc_telem_decode("D", 1, 1, layout, data, len, &out), TPD_OK);
	t = cJSON_GetObjectItem(cJSON_GetObjectItem(out, "sensors"), "temp.board");
	assert_true(cJSON_GetObjectItem(t, "avg")->valuedouble == 48.837);
	assert_true(cJSON_GetObjectItem(t, "max")->valuedouble == 49.5);
	t = cJSON_GetObjectItem(cJSON_GetObjectItem(out, "sensors"), "fan.main");
	assert_true(cJSON_GetObjectItem(t, "max")->valuedouble == 1e300);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(t, "avg")));
	t = cJSON_GetObjectItem(cJSON_GetObjectItem(out, "sensors"), "volt.vin");
	assert_int_equal(cJSON_GetObjectItem(t, "n")->valueint, 60);
	assert_true(cJSON_GetObjectItem(t, "avg")->valuedouble == 12.05);
	cJSON_Delete(out);
	assert_int_equal(tpc_telem_decode("D", 1, 1, "m\x1f" "f\x1fstemp.cpu", old_row,
					  sizeof(old_row), &out), TPD_OK);
	t = cJSON_GetObjectItem(cJSON_GetObjectItem(out, "sensors"), "temp.cpu");
	assert_true(cJSON_GetObjectItem(t, "min")->valuedouble == 62.11);
	assert_true(cJSON_GetObjectItem(t, "avg")->valuedouble == 62.11);
	cJSON_Delete(out);
	assert_int_equal(tpc_telem_decode("D", 1, 1, "m\x1f" "f\x1fstemp.cpu", rel_first,
					  sizeof(rel_first), &out), TPD_ERR_INVAL);
	assert_int_equal(tpc_telem_decode("D", 1, 1, "m\x1f" "f\x1fstemp.cpu", same_first,
					  sizeof(same_first), &out), TPD_ERR_INVAL);
	cJSON_Delete(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_is_exact),
		cmocka_unit_test(test_rollup_merges),
		cmocka_unit_test(test_relative_numbers),
	};
	return cmocka_run_group_tests_name("telem_codec", tests, NULL, NULL);
}
