/*
 * selfcheck.c - running a product's self-check steps over what the agent
 * knows, and the report body (see tpd/selfcheck.h).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "tpd/product.h"
#include "tpd/selfcheck.h"

static const char *const sc_checks[] = {
	[TPD_SC_RAIL] = "rail", [TPD_SC_NO_EVENTS] = "no_events", [TPD_SC_BELOW_WARN] = "below_warn",
	[TPD_SC_FAN_SPINS] = "fan_spins", [TPD_SC_READABLE] = "readable",
	[TPD_SC_TEMP_FOR_LOAD] = "temp_for_load", [TPD_SC_CLEAN_RESTARTS] = "clean_restarts",
};

const char *tpd_sc_check_name(enum tpd_sc_check c)
{
	return (unsigned)c <= TPD_SC_CHECK_LAST ? sc_checks[c] : "?";
}

bool tpd_sc_check_parse(const char *s, enum tpd_sc_check *out)
{
	for (int i = 0; i <= TPD_SC_CHECK_LAST; i++) {
		if (strcmp(s, sc_checks[i]) == 0) {
			*out = (enum tpd_sc_check)i;
			return true;
		}
	}
	return false;
}

const char *tpd_sc_verdict_name(enum tpd_sc_verdict v)
{
	return v == TPD_SC_NEEDS_SERVICE ? "needs_service" : v == TPD_SC_USER_FIXABLE ? "user_fixable"
										: "ok";
}

const char *tpd_sc_result_name(enum tpd_sc_result r)
{
	return r == TPD_SC_PASS ? "pass" : r == TPD_SC_FAIL ? "fail" : "skip";
}

static const char *sc_unit(const struct tpd_sensor_desc *s)
{
	const char *u = tpd_sensor_kind_unit(s->kind);

	return u ? u : "";
}

/* One step. Sets result and a detail line with the numbers. */
static void sc_step(const struct tpd_sc_input *in, const struct tpd_sc_step *st,
		    struct tpd_sc_outcome *o)
{
	const struct tpd_product *p = in->product;
	const struct tpd_sensor_desc *s = st->sensor >= 0 ? &p->sensors[st->sensor] : NULL;
	double v = st->sensor >= 0 ? in->value[st->sensor] : NAN;

