/* test_board_linux.c - the linux board on sysfs fixture trees laid out as
 * the kernel's hwmon, thermal and power_supply ABI documents: units, identity
 * matching across renumbering, garbage and missing files, --probe. */
#include <sys/stat.h>

#include <cjson/cJSON.h>

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
	assert_int_equal(tpd_board_linux_probe(sys_dir, false, fp), TPD_OK);
	rewind(fp);
	n = fread(text, 1, sizeof(text) - 1, fp);
	text[n] = '\0';
	fclose(fp);
	assert_non_null(strstr(text, "hwmon:coretemp/Package id 0"));
	assert_non_null(strstr(text, "crit=100"));
	assert_non_null(strstr(text, "thermal:board-thermal"));
	assert_non_null(strstr(text, "power_supply:ADP1/voltage_now"));
	assert_non_null(strstr(text, "rpi:undervoltage"));
	assert_non_null(strstr(text, "\"source\":\"hwmon:nct6775/VIN\""));
	fp = fopen(path, "w");
	snprintf(path, sizeof(path), "%s/empty", root);
	mkdir(path, 0755);
	assert_int_equal(tpd_board_linux_probe(path, false, fp), TPD_ERR_NOTFOUND);
	fclose(fp);
}


/* --- the fixture trees of tests/fixtures/sysfs/ (README there) --------- */

#define NO NAN
struct want {
	const char *source, *kind;
	double value, min, max, crit;
};

/* x86-desktop: two coretemp packages whose labels repeat, two NVMe drives
 * numbered against their PCI order, drivetemp, an ACPI power meter with
 * power1_average only, ACPI zones (x86_pkg_temp's 0 °C trip is "none"), a
 * battery; the mains adapter offers only `online`, not a reading. */
static const struct want want_x86[] = {
	{ "hwmon:coretemp[0]/Core 0", "temp", 50, NO, 80, 100 },
	{ "hwmon:coretemp[0]/Package id 0", "temp", 52, NO, 80, 100 },
	{ "hwmon:coretemp[1]/Core 0", "temp", 54, NO, 80, 100 },
	{ "hwmon:coretemp[1]/Package id 1", "temp", 55, NO, 80, 100 },
	{ "hwmon:drivetemp/temp1", "temp", 35, 0, 60, 70 },
	{ "hwmon:nvme[0]/Composite", "temp", 44.85, -273.15, 79.85, 82.85 },
	{ "hwmon:nvme[1]/Composite", "temp", 38.85, -273.15, 81.85, 84.85 },
	{ "hwmon:nvme[1]/Sensor 1", "temp", 38.85, -273.15, 65261.85, NO },
	{ "hwmon:power_meter/power1", "power", 45.5, NO, NO, NO },
	{ "power_supply:BAT0/current_now", "curr", 1.2, NO, NO, NO },
	{ "power_supply:BAT0/voltage_now", "volt", 12.1, 11.1, NO, NO },
	{ "thermal:acpitz", "temp", 27.8, NO, NO, 119 },
	{ "thermal:x86_pkg_temp", "temp", 53, NO, NO, NO },
	{ NULL, NULL, 0, 0, 0, 0 },
};

/* amd-legacy: an old kernel's layout, name and attributes under device/. */
static const struct want want_legacy[] = {
	{ "hwmon:it8721/fan1", "fan", 1500, 600, NO, NO },
	{ "hwmon:it8721/in0", "volt", 1.056, 0.8, 1.3, NO },
	{ "hwmon:it8721/temp1", "temp", 38, 127, 127, NO },
	{ "hwmon:k10temp/temp1", "temp", 45.125, NO, 70, 90 },
	{ NULL, NULL, 0, 0, 0, 0 },
};

/* arm-router: SoC zones with trip points, pwm-fan, gpio-fan, ina226, a chip
 * with no name (by its I2C device), a DC adapter. */
