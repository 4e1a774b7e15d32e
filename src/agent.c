/*
 * agent.c - the agent core: sample -> sanity -> telemetry + detectors ->
 * signed fault reports.
 *
 * Layout: construction (detectors derived from the product description),
 * report emission (telemetry, signed faults with the "prev" chain), the
 * per-sample step, status reports.
 *
 * Design notes:
 * 1. A reading that is missing or outside the sensor's physical plausibility
 *    is fed to the power/thermal detectors as "no data" (NAN). A broken
 *    sensor can therefore raise SENSOR_FAIL but never a power or thermal
 *    fault, which would otherwise open a warranty claim for a healthy rail.
 * 2. Telemetry for a finished period is emitted before the faults of the
 *    sample that ends it, so seq order matches time order.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tpd/agent.h"
#include "tpd/selfcheck.h"
#include "tpd/jws.h"
#include "detect.h"
#include "predict.h"
#include "report.h"
#include "statefile.h"
#include "telem.h"

#define AGENT_RECENT 10    /* samples attached to a fault report */
#define AGENT_HISTORY 64   /* fault events kept for the technician (tpdiag faults) */

struct agent_fault_event {
	double ts;
	enum tpd_fault_code code;
	bool raised;
	int sensor;
	double value;
};

struct agent_recent {
	double ts;
	double v[TPD_PRODUCT_MAX_SENSORS];
};

struct tpd_agent {
	char id[TPD_ID_MAX + 1];
	char fw[32];
	const struct tpd_product *product;
	char *state_dir;
	const struct tpd_key *key;
	struct tpd_rng *rng;
	tpd_agent_emit_fn emit;
	void *emit_ctx;
	bool no_edge_predict;             /* predictive faults left to the collector */

	struct tpd_seq seq;
	char prev[TPD_HASH_B64_LEN + 1];  /* hash of the last signed report, "" first */

	struct tpd_telem telem;
	struct tpd_threshold *thr;        /* limit detectors */
	size_t nthr;
	struct tpd_threshold sfail[TPD_PRODUCT_MAX_SENSORS]; /* SENSOR_FAIL per sensor */
	double stuck_v[TPD_PRODUCT_MAX_SENSORS];     /* last reading, for stuck_s */
	double stuck_since[TPD_PRODUCT_MAX_SENSORS]; /* when it last changed; NAN: never read */
	/* What the self-check looks at (tpd/selfcheck.h). */
	double last_v[TPD_PRODUCT_MAX_SENSORS];      /* latest good reading, NAN: failed */
	double last_event_ts[TPD_PRODUCT_MAX_SENSORS]; /* event sensors: last rising edge */
	bool should_spin[TPD_PRODUCT_MAX_SENSORS];   /* fans: hot enough to need spinning */
	bool booted;                                 /* the boot self-check has run */
	struct agent_fault_event hist[AGENT_HISTORY];
	unsigned nhist, hist_head;
	enum tpd_sc_verdict last_verdict;
	bool has_verdict;
	struct tpd_brownout brownout;
	int has_brownout;
	struct tpd_predict *predict;                 /* edge forecast (predict.h) */
	double restart_ts[TPD_SC_MAX_RESTARTS];      /* unclean restarts, oldest first */
	unsigned nrestarts;
	struct tpd_agent_brownout brownout_restart;  /* reported with the first sample */
	bool brownout_pending;
	double brownout_clear_at;                    /* its clear is due; NAN: none open */

	struct agent_recent recent[AGENT_RECENT];
	unsigned nrecent, recent_head;

	struct tpd_agent_stats stats;
};

static size_t agent_count_thresholds(const struct tpd_product *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->nsensors; i++) {
		const struct tpd_sensor_desc *s = &p->sensors[i];

		n += !isnan(s->warn) + !isnan(s->crit) + !isnan(s->min) + !isnan(s->max) +
		     !isnan(s->stall_rpm);
	}
	return n;
}

/* Derives the detectors from the description: SPEC §3 says which limit of
 * which kind raises which code. */
