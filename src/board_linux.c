/*
 * board_linux.c - the "linux" board: reads the kernel's sensors from sysfs.
 *
 * Each product sensor names its source (boards/NAME.json "source"):
 *   hwmon:CHIP/LABEL      hwmon chip by its `name`, channel by its `*_label`
 *   hwmon:CHIP/temp1      ...or by channel (temp*, in*, curr*, power*, fan*)
 *   hwmon:CHIP/in1_lcrit_alarm  a channel's own attribute, read as is (alarms)
 *   hwmon:CHIP[N]/temp1   the Nth chip of that name, ordered by the device it
 *                         sits on (two disks are two "drivetemp" chips)
 *   thermal:TYPE          /sys/class/thermal/thermal_zone* whose `type` is TYPE
 *   power_supply:NAME/ATTR  /sys/class/power_supply/NAME/ATTR (voltage_now, ...)
 *   rpi:undervoltage      Raspberry Pi firmware get_throttled, bit 0 (now)
 *   rpi:throttled         ...bit 2
 *   proc:load             CPU busy share since the previous read, /proc/stat
 *
 * Units follow the kernel's ABI (Documentation/hwmon/sysfs-interface.rst,
 * ABI/testing/sysfs-class-power): temp and thermal in millidegrees Celsius,
 * in* and curr* in mV and mA, power* in µW, fan* in RPM; power_supply
 * voltage/current in µV/µA, temp in tenths of a degree. Everything is turned
 * into SPEC §4 units here.
 *
 * Design notes:
 * 1. Sources are matched by identity (chip name + label, zone type), never by
 *    hwmonN / thermal_zoneN index: those numbers change between boots and
 *    driver reloads. A path that disappears is looked up again (at most once
 *    a minute per sensor), so a renumbered chip is found again.
 * 2. A missing, unreadable or garbled file is a failed read (NAN), which the
 *    agent turns into SENSOR_FAIL for that sensor only; the others go on.
 * 3. --sysfs-root DIR stands in for /sys and DIR/../proc for /proc, so tests
 *    run on fixture trees laid out like the kernel's.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tpd/board.h"

#define LINUX_PATH_MAX 1024
#define LINUX_RETRY_S 60.0

enum linux_src_type { SRC_FILE, SRC_RPI, SRC_LOAD };

struct linux_src {
	enum linux_src_type type;
	char path[LINUX_PATH_MAX];  /* "" while unresolved */
	char check[LINUX_PATH_MAX]; /* hwmon: the chip's `name` file, re-read each time... */
	char chip[96];              /* ...and expected to still say this */
	double scale;               /* value = raw * scale */
	unsigned bit;               /* SRC_RPI: the flag */
	double retry_at;            /* monotonic seconds of the next lookup */
};

struct linux_board {
	char sys[LINUX_PATH_MAX], proc[LINUX_PATH_MAX];
	const struct tpd_product *product;
	struct linux_src src[TPD_PRODUCT_MAX_SENSORS];
	unsigned long long prev_busy, prev_total;
};

/* snprintf for paths; false (and a truncated buf) when it does not fit. */
__attribute__((format(printf, 3, 4)))
static bool linux_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n >= 0 && (size_t)n < len;
}

static double linux_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Reads a small sysfs file, trailing whitespace trimmed. */
static bool linux_read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return false;
	buf[n] = '\0';
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
	return true;
}

/* A whole decimal (or 0x hex) number and nothing else. */
static bool linux_number(const char *s, int base, double *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, base);
	if (end == s || *end || errno)
		return false;
	*out = (double)v;
	return true;
}

/* Scale of an hwmon channel ("temp1", "in0", ...), 0 for an unknown type. */
static double linux_hwmon_scale(const char *chan)
{
	static const struct { const char *prefix; double scale; } types[] = {
		{ "temp", 1e-3 }, { "in", 1e-3 }, { "curr", 1e-3 }, { "power", 1e-6 }, { "fan", 1.0 },
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t n = strlen(types[i].prefix);

		if (strncmp(chan, types[i].prefix, n) == 0 && chan[n] && isdigit((unsigned char)chan[n]) &&
		    strspn(chan + n, "0123456789") == strlen(chan + n))
			return types[i].scale;
	}
	return 0;
}

