/* test_board_linux.c - the linux board on sysfs fixture trees laid out as
 * the kernel's hwmon, thermal and power_supply ABI documents: units, identity
 * matching across renumbering, garbage and missing files, --probe. */
#include <sys/stat.h>

#include "testutil.h"
#include "tpd/board.h"

static char root[64], sys_dir[128];

static void put(const char *rel, const char *text)
{
	char path[512], dir[512], *slash;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	for (char *p = dir + strlen(root) + 1; (slash = strchr(p, '/')); p = slash + 1) {
		*slash = '\0';
		mkdir(dir, 0755);
		*slash = '/';
	}
	tu_write(path, text);
}

static int setup_each(void **state)
{
	(void)state;
	tu_mkdtemp(root, sizeof(root));
	snprintf(sys_dir, sizeof(sys_dir), "%s/sys", root);
	put("sys/class/hwmon/hwmon0/name", "coretemp\n");
	put("sys/class/hwmon/hwmon0/temp1_input", "56000\n");
	put("sys/class/hwmon/hwmon0/temp1_label", "Package id 0\n");
	put("sys/class/hwmon/hwmon0/temp1_max", "85000\n");
	put("sys/class/hwmon/hwmon0/temp1_crit", "100000\n");
	put("sys/class/hwmon/hwmon1/name", "nct6775\n");
	put("sys/class/hwmon/hwmon1/fan1_input", "4100\n");
	put("sys/class/hwmon/hwmon1/in0_input", "12050\n");
	put("sys/class/hwmon/hwmon1/in0_label", "VIN\n");
	put("sys/class/hwmon/hwmon1/curr1_input", "900\n");
	put("sys/class/thermal/thermal_zone0/type", "board-thermal\n");
	put("sys/class/thermal/thermal_zone0/temp", "42000\n");
	put("sys/class/power_supply/ADP1/voltage_now", "12000000\n");
	put("sys/devices/platform/soc/soc:firmware/get_throttled", "0x50005\n");
	put("proc/stat", "cpu 100 0 100 800 0 0 0 0\ncpu0 100 0 100 800 0 0 0 0\n");
	return 0;
}

static int teardown_each(void **state)
{
	(void)state;
	tu_rm_rf(root);
	return 0;
}

static const char product_json[] =
	"{\"model\":\"lx\",\"sensors\":["
	"{\"id\":\"temp.cpu\",\"warn\":85,\"crit\":100,\"source\":\"hwmon:coretemp/Package id 0\"},"
	"{\"id\":\"fan.main\",\"stall_rpm\":500,\"source\":\"hwmon:nct6775/fan1\"},"
	"{\"id\":\"volt.vin\",\"min\":11.4,\"max\":13.2,\"source\":\"hwmon:nct6775/VIN\"},"
	"{\"id\":\"curr.vin\",\"max\":2.5,\"source\":\"hwmon:nct6775/curr1\"},"
	"{\"id\":\"temp.board\",\"warn\":70,\"crit\":85,\"source\":\"thermal:board-thermal\"},"
	"{\"id\":\"volt.adapter\",\"source\":\"power_supply:ADP1/voltage_now\"},"
	"{\"id\":\"event.undervoltage\",\"source\":\"rpi:undervoltage\"},"
	"{\"id\":\"load.cpu\",\"source\":\"proc:load\"}]}";

static struct tpd_board *open_board(struct tpd_product *p)
{
	struct tpd_board_cfg cfg = { .product = p, .sysfs_root = sys_dir };
	struct tpd_board *b;
	char err[256] = "";

	if (tpd_product_parse(product_json, strlen(product_json), "t", p, err, sizeof(err)))
		fail_msg("%s", err);
	if (tpd_board_open(tpd_board_find("linux"), &cfg, &b, err, sizeof(err)))
		fail_msg("open: %s", err);
	return b;
}

