/*
 * fleet.h - the collector's predictive engine: failures forecast from the
 * fleet's telemetry, before the device itself notices.
 *
 * Per device it runs the same forecast the agent runs on the product
 * (src/predict.h: the thermal slope and the fan's speed at the same demand
 * against the device's early life, rail sag under load and a CUSUM on the
 * under-voltage rate), fed with one row per telemetry period (averages; the
 * rail's minimum; the period's event count). It needs the product
 * description of the model (boards/MODEL.json).
 *
 * Fleet-relative (fleet.c note 3): when a whole model moves (a firmware
 * change every device shares), a device is reported only when it stands out
 * from its model; a season, which moves no device's ratios, hides nobody.
 *
 * State per device: its id, the model and the forecast (tpd_predict_size,
 * about 5 KB a router). With a persist hook (tpc_fleet_set_persist) the
 * engine keeps a bounded number of devices in memory: a device idle for a
 * while, or the least recently seen when the bound is reached, is saved
 * and let go, and read back when its telemetry comes again (fleet.c note
 * 4); tpc_fleet_save_all at a clean stop keeps the forecasts over a
 * restart. Without one, every device stays in memory and a restart learns
 * again (three days of hours).
 */
#ifndef TPC_FLEET_H
#define TPC_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpd/err.h"
#include "tpd/wire.h"
#include "ingest.h"

struct tpc_fleet;

/* A forecast the engine made, or its reversal. */
struct tpc_prediction {
	char dev[TPD_ID_MAX + 1];
	char model[TPD_ID_MAX + 1];
	enum tpd_fault_code code;       /* TEMP_RISING, FAN_DEGRADED, PWR_DEGRADING */
	char sensor[TPD_SENSOR_NAME_MAX];
	bool raised;                    /* false: the trend reversed */
	double ts;                      /* device time of the telemetry that decided it */
	double value, limit;            /* the forecast quantity now, the limit it nears */
	double eta_s, eta_early_s, eta_late_s; /* ETA and its band (slope -+ 2 se) */
	double slope_per_day, slope_se_per_day; /* NAN for the event rate */
	double baseline, now;           /* the detector's basis (tpd_predict_event), NAN: none */
	bool excess;                    /* ...the excess over a reference sensor, C */
	double fleet_center;            /* the model's mean excess (fleet.c note 3), NAN: too few */
	unsigned fleet_n;               /* devices of the model that have learned */
	double hours;                   /* rows behind the fit */
	double confidence;              /* 0..1, from the drift's standard errors */
};

/* dirs: NULL-terminated folders holding MODEL.json descriptions. */
/* threshold: the forecast's decision threshold (predict.h; 0: its default). */
enum tpd_err tpc_fleet_new(const char *const *dirs, double threshold, struct tpc_fleet **out);
void tpc_fleet_free(struct tpc_fleet *f);

/* Feeds one stored (not duplicate) telemetry report that arrived at now
 * (the caller's clock, which idleness is judged by). Writes up to max
 * predictions decided by it (an hour closing) into out; returns how many. */
unsigned tpc_fleet_telemetry(struct tpc_fleet *f, const struct tpc_report *r, double now,
			     struct tpc_prediction *out, unsigned max);

/* Where a device's state goes when the engine lets it go: opaque bytes,
 * valid for the same build (a changed layout or product is not read back
 * and the device learns again). */
struct tpc_fleet_persist {
	void *ctx;
	enum tpd_err (*save)(void *ctx, const char *dev, const void *state, size_t len);
	/* TPD_ERR_NOTFOUND: none saved; *state is malloc'd, the engine frees it */
	enum tpd_err (*load)(void *ctx, const char *dev, void **state, size_t *len);
};

/* Bounds the engine's memory: at most max_resident devices in memory (0: no
 * bound), and a device without telemetry for idle_s (0: never) let go by
 * tpc_fleet_evict_idle. p is copied. */
void tpc_fleet_set_persist(struct tpc_fleet *f, const struct tpc_fleet_persist *p, double idle_s,
			   size_t max_resident);

/* Is a device idle since before now - idle_s (tpc_fleet_evict_idle has work)? */
bool tpc_fleet_idle(const struct tpc_fleet *f, double now);

/* Saves and lets go of up to max devices idle since before now - idle_s,
 * least recently seen first; returns how many went. A device whose save
 * fails stays (counted in save_failed) and ends the pass. */
size_t tpc_fleet_evict_idle(struct tpc_fleet *f, double now, size_t max);

/* Saves every device in memory (a clean stop); returns how many failed. */
size_t tpc_fleet_save_all(struct tpc_fleet *f);

struct tpc_fleet_stats {
	size_t resident;                /* devices in memory */
	size_t bytes;                   /* ...and their state */
	uint64_t evicted, restored;     /* saved and let go; read back */
	uint64_t save_failed;           /* saves refused (the device stayed) */
	uint64_t discarded;             /* saved states not read back (another layout) */
};
void tpc_fleet_stats(const struct tpc_fleet *f, struct tpc_fleet_stats *out);

/* Devices in memory and the bytes their state takes (for make bench). */
void tpc_fleet_size(const struct tpc_fleet *f, size_t *devices, size_t *bytes);

#endif
