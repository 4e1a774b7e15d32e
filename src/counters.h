/*
 * counters.h - lifetime stress counters of a product, kept in the state
 * directory (counters.json, rewritten atomically once a minute and at exit):
 * power-on time, time above a warning temperature, under-voltage events,
 * unclean restarts, and restarts that followed low input voltage (the
 * brownout forensics: a product that lost power while its rail sagged).
 */
#ifndef TPD_COUNTERS_H
#define TPD_COUNTERS_H

#include <stdbool.h>
#include <stdint.h>

#include "tpd/err.h"
#include "tpd/product.h"

#define TPD_COUNTERS_SAVE_S 60.0
#define TPD_COUNTERS_SAG_S 120.0   /* low input this recently before a crash counts */

struct tpd_counters {
	double power_on_s;
	double above_warn_s;          /* any temperature sensor above its warning limit */
	uint64_t undervoltage_events; /* rising edges of event.undervoltage */
	uint64_t unclean_restarts;
	uint64_t brownout_restarts;   /* unclean restarts right after low input voltage */
	double last_low_vin_ts;       /* last time volt.* was below its min (0: never) */
	double last_saved_ts;
	/* run state (not saved) */
	double prev_ts;
	bool prev_uv;
	bool brownout_now;            /* this start followed a sag */
};

/* Loads dir/counters.json (absent or unreadable: zeros); an unclean start
 * is counted, and it is a brownout restart when low input voltage was seen
 * within TPD_COUNTERS_SAG_S of the last save. */
void tpd_counters_open(struct tpd_counters *c, const char *dir, bool unclean);
/* Accounts one sample (values as the board gave them, NAN failed). */
void tpd_counters_sample(struct tpd_counters *c, const struct tpd_product *p, double ts,
			 const double *values);
/* Saves when due (force: now). */
enum tpd_err tpd_counters_save(struct tpd_counters *c, const char *dir, double ts, bool force);
/* The counters as a JSON object text (malloc'ed). */
char *tpd_counters_json(const struct tpd_counters *c);

#endif
