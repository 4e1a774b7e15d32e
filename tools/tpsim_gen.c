/*
 * tpsim_gen.c - a labelled synthetic fleet for the evaluation (tpsim
 * --generate): one SPEC §5 trace per device and labels.csv saying which
 * devices fail, when, how their wear grew and when a warning limit was first
 * crossed.
 *
 * The point is a fleet that does not flatter the detectors: each device's
 * physics is drawn from families (README "The evaluation fleet" lists them
 * with their ranges), so a detector tuned on one draw (--mix tune) is scored
 * on devices it has not seen (--mix test: other proportions, not only another
 * seed).
 *
 * Physics, per device and sample:
 *   load     daily and weekly rhythm (+ a busy week)
 *   ambient  room temperature: a daily swing, seasonal drift, a hot cupboard
 *            step, a heat wave; capped at a room's worst (GEN_AMB_CAP_C)
 *   temp.cpu ambient + P_soc * R_th, R_th = (R_sink + R_conv / (0.15 + airflow))
 *            * (1 + dust) with a fan, R_sink * (1 + dust) without; first-order
 *            lag towards that equilibrium
 *   fan      PWM duty rises with temp.cpu (per-device curve), rpm = duty *
 *            max_rpm * (1 - bearing wear); airflow = rpm / max_rpm. The loop
 *            is solved for its equilibrium each sample (bisection), so dust
 *            means more heat and more rpm, a worn bearing less rpm at the same
 *            duty and then more heat
 *   board    ambient + c * (temp.cpu - ambient) + own offset, c in 0..1: there
 *            is no true ambient sensor
 *   vin      Voc - R_int * I with I = P_sys / vin; an ageing adapter's R_int
 *            grows; under-voltage flags come faster as vin nears the minimum
 * What the agent reads is that plus noise, a firmware offset, glitches.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tpd/product.h"
#include "tpsim.h"

#define GEN_DAY_S 86400.0
#define GEN_AMB_CAP_C 35.0        /* a hot cupboard in a heat wave, not an oven */
#define GEN_WEAR_MAX 1.15         /* wear stays a little past its failure level */
#define GEN_MAX_GAPS 3
#define GEN_MAX_REBOOTS 3
#define GEN_HEALTHY_TRIES 8       /* draws of a device before one over a limit not its own is kept */

enum gen_scenario {
	/* healthy: each names the confounder the device surely has */
	GEN_RHYTHM, GEN_CUPBOARD, GEN_FIRMWARE, GEN_SEASONAL, GEN_HEAT_WAVE, GEN_BUSY_WEEK,
	GEN_GLITCHES, GEN_GRID_DIP,
	/* wear: failing, or degrading when the failure falls after the trace */
	GEN_FAN_WEAR, GEN_DUST, GEN_ADAPTER, GEN_SCENARIOS
};
#define GEN_HEALTHY_KINDS GEN_FAN_WEAR

static const struct {
	const char *name;
	const char *cls;       /* claim category its failure belongs to; NULL: healthy */
	const char *code;      /* the fault that is the failure */
} gen_scenarios[GEN_SCENARIOS] = {
	[GEN_RHYTHM] = { "rhythm", NULL, NULL },
	[GEN_CUPBOARD] = { "hot_cupboard", NULL, NULL },
	[GEN_FIRMWARE] = { "firmware_offset", NULL, NULL },
	[GEN_SEASONAL] = { "seasonal_drift", NULL, NULL },
	[GEN_HEAT_WAVE] = { "heat_wave", NULL, NULL },
	[GEN_BUSY_WEEK] = { "busy_week", NULL, NULL },
	[GEN_GLITCHES] = { "sensor_glitches", NULL, NULL },
	[GEN_GRID_DIP] = { "grid_dip", NULL, NULL },
	[GEN_FAN_WEAR] = { "fan_wear", "thermal", "FAN_STALL" },
	[GEN_DUST] = { "dust", "thermal", "TEMP_CRITICAL" },
	[GEN_ADAPTER] = { "adapter_ageing", "power", "PWR_UNDERVOLT" },
};

enum gen_family { GEN_LINEAR, GEN_POWER, GEN_EXP, GEN_STEP_RAMP, GEN_FAMILIES };
static const char *const gen_family_names[GEN_FAMILIES] = {
	"linear", "power", "exponential", "step_ramp",
};

static const double gen_periods[] = { 10, 30, 60, 120, 300 };
#define GEN_NPERIODS (sizeof(gen_periods) / sizeof(gen_periods[0]))

/* A fleet's proportions. The tune and test mixes differ in what they stress,
 * so a detector that fits the tuning fleet's shapes shows it on the test. */
struct gen_mix {
	const char *name;
	double healthy, fan, dust, adapter;   /* shares of devices */
	double family[GEN_FAMILIES];          /* shares of wear curves */
	double degrading;                     /* share of wear devices that outlast the trace */
	double confounder;                    /* chance of each extra confounder per device */
	double period[GEN_NPERIODS];          /* shares of the row periods */
	double mesh;                          /* share of deco-x50 among the non-fan devices */
};

