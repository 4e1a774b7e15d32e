/* test_cli.c - option tables, config files, precedence, numbers. */
#include "testutil.h"
#include "tpd/cli.h"

static const char *broker, *db;
static bool flag;
static struct tpd_cli_opt opts[] = {
	{ "broker", "URL", "broker", &broker, NULL },
	{ "db", "URL", "db", &db, NULL },
	{ "exit-at-end", NULL, "flag", NULL, &flag },
	{ NULL, NULL, NULL, NULL, NULL },
};

static enum tpd_cli_rc parse(struct tpd_cli *cli, int argc, char **argv, int *optind_out)
{
	broker = db = NULL;
	flag = false;
	cli->program = "tpdiagd";
	cli->synopsis = "x";
	cli->description = "x";
	cli->opts = opts;
	return tpd_cli_parse(cli, argc, argv, optind_out);
}

static void test_config_then_command_line(void **state)
{
	char dir[64], path[128];
	struct tpd_cli cli = { 0 };
	int oi;

	(void)state;
	tu_mkdtemp(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/a.conf", dir);
	tu_write(path, "; comment\nbroker = mqtt://127.0.0.1:1\n[tpdiagd]\ndb = sqlite:x\n"
		       "exit-at-end = yes\n[other]\nunknown_in_other_section = 1\n");
	{
		char *argv[] = { "p", "--config", path, "--broker", "mqtt://127.0.0.1:2", "pos", NULL };

		assert_int_equal(parse(&cli, 6, argv, &oi), TPD_CLI_RUN);
		assert_string_equal(broker, "mqtt://127.0.0.1:2");   /* command line wins */
		assert_string_equal(db, "sqlite:x");                  /* from the file */
		assert_true(flag);
		assert_string_equal(argv[oi], "pos");
	}
	tpd_cli_free(&cli);
	tu_write(path, "bogus = 1\n");
	{
		char *argv[] = { "p", "--config", path, NULL };

		assert_int_equal(parse(&cli, 3, argv, &oi), TPD_CLI_USAGE);
	}
	tpd_cli_free(&cli);
	tu_write(path, "exit-at-end = maybe\n");
	{
		char *argv[] = { "p", "--config", path, NULL };

		assert_int_equal(parse(&cli, 3, argv, &oi), TPD_CLI_USAGE);
	}
	tpd_cli_free(&cli);
	tu_rm_rf(dir);
}

static void test_usage_errors(void **state)
{
	struct tpd_cli cli = { 0 };
	int oi;
	char *a1[] = { "p", "--nope", NULL };
	char *a2[] = { "p", "--broker", NULL };
	char *a3[] = { "p", "--config", "/nonexistent.conf", NULL };
	char *a4[] = { "p", "--version", NULL };

	(void)state;
	assert_int_equal(parse(&cli, 2, a1, &oi), TPD_CLI_USAGE);
	assert_int_equal(parse(&cli, 2, a2, &oi), TPD_CLI_USAGE);
	assert_int_equal(parse(&cli, 3, a3, &oi), TPD_CLI_USAGE);
	assert_int_equal(parse(&cli, 2, a4, &oi), TPD_CLI_EXIT0);
}

static void test_numbers(void **state)
{
	double v;

	(void)state;
	assert_true(tpd_cli_number("2.5", 0, 10, &v) && v == 2.5);
	assert_false(tpd_cli_number("11", 0, 10, &v));
	assert_false(tpd_cli_number("2x", 0, 10, &v));
	assert_false(tpd_cli_number("", 0, 10, &v));
	assert_false(tpd_cli_number("nan", 0, 10, &v));
	assert_false(tpd_cli_number(NULL, 0, 10, &v));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_then_command_line),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_numbers),
	};
	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
