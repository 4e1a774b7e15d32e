/*
 * api.c - HTTP API over libmicrohttpd (routes in api.h).
 *
 * Layout: responses, request bodies, auth, query parsing, claim handlers,
 * device handlers, the route table and dispatcher, daemon start/stop.
 *
 * Design notes:
 * 1. Routes are one table of (method, path pattern, body cap, handler); a
 *    path that matches with another method is a 405 with an Allow header.
 * 2. A body is collected up to its route's cap; past it the request gets a
 *    413 and the rest is discarded unread into memory. Handlers see parsed
 *    JSON only.
 * 3. Every value from the request is validated here or in the module that
 *    acts on it before it reaches the store, which binds parameters only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "tpd/jsonfile.h"
#include "tpd/wire.h"
#include "api.h"
#include "calendar.h"
#include "claims.h"
#include "collector.h"
#include "devices.h"
#include "lifecycle.h"
#include "store.h"
#include "tokens.h"

#define API_LIST_MAX 1000
#define API_TELEMETRY_MAX 5000
#define API_SEGMENTS 6

struct tpc_api {
	struct MHD_Daemon *daemon;
	struct tpc_api_cfg cfg;
};

/* One request in flight (MHD's con_cls). */
struct api_req {
	const struct api_route *route;   /* matched once, at the request's first call */
	bool path_known;                 /* the path exists with some method (405, not 404) */
	char allow[64];                  /* its methods, for Allow */
	char *body;              /* grows by doubling up to max */
	size_t len, cap, max;
	bool too_big;
};

/* What a handler gets. */
struct api_call {
	struct tpc_api *api;
	struct MHD_Connection *conn;
	const char *who;        /* the token's name; NULL on open reads */
	const cJSON *body;      /* parsed JSON object, or NULL for body-less routes */
	const char *arg;        /* the {} segment of the path */
};

typedef enum MHD_Result (*api_handler_fn)(struct api_call *c);

struct api_route {
	const char *method;
	const char *pattern;    /* "/api/v1/claims/{}/notes"; {} matches one segment */
	size_t body_max;        /* 0: no body */
	bool open;              /* served without a token (health checks) */
	api_handler_fn fn;
};

static double api_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Responses ------------------------------------------------------------- */

/* Sends body (taken, may be NULL = out of memory) with status. */
static enum MHD_Result api_send(struct MHD_Connection *conn, unsigned status, cJSON *body,
				const char *hname, const char *hvalue)
{
	char *text = body ? cJSON_PrintUnformatted(body) : NULL;
	struct MHD_Response *resp;
	enum MHD_Result ret;

	cJSON_Delete(body);
	if (!text) {
		static const char oom[] = "{\"error\":\"out of memory\"}";

		resp = MHD_create_response_from_buffer(sizeof(oom) - 1, (void *)oom,
						       MHD_RESPMEM_PERSISTENT);
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
	} else {
		resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_COPY);
		cJSON_free(text);
	}
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (hname)
		MHD_add_response_header(resp, hname, hvalue);
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result api_json(struct MHD_Connection *conn, unsigned status, cJSON *body)
{
	return api_send(conn, status, body, NULL, NULL);
}

static cJSON *api_error_body(const char *fmt, va_list ap)
{
	char msg[512];
	cJSON *o = cJSON_CreateObject();

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (o && !cJSON_AddStringToObject(o, "error", msg)) {
		cJSON_Delete(o);
		o = NULL;
	}
	return o;
}

__attribute__((format(printf, 1, 2)))
static cJSON *api_error_obj(const char *fmt, ...)
{
	va_list ap;
	cJSON *o;

	va_start(ap, fmt);
	o = api_error_body(fmt, ap);
	va_end(ap);
	return o;
}

__attribute__((format(printf, 3, 4)))
static enum MHD_Result api_error(struct MHD_Connection *conn, unsigned status, const char *fmt, ...)
{
	va_list ap;
	cJSON *o;

