/*
 * wire.c - SPEC §2-4 tables: topic names, fault codes, classes, sensor kinds.
 *
 * Layout: topic helpers, then the fault-code table, then sensor kinds.
 */
#include <string.h>
#include <stdio.h>

#include "tpd/wire.h"

static const char *const wire_topic_kinds[TPD_TOPIC_KIND_COUNT] = {
	[TPD_TOPIC_TELEMETRY] = "telemetry",
	[TPD_TOPIC_FAULT] = "fault",
	[TPD_TOPIC_SELFCHECK] = "selfcheck",
	[TPD_TOPIC_STATUS] = "status",
	[TPD_TOPIC_CMD] = "cmd",
};

const char *tpd_topic_kind_name(enum tpd_topic_kind kind)
{
	if ((unsigned)kind >= TPD_TOPIC_KIND_COUNT)
		return "?";
	return wire_topic_kinds[kind];
}

static bool wire_id_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-';
}

bool tpd_id_valid(const char *id)
{
	size_t n = 0;

	if (!id)
		return false;
	for (; id[n]; n++) {
		if (n >= TPD_ID_MAX || !wire_id_char(id[n]))
			return false;
	}
	return n > 0;
}

enum tpd_err tpd_topic_format(char *buf, size_t len, const char *id,
			      enum tpd_topic_kind kind)
{
	int n;

	if (!tpd_id_valid(id) || (unsigned)kind >= TPD_TOPIC_KIND_COUNT)
		return TPD_ERR_INVAL;
	n = snprintf(buf, len, "tp/v1/%s/%s", id, wire_topic_kinds[kind]);
	if (n < 0 || (size_t)n >= len)
		return TPD_ERR_TOOBIG;
	return TPD_OK;
}

enum tpd_err tpd_topic_parse(const char *topic, char *id_out,
			     enum tpd_topic_kind *kind)
{
	const char *id, *slash;
	size_t idlen;

	if (!topic || strncmp(topic, "tp/v1/", 6) != 0)
		return TPD_ERR_INVAL;
	id = topic + 6;
	slash = strchr(id, '/');
	if (!slash)
		return TPD_ERR_INVAL;
	idlen = (size_t)(slash - id);
	if (idlen == 0 || idlen > TPD_ID_MAX)
		return TPD_ERR_INVAL;
	memcpy(id_out, id, idlen);
	id_out[idlen] = '\0';
	if (!tpd_id_valid(id_out))
		return TPD_ERR_INVAL;
	for (int k = 0; k < TPD_TOPIC_KIND_COUNT; k++) {
		if (strcmp(slash + 1, wire_topic_kinds[k]) == 0) {
			*kind = (enum tpd_topic_kind)k;
			return TPD_OK;
		}
	}
	return TPD_ERR_INVAL;
}

/* SPEC §3, row for row. */
static const struct wire_fault_row {
	const char *name;
	enum tpd_fault_class cls;
	bool predictive;
} wire_faults[TPD_FAULT_CODE_COUNT] = {
	[TPD_FAULT_PWR_UNDERVOLT] = { "PWR_UNDERVOLT", TPD_CLASS_POWER, false },
	[TPD_FAULT_PWR_OVERVOLT] = { "PWR_OVERVOLT", TPD_CLASS_POWER, false },
	[TPD_FAULT_PWR_BROWNOUT] = { "PWR_BROWNOUT", TPD_CLASS_POWER, false },
	[TPD_FAULT_PWR_OVERCURRENT] = { "PWR_OVERCURRENT", TPD_CLASS_POWER, false },
	[TPD_FAULT_PWR_DEGRADING] = { "PWR_DEGRADING", TPD_CLASS_POWER, true },
	[TPD_FAULT_TEMP_HIGH] = { "TEMP_HIGH", TPD_CLASS_THERMAL, false },
	[TPD_FAULT_TEMP_CRITICAL] = { "TEMP_CRITICAL", TPD_CLASS_THERMAL, false },
	[TPD_FAULT_TEMP_RISING] = { "TEMP_RISING", TPD_CLASS_THERMAL, true },
	[TPD_FAULT_FAN_STALL] = { "FAN_STALL", TPD_CLASS_THERMAL, false },
	[TPD_FAULT_FAN_DEGRADED] = { "FAN_DEGRADED", TPD_CLASS_THERMAL, true },
	[TPD_FAULT_SENSOR_FAIL] = { "SENSOR_FAIL", TPD_CLASS_SENSOR, false },
	[TPD_FAULT_BOOT_LOOP] = { "BOOT_LOOP", TPD_CLASS_SYSTEM, false },
};

