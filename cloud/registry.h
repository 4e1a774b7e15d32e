/*
 * registry.h - the device registry (SPEC §6): who each device is, when it was
 * bought, and the public key its reports must verify with.
 *
 * CSV, header "device_id,model,purchase_date,public_key" and optionally
 * ",owner_contact,channel". public_key is a PEM file path (relative paths are
 * taken from the CSV's folder) or inline base64 of SPKI DER. Fields may be
 * double-quoted (RFC 4180). Loading is all or nothing: one bad row refuses
 * the file with its line number.
 */
#ifndef TPC_REGISTRY_H
#define TPC_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "tpd/err.h"
#include "tpd/wire.h"
#include "store.h"   /* TPC_*_MAX of a registry row */
#include "store.h"

struct tpd_key;


struct tpc_device {
	char id[TPD_ID_MAX + 1];
	char model[TPD_ID_MAX + 1];
	char purchase_date[11];      /* YYYY-MM-DD, or "" when unknown */
	char owner_contact[TPC_OWNER_CONTACT_MAX + 1];
	char channel[TPC_CHANNEL_MAX + 1];
	char locale[TPC_LOCALE_MAX + 1];
	char region[TPC_REGION_MAX + 1];
	struct tpd_key *key;         /* owned */
};

struct tpc_registry;

/* Loads path. On failure writes "PATH:LINE: problem" into err. */
enum tpd_err tpc_registry_load(const char *path, struct tpc_registry **out,
			       char *err, size_t errlen);
/* An empty registry (no device can sign in). */
enum tpd_err tpc_registry_new(struct tpc_registry **out);
void tpc_registry_free(struct tpc_registry *reg);

/* Lookups for a registry nobody else is changing (loading, tests, tools). */
const struct tpc_device *tpc_registry_find(const struct tpc_registry *reg, const char *id);
size_t tpc_registry_count(const struct tpc_registry *reg);
const struct tpc_device *tpc_registry_at(const struct tpc_registry *reg, size_t i);

/* Thread-safe: adds or replaces id's public key (base64 SPKI DER or PEM);
 * NULL or "" removes the device. TPD_ERR_INVAL for an unusable key. */
enum tpd_err tpc_registry_put_key(struct tpc_registry *reg, const char *id, const char *key_b64);
/* Thread-safe: verifies jws (decoded from text) with id's key.
 * TPD_ERR_NOTFOUND for an unknown id, TPD_ERR_VERIFY for a bad signature. */
struct tpd_jws;
enum tpd_err tpc_registry_verify(struct tpc_registry *reg, const char *id,
				 const struct tpd_jws *jws, const char *text);

/* Thread-safe: true when id is registered (has a key), for a collector that
 * takes telemetry from registered devices only. */
bool tpc_registry_known(struct tpc_registry *reg, const char *id);

/* What ingest admits (ingest.h). The registry carries it because it is the
 * deployment's admission table and every ingest call already gets it; set
 * once at start-up, before messages flow (not locked). NULL policy: none. */
struct tpc_ingest_policy;
void tpc_registry_set_policy(struct tpc_registry *reg, const struct tpc_ingest_policy *p);
/* The policy set, or NULL (reg NULL too). */
const struct tpc_ingest_policy *tpc_registry_policy(const struct tpc_registry *reg);

/* Checks a row's id, model, purchase date and text lengths (not its key);
 * one line into why on failure. */
enum tpd_err tpc_registry_check_row(const struct tpc_device_row *d, char *why, size_t whylen);

/* A claim language we write: "en" or "zh-CN". */
bool tpc_locale_valid(const char *s);
/* A business calendar's region name: 1-15 of [A-Za-z0-9_-]. */
bool tpc_region_valid(const char *s);
/* True for a real calendar date written YYYY-MM-DD. */
int tpc_date_valid(const char *s);

#endif
