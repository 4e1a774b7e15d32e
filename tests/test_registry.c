/* test_registry.c - device registry CSV: good rows in both key forms, and
 * refusals that name the line. */
#include "testutil.h"
#include "registry.h"

static struct tpd_rng *rng;
static struct tpd_key *key;
static char dir[64], b64[256];

static int setup(void **state)
{
	char path[128], pem[512];

	(void)state;
	if (tpd_rng_new(&rng) || tpd_key_generate(rng, &key))
		return -1;
	tu_mkdtemp(dir, sizeof(dir));
	tpd_key_public_b64(key, b64, sizeof(b64));
	tpd_key_public_pem(key, pem, sizeof(pem));
	snprintf(path, sizeof(path), "%s/TP2.pub.pem", dir);
	tu_write(path, pem);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tpd_key_free(key);
	tpd_rng_free(rng);
	tu_rm_rf(dir);
	return 0;
}

static enum tpd_err load(const char *text, struct tpc_registry **reg, char *err)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/reg.csv", dir);
	tu_write(path, text);
	return tpc_registry_load(path, reg, err, 256);
}

static void test_good_file(void **state)
{
	struct tpc_registry *reg;
	const struct tpc_device *d;
	char text[2048], err[256];

	(void)state;
	snprintf(text, sizeof(text),
		 "# registry\r\ndevice_id,model,purchase_date,public_key,owner_contact,channel\r\n"
		 "TP3,archer-ax55,2024-02-29,%s,\"Doe, Jane \"\"JD\"\"\",web\n"
		 "TP2,deco-x20,,TP2.pub.pem\n", b64);
	assert_int_equal(load(text, &reg, err), TPD_OK);
	assert_int_equal(tpc_registry_count(reg), 2);
	d = tpc_registry_find(reg, "TP3");
	assert_non_null(d);
	assert_string_equal(d->model, "archer-ax55");
	assert_string_equal(d->purchase_date, "2024-02-29");
	assert_string_equal(d->owner_contact, "Doe, Jane \"JD\"");
	assert_string_equal(d->channel, "web");
	assert_non_null(d->key);
	d = tpc_registry_find(reg, "TP2");
	assert_non_null(d);
	assert_string_equal(d->purchase_date, "");
	assert_null(tpc_registry_find(reg, "TP9"));
	tpc_registry_free(reg);

	/* libcsv: comments and blank lines between records, a quoted comma, no
	 * newline at the end; a newline inside quotes is one record (refused
	 * here: contacts are single-line text), named by its first line */
	snprintf(text, sizeof(text),
		 "device_id,model,purchase_date,public_key,owner_contact,channel\n"
		 "# first device\n"
		 "TP4,archer-ax55,2024-03-01,%s,\"Doe, Jane\",phone\n\n"
		 "TP5,archer-ax55,,%s", b64, b64);
	assert_int_equal(load(text, &reg, err), TPD_OK);
	assert_int_equal(tpc_registry_count(reg), 2);
	assert_string_equal(tpc_registry_find(reg, "TP4")->owner_contact, "Doe, Jane");
	assert_string_equal(tpc_registry_find(reg, "TP4")->channel, "phone");
	assert_non_null(tpc_registry_find(reg, "TP5"));
	tpc_registry_free(reg);
	snprintf(text, sizeof(text),
		 "device_id,model,purchase_date,public_key,owner_contact,channel\n"
		 "# first device\n"
		 "TP4,archer-ax55,2024-03-01,%s,\"Jane Doe\n12 Main St\",phone\n", b64);
	assert_int_equal(load(text, &reg, err), TPD_ERR_INVAL);
	assert_non_null(strstr(err, ":3: owner_contact and channel must be UTF-8 text without control"));
	reg = NULL;
	tpc_registry_free(reg);

	/* the claims' language and the business calendar's region */
	snprintf(text, sizeof(text),
		 "device_id,model,purchase_date,public_key,owner_contact,channel,locale,region\n"
		 "TP6,deco-x20,2025-01-02,%s,\"王伟\",web,zh-CN,CN\n"
		 "TP7,deco-x20,,%s,,,,DE\n", b64, b64);
	assert_int_equal(load(text, &reg, err), TPD_OK);
	assert_string_equal(tpc_registry_find(reg, "TP6")->locale, "zh-CN");
	assert_string_equal(tpc_registry_find(reg, "TP6")->region, "CN");
	assert_string_equal(tpc_registry_find(reg, "TP6")->owner_contact, "王伟");
	assert_string_equal(tpc_registry_find(reg, "TP7")->locale, "");
	assert_string_equal(tpc_registry_find(reg, "TP7")->region, "DE");
	tpc_registry_free(reg);
}

