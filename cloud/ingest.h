/*
 * ingest.h - turning one MQTT message into a validated report, or a reason
 * to reject it.
 *
 * Every device -> cloud message passes here before anything is stored:
 * topic and size, then (fault, self-check) the JWS envelope and signature
 * against the registry, then the JSON against the SPEC §2 schema of its kind.
 * A rejected message is described by one line and one reason counter.
 */
#ifndef TPC_INGEST_H
#define TPC_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "tpd/err.h"
#include "tpd/wire.h"

struct tpc_registry;

enum tpc_reject {
	TPC_REJECT_TOPIC,         /* not tp/v1/{id}/{kind} */
	TPC_REJECT_TOO_BIG,
	TPC_REJECT_JSON,          /* not JSON / not an object */
	TPC_REJECT_SCHEMA,        /* missing, unknown or mistyped field */
	TPC_REJECT_DEV_MISMATCH,  /* "dev" differs from the topic id */
	TPC_REJECT_JWS,           /* malformed JWS envelope */
	TPC_REJECT_ALG,           /* alg other than ES256 */
	TPC_REJECT_UNKNOWN_KID,   /* kid not in the registry */
	TPC_REJECT_KID_MISMATCH,  /* kid differs from the topic id */
	TPC_REJECT_SIGNATURE,     /* signature does not verify */
	/* issue 14: text a last-wins or C-string reader would see differently */
	TPC_REJECT_DUP_KEY,       /* a key twice in one object, at any depth */
	TPC_REJECT_NUL,           /* \u0000 in a string (C strings end there) */
	TPC_REJECT_BOM,           /* a UTF-8 byte-order mark before the object */
	TPC_REJECT_BAD_UTF8,      /* not valid UTF-8 (RFC 3629) */
	TPC_REJECT_CONTROL,       /* a control character in a key or string */
	TPC_REJECT_TS_SKEW,       /* ts outside the policy's window around now */
	TPC_REJECT_UNREGISTERED,  /* telemetry/status of an id not in the registry */
	TPC_REJECT_COUNT
};

const char *tpc_reject_name(enum tpc_reject r);

/*
 * What the collector admits beyond the schema (tpcollect --max-skew,
 * --registered-only), carried by the registry (registry.h). Without one no
 * time window applies and every id may send telemetry.
 */
struct tpc_ingest_policy {
	double max_back_s;       /* ts older than now - this is refused; 0: no limit */
	double max_ahead_s;      /* ts newer than now + this is refused; 0: no limit */
	bool registered_only;    /* telemetry and status only from registered ids */
	double (*now)(void *ctx);  /* the collector's clock; NULL: CLOCK_REALTIME */
	void *now_ctx;
};

/* A validated report. Strings point into json (owned). */
struct tpc_report {
	enum tpd_topic_kind kind;
	char dev[TPD_ID_MAX + 1];
	const char *model;
	const char *fw;
	uint64_t seq;
	double ts;
	cJSON *json;             /* the report object (owned) */
	char *body;              /* its JSON text as the device sent it (owned): stored as is,
				  * which spares printing it again (a third of the ingest CPU) */
	char *jws;               /* fault/self-check: the signed text (owned), else NULL */
	bool verified;           /* signature checked against the registry */
	/* fault reports */
	enum tpd_fault_code code;
	enum tpd_fault_class cls;
	bool raised;
	const char *sensor;
	double value, limit, since;  /* NAN when null */
	bool predictive;
	const char *verdict;     /* self-check verdict, or fault's attached one; may be NULL */
};

/*
 * Decodes and validates one message. reg may be NULL (then every signed
 * report is rejected as an unknown kid). On rejection returns TPD_ERR_INVAL,
 * sets *reason and writes one line into why; out holds nothing to free.
 * TPD_ERR_NOTFOUND for a message the collector ignores (the cmd topic, which
 * it publishes itself). On success free out with tpc_report_clear.
 */
enum tpd_err tpc_ingest_decode(const char *topic, const void *payload, size_t len,
			       struct tpc_registry *reg, struct tpc_report *out,
			       enum tpc_reject *reason, char *why, size_t whylen);

void tpc_report_clear(struct tpc_report *r);

#endif
