/*
 * tpsim_gen.c - a labelled synthetic fleet for the evaluation (tpsim
 * --generate): one SPEC §5 trace per device and labels.csv saying which
 * devices fail, when, and with which fault class.
 *
 * Healthy devices carry the confounders a forecast must not take for wear:
 * daily and weekly load rhythms (all of them), a heat wave, a week of heavy
 * load, a one-off grid dip, sensor glitches (implausible readings, failed
 * reads). Failing devices wear out at varied rates so they fail between day
 * 12 and day 28: a fan bearing (router), dust in the heat sink, an ageing
 * adapter (rail sag under load and under-voltage flags growing).
 *
 * The physics is deliberately simple and the same for every device of a
 * model, up to per-device offsets and noise: ambient follows the day (and a
 * heat wave), the board sits above ambient by load, the CPU above the board by
 * load, heat-sink resistance (dust, a slow fan) and its own offset; the fan
 * speeds up with CPU temperature; the rail sags with current.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tpd/product.h"
#include "tpsim.h"

enum gen_scenario {
	GEN_RHYTHM, GEN_HEAT_WAVE, GEN_HEAVY_WEEK, GEN_GRID_DIP, GEN_GLITCHES,
	GEN_FAN_WEAR, GEN_DUST, GEN_ADAPTER, GEN_SCENARIOS
};

static const struct {
	const char *name;
	const char *cls;       /* claim category a failure belongs to; NULL: healthy */
	const char *code;      /* the fault that is the failure */
} gen_scenarios[GEN_SCENARIOS] = {
	[GEN_RHYTHM] = { "rhythm", NULL, NULL },
	[GEN_HEAT_WAVE] = { "heat_wave", NULL, NULL },
	[GEN_HEAVY_WEEK] = { "heavy_week", NULL, NULL },
	[GEN_GRID_DIP] = { "grid_dip", NULL, NULL },
	[GEN_GLITCHES] = { "sensor_glitches", NULL, NULL },
	[GEN_FAN_WEAR] = { "fan_wear", "thermal", "FAN_STALL" },
	[GEN_DUST] = { "dust", "thermal", "TEMP_CRITICAL" },
	[GEN_ADAPTER] = { "adapter_ageing", "power", "PWR_UNDERVOLT" },
};

/* How far past the failure point wear goes (1 = the failure day's level). */
#define GEN_WEAR_MAX 1.15