static const struct want want_arm[] = {
	{ "hwmon:1-004c/temp1", "temp", 41.5, NO, 85, NO },
	{ "hwmon:gpio_fan/fan1", "fan", 3000, 0, 6000, NO },
	{ "hwmon:ina226/curr1", "curr", 1.25, NO, NO, 2.5 },
	{ "hwmon:ina226/in0", "volt", 0.002, NO, NO, NO },
	{ "hwmon:ina226/in1", "volt", 12.032, NO, NO, 13.2 },
	{ "hwmon:ina226/power1", "power", 15.04, NO, NO, 30 },
	{ "hwmon:pwmfan/fan1", "fan", 3120, NO, NO, NO },
	{ "power_supply:dc-in/voltage_now", "volt", 11.98, NO, NO, NO },
	{ "thermal:cpu-thermal", "temp", 48.125, NO, 70, 95 },
	{ "thermal:gpu-thermal", "temp", 46.25, NO, 75, 95 },
	{ NULL, NULL, 0, 0, 0, 0 },
};

static void same_number(const char *what, const char *src, const cJSON *o, double want)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, what);

	if (isnan(want)) {
		if (it)
			fail_msg("%s: %s present (%g), the kernel gives none", src, what, it->valuedouble);
		return;
	}
	if (!cJSON_IsNumber(it) || it->valuedouble != want)
		fail_msg("%s: %s %g, want %g", src, what, it ? it->valuedouble : NAN, want);
}

static cJSON *probe_json(const char *sys)
{
	char path[256], *text = malloc(1 << 20);
	cJSON *o;
	size_t n;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/probe.json", root);
	fp = fopen(path, "w+");
	assert_non_null(fp);
	assert_non_null(text);
	assert_int_equal(tpd_board_linux_probe(sys, true, fp), TPD_OK);
	rewind(fp);
	n = fread(text, 1, (1 << 20) - 1, fp);
	text[n] = '\0';
	fclose(fp);
	o = cJSON_Parse(text);
	if (!o)
		fail_msg("probe --json is not JSON: %.200s", text);
	free(text);
	return o;
}

/* Probe: exactly these sensors, values and kernel limits, sorted; then the
 * printed description loads and, opened on the same tree, reads the very
 * values the probe listed. */
static void check_fixture(const char *name, const struct want *want)
{
	char sys[256], err[256] = "", *snip;
	cJSON *o, *sensors, *it;
	struct tpd_board_cfg cfg = { .sysfs_root = sys };
	struct tpd_product *p = malloc(sizeof(*p));
	struct tpd_board *b;
	double v[TPD_PRODUCT_MAX_SENSORS], t;
	size_t n = 0, i = 0;

	assert_non_null(p);
	snprintf(sys, sizeof(sys), "tests/fixtures/sysfs/%s/sys", name);
	o = probe_json(sys);
	sensors = cJSON_GetObjectItemCaseSensitive(o, "sensors");
	while (want[n].source)
		n++;
	if ((size_t)cJSON_GetArraySize(sensors) != n)
		fail_msg("%s: %d sensors, want %zu", name, cJSON_GetArraySize(sensors), n);
	cJSON_ArrayForEach(it, sensors) {
		const cJSON *src = cJSON_GetObjectItemCaseSensitive(it, "source");
		const cJSON *kind = cJSON_GetObjectItemCaseSensitive(it, "kind");

		if (!cJSON_IsString(src) || strcmp(src->valuestring, want[i].source) != 0)
			fail_msg("%s: sensor %zu is %s, want %s", name, i,
				 cJSON_IsString(src) ? src->valuestring : "?", want[i].source);
		assert_true(cJSON_IsString(kind));
		assert_string_equal(kind->valuestring, want[i].kind);
		assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(it, "unit")));
		same_number("value", want[i].source, it, want[i].value);
		same_number("min", want[i].source, it, want[i].min);
		same_number("max", want[i].source, it, want[i].max);
		same_number("crit", want[i].source, it, want[i].crit);
		i++;
	}
	snip = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(o, "snippet"));
	assert_non_null(snip);
	if (tpd_product_parse(snip, strlen(snip), "snippet", p, err, sizeof(err)))
		fail_msg("%s: the probe's description is refused: %s", name, err);
	assert_int_equal(p->nsensors, n);
	cfg.product = p;
	if (tpd_board_open(tpd_board_find("linux"), &cfg, &b, err, sizeof(err)))
		fail_msg("%s: open with the probe's description: %s", name, err);
	assert_int_equal(tpd_board_read(b, &t, v, NULL, 0), TPD_OK);
	for (i = 0; i < n; i++) {
		assert_string_equal(p->sensors[i].source, want[i].source);
		if (fabs(v[i] - want[i].value) > 1e-9)
			fail_msg("%s: %s reads %g, want %g", name, want[i].source, v[i], want[i].value);
	}
	tpd_board_close(b);
	cJSON_free(snip);
	cJSON_Delete(o);
	free(p);
}