static const struct gen_mix gen_mixes[] = {
	{ "even", 0.50, 0.20, 0.15, 0.15, { 0.25, 0.25, 0.25, 0.25 }, 0.20, 0.25,
	  { 0.2, 0.2, 0.2, 0.2, 0.2 }, 0.40 },
	/* the tuning fleet: gentle curves, few confounders, minute rows */
	{ "tune", 0.50, 0.20, 0.15, 0.15, { 0.40, 0.40, 0.10, 0.10 }, 0.15, 0.15,
	  { 0.10, 0.20, 0.40, 0.20, 0.10 }, 0.30 },
	/* the test fleet: late-steep and stepped curves, more confounders, more
	 * mesh nodes, more of the extreme periods */
	{ "test", 0.45, 0.15, 0.20, 0.20, { 0.10, 0.25, 0.35, 0.30 }, 0.30, 0.40,
	  { 0.25, 0.15, 0.15, 0.20, 0.25 }, 0.50 },
};

bool tpsim_gen_mix_known(const char *name)
{
	for (size_t i = 0; i < sizeof(gen_mixes) / sizeof(gen_mixes[0]); i++)
		if (strcmp(gen_mixes[i].name, name) == 0)
			return true;
	return false;
}

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

/* Roughly normal, sd 1 (Irwin-Hall of 4): sensor noise without long tails. */
static double gen_noise(uint64_t *s)
{
	return (gen_uniform(s) + gen_uniform(s) + gen_uniform(s) + gen_uniform(s) - 2.0) * 1.732;
}

/* Index into shares[n] drawn by weight. */
static size_t gen_weighted(uint64_t *s, const double *shares, size_t n)
{
	double total = 0, u;

	for (size_t i = 0; i < n; i++)
		total += shares[i];
	u = gen_uniform(s) * total;
	for (size_t i = 0; i + 1 < n; i++) {
		if (u < shares[i])
			return i;
		u -= shares[i];
	}
	return n - 1;
}

/* One device's parameters, drawn once. Times in s since the trace start;
 * NAN = the device does not have that confounder. */
struct gen_device {
	enum gen_scenario sc;
	const struct tpd_product *p;
	bool outlast;                     /* wear meant to fail after the trace ends */
	double period_s;
	/* wear */
	enum gen_family fam;
	double fam_k;                     /* power: exponent; exp: rate; step: step height */
	double onset_s, plan_fail_s;      /* NAN onset: no wear */
	double dust_max, bearing_max, dr_max;  /* each mode's wear at level 1 */
	/* load and room */
	double load_base, load_amp, weekend, amb0, amb_swing;
	/* heat */
	double p_idle_w, p_load_w, r_sink, r_conv, tau_s, t_off, throttle_c;
	double board_c, board_off;
	/* fan control loop */
	double max_rpm, duty_min, t_start, t_full;
	/* supply */
	double voc, r_int, sys_idle_w, sys_load_w;
	/* confounders */
	double cup_s, cup_c, fw_s, fw_temp_c, fw_rpm_scale, season_c_per_day;
	double wave_s, wave_len_s, wave_c, busy_s, busy_load, dip_s;
	bool glitches;
	double gap_s[GEN_MAX_GAPS], gap_len_s[GEN_MAX_GAPS];
	double reboot_s[GEN_MAX_REBOOTS];
	unsigned ngaps, nreboots;
};

struct gen_state {
	double cpu_c;                     /* lagged die temperature; NAN before the first row */
	double last_t;
	bool glitched[TPD_PRODUCT_MAX_SENSORS]; /* this sensor's previous row was a glitch */
	bool fail_prev;                   /* the failure condition held on the previous row */
	bool reboot_flag;                 /* the next row is the first after a reboot */
};

/* The column indices the physics writes; -1 when the product lacks one. */
struct gen_cols {
	int cpu, board, vin, curr, fan, load, uv, reboot;
};

static int gen_find(const struct tpd_product *p, const char *id)
{
	return tpd_product_find(p, id);
}

static void gen_cols_of(const struct tpd_product *p, struct gen_cols *c)
{
	c->cpu = gen_find(p, "temp.cpu");
	c->board = gen_find(p, "temp.board");
	c->vin = gen_find(p, "volt.vin");
	c->curr = gen_find(p, "curr.vin");
	c->fan = -1;
	for (size_t i = 0; i < p->nsensors; i++)
		if (p->sensors[i].kind == TPD_KIND_FAN) {
			c->fan = (int)i;
			break;
		}
	c->load = gen_find(p, "load.cpu");
	c->uv = gen_find(p, "event.undervoltage");
	c->reboot = gen_find(p, "event.reboot");
}

/* A limit of the description, or the archer-ax55's when it has none. */
static double gen_limit(int col, double want, double fallback)
{
	return col >= 0 && !isnan(want) ? want : fallback;
}

/* The wear level at t: 0 before onset, 1 at the planned failure. */
static double gen_level(const struct gen_device *d, double t_s)
{
	double u, l;

	if (isnan(d->onset_s) || t_s < d->onset_s)
		return 0;
	u = fmin((t_s - d->onset_s) / (d->plan_fail_s - d->onset_s), 1.5);
	switch (d->fam) {
	case GEN_POWER: l = pow(u, d->fam_k); break;
	case GEN_EXP: l = (exp(d->fam_k * u) - 1) / (exp(d->fam_k) - 1); break;
	case GEN_STEP_RAMP: l = d->fam_k + (1 - d->fam_k) * u; break;
	default: l = u; break;
	}
	return fmin(l, GEN_WEAR_MAX);
}

