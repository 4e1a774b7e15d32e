/*
 * board_linux_probe.c - `tpdiagd --probe [--json]`: what the kernel offers,
 * and a product description that reads it.
 *
 * Layout: collecting entries (hwmon chips, thermal zones, power supplies,
 * the Raspberry Pi firmware flags), naming them, then the two outputs.
 *
 * Design notes:
 * 1. Every entry's source is one the linux board resolves to that very
 *    entry (board_linux.c): CHIP[N] whenever a chip name repeats, a
 *    name-less chip by its device (sysfs.h), a channel by its label only
 *    when that label is unique on the chip, TYPE[N] for repeated zones.
 * 2. The description loads as printed (tests/test_board_linux.c parses it
 *    and reads the fixture with it): ids are unique SPEC §4 names made from
 *    the source, limits come from the kernel's own (hwmon *_min/_max/_crit,
 *    thermal trip points, power_supply *_design and *_max), dropped where
 *    the product parser would refuse them or where they are the driver's
 *    "unset" (outside the kind's plausible range, a trip at 0 °C), and
 *    entries are sorted by source, so two probes of one product compare.
 * 3. A description holds at most TPD_PRODUCT_MAX_SENSORS: the first ones by
 *    source, and the listing says how many were left out.
 */
#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "tpd/board.h"
#include "sysfs.h"

#define PROBE_MAX 256

struct probe_entry {
	char source[160];
	char id[TPD_SENSOR_NAME_MAX];
	char name[96];             /* what the id is made from */
	enum tpd_sensor_kind kind;
	double value;              /* SPEC §4 unit; NAN: unreadable */
	double min, max, crit, lcrit; /* the kernel's limits, same unit; NAN: none */
};

struct probe {
	struct probe_entry *e;
	size_t n, dropped;
	const char *root;
};

static struct probe_entry *probe_add(struct probe *p, enum tpd_sensor_kind kind)
{
	struct probe_entry *e;

	if (p->n >= PROBE_MAX) {
		p->dropped++;
		return NULL;
	}
	e = &p->e[p->n++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->value = e->min = e->max = e->crit = e->lcrit = NAN;
	return e;
}

/* A file's number divided by div; NAN when absent or garbled. */
static double probe_num(const char *dir, const char *file, double div)
{
	char path[TPD_SYSFS_PATH_MAX], text[64];
	double v;

	if (!tpd_sysfs_fmt(path, sizeof(path), "%s/%s", dir, file) ||
	    !tpd_sysfs_read(path, text, sizeof(text)) || !tpd_sysfs_number(text, 10, &v))
		return NAN;
	return v / div;
}

static enum tpd_sensor_kind probe_hwmon_kind(const char *chan)
{
	if (strncmp(chan, "temp", 4) == 0)
		return TPD_KIND_TEMP;
	if (strncmp(chan, "in", 2) == 0)
		return TPD_KIND_VOLT;
	if (strncmp(chan, "curr", 4) == 0)
		return TPD_KIND_CURR;
	if (strncmp(chan, "power", 5) == 0)
		return TPD_KIND_POWER;
	return TPD_KIND_FAN;
}

/* The channel's label when no other channel of the chip carries it. */
static bool probe_label_unique(const char *dir, const char *label)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	unsigned n = 0;