const char *tpd_fault_code_name(enum tpd_fault_code code)
{
	if ((unsigned)code >= TPD_FAULT_CODE_COUNT)
		return "?";
	return wire_faults[code].name;
}

enum tpd_err tpd_fault_code_parse(const char *name, enum tpd_fault_code *out)
{
	for (int i = 0; name && i < TPD_FAULT_CODE_COUNT; i++) {
		if (strcmp(name, wire_faults[i].name) == 0) {
			*out = (enum tpd_fault_code)i;
			return TPD_OK;
		}
	}
	return TPD_ERR_INVAL;
}

enum tpd_fault_class tpd_fault_code_class(enum tpd_fault_code code)
{
	if ((unsigned)code >= TPD_FAULT_CODE_COUNT)
		return TPD_CLASS_SYSTEM;
	return wire_faults[code].cls;
}

bool tpd_fault_code_predictive(enum tpd_fault_code code)
{
	return (unsigned)code < TPD_FAULT_CODE_COUNT && wire_faults[code].predictive;
}

static const char *const wire_classes[TPD_CLASS_COUNT] = {
	[TPD_CLASS_POWER] = "power",
	[TPD_CLASS_THERMAL] = "thermal",
	[TPD_CLASS_SENSOR] = "sensor",
	[TPD_CLASS_SYSTEM] = "system",
};

const char *tpd_fault_class_name(enum tpd_fault_class cls)
{
	if ((unsigned)cls >= TPD_CLASS_COUNT)
		return "?";
	return wire_classes[cls];
}

enum tpd_err tpd_fault_class_parse(const char *name, enum tpd_fault_class *out)
{
	for (int i = 0; name && i < TPD_CLASS_COUNT; i++) {
		if (strcmp(name, wire_classes[i]) == 0) {
			*out = (enum tpd_fault_class)i;
			return TPD_OK;
		}
	}
	return TPD_ERR_INVAL;
}

static const char *const wire_severities[] = {
	[TPD_SEV_INFO] = "info",
	[TPD_SEV_WARNING] = "warning",
	[TPD_SEV_CRITICAL] = "critical",
};

const char *tpd_severity_name(enum tpd_severity sev)
{
	if ((unsigned)sev > TPD_SEV_CRITICAL)
		return "?";
	return wire_severities[sev];
}

enum tpd_err tpd_severity_parse(const char *name, enum tpd_severity *out)
{
	for (int i = 0; name && i <= TPD_SEV_CRITICAL; i++) {
		if (strcmp(name, wire_severities[i]) == 0) {
			*out = (enum tpd_severity)i;
			return TPD_OK;
		}
	}
	return TPD_ERR_INVAL;
}

/* SPEC §4: prefix and unit of each kind. */
static const struct wire_kind_row {
	const char *prefix;
	const char *unit;
} wire_kinds[TPD_KIND_COUNT] = {
	[TPD_KIND_TEMP] = { "temp", "°C" },
	[TPD_KIND_VOLT] = { "volt", "V" },
	[TPD_KIND_CURR] = { "curr", "A" },
	[TPD_KIND_POWER] = { "power", "W" },
	[TPD_KIND_FAN] = { "fan", "rpm" },
	[TPD_KIND_LOAD] = { "load", "" },
	[TPD_KIND_EVENT] = { "event", "" },
};

enum tpd_err tpd_sensor_kind_parse(const char *sensor, enum tpd_sensor_kind *out)
{
	const char *dot, *p;
	size_t plen;

	if (!sensor || strlen(sensor) >= TPD_SENSOR_NAME_MAX)
		return TPD_ERR_INVAL;
	dot = strchr(sensor, '.');
	if (!dot || dot[1] == '\0')
		return TPD_ERR_INVAL;
	for (p = dot + 1; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return TPD_ERR_INVAL;
	}
	plen = (size_t)(dot - sensor);
	for (int k = 0; k < TPD_KIND_COUNT; k++) {
		if (strlen(wire_kinds[k].prefix) == plen &&
		    strncmp(sensor, wire_kinds[k].prefix, plen) == 0) {
			*out = (enum tpd_sensor_kind)k;
			return TPD_OK;
		}
	}
	return TPD_ERR_INVAL;
}

const char *tpd_sensor_kind_unit(enum tpd_sensor_kind kind)
{
	if ((unsigned)kind >= TPD_KIND_COUNT)
		return "";
	return wire_kinds[kind].unit;
}
