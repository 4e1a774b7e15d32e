/*
 * devices.c - run-time device registration (see devices.h).
 *
 * Order of effects: the database transaction commits first, then the
 * in-memory registry learns the keys. A crash between the two loses
 * nothing: at start-up tpcollect loads every key from the database.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tpd/jsonfile.h"
#include "tpd/jws.h"
#include "claims.h"
#include "devices.h"
#include "registry.h"
#include "store.h"

#define DEVICES_KEY_B64_MAX 256

struct devices_row {
	struct tpc_device_row row;
	char key_b64[DEVICES_KEY_B64_MAX];
};

/* Reads a string-or-null member into *out ("" for null or absent when
 * allowed); refuses other types. */
static enum tpd_err devices_str(const cJSON *o, const char *key, const char **out, char *why,
				size_t whylen)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!it || cJSON_IsNull(it)) {
		*out = it ? "" : NULL;
		return TPD_OK;
	}
	if (!cJSON_IsString(it)) {
		snprintf(why, whylen, "%s: must be a string or null", key);
		return TPD_ERR_INVAL;
	}
	*out = it->valuestring;
	return TPD_OK;
}

/* Normalizes a key given as base64 SPKI or PEM into base64 SPKI. */
static enum tpd_err devices_key(const char *spec, char *b64, size_t len, char *why,
				size_t whylen)
{
	struct tpd_key *key;
	enum tpd_err rc;

	if (!spec || !*spec) {
		snprintf(why, whylen, "public_key: required (base64 SPKI DER or PEM of a P-256 key)");
		return TPD_ERR_INVAL;
	}
	if (tpd_key_parse_public(spec, &key)) {
		snprintf(why, whylen, "public_key: not a P-256 public key (base64 SPKI DER or PEM; "
			 "file paths are resolved by tpclaim, not by the collector)");
		return TPD_ERR_INVAL;
	}
	rc = tpd_key_public_b64(key, b64, len);
	tpd_key_free(key);
	return rc;
}

static enum tpd_err devices_parse(const cJSON *o, struct devices_row *d, char *why, size_t whylen)
{
	static const char *const keys[] = { "device_id", "model", "purchase_date", "public_key",
					    "owner_contact", "channel", "locale", "region", NULL };
	const cJSON *bad;
	const char *key = NULL;
	enum tpd_err rc;

	memset(d, 0, sizeof(*d));
	if (!cJSON_IsObject(o)) {
		snprintf(why, whylen, "must be an object");
		return TPD_ERR_INVAL;
	}
	bad = tpd_json_unknown_key(o, keys);
	if (bad) {
		snprintf(why, whylen, "\"%.40s\": unknown field", bad->string);
		return TPD_ERR_INVAL;
	}
	rc = devices_str(o, "device_id", &d->row.id, why, whylen);
	if (!rc) rc = devices_str(o, "model", &d->row.model, why, whylen);
	if (!rc) rc = devices_str(o, "purchase_date", &d->row.purchase_date, why, whylen);
	if (!rc) rc = devices_str(o, "public_key", &key, why, whylen);
	if (!rc) rc = devices_str(o, "owner_contact", &d->row.owner_contact, why, whylen);
	if (!rc) rc = devices_str(o, "channel", &d->row.channel, why, whylen);
	if (!rc) rc = devices_str(o, "locale", &d->row.locale, why, whylen);
	if (!rc) rc = devices_str(o, "region", &d->row.region, why, whylen);
	if (!rc) rc = tpc_registry_check_row(&d->row, why, whylen);
	if (!rc) rc = devices_key(key, d->key_b64, sizeof(d->key_b64), why, whylen);
	d->row.public_key = d->key_b64;
	return rc;
}

/* Stores one row inside the transaction; a changed device's open claims get
 * their warranty recomputed. */
static enum tpd_err devices_store(struct tpc_store *s, const struct tpc_policy *policy,
				  const struct devices_row *d, double now, enum tpc_upsert *res)
{
	enum tpd_err rc = tpc_store_device_upsert(s, &d->row, res);

	if (!rc && *res == TPC_UPSERT_UPDATED)
		rc = tpc_claims_rewarrant(s, policy, d->row.id, now);
	return rc;
}

static int devices_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

enum tpd_err tpc_devices_import(struct tpc_store *s, struct tpc_registry *reg,
				const struct tpc_policy *policy, const cJSON *rows, double now,
				struct tpc_import_result *res, char *why, size_t whylen)
{
	struct devices_row *d;
	const cJSON *it;
	const char **ids;
	char one[256];
	size_t n = 0;
	enum tpd_err rc = TPD_OK;