	while (d && (de = readdir(d))) {
		char path[TPD_SYSFS_PATH_MAX], text[128];
		size_t len = strlen(de->d_name);

		if (len < 7 || strcmp(de->d_name + len - 6, "_label") != 0)
			continue;
		tpd_sysfs_fmt(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (tpd_sysfs_read(path, text, sizeof(text)) && strcmp(text, label) == 0)
			n++;
	}
	if (d)
		closedir(d);
	return n == 1;
}

static void probe_chip(struct probe *p, const struct tpd_sysfs_chip *c)
{
	DIR *d = opendir(c->dir);
	struct dirent *de;
	char spec[96];

	tpd_sysfs_chip_spec(c, spec, sizeof(spec));
	while (d && (de = readdir(d))) {
		char chan[64], label[128], path[TPD_SYSFS_PATH_MAX], file[96];
		size_t n = strlen(de->d_name);
		struct probe_entry *e;
		double div;

		if (n > 6 && strcmp(de->d_name + n - 6, "_input") == 0) {
			tpd_sysfs_fmt(chan, sizeof(chan), "%.*s", (int)(n - 6), de->d_name);
		} else if (n > 8 && strncmp(de->d_name, "power", 5) == 0 &&
			   strcmp(de->d_name + n - 8, "_average") == 0) {
			/* power meters that report only an average (acpi_power_meter) */
			tpd_sysfs_fmt(chan, sizeof(chan), "%.*s", (int)(n - 8), de->d_name);
			tpd_sysfs_fmt(path, sizeof(path), "%s/%s_input", c->dir, chan);
			if (access(path, F_OK) == 0)
				continue;
		} else {
			continue;
		}
		div = tpd_sysfs_hwmon_div(chan);
		if (div == 0)
			continue;
		e = probe_add(p, probe_hwmon_kind(chan));
		if (!e)
			break;
		tpd_sysfs_fmt(path, sizeof(path), "%s/%s_label", c->dir, chan);
		if (!tpd_sysfs_read(path, label, sizeof(label)) || !label[0] ||
		    tpd_sysfs_hwmon_div(label) != 0 || strlen(spec) + strlen(label) + 8 > 95 ||
		    !probe_label_unique(c->dir, label))
			tpd_sysfs_fmt(label, sizeof(label), "%s", chan);
		tpd_sysfs_fmt(e->source, sizeof(e->source), "hwmon:%s/%s", spec, label);
		tpd_sysfs_fmt(e->name, sizeof(e->name), "%s_%s", spec, label);
		e->value = probe_num(c->dir, de->d_name, div);
		tpd_sysfs_fmt(file, sizeof(file), "%s_min", chan);
		e->min = probe_num(c->dir, file, div);
		tpd_sysfs_fmt(file, sizeof(file), "%s_max", chan);
		e->max = probe_num(c->dir, file, div);
		tpd_sysfs_fmt(file, sizeof(file), "%s_crit", chan);
		e->crit = probe_num(c->dir, file, div);
		tpd_sysfs_fmt(file, sizeof(file), "%s_lcrit", chan);
		e->lcrit = probe_num(c->dir, file, div);
	}
	if (d)
		closedir(d);
}

/* Trip points (Documentation/driver-api/thermal/sysfs-api.rst): the
 * critical one is crit, a hot one (else the lowest passive one) max. A
 * trip at or below 0 °C is a driver's "none" (x86_pkg_temp). */
static void probe_zone(struct probe *p, const struct tpd_sysfs_zone *z)
{
	struct probe_entry *e = probe_add(p, TPD_KIND_TEMP);
	double hot = NAN, passive = NAN;

	if (!e)
		return;
	if (z->same > 1) {
		tpd_sysfs_fmt(e->source, sizeof(e->source), "thermal:%s[%u]", z->type, z->nth);
		tpd_sysfs_fmt(e->name, sizeof(e->name), "%s%u", z->type, z->nth);
	} else {
		tpd_sysfs_fmt(e->source, sizeof(e->source), "thermal:%s", z->type);
		tpd_sysfs_fmt(e->name, sizeof(e->name), "%s", z->type);
	}
	e->value = probe_num(z->dir, "temp", 1e3);
	for (int k = 0; k < 32; k++) {
		char file[64], path[TPD_SYSFS_PATH_MAX], type[32];
		double t;

		tpd_sysfs_fmt(file, sizeof(file), "trip_point_%d_temp", k);
		t = probe_num(z->dir, file, 1e3);
		tpd_sysfs_fmt(path, sizeof(path), "%s/trip_point_%d_type", z->dir, k);
		if (!tpd_sysfs_read(path, type, sizeof(type)))
			break;
		if (isnan(t) || t <= 0)
			continue;
		if (strcmp(type, "critical") == 0)
			e->crit = isnan(e->crit) ? t : fmin(e->crit, t);
		else if (strcmp(type, "hot") == 0)
			hot = isnan(hot) ? t : fmin(hot, t);
		else if (strcmp(type, "passive") == 0)
			passive = isnan(passive) ? t : fmin(passive, t);
	}
	e->max = !isnan(hot) ? hot : passive;
}

/* power_supply (ABI/testing/sysfs-class-power): µV, µA, µW, tenths of °C. */
static void probe_supplies(struct probe *p)
{
	static const struct {
		const char *attr, *short_name, *min, *max, *crit;
		enum tpd_sensor_kind kind;
		double div;
	} attrs[] = {
		{ "voltage_now", "voltage", "voltage_min_design", "voltage_max_design", NULL,
		  TPD_KIND_VOLT, 1e6 },
		{ "current_now", "current", NULL, "current_max", NULL, TPD_KIND_CURR, 1e6 },
		{ "power_now", "power", NULL, NULL, NULL, TPD_KIND_POWER, 1e6 },
		{ "temp", "temp", NULL, "temp_alert_max", "temp_max", TPD_KIND_TEMP, 10 },
	};
	char classdir[TPD_SYSFS_PATH_MAX], dir[TPD_SYSFS_PATH_MAX];
	struct dirent *de;
	DIR *d;

	tpd_sysfs_fmt(classdir, sizeof(classdir), "%s/class/power_supply", p->root);
	d = opendir(classdir);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' || strchr(de->d_name, '/'))
			continue;
		tpd_sysfs_fmt(dir, sizeof(dir), "%s/%s", classdir, de->d_name);
		for (size_t k = 0; k < sizeof(attrs) / sizeof(attrs[0]); k++) {
			double v = probe_num(dir, attrs[k].attr, attrs[k].div);
			struct probe_entry *e;

			if (isnan(v))
				continue;
			e = probe_add(p, attrs[k].kind);
			if (!e)
				break;
			tpd_sysfs_fmt(e->source, sizeof(e->source), "power_supply:%s/%s", de->d_name,
				      attrs[k].attr);
			tpd_sysfs_fmt(e->name, sizeof(e->name), "%s_%s", de->d_name, attrs[k].short_name);
			e->value = v;
			if (attrs[k].min)
				e->min = probe_num(dir, attrs[k].min, attrs[k].div);
			if (attrs[k].max)
				e->max = probe_num(dir, attrs[k].max, attrs[k].div);
			if (attrs[k].crit)
				e->crit = probe_num(dir, attrs[k].crit, attrs[k].div);
		}
	}
	if (d)
		closedir(d);
}