static double gen_clamp(double v, double lo, double hi)
{
	return fmin(fmax(v, lo), hi);
}

static double gen_duty(const struct gen_device *d, double cpu)
{
	return d->duty_min + (1 - d->duty_min) * gen_clamp((cpu - d->t_start) /
							     (d->t_full - d->t_start), 0, 1);
}

/* Thermal resistance SoC -> room at a fan speed (rpm), K/W. 0.15: natural
 * convection through the vents when the fan stands still. */
static double gen_rth(const struct gen_device *d, bool fan, double rpm, double dust)
{
	double r = fan ? d->r_sink + d->r_conv / (0.15 + rpm / d->max_rpm) : d->r_sink;

	return r * (1 + dust);
}

/* The control loop's equilibrium die temperature: cpu = amb + P * R(rpm(duty(cpu))).
 * The right side falls as cpu rises, so the crossing is unique; bisect it. */
static double gen_equilibrium(const struct gen_device *d, bool fan, double amb, double p_w,
			      double dust, double bearing)
{
	double lo = amb, hi = amb + p_w * gen_rth(d, fan, 0, dust) + 1;

	if (!fan)
		return amb + p_w * gen_rth(d, false, 0, dust);
	for (int i = 0; i < 40; i++) {
		double mid = (lo + hi) / 2;
		double rpm = gen_duty(d, mid) * d->max_rpm * (1 - bearing);

		if (mid - amb - p_w * gen_rth(d, true, rpm, dust) < 0)
			lo = mid;
		else
			hi = mid;
	}
	return (lo + hi) / 2;
}

static bool gen_in(double t, double from, double len)
{
	return !isnan(from) && t >= from && t < from + len;
}

static double gen_load(const struct gen_device *d, uint64_t *rng, double t_s)
{
	double day = t_s / GEN_DAY_S, hour = fmod(day, 1.0) * 24;
	int dow = (int)day % 7;
	double load = d->load_base + d->load_amp * sin(2 * M_PI * (hour - 14) / 24.0) *
		      (dow >= 5 ? d->weekend : 1.0) + 0.04 * gen_noise(rng);

	if (gen_in(t_s, d->busy_s, 7 * GEN_DAY_S))
		load = d->busy_load + 0.03 * gen_noise(rng);
	return gen_clamp(load, 0.02, 1.0);
}

static double gen_ambient(const struct gen_device *d, uint64_t *rng, double t_s)
{
	double day = t_s / GEN_DAY_S, hour = fmod(day, 1.0) * 24;
	double amb = d->amb0 + d->amb_swing * sin(2 * M_PI * (hour - 15) / 24.0) +
		     d->season_c_per_day * day + 0.15 * gen_noise(rng);

	if (!isnan(d->cup_s) && t_s >= d->cup_s)
		amb += d->cup_c;
	if (gen_in(t_s, d->wave_s, d->wave_len_s))
		amb += d->wave_c * sin(M_PI * (t_s - d->wave_s) / d->wave_len_s);
	return fmin(amb, GEN_AMB_CAP_C);
}

/* What one row holds: the readings (before glitches) and what they mean. */
struct gen_row {
	double v[TPD_PRODUCT_MAX_SENSORS];
	bool fail_cond;     /* the device's failure condition holds (needs two rows) */
	bool warn_cond;     /* a warning limit of the device's class is crossed */
	bool any_warn;      /* any warning limit is crossed (healthy devices) */
	bool other_warn;    /* a warning limit of another class is crossed (wear devices) */
};