static void test_fixture_x86_desktop(void **state)
{
	(void)state;
	check_fixture("x86-desktop", want_x86);
}

static void test_fixture_amd_legacy(void **state)
{
	(void)state;
	check_fixture("amd-legacy", want_legacy);
}

static void test_fixture_arm_router(void **state)
{
	(void)state;
	check_fixture("arm-router", want_arm);
}

/* The description's limits are the kernel's, mapped to the product's keys
 * (temp max -> warn, crit -> crit; volt min/max, lcrit/crit; curr max or
 * crit; fan min -> stall_rpm), unset ones (nvme's 65261.85) left out. */
static void test_probe_snippet_limits(void **state)
{
	cJSON *o, *snip;
	char *text, err[256];
	struct tpd_product *p = malloc(sizeof(*p));
	int i;

	(void)state;
	o = probe_json("tests/fixtures/sysfs/arm-router/sys");
	snip = cJSON_GetObjectItemCaseSensitive(o, "snippet");
	text = cJSON_PrintUnformatted(snip);
	assert_int_equal(tpd_product_parse(text, strlen(text), "s", p, err, sizeof(err)), TPD_OK);
	i = tpd_product_find(p, "volt.ina226_in1");
	assert_true(i >= 0);
	assert_true(p->sensors[i].min == 11.4 && p->sensors[i].max == 13.2);
	i = tpd_product_find(p, "curr.ina226_curr1");
	assert_true(i >= 0 && p->sensors[i].max == 2.5);
	i = tpd_product_find(p, "temp.cpu_thermal");
	assert_true(i >= 0 && p->sensors[i].warn == 70 && p->sensors[i].crit == 95);
	cJSON_free(text);
	cJSON_Delete(o);
	o = probe_json("tests/fixtures/sysfs/x86-desktop/sys");
	text = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(o, "snippet"));
	assert_int_equal(tpd_product_parse(text, strlen(text), "s", p, err, sizeof(err)), TPD_OK);
	i = tpd_product_find(p, "temp.nvme1_sensor_1");
	assert_true(i >= 0 && isnan(p->sensors[i].warn) && isnan(p->sensors[i].crit));
	i = tpd_product_find(p, "temp.coretemp1_package_id_1");
	assert_true(i >= 0 && p->sensors[i].warn == 80 && p->sensors[i].crit == 100);
	cJSON_free(text);
	cJSON_Delete(o);
	o = probe_json("tests/fixtures/sysfs/amd-legacy/sys");
	text = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(o, "snippet"));
	assert_int_equal(tpd_product_parse(text, strlen(text), "s", p, err, sizeof(err)), TPD_OK);
	i = tpd_product_find(p, "fan.it8721_fan1");
	assert_true(i >= 0 && p->sensors[i].stall_rpm == 600);
	cJSON_free(text);
	cJSON_Delete(o);
	free(p);
}