static void probe_rpi(struct probe *p)
{
	char path[TPD_SYSFS_PATH_MAX], text[64];
	double v;
	struct probe_entry *e;

	tpd_sysfs_fmt(path, sizeof(path), "%s/devices/platform/soc/soc:firmware/get_throttled",
		      p->root);
	if (!tpd_sysfs_read(path, text, sizeof(text)) || !tpd_sysfs_number(text, 16, &v))
		return;
	for (int bit = 0; bit <= 2; bit += 2) {
		e = probe_add(p, TPD_KIND_EVENT);
		if (!e)
			return;
		tpd_sysfs_fmt(e->source, sizeof(e->source), "rpi:%s", bit ? "throttled" : "undervoltage");
		tpd_sysfs_fmt(e->name, sizeof(e->name), "%s", bit ? "throttled" : "undervoltage");
		e->value = (double)(((unsigned long long)v >> bit) & 1u);
	}
}

static int probe_cmp(const void *a, const void *b)
{
	return strcmp(((const struct probe_entry *)a)->source, ((const struct probe_entry *)b)->source);
}

static const char *probe_kind_prefix(enum tpd_sensor_kind k)
{
	static const char *const names[TPD_KIND_COUNT] = {
		[TPD_KIND_TEMP] = "temp", [TPD_KIND_VOLT] = "volt", [TPD_KIND_CURR] = "curr",
		[TPD_KIND_POWER] = "power", [TPD_KIND_FAN] = "fan", [TPD_KIND_LOAD] = "load",
		[TPD_KIND_EVENT] = "event",
	};
	return names[k];
}