	va_start(ap, fmt);
	o = api_error_body(fmt, ap);
	va_end(ap);
	return api_json(conn, status, o);
}

/* The status for a module's error code, with its one-line reason. */
static enum MHD_Result api_fail(struct MHD_Connection *conn, enum tpd_err rc, const char *why)
{
	switch (rc) {
	case TPD_ERR_INVAL: return api_error(conn, MHD_HTTP_BAD_REQUEST, "%s", why);
	case TPD_ERR_NOTFOUND: return api_error(conn, MHD_HTTP_NOT_FOUND, "%s", why);
	case TPD_ERR_STATE: return api_error(conn, MHD_HTTP_CONFLICT, "%s", why);
	default:
		return api_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "server error: %s",
				 tpd_strerror(rc));
	}
}

/* Query parsing ----------------------------------------------------------- */

static const char *api_arg(struct MHD_Connection *conn, const char *key)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, key);

	return v && *v ? v : NULL;
}

/* limit=1..max (default dflt); false with a 400 already queued. */
static bool api_limit(struct api_call *c, unsigned dflt, unsigned max, unsigned *out,
		      enum MHD_Result *ret)
{
	const char *s = api_arg(c->conn, "limit");
	char *end;
	long v;

	*out = dflt;
	if (!s)
		return true;
	errno = 0;
	v = strtol(s, &end, 10);
	if (*end || errno || v < 1 || v > (long)max) {
		*ret = api_error(c->conn, MHD_HTTP_BAD_REQUEST, "limit: \"%.20s\" is not 1..%u", s, max);
		return false;
	}
	*out = (unsigned)v;
	return true;
}

/* "2026-11-25" or "2026-11-25T10:02:11Z": digits and separators only, so the
 * string comparison with opened_at is meaningful. */
static bool api_iso_valid(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	size_t n = strlen(s);
	int64_t days;
	char date[11];

	if (n != 10 && n != 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return false;
	}
	memcpy(date, s, 10);
	date[10] = '\0';
	return tpc_date_parse(date, &days) &&
	       (n == 10 || (memcmp(s + 11, "24", 2) < 0 && memcmp(s + 14, "60", 2) < 0 &&
			    memcmp(s + 17, "61", 2) < 0));
}

/* A time as Unix seconds or ISO 8601 UTC (date or date-time). */
static bool api_time(const char *s, double *out)
{
	char *end;
	int64_t days;
	char date[11];

	errno = 0;
	*out = strtod(s, &end);
	if (end != s && !*end && !errno && isfinite(*out))
		return true;
	if (!api_iso_valid(s))
		return false;
	memcpy(date, s, 10);
	date[10] = '\0';
	tpc_date_parse(date, &days);
	*out = (double)days * 86400.0;
	if (strlen(s) == 20)
		*out += ((s[11] - '0') * 10 + (s[12] - '0')) * 3600.0 +
			((s[14] - '0') * 10 + (s[15] - '0')) * 60.0 + (s[17] - '0') * 10 + (s[18] - '0');
	return true;
}

/* A claim id from the path; false with a 404 queued. */
static bool api_claim_id(struct api_call *c, int64_t *id, enum MHD_Result *ret)
{
	if (tpc_claim_id_parse(c->arg, id))
		return true;
	*ret = api_error(c->conn, MHD_HTTP_NOT_FOUND, "no claim \"%.40s\" (ids look like C-000123)",
			 c->arg);
	return false;
}

/* Body fields: an object with only these keys; one line on failure. */
static bool api_body_keys(struct api_call *c, const char *const *keys, enum MHD_Result *ret)
{
	const cJSON *bad = tpd_json_unknown_key(c->body, keys);
	char list[160] = "";
	size_t used = 0;

	if (!bad)
		return true;
	for (int i = 0; keys[i] && used < sizeof(list); i++) {
		int n = snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", keys[i]);

		used += n > 0 ? (size_t)n : 0;
	}
	*ret = api_error(c->conn, MHD_HTTP_BAD_REQUEST, "\"%.40s\": unknown field (fields: %s)",
			 bad->string, list);
	return false;
}