static void test_values_in_spec_units(void **state)
{
	struct tpd_product p;
	struct tpd_board *b = open_board(&p);
	double v[TPD_PRODUCT_MAX_SENSORS], t;

	(void)state;
	assert_int_equal(tpd_board_read(b, &t, v, NULL, 0), TPD_OK);
	assert_true(fabs(v[0] - 56.0) < 1e-9);      /* m°C -> °C */
	assert_true(fabs(v[1] - 4100) < 1e-9);      /* RPM */
	assert_true(fabs(v[2] - 12.05) < 1e-9);     /* mV -> V, by label */
	assert_true(fabs(v[3] - 0.9) < 1e-9);       /* mA -> A */
	assert_true(fabs(v[4] - 42.0) < 1e-9);      /* thermal zone by type */
	assert_true(fabs(v[5] - 12.0) < 1e-9);      /* µV -> V */
	assert_true(v[6] == 1.0);                   /* get_throttled bit 0 */
	assert_true(fabs(v[7] - 0.2) < 1e-9);       /* busy / total */
	/* the next load is the share since the previous read */
	put("proc/stat", "cpu 150 0 150 900 0 0 0 0\n");
	assert_int_equal(tpd_board_read(b, &t, v, NULL, 0), TPD_OK);
	assert_true(fabs(v[7] - 0.5) < 1e-9);
	tpd_board_close(b);
}

static void test_renumbered_chips_are_found_by_name(void **state)
{
	struct tpd_product p;
	struct tpd_board *b = open_board(&p);
	double v[TPD_PRODUCT_MAX_SENSORS], t;
	char a[256], c[256], tmp[256];

	(void)state;
	/* after a reboot the kernel numbers the chips the other way round, and
	 * the new hwmon0 also has a temp1 that must not be taken for the CPU */
	snprintf(a, sizeof(a), "%s/class/hwmon/hwmon0", sys_dir);
	snprintf(c, sizeof(c), "%s/class/hwmon/hwmon1", sys_dir);
	snprintf(tmp, sizeof(tmp), "%s/class/hwmon/x", sys_dir);
	assert_int_equal(rename(a, tmp), 0);
	assert_int_equal(rename(c, a), 0);
	assert_int_equal(rename(tmp, c), 0);
	put("sys/class/hwmon/hwmon0/temp1_input", "99000\n");
	assert_int_equal(tpd_board_read(b, &t, v, NULL, 0), TPD_OK);
	assert_true(fabs(v[0] - 56.0) < 1e-9);
	assert_true(fabs(v[1] - 4100) < 1e-9);
	assert_true(fabs(v[2] - 12.05) < 1e-9);
	tpd_board_close(b);
}

static void test_garbage_and_missing_read_as_failed(void **state)
{
	struct tpd_product p;
	struct tpd_board *b = open_board(&p);
	double v[TPD_PRODUCT_MAX_SENSORS], t;
	char path[256];

	(void)state;
	put("sys/class/hwmon/hwmon0/temp1_input", "hot\n");
	snprintf(path, sizeof(path), "%s/class/hwmon/hwmon1/fan1_input", sys_dir);
	assert_int_equal(unlink(path), 0);
	put("sys/devices/platform/soc/soc:firmware/get_throttled", "\n");
	assert_int_equal(tpd_board_read(b, &t, v, NULL, 0), TPD_OK);
	assert_true(isnan(v[0]));
	assert_true(isnan(v[1]));
	assert_true(isnan(v[6]));
	assert_true(fabs(v[2] - 12.05) < 1e-9);     /* the others go on */
	assert_true(fabs(v[4] - 42.0) < 1e-9);
	tpd_board_close(b);
}

static void test_bad_or_absent_sources(void **state)
{
	static const char *const bad[] = {
		"{\"model\":\"lx\",\"sensors\":[{\"id\":\"temp.cpu\"}]}",
		"{\"model\":\"lx\",\"sensors\":[{\"id\":\"temp.cpu\",\"source\":\"i2c:0x48\"}]}",
		"{\"model\":\"lx\",\"sensors\":[{\"id\":\"temp.cpu\",\"source\":\"hwmon:coretemp\"}]}",
		NULL
	};
	struct tpd_board_cfg cfg = { .sysfs_root = sys_dir };
	struct tpd_product p;
	struct tpd_board *b;
	double v[4], t;
	char err[256];

	(void)state;
	cfg.product = &p;
	for (int i = 0; bad[i]; i++) {
		assert_int_equal(tpd_product_parse(bad[i], strlen(bad[i]), "t", &p, err, sizeof(err)),
				 TPD_OK);
		err[0] = '\0';
		assert_int_equal(tpd_board_open(tpd_board_find("linux"), &cfg, &b, err, sizeof(err)),
				 TPD_ERR_INVAL);
		assert_non_null(strstr(err, "temp.cpu"));
	}
	/* a chip that is not there (yet) is a failed read, not a refusal */
	static const char absent[] =
		"{\"model\":\"lx\",\"sensors\":[{\"id\":\"temp.cpu\",\"source\":\"hwmon:k10temp/Tctl\"}]}";
	assert_int_equal(tpd_product_parse(absent, strlen(absent), "t", &p, err, sizeof(err)), TPD_OK);
	assert_int_equal(tpd_board_open(tpd_board_find("linux"), &cfg, &b, err, sizeof(err)), TPD_OK);
	assert_int_equal(tpd_board_read(b, &t, v, NULL, 0), TPD_OK);
	assert_true(isnan(v[0]));
	tpd_board_close(b);
}

