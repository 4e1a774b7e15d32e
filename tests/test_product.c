/* test_product.c - product descriptions: the shipped boards, and refusals
 * that name the file, the place and the problem. */
#include <dirent.h>

#include "testutil.h"
#include "tpd/board.h"

static void test_archer_ax55(void **state)
{
	struct tpd_product p;
	char err[256];
	int cpu, fan;

	(void)state;
	assert_int_equal(tpd_product_load("boards/archer-ax55.json", &p, err, sizeof(err)), TPD_OK);
	assert_string_equal(p.model, "archer-ax55");
	assert_true(p.telemetry_period_s == 60 && p.sample_period_s == 1);
	cpu = tpd_product_find(&p, "temp.cpu");
	fan = tpd_product_find(&p, "fan.main");
	assert_true(cpu >= 0 && fan >= 0);
	assert_true(p.sensors[cpu].warn == 85 && p.sensors[cpu].crit == 100);
	assert_int_equal(p.sensors[fan].spin_sensor, cpu);
	assert_true(p.sensors[fan].stall_rpm == 500);
	assert_true(p.sensors[tpd_product_find(&p, "volt.vin")].min == 11.4);
	assert_int_equal(p.sensors[tpd_product_find(&p, "event.undervoltage")].brownout_count, 3);
	/* defaults */
	assert_true(isnan(p.sensors[tpd_product_find(&p, "load.cpu")].warn));
	assert_true(p.sensors[tpd_product_find(&p, "load.cpu")].fail_after_s == 30);
}

static void test_every_shipped_board_loads(void **state)
{
	DIR *d = opendir("boards");
	struct tpd_board_cfg cfg = { .sysfs_root = "/nonexistent-sysfs" };
	struct tpd_board *b;
	struct dirent *e;
	int n = 0, families = 0;

	(void)state;
	assert_non_null(d);
	while ((e = readdir(d))) {
		char path[512], err[256];
		struct tpd_product p;
		size_t len = strlen(e->d_name);

		if (len < 6 || strcmp(e->d_name + len - 5, ".json"))
			continue;
		snprintf(path, sizeof(path), "boards/%s", e->d_name);
		if (tpd_product_load(path, &p, err, sizeof(err)))
			fail_msg("%s", err);
		/* and the linux board accepts every sensor's source */
		cfg.product = &p;
		if (tpd_board_open(tpd_board_find("linux"), &cfg, &b, err, sizeof(err)))
			fail_msg("%s: linux board: %s", path, err);
		tpd_board_close(b);
		families |= strcmp(p.category, "router") == 0 ? 1 : strcmp(p.category, "mesh") == 0 ? 2
			    : strcmp(p.category, "nas") == 0 ? 4 : 0;
		n++;
	}
	closedir(d);
	assert_true(n >= 3);
	assert_int_equal(families, 7);     /* a router, a mesh node, a NAS */
}

static void expect_refusal(const char *json, const char *needle)
{
	struct tpd_product p;
	char err[256] = "";

	memset(&p, 0x5a, sizeof(p));
	assert_int_equal(tpd_product_parse(json, strlen(json), "x.json", &p, err, sizeof(err)),
			 TPD_ERR_INVAL);
	if (!strstr(err, needle))
		fail_msg("error \"%s\" lacks \"%s\"", err, needle);
	assert_true(strncmp(err, "x.json", 6) == 0);
	assert_null(strchr(err, '\n'));
	assert_int_equal(((unsigned char *)&p)[0], 0x5a); /* *out untouched */
}