static const char *probe_unit(enum tpd_sensor_kind k)
{
	static const char *const units[TPD_KIND_COUNT] = {
		[TPD_KIND_TEMP] = "C", [TPD_KIND_VOLT] = "V", [TPD_KIND_CURR] = "A",
		[TPD_KIND_POWER] = "W", [TPD_KIND_FAN] = "rpm", [TPD_KIND_LOAD] = "",
		[TPD_KIND_EVENT] = "",
	};
	return units[k];
}

/* "coretemp[1]_Package id 0" -> "coretemp1_package_id_0", fitted to an id. */
static void probe_make_id(struct probe_entry *e, size_t room)
{
	char name[TPD_SENSOR_NAME_MAX];
	size_t n = 0;

	for (const char *s = e->name; *s && n < room; s++) {
		char ch = (char)tolower((unsigned char)*s);

		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
			name[n++] = ch;
		else if (*s != '[' && *s != ']' && n > 0 && name[n - 1] != '_')
			name[n++] = '_';
	}
	while (n > 0 && name[n - 1] == '_')
		n--;
	name[n] = '\0';
	tpd_sysfs_fmt(e->id, sizeof(e->id), "%s.%s", probe_kind_prefix(e->kind), n ? name : "x");
}

/* Unique ids in source order: a repeat gets _2, _3, ... */
static void probe_name_all(struct probe *p)
{
	for (size_t i = 0; i < p->n; i++) {
		struct probe_entry *e = &p->e[i];
		size_t room = TPD_SENSOR_NAME_MAX - 1 - strlen(probe_kind_prefix(e->kind)) - 1 - 4;
		char base[TPD_SENSOR_NAME_MAX];

		probe_make_id(e, room);
		tpd_sysfs_fmt(base, sizeof(base), "%s", e->id);
		for (unsigned k = 2; k < 1000; k++) {
			bool taken = false;

			for (size_t j = 0; j < i && !taken; j++)
				taken = strcmp(p->e[j].id, e->id) == 0;
			if (!taken)
				break;
			tpd_sysfs_fmt(e->id, sizeof(e->id), "%s_%u", base, k);
		}
	}
}

static bool probe_plausible(enum tpd_sensor_kind kind, double v)
{
	if (isnan(v))
		return false;
	switch (kind) {
	case TPD_KIND_TEMP: return v > -55 && v < 175;
	case TPD_KIND_VOLT: return v >= 0 && v < 100;
	case TPD_KIND_CURR: return v > 0 && v < 100;
	case TPD_KIND_POWER: return v > 0 && v < 5000;
	case TPD_KIND_FAN: return v > 0 && v < 30000;
	default: return false;
	}
}

/* One sensor of the description: id, source and the limits the product
 * parser takes for its kind (tpd/product.h), from the kernel's. */
