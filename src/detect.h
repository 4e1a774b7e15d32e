/*
 * detect.h - fault detectors: pure state machines over (time, value) samples.
 *
 * A threshold detector raises when its condition has held for debounce_s and
 * clears when the value has been back inside the limit by hyst for debounce_s.
 * A brownout detector counts rising edges of an event flag in a sliding window.
 * Detectors are plain values with no allocation: the agent embeds them.
 */
#ifndef TPD_DETECT_H
#define TPD_DETECT_H

#include <stdbool.h>

#include "tpd/wire.h"

enum tpd_detect_event { TPD_DETECT_NONE, TPD_DETECT_RAISED, TPD_DETECT_CLEARED };

/* Gate of a conditional detector (FAN_STALL: "while it should spin"). */
enum tpd_gate { TPD_GATE_OFF = 0, TPD_GATE_ON = 1, TPD_GATE_UNKNOWN = -1 };

struct tpd_threshold {
	/* configuration */
	enum tpd_fault_code code;
	enum tpd_severity severity;
	int sensor;          /* product sensor index */
	bool above;          /* fault when value > limit (else value < limit) */
	double limit;        /* in the sensor's unit */
	double hyst;         /* clear only this far back inside the limit */
	double debounce_s;   /* raise and clear only after this long */
	/* state */
	bool active;
	double pending_s;    /* when the pending raise/clear condition began, NAN none */
	double since_s;      /* when the active fault's condition began */
};

#define TPD_BROWNOUT_MAX_EVENTS 64

struct tpd_brownout {
	int sensor;
	unsigned count;      /* events within window_s that raise */
	double window_s;
	bool active;
	bool last_flag;
	unsigned n;          /* events held in ring */
	unsigned head;
	double ring[TPD_BROWNOUT_MAX_EVENTS];
	double since_s;
};

void tpd_threshold_init(struct tpd_threshold *d, enum tpd_fault_code code,
			enum tpd_severity sev, int sensor, bool above, double limit,
			double hyst, double debounce_s);

/*
 * Feeds one sample. value NAN (a failed read) changes nothing: neither a raise
 * nor a clear can complete on missing data. gate OFF means the condition does
 * not apply (and lets an active fault clear); UNKNOWN changes nothing.
 */
enum tpd_detect_event tpd_threshold_step(struct tpd_threshold *d, double t_s,
					 double value, enum tpd_gate gate);

void tpd_brownout_init(struct tpd_brownout *b, int sensor, unsigned count, double window_s);

/* Feeds the event flag (0/1, NAN = failed read). Raises when count rising edges
 * fall within window_s; clears when a whole window passes with none. */
enum tpd_detect_event tpd_brownout_step(struct tpd_brownout *b, double t_s, double flag);

/* Events currently inside the window ending at t_s. */
unsigned tpd_brownout_in_window(const struct tpd_brownout *b, double t_s);

#endif