static void expect_refusal(const char *text, const char *needle)
{
	struct tpc_registry *reg = (void *)1;
	char err[256] = "";

	assert_int_equal(load(text, &reg, err), TPD_ERR_INVAL);
	assert_null(reg);
	if (!strstr(err, needle))
		fail_msg("error \"%s\" lacks \"%s\"", err, needle);
}

static void test_refusals(void **state)
{
	char text[2048];

	(void)state;
	expect_refusal("", "empty");
	expect_refusal("id,model,purchase_date,public_key\n", ":1: header");
	snprintf(text, sizeof(text), "device_id,model,purchase_date,public_key\nTP/1,m,,%s\n", b64);
	expect_refusal(text, ":2: device_id");
	snprintf(text, sizeof(text), "device_id,model,purchase_date,public_key\nTP1,m,2025-02-29,%s\n", b64);
	expect_refusal(text, ":2: purchase_date");
	snprintf(text, sizeof(text), "device_id,model,purchase_date,public_key\nTP1,m,25-01-01,%s\n", b64);
	expect_refusal(text, "purchase_date");
	expect_refusal("device_id,model,purchase_date,public_key\nTP1,m,,AAAA\n", ":2: public_key");
	expect_refusal("device_id,model,purchase_date,public_key\nTP1,m,,missing.pem\n", "public_key");
	expect_refusal("device_id,model,purchase_date,public_key\nTP1,m\n", ":2: 2 fields");
	expect_refusal("device_id,model,purchase_date,public_key\nTP1,\"m,,x\n", "unterminated quote");
	expect_refusal("device_id,model,purchase_date,public_key\nTP1,\"m\"x,,y\n", ":2: bad quoting");
	expect_refusal("device_id,model,purchase_date,public_key\n# c\n\nTP1,m,,\"a\nb\nc\n",
		       ":4: unterminated quote");
	snprintf(text, sizeof(text), "device_id,model,purchase_date,public_key\nTP1,m,,%s\nTP1,m,,%s\n",
		 b64, b64);
	expect_refusal(text, "appears twice");
	snprintf(text, sizeof(text), "device_id,model,purchase_date,public_key,owner_contact,channel,"
		 "locale,region\nTP1,m,,%s,,,fr,\n", b64);
	expect_refusal(text, ":2: locale \"fr\" is not en or zh-CN");
	snprintf(text, sizeof(text), "device_id,model,purchase_date,public_key,owner_contact,channel,"
		 "locale,region\nTP1,m,,%s,,,en,C/N\n", b64);
	expect_refusal(text, ":2: region \"C/N\" is not");
	snprintf(text, sizeof(text), "device_id,model,purchase_date,public_key\nTP1,m,,%s,,,,,\n",
		 b64);
	expect_refusal(text, ":2: more than 8 fields");
}

static void test_dates(void **state)
{
	(void)state;
	assert_true(tpc_date_valid("2024-02-29"));
	assert_false(tpc_date_valid("2023-02-29"));
	assert_true(tpc_date_valid("2000-02-29"));
	assert_false(tpc_date_valid("1900-02-29"));
	assert_false(tpc_date_valid("2025-13-01"));
	assert_false(tpc_date_valid("2025-04-31"));
	assert_false(tpc_date_valid("2025-4-3"));
	assert_false(tpc_date_valid("2025-04-03x"));
}

/* Issue 14: contact texts are served and printed; no escapes, no bad UTF-8. */
static void test_row_text(void **state)
{
	struct tpc_device_row r = { .id = "TP1", .model = "m", .owner_contact = "Jos\xc3\xa9" };
	char why[128];

	(void)state;
	assert_int_equal(tpc_registry_check_row(&r, why, sizeof(why)), TPD_OK);
	r.owner_contact = "x\x1b[2J";
	assert_int_equal(tpc_registry_check_row(&r, why, sizeof(why)), TPD_ERR_INVAL);
	r.owner_contact = "bad \xff";
	assert_int_equal(tpc_registry_check_row(&r, why, sizeof(why)), TPD_ERR_INVAL);
	r.owner_contact = NULL;
	r.channel = "web\n";
	assert_int_equal(tpc_registry_check_row(&r, why, sizeof(why)), TPD_ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_file),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_row_text),
	};
	return cmocka_run_group_tests_name("registry", tests, setup, teardown);
}