/* An optional string member; false with a 400 queued for another type. */
static bool api_body_str(struct api_call *c, const char *key, const char **out,
			 enum MHD_Result *ret)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(c->body, key);

	*out = NULL;
	if (!it || cJSON_IsNull(it))
		return true;
	if (cJSON_IsString(it)) {
		*out = it->valuestring;
		return true;
	}
	*ret = api_error(c->conn, MHD_HTTP_BAD_REQUEST, "%s: must be a string", key);
	return false;
}

/* Claims ------------------------------------------------------------------ */

static enum MHD_Result api_claim_reply(struct api_call *c, int64_t id, unsigned status)
{
	cJSON *claim;
	enum tpd_err rc = tpc_store_claim_get(c->api->cfg.store, id, &claim);

	if (rc)
		return api_fail(c->conn, rc, "no such claim");
	return api_json(c->conn, status, claim);
}

/* Wraps items (taken) as {"<key>":[...],"count":n,"next":...}; items holds
 * up to limit+1 rows, the extra one only telling that there is a next page. */
static enum MHD_Result api_page(struct api_call *c, const char *key, cJSON *items,
				unsigned limit, const char *cursor_field, int64_t total)
{
	cJSON *o = cJSON_CreateObject(), *last, *next = NULL;
	int n = cJSON_GetArraySize(items);

	if (!o) {
		cJSON_Delete(items);
		return api_json(c->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL);
	}
	if (n > (int)limit) {
		cJSON_DeleteItemFromArray(items, n - 1);
		n = (int)limit;
		last = cJSON_GetArrayItem(items, n - 1);
		next = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(last, cursor_field), true);
	}
	cJSON_AddItemToObject(o, key, items);
	cJSON_AddNumberToObject(o, "count", n);
	if (total >= 0)
		cJSON_AddNumberToObject(o, "total", (double)total);
	if (next)
		cJSON_AddItemToObject(o, "next", next);
	else
		cJSON_AddNullToObject(o, "next");
	return api_json(c->conn, MHD_HTTP_OK, o);
}

static enum MHD_Result api_claims_list(struct api_call *c)
{
	struct tpc_claim_filter f = { 0 };
	const char *after = api_arg(c->conn, "after");
	enum MHD_Result ret = MHD_NO;
	unsigned limit;
	int64_t total;
	cJSON *arr;

	f.state = api_arg(c->conn, "state");
	f.device = api_arg(c->conn, "device");
	f.since = api_arg(c->conn, "since");
	if (f.state && !tpc_claim_state_valid(f.state))
		return api_error(c->conn, MHD_HTTP_BAD_REQUEST, "state: \"%.40s\" is not a claim state",
				 f.state);
	if (f.device && !tpd_id_valid(f.device))
		return api_error(c->conn, MHD_HTTP_BAD_REQUEST, "device: \"%.70s\" is not a device id",
				 f.device);
	if (f.since && !api_iso_valid(f.since))
		return api_error(c->conn, MHD_HTTP_BAD_REQUEST,
				 "since: \"%.40s\" is not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ", f.since);
	if (after && !tpc_claim_id_parse(after, &f.after))
		return api_error(c->conn, MHD_HTTP_BAD_REQUEST,
				 "after: \"%.40s\" is not a claim id (C-000123)", after);
	if (!api_limit(c, 100, API_LIST_MAX, &limit, &ret))
		return ret;
	f.limit = limit + 1;
	if (tpc_store_claim_list(c->api->cfg.store, &f, &arr, &total))
		return api_error(c->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "database error");
	return api_page(c, "claims", arr, limit, "id", total);
}

static enum MHD_Result api_claim_get(struct api_call *c)
{
	enum MHD_Result ret = MHD_NO;
	int64_t id;