	o->result = TPD_SC_PASS;
	o->detail[0] = '\0';
	if (st->check == TPD_SC_READABLE) {
		size_t used = 0;

		for (size_t i = 0; i < p->nsensors; i++) {
			if (!isnan(in->value[i]) || p->sensors[i].kind == TPD_KIND_EVENT)
				continue;
			o->result = TPD_SC_FAIL;
			used += (size_t)snprintf(o->detail + used, used < sizeof(o->detail)
						 ? sizeof(o->detail) - used : 0, "%s%s",
						 used ? ", " : "unreadable: ", p->sensors[i].id);
		}
		if (o->result == TPD_SC_PASS)
			snprintf(o->detail, sizeof(o->detail), "all %zu sensors read", p->nsensors);
		return;
	}
	if (st->check == TPD_SC_CLEAN_RESTARTS) {
		unsigned n = 0;

		for (unsigned i = 0; i < in->nrestarts; i++)
			n += in->now - in->restart_ts[i] <= st->window_s;
		if (n >= st->count)
			o->result = TPD_SC_FAIL;
		snprintf(o->detail, sizeof(o->detail), "%u unclean restart%s in the last %.0f s "
			 "(%u or more fail)", n, n == 1 ? "" : "s", st->window_s, st->count);
		return;
	}
	if (st->check == TPD_SC_NO_EVENTS) {
		double last = in->last_event_ts[st->sensor];

		if (!isnan(last) && in->now - last < st->window_s) {
			o->result = TPD_SC_FAIL;
			snprintf(o->detail, sizeof(o->detail), "%s %.0f s ago (window %.0f s)", s->id,
				 in->now - last, st->window_s);
		} else {
			snprintf(o->detail, sizeof(o->detail), "no %s in the last %.0f s", s->id,
				 st->window_s);
		}
		return;
	}
	if (isnan(v)) {
		o->result = TPD_SC_SKIP;
		snprintf(o->detail, sizeof(o->detail), "%s unreadable", s->id);
		return;
	}
	switch (st->check) {
	case TPD_SC_RAIL:
		if ((!isnan(s->min) && v < s->min) || (!isnan(s->max) && v > s->max))
			o->result = TPD_SC_FAIL;
		snprintf(o->detail, sizeof(o->detail), "%s %g %s (allowed %g..%g)", s->id, v, sc_unit(s),
			 isnan(s->min) ? -INFINITY : s->min, isnan(s->max) ? INFINITY : s->max);
		break;
	case TPD_SC_BELOW_WARN:
		if (v >= s->warn)
			o->result = TPD_SC_FAIL;
		snprintf(o->detail, sizeof(o->detail), "%s %g %s (warning at %g)", s->id, v, sc_unit(s),
			 s->warn);
		break;
	case TPD_SC_TEMP_FOR_LOAD: {
		double e = in->expected ? in->expected[st->sensor] : NAN;
		double tol = in->expected_tol ? in->expected_tol[st->sensor] : NAN;

		if (isnan(e) || isnan(tol)) {
			o->result = TPD_SC_SKIP;
			snprintf(o->detail, sizeof(o->detail), "%s %g %s; normal for this load still "
				 "being learned", s->id, v, sc_unit(s));
		} else {
			if (v > e + tol)
				o->result = TPD_SC_FAIL;
			snprintf(o->detail, sizeof(o->detail), "%s %g %s; %.1f +- %.1f %s expected at "
				 "this load and ambient", s->id, v, sc_unit(s), e, tol, sc_unit(s));
		}
		break;
	}
	case TPD_SC_FAN_SPINS:
		if (!in->should_spin[st->sensor]) {
			o->result = TPD_SC_SKIP;
			snprintf(o->detail, sizeof(o->detail), "%s %g %s; not hot enough to need it", s->id,
				 v, sc_unit(s));
		} else {
			if (v < s->stall_rpm)
				o->result = TPD_SC_FAIL;
			snprintf(o->detail, sizeof(o->detail), "%s %g %s while hot (stopped below %g)",
				 s->id, v, sc_unit(s), s->stall_rpm);
		}
		break;
	default:
		break;
	}
}

enum tpd_sc_verdict tpd_selfcheck_run(const struct tpd_sc_input *in, struct tpd_sc_outcome *out)
{
	const struct tpd_product *p = in->product;
	enum tpd_sc_verdict verdict = TPD_SC_OK;

	for (size_t i = 0; i < p->nsteps; i++) {
		const struct tpd_sc_step *st = &p->steps[i];

		if (st->only_if_pass >= 0 && out[st->only_if_pass].result != TPD_SC_PASS) {
			out[i].result = TPD_SC_SKIP;
			snprintf(out[i].detail, sizeof(out[i].detail), "skipped: %s did not pass",
				 p->steps[st->only_if_pass].id);
			continue;
		}
		sc_step(in, st, &out[i]);
		if (out[i].result == TPD_SC_FAIL && st->fail > verdict)
			verdict = st->fail;
	}
	return verdict;
}

bool tpd_selfcheck_to_json(const struct tpd_product *p, const char *trigger,
			   const struct tpd_sc_outcome *out, enum tpd_sc_verdict v, cJSON *obj)
{
	cJSON *steps;

	if (!cJSON_AddStringToObject(obj, "trigger", trigger))
		return false;
	steps = cJSON_AddArrayToObject(obj, "steps");
	if (!steps)
		return false;
	for (size_t i = 0; i < p->nsteps; i++) {
		cJSON *s = cJSON_CreateObject();

		if (!s || !cJSON_AddItemToArray(steps, s) ||
		    !cJSON_AddStringToObject(s, "id", p->steps[i].id) ||
		    !cJSON_AddStringToObject(s, "result", tpd_sc_result_name(out[i].result)) ||
		    !cJSON_AddStringToObject(s, "detail", out[i].detail))
			return false;
		/* A hint says what to do about a failure; a pass needs none. */
		if (out[i].result == TPD_SC_FAIL &&
		    (!cJSON_AddStringToObject(s, "hint", p->steps[i].hint_en) ||
		     !cJSON_AddStringToObject(s, "hint_zh", p->steps[i].hint_zh)))
			return false;
	}
	return cJSON_AddStringToObject(obj, "verdict", tpd_sc_verdict_name(v)) != NULL;
}
