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
	uint64_t starts;              /* tpdiagd starts, clean or not (this one included) */
	double power_on_s;
	double above_warn_s;          /* any temperature sensor above its warning limit */
	uint64_t undervoltage_events; /* rising edges of event.undervoltage */
	uint64_t unclean_restarts;
	uint64_t brownout_restarts;   /* unclean restarts right after low input voltage */
	double last_low_vin_ts;       /* last time volt.* was below its min (0: never) */
	double last_low_vin_v;        /* lowest reading of that sag, in V */
	char last_low_vin_sensor[TPD_SENSOR_NAME_MAX]; /* which rail */
	double restart_ts[TPD_SC_MAX_RESTARTS]; /* unclean restarts (when the run before
	                                  stopped), oldest first */
	unsigned nrestarts;
	char boot_id[40];             /* the kernel's boot id of the run that saved */
	double last_saved_ts;
	/* run state (not saved) */
	double save_every_s;          /* save at most this often (0: TPD_COUNTERS_SAVE_S);
	                                 a flash-friendly product sets an hour */
	double prev_ts;
	bool prev_uv;
	bool rebooted;                /* the boot id changed since the last run */
	bool brownout_now;            /* this start followed a sag... */
	double brownout_seen_ts;      /* ...read then (the sag is consumed: last_low_vin_ts 0) */
};

/* Loads dir/counters.json (absent or unreadable: zeros). An unclean start
 * is counted (at the time the previous run last saved). It is a brownout
 * restart when the product rebooted (boot_id differs from the saved one; an
 * empty boot_id: unknown, taken as rebooted) and low input voltage was seen
 * within TPD_COUNTERS_SAG_S of the last save. The caller saves right after
 * (tpd_counters_save with force), so this start is on record even if the
 * next stop comes before any sample. */
void tpd_counters_open(struct tpd_counters *c, const char *dir, bool unclean,
		       const char *boot_id);
/* Accounts one sample (values as the board gave them, NAN failed). Returns
 * true when a sag of the input just began: save now, since power may be
 * about to go (the brownout evidence). */
bool tpd_counters_sample(struct tpd_counters *c, const struct tpd_product *p, double ts,
			 const double *values);
/* Saves when due (force: now). */
enum tpd_err tpd_counters_save(struct tpd_counters *c, const char *dir, double ts, bool force);
/* The counters as a JSON object text (malloc'ed). */
char *tpd_counters_json(const struct tpd_counters *c);

#endif