	if (!api_claim_id(c, &id, &ret))
		return ret;
	return api_claim_reply(c, id, MHD_HTTP_OK);
}

static enum MHD_Result api_claim_evidence(struct api_call *c)
{
	enum MHD_Result ret = MHD_NO;
	cJSON *claim = NULL, *ev = NULL, *dev = NULL, *o;
	const char *device, *key;
	int64_t id;
	enum tpd_err rc;

	if (!api_claim_id(c, &id, &ret))
		return ret;
	rc = tpc_store_claim_get(c->api->cfg.store, id, &claim);
	if (rc)
		return api_fail(c->conn, rc, "no such claim");
	device = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(claim, "device"));
	rc = tpc_store_claim_evidence(c->api->cfg.store, id, &ev);
	if (!rc && tpc_store_device_get(c->api->cfg.store, device, &dev) == TPD_ERR_DB)
		rc = TPD_ERR_DB;
	key = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(dev, "public_key"));
	o = rc ? NULL : cJSON_CreateObject();
	if (o) {
		cJSON_AddStringToObject(o, "claim", c->arg);
		cJSON_AddStringToObject(o, "device", device ? device : "");
		if (key)
			cJSON_AddStringToObject(o, "public_key", key);
		else
			cJSON_AddNullToObject(o, "public_key");
		cJSON_AddItemToObject(o, "evidence", ev);
		ev = NULL;
	}
	cJSON_Delete(ev);
	cJSON_Delete(dev);
	cJSON_Delete(claim);
	if (rc)
		return api_fail(c->conn, rc, "");
	return api_json(c->conn, MHD_HTTP_OK, o);
}

static enum MHD_Result api_claim_transition(struct api_call *c)
{
	static const char *const keys[] = { "to", "note", NULL };
	enum MHD_Result ret = MHD_NO;
	const char *to, *note;
	char why[320];
	int64_t id;
	enum tpd_err rc;

	if (!api_claim_id(c, &id, &ret) || !api_body_keys(c, keys, &ret) ||
	    !api_body_str(c, "to", &to, &ret) || !api_body_str(c, "note", &note, &ret))
		return ret;
	if (!to)
		return api_error(c->conn, MHD_HTTP_BAD_REQUEST, "to: required, the state to move to");
	rc = tpc_claims_transition(c->api->cfg.store, id, to, c->who, note, api_now(), why,
				   sizeof(why));
	if (rc)
		return api_fail(c->conn, rc, why);
	return api_claim_reply(c, id, MHD_HTTP_OK);
}

static enum MHD_Result api_claim_note(struct api_call *c)
{
	static const char *const keys[] = { "note", NULL };
	enum MHD_Result ret = MHD_NO;
	const char *note;
	char why[320];
	int64_t id;
	enum tpd_err rc;

	if (!api_claim_id(c, &id, &ret) || !api_body_keys(c, keys, &ret) ||
	    !api_body_str(c, "note", &note, &ret))
		return ret;
	rc = tpc_claims_note(c->api->cfg.store, id, c->who, note, api_now(), why, sizeof(why));
	if (rc)
		return api_fail(c->conn, rc, why);
	return api_claim_reply(c, id, MHD_HTTP_CREATED);
}

static enum MHD_Result api_claim_feedback(struct api_call *c)
{
	static const char *const keys[] = { "rating", "comment", NULL };
	const cJSON *rating = cJSON_GetObjectItemCaseSensitive(c->body, "rating");
	enum MHD_Result ret = MHD_NO;
	const char *comment;
	char why[320];
	int64_t id;
	enum tpd_err rc;

	if (!api_claim_id(c, &id, &ret) || !api_body_keys(c, keys, &ret) ||
	    !api_body_str(c, "comment", &comment, &ret))
		return ret;
	if (!cJSON_IsNumber(rating) || rating->valuedouble != floor(rating->valuedouble) ||
	    rating->valuedouble < 1 || rating->valuedouble > 5)
		return api_error(c->conn, MHD_HTTP_BAD_REQUEST, "rating: required, a whole number 1..5");
	rc = tpc_claims_feedback(c->api->cfg.store, id, (int)rating->valuedouble, comment, c->who,
				 api_now(), why, sizeof(why));
	if (rc)
		return api_fail(c->conn, rc, why);
	return api_claim_reply(c, id, MHD_HTTP_OK);
}