/* The generator's own PRNG (xorshift64*): the fleet depends on --seed only. */
static double gen_uniform(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (double)((*s * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

static double gen_between(uint64_t *s, double lo, double hi)
{
	return lo + (hi - lo) * gen_uniform(s);
}

/* One device's parameters. */
struct gen_device {
	enum gen_scenario sc;
	double t_off, amb_off, load_off;  /* per-device offsets */
	double fail_day;                  /* wear reaches its limit about then */
	double wave_day, heavy_day, dip_s;
	double wear_start;                /* day the wear begins */
	double dust_total_c;              /* dust's extra rise on the failure day */
};

struct gen_state {
	double fan_wear;                  /* fraction of speed lost */
	double dust_c;                    /* extra heat-sink rise, C */
	double sag_v;                     /* extra rail sag at full current, V */
	bool glitched[TPD_PRODUCT_MAX_SENSORS]; /* this sensor's previous row was a glitch */
};

static bool gen_has_fan(const struct tpd_product *p)
{
	for (size_t i = 0; i < p->nsensors; i++)
		if (p->sensors[i].kind == TPD_KIND_FAN)
			return true;
	return false;
}

static const char *gen_col(const struct tpd_product *p, size_t i)
{
	return p->sensors[i].id;
}

/* One sample of every sensor of p at t_s (seconds since the start). */
static void gen_sample(const struct tpd_product *p, const struct gen_device *d,
		       struct gen_state *st, uint64_t *rng, double t_s, double dt_s, double *v,
		       bool *failed)
{
	double day = t_s / 86400.0, hour = fmod(day, 1.0) * 24;
	int dow = (int)day % 7;
	double load, amb, board, cpu, rpm = 0, curr, vin, worn = day - d->wear_start;
	double uv_p = 1.0 / (20 * 288.0);   /* a flag every ~20 days */
	bool fan = gen_has_fan(p);

	load = 0.42 + d->load_off + 0.38 * sin(2 * M_PI * (hour - 14) / 24.0) *
	       (dow >= 5 ? 0.55 : 1.0) + gen_between(rng, -0.05, 0.05);
	if (d->sc == GEN_HEAVY_WEEK && day >= d->heavy_day && day < d->heavy_day + 7)
		load = 0.9 + gen_between(rng, -0.04, 0.04);
	load = fmin(fmax(load, 0.0), 1.0);
	amb = 23 + d->amb_off + 3 * sin(2 * M_PI * (hour - 15) / 24.0) + gen_between(rng, -0.2, 0.2);
	if (d->sc == GEN_HEAT_WAVE && day >= d->wave_day && day < d->wave_day + 4)
		amb += 10 * sin(M_PI * (day - d->wave_day) / 4);
	if (worn > 0) {
		/* 1 at the failure day; the wear then stays a little past its limit
		 * (a dead fan, a clogged sink) instead of growing without bound into
		 * readings no sensor could give */
		double f = fmin(worn / (d->fail_day - d->wear_start), GEN_WEAR_MAX);

		if (d->sc == GEN_FAN_WEAR)
			st->fan_wear = fmin(1.0, 0.88 * f * f);
		else if (d->sc == GEN_DUST)
			st->dust_c = d->dust_total_c * f;
		else if (d->sc == GEN_ADAPTER)
			st->sag_v = 0.45 * f;
	}
	board = amb + 8 + 6 * load;
	/* a slowing fan moves less air: the CPU runs hotter */
	cpu = board + 6 + d->t_off + 20 * load + st->dust_c + (fan ? 14 * st->fan_wear : 0) +
	      gen_between(rng, -0.4, 0.4);
	curr = 0.6 + 0.9 * load + gen_between(rng, -0.02, 0.02);
	vin = 12.1 - 0.2 * curr - st->sag_v * curr / 1.5 + gen_between(rng, -0.01, 0.01);
	if (d->sc == GEN_ADAPTER && worn > 0)
		uv_p += 0.02 * pow(fmin(worn / (d->fail_day - d->wear_start), GEN_WEAR_MAX), 3);
	*failed = false;
	for (size_t i = 0; i < p->nsensors; i++) {
		const struct tpd_sensor_desc *s = &p->sensors[i];

		switch (s->kind) {
		case TPD_KIND_TEMP:
			v[i] = strcmp(s->id, "temp.cpu") == 0 ? cpu : strstr(s->id, "disk")
			       ? amb + 12 + 5 * load : board;
			if (!isnan(s->crit) && strcmp(s->id, "temp.cpu") == 0 && cpu >= s->crit)
				*failed |= d->sc == GEN_DUST;
			break;
		case TPD_KIND_FAN:
			rpm = cpu > 45 ? (2600 + 45 * (cpu - 45)) * (1 - st->fan_wear) +
				     gen_between(rng, -30, 30) : 0;
			v[i] = fmax(rpm, 0);
			if (cpu > 45 && v[i] < s->stall_rpm)
				*failed |= d->sc == GEN_FAN_WEAR;
			break;
		case TPD_KIND_VOLT:
			v[i] = vin;
			if (!isnan(s->min) && vin < s->min)
				*failed |= d->sc == GEN_ADAPTER;
			break;
		case TPD_KIND_CURR:
			v[i] = curr;
			break;
		case TPD_KIND_LOAD:
			v[i] = load;
			break;
		case TPD_KIND_EVENT:
			v[i] = strcmp(s->id, "event.undervoltage") == 0 && gen_uniform(rng) < uv_p;
			break;
		default:
			v[i] = NAN;
		}
	}
	/* a one-off grid dip: one reading of a sagged rail, with its flag */
	if (d->sc == GEN_GRID_DIP && t_s >= d->dip_s && t_s < d->dip_s + dt_s) {
		for (size_t i = 0; i < p->nsensors; i++) {
			if (p->sensors[i].kind == TPD_KIND_VOLT)
				v[i] = 11.0;
			if (p->sensors[i].kind == TPD_KIND_EVENT)
				v[i] = 1;
		}
	}
	/* single glitches: never two rows in a row for one sensor, since two
	 * failed reads a period apart are a sensor failing, not a glitch */
	if (d->sc == GEN_GLITCHES) {
		for (size_t i = 0; i < p->nsensors; i++) {
			double u = gen_uniform(rng);
			bool was = st->glitched[i];

			st->glitched[i] = false;
			if (was)
				continue;
			if (u < 0.003)
				v[i] = NAN;                     /* a failed read */
			else if (u < 0.004 && p->sensors[i].kind == TPD_KIND_TEMP)
				v[i] = 400;                     /* an implausible one */
			else
				continue;
			st->glitched[i] = true;
		}
	}
}

static void gen_cell(FILE *f, double v, enum tpd_sensor_kind kind)
{
	if (isnan(v))
		fputc(',', f);
	else if (kind == TPD_KIND_EVENT)
		fprintf(f, ",%d", v >= 0.5);
	else if (kind == TPD_KIND_FAN)
		fprintf(f, ",%.0f", v);
	else
		fprintf(f, ",%.3f", v);
}

/* The scenario of device i: a fixed share of each, shuffled by the seed. */
static enum gen_scenario gen_pick(unsigned i, const struct tpd_product *p)
{
	static const enum gen_scenario order[] = {
		GEN_RHYTHM, GEN_FAN_WEAR, GEN_HEAT_WAVE, GEN_DUST, GEN_HEAVY_WEEK, GEN_ADAPTER,
		GEN_GRID_DIP, GEN_GLITCHES, GEN_RHYTHM, GEN_FAN_WEAR,
	};
	enum gen_scenario sc = order[i % (sizeof(order) / sizeof(order[0]))];

	if (sc == GEN_FAN_WEAR && !gen_has_fan(p))
		sc = GEN_DUST;
	return sc;
}

int tpsim_generate(const struct tpsim_gen_cfg *cfg)
{
	struct tpd_product prods[2];
	const char *models[2] = { "archer-ax55", "deco-x50" };
	char path[4096], err[512];
	uint64_t rng = cfg->seed * 0x9E3779B97F4A7C15ull + 1;
	FILE *labels;

	for (int m = 0; m < 2; m++) {
		if (tpd_product_resolve(models[m], cfg->board_dirs, path, sizeof(path)) ||
		    tpd_product_load(path, &prods[m], err, sizeof(err))) {
			fprintf(stderr, "tpsim: %s: no usable description (%s)\n", models[m],
				tpd_product_resolve(models[m], cfg->board_dirs, path, sizeof(path))
				? "not found" : err);
			return 1;
		}
	}
	if (mkdir(cfg->dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "tpsim: %s: %s\n", cfg->dir, strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/labels.csv", cfg->dir);
	labels = fopen(path, "w");
	if (!labels) {
		fprintf(stderr, "tpsim: %s: %s\n", path, strerror(errno));
		return 1;
	}
	fprintf(labels, "device,model,scenario,fails,class,code,fail_t_s\n");
	for (unsigned i = 0; i < cfg->devices; i++) {
		/* two routers for each mesh node */
		const struct tpd_product *p = &prods[i % 3 == 2];
		struct gen_device d = { 0 };
		struct gen_state st = { 0 };
		double v[TPD_PRODUCT_MAX_SENSORS], fail_t = NAN, end = cfg->days * 86400.0;
		char id[32];
		FILE *f;

		snprintf(id, sizeof(id), "TPS%05u", i + 1);
		d.sc = gen_pick(i, p);
		d.t_off = gen_between(&rng, -3, 3);
		d.amb_off = gen_between(&rng, -2, 2);
		d.load_off = gen_between(&rng, -0.08, 0.08);
		d.fail_day = gen_between(&rng, 12, 28);
		d.wear_start = gen_between(&rng, 0, 4);
		d.wave_day = gen_between(&rng, 5, cfg->days - 5);
		d.heavy_day = gen_between(&rng, 4, cfg->days - 8);
		d.dip_s = gen_between(&rng, 3, cfg->days - 1) * 86400.0;
		/* enough to bring a busy hour to the critical limit on the failure day */
		{
			int cpu = tpd_product_find(p, "temp.cpu");

			d.dust_total_c = (cpu >= 0 && !isnan(p->sensors[cpu].crit)
					  ? p->sensors[cpu].crit : 100) - 59 - d.t_off;
		}
		snprintf(path, sizeof(path), "%s/%s.csv", cfg->dir, id);
		f = fopen(path, "w");
		if (!f) {
			fprintf(stderr, "tpsim: %s: %s\n", path, strerror(errno));
			fclose(labels);
			return 1;
		}
		fprintf(f, "# model: %s\n# tpsim --generate, seed %llu: %s\nt_s", p->model,
			(unsigned long long)cfg->seed, gen_scenarios[d.sc].name);
		for (size_t k = 0; k < p->nsensors; k++)
			fprintf(f, ",%s", gen_col(p, k));
		fputc('\n', f);
		for (double t = 0; t < end; t += cfg->period_s) {
			bool failed;

			gen_sample(p, &d, &st, &rng, t, cfg->period_s, v, &failed);
			if (failed && isnan(fail_t))
				fail_t = t;
			fprintf(f, "%.0f", t);
			for (size_t k = 0; k < p->nsensors; k++)
				gen_cell(f, v[k], p->sensors[k].kind);
			fputc('\n', f);
		}
		if (fclose(f) != 0) {
			fprintf(stderr, "tpsim: %s: %s\n", path, strerror(errno));
			fclose(labels);
			return 1;
		}
		fprintf(labels, "%s,%s,%s,%d,%s,%s,", id, p->model, gen_scenarios[d.sc].name,
			gen_scenarios[d.sc].cls != NULL, gen_scenarios[d.sc].cls ? gen_scenarios[d.sc].cls : "",
			gen_scenarios[d.sc].code ? gen_scenarios[d.sc].code : "");
		if (!isnan(fail_t))
			fprintf(labels, "%.0f", fail_t);
		fputc('\n', labels);
		if (gen_scenarios[d.sc].cls && isnan(fail_t))
			fprintf(stderr, "tpsim: %s (%s) does not fail within %u days\n", id,
				gen_scenarios[d.sc].name, cfg->days);
	}
	if (fclose(labels) != 0) {
		fprintf(stderr, "tpsim: labels.csv: %s\n", strerror(errno));
		return 1;
	}
	fprintf(stderr, "tpsim: %u devices x %u days written to %s (labels.csv)\n", cfg->devices,
		cfg->days, cfg->dir);
	return 0;
}