static void gen_sample(const struct gen_device *d, const struct gen_cols *c, struct gen_state *st,
		       uint64_t *rng, double t_s, struct gen_row *r)
{
	const struct tpd_product *p = d->p;
	bool fan = c->fan >= 0;
	double level = gen_level(d, t_s);
	double dust = d->sc == GEN_DUST ? d->dust_max * level : 0;
	double bearing = d->sc == GEN_FAN_WEAR ? fmin(d->bearing_max * level, 1.0) : 0;
	double r_int = d->r_int + (d->sc == GEN_ADAPTER ? d->dr_max * level : 0);
	double load = gen_load(d, rng, t_s), amb = gen_ambient(d, rng, t_s);
	double p_w = d->p_idle_w + d->p_load_w * load, eq, cpu, rpm = 0, board, vin, curr, sys_w;
	double uv_rate, v_min, cpu_warn, cpu_crit, stall;
	bool fw = !isnan(d->fw_s) && t_s >= d->fw_s, spin;

	eq = gen_equilibrium(d, fan, amb, p_w, dust, bearing);
	/* past its critical limit the SoC throttles: the die levels off a few
	 * degrees above it instead of climbing to readings no sensor gives */
	if (eq > d->throttle_c)
		eq = d->throttle_c + (eq - d->throttle_c) * 0.15;
	if (isnan(st->cpu_c))
		st->cpu_c = eq;
	else
		st->cpu_c = eq + (st->cpu_c - eq) * exp(-(t_s - st->last_t) / d->tau_s);
	st->last_t = t_s;
	cpu = st->cpu_c + d->t_off;
	if (fan)
		rpm = gen_duty(d, st->cpu_c) * d->max_rpm * (1 - bearing);
	board = amb + d->board_c * (st->cpu_c - amb) + d->board_off;
	sys_w = d->sys_idle_w + d->sys_load_w * load;
	/* constant-power load: I = P / vin, vin = Voc - R I; one fixed-point step is
	 * within millivolts here */
	curr = sys_w / d->voc;
	curr = sys_w / (d->voc - r_int * curr);
	vin = d->voc - r_int * curr;

	for (size_t i = 0; i < p->nsensors; i++)
		r->v[i] = NAN;
	if (c->cpu >= 0)
		r->v[c->cpu] = cpu + 0.3 * gen_noise(rng) + (fw ? d->fw_temp_c : 0);
	if (c->board >= 0)
		r->v[c->board] = board + 0.2 * gen_noise(rng);
	if (c->fan >= 0)
		r->v[c->fan] = fmax(0, rpm * (fw ? d->fw_rpm_scale : 1) * (1 + 0.012 * gen_noise(rng)) +
				    15 * gen_noise(rng));
	if (c->vin >= 0)
		r->v[c->vin] = vin + 0.008 * gen_noise(rng);
	if (c->curr >= 0)
		r->v[c->curr] = curr + 0.01 * gen_noise(rng);
	if (c->load >= 0)
		r->v[c->load] = load;
	/* Other sensors of other products: a disk sits between room and board. */
	for (size_t i = 0; i < p->nsensors; i++)
		if (isnan(r->v[i]) && p->sensors[i].kind == TPD_KIND_TEMP)
			r->v[i] = (amb + board) / 2 + 0.2 * gen_noise(rng);
		else if (isnan(r->v[i]) && p->sensors[i].kind == TPD_KIND_EVENT)
			r->v[i] = 0;
	v_min = c->vin >= 0 ? gen_limit(c->vin, p->sensors[c->vin].min, 11.4) : 11.4;
	if (c->uv >= 0) {
		/* a flag every ~20 days on a good supply, every few minutes when the
		 * rail is within a tenth of a volt of its minimum */
		uv_rate = 1.0 / (20 * GEN_DAY_S) + 0.006 * exp(-(vin - v_min) / 0.08);
		r->v[c->uv] = gen_uniform(rng) < 1 - exp(-uv_rate * d->period_s);
	}
	if (c->reboot >= 0) {
		r->v[c->reboot] = st->reboot_flag;
		st->reboot_flag = false;
	}

	/* failure and warning, judged on what the agent reads (a firmware
	 * offset moves a limit crossing as the agent would see it), before any
	 * glitch or grid dip touches the row */
	cpu_warn = c->cpu >= 0 ? gen_limit(c->cpu, p->sensors[c->cpu].warn, 85) : INFINITY;
	cpu_crit = c->cpu >= 0 ? gen_limit(c->cpu, p->sensors[c->cpu].crit, 100) : INFINITY;
	stall = fan ? gen_limit(c->fan, p->sensors[c->fan].stall_rpm, 300) : 0;
	spin = fan && (p->sensors[c->fan].spin_sensor < 0 ||
		       r->v[p->sensors[c->fan].spin_sensor] > p->sensors[c->fan].spin_above);
	{
		double tcpu = c->cpu >= 0 ? r->v[c->cpu] : -INFINITY;
		double tvin = c->vin >= 0 ? r->v[c->vin] : INFINITY;
		bool stalled = spin && r->v[c->fan] < stall;
		bool hot = tcpu >= cpu_crit, warm = tcpu >= cpu_warn, low = tvin < v_min;

		switch (d->sc) {
		case GEN_FAN_WEAR: r->fail_cond = stalled || hot; r->warn_cond = warm || stalled; break;
		case GEN_DUST: r->fail_cond = hot; r->warn_cond = warm; break;
		case GEN_ADAPTER: r->fail_cond = low; r->warn_cond = low; break;
		default: r->fail_cond = false; r->warn_cond = false; break;
		}
		/* a healthy device's board over its warning limit would be a true
		 * TEMP_HIGH: the labels say so rather than hide it */
		bool board_warm = c->board >= 0 && r->v[c->board] >= gen_limit(c->board,
						p->sensors[c->board].warn, INFINITY);

		r->any_warn = warm || stalled || low || board_warm;
		/* an ageing adapter's device over a temperature limit (or a worn
		 * fan's under its voltage limit) earns a true limit claim of
		 * another class: like a healthy device's, such a draw is redrawn */
		r->other_warn = d->sc == GEN_ADAPTER ? warm || stalled || board_warm
			      : d->sc >= GEN_FAN_WEAR && low;
	}
}

/* A one-off grid dip and single-row glitches, applied after the labels'
 * judgement: they are what a detector must not take for wear. */
