/* test_cmd.c - cloud -> device commands: strict parsing, claim notices kept
 * newest first and bounded. */
#include "testutil.h"
#include <cjson/cJSON.h>

#include "cmd.h"

static enum tpd_err parse(const char *s, struct tpd_cmd *c, char *why)
{
	return tpd_cmd_parse(s, strlen(s), c, why, 160);
}

static void test_parse(void **state)
{
	struct tpd_cmd c;
	char why[160];

	(void)state;
	assert_int_equal(parse("{\"op\":\"selfcheck\"}", &c, why), TPD_OK);
	assert_int_equal(c.op, TPD_CMD_SELFCHECK);
	assert_int_equal(parse("{\"op\":\"claim\",\"claim\":\"C-000123\",\"state\":\"in_review\"}", &c,
			       why), TPD_OK);
	assert_int_equal(c.op, TPD_CMD_CLAIM);
	assert_string_equal(c.claim, "C-000123");
	assert_string_equal(c.state, "in_review");

	assert_int_equal(parse("{\"op\":\"reboot\"}", &c, why), TPD_ERR_INVAL);
	assert_non_null(strstr(why, "reboot"));
	assert_int_equal(parse("{\"op\":\"selfcheck\",\"x\":1}", &c, why), TPD_ERR_INVAL);
	assert_int_equal(parse("{\"op\":\"claim\",\"claim\":\"C-1\",\"state\":\"lost\"}", &c, why),
			 TPD_ERR_INVAL);
	assert_int_equal(parse("{\"op\":\"claim\",\"claim\":\"X-1\",\"state\":\"open\"}", &c, why),
			 TPD_ERR_INVAL);
	assert_int_equal(parse("{\"op\":\"claim\",\"claim\":\"C-1\"}", &c, why), TPD_ERR_INVAL);
	assert_int_equal(parse("{\"op\":\"claim\",\"claim\":\"C-12345678901234567890123\","
			       "\"state\":\"open\"}", &c, why), TPD_ERR_INVAL);
	assert_int_equal(parse("[1]", &c, why), TPD_ERR_INVAL);
	assert_int_equal(parse("{\"op\":", &c, why), TPD_ERR_INVAL);
	assert_int_equal(tpd_cmd_parse("{\"op\":\"selfcheck\"}", 5000, &c, why, sizeof(why)),
			 TPD_ERR_INVAL);
}

static void test_claims_kept_newest_first_and_bounded(void **state)
{
	struct tpd_cmd c = { .op = TPD_CMD_CLAIM };
	char *text = NULL, *next;
	cJSON *o, *arr;

	(void)state;
	for (int i = 1; i <= TPD_CMD_CLAIMS_KEPT + 5; i++) {
		snprintf(c.claim, sizeof(c.claim), "C-%06d", i);
		snprintf(c.state, sizeof(c.state), "open");
		assert_int_equal(tpd_cmd_claims_merge(text, &c, i, &next), TPD_OK);
		free(text);
		text = next;
	}
	/* an update to a kept claim moves it to the front, once */
	snprintf(c.claim, sizeof(c.claim), "C-%06d", TPD_CMD_CLAIMS_KEPT + 1);
	snprintf(c.state, sizeof(c.state), "closed");
	assert_int_equal(tpd_cmd_claims_merge(text, &c, 99, &next), TPD_OK);
	free(text);
	o = cJSON_Parse(next);
	arr = cJSON_GetObjectItem(o, "claims");
	assert_int_equal(cJSON_GetArraySize(arr), TPD_CMD_CLAIMS_KEPT);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "state")->valuestring,
			    "closed");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 1), "claim")->valuestring,
			    "C-000021");
	cJSON_Delete(o);
	free(next);
	/* a corrupt file starts afresh */
	assert_int_equal(tpd_cmd_claims_merge("{garbage", &c, 1, &next), TPD_OK);
	o = cJSON_Parse(next);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "claims")), 1);
	cJSON_Delete(o);
	free(next);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_claims_kept_newest_first_and_bounded),
	};
	return cmocka_run_group_tests_name("cmd", tests, NULL, NULL);
}