static void agent_build_detectors(struct tpd_agent *a)
{
	const struct tpd_product *p = a->product;
	size_t k = 0;

	for (size_t i = 0; i < p->nsensors; i++) {
		const struct tpd_sensor_desc *s = &p->sensors[i];
		int si = (int)i;

		if (!isnan(s->warn))
			tpd_threshold_init(&a->thr[k++], TPD_FAULT_TEMP_HIGH, TPD_SEV_WARNING, si,
					   true, s->warn, s->hyst, s->debounce_s);
		if (!isnan(s->crit))
			tpd_threshold_init(&a->thr[k++], TPD_FAULT_TEMP_CRITICAL, TPD_SEV_CRITICAL,
					   si, true, s->crit, s->hyst, s->debounce_s);
		if (!isnan(s->min))
			tpd_threshold_init(&a->thr[k++], TPD_FAULT_PWR_UNDERVOLT, TPD_SEV_CRITICAL,
					   si, false, s->min, s->hyst, s->debounce_s);
		if (!isnan(s->max))
			tpd_threshold_init(&a->thr[k++],
					   s->kind == TPD_KIND_VOLT ? TPD_FAULT_PWR_OVERVOLT
								    : TPD_FAULT_PWR_OVERCURRENT,
					   TPD_SEV_CRITICAL, si, true, s->max, s->hyst, s->debounce_s);
		if (!isnan(s->stall_rpm))
			tpd_threshold_init(&a->thr[k++], TPD_FAULT_FAN_STALL, TPD_SEV_CRITICAL, si,
					   false, s->stall_rpm, s->hyst, s->debounce_s);
		a->stuck_since[i] = NAN;
		a->last_v[i] = NAN;
		a->last_event_ts[i] = NAN;
		/* "bad reading" is fed as 1/0, so the limit sits between them. */
		tpd_threshold_init(&a->sfail[i], TPD_FAULT_SENSOR_FAIL, TPD_SEV_WARNING, si,
				   true, 0.5, 0.0, s->fail_after_s);
		if (s->brownout_count && !a->has_brownout) {
			tpd_brownout_init(&a->brownout, si, s->brownout_count, s->brownout_window_s);
			a->has_brownout = 1;
		}
	}
	a->nthr = k;
}

void tpd_agent_product_changed(struct tpd_agent *a)
{
	const struct tpd_product *p = a->product;

	for (size_t k = 0; k < a->nthr; k++) {
		struct tpd_threshold *d = &a->thr[k];
		const struct tpd_sensor_desc *s = &p->sensors[d->sensor];

		switch (d->code) {
		case TPD_FAULT_TEMP_HIGH: d->limit = s->warn; break;
		case TPD_FAULT_TEMP_CRITICAL: d->limit = s->crit; break;
		case TPD_FAULT_PWR_UNDERVOLT: d->limit = s->min; break;
		case TPD_FAULT_PWR_OVERVOLT:
		case TPD_FAULT_PWR_OVERCURRENT: d->limit = s->max; break;
		case TPD_FAULT_FAN_STALL: d->limit = s->stall_rpm; break;
		default: break;
		}
		d->hyst = s->hyst;
		d->debounce_s = s->debounce_s;
	}
	for (size_t i = 0; i < p->nsensors; i++)
		a->sfail[i].debounce_s = p->sensors[i].fail_after_s;
	if (a->has_brownout) {
		const struct tpd_sensor_desc *s = &p->sensors[a->brownout.sensor];

		a->brownout.count = s->brownout_count;
		a->brownout.window_s = s->brownout_window_s;
	}
}