/* Devices ------------------------------------------------------------------ */

static enum MHD_Result api_devices_list(struct api_call *c)
{
	const char *after = api_arg(c->conn, "after");
	enum MHD_Result ret = MHD_NO;
	unsigned limit;
	cJSON *arr;

	if (after && !tpd_id_valid(after))
		return api_error(c->conn, MHD_HTTP_BAD_REQUEST, "after: \"%.70s\" is not a device id",
				 after);
	if (!api_limit(c, 100, API_LIST_MAX, &limit, &ret))
		return ret;
	if (tpc_store_device_list(c->api->cfg.store, after, limit + 1, &arr))
		return api_error(c->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "database error");
	return api_page(c, "devices", arr, limit, "id", -1);
}

static enum MHD_Result api_devices_import(struct api_call *c)
{
	static const char *const keys[] = { "devices", NULL };
	const struct tpc_api_cfg *cfg = &c->api->cfg;
	struct tpc_import_result res;
	enum MHD_Result ret = MHD_NO;
	char why[400];
	cJSON *o;
	enum tpd_err rc;

	if (!api_body_keys(c, keys, &ret))
		return ret;
	rc = tpc_devices_import(cfg->store, cfg->registry, cfg->policy,
				cJSON_GetObjectItemCaseSensitive(c->body, "devices"), api_now(), &res,
				why, sizeof(why));
	if (rc)
		return api_fail(c->conn, rc, why);
	o = cJSON_CreateObject();
	if (o) {
		cJSON_AddNumberToObject(o, "imported", (double)(res.created + res.updated + res.unchanged));
		cJSON_AddNumberToObject(o, "created", (double)res.created);
		cJSON_AddNumberToObject(o, "updated", (double)res.updated);
		cJSON_AddNumberToObject(o, "unchanged", (double)res.unchanged);
	}
	fprintf(stderr, "tpcollect: %s imported devices: %zu created, %zu updated, %zu unchanged\n",
		c->who, res.created, res.updated, res.unchanged);
	return api_json(c->conn, MHD_HTTP_OK, o);
}

static bool api_device_id(struct api_call *c, enum MHD_Result *ret)
{
	if (tpd_id_valid(c->arg))
		return true;
	*ret = api_error(c->conn, MHD_HTTP_NOT_FOUND, "no device \"%.70s\"", c->arg);
	return false;
}

static enum MHD_Result api_device_get(struct api_call *c)
{
	enum MHD_Result ret = MHD_NO;
	cJSON *dev;
	enum tpd_err rc;

	if (!api_device_id(c, &ret))
		return ret;
	rc = tpc_store_device_get(c->api->cfg.store, c->arg, &dev);
	if (rc == TPD_ERR_NOTFOUND)
		return api_error(c->conn, MHD_HTTP_NOT_FOUND, "no device %s", c->arg);
	if (rc)
		return api_fail(c->conn, rc, "");
	return api_json(c->conn, MHD_HTTP_OK, dev);
}

static enum MHD_Result api_device_update(struct api_call *c)
{
	const struct tpc_api_cfg *cfg = &c->api->cfg;
	enum MHD_Result ret = MHD_NO;
	char why[400];
	enum tpd_err rc;

	if (!api_device_id(c, &ret))
		return ret;
	rc = tpc_devices_update(cfg->store, cfg->registry, cfg->policy, c->arg, c->body, api_now(),
				why, sizeof(why));
	if (rc)
		return api_fail(c->conn, rc, why);
	return api_device_get(c);
}

