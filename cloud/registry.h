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

#include <stddef.h>

#include "tpd/err.h"
#include "tpd/wire.h"

struct tpd_key;

struct tpc_device {
	char id[TPD_ID_MAX + 1];
	char model[TPD_ID_MAX + 1];
	char purchase_date[11];      /* YYYY-MM-DD, or "" when unknown */
	char owner_contact[128];
	char channel[32];
	struct tpd_key *key;         /* owned */
};

struct tpc_registry;

/* Loads path. On failure writes "PATH:LINE: problem" into err. */
enum tpd_err tpc_registry_load(const char *path, struct tpc_registry **out,
			       char *err, size_t errlen);
/* An empty registry (no device can sign in). */
enum tpd_err tpc_registry_new(struct tpc_registry **out);
void tpc_registry_free(struct tpc_registry *reg);

const struct tpc_device *tpc_registry_find(const struct tpc_registry *reg, const char *id);
size_t tpc_registry_count(const struct tpc_registry *reg);
const struct tpc_device *tpc_registry_at(const struct tpc_registry *reg, size_t i);

/* True for a real calendar date written YYYY-MM-DD. */
int tpc_date_valid(const char *s);

#endif