enum tpd_err tpd_agent_new(const struct tpd_agent_cfg *cfg, struct tpd_agent **out,
			   char *err, size_t errlen)
{
	struct tpd_agent *a;
	enum tpd_err rc;
	const char *fw;

	*out = NULL;
	if (!tpd_id_valid(cfg->id)) {
		snprintf(err, errlen, "device id \"%.80s\" must be 1-64 of [A-Za-z0-9_-]",
			 cfg->id ? cfg->id : "");
		return TPD_ERR_INVAL;
	}
	if (!cfg->product || !cfg->key || !cfg->rng || !cfg->emit) {
		snprintf(err, errlen, "agent needs a product, a signing key, an RNG and an emitter");
		return TPD_ERR_INVAL;
	}
	fw = cfg->fw ? cfg->fw : cfg->product->fw;
	if (strlen(fw) >= sizeof(a->fw)) {
		snprintf(err, errlen, "firmware version \"%.40s\" is too long", fw);
		return TPD_ERR_INVAL;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		goto nomem;
	memcpy(a->id, cfg->id, strlen(cfg->id) + 1);
	memcpy(a->fw, fw, strlen(fw) + 1);
	a->product = cfg->product;
	a->key = cfg->key;
	a->rng = cfg->rng;
	a->emit = cfg->emit;
	a->emit_ctx = cfg->emit_ctx;
	a->no_edge_predict = cfg->no_edge_predict;
	if (cfg->state_dir) {
		a->state_dir = strdup(cfg->state_dir);
		if (!a->state_dir)
			goto nomem;
	}
	rc = tpd_seq_open(&a->seq, cfg->state_dir);
	if (rc) {
		snprintf(err, errlen, "%s/seq: %s", cfg->state_dir,
			 rc == TPD_ERR_INVAL ? "corrupt sequence file (refusing to reuse seqs)"
					     : tpd_strerror(rc));
		tpd_agent_free(a);
		return rc;
	}
	if (cfg->state_dir && cfg->unclean_start)
		tpd_seq_skip(&a->seq, TPD_SEQ_UNCLEAN_SKIP);
	if (cfg->state_dir) {
		rc = tpd_statefile_read(cfg->state_dir, "chain", a->prev, sizeof(a->prev));
		if (rc == TPD_ERR_NOTFOUND) {
			a->prev[0] = '\0';
		} else if (rc || strlen(a->prev) != TPD_HASH_B64_LEN) {
			snprintf(err, errlen, "%s/chain: unreadable or corrupt evidence chain link",
				 cfg->state_dir);
			tpd_agent_free(a);
			return TPD_ERR_INVAL;
		}
	}
	a->thr = calloc(agent_count_thresholds(a->product) + 1, sizeof(*a->thr));
	if (!a->thr)
		goto nomem;
	agent_build_detectors(a);
	a->predict = tpd_predict_new(a->product, cfg->predict_threshold);
	if (!a->predict)
		goto nomem;
	a->brownout_clear_at = NAN;
	tpd_telem_init(&a->telem, a->product);
	*out = a;
	return TPD_OK;
nomem:
	snprintf(err, errlen, "out of memory");
	tpd_agent_free(a);
	return TPD_ERR_NOMEM;
}

void tpd_agent_free(struct tpd_agent *a)
{
	if (!a)
		return;
	tpd_seq_close(&a->seq);
	tpd_predict_free(a->predict);
	free(a->thr);
	free(a->state_dir);
	free(a);
}

static cJSON *agent_report_new(struct tpd_agent *a, double ts, uint64_t *seq)
{
	struct tpd_report_ident ident = { a->id, a->product->model, a->fw };

	if (tpd_seq_next(&a->seq, seq))
		return NULL;
	return tpd_report_new(&ident, *seq, ts);
}

/* Serializes obj, optionally signs it, and hands it to the emitter. Takes
 * ownership of obj. */
static enum tpd_err agent_emit(struct tpd_agent *a, enum tpd_topic_kind kind, uint64_t seq,
			       cJSON *obj, int sign)
{
	char *json = NULL, *jws = NULL;
	size_t len;
	enum tpd_err rc;

	if (sign && !cJSON_AddStringToObject(obj, "prev", a->prev)) {
		rc = TPD_ERR_NOMEM;
		goto out;
	}
	rc = tpd_report_print(obj, &json, &len);
	if (rc)
		goto out;
	if (sign) {
		rc = tpd_jws_sign(a->key, a->rng, a->id, json, len, &jws);
		if (rc)
			goto out;
		/* Link first: a report that was built and signed is part of the
		 * chain even if this emit fails, so a gap stays visible. */
		tpd_hash_b64(jws, strlen(jws), a->prev);
		/* fixed width: a full disk still takes it in place */
		if (a->state_dir &&
		    tpd_statefile_replace(a->state_dir, "chain", a->prev, strlen(a->prev)))
			a->stats.chain_write_failures++;
		rc = a->emit(a->emit_ctx, kind, seq, jws, strlen(jws));
	} else {
		rc = a->emit(a->emit_ctx, kind, seq, json, len);
	}
out:
	if (rc)
		a->stats.emit_failures++;
	free(jws);
	cJSON_free(json);
	cJSON_Delete(obj);
	return rc;
}

static enum tpd_err agent_emit_telemetry(struct tpd_agent *a)
{
	uint64_t seq;
	double end_s;
	cJSON *obj;
	enum tpd_err rc;

	if (a->telem.samples == 0)
		return TPD_OK;
	obj = agent_report_new(a, a->telem.start_s + a->telem.period_s, &seq);
	if (!obj) {
		a->stats.emit_failures++;
		return TPD_ERR_NOMEM;
	}
	rc = tpd_telem_to_json(&a->telem, obj, &end_s);
	if (rc) {
		cJSON_Delete(obj);
		a->stats.emit_failures++;
		return rc;
	}
	a->stats.telemetry++;
	return agent_emit(a, TPD_TOPIC_TELEMETRY, seq, obj, 0);
}

static enum tpd_err agent_add_recent(const struct tpd_agent *a, cJSON *obj)
{
	cJSON *arr = cJSON_AddArrayToObject(obj, "recent");

	if (!arr)
		return TPD_ERR_NOMEM;
	for (unsigned i = 0; i < a->nrecent; i++) {
		unsigned idx = (a->recent_head + AGENT_RECENT - a->nrecent + i) % AGENT_RECENT;
		const struct agent_recent *r = &a->recent[idx];
		cJSON *row = cJSON_CreateObject();

		if (!row || !cJSON_AddItemToArray(arr, row)) {
			cJSON_Delete(row);
			return TPD_ERR_NOMEM;
		}
		if (!tpd_json_add_num(row, "ts", r->ts, 3))
			return TPD_ERR_NOMEM;
		for (size_t s = 0; s < a->product->nsensors; s++) {
			if (!tpd_json_add_num(row, a->product->sensors[s].id, r->v[s], 3))
				return TPD_ERR_NOMEM;
		}
	}
	return TPD_OK;
}

/* Runs the product's self-check on what the agent knows now into obj. */
static bool agent_selfcheck_body(const struct tpd_agent *a, double ts, const char *trigger,
				 cJSON *obj, enum tpd_sc_verdict *verdict)
{
	struct tpd_sc_outcome out[TPD_SELFCHECK_MAX_STEPS];
	double expected[TPD_PRODUCT_MAX_SENSORS], tol[TPD_PRODUCT_MAX_SENSORS];
	struct tpd_sc_input in = {
		.product = a->product, .value = a->last_v, .last_event_ts = a->last_event_ts,
		.should_spin = a->should_spin, .expected = expected, .expected_tol = tol,
		.restart_ts = a->restart_ts, .nrestarts = a->nrestarts, .now = ts,
	};

	for (size_t i = 0; i < a->product->nsensors; i++) {
		if (!tpd_predict_expected(a->predict, (int)i, a->last_v, ts, &expected[i], &tol[i]))
			expected[i] = tol[i] = NAN;
	}

	*verdict = tpd_selfcheck_run(&in, out);
	return tpd_selfcheck_to_json(a->product, trigger, out, *verdict, obj);
}

enum tpd_err tpd_agent_selfcheck_report(struct tpd_agent *a, double ts, const char *trigger,
					char **json)
{
	enum tpd_sc_verdict v;
	uint64_t seq;
	cJSON *obj;

	if (json)
		*json = NULL;
	if (a->product->nsteps == 0)
		return TPD_ERR_UNSUPPORTED;
	obj = agent_report_new(a, ts, &seq);
	if (!obj || !agent_selfcheck_body(a, ts, trigger, obj, &v) ||
	    (json && !(*json = cJSON_PrintUnformatted(obj)))) {
		cJSON_Delete(obj);
		a->stats.emit_failures++;
		return TPD_ERR_NOMEM;
	}
	a->stats.selfchecks++;
	a->last_verdict = v;
	a->has_verdict = true;
	return agent_emit(a, TPD_TOPIC_SELFCHECK, seq, obj, 1);
}

enum tpd_err tpd_agent_selfcheck(struct tpd_agent *a, double ts, const char *trigger)
{
	return tpd_agent_selfcheck_report(a, ts, trigger, NULL);
}

/* One fault report for a raise or a clear. value/limit NAN print as null.
 * pred (a forecast's change, else NULL) adds eta_s on a raise and the
 * detector's basis, "baseline" and "now" (predict.h: a thermal slope in C
 * per unit of load, a fan's speed as a share of its early-life speed; with
 * "basis": "excess" the sensor's excess in C over its reference sensor), so
 * the claim can say why; each is left out when NAN. */
static enum tpd_err agent_emit_fault(struct tpd_agent *a, double ts, enum tpd_fault_code code,
				     enum tpd_severity sev, int raised, int sensor, double value,
				     double limit, double since,
				     const struct tpd_predict_event *pred)
{
	double eta_s = pred ? pred->eta_s : NAN;
	double base = pred ? pred->baseline : NAN, now = pred ? pred->now : NAN;
	enum tpd_sc_verdict verdict = TPD_SC_OK;
	bool run_sc;
	uint64_t seq;
	cJSON *obj, *f, *sc;
	enum tpd_err rc;

	obj = agent_report_new(a, ts, &seq);
	if (!obj)
		goto fail;
	f = cJSON_AddObjectToObject(obj, "fault");
	if (!f || !cJSON_AddStringToObject(f, "code", tpd_fault_code_name(code)) ||
	    !cJSON_AddStringToObject(f, "class",
				     tpd_fault_class_name(tpd_fault_code_class(code))) ||
	    !cJSON_AddStringToObject(f, "severity", tpd_severity_name(sev)) ||
	    !cJSON_AddStringToObject(f, "state", raised ? "raised" : "cleared") ||
	    !cJSON_AddStringToObject(f, "sensor", a->product->sensors[sensor].id) ||
	    !tpd_json_add_num(f, "value", value, 3) || !tpd_json_add_num(f, "limit", limit, 3) ||
	    !tpd_json_add_num(f, "since", since, 3) ||
	    !cJSON_AddBoolToObject(f, "predictive", tpd_fault_code_predictive(code)) ||
	    (!isnan(eta_s) && !tpd_json_add_num(f, "eta_s", round(eta_s), 0)) ||
	    (!isnan(base) && !isnan(now) && (!tpd_json_add_num(f, "baseline", base, 3) ||
					     !tpd_json_add_num(f, "now", now, 3))) ||
	    (pred && pred->excess && !cJSON_AddStringToObject(f, "basis", "excess")) ||
	    agent_add_recent(a, obj))
		goto fail;
	/* A raised power or thermal fault carries what the self-check found
	 * right then (SPEC §2), so the claim says what the product tried. */
	sc = cJSON_AddObjectToObject(obj, "selfcheck");
	if (!sc)
		goto fail;
	run_sc = raised && a->product->nsteps > 0 &&
		 (tpd_fault_code_class(code) == TPD_CLASS_POWER ||
		  tpd_fault_code_class(code) == TPD_CLASS_THERMAL);
	if (run_sc && !agent_selfcheck_body(a, ts, "fault", sc, &verdict))
		goto fail;
	a->hist[a->hist_head] = (struct agent_fault_event){ ts, code, raised != 0, sensor, value };
	a->hist_head = (a->hist_head + 1) % AGENT_HISTORY;
	if (a->nhist < AGENT_HISTORY)
		a->nhist++;
	if (raised) {
		a->stats.faults_raised++;
		a->stats.active_faults++;
	} else {
		a->stats.faults_cleared++;
		a->stats.active_faults--;
	}
	rc = agent_emit(a, TPD_TOPIC_FAULT, seq, obj, 1);
	/* ...and the same self-check is published as a report of its own. */
	if (run_sc) {
		enum tpd_err rc2 = tpd_agent_selfcheck(a, ts, "fault");

		rc = rc ? rc : rc2;
	}
	(void)verdict;
	return rc;
fail:
	cJSON_Delete(obj);
	a->stats.emit_failures++;
	return TPD_ERR_NOMEM;
}

static enum tpd_gate agent_gate(const struct tpd_agent *a, const struct tpd_threshold *d,
				const double *clean)
{
	const struct tpd_sensor_desc *s = &a->product->sensors[d->sensor];

	if (d->code != TPD_FAULT_FAN_STALL || s->spin_sensor < 0)
		return TPD_GATE_ON;
	if (isnan(clean[s->spin_sensor]))
		return TPD_GATE_UNKNOWN;
	return clean[s->spin_sensor] > s->spin_above ? TPD_GATE_ON : TPD_GATE_OFF;
}

#define AGENT_BROWNOUT_CLEAR_S 600.0

void tpd_agent_set_restarts(struct tpd_agent *a, const double *ts, unsigned n)
{
	if (n > TPD_SC_MAX_RESTARTS) {
		ts += n - TPD_SC_MAX_RESTARTS;   /* keep the newest */
		n = TPD_SC_MAX_RESTARTS;
	}
	memcpy(a->restart_ts, ts, n * sizeof(*ts));
	a->nrestarts = n;
}

void tpd_agent_note_brownout(struct tpd_agent *a, const struct tpd_agent_brownout *b)
{
	if (b->sensor < 0 || (size_t)b->sensor >= a->product->nsensors)
		return;
	a->brownout_restart = *b;
	a->brownout_pending = true;
}

/* The brownout restart's raise (first sample) and clear (rail in range for
 * AGENT_BROWNOUT_CLEAR_S). */
static enum tpd_err agent_brownout_restart(struct tpd_agent *a, double ts, const double *clean)
{
	const struct tpd_agent_brownout *b = &a->brownout_restart;
	const struct tpd_sensor_desc *s = &a->product->sensors[b->sensor];
	double v = clean[b->sensor];

	if (a->brownout_pending) {
		a->brownout_pending = false;
		a->brownout_clear_at = ts + AGENT_BROWNOUT_CLEAR_S;
		return agent_emit_fault(a, ts, TPD_FAULT_PWR_BROWNOUT, TPD_SEV_WARNING, 1, b->sensor,
					b->value, s->min, b->seen_ts, NULL);
	}
	if (isnan(a->brownout_clear_at))
		return TPD_OK;
	if (isnan(v) || (!isnan(s->min) && v < s->min) || (!isnan(s->max) && v > s->max)) {
		a->brownout_clear_at = ts + AGENT_BROWNOUT_CLEAR_S;
		return TPD_OK;
	}
	if (ts < a->brownout_clear_at)
		return TPD_OK;
	a->brownout_clear_at = NAN;
	return agent_emit_fault(a, ts, TPD_FAULT_PWR_BROWNOUT, TPD_SEV_WARNING, 0, b->sensor, v,
				s->min, b->seen_ts, NULL);
}

enum tpd_err tpd_agent_sample(struct tpd_agent *a, double ts, const double *values)
{
	const struct tpd_product *p = a->product;
	double clean[TPD_PRODUCT_MAX_SENSORS];
	int good[TPD_PRODUCT_MAX_SENSORS];
	double edges[TPD_PRODUCT_MAX_SENSORS];
	struct tpd_predict_event pev[TPD_PREDICT_MAX_TARGETS];
	unsigned npev;
	struct agent_recent *r;
	enum tpd_err rc = TPD_OK, rc2;

	a->stats.samples++;
	for (size_t i = 0; i < p->nsensors; i++) {
		double v = values[i];

		good[i] = !isnan(v) && v >= p->sensors[i].plaus_lo && v <= p->sensors[i].plaus_hi;
		if (good[i] && p->sensors[i].stuck_s > 0) {
			/* A live sensor jitters; one frozen at the same value is not live. */
			if (isnan(a->stuck_since[i]) || v != a->stuck_v[i]) {
				a->stuck_v[i] = v;
				a->stuck_since[i] = ts;
			} else if (ts - a->stuck_since[i] >= p->sensors[i].stuck_s) {
				good[i] = 0;
			}
		}
		clean[i] = good[i] ? v : NAN;
		edges[i] = p->sensors[i].kind == TPD_KIND_EVENT && clean[i] >= 0.5 &&
			   !(a->last_v[i] >= 0.5);
		if (edges[i] > 0)
			a->last_event_ts[i] = ts;
		a->last_v[i] = clean[i];
	}
	for (size_t i = 0; i < p->nsensors; i++) {
		const struct tpd_sensor_desc *s = &p->sensors[i];

		a->should_spin[i] = s->spin_sensor < 0 || clean[s->spin_sensor] > s->spin_above;
	}
	r = &a->recent[a->recent_head];
	r->ts = ts;
	memcpy(r->v, values, p->nsensors * sizeof(double));
	a->recent_head = (a->recent_head + 1) % AGENT_RECENT;
	if (a->nrecent < AGENT_RECENT)
		a->nrecent++;

	if (tpd_telem_due(&a->telem, ts)) {
		rc = agent_emit_telemetry(a);
		tpd_telem_reset(&a->telem, ts);
	}
	tpd_telem_add(&a->telem, ts, values, good);

	for (size_t i = 0; i < p->nsensors; i++) {
		struct tpd_threshold *d = &a->sfail[i];
		enum tpd_detect_event ev = tpd_threshold_step(d, ts, good[i] ? 0.0 : 1.0, TPD_GATE_ON);

		if (ev != TPD_DETECT_NONE) {
			rc2 = agent_emit_fault(a, ts, d->code, d->severity, ev == TPD_DETECT_RAISED,
					       (int)i, values[i], NAN, d->since_s, NULL);
			rc = rc ? rc : rc2;
		}
	}
	for (size_t k = 0; k < a->nthr; k++) {
		struct tpd_threshold *d = &a->thr[k];
		enum tpd_detect_event ev = tpd_threshold_step(d, ts, clean[d->sensor],
							      agent_gate(a, d, clean));

		if (ev != TPD_DETECT_NONE) {
			rc2 = agent_emit_fault(a, ts, d->code, d->severity, ev == TPD_DETECT_RAISED,
					       d->sensor, clean[d->sensor], d->limit, d->since_s, NULL);
			rc = rc ? rc : rc2;
		}
	}
	if (a->has_brownout) {
		struct tpd_brownout *b = &a->brownout;
		enum tpd_detect_event ev = tpd_brownout_step(b, ts, clean[b->sensor]);

		if (ev != TPD_DETECT_NONE) {
			rc2 = agent_emit_fault(a, ts, TPD_FAULT_PWR_BROWNOUT, TPD_SEV_WARNING,
					       ev == TPD_DETECT_RAISED, b->sensor,
					       tpd_brownout_in_window(b, ts), b->count, b->since_s, NULL);
			rc = rc ? rc : rc2;
		}
	}
	rc2 = agent_brownout_restart(a, ts, clean);
	rc = rc ? rc : rc2;
	/* Predictions change at most once an hour (predict.h). */
	npev = tpd_predict_sample(a->predict, ts, clean, edges, pev, TPD_PREDICT_MAX_TARGETS);
	for (unsigned k = 0; k < npev && !a->no_edge_predict; k++) {
		rc2 = agent_emit_fault(a, ts, pev[k].code, TPD_SEV_WARNING, pev[k].raised,
				       pev[k].sensor, pev[k].value, pev[k].limit, pev[k].since,
				       &pev[k]);
		rc = rc ? rc : rc2;
	}
	/* The boot self-check runs on the first readings. */
	if (!a->booted && p->nsteps > 0) {
		a->booted = true;
		rc2 = tpd_agent_selfcheck(a, ts, "boot");
		rc = rc ? rc : rc2;
	}
	return rc;
}

enum tpd_err tpd_agent_flush(struct tpd_agent *a)
{
	enum tpd_err rc = agent_emit_telemetry(a);

	if (!isnan(a->telem.start_s))
		tpd_telem_reset(&a->telem, a->telem.start_s);
	return rc;
}

enum tpd_err tpd_agent_status_json(struct tpd_agent *a, const char *state,
				   const char *boot_reason, double ts, char **out, size_t *len)
{
	uint64_t seq;
	cJSON *obj = agent_report_new(a, ts, &seq);
	enum tpd_err rc;

	*out = NULL;
	if (!obj)
		return TPD_ERR_NOMEM;
	if (!cJSON_AddStringToObject(obj, "state", state) ||
	    !cJSON_AddStringToObject(obj, "boot_reason", boot_reason ? boot_reason : "unknown")) {
		cJSON_Delete(obj);
		return TPD_ERR_NOMEM;
	}
	rc = tpd_report_print(obj, out, len);
	cJSON_Delete(obj);
	return rc;
}

/* A sensor's state for the technician: the worst active detector on it. */
static const char *agent_sensor_state(const struct tpd_agent *a, size_t i)
{
	const char *state = "ok";

	if (isnan(a->last_v[i]) || a->sfail[i].active)
		return "unreadable";
	for (size_t k = 0; k < a->nthr; k++) {
		if (a->thr[k].sensor != (int)i || !a->thr[k].active)
			continue;
		if (a->thr[k].severity == TPD_SEV_CRITICAL)
			return "fail";
		state = "warn";
	}
	return state;
}

static bool agent_add_limit(cJSON *o, const char *key, double v)
{
	return isnan(v) || tpd_json_add_num(o, key, v, 3);
}

enum tpd_err tpd_agent_live_json(const struct tpd_agent *a, char **out)
{
	const struct tpd_product *p = a->product;
	cJSON *o = cJSON_CreateObject(), *arr, *hist, *st;
	bool ok = o != NULL;

	*out = NULL;
	arr = ok ? cJSON_AddArrayToObject(o, "sensors") : NULL;
	ok = arr != NULL;
	for (size_t i = 0; ok && i < p->nsensors; i++) {
		const struct tpd_sensor_desc *s = &p->sensors[i];
		cJSON *x = cJSON_CreateObject();

		ok = x && cJSON_AddItemToArray(arr, x) && cJSON_AddStringToObject(x, "id", s->id) &&
		     cJSON_AddStringToObject(x, "label", s->label) &&
		     cJSON_AddStringToObject(x, "unit", tpd_sensor_kind_unit(s->kind)) &&
		     tpd_json_add_num(x, "value", a->last_v[i], 3) && agent_add_limit(x, "warn", s->warn) &&
		     agent_add_limit(x, "crit", s->crit) && agent_add_limit(x, "min", s->min) &&
		     agent_add_limit(x, "max", s->max) && agent_add_limit(x, "stall_rpm", s->stall_rpm) &&
		     cJSON_AddStringToObject(x, "state", agent_sensor_state(a, i));
	}
	hist = ok ? cJSON_AddArrayToObject(o, "faults") : NULL;
	ok = hist != NULL;
	for (unsigned k = 0; ok && k < a->nhist; k++) {
		const struct agent_fault_event *e =
			&a->hist[(a->hist_head + AGENT_HISTORY - a->nhist + k) % AGENT_HISTORY];
		cJSON *x = cJSON_CreateObject();

		ok = x && cJSON_AddItemToArray(hist, x) && tpd_json_add_num(x, "ts", e->ts, 3) &&
		     cJSON_AddStringToObject(x, "code", tpd_fault_code_name(e->code)) &&
		     cJSON_AddStringToObject(x, "state", e->raised ? "raised" : "cleared") &&
		     cJSON_AddStringToObject(x, "sensor", p->sensors[e->sensor].id) &&
		     tpd_json_add_num(x, "value", e->value, 3);
	}
	st = ok ? cJSON_AddObjectToObject(o, "counters") : NULL;
	ok = st && cJSON_AddNumberToObject(st, "samples", (double)a->stats.samples) &&
	     cJSON_AddNumberToObject(st, "telemetry", (double)a->stats.telemetry) &&
	     cJSON_AddNumberToObject(st, "faults_raised", (double)a->stats.faults_raised) &&
	     cJSON_AddNumberToObject(st, "faults_cleared", (double)a->stats.faults_cleared) &&
	     cJSON_AddNumberToObject(st, "active_faults", a->stats.active_faults) &&
	     cJSON_AddNumberToObject(st, "selfchecks", (double)a->stats.selfchecks) &&
	     cJSON_AddNumberToObject(st, "emit_failures", (double)a->stats.emit_failures) &&
	     (a->has_verdict ? cJSON_AddStringToObject(o, "selfcheck_verdict",
						       tpd_sc_verdict_name(a->last_verdict)) != NULL
			     : cJSON_AddNullToObject(o, "selfcheck_verdict") != NULL);
	if (ok)
		*out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return *out ? TPD_OK : TPD_ERR_NOMEM;
}

void tpd_agent_stats(const struct tpd_agent *a, struct tpd_agent_stats *out)
{
	*out = a->stats;
	out->seq_write_failures = a->seq.write_failures;
	out->seq_beyond = a->seq.beyond;
}

bool tpd_agent_seq_durable(struct tpd_agent *a)
{
	return tpd_seq_durable(&a->seq);
}