/* Two disks are two "drivetemp" chips: told apart by the device they sit
 * on, whatever their hwmon numbers. */
static void test_same_named_chips_by_device(void **state)
{
	static const char json[] =
		"{\"model\":\"nas\",\"sensors\":["
		"{\"id\":\"temp.disk1\",\"source\":\"hwmon:drivetemp[0]/temp1\"},"
		"{\"id\":\"temp.disk2\",\"source\":\"hwmon:drivetemp[1]/temp1\"}]}";
	struct tpd_board_cfg cfg = { .sysfs_root = sys_dir };
	struct tpd_product p;
	struct tpd_board *b;
	double v[2], t;
	char err[256], link[256], target[256];

	(void)state;
	/* hwmon7 sits on ata1 (disk 1), hwmon3 on ata2 (disk 2) */
	put("sys/devices/pci0/ata1/host0/dev/x", "");
	put("sys/devices/pci0/ata2/host1/dev/x", "");
	put("sys/class/hwmon/hwmon7/name", "drivetemp\n");
	put("sys/class/hwmon/hwmon7/temp1_input", "35000\n");
	put("sys/class/hwmon/hwmon3/name", "drivetemp\n");
	put("sys/class/hwmon/hwmon3/temp1_input", "41000\n");
	snprintf(link, sizeof(link), "%s/class/hwmon/hwmon7/device", sys_dir);
	snprintf(target, sizeof(target), "%s/devices/pci0/ata1/host0/dev", sys_dir);
	assert_int_equal(symlink(target, link), 0);
	snprintf(link, sizeof(link), "%s/class/hwmon/hwmon3/device", sys_dir);
	snprintf(target, sizeof(target), "%s/devices/pci0/ata2/host1/dev", sys_dir);
	assert_int_equal(symlink(target, link), 0);
	cfg.product = &p;
	assert_int_equal(tpd_product_parse(json, strlen(json), "t", &p, err, sizeof(err)), TPD_OK);
	assert_int_equal(tpd_board_open(tpd_board_find("linux"), &cfg, &b, err, sizeof(err)), TPD_OK);
	assert_int_equal(tpd_board_read(b, &t, v, NULL, 0), TPD_OK);
	assert_true(fabs(v[0] - 35.0) < 1e-9);
	assert_true(fabs(v[1] - 41.0) < 1e-9);
	tpd_board_close(b);
}

static void test_probe_lists_and_suggests(void **state)
{
	char path[256], text[8192] = "";
	FILE *fp;
	size_t n;

	(void)state;
	snprintf(path, sizeof(path), "%s/probe.txt", root);
	fp = fopen(path, "w+");
	assert_int_equal(tpd_board_linux_probe(sys_dir, fp), TPD_OK);
	rewind(fp);
	n = fread(text, 1, sizeof(text) - 1, fp);
	text[n] = '\0';
	fclose(fp);
	assert_non_null(strstr(text, "hwmon:coretemp/Package id 0"));
	assert_non_null(strstr(text, "crit=100"));
	assert_non_null(strstr(text, "thermal:board-thermal"));
	assert_non_null(strstr(text, "power_supply:ADP1/voltage_now"));
	assert_non_null(strstr(text, "rpi:undervoltage"));
	assert_non_null(strstr(text, "\"source\": \"hwmon:nct6775/VIN\""));
	fp = fopen(path, "w");
	snprintf(path, sizeof(path), "%s/empty", root);
	mkdir(path, 0755);
	assert_int_equal(tpd_board_linux_probe(path, fp), TPD_ERR_NOTFOUND);
	fclose(fp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_values_in_spec_units, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_renumbered_chips_are_found_by_name, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_garbage_and_missing_read_as_failed, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_bad_or_absent_sources, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_probe_lists_and_suggests, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_same_named_chips_by_device, setup_each, teardown_each),
	};
	return cmocka_run_group_tests_name("board_linux", tests, NULL, NULL);
}
