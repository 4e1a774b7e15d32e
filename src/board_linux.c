/*
 * board_linux.c - the "linux" board: reads the kernel's sensors from sysfs.
 *
 * Each product sensor names its source (boards/NAME.json "source"):
 *   hwmon:CHIP/LABEL      hwmon chip by its `name`, channel by its `*_label`
 *   hwmon:CHIP/temp1      ...or by channel (temp*, in*, curr*, power*, fan*)
 *   hwmon:CHIP/in1_lcrit_alarm  a channel's own attribute, read as is (alarms)
 *   hwmon:CHIP[N]/temp1   the Nth chip of that name, ordered by the device it
 *                         sits on (two disks are two "drivetemp" chips); a
 *                         bare CHIP that names several chips is refused
 *   hwmon:1-004c/temp1    a chip without a `name` file, by its device's
 *                         directory (sysfs.h has the identity rules)
 *   hwmon:CHIP/power1     power1_input, or power1_average when the chip has
 *                         only that (ACPI power meters)
 *   thermal:TYPE[N]       /sys/class/thermal/thermal_zone* whose `type` is TYPE
 *                         ([N]: the Nth of that type by zone number)
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
 *    a minute per sensor), so a renumbered chip is found again. Each read
 *    checks the chip is still the one resolved (its `name`; its device's
 *    path too when that is what tells it apart).
 * 2. A missing, unreadable or garbled file is a failed read (NAN), which the
 *    agent turns into SENSOR_FAIL for that sensor only; the others go on.
 * 3. --sysfs-root DIR stands in for /sys and DIR/../proc for /proc, so tests
 *    run on fixture trees laid out like the kernel's.
 * 4. A resolved value file is kept open and read with pread at offset 0
 *    (sysfs and /proc make the text afresh for each read from the start):
 *    one syscall and an fstat per sensor and sample, where open, read and
 *    close of the value and of the chip's `name` took six (the agent spent
 *    1.5 times a same-work floor's CPU at 10 Hz). The open file follows its
 *    chip when hwmon numbers move; a removed device's attribute fails its
 *    read (ENODEV) and an unlinked or replaced regular file (a fixture tree,
 *    a value a vendor daemon writes) has no links left: either is read once
 *    more by path, and looked up again when that fails. The chip's identity
 *    is still checked by path, once a minute (LINUX_RETRY_S).
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tpd/board.h"
#include "tpd/clock.h"
#include "sysfs.h"

#define LINUX_PATH_MAX TPD_SYSFS_PATH_MAX
#define LINUX_RETRY_S 60.0

enum linux_src_type { SRC_FILE, SRC_RPI, SRC_LOAD };

struct linux_src {
	enum linux_src_type type;
	char path[LINUX_PATH_MAX];  /* "" while unresolved */
	char check[LINUX_PATH_MAX]; /* hwmon: the chip's `name` file, re-read each time... */
	char chip[64];              /* ...and expected to still say this */
	char *devlink;              /* hwmon told apart by device: hwmonN/device... (owned) */
	char *device;               /* ...and the real path it must still lead to (owned) */
	double div;                 /* value = raw / div */
	unsigned bit;               /* SRC_RPI: the flag */
	double retry_at;            /* monotonic seconds of the next lookup */
	double check_at;            /* ...and of the next identity check (note 4) */
	int fd;                     /* path, kept open (note 4), when fd_open */
	bool fd_open;
};

struct linux_board {
	char sys[LINUX_PATH_MAX], proc[LINUX_PATH_MAX];
	const struct tpd_product *product;
	struct linux_src src[TPD_PRODUCT_MAX_SENSORS];
	unsigned long long prev_busy, prev_total;
};

#define linux_fmt tpd_sysfs_fmt
#define linux_read_text tpd_sysfs_read
#define linux_number tpd_sysfs_number

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

/* "NAME[N]" -> NAME and N; "NAME" -> NAME, N 0, *indexed false. */
static const char *linux_split_index(char *name, unsigned *nth, bool *indexed)
{
	char *br = strchr(name, '['), *end;
	unsigned long v;

	*nth = 0;
	*indexed = false;
	if (!br)
		return NULL;
	v = strtoul(br + 1, &end, 10);
	if (end == br + 1 || strcmp(end, "]") != 0 || v > 63)
		return "index must be NAME[N] with N 0..63";
	*nth = (unsigned)v;
	*indexed = true;
	*br = '\0';
	return NULL;
}

static void linux_src_close(struct linux_src *s)
{
	if (s->fd_open)
		close(s->fd);
	s->fd_open = false;
}

static void linux_src_reset(struct linux_src *s)
{
	linux_src_close(s);
	free(s->devlink);
	free(s->device);
	s->devlink = s->device = NULL;
	s->path[0] = s->check[0] = s->chip[0] = '\0';
	s->div = 1.0;
	s->type = SRC_FILE;
}

