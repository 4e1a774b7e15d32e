/*
 * tpd/product.h - a product described as data (boards/NAME.json).
 *
 * A product names its sensors (SPEC §4 names), their nominal values and the
 * limits that raise faults (SPEC §3). The description is a plain value: the
 * agent reads it, never writes it, and many agents may share one.
 *
 * JSON layout (every key optional unless marked):
 *   { "model": "archer-ax55" (required), "name": "...", "category": "router",
 *     "fw": "1.0.4", "sample_period_s": 1, "telemetry_period_s": 60,
 *     "sensors": [ (required, 1..32)
 *       { "id": "temp.cpu" (required), "label": "CPU", "nominal": 55,
 *         "warn": 85, "crit": 100,            temp.*: TEMP_HIGH / TEMP_CRITICAL
 *         "min": 11.4, "max": 13.2,           volt.*: PWR_UNDERVOLT / PWR_OVERVOLT
 *                                             curr.*, power.*: max -> PWR_OVERCURRENT
 *         "stall_rpm": 300,                   fan.*: FAN_STALL below this...
 *         "spin_when": {"sensor":"temp.cpu","above":45},  ...while this holds
 *         "brownout": {"count":3,"window_s":600},  event.undervoltage: PWR_BROWNOUT
 *         "hyst": 3, "debounce_s": 10, "fail_after_s": 30,
 *         "plausible": [-40, 150] } ],
 *     "predict": {"horizon_s": 604800,        edge forecast (src/predict.c): how far
 *                 "ambient": "temp.board"} }  ahead, and what stands for ambient
 */
#ifndef TPD_PRODUCT_H
#define TPD_PRODUCT_H

#include <stddef.h>

#include "tpd/err.h"
#include "tpd/selfcheck.h"
#include "tpd/wire.h"

#define TPD_PRODUCT_MAX_SENSORS 32
#define TPD_PRODUCT_MAX_BYTES (256 * 1024)

struct tpd_sensor_desc {
	char id[TPD_SENSOR_NAME_MAX];  /* "<kind>.<name>", SPEC §4 */
	char label[48];                /* for humans; may be empty */
	char source[96];               /* linux board: where to read it (board_linux.c),
	                                  e.g. "hwmon:coretemp/Package id 0"; may be empty */
	enum tpd_sensor_kind kind;
	/* Values below are in the kind's SPEC §4 unit; NAN = not set. */
	double nominal;
	double warn, crit;             /* temp: high limits */
	double min, max;               /* volt/curr/power: rail limits */
	double stall_rpm;              /* fan: below this counts as stopped */
	int spin_sensor;               /* fan: index of the sensor that says the fan
	                                  should spin, -1 = always */
	double spin_above;             /* ...when that sensor is above this */
	unsigned brownout_count;       /* event.undervoltage: events in window, 0 = off */
	double brownout_window_s;
	double hyst;                   /* clear this far inside the limit */
	double debounce_s;             /* condition must hold this long */
	double fail_after_s;           /* failed reads this long -> SENSOR_FAIL */
	double stuck_s;                /* the very same reading this long counts as a
	                                  failed read (a frozen ADC or driver); 0 = off */
	double plaus_lo, plaus_hi;     /* readings outside are implausible */
};

struct tpd_product {
	char model[TPD_ID_MAX + 1];
	char name[96];
	char category[32];
	char fw[32];
	double sample_period_s;
	double telemetry_period_s;
	size_t nsensors;
	struct tpd_sensor_desc sensors[TPD_PRODUCT_MAX_SENSORS];
	double predict_horizon_s;      /* raise a predictive fault this far ahead */
	int predict_ambient;           /* temp sensor standing for ambient, -1: none */
	size_t nsteps;                 /* self-check steps (tpd/selfcheck.h) */
	struct tpd_sc_step steps[TPD_SELFCHECK_MAX_STEPS];
};

/*
 * Parses a description from memory. name is used in messages. On failure
 * returns TPD_ERR_INVAL (or NOMEM) and writes one line into err naming
 * name, then line:column for JSON syntax or the field path for a bad value.
 * *out is written only on success.
 */
enum tpd_err tpd_product_parse(const char *json, size_t len, const char *name,
			       struct tpd_product *out, char *err, size_t errlen);

/* Reads and parses a file (at most TPD_PRODUCT_MAX_BYTES). */
enum tpd_err tpd_product_load(const char *path, struct tpd_product *out,
			      char *err, size_t errlen);

/*
 * Resolves --product NAME|FILE to a path: a value with a '/' or ending in
 * ".json" is a file; otherwise boards/NAME.json under each of dirs (a
 * NULL-terminated list) in order. TPD_ERR_NOTFOUND when none exists.
 */
enum tpd_err tpd_product_resolve(const char *name_or_file, const char *const *dirs,
				 char *path, size_t pathlen);

/* Index of a sensor by id, or -1. */
int tpd_product_find(const struct tpd_product *p, const char *id);

#endif
