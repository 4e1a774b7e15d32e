/*
 * sysfs.c - the kernel's hwmon chips and thermal zones, listed by identity
 * (sysfs.h says which). Small file readers first, then chips, then zones.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sysfs.h"

bool tpd_sysfs_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n >= 0 && (size_t)n < len;
}

/* The text read into buf, trailing white space cut. */
static bool sysfs_text(ssize_t n, char *buf)
{
	if (n < 0)
		return false;
	buf[n] = '\0';
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
	return true;
}

bool tpd_sysfs_read(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, len - 1);
	close(fd);
	return sysfs_text(n, buf);
}

bool tpd_sysfs_pread(int fd, char *buf, size_t len)
{
	return sysfs_text(pread(fd, buf, len - 1, 0), buf);
}

bool tpd_sysfs_number(const char *s, int base, double *out)
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

double tpd_sysfs_hwmon_div(const char *chan)
{
	static const struct { const char *prefix; double div; } types[] = {
		{ "temp", 1e3 }, { "in", 1e3 }, { "curr", 1e3 }, { "power", 1e6 }, { "fan", 1.0 },
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t n = strlen(types[i].prefix);

		if (strncmp(chan, types[i].prefix, n) == 0 && chan[n] && isdigit((unsigned char)chan[n]) &&
		    strspn(chan + n, "0123456789") == strlen(chan + n))
			return types[i].div;
	}
	return 0;
}

/* An identity must survive being written as a source ("hwmon:ID[N]/X"). */
static void sysfs_clean_ident(char *s)
{
	for (; *s; s++)
		if (*s == '/' || *s == '[' || *s == ']' || isspace((unsigned char)*s) ||
		    (unsigned char)*s < 0x20)
			*s = '_';
}

/* Fills c for ROOT/class/hwmon/entry; false when it is no chip. */
static bool sysfs_chip_one(const char *classdir, const char *entry, struct tpd_sysfs_chip *c)
{
	char path[TPD_SYSFS_PATH_MAX], dev[TPD_SYSFS_PATH_MAX];

	memset(c, 0, sizeof(*c));
	if (!tpd_sysfs_fmt(c->hwmon, sizeof(c->hwmon), "%s/%s", classdir, entry) ||
	    !tpd_sysfs_fmt(dev, sizeof(dev), "%s/device", c->hwmon))
		return false;
	if (!realpath(dev, c->device))
		c->device[0] = '\0';
	tpd_sysfs_fmt(path, sizeof(path), "%s/name", c->hwmon);
	if (tpd_sysfs_read(path, c->ident, sizeof(c->ident)) && c->ident[0]) {
		tpd_sysfs_fmt(c->dir, sizeof(c->dir), "%s", c->hwmon);
		c->named = true;
	} else {
		tpd_sysfs_fmt(path, sizeof(path), "%s/name", dev);
		if (tpd_sysfs_read(path, c->ident, sizeof(c->ident)) && c->ident[0]) {
			/* an old kernel's layout: name and attributes on the device */
			tpd_sysfs_fmt(c->dir, sizeof(c->dir), "%s", dev);
			c->named = true;
		} else {
			const char *base = strrchr(c->device, '/');

			tpd_sysfs_fmt(c->dir, sizeof(c->dir), "%s", c->hwmon);
			tpd_sysfs_fmt(c->ident, sizeof(c->ident), "%s",
				      base && base[1] ? base + 1 : entry);
		}
	}
	sysfs_clean_ident(c->ident);
	return true;
}

static long sysfs_num_suffix(const char *s)
{
	while (*s && !isdigit((unsigned char)*s))
		s++;
	return strtol(s, NULL, 10);
}

static int sysfs_chip_cmp(const void *a, const void *b)
{
	const struct tpd_sysfs_chip *x = a, *y = b;
	int c = strcmp(x->ident, y->ident);

	if (!c)
		c = strcmp(x->device, y->device);
	if (!c) {
		long p = sysfs_num_suffix(strrchr(x->hwmon, '/')), q = sysfs_num_suffix(strrchr(y->hwmon, '/'));

		c = (p > q) - (p < q);
	}
	return c;
}