/* hwmon:CHIP[N]/WHAT. Returns a reason or NULL; a chip or channel not
 * present leaves s->path empty. */
static const char *linux_resolve_hwmon(struct linux_board *lb, const char *what,
				       struct linux_src *s)
{
	const char *slash = strchr(what, '/'), *why;
	struct tpd_sysfs_chip *chips = NULL, *c = NULL;
	char a[96], b[96], path[LINUX_PATH_MAX];
	size_t n = 0;
	unsigned nth;
	bool indexed, attr = false;

	if (!slash || slash == what || !slash[1] || !linux_fmt(a, sizeof(a), "%.*s",
							       (int)(slash - what), what) ||
	    !linux_fmt(b, sizeof(b), "%s", slash + 1))
		return "hwmon source must be hwmon:CHIP/LABEL or hwmon:CHIP/CHANNEL";
	why = linux_split_index(a, &nth, &indexed);
	if (why)
		return "hwmon chip index must be CHIP[N] with N 0..63";
	if (strchr(b, '_')) {
		char chan[96];

		/* temp1_max is an attribute; "Tccd_1" may be a label */
		linux_fmt(chan, sizeof(chan), "%.*s", (int)(strchr(b, '_') - b), b);
		attr = tpd_sysfs_hwmon_div(chan) != 0;
	}
	if (tpd_sysfs_chips(lb->sys, &chips, &n))
		return NULL;   /* out of memory: absent for now, looked up again */
	for (size_t i = 0; i < n && !c; i++)
		if (strcmp(chips[i].ident, a) == 0 && chips[i].nth == nth)
			c = &chips[i];
	if (c && !indexed && c->same > 1) {
		free(chips);
		return "several chips have this name: name one as CHIP[N] (tpdiagd --probe lists them)";
	}
	if (!c) {
		free(chips);
		return NULL;
	}
	if (attr) {
		/* a channel's own attribute: alarms read as they are, values scaled */
		const char *suffix = strchr(b, '_') + 1;
		char chan[96];

		linux_fmt(chan, sizeof(chan), "%.*s", (int)(suffix - 1 - b), b);
		if (strcmp(suffix, "input") == 0 || strcmp(suffix, "average") == 0 ||
		    strcmp(suffix, "min") == 0 || strcmp(suffix, "max") == 0 ||
		    strcmp(suffix, "crit") == 0 || strcmp(suffix, "lcrit") == 0 ||
		    strcmp(suffix, "highest") == 0 || strcmp(suffix, "lowest") == 0)
			s->div = tpd_sysfs_hwmon_div(chan);
		linux_fmt(s->path, sizeof(s->path), "%s/%s", c->dir, b);
	} else {
		if (tpd_sysfs_hwmon_div(b) == 0) {
			char chan[64];

			linux_hwmon_label(c->dir, b, chan, sizeof(chan));
			if (!chan[0] || tpd_sysfs_hwmon_div(chan) == 0) {
				free(chips);
				return NULL;
			}
			snprintf(b, sizeof(b), "%s", chan);
		}
		s->div = tpd_sysfs_hwmon_div(b);
		linux_fmt(s->path, sizeof(s->path), "%s/%s_input", c->dir, b);
		if (strncmp(b, "power", 5) == 0 && access(s->path, F_OK) != 0)
			linux_fmt(s->path, sizeof(s->path), "%s/%s_average", c->dir, b);
	}
	if (c->named) {
		linux_fmt(s->check, sizeof(s->check), "%s/name", c->dir);
		linux_fmt(s->chip, sizeof(s->chip), "%s", c->ident);
	}
	if ((c->same > 1 || !c->named) && c->device[0]) {
		linux_fmt(path, sizeof(path), "%s/device", c->hwmon);
		s->devlink = strdup(path);
		s->device = strdup(c->device);
		if (!s->devlink || !s->device)
			s->path[0] = '\0';   /* cannot check it: absent for now */
	}
	free(chips);
	return NULL;
}

/* thermal:TYPE[N] */
static const char *linux_resolve_thermal(struct linux_board *lb, const char *what,
					 struct linux_src *s)
{
	struct tpd_sysfs_zone *zones = NULL;
	char type[96];
	size_t n = 0;
	unsigned nth;
	bool indexed, ambiguous = false;

	if (!what[0] || !linux_fmt(type, sizeof(type), "%s", what))
		return "thermal source must be thermal:TYPE or thermal:TYPE[N]";
	if (linux_split_index(type, &nth, &indexed))
		return "thermal zone index must be TYPE[N] with N 0..63";
	if (tpd_sysfs_zones(lb->sys, &zones, &n))
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(zones[i].type, type) != 0 || zones[i].nth != nth)
			continue;
		ambiguous = !indexed && zones[i].same > 1;
		linux_fmt(s->path, sizeof(s->path), "%s/temp", zones[i].dir);
		linux_fmt(s->check, sizeof(s->check), "%s/type", zones[i].dir);
		linux_fmt(s->chip, sizeof(s->chip), "%s", type);
		s->div = 1e3;
		break;
	}
	free(zones);
	if (ambiguous) {
		s->path[0] = '\0';
		return "several thermal zones have this type: name one as TYPE[N] (tpdiagd --probe lists "
		       "them)";
	}
	return NULL;
}