static void test_refusals(void **state)
{
	(void)state;
	expect_refusal("{\n  \"model\": \"a\",\n  \"sensors\": [ }", "x.json:3:");
	expect_refusal("{\"model\":\"a\",\"sensors\":[]", "JSON ends early");
	expect_refusal("{\"model\":\"a\",,\"sensors\":[]}", "x.json:1:15: JSON syntax error");
	expect_refusal("[]", "top level must be an object");
	expect_refusal("{\"sensors\":[{\"id\":\"temp.cpu\"}]}", "model: required");
	expect_refusal("{\"model\":\"a b\",\"sensors\":[{\"id\":\"temp.cpu\"}]}", "model");
	expect_refusal("{\"model\":\"a\"}", "sensors: required");
	expect_refusal("{\"model\":\"a\",\"sensor\":[]}", "\"sensor\": unknown key");
	expect_refusal("{\"model\":\"a\",\"sensors\":[{\"id\":\"temp.cpu\",\"wran\":3}]}",
		       "sensors[0].\"wran\": unknown key");
	expect_refusal("{\"model\":\"a\",\"sensors\":[{\"id\":\"temp.cpu\",\"warn\":\"85\"}]}",
		       "warn: must be a number");
	expect_refusal("{\"model\":\"a\",\"sensors\":[{\"id\":\"temp.cpu\",\"warn\":90,\"crit\":80}]}",
		       "warn 90 must be below crit 80");
	expect_refusal("{\"model\":\"a\",\"sensors\":[{\"id\":\"volt.vin\",\"min\":13,\"max\":12}]}",
		       "min 13 must be below max 12");
	expect_refusal("{\"model\":\"a\",\"sensors\":[{\"id\":\"volt.vin\",\"warn\":13}]}",
		       "warn: not a limit");
	expect_refusal("{\"model\":\"a\",\"sensors\":[{\"id\":\"humid.x\"}]}", "not a SPEC");
	expect_refusal("{\"model\":\"a\",\"sensors\":[{\"id\":\"temp.a\"},{\"id\":\"temp.a\"}]}",
		       "duplicate");
	expect_refusal("{\"model\":\"a\",\"sensors\":[{\"id\":\"fan.f\",\"stall_rpm\":5,"
		       "\"spin_when\":{\"sensor\":\"temp.x\",\"above\":40}}]}", "temp.x");
	expect_refusal("{\"model\":\"a\",\"sensors\":[{\"id\":\"fan.f\",\"stall_rpm\":5,"
		       "\"spin_when\":{\"sensor\":\"fan.f\"}}]}", "above: required");
	expect_refusal("{\"model\":\"a\",\"sensors\":[{\"id\":\"temp.a\",\"debounce_s\":-1}]}",
		       "outside");
	expect_refusal("{\"model\":\"a\",\"sensors\":[{\"id\":\"temp.a\",\"plausible\":[5,1]}]}",
		       "plausible");
	expect_refusal("{\"model\":\"a\",\"sensors\":[{\"id\":\"event.x\",\"brownout\":{\"count\":3,"
		       "\"window_s\":60}}]}", "only for event.undervoltage");
	expect_refusal("{\"model\":\"a\",\"telemetry_period_s\":0.5,\"sample_period_s\":1,"
		       "\"sensors\":[{\"id\":\"temp.a\"}]}", "outside");
	expect_refusal("{\"model\":\"a\",\"sensors\":[{\"id\":\"volt.a\"}],"
		       "\"predict\":{\"ambient\":\"volt.a\"}}", "predict.ambient: \"volt.a\" is not a temp.*");
	expect_refusal("{\"model\":\"a\",\"sensors\":[{\"id\":\"temp.a\"}],"
		       "\"predict\":{\"horizon_s\":10}}", "horizon_s");
	expect_refusal("{\"model\":\"a\",\"sensors\":[{\"id\":\"temp.a\"}],"
		       "\"predict\":{\"ambiant\":\"temp.a\"}}", "unknown key");
}

static void test_resolve(void **state)
{
	static const char *const dirs[] = { "/nonexistent", "boards", NULL };
	char path[512];

	(void)state;
	assert_int_equal(tpd_product_resolve("archer-ax55", dirs, path, sizeof(path)), TPD_OK);
	assert_string_equal(path, "boards/archer-ax55.json");
	assert_int_equal(tpd_product_resolve("boards/archer-ax55.json", dirs, path, sizeof(path)), TPD_OK);
	assert_int_equal(tpd_product_resolve("no-such-model", dirs, path, sizeof(path)), TPD_ERR_NOTFOUND);
	assert_int_equal(tpd_product_resolve("../etc", dirs, path, sizeof(path)), TPD_ERR_NOTFOUND);
	assert_int_equal(tpd_product_resolve("a b", dirs, path, sizeof(path)), TPD_ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_archer_ax55),
		cmocka_unit_test(test_every_shipped_board_loads),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_resolve),
	};
	return cmocka_run_group_tests_name("product", tests, NULL, NULL);
}
