/*
 * tpd/wire.h - the external contract of SPEC.md sections 2-4 as C: topics, device
 * ids, fault codes and their classes, sensor kinds and units, payload limits.
 *
 * Everything here is constant data and pure functions: safe from any thread.
 */
#ifndef TPD_WIRE_H
#define TPD_WIRE_H

#include <stdbool.h>
#include <stddef.h>

#include "tpd/err.h"

#define TPD_WIRE_VERSION 1
#define TPD_ID_MAX 64            /* device id: [A-Za-z0-9_-]{1,64} */
#define TPD_TOPIC_MAX 96         /* "tp/v1/" + id + "/" + kind, with room */
#define TPD_PAYLOAD_MAX 65536    /* largest report we send or accept, bytes */
#define TPD_SENSOR_NAME_MAX 48   /* "<kind>.<name>" */

/* The topic kinds of SPEC §2. */
enum tpd_topic_kind {
	TPD_TOPIC_TELEMETRY,
	TPD_TOPIC_FAULT,
	TPD_TOPIC_SELFCHECK,
	TPD_TOPIC_STATUS,
	TPD_TOPIC_CMD,
	TPD_TOPIC_KIND_COUNT
};

/* Fault codes of SPEC §3, in the table's order. */
enum tpd_fault_code {
	TPD_FAULT_PWR_UNDERVOLT,
	TPD_FAULT_PWR_OVERVOLT,
	TPD_FAULT_PWR_BROWNOUT,
	TPD_FAULT_PWR_OVERCURRENT,
	TPD_FAULT_PWR_DEGRADING,
	TPD_FAULT_TEMP_HIGH,
	TPD_FAULT_TEMP_CRITICAL,
	TPD_FAULT_TEMP_RISING,
	TPD_FAULT_FAN_STALL,
	TPD_FAULT_FAN_DEGRADED,
	TPD_FAULT_SENSOR_FAIL,
	TPD_FAULT_BOOT_LOOP,
	TPD_FAULT_CODE_COUNT
};

enum tpd_fault_class {
	TPD_CLASS_POWER,
	TPD_CLASS_THERMAL,
	TPD_CLASS_SENSOR,
	TPD_CLASS_SYSTEM,
	TPD_CLASS_COUNT
};

enum tpd_severity { TPD_SEV_INFO, TPD_SEV_WARNING, TPD_SEV_CRITICAL };

/* Sensor kinds of SPEC §4; the unit is implied by the kind. */
enum tpd_sensor_kind {
	TPD_KIND_TEMP,  /* °C */
	TPD_KIND_VOLT,  /* V */
	TPD_KIND_CURR,  /* A */
	TPD_KIND_POWER, /* W */
	TPD_KIND_FAN,   /* rpm */
	TPD_KIND_LOAD,  /* 0..1 */
	TPD_KIND_EVENT, /* 0/1 flag */
	TPD_KIND_COUNT
};

const char *tpd_topic_kind_name(enum tpd_topic_kind kind);

/* True when id matches [A-Za-z0-9_-]{1,64}. */
bool tpd_id_valid(const char *id);

/* Writes "tp/v1/{id}/{kind}" into buf. TPD_ERR_INVAL for a bad id,
 * TPD_ERR_TOOBIG when buf is too small. */
enum tpd_err tpd_topic_format(char *buf, size_t len, const char *id,
			      enum tpd_topic_kind kind);

/* Splits "tp/v1/{id}/{kind}": copies the id into id_out (TPD_ID_MAX + 1 bytes)
 * and sets *kind. TPD_ERR_INVAL for anything else. */
enum tpd_err tpd_topic_parse(const char *topic, char *id_out,
			     enum tpd_topic_kind *kind);

const char *tpd_fault_code_name(enum tpd_fault_code code);
enum tpd_err tpd_fault_code_parse(const char *name, enum tpd_fault_code *out);
enum tpd_fault_class tpd_fault_code_class(enum tpd_fault_code code);
bool tpd_fault_code_predictive(enum tpd_fault_code code);

const char *tpd_fault_class_name(enum tpd_fault_class cls);
enum tpd_err tpd_fault_class_parse(const char *name, enum tpd_fault_class *out);

const char *tpd_severity_name(enum tpd_severity sev);
enum tpd_err tpd_severity_parse(const char *name, enum tpd_severity *out);

/* Parses the kind prefix of "<kind>.<name>"; TPD_ERR_INVAL when the name is not
 * of that form (kind known, name 1+ chars of [a-z0-9_], whole <= 47 chars). */
enum tpd_err tpd_sensor_kind_parse(const char *sensor, enum tpd_sensor_kind *out);
const char *tpd_sensor_kind_unit(enum tpd_sensor_kind kind);

#endif