static enum MHD_Result api_device_telemetry(struct api_call *c)
{
	struct tpc_telemetry_filter f = { .dev = c->arg, .since = NAN, .until = NAN };
	const char *since = api_arg(c->conn, "since"), *until = api_arg(c->conn, "until");
	const char *after = api_arg(c->conn, "after");
	enum MHD_Result ret = MHD_NO;
	unsigned limit;
	cJSON *dev, *arr;
	char *end;
	enum tpd_err rc;

	if (!api_device_id(c, &ret))
		return ret;
	if (since && !api_time(since, &f.since))
		return api_error(c->conn, MHD_HTTP_BAD_REQUEST, "since: \"%.40s\" is not Unix seconds "
				 "or YYYY-MM-DD[THH:MM:SSZ]", since);
	if (until && !api_time(until, &f.until))
		return api_error(c->conn, MHD_HTTP_BAD_REQUEST, "until: \"%.40s\" is not Unix seconds "
				 "or YYYY-MM-DD[THH:MM:SSZ]", until);
	if (after) {
		errno = 0;
		f.after_seq = strtoull(after, &end, 10);
		if (*end || errno || after[0] == '-')
			return api_error(c->conn, MHD_HTTP_BAD_REQUEST, "after: \"%.30s\" is not a seq",
					 after);
	}
	if (!api_limit(c, 500, API_TELEMETRY_MAX, &limit, &ret))
		return ret;
	rc = tpc_store_device_get(c->api->cfg.store, c->arg, &dev);
	if (rc == TPD_ERR_NOTFOUND)
		return api_error(c->conn, MHD_HTTP_NOT_FOUND, "no device %s", c->arg);
	cJSON_Delete(dev);
	f.limit = limit + 1;
	if (rc || tpc_store_telemetry_list(c->api->cfg.store, &f, &arr))
		return api_error(c->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "database error");
	return api_page(c, "telemetry", arr, limit, "seq", -1);
}

/* Misc ---------------------------------------------------------------------- */

/* 503 while reports cannot be stored (a full disk): the collector is up
 * but not doing its job, which is what a health check is for. */
static enum MHD_Result api_health(struct api_call *c)
{
	cJSON *o = tpc_collector_health_json(c->api->cfg.collector);
	bool failing = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "store_failing"));

	if (o)
		cJSON_AddStringToObject(o, "status", failing ? "store failing" : "ok");
	return api_json(c->conn, failing ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK, o);
}

static enum MHD_Result api_stats(struct api_call *c)
{
	return api_json(c->conn, MHD_HTTP_OK, tpc_collector_stats_json(c->api->cfg.collector));
}

/* Routing ------------------------------------------------------------------- */

static const struct api_route api_routes[] = {
	{ "GET", "/healthz", 0, true, api_health },
	{ "GET", "/api/v1/stats", 0, false, api_stats },
	{ "GET", "/api/v1/claims", 0, false, api_claims_list },
	{ "GET", "/api/v1/claims/{}", 0, false, api_claim_get },
	{ "GET", "/api/v1/claims/{}/evidence", 0, false, api_claim_evidence },
	{ "POST", "/api/v1/claims/{}/transition", TPC_API_BODY_MAX, false, api_claim_transition },
	{ "POST", "/api/v1/claims/{}/notes", TPC_API_BODY_MAX, false, api_claim_note },
	{ "POST", "/api/v1/claims/{}/feedback", TPC_API_BODY_MAX, false, api_claim_feedback },
	{ "GET", "/api/v1/devices", 0, false, api_devices_list },
	{ "POST", "/api/v1/devices/import", TPC_API_IMPORT_MAX, false, api_devices_import },
	{ "GET", "/api/v1/devices/{}", 0, false, api_device_get },
	{ "PATCH", "/api/v1/devices/{}", TPC_API_BODY_MAX, false, api_device_update },
	{ "GET", "/api/v1/devices/{}/telemetry", 0, false, api_device_telemetry },
};

#define API_NROUTES (sizeof(api_routes) / sizeof(api_routes[0]))