static cJSON *probe_sensor_json(const struct probe_entry *e)
{
	cJSON *o = cJSON_CreateObject();
	double warn = NAN, crit = NAN, min = NAN, max = NAN, stall = NAN;
	bool ok;

	if (!o)
		return NULL;
	switch (e->kind) {
	case TPD_KIND_TEMP:
		warn = probe_plausible(e->kind, e->max) ? e->max : NAN;
		crit = probe_plausible(e->kind, e->crit) ? e->crit : NAN;
		if (!isnan(warn) && !isnan(crit) && warn >= crit)
			warn = NAN;
		break;
	case TPD_KIND_VOLT:
		min = probe_plausible(e->kind, e->min) ? e->min
		      : probe_plausible(e->kind, e->lcrit) ? e->lcrit : NAN;
		max = probe_plausible(e->kind, e->max) ? e->max
		      : probe_plausible(e->kind, e->crit) ? e->crit : NAN;
		if (!isnan(min) && !isnan(max) && min >= max)
			min = NAN;
		break;
	case TPD_KIND_CURR:
	case TPD_KIND_POWER:
		max = probe_plausible(e->kind, e->max) ? e->max
		      : probe_plausible(e->kind, e->crit) ? e->crit : NAN;
		break;
	case TPD_KIND_FAN:
		stall = probe_plausible(e->kind, e->min) ? e->min : NAN;
		break;
	default:
		break;
	}
	ok = cJSON_AddStringToObject(o, "id", e->id) && cJSON_AddStringToObject(o, "source", e->source);
	if (ok && !isnan(warn)) ok = cJSON_AddNumberToObject(o, "warn", warn) != NULL;
	if (ok && !isnan(crit)) ok = cJSON_AddNumberToObject(o, "crit", crit) != NULL;
	if (ok && !isnan(min)) ok = cJSON_AddNumberToObject(o, "min", min) != NULL;
	if (ok && !isnan(max)) ok = cJSON_AddNumberToObject(o, "max", max) != NULL;
	if (ok && !isnan(stall)) ok = cJSON_AddNumberToObject(o, "stall_rpm", stall) != NULL;
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* The product description: {"model":"probed","sensors":[...]}. NULL on
 * allocation failure. *left_out gets how many did not fit. */
static cJSON *probe_snippet(const struct probe *p, size_t *left_out)
{
	cJSON *root = cJSON_CreateObject(), *arr;
	size_t taken = 0;

	*left_out = 0;
	if (!root || !cJSON_AddStringToObject(root, "model", "probed") ||
	    !(arr = cJSON_AddArrayToObject(root, "sensors"))) {
		cJSON_Delete(root);
		return NULL;
	}
	for (size_t i = 0; i < p->n; i++) {
		cJSON *s;

		if (strlen(p->e[i].source) >= sizeof(((struct tpd_sensor_desc *)0)->source) ||
		    taken >= TPD_PRODUCT_MAX_SENSORS) {
			(*left_out)++;
			continue;
		}
		s = probe_sensor_json(&p->e[i]);
		if (!s || !cJSON_AddItemToArray(arr, s)) {
			cJSON_Delete(s);
			cJSON_Delete(root);
			return NULL;
		}
		taken++;
	}
	return root;
}

static void probe_limits_text(const struct probe_entry *e, char *buf, size_t len)
{
	const struct { const char *name; double v; } lim[] = {
		{ "lcrit", e->lcrit }, { "min", e->min }, { "max", e->max }, { "crit", e->crit },
	};
	size_t used = 0;

	buf[0] = '\0';
	for (size_t k = 0; k < sizeof(lim) / sizeof(lim[0]); k++)
		if (!isnan(lim[k].v) && used < len)
			used += (size_t)snprintf(buf + used, len - used, "%s%s=%g", used ? " " : "",
						 lim[k].name, lim[k].v);
}

static enum tpd_err probe_print_text(const struct probe *p, FILE *out)
{
	size_t left_out;
	cJSON *snip = probe_snippet(p, &left_out), *it;

	if (!snip)
		return TPD_ERR_NOMEM;
	fprintf(out, "%-44s %12s %-4s %s\n", "SOURCE", "VALUE", "UNIT", "KERNEL LIMITS");
	for (size_t i = 0; i < p->n; i++) {
		const struct probe_entry *e = &p->e[i];
		char value[32], limits[160];

		if (isnan(e->value))
			snprintf(value, sizeof(value), "unreadable");
		else
			snprintf(value, sizeof(value), "%g", e->value);
		probe_limits_text(e, limits, sizeof(limits));
		fprintf(out, "%-44s %12s %-4s %s\n", e->source, value, probe_unit(e->kind), limits);
	}
	if (p->dropped)
		fprintf(out, "(%zu more not listed: at most %d)\n", p->dropped, PROBE_MAX);
	fprintf(out, "\nProduct description (save it as boards/NAME.json and set \"model\"; it loads "
		"as it is, limits from the kernel's):\n{\n  \"model\": \"probed\",\n  \"sensors\": [\n");
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(snip, "sensors")) {
		char *one = cJSON_PrintUnformatted(it);

		if (one)
			fprintf(out, "    %s%s\n", one, it->next ? "," : "");
		cJSON_free(one);
	}
	fprintf(out, "  ]\n}\n");
	if (left_out)
		fprintf(out, "(%zu sensors left out: a product has at most %d, and a source at most "
			"%zu characters)\n", left_out, TPD_PRODUCT_MAX_SENSORS,
			sizeof(((struct tpd_sensor_desc *)0)->source) - 1);
	cJSON_Delete(snip);
	return TPD_OK;
}

