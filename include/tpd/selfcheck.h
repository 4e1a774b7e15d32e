/*
 * tpd/selfcheck.h - self-check troubleshooting as data: the steps support
 * would walk a customer through ("is the power stable? is it overheating?
 * is the fan spinning?"), described per product in boards/NAME.json:
 *
 *   "selfcheck": [
 *     {"id": "power.input", "check": "rail", "sensor": "volt.vin",
 *      "fail": "user_fixable", "hint": {"en": "...", "zh": "..."}},
 *     {"id": "power.stable", "check": "no_events", "sensor": "event.undervoltage",
 *      "window_s": 600, "fail": "user_fixable", "hint": {...}},
 *     {"id": "thermal.cpu", "check": "below_warn", "sensor": "temp.cpu", ...},
 *     {"id": "fan.main", "check": "fan_spins", "sensor": "fan.main",
 *      "only_if_pass": "power.input", "fail": "needs_service", ...},
 *     {"id": "sensors", "check": "readable", "fail": "needs_service", ...},
 *     {"id": "thermal.load", "check": "temp_for_load", "sensor": "temp.cpu", ...},
 *     {"id": "restarts", "check": "clean_restarts", "count": 3,
 *      "window_s": 86400, "fail": "needs_service", ...}]
 *
 * temp_for_load compares a temperature with what the device's own recent
 * history says it should be at the current load and ambient (the edge
 * forecast's regression, predict.h); it is skipped while that is still being
 * learned. clean_restarts fails on "count" or more unclean restarts (power
 * lost or crashed: no clean-shutdown record) within window_s.
 *
 * Steps run in order; "only_if_pass" makes a tree: the step is skipped
 * unless that earlier step passed. A failing step's "fail" (user_fixable or
 * needs_service) sets the verdict; the worst one wins; no failure is "ok".
 */
#ifndef TPD_SELFCHECK_H
#define TPD_SELFCHECK_H

#include <stdbool.h>
#include <stddef.h>

#define TPD_SELFCHECK_MAX_STEPS 16

enum tpd_sc_check { TPD_SC_RAIL, TPD_SC_NO_EVENTS, TPD_SC_BELOW_WARN, TPD_SC_FAN_SPINS,
		    TPD_SC_READABLE, TPD_SC_TEMP_FOR_LOAD, TPD_SC_CLEAN_RESTARTS };
#define TPD_SC_CHECK_LAST TPD_SC_CLEAN_RESTARTS
#define TPD_SC_MAX_RESTARTS 8   /* unclean restart times the agent keeps */
enum tpd_sc_verdict { TPD_SC_OK, TPD_SC_USER_FIXABLE, TPD_SC_NEEDS_SERVICE };
enum tpd_sc_result { TPD_SC_PASS, TPD_SC_FAIL, TPD_SC_SKIP };

struct tpd_sc_step {
	char id[48];
	enum tpd_sc_check check;
	int sensor;                 /* product sensor index; -1 for readable, clean_restarts */
	double window_s;            /* no_events, clean_restarts: how far back (s) */
	unsigned count;             /* clean_restarts: this many fail */
	enum tpd_sc_verdict fail;   /* what a failure means */
	int only_if_pass;           /* earlier step index, -1: always run */
	char hint_en[320], hint_zh[320];
};

/* What a step found. */
struct tpd_sc_outcome {
	enum tpd_sc_result result;
	char detail[192];           /* the numbers */
};

struct tpd_product;
struct cJSON;

/* What the agent knows at the moment of a self-check. */
struct tpd_sc_input {
	const struct tpd_product *product;
	const double *value;          /* latest reading per sensor, NAN: failed */
	const double *last_event_ts;  /* per sensor: last rising edge, NAN: none */
	const bool *should_spin;      /* per sensor (fans): hot enough to need it */
	const double *expected;       /* per sensor: what load and ambient predict, NAN: learning */
	const double *expected_tol;   /* per sensor: how far above that is still normal */
	const double *restart_ts;     /* unclean restarts, oldest first */
	unsigned nrestarts;
	double now;
};

/* Runs the product's steps in order into out[0..nsteps-1]; returns the verdict. */
enum tpd_sc_verdict tpd_selfcheck_run(const struct tpd_sc_input *in, struct tpd_sc_outcome *out);

/* {"trigger","steps":[{"id","result","detail","hint","hint_zh"}],"verdict"}
 * (SPEC §2) added to obj; false when out of memory. */
bool tpd_selfcheck_to_json(const struct tpd_product *p, const char *trigger,
			   const struct tpd_sc_outcome *out, enum tpd_sc_verdict v,
			   struct cJSON *obj);

const char *tpd_sc_check_name(enum tpd_sc_check c);
bool tpd_sc_check_parse(const char *s, enum tpd_sc_check *out);
const char *tpd_sc_verdict_name(enum tpd_sc_verdict v);
const char *tpd_sc_result_name(enum tpd_sc_result r);

#endif