/* Matches url against pattern; *arg and *arglen get the {} segment. A literal
 * segment beats {} ("/devices/import" is not device "import"). */
static bool api_match(const char *pattern, const char *url, const char **arg, size_t *arglen)
{
	while (*pattern && *url) {
		if (strncmp(pattern, "{}", 2) == 0) {
			size_t n = strcspn(url, "/");

			if (n == 0)
				return false;
			*arg = url;
			*arglen = n;
			pattern += 2;
			url += n;
		} else if (*pattern++ != *url++) {
			return false;
		}
	}
	return !*pattern && !*url;
}

/* The route for (method, url); *path_known tells a 405 from a 404. */
static const struct api_route *api_route_find(const char *method, const char *url,
					      bool *path_known, char *allow, size_t allowlen)
{
	const struct api_route *hit = NULL;
	size_t used = 0;

	*path_known = false;
	allow[0] = '\0';
	for (size_t pass = 0; pass < 2 && !*path_known; pass++) {
		/* pass 0: literal routes only; pass 1: routes with {} */
		for (size_t i = 0; i < API_NROUTES; i++) {
			const struct api_route *r = &api_routes[i];
			const char *arg;
			size_t arglen;
			int n;

			if ((strstr(r->pattern, "{}") != NULL) != (pass == 1))
				continue;
			if (!api_match(r->pattern, url, &arg, &arglen))
				continue;
			*path_known = true;
			n = snprintf(allow + used, used < allowlen ? allowlen - used : 0, "%s%s",
				     used ? ", " : "", r->method);
			used += n > 0 ? (size_t)n : 0;
			if (strcmp(r->method, method) == 0 ||
			    (strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0))
				hit = r;
		}
	}
	return hit;
}

/* The bearer token's holder; NULL when absent or unknown. */
static const char *api_who(struct tpc_api *api, struct MHD_Connection *conn)
{
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);

	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	return tpc_tokens_check(api->cfg.tokens, h);
}

static enum MHD_Result api_unauthorized(struct MHD_Connection *conn, const char *msg)
{
	return api_send(conn, MHD_HTTP_UNAUTHORIZED, api_error_obj("%s", msg),
			MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"tpcollect\"");
}

static enum MHD_Result api_dispatch(struct tpc_api *api, struct MHD_Connection *conn,
				    const char *url, const char *method, struct api_req *req)
{
	struct api_call c = { .api = api, .conn = conn };
	bool write;
	char arg[TPD_ID_MAX + 8];
	const char *argp = NULL;
	size_t arglen = 0;
	const struct api_route *r = req->route;
	cJSON *body = NULL;
	enum MHD_Result ret;

	if (!req->path_known)
		return api_error(conn, MHD_HTTP_NOT_FOUND, "no such resource: %.100s", url);
	if (!r)
		return api_send(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				api_error_obj("method %.10s not allowed here (allowed: %s)", method, req->allow),
				"Allow", req->allow);
	write = strcmp(r->method, "GET") != 0;
	if (!r->open) {
		c.who = api_who(api, conn);
		if (!c.who && api->cfg.tokens)
			return api_unauthorized(conn, "missing or invalid bearer token "
						"(Authorization: Bearer TOKEN)");
		if (!c.who && write)
			return api_unauthorized(conn, "changes need a bearer token, and this collector "
						"runs without --tokens");
	}
	if (req->too_big)
		return api_error(conn, 413, "request body over %zu bytes",
				 r->body_max);
	if (r->body_max) {
		body = req->len ? cJSON_ParseWithLength(req->body, req->len) : NULL;
		if (!cJSON_IsObject(body)) {
			cJSON_Delete(body);
			return api_error(conn, MHD_HTTP_BAD_REQUEST, "the body must be a JSON object");
		}
	}
	api_match(r->pattern, url, &argp, &arglen);
	if (argp) {
		if (arglen >= sizeof(arg))
			arglen = sizeof(arg) - 1;   /* longer than any id: still a 404 */
		memcpy(arg, argp, arglen);
		arg[arglen] = '\0';
		c.arg = arg;
	}
	c.body = body;
	ret = r->fn(&c);
	cJSON_Delete(body);
	return ret;
}

