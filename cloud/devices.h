/*
 * devices.h - registering devices at run time (tpclaim devices import /
 * update through the API): validate, store, teach the registry the key,
 * recompute the warranty of claims whose purchase data changed.
 *
 * Rows are JSON objects with the SPEC §6 registry columns:
 *   {"device_id":..., "model":..., "purchase_date":"YYYY-MM-DD"|""|null,
 *    "public_key": base64 SPKI DER or PEM, "owner_contact":..., "channel":...}
 * An import is one transaction: one bad row refuses all of them, naming it.
 */
#ifndef TPC_DEVICES_H
#define TPC_DEVICES_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "tpd/err.h"

struct tpc_store;
struct tpc_registry;
struct tpc_policy;

struct tpc_import_result {
	size_t created, updated, unchanged;
};

/* rows: a JSON array of row objects (at most TPC_IMPORT_MAX). */
enum tpd_err tpc_devices_import(struct tpc_store *s, struct tpc_registry *reg,
				const struct tpc_policy *policy, const cJSON *rows, double now,
				struct tpc_import_result *res, char *why, size_t whylen);

/* The rows of a registry CSV as import rows (keys inline as base64 SPKI),
 * for tpclaim devices import and tpcollect --registry; NULL when out of
 * memory. The array is the caller's. */
struct tpc_registry;
cJSON *tpc_devices_rows_json(const struct tpc_registry *file);

/* patch: an object with any of model, purchase_date, public_key,
 * owner_contact, channel (null or "" clears all but model and key).
 * TPD_ERR_NOTFOUND when id is not registered. */
enum tpd_err tpc_devices_update(struct tpc_store *s, struct tpc_registry *reg,
				const struct tpc_policy *policy, const char *id,
				const cJSON *patch, double now, char *why, size_t whylen);

#define TPC_IMPORT_MAX 100000

#endif