	memset(res, 0, sizeof(*res));
	if (!cJSON_IsArray(rows) || cJSON_GetArraySize(rows) == 0 ||
	    cJSON_GetArraySize(rows) > TPC_IMPORT_MAX) {
		snprintf(why, whylen, "devices: must be an array of 1 to %d rows", TPC_IMPORT_MAX);
		return TPD_ERR_INVAL;
	}
	/* Every row is parsed (and its key checked) once, before the database
	 * is touched; the rows' strings stay in the caller's JSON. */
	d = calloc((size_t)cJSON_GetArraySize(rows), sizeof(*d));
	ids = calloc((size_t)cJSON_GetArraySize(rows), sizeof(*ids));
	if (!d || !ids) {
		free(d);
		free(ids);
		return TPD_ERR_NOMEM;
	}
	cJSON_ArrayForEach(it, rows) {
		if (devices_parse(it, &d[n], one, sizeof(one))) {
			snprintf(why, whylen, "devices[%zu]%s%.64s%s: %s", n, d[n].row.id ? " (" : "",
				 d[n].row.id ? d[n].row.id : "", d[n].row.id ? ")" : "", one);
			rc = TPD_ERR_INVAL;
			goto out;
		}
		ids[n] = d[n].row.id;
		n++;
	}
	qsort(ids, n, sizeof(*ids), devices_cmp);
	for (size_t j = 1; j < n; j++) {
		if (strcmp(ids[j - 1], ids[j]) == 0) {
			snprintf(why, whylen, "device_id %s appears twice", ids[j]);
			rc = TPD_ERR_INVAL;
			goto out;
		}
	}
	rc = tpc_store_begin(s);
	if (rc)
		goto out;
	for (size_t j = 0; j < n; j++) {
		enum tpc_upsert r;

		rc = devices_store(s, policy, &d[j], now, &r);
		if (rc) {
			tpc_store_rollback(s);
			snprintf(why, whylen, "cannot store device %s", d[j].row.id);
			goto out;
		}
		res->created += r == TPC_UPSERT_CREATED;
		res->updated += r == TPC_UPSERT_UPDATED;
		res->unchanged += r == TPC_UPSERT_UNCHANGED;
	}
	rc = tpc_store_commit(s);
	for (size_t j = 0; !rc && j < n; j++)
		tpc_registry_put_key(reg, d[j].row.id, d[j].key_b64);
out:
	free(ids);
	free(d);
	return rc;
}

cJSON *tpc_devices_rows_json(const struct tpc_registry *file)
{
	cJSON *rows = cJSON_CreateArray();
	char b64[DEVICES_KEY_B64_MAX];

	for (size_t i = 0; rows && i < tpc_registry_count(file); i++) {
		const struct tpc_device *d = tpc_registry_at(file, i);
		cJSON *row = cJSON_CreateObject();

		if (!row || !cJSON_AddItemToArray(rows, row)) {
			cJSON_Delete(row);
			cJSON_Delete(rows);
			return NULL;
		}
		if (tpd_key_public_b64(d->key, b64, sizeof(b64)) ||
		    !cJSON_AddStringToObject(row, "device_id", d->id) ||
		    !cJSON_AddStringToObject(row, "model", d->model) ||
		    !cJSON_AddStringToObject(row, "purchase_date", d->purchase_date) ||
		    !cJSON_AddStringToObject(row, "public_key", b64) ||
		    !cJSON_AddStringToObject(row, "owner_contact", d->owner_contact) ||
		    !cJSON_AddStringToObject(row, "channel", d->channel) ||
		    !cJSON_AddStringToObject(row, "locale", d->locale) ||
		    !cJSON_AddStringToObject(row, "region", d->region)) {
			cJSON_Delete(rows);   /* row is in it */
			return NULL;
		}
	}
	return rows;
}

/* Takes field from patch when present, else from the stored device. */
static const char *devices_pick(const cJSON *patch, const cJSON *cur, const char *field)
{
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(patch, field);

	if (p)
		return cJSON_IsString(p) ? p->valuestring : "";
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cur, field));
}

enum tpd_err tpc_devices_update(struct tpc_store *s, struct tpc_registry *reg,
				const struct tpc_policy *policy, const char *id,
				const cJSON *patch, double now, char *why, size_t whylen)
{
	static const char *const fields[] = { "model", "purchase_date", "public_key",
					      "owner_contact", "channel", "locale", "region", NULL };
	struct devices_row d;
	enum tpc_upsert res;
	cJSON *cur = NULL, *merged = NULL;
	const cJSON *bad;
	enum tpd_err rc;

	if (!cJSON_IsObject(patch)) {
		snprintf(why, whylen, "the body must be a JSON object");
		return TPD_ERR_INVAL;
	}
	bad = tpd_json_unknown_key(patch, fields);
	if (bad) {
		snprintf(why, whylen, "\"%.40s\": unknown field (fields: model, purchase_date, "
			 "public_key, owner_contact, channel, locale, region)", bad->string);
		return TPD_ERR_INVAL;
	}
	for (const cJSON *it = patch->child; it; it = it->next) {
		if (!cJSON_IsString(it) && !cJSON_IsNull(it)) {
			snprintf(why, whylen, "%s: must be a string or null", it->string);
			return TPD_ERR_INVAL;
		}
	}
	rc = tpc_store_begin(s);
	if (rc)
		return rc;
	rc = tpc_store_device_get_locked(s, id, &cur);
	if (rc == TPD_ERR_NOTFOUND)
		snprintf(why, whylen, "no device %.64s", id);
	merged = rc ? NULL : cJSON_CreateObject();
	if (!rc && !merged)
		rc = TPD_ERR_NOMEM;
	if (!rc && !cJSON_AddStringToObject(merged, "device_id", id))
		rc = TPD_ERR_NOMEM;
	for (int i = 0; !rc && fields[i]; i++) {
		const char *v = devices_pick(patch, cur, fields[i]);

		if (v && !cJSON_AddStringToObject(merged, fields[i], v))
			rc = TPD_ERR_NOMEM;
	}
	if (!rc)
		rc = devices_parse(merged, &d, why, whylen);
	if (!rc)
		rc = devices_store(s, policy, &d, now, &res);
	cJSON_Delete(cur);
	if (rc) {
		cJSON_Delete(merged);
		tpc_store_rollback(s);
		return rc;
	}
	rc = tpc_store_commit(s);
	if (!rc)
		tpc_registry_put_key(reg, d.row.id, d.key_b64);
	cJSON_Delete(merged);
	return rc;
}