/* A bare name that several chips share is refused with the way out. */
static void test_repeated_name_needs_index(void **state)
{
	static const char json[] =
		"{\"model\":\"pc\",\"sensors\":[{\"id\":\"temp.ssd\",\"source\":\"hwmon:nvme/Composite\"}]}";
	struct tpd_board_cfg cfg = { .sysfs_root = "tests/fixtures/sysfs/x86-desktop/sys" };
	struct tpd_product p;
	struct tpd_board *b;
	char err[256] = "";

	(void)state;
	cfg.product = &p;
	assert_int_equal(tpd_product_parse(json, strlen(json), "t", &p, err, sizeof(err)), TPD_OK);
	assert_int_equal(tpd_board_open(tpd_board_find("linux"), &cfg, &b, err, sizeof(err)),
			 TPD_ERR_INVAL);
	assert_non_null(strstr(err, "temp.ssd"));
	assert_non_null(strstr(err, "CHIP[N]"));
}

/* CHIP[N] follows the device, not hwmonN: when the kernel numbers the two
 * drives the other way round, each sensor still reads its own drive. */
static void test_indexed_chip_follows_its_device(void **state)
{
	static const char json[] =
		"{\"model\":\"pc\",\"sensors\":["
		"{\"id\":\"temp.ssd0\",\"source\":\"hwmon:nvme[0]/Composite\"},"
		"{\"id\":\"temp.ssd1\",\"source\":\"hwmon:nvme[1]/Composite\"}]}";
	struct tpd_board_cfg cfg = { .sysfs_root = sys_dir };
	struct tpd_product p;
	struct tpd_board *b;
	char err[256] = "", cmd[512], a[256], c[256];
	double v[2], t;

	(void)state;
	tu_rm_rf(sys_dir);
	snprintf(cmd, sizeof(cmd), "cp -a tests/fixtures/sysfs/x86-desktop/sys %s", sys_dir);
	assert_int_equal(system(cmd), 0);
	cfg.product = &p;
	assert_int_equal(tpd_product_parse(json, strlen(json), "t", &p, err, sizeof(err)), TPD_OK);
	assert_int_equal(tpd_board_open(tpd_board_find("linux"), &cfg, &b, err, sizeof(err)), TPD_OK);
	assert_int_equal(tpd_board_read(b, &t, v, NULL, 0), TPD_OK);
	assert_true(fabs(v[0] - 44.85) < 1e-9 && fabs(v[1] - 38.85) < 1e-9);
	/* swap the class links: hwmon0 now leads to nvme0's chip and hwmon1 to nvme1's */
	snprintf(a, sizeof(a), "%s/class/hwmon/hwmon0", sys_dir);
	snprintf(c, sizeof(c), "%s/class/hwmon/hwmon1", sys_dir);
	assert_int_equal(unlink(a), 0);
	assert_int_equal(unlink(c), 0);
	assert_int_equal(symlink("../../devices/pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0/hwmon/hwmon1", a), 0);
	assert_int_equal(symlink("../../devices/pci0000:00/0000:00:1c.4/0000:3e:00.0/nvme/nvme1/hwmon/hwmon0", c), 0);
	assert_int_equal(tpd_board_read(b, &t, v, NULL, 0), TPD_OK);
	assert_true(fabs(v[0] - 44.85) < 1e-9);
	assert_true(fabs(v[1] - 38.85) < 1e-9);
	tpd_board_close(b);
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
		cmocka_unit_test_setup_teardown(test_fixture_x86_desktop, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_fixture_amd_legacy, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_fixture_arm_router, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_probe_snippet_limits, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_repeated_name_needs_index, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_indexed_chip_follows_its_device, setup_each, teardown_each),
	};
	return cmocka_run_group_tests_name("board_linux", tests, NULL, NULL);
}