static void gen_disturb(const struct gen_device *d, const struct gen_cols *c, struct gen_state *st,
			uint64_t *rng, double t_s, struct gen_row *r)
{
	const struct tpd_product *p = d->p;

	if (gen_in(t_s, d->dip_s, d->period_s)) {
		double v_min = c->vin >= 0 ? gen_limit(c->vin, p->sensors[c->vin].min, 11.4) : 11.4;

		if (c->vin >= 0)
			r->v[c->vin] = v_min - gen_between(rng, 0.3, 0.8);
		if (c->uv >= 0)
			r->v[c->uv] = 1;
	}
	/* never two glitches in a row for one sensor: two failed reads a period
	 * apart are a sensor failing, not a glitch */
	if (!d->glitches)
		return;
	for (size_t i = 0; i < p->nsensors; i++) {
		double u = gen_uniform(rng);
		bool was = st->glitched[i];

		st->glitched[i] = false;
		if (was || p->sensors[i].kind == TPD_KIND_EVENT)
			continue;
		if (u < 0.003)
			r->v[i] = NAN;                     /* a failed read */
		else if (u < 0.004 && p->sensors[i].kind == TPD_KIND_TEMP)
			r->v[i] = 400;                     /* an implausible one */
		else
			continue;
		st->glitched[i] = true;
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
	else if (kind == TPD_KIND_TEMP)
		fprintf(f, ",%.2f", v);
	else
		fprintf(f, ",%.3f", v);
}

/* Scenario of each device: the mix's shares laid out over the fleet (so a
 * small fleet still has each kind), then shuffled by the seed. Healthy places
 * cycle through the healthy scenarios. */
static void gen_assign(const struct gen_mix *m, unsigned n, uint64_t *rng, enum gen_scenario *out)
{
	double shares[4] = { m->healthy, m->fan, m->dust, m->adapter }, total = 0, acc = 0;
	unsigned healthy = 0;
	size_t k = 0;

	for (int i = 0; i < 4; i++)
		total += shares[i];
	for (unsigned i = 0; i < n; i++) {
		double pos = (i + 0.5) / n * total;

		while (k < 3 && pos >= acc + shares[k]) {
			acc += shares[k];
			k++;
		}
		out[i] = k == 0 ? (enum gen_scenario)(healthy++ % GEN_HEALTHY_KINDS)
			 : k == 1 ? GEN_FAN_WEAR : k == 2 ? GEN_DUST : GEN_ADAPTER;
	}
	for (unsigned i = n; i > 1; i--) {
		unsigned j = (unsigned)(gen_uniform(rng) * i);
		enum gen_scenario t = out[i - 1];

		out[i - 1] = out[j < i ? j : i - 1];
		out[j < i ? j : i - 1] = t;
	}
}

/* A time in [lo_day, hi_day) of a days-long trace, in s; NAN if it has no room. */
static double gen_when(uint64_t *rng, double lo_day, double hi_day)
{
	return hi_day > lo_day ? gen_between(rng, lo_day, hi_day) * GEN_DAY_S : NAN;
}

static void gen_draw(struct gen_device *d, const struct gen_mix *m, const struct gen_cols *c,
		     const struct tpsim_gen_cfg *cfg, uint64_t *rng)
{
	const struct tpd_product *p = d->p;
	double days = cfg->days;
	bool fan = c->fan >= 0, mesh = strcmp(p->model, "deco-x50") == 0;
	double crit = c->cpu >= 0 ? gen_limit(c->cpu, p->sensors[c->cpu].crit, 100) : 100;
	double v_min = c->vin >= 0 ? gen_limit(c->vin, p->sensors[c->vin].min, 11.4) : 11.4;
	double load_peak, amb_peak, p_peak, r_full, i_peak;
	bool conf[GEN_HEALTHY_KINDS];

	if (cfg->period_s > 0)
		d->period_s = cfg->period_s;
	else
		d->period_s = fmax(gen_periods[gen_weighted(rng, m->period, GEN_NPERIODS)],
				   cfg->period_min_s);
	d->load_base = gen_between(rng, 0.25, 0.5);
	d->load_amp = gen_between(rng, 0.15, 0.35);
	d->weekend = gen_between(rng, 0.4, 1.3);   /* home use: busier weekends too */
	d->amb0 = gen_between(rng, 19, 27);
	d->amb_swing = gen_between(rng, 1, 4);
	d->t_off = gen_between(rng, -3, 3);
	d->board_c = gen_between(rng, 0, 1);
	d->board_off = gen_between(rng, 0, 3);
	d->tau_s = gen_between(rng, 120, 600);
	d->throttle_c = crit + gen_between(rng, 2, 6);
	/* sized so a typical day sits near the product's nominal temp.cpu */
	d->p_idle_w = mesh ? gen_between(rng, 2.5, 3.5) : gen_between(rng, 3.5, 4.5);
	d->p_load_w = mesh ? gen_between(rng, 5, 7) : gen_between(rng, 7, 9);
	d->r_sink = fan ? gen_between(rng, 2.0, 2.6) : gen_between(rng, 5.5, 6.8);
	d->r_conv = gen_between(rng, 1.7, 2.3);
	d->max_rpm = gen_between(rng, 4800, 5600);
	d->duty_min = gen_between(rng, 0.45, 0.65);
	d->t_start = gen_between(rng, 35, 45);
	d->t_full = gen_between(rng, 70, 85);
	d->voc = gen_between(rng, 12.05, 12.3);
	d->r_int = gen_between(rng, 0.08, 0.18);
	d->sys_idle_w = gen_between(rng, 5.5, 7);
	d->sys_load_w = gen_between(rng, 7, 10);

	/* confounders: the healthy scenario's own for sure, each other by chance */
	for (int k = 0; k < GEN_HEALTHY_KINDS; k++)
		conf[k] = (int)d->sc == k || gen_uniform(rng) < m->confounder;
	d->cup_s = d->fw_s = d->wave_s = d->busy_s = d->dip_s = NAN;
	d->season_c_per_day = 0;
	if (conf[GEN_CUPBOARD]) {
		d->cup_s = gen_when(rng, 1, days - 1);
		d->cup_c = gen_between(rng, 4, 10);
	}
	if (conf[GEN_FIRMWARE]) {
		d->fw_s = gen_when(rng, 1, days - 1);
		d->fw_temp_c = 0;
		d->fw_rpm_scale = 1;
		if (fan && gen_uniform(rng) < 0.5)
			d->fw_rpm_scale = gen_uniform(rng) < 0.5 ? gen_between(rng, 0.85, 0.93)
				       : gen_between(rng, 1.07, 1.15);
		else
			d->fw_temp_c = (gen_uniform(rng) < 0.5 ? -1 : 1) * gen_between(rng, 2, 5);
	}
	if (conf[GEN_SEASONAL])
		d->season_c_per_day = (gen_uniform(rng) < 0.5 ? -1 : 1) * gen_between(rng, 3, 6) / 30;
	if (conf[GEN_HEAT_WAVE]) {
		d->wave_len_s = gen_between(rng, 2, 5) * GEN_DAY_S;
		d->wave_s = gen_when(rng, 0.5, days - d->wave_len_s / GEN_DAY_S);
		d->wave_c = gen_between(rng, 5, 12);
	}
	if (conf[GEN_BUSY_WEEK]) {
		d->busy_s = gen_when(rng, 0.5, days - 7);
		if (isnan(d->busy_s))
			d->busy_s = 0;
		d->busy_load = gen_between(rng, 0.8, 0.95);
	}
	d->glitches = conf[GEN_GLITCHES];
	if (conf[GEN_GRID_DIP])
		d->dip_s = gen_when(rng, 0.5, days - 0.5);

	/* offline gaps (hours to days) and reboots (a few minutes dark), never
	 * on the first or last half day so every trace starts and ends in rows */
	d->ngaps = (unsigned)(gen_uniform(rng) * (GEN_MAX_GAPS + 1));
	for (unsigned i = 0; i < d->ngaps; i++) {
		d->gap_len_s[i] = exp(gen_between(rng, log(3600), log(3 * GEN_DAY_S)));
		d->gap_s[i] = gen_when(rng, 0.5, days - 0.5 - d->gap_len_s[i] / GEN_DAY_S);
	}
	/* reboots at least two days apart: BOOT_LOOP is about many within a day */
	d->nreboots = (unsigned)(gen_uniform(rng) * (GEN_MAX_REBOOTS + 1));
	for (unsigned i = 0; i < d->nreboots; i++)
		d->reboot_s[i] = (0.5 + (days - 1) * (i + gen_uniform(rng) * 0.5) /
				  GEN_MAX_REBOOTS) * GEN_DAY_S;

	/* wear: onset and time to failure (5 to 40 days after onset) */
	d->onset_s = d->plan_fail_s = NAN;
	if (d->sc >= GEN_FAN_WEAR) {
		bool outlast = d->outlast;
		double lo = fmin(0, days - 5.5), hi = fmax(0, days - 5.5) * 0.7;
		double onset = gen_between(rng, lo, hi), ttf;

		if (outlast && onset + 40 > days + 0.5) {
			ttf = gen_between(rng, fmax(5, days + 0.5 - onset), 40);
		} else {
			ttf = gen_between(rng, 5, fmax(5, fmin(40, days - 0.5 - onset)));
		}
		d->onset_s = onset * GEN_DAY_S;
		d->plan_fail_s = (onset + ttf) * GEN_DAY_S;
		d->fam = (enum gen_family)gen_weighted(rng, m->family, GEN_FAMILIES);
		d->fam_k = d->fam == GEN_POWER ? gen_between(rng, 1, 3)
			 : d->fam == GEN_EXP ? gen_between(rng, 2, 5)
			 : d->fam == GEN_STEP_RAMP ? gen_between(rng, 0.2, 0.5) : 1;
	}
	/* each mode's wear at level 1: enough to fail a busy hour of a typical
	 * day, so the failure lands near the planned time (the trace says when) */
	load_peak = fmin(1, d->load_base + d->load_amp);
	amb_peak = d->amb0 + d->amb_swing;
	p_peak = d->p_idle_w + d->p_load_w * load_peak;
	r_full = gen_rth(d, fan, d->max_rpm, 0);
	d->dust_max = fmax(0.2, (crit + 1 - d->t_off - amb_peak) / (p_peak * r_full) - 1);
	d->bearing_max = 0.95;
	/* the coupling is drawn from 0..1 but held where the board sensor stays
	 * 15 C under its warning limit on a typical busy hour (room for a heat
	 * wave): a product whose board alarms in ordinary use would not have
	 * shipped with that limit */
	if (c->board >= 0 && !isnan(p->sensors[c->board].warn)) {
		double cpu_peak = gen_equilibrium(d, fan, amb_peak, p_peak, 0, 0);
		double room = p->sensors[c->board].warn - 15 - amb_peak - d->board_off;

		if (cpu_peak > amb_peak)
			d->board_c = gen_clamp(fmin(d->board_c, room / (cpu_peak - amb_peak)), 0, 1);
	}
	i_peak = (d->sys_idle_w + d->sys_load_w * load_peak) / v_min;
	d->dr_max = fmax(0.05, (d->voc - v_min + 0.03) / i_peak - d->r_int);
}

static bool gen_offline(const struct gen_device *d, struct gen_state *st, double t_s)
{
	for (unsigned i = 0; i < d->ngaps; i++)
		if (gen_in(t_s, d->gap_s[i], d->gap_len_s[i]))
			return true;
	for (unsigned i = 0; i < d->nreboots; i++)
		if (gen_in(t_s, d->reboot_s[i], 120)) {
			st->reboot_flag = true;
			return true;
		}
	return false;
}

static void gen_time(FILE *f, double t)
{
	if (isnan(t))
		return;
	fprintf(f, "%.0f", t);
}

/* Writes one device's trace; its label fields through the out-parameters. */
static int gen_device_write(const struct gen_device *d, const char *path, const char *id,
			    const struct tpsim_gen_cfg *cfg, uint64_t *rng, double *fail_t,
			    double *warn_t, double *other_t)
{
	const struct tpd_product *p = d->p;
	struct gen_cols c;
	struct gen_state st = { .cpu_c = NAN };
	struct gen_row r;
	double end = cfg->days * GEN_DAY_S;
	FILE *f = fopen(path, "w");

	*fail_t = *warn_t = *other_t = NAN;
	if (!f) {
		fprintf(stderr, "tpsim: %s: %s\n", path, strerror(errno));
		return 1;
	}
	gen_cols_of(p, &c);
	fprintf(f, "# model: %s\n# tpsim --generate, seed %llu, mix %s: %s %s, every %.0f s", p->model,
		(unsigned long long)cfg->seed, cfg->mix, id, gen_scenarios[d->sc].name, d->period_s);
	if (!isnan(d->onset_s))
		fprintf(f, ", %s wear (k %.2f) from day %.1f to fail about day %.1f",
			gen_family_names[d->fam], d->fam_k, d->onset_s / GEN_DAY_S,
			d->plan_fail_s / GEN_DAY_S);
	fprintf(f, "\n# board coupling %.2f", d->board_c);
	if (!isnan(d->cup_s))
		fprintf(f, ", hot cupboard day %.1f +%.1f C", d->cup_s / GEN_DAY_S, d->cup_c);
	if (!isnan(d->fw_s))
		fprintf(f, ", firmware day %.1f (temp.cpu %+.1f C, rpm x%.2f)", d->fw_s / GEN_DAY_S,
			d->fw_temp_c, d->fw_rpm_scale);
	if (d->season_c_per_day != 0)
		fprintf(f, ", seasonal %+.1f C/30 d", d->season_c_per_day * 30);
	if (!isnan(d->wave_s))
		fprintf(f, ", heat wave day %.1f for %.1f d +%.1f C", d->wave_s / GEN_DAY_S,
			d->wave_len_s / GEN_DAY_S, d->wave_c);
	if (!isnan(d->busy_s))
		fprintf(f, ", busy week day %.1f load %.2f", d->busy_s / GEN_DAY_S, d->busy_load);
	if (!isnan(d->dip_s))
		fprintf(f, ", grid dip day %.2f", d->dip_s / GEN_DAY_S);
	if (d->glitches)
		fprintf(f, ", glitches");
	fprintf(f, ", %u offline gaps, %u reboots\nt_s", d->ngaps, d->nreboots);
	for (size_t k = 0; k < p->nsensors; k++)
		fprintf(f, ",%s", p->sensors[k].id);
	fputc('\n', f);
	for (double t = 0; t < end; t += d->period_s) {
		bool cls_warn;

		if (gen_offline(d, &st, t))
			continue;
		gen_sample(d, &c, &st, rng, t, &r);
		/* the failure holds for two rows in a row: longer than any debounce
		 * of these products at these periods */
		if (r.fail_cond && st.fail_prev && isnan(*fail_t))
			*fail_t = t;
		st.fail_prev = r.fail_cond;
		cls_warn = d->sc >= GEN_FAN_WEAR ? r.warn_cond : r.any_warn;
		if (cls_warn && isnan(*warn_t))
			*warn_t = t;
		if (r.other_warn && isnan(*other_t))
			*other_t = t;
		gen_disturb(d, &c, &st, rng, t, &r);
		fprintf(f, "%.0f", t);
		for (size_t k = 0; k < p->nsensors; k++)
			gen_cell(f, r.v[k], p->sensors[k].kind);
		fputc('\n', f);
	}
	if (fclose(f) != 0) {
		fprintf(stderr, "tpsim: %s: %s\n", path, strerror(errno));
		return 1;
	}
	return 0;
}

int tpsim_generate(const struct tpsim_gen_cfg *cfg)
{
	struct tpd_product prods[2];
	const char *models[2] = { "archer-ax55", "deco-x50" };
	const struct gen_mix *mix = NULL;
	char path[4096], err[512];
	uint64_t rng = cfg->seed * 0x9E3779B97F4A7C15ull + 1;
	enum gen_scenario *sc;
	FILE *labels;
	unsigned nfail = 0, ndeg = 0, nwear = 0;

	for (size_t i = 0; i < sizeof(gen_mixes) / sizeof(gen_mixes[0]); i++)
		if (strcmp(gen_mixes[i].name, cfg->mix ? cfg->mix : "even") == 0)
			mix = &gen_mixes[i];
	if (!mix) {
		fprintf(stderr, "tpsim: --mix %s: not one of even, tune, test\n", cfg->mix);
		return 1;
	}
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
	sc = calloc(cfg->devices, sizeof(*sc));
	if (!sc) {
		fprintf(stderr, "tpsim: out of memory\n");
		return 1;
	}
	gen_assign(mix, cfg->devices, &rng, sc);
	snprintf(path, sizeof(path), "%s/labels.csv", cfg->dir);
	labels = fopen(path, "w");
	if (!labels) {
		fprintf(stderr, "tpsim: %s: %s\n", path, strerror(errno));
		free(sc);
		return 1;
	}
	fprintf(labels, "device,model,scenario,fails,class,code,fail_t_s,"
		"status,family,onset_t_s,first_warn_t_s\n");
	for (unsigned i = 0; i < cfg->devices; i++) {
		/* each device its own stream, so one device's draws never shift another's */
		uint64_t drng = (cfg->seed + 1) * 0x9E3779B97F4A7C15ull ^ (i + 1) * 0xD1B54A32D192ED03ull;
		struct gen_device d = { .sc = sc[i] };
		bool wear = sc[i] >= GEN_FAN_WEAR;
		struct gen_cols c;
		double fail_t, warn_t, other_t;
		const char *status, *cls = gen_scenarios[sc[i]].cls;
		char id[32];

		for (int k = 0; k < 4; k++)
			gen_uniform(&drng);
		/* the mix's share of wear devices outlasts the trace, spread evenly
		 * over them (the order is already shuffled) so a small fleet has its share */
		d.outlast = wear && floor((nwear + 1) * mix->degrading + 0.5) >
				    floor(nwear * mix->degrading + 0.5);
		nwear += wear;
		d.p = &prods[0];
		if (sc[i] != GEN_FAN_WEAR && gen_uniform(&drng) < mix->mesh)
			d.p = &prods[1];
		gen_cols_of(d.p, &c);
		snprintf(id, sizeof(id), "TPS%05u", i + 1);
		snprintf(path, sizeof(path), "%s/%s.csv", cfg->dir, id);
		/* "healthy" means no limit is ever crossed, and a wear device
		 * crosses only its own class's limits: a draw whose confounders
		 * stack past another warning limit would earn a true limit claim
		 * the labels do not name, so it is drawn again (the stream goes
		 * on, still seeded) */
		for (int attempt = 0; ; attempt++) {
			gen_draw(&d, mix, &c, cfg, &drng);
			if (gen_device_write(&d, path, id, cfg, &drng, &fail_t, &warn_t, &other_t)) {
				fclose(labels);
				free(sc);
				return 1;
			}
			if ((cls ? isnan(other_t) : isnan(warn_t)) || attempt == GEN_HEALTHY_TRIES - 1)
				break;
		}
		status = !cls ? "healthy" : !isnan(fail_t) ? "failing" : "degrading";
		nfail += !isnan(fail_t);
		ndeg += cls && isnan(fail_t);
		fprintf(labels, "%s,%s,%s,%d,%s,%s,", id, d.p->model, gen_scenarios[sc[i]].name,
			!isnan(fail_t), cls ? cls : "", cls ? gen_scenarios[sc[i]].code : "");
		gen_time(labels, fail_t);
		fprintf(labels, ",%s,%s,", status, cls ? gen_family_names[d.fam] : "");
		gen_time(labels, d.onset_s);
		fputc(',', labels);
		gen_time(labels, warn_t);
		fputc('\n', labels);
		if (cls && isnan(fail_t) && d.plan_fail_s < cfg->days * GEN_DAY_S)
			fprintf(stderr, "tpsim: %s (%s) was meant to fail on day %.1f but does not "
				"within %u days: labelled degrading\n", id, gen_scenarios[sc[i]].name,
				d.plan_fail_s / GEN_DAY_S, cfg->days);
		if (!cls && !isnan(warn_t))
			fprintf(stderr, "tpsim: %s (%s, healthy) crosses a warning limit on day %.1f\n",
				id, gen_scenarios[sc[i]].name, warn_t / GEN_DAY_S);
		if (cls && !isnan(other_t))
			fprintf(stderr, "tpsim: %s (%s) crosses a warning limit of another class on day %.1f\n",
				id, gen_scenarios[sc[i]].name, other_t / GEN_DAY_S);
	}
	free(sc);
	if (fclose(labels) != 0) {
		fprintf(stderr, "tpsim: labels.csv: %s\n", strerror(errno));
		return 1;
	}
	fprintf(stderr, "tpsim: %u devices x %u days (mix %s: %u failing, %u degrading) written "
		"to %s (labels.csv)\n", cfg->devices, cfg->days, mix->name, nfail, ndeg, cfg->dir);
	return 0;
}