/* In hwmon dir, the channel whose *_label is label; "" when none. */
static void linux_hwmon_label(const char *dir, const char *label, char *chan, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	chan[0] = '\0';
	while (d && (de = readdir(d))) {
		char path[LINUX_PATH_MAX], text[128];
		size_t n = strlen(de->d_name);

		if (n < 7 || strcmp(de->d_name + n - 6, "_label") != 0)
			continue;
		linux_fmt(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (linux_read_text(path, text, sizeof(text)) && strcmp(text, label) == 0) {
			linux_fmt(chan, len, "%.*s", (int)(n - 6), de->d_name);
			break;
		}
	}
	if (d)
		closedir(d);
}

/* The entry of class dir whose file `key` reads want; false when none. */
static bool linux_find_class(const char *classdir, const char *prefix, const char *key,
			     const char *want, char *found, size_t len)
{
	DIR *d = opendir(classdir);
	struct dirent *de;
	bool ok = false;

	while (d && !ok && (de = readdir(d))) {
		char path[LINUX_PATH_MAX], text[128];

		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		linux_fmt(path, sizeof(path), "%s/%s/%s", classdir, de->d_name, key);
		if (linux_read_text(path, text, sizeof(text)) && strcmp(text, want) == 0) {
			linux_fmt(found, len, "%s/%s", classdir, de->d_name);
			ok = true;
		}
	}
	if (d)
		closedir(d);
	return ok;
}

static int linux_cmp_str(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* The hwmon dir of the nth chip named want, chips ordered by the real path
 * of their device (stable across boots, unlike hwmonN). */
static bool linux_hwmon_nth(const char *classdir, const char *want, unsigned nth, char *found,
			    size_t len)
{
	enum { MAXC = 32 };
	char (*keys)[2 * LINUX_PATH_MAX] = calloc(MAXC, sizeof(*keys));
	DIR *d = opendir(classdir);
	struct dirent *de;
	size_t n = 0;
	bool ok = false;

	while (keys && d && n < MAXC && (de = readdir(d))) {
		char path[LINUX_PATH_MAX], text[128], real[LINUX_PATH_MAX];

		if (strncmp(de->d_name, "hwmon", 5) != 0)
			continue;
		linux_fmt(path, sizeof(path), "%s/%s/name", classdir, de->d_name);
		if (!linux_read_text(path, text, sizeof(text)) || strcmp(text, want) != 0)
			continue;
		linux_fmt(path, sizeof(path), "%s/%s/device", classdir, de->d_name);
		if (!realpath(path, real))
			linux_fmt(real, sizeof(real), "%s", de->d_name);
		/* sort key: device path, then (NUL-separated) the hwmon dir */
		linux_fmt(keys[n], sizeof(keys[n]), "%s", real);
		linux_fmt(keys[n] + strlen(keys[n]) + 1, sizeof(keys[n]) - strlen(keys[n]) - 1, "%s/%s",
			  classdir, de->d_name);
		n++;
	}
	if (d)
		closedir(d);
	if (keys && nth < n) {
		qsort(keys, n, sizeof(*keys), linux_cmp_str);
		linux_fmt(found, len, "%s", keys[nth] + strlen(keys[nth]) + 1);
		ok = true;
	}
	free(keys);
	return ok;
}

/* Turns a source spec into a path and scale. Returns a reason or NULL. A
 * spec that parses but names nothing present leaves the path empty. */
static const char *linux_resolve(struct linux_board *lb, const char *spec, struct linux_src *s)
{
	char a[96], b[96], dir[LINUX_PATH_MAX], classdir[LINUX_PATH_MAX];
	const char *colon = strchr(spec, ':'), *slash;

	s->path[0] = s->check[0] = '\0';
	s->scale = 1.0;
	s->type = SRC_FILE;
	if (!colon)
		return "source must be KIND:WHAT (hwmon, thermal, power_supply, rpi, proc)";
	slash = strchr(colon + 1, '/');
	if (strncmp(spec, "hwmon:", 6) == 0) {
		if (!slash || slash == colon + 1 || !slash[1])
			return "hwmon source must be hwmon:CHIP/LABEL or hwmon:CHIP/CHANNEL";
		unsigned nth = 0;
		char *br;

		snprintf(a, sizeof(a), "%.*s", (int)(slash - colon - 1), colon + 1);
		snprintf(b, sizeof(b), "%s", slash + 1);
		br = strchr(a, '[');
		if (br) {
			char *end;
			unsigned long v = strtoul(br + 1, &end, 10);

			if (end == br + 1 || strcmp(end, "]") != 0 || v > 31)
				return "hwmon chip index must be CHIP[N] with N 0..31";
			nth = (unsigned)v;
			*br = '\0';
		}
		linux_fmt(classdir, sizeof(classdir), "%s/class/hwmon", lb->sys);
		if (!linux_hwmon_nth(classdir, a, nth, dir, sizeof(dir)))
			return NULL;
		if (strchr(b, '_')) {
			char chan[96];

			linux_fmt(chan, sizeof(chan), "%.*s", (int)(strchr(b, '_') - b), b);
			if (linux_hwmon_scale(chan) == 0)
				return "hwmon attribute must be CHANNEL_ATTR, e.g. in1_lcrit_alarm";
			linux_fmt(s->path, sizeof(s->path), "%s/%s", dir, b);
			linux_fmt(s->check, sizeof(s->check), "%s/name", dir);
			linux_fmt(s->chip, sizeof(s->chip), "%s", a);
			return NULL;
		}
		if (linux_hwmon_scale(b) == 0) {
			char chan[64];

			linux_hwmon_label(dir, b, chan, sizeof(chan));
			if (!chan[0] || linux_hwmon_scale(chan) == 0)
				return NULL;
			snprintf(b, sizeof(b), "%s", chan);
		}
		s->scale = linux_hwmon_scale(b);
		linux_fmt(s->path, sizeof(s->path), "%s/%s_input", dir, b);
		linux_fmt(s->check, sizeof(s->check), "%s/name", dir);
		linux_fmt(s->chip, sizeof(s->chip), "%s", a);
		return NULL;
	}
	if (strncmp(spec, "thermal:", 8) == 0) {
		linux_fmt(classdir, sizeof(classdir), "%s/class/thermal", lb->sys);
		if (linux_find_class(classdir, "thermal_zone", "type", colon + 1, dir, sizeof(dir))) {
			linux_fmt(s->path, sizeof(s->path), "%s/temp", dir);
			s->scale = 1e-3;
		}
		return NULL;
	}
	if (strncmp(spec, "power_supply:", 13) == 0) {
		if (!slash || slash == colon + 1 || !slash[1])
			return "power_supply source must be power_supply:NAME/ATTRIBUTE";
		linux_fmt(s->path, sizeof(s->path), "%s/class/power_supply/%.*s/%s", lb->sys,
			 (int)(slash - colon - 1), colon + 1, slash + 1);
		if (strncmp(slash + 1, "voltage", 7) == 0 || strncmp(slash + 1, "current", 7) == 0 ||
		    strncmp(slash + 1, "power", 5) == 0)
			s->scale = 1e-6;
		else if (strcmp(slash + 1, "temp") == 0)
			s->scale = 0.1;
		return NULL;
	}
	if (strcmp(spec, "rpi:undervoltage") == 0 || strcmp(spec, "rpi:throttled") == 0) {
		s->type = SRC_RPI;
		s->bit = strcmp(spec, "rpi:undervoltage") == 0 ? 0 : 2;
		linux_fmt(s->path, sizeof(s->path), "%s/devices/platform/soc/soc:firmware/get_throttled",
			 lb->sys);
		return NULL;
	}
	if (strcmp(spec, "proc:load") == 0) {
		s->type = SRC_LOAD;
		linux_fmt(s->path, sizeof(s->path), "%s/stat", lb->proc);
		return NULL;
	}
	return "unknown source kind (hwmon, thermal, power_supply, rpi, proc)";
}

static void linux_close(void *ctx)
{
	free(ctx);
}

static enum tpd_err linux_open(const struct tpd_board_cfg *cfg, void **ctx, char *err,
			       size_t errlen)
{
	const struct tpd_product *p = cfg->product;
	struct linux_board *lb = calloc(1, sizeof(*lb));
	const char *root = cfg->sysfs_root ? cfg->sysfs_root : "/sys";

	*ctx = NULL;
	if (!lb)
		return TPD_ERR_NOMEM;
	lb->product = p;
	linux_fmt(lb->sys, sizeof(lb->sys), "%s", root);
	linux_fmt(lb->proc, sizeof(lb->proc), "%s", cfg->sysfs_root ? root : "/proc");
	if (cfg->sysfs_root)
		linux_fmt(lb->proc, sizeof(lb->proc), "%s/../proc", root);
	for (size_t i = 0; i < p->nsensors; i++) {
		const char *why;

		if (!p->sensors[i].source[0]) {
			snprintf(err, errlen, "sensors[%zu] (%s): no \"source\" for the linux board", i,
				 p->sensors[i].id);
			linux_close(lb);
			return TPD_ERR_INVAL;
		}
		why = linux_resolve(lb, p->sensors[i].source, &lb->src[i]);
		if (why) {
			snprintf(err, errlen, "sensors[%zu] (%s): source \"%s\": %s", i, p->sensors[i].id,
				 p->sensors[i].source, why);
			linux_close(lb);
			return TPD_ERR_INVAL;
		}
		if (!lb->src[i].path[0])
			fprintf(stderr, "tpdiagd: linux board: %s: %s is not present; it reads as failed "
				"until it appears\n", p->sensors[i].id, p->sensors[i].source);
	}
	*ctx = lb;
	return TPD_OK;
}

/* CPU busy share since the previous call, from the "cpu" line of /proc/stat. */
static double linux_load(struct linux_board *lb, const char *path)
{
	char text[512];
	unsigned long long v[8] = { 0 }, busy, total = 0;
	double load;

	if (!linux_read_text(path, text, sizeof(text)) ||
	    sscanf(text, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &v[6], &v[7]) < 4)
		return NAN;
	for (int i = 0; i < 8; i++)
		total += v[i];
	busy = total - v[3] - v[4];   /* all but idle and iowait */
	if (total <= lb->prev_total || busy < lb->prev_busy) {
		load = total ? (double)busy / (double)total : NAN;
	} else {
		load = (double)(busy - lb->prev_busy) / (double)(total - lb->prev_total);
	}
	lb->prev_busy = busy;
	lb->prev_total = total;
	return load;
}

static double linux_value(struct linux_board *lb, size_t i)
{
	struct linux_src *s = &lb->src[i];
	char text[64];
	double raw;

	if (!s->path[0]) {
		double now = linux_mono();

		if (now < s->retry_at)
			return NAN;
		s->retry_at = now + LINUX_RETRY_S;
		linux_resolve(lb, lb->product->sensors[i].source, s);
		if (!s->path[0])
			return NAN;
	}
	if (s->type == SRC_LOAD)
		return linux_load(lb, s->path);
	/* hwmonN numbers are not stable: a different chip may now sit there. */
	if (s->check[0] && (!linux_read_text(s->check, text, sizeof(text)) ||
			    strcmp(text, s->chip) != 0)) {
		linux_resolve(lb, lb->product->sensors[i].source, s);
		if (!s->path[0])
			return NAN;
	}
	if (!linux_read_text(s->path, text, sizeof(text))) {
		if (errno == ENOENT)
			s->path[0] = '\0';   /* renumbered or gone: look it up again */
		return NAN;
	}
	if (s->type == SRC_RPI)
		return linux_number(text, 16, &raw) ? (double)(((unsigned long long)raw >> s->bit) & 1u)
						   : NAN;
	return linux_number(text, 10, &raw) ? raw * s->scale : NAN;
}

static enum tpd_err linux_read(void *ctx, double *t_s, double *values, char *err, size_t errlen)
{
	struct linux_board *lb = ctx;

	(void)err;
	(void)errlen;
	*t_s = 0;
	for (size_t i = 0; i < lb->product->nsensors; i++)
		values[i] = linux_value(lb, i);
	return TPD_OK;
}

const struct tpd_board_ops tpd_board_linux = {
	.name = "linux",
	.abi = TPD_BOARD_ABI,
	.caps = 0,
	.open = linux_open,
	.close = linux_close,
	.read = linux_read,
};

/* --probe ------------------------------------------------------------------ */

/* Prints every hwmon channel, thermal zone, power supply value and the
 * firmware flags found under root, then a product-description snippet. */
enum tpd_err tpd_board_linux_probe(const char *sysfs_root, FILE *out)
{
	static const char *const psu_attrs[] = { "voltage_now", "current_now", "power_now",
						 "temp", "online", NULL };
	const char *root = sysfs_root ? sysfs_root : "/sys";
	char classdir[LINUX_PATH_MAX], snippet[8192];
	size_t used = 0, found = 0;
	struct dirent *de;
	DIR *d;

	snippet[0] = '\0';
	fprintf(out, "%-44s %12s  %s\n", "SOURCE", "VALUE", "KERNEL LIMITS");
	linux_fmt(classdir, sizeof(classdir), "%s/class/hwmon", root);
	d = opendir(classdir);
	while (d && (de = readdir(d))) {
		char dir[LINUX_PATH_MAX], name[64], path[LINUX_PATH_MAX];
		struct dirent *fe;
		DIR *cd;

		if (strncmp(de->d_name, "hwmon", 5) != 0)
			continue;
		linux_fmt(dir, sizeof(dir), "%s/%s", classdir, de->d_name);
		linux_fmt(path, sizeof(path), "%s/name", dir);
		if (!linux_read_text(path, name, sizeof(name)))
			continue;
		cd = opendir(dir);
		while (cd && (fe = readdir(cd))) {
			char chan[64], label[64], text[64], spec[160], limits[128] = "";
			size_t n = strlen(fe->d_name);
			double v, scale;
			static const char *const lim[] = { "min", "max", "crit", "alarm" };

			if (n < 7 || strcmp(fe->d_name + n - 6, "_input") != 0)
				continue;
			linux_fmt(chan, sizeof(chan), "%.*s", (int)(n - 6), fe->d_name);
			scale = linux_hwmon_scale(chan);
			if (scale == 0)
				continue;
			linux_fmt(path, sizeof(path), "%s/%s_label", dir, chan);
			if (!linux_read_text(path, label, sizeof(label)))
				snprintf(label, sizeof(label), "%s", chan);
			linux_fmt(spec, sizeof(spec), "hwmon:%s/%s", name, label);
			for (size_t k = 0; k < 4; k++) {
				linux_fmt(path, sizeof(path), "%s/%s_%s", dir, chan, lim[k]);
				if (linux_read_text(path, text, sizeof(text)) && linux_number(text, 10, &v))
					snprintf(limits + strlen(limits), sizeof(limits) - strlen(limits),
						 "%s=%g ", lim[k], k == 3 ? v : v * scale);
			}
			linux_fmt(path, sizeof(path), "%s/%s", dir, fe->d_name);
			if (linux_read_text(path, text, sizeof(text)) && linux_number(text, 10, &v))
				fprintf(out, "%-44s %12g  %s\n", spec, v * scale, limits);
			else
				fprintf(out, "%-44s %12s  %s\n", spec, "unreadable", limits);
			if (used < sizeof(snippet))
				used += (size_t)snprintf(snippet + used, sizeof(snippet) - used,
							 "%s    { \"id\": \"%s.%s\", \"source\": \"%s\" }",
							 found ? ",\n" : "", strncmp(chan, "in", 2) == 0
							 ? "volt" : strncmp(chan, "curr", 4) == 0 ? "curr"
							 : strncmp(chan, "power", 5) == 0 ? "power"
							 : strncmp(chan, "fan", 3) == 0 ? "fan" : "temp",
							 chan, spec);
			found++;
		}
		if (cd)
			closedir(cd);
	}
	if (d)
		closedir(d);
	linux_fmt(classdir, sizeof(classdir), "%s/class/thermal", root);
	d = opendir(classdir);
	while (d && (de = readdir(d))) {
		char path[LINUX_PATH_MAX], type[64], text[64];
		double v;

		if (strncmp(de->d_name, "thermal_zone", 12) != 0)
			continue;
		linux_fmt(path, sizeof(path), "%s/%s/type", classdir, de->d_name);
		if (!linux_read_text(path, type, sizeof(type)))
			continue;
		linux_fmt(path, sizeof(path), "%s/%s/temp", classdir, de->d_name);
		if (linux_read_text(path, text, sizeof(text)) && linux_number(text, 10, &v))
			fprintf(out, "thermal:%-36s %12g\n", type, v * 1e-3);
		else
			fprintf(out, "thermal:%-36s %12s\n", type, "unreadable");
		found++;
	}
	if (d)
		closedir(d);
	linux_fmt(classdir, sizeof(classdir), "%s/class/power_supply", root);
	d = opendir(classdir);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		for (int k = 0; psu_attrs[k]; k++) {
			char path[LINUX_PATH_MAX], text[64], spec[160];
			double v;

			linux_fmt(path, sizeof(path), "%s/%s/%s", classdir, de->d_name, psu_attrs[k]);
			if (!linux_read_text(path, text, sizeof(text)) || !linux_number(text, 10, &v))
				continue;
			linux_fmt(spec, sizeof(spec), "power_supply:%s/%s", de->d_name, psu_attrs[k]);
			fprintf(out, "%-44s %12g\n", spec, v * (k < 3 ? 1e-6 : k == 3 ? 0.1 : 1));
			found++;
		}
	}
	if (d)
		closedir(d);
	{
		char path[LINUX_PATH_MAX], text[64];
		double v;

		linux_fmt(path, sizeof(path), "%s/devices/platform/soc/soc:firmware/get_throttled", root);
		if (linux_read_text(path, text, sizeof(text)) && linux_number(text, 16, &v)) {
			fprintf(out, "%-44s %12d\n", "rpi:undervoltage", (int)((unsigned long long)v & 1));
			fprintf(out, "%-44s %12d\n", "rpi:throttled", (int)(((unsigned long long)v >> 2) & 1));
			found++;
		}
	}
	if (!found) {
		fprintf(out, "(no sensors found under %s)\n", root);
		return TPD_ERR_NOTFOUND;
	}
	fprintf(out, "\nProduct description snippet (boards/NAME.json; add limits, rename ids):\n"
		"  \"sensors\": [\n%s\n  ]\n", snippet);
	return TPD_OK;
}