/* Turns a source spec into a path and divisor. Returns a reason or NULL. A
 * spec that parses but names nothing present leaves the path empty. */
static const char *linux_resolve(struct linux_board *lb, const char *spec, struct linux_src *s)
{
	const char *colon = strchr(spec, ':'), *slash;

	linux_src_reset(s);
	if (!colon)
		return "source must be KIND:WHAT (hwmon, thermal, power_supply, rpi, proc)";
	slash = strchr(colon + 1, '/');
	if (strncmp(spec, "hwmon:", 6) == 0)
		return linux_resolve_hwmon(lb, colon + 1, s);
	if (strncmp(spec, "thermal:", 8) == 0)
		return linux_resolve_thermal(lb, colon + 1, s);
	if (strncmp(spec, "power_supply:", 13) == 0) {
		if (!slash || slash == colon + 1 || !slash[1])
			return "power_supply source must be power_supply:NAME/ATTRIBUTE";
		linux_fmt(s->path, sizeof(s->path), "%s/class/power_supply/%.*s/%s", lb->sys,
			 (int)(slash - colon - 1), colon + 1, slash + 1);
		if (strncmp(slash + 1, "voltage", 7) == 0 || strncmp(slash + 1, "current", 7) == 0 ||
		    strncmp(slash + 1, "power", 5) == 0)
			s->div = 1e6;
		else if (strncmp(slash + 1, "temp", 4) == 0)
			s->div = 10;
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

/* True while the chip or zone at s->path is still the one resolved. */
static bool linux_still_there(const struct linux_src *s)
{
	char text[64], real[LINUX_PATH_MAX];

	if (s->check[0] && (!linux_read_text(s->check, text, sizeof(text)) ||
			    strcmp(text, s->chip) != 0))
		return false;
	if (s->devlink && (!realpath(s->devlink, real) || strcmp(real, s->device) != 0))
		return false;
	return true;
}

static void linux_close(void *ctx)
{
	struct linux_board *lb = ctx;

	if (!lb)
		return;
	for (size_t i = 0; i < TPD_PRODUCT_MAX_SENSORS; i++)
		linux_src_reset(&lb->src[i]);
	free(lb);
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

/* A source's text (note 4): from its open file, else once more by path
 * (errno ENOENT when it is gone). */
static bool linux_src_read(struct linux_src *s, char *text, size_t len)
{
	struct stat st;

	if (!s->fd_open) {
		s->fd = open(s->path, O_RDONLY | O_CLOEXEC);
		s->fd_open = s->fd >= 0;
	}
	if (s->fd_open && tpd_sysfs_pread(s->fd, text, len) && fstat(s->fd, &st) == 0 &&
	    st.st_nlink > 0)
		return true;
	linux_src_close(s);
	return linux_read_text(s->path, text, len);
}

/* CPU busy share since the previous call, from the "cpu" line of /proc/stat. */
static double linux_load(struct linux_board *lb, struct linux_src *s)
{
	char text[512];
	unsigned long long v[8] = { 0 }, busy, total = 0;
	double load;

	if (!linux_src_read(s, text, sizeof(text)) ||
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
		double now = tpd_clock_mono();

		if (now < s->retry_at)
			return NAN;
		s->retry_at = now + LINUX_RETRY_S;
		linux_resolve(lb, lb->product->sensors[i].source, s);
		if (!s->path[0])
			return NAN;
	}
	if (s->type == SRC_LOAD)
		return linux_load(lb, s);
	/* hwmonN numbers are not stable: a different chip may now sit there
	 * (the open file follows its own; the path is checked now and then) */
	if (tpd_clock_mono() >= s->check_at) {
		s->check_at = tpd_clock_mono() + LINUX_RETRY_S;
		if (!linux_still_there(s)) {
			linux_resolve(lb, lb->product->sensors[i].source, s);
			if (!s->path[0])
				return NAN;
		}
	}
	if (!linux_src_read(s, text, sizeof(text))) {
		if (errno == ENOENT)
			s->path[0] = '\0';   /* renumbered or gone: look it up again */
		return NAN;
	}
	if (s->type == SRC_RPI)
		return linux_number(text, 16, &raw) ? (double)(((unsigned long long)raw >> s->bit) & 1u)
						   : NAN;
	return linux_number(text, 10, &raw) ? raw / s->div : NAN;
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