/* SPEC §7: {"sensors":[{"source","kind","value","unit","min","max","crit"}],
 * "snippet":{...}}; a limit the kernel does not give is left out, an
 * unreadable value is null. */
static enum tpd_err probe_print_json(const struct probe *p, FILE *out)
{
	cJSON *root = cJSON_CreateObject(), *arr = NULL, *snip;
	size_t left_out;
	char *text;
	bool ok = root && (arr = cJSON_AddArrayToObject(root, "sensors"));

	for (size_t i = 0; ok && i < p->n; i++) {
		const struct probe_entry *e = &p->e[i];
		cJSON *o = cJSON_CreateObject();

		ok = o && cJSON_AddItemToArray(arr, o);
		if (!ok) {
			cJSON_Delete(o);
			break;
		}
		ok = cJSON_AddStringToObject(o, "source", e->source) &&
		     cJSON_AddStringToObject(o, "kind", probe_kind_prefix(e->kind)) &&
		     (isnan(e->value) ? cJSON_AddNullToObject(o, "value")
				      : cJSON_AddNumberToObject(o, "value", e->value)) &&
		     cJSON_AddStringToObject(o, "unit", probe_unit(e->kind)) &&
		     cJSON_AddStringToObject(o, "id", e->id);
		if (ok && !isnan(e->lcrit)) ok = cJSON_AddNumberToObject(o, "lcrit", e->lcrit) != NULL;
		if (ok && !isnan(e->min)) ok = cJSON_AddNumberToObject(o, "min", e->min) != NULL;
		if (ok && !isnan(e->max)) ok = cJSON_AddNumberToObject(o, "max", e->max) != NULL;
		if (ok && !isnan(e->crit)) ok = cJSON_AddNumberToObject(o, "crit", e->crit) != NULL;
	}
	snip = ok ? probe_snippet(p, &left_out) : NULL;
	if (!snip || !cJSON_AddItemToObject(root, "snippet", snip)) {
		cJSON_Delete(snip);
		cJSON_Delete(root);
		return TPD_ERR_NOMEM;
	}
	text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!text)
		return TPD_ERR_NOMEM;
	fprintf(out, "%s\n", text);
	cJSON_free(text);
	return TPD_OK;
}

enum tpd_err tpd_board_linux_probe(const char *sysfs_root, bool json, FILE *out)
{
	struct probe p = { .root = sysfs_root ? sysfs_root : "/sys" };
	struct tpd_sysfs_chip *chips = NULL;
	struct tpd_sysfs_zone *zones = NULL;
	size_t nchips = 0, nzones = 0;
	enum tpd_err rc;

	p.e = calloc(PROBE_MAX, sizeof(*p.e));
	rc = p.e ? tpd_sysfs_chips(p.root, &chips, &nchips) : TPD_ERR_NOMEM;
	if (!rc)
		rc = tpd_sysfs_zones(p.root, &zones, &nzones);
	if (rc)
		goto out;
	for (size_t i = 0; i < nchips; i++)
		probe_chip(&p, &chips[i]);
	for (size_t i = 0; i < nzones; i++)
		probe_zone(&p, &zones[i]);
	probe_supplies(&p);
	probe_rpi(&p);
	if (!p.n) {
		if (json)
			fprintf(out, "{\"sensors\":[],\"snippet\":null}\n");
		else
			fprintf(out, "(no sensors found under %s)\n", p.root);
		rc = TPD_ERR_NOTFOUND;
		goto out;
	}
	qsort(p.e, p.n, sizeof(*p.e), probe_cmp);
	probe_name_all(&p);
	rc = json ? probe_print_json(&p, out) : probe_print_text(&p, out);
out:
	free(chips);
	free(zones);
	free(p.e);
	return rc;
}