enum tpd_err tpd_sysfs_chips(const char *root, struct tpd_sysfs_chip **out, size_t *n)
{
	char classdir[TPD_SYSFS_PATH_MAX];
	struct tpd_sysfs_chip *chips = NULL;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	*n = 0;
	tpd_sysfs_fmt(classdir, sizeof(classdir), "%s/class/hwmon", root);
	d = opendir(classdir);
	if (!d)
		return TPD_OK;
	chips = malloc(TPD_SYSFS_MAX_CHIPS * sizeof(*chips));
	if (!chips) {
		closedir(d);
		return TPD_ERR_NOMEM;
	}
	while (*n < TPD_SYSFS_MAX_CHIPS && (de = readdir(d))) {
		if (strncmp(de->d_name, "hwmon", 5) == 0 && sysfs_chip_one(classdir, de->d_name, &chips[*n]))
			(*n)++;
	}
	closedir(d);
	qsort(chips, *n, sizeof(*chips), sysfs_chip_cmp);
	for (size_t i = 0, j; i < *n; i = j) {
		for (j = i; j < *n && strcmp(chips[j].ident, chips[i].ident) == 0; j++)
			chips[j].nth = (unsigned)(j - i);
		for (size_t k = i; k < j; k++)
			chips[k].same = (unsigned)(j - i);
	}
	*out = chips;
	return TPD_OK;
}

void tpd_sysfs_chip_spec(const struct tpd_sysfs_chip *c, char *buf, size_t len)
{
	if (c->same > 1)
		tpd_sysfs_fmt(buf, len, "%s[%u]", c->ident, c->nth);
	else
		tpd_sysfs_fmt(buf, len, "%s", c->ident);
}

static int sysfs_zone_cmp(const void *a, const void *b)
{
	const struct tpd_sysfs_zone *x = a, *y = b;
	int c = strcmp(x->type, y->type);

	return c ? c : (x->num > y->num) - (x->num < y->num);
}

enum tpd_err tpd_sysfs_zones(const char *root, struct tpd_sysfs_zone **out, size_t *n)
{
	char classdir[TPD_SYSFS_PATH_MAX], path[TPD_SYSFS_PATH_MAX];
	struct tpd_sysfs_zone *zones;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	*n = 0;
	tpd_sysfs_fmt(classdir, sizeof(classdir), "%s/class/thermal", root);
	d = opendir(classdir);
	if (!d)
		return TPD_OK;
	zones = malloc(TPD_SYSFS_MAX_ZONES * sizeof(*zones));
	if (!zones) {
		closedir(d);
		return TPD_ERR_NOMEM;
	}
	while (*n < TPD_SYSFS_MAX_ZONES && (de = readdir(d))) {
		struct tpd_sysfs_zone *z = &zones[*n];

		if (strncmp(de->d_name, "thermal_zone", 12) != 0 ||
		    strspn(de->d_name + 12, "0123456789") != strlen(de->d_name + 12) || !de->d_name[12])
			continue;
		memset(z, 0, sizeof(*z));
		tpd_sysfs_fmt(z->dir, sizeof(z->dir), "%s/%s", classdir, de->d_name);
		tpd_sysfs_fmt(path, sizeof(path), "%s/type", z->dir);
		if (!tpd_sysfs_read(path, z->type, sizeof(z->type)) || !z->type[0])
			continue;
		sysfs_clean_ident(z->type);
		z->num = (unsigned)strtoul(de->d_name + 12, NULL, 10);
		(*n)++;
	}
	closedir(d);
	qsort(zones, *n, sizeof(*zones), sysfs_zone_cmp);
	for (size_t i = 0, j; i < *n; i = j) {
		for (j = i; j < *n && strcmp(zones[j].type, zones[i].type) == 0; j++)
			zones[j].nth = (unsigned)(j - i);
		for (size_t k = i; k < j; k++)
			zones[k].same = (unsigned)(j - i);
	}
	*out = zones;
	return TPD_OK;
}
