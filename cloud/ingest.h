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
	TPC_REJECT_COUNT
};

const char *tpc_reject_name(enum tpc_reject r);

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