static void api_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			  enum MHD_RequestTerminationCode toe)
{
	struct api_req *req = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (req) {
		free(req->body);
		free(req);
		*con_cls = NULL;
	}
}

static enum MHD_Result api_handler(void *cls, struct MHD_Connection *conn, const char *url,
				   const char *method, const char *version, const char *upload_data,
				   size_t *upload_data_size, void **con_cls)
{
	struct tpc_api *api = cls;
	struct api_req *req = *con_cls;

	(void)version;
	if (!req) {
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);

		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		req->route = api_route_find(method, url, &req->path_known, req->allow,
					    sizeof(req->allow));
		req->max = req->route ? req->route->body_max : 0;
		if (cl && strtoull(cl, NULL, 10) > req->max)
			req->too_big = true;
		*con_cls = req;
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (req->too_big || req->len + n > req->max) {
			req->too_big = true;
			free(req->body);
			req->body = NULL;
			req->len = req->cap = 0;
			return MHD_YES;
		}
		if (req->len + n + 1 > req->cap) {
			size_t cap = req->cap ? req->cap : 4096;
			char *grown;

			while (cap < req->len + n + 1)
				cap *= 2;
			if (cap > req->max + 1)
				cap = req->max + 1;
			grown = realloc(req->body, cap);
			if (!grown)
				return MHD_NO;
			req->body = grown;
			req->cap = cap;
		}
		memcpy(req->body + req->len, upload_data, n);
		req->len += n;
		req->body[req->len] = '\0';
		return MHD_YES;
	}
	return api_dispatch(api, conn, url, method, req);
}

/* Start and stop ------------------------------------------------------------ */

enum tpd_err tpc_api_parse_listen(const char *s, char *host, size_t hostlen, int *port)
{
	const char *colon = strrchr(s, ':');
	char *end;
	long v;

	if (!colon || colon == s || (size_t)(colon - s) >= hostlen)
		return TPD_ERR_INVAL;
	errno = 0;
	v = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || *end || errno || v < 0 || v > 65535)
		return TPD_ERR_INVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	*port = (int)v;
	return TPD_OK;
}

enum tpd_err tpc_api_start(const struct tpc_api_cfg *cfg, struct tpc_api **out,
			   int *bound_port, char *err, size_t errlen)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)cfg->port) };
	const union MHD_DaemonInfo *info;
	const char *host = cfg->host;
	struct tpc_api *api;

	*out = NULL;
	if (strcmp(host, "localhost") == 0)
		host = "127.0.0.1";
	if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
		snprintf(err, errlen, "listen address \"%.64s\" is not an IPv4 address", host);
		return TPD_ERR_INVAL;
	}
	api = calloc(1, sizeof(*api));
	if (!api)
		return TPD_ERR_NOMEM;
	api->cfg = *cfg;
	api->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
				       api_handler, api,
				       MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
				       MHD_OPTION_NOTIFY_COMPLETED, api_completed, NULL,
				       MHD_OPTION_CONNECTION_LIMIT, (unsigned)256,
				       MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
				       MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
				       MHD_OPTION_END);
	if (!api->daemon) {
		snprintf(err, errlen, "cannot listen on %s:%d: %s", host, cfg->port,
			 errno ? strerror(errno) : "libmicrohttpd refused");
		free(api);
		return TPD_ERR_IO;
	}
	info = MHD_get_daemon_info(api->daemon, MHD_DAEMON_INFO_BIND_PORT);
	*bound_port = info ? info->port : cfg->port;
	*out = api;
	return TPD_OK;
}

void tpc_api_stop(struct tpc_api *api)
{
	if (!api)
		return;
	MHD_stop_daemon(api->daemon);
	free(api);
}
