/*
 * api.c - HTTP API over libmicrohttpd (routes in api.h).
 *
 * Layout: responses, request bodies, auth, query parsing, claim handlers,
 * device handlers, the route table and dispatcher, daemon start/stop.
 *
 * Design notes:
 * 1. Routes are one table of (method, path pattern, body cap, handler); a
 *    path that matches with another method is a 405 with an Allow header.
 * 2. Nothing is buffered for a request that will be refused: the route, the
 *    bearer token (Authorization) and Content-Length are judged as soon as
 *    the headers are in, and a 404/405/401/413 is queued before the first
 *    body byte is read (libmicrohttpd then reads no body and closes the
 *    connection). A body that is read counts against its route's cap and
 *    against one total for all requests in flight (TPC_API_BODIES_MAX; over
 *    it: 503). Handlers see parsed JSON only.
 * 4. Slow clients. libmicrohttpd's own timeout is inactivity: a client that
 *    drips one header byte every few seconds never hits it. So every
 *    connection is tracked from its start (MHD_OPTION_NOTIFY_CONNECTION),
 *    and a reaper thread shuts down the socket of any connection whose
 *    request headers are not complete API_HEADER_DEADLINE_S after it
 *    opened (or after its previous request ended). With epoll in a small
 *    thread pool a slow client costs a descriptor, never a thread; the
 *    connection limit is high (API_CONN_MAX, within RLIMIT_NOFILE) and one
 *    address may hold at most half of it.
 * 5. Personal data (a device's owner_contact) is only shown to a token
 *    holder: without --tokens reads are open, and it is left out.
 * 3. Every value from the request is validated here or in the module that
 *    acts on it before it reaches the store, which binds parameters only.
 * 6. Query parameters a route does not list are a 400: a misspelt filter
 *    (?warranty_status=expired) must not quietly return every claim.
 * 7. Open routes (no token needed): health, readiness, metrics, the pages
 *    and their files, the tracking view and its feedback (the token in the
 *    path is the key: 256 random bits), and POST /api/v1/claims, which a
 *    token holder uses as support and anyone else as the customer (for a
 *    registered serial, answered with the id and tracking link only).
 * 8. Roles. A viewer's token (tokens.h) reads what support reads and is
 *    refused every change with a 403 at the headers, open routes included
 *    (a viewer is not a customer). A claim as a token holder sees it has
 *    "transitions": the states this caller may move it to now (the
 *    lifecycle's for support, none for a viewer), so the console offers
 *    exactly those and never guesses the lifecycle itself.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "tpd/clock.h"
#include "tpd/jsonfile.h"
#include "tpd/product.h"
#include "tpd/wire.h"
#include "api.h"
#include "calendar.h"
#include "claims.h"
#include "collector.h"
#include "devices.h"
#include "lifecycle.h"
#include "metrics.h"
#include "store.h"
#include "tokens.h"
#include "webhook.h"

#define API_LIST_MAX 1000
#define API_TELEMETRY_MAX 5000
#define API_SEGMENTS 6

#define API_THREADS 4               /* epoll worker threads (MHD thread pool) */
#define API_CONN_MAX 1000            /* connections in all; less if RLIMIT_NOFILE is low */
#define API_IDLE_TIMEOUT_S 10        /* MHD_OPTION_CONNECTION_TIMEOUT: inactivity */
#define API_HEADER_DEADLINE_S 10     /* request headers complete within this (note 4) */
#define API_CONN_MEMORY (64 * 1024)  /* MHD_OPTION_CONNECTION_MEMORY_LIMIT: headers */

/* One TCP connection, tracked for the header deadline (note 4). */
struct api_conn {
	struct api_conn *prev, *next;
	int fd;
	double since;        /* monotonic s: opened, or its last request ended */
	bool in_request;     /* headers complete: the deadline no longer applies */
	bool reaped;         /* shut down by the reaper already */
};

struct tpc_api {
	struct MHD_Daemon *daemon;
	struct tpc_api_cfg cfg;
	atomic_size_t body_bytes;        /* request bodies held in memory, all connections */
	pthread_mutex_t conns_lock;      /* guards conns and the counters below */
	pthread_cond_t reaper_wake;
	struct api_conn *conns;
	bool stopping;
	bool reaper_started;
	pthread_t reaper;
	unsigned long nconns;            /* open now */
	unsigned long slow_closed;       /* connections cut by the header deadline */
	unsigned long refused_early;     /* requests answered before their body */
	unsigned conn_max, per_ip_max;
	struct tpc_hist *latency;        /* request headers to response, for /metrics */
};

/* One request in flight (MHD's con_cls). */
struct api_req {
	const struct api_route *route;   /* matched once, at the request's first call */
	bool path_known;                 /* the path exists with some method (405, not 404) */
	char allow[64];                  /* its methods, for Allow */
	const char *who;                 /* the token's name (tokens' memory); NULL: none */
	enum tpc_role role;              /* the token's role (valid when who is set) */
	char *body;              /* grows by doubling up to max */
	size_t len, cap, max;
	size_t reserved;         /* bytes of api->body_bytes this request holds */
	double started;          /* monotonic s: its headers were complete */
};

/* What a handler gets. */
struct api_call {
	struct tpc_api *api;
	struct MHD_Connection *conn;
	const char *who;        /* the token's name; NULL on open reads */
	enum tpc_role role;     /* who's role (note 8) */
	const cJSON *body;      /* parsed JSON object, or NULL for body-less routes */
	const char *arg;        /* the {} segment of the path */
	const char *resolution; /* telemetry pages: raw|hour|day, NULL: none */
};

typedef enum MHD_Result (*api_handler_fn)(struct api_call *c);

struct api_route {
	const char *method;
	const char *pattern;    /* "/api/v1/claims/{}/notes"; {} matches one segment */
	size_t body_max;        /* 0: no body */
	bool open;              /* served without a token (health checks) */
	api_handler_fn fn;
	const char *const *query;   /* the query parameters it takes; NULL: none */
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

/* Leaves personal data out of a device (or a list of devices) for a caller
 * without a token (note 5). */
static void api_private(const struct api_call *c, cJSON *dev)
{
	cJSON *it;

	if (c->who)
		return;
	if (cJSON_IsArray(dev)) {
		cJSON_ArrayForEach(it, dev)
			cJSON_DeleteItemFromObjectCaseSensitive(it, "owner_contact");
		return;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(dev, "owner_contact");
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
	double t;

	return tpc_iso_parse(s, &t);
}

/* A time as Unix seconds or ISO 8601 UTC (date or date-time). */
static bool api_time(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (end != s && !*end && !errno && isfinite(*out))
		return true;
	return tpc_iso_parse(s, out);
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

/* The tracking link of a token ("PUBLIC_URL/track/TOKEN"). */
static void api_tracking_url(const struct tpc_api *api, const char *token, char *buf, size_t len)
{
	snprintf(buf, len, "%s/track/%s", api->cfg.public_url ? api->cfg.public_url : "", token);
}

/* How long the review has left, as of this request: "review_left_s" in
 * working seconds of the claim's region when its calendar is loaded
 * ("review_clock":"working"), else in plain seconds ("elapsed"); negative
 * when overdue; null once the claim is past review. */
static void api_claim_review_left(const struct api_call *c, cJSON *claim)
{
	const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(claim, "state"));
	const char *due = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(claim, "review_due"));
	const char *region = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(claim, "region"));
	bool working;
	double due_s;
	int64_t left;

	if (!c->api->cfg.policy || !st || (strcmp(st, "open") && strcmp(st, "in_review")) ||
	    !tpc_iso_parse(due, &due_s)) {
		cJSON_AddNullToObject(claim, "review_left_s");
		cJSON_AddNullToObject(claim, "review_clock");
		return;
	}
	left = tpc_policy_review_left(c->api->cfg.policy, region, api_now(), due_s, &working);
	cJSON_AddNumberToObject(claim, "review_left_s", (double)left);
	cJSON_AddStringToObject(claim, "review_clock", working ? "working" : "elapsed");
}

/* A claim as a caller may see it: a token holder gets the customer's contact
 * and the tracking link; without a token both are left out (note 5). */
static void api_claim_view(const struct api_call *c, cJSON *claim)
{
	const char *token = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(claim, "tracking_token"));
	char url[512];

	if (c->who && token) {
		api_tracking_url(c->api, token, url, sizeof(url));
		cJSON_AddStringToObject(claim, "tracking_url", url);
	} else if (c->who) {
		cJSON_AddNullToObject(claim, "tracking_url");
	}
	cJSON_DeleteItemFromObjectCaseSensitive(claim, "tracking_token");
	if (!c->who)
		cJSON_DeleteItemFromObjectCaseSensitive(claim, "contact");
	api_claim_review_left(c, claim);
	if (c->who) {
		/* note 8: what this caller may do next */
		const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(claim, "state"));
		const char *const *to = tpc_lifecycle_targets(st);
		cJSON *arr = cJSON_AddArrayToObject(claim, "transitions");

		for (int i = 0; arr && c->role == TPC_ROLE_SUPPORT && to[i]; i++)
			cJSON_AddItemToArray(arr, cJSON_CreateString(to[i]));
	}
}

static enum MHD_Result api_claim_reply(struct api_call *c, int64_t id, unsigned status)
{
	cJSON *claim;
	enum tpd_err rc = tpc_store_claim_get(c->api->cfg.store, id, &claim);

	if (rc)
		return api_fail(c->conn, rc, "no such claim");
	api_claim_view(c, claim);
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
	if (c->resolution)
		cJSON_AddStringToObject(o, "resolution", c->resolution);
	cJSON_AddNumberToObject(o, "count", n);
	if (total >= 0)
		cJSON_AddNumberToObject(o, "total", (double)total);
	if (next)
		cJSON_AddItemToObject(o, "next", next);
	else
		cJSON_AddNullToObject(o, "next");
	return api_json(c->conn, MHD_HTTP_OK, o);
}

/* A yes/no query flag: true|false|1|0 into 1|2 (0 when absent). */
static bool api_flag(struct api_call *c, const char *key, int *out, enum MHD_Result *ret)
{
	const char *v = api_arg(c->conn, key);

	*out = 0;
	if (!v)
		return true;
	if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
		*out = 1;
	else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
		*out = 2;
	else
		*ret = api_error(c->conn, MHD_HTTP_BAD_REQUEST, "%s: \"%.20s\" is not true or false",
				 key, v);
	return *out != 0;
}

static bool api_one_of(struct api_call *c, const char *key, const char *const *set,
		       const char **out, enum MHD_Result *ret)
{
	char list[200] = "";
	size_t used = 0;

	*out = api_arg(c->conn, key);
	if (!*out)
		return true;
	for (size_t i = 0; set[i]; i++) {
		int n;

		if (strcmp(*out, set[i]) == 0)
			return true;
		n = snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", set[i]);
		used += n > 0 && (size_t)n < sizeof(list) - used ? (size_t)n : 0;
	}
	*ret = api_error(c->conn, MHD_HTTP_BAD_REQUEST, "%s: \"%.30s\" is not one of %s", key, *out,
			 list);
	return false;
}

/* The claim list's filters beyond SPEC §6's state/device/since. */
static bool api_claims_filters(struct api_call *c, struct tpc_claim_filter *f, char *now_iso,
			       bool *csv, enum MHD_Result *ret)
{
	static const char *const warranties[] = { "in_warranty", "expired", "excluded", "unknown",
						 NULL };
	static const char *const priorities[] = { "high", "normal", "low", NULL };
	static const char *const sorts[] = { "id", "review_due", "-opened_at", "priority", NULL };
	static const char *const formats[] = { "json", "csv", NULL };
	const char *format;

	if (!api_one_of(c, "warranty", warranties, &f->warranty, ret) ||
	    !api_one_of(c, "priority", priorities, &f->priority, ret) ||
	    !api_one_of(c, "sort", sorts, &f->sort, ret) ||
	    !api_one_of(c, "format", formats, &format, ret))
		return false;
	if ((api_arg(c->conn, "predictive") && !api_flag(c, "predictive", &f->predictive, ret)) ||
	    (api_arg(c->conn, "overdue") && !api_flag(c, "overdue", &f->overdue, ret)) ||
	    (api_arg(c->conn, "assigned") && !api_flag(c, "assigned", &f->assigned, ret)))
		return false;
	f->model = api_arg(c->conn, "model");
	f->text = api_arg(c->conn, "q");
	f->category = api_arg(c->conn, "category");
	f->assignee = api_arg(c->conn, "assignee");
	if (f->assignee && strlen(f->assignee) > TPC_ASSIGNEE_MAX) {
		*ret = api_error(c->conn, MHD_HTTP_BAD_REQUEST, "assignee: at most %d characters "
				 "(assigned=false: the claims nobody works)", TPC_ASSIGNEE_MAX);
		return false;
	}
	if (f->category) {
		enum tpd_fault_class cls;

		if (tpd_fault_class_parse(f->category, &cls)) {
			*ret = api_error(c->conn, MHD_HTTP_BAD_REQUEST, "category: \"%.30s\" is not a "
					 "fault class (power, thermal, sensor, system)", f->category);
			return false;
		}
	}
	if ((f->model && strlen(f->model) > 64) || (f->text && strlen(f->text) > 200)) {
		*ret = api_error(c->conn, MHD_HTTP_BAD_REQUEST, "model: at most 64, q: at most 200 "
				 "characters");
		return false;
	}
	/* keyset pages follow ids: another order has one page (limit) */
	if (f->after && f->sort && strcmp(f->sort, "id") != 0) {
		*ret = api_error(c->conn, MHD_HTTP_BAD_REQUEST, "after: pages go by id; with "
				 "sort=%s ask for one page of up to %d (limit)", f->sort, API_LIST_MAX);
		return false;
	}
	tpc_iso_time(api_now(), now_iso, 32);
	f->now_iso = now_iso;
	*csv = format && strcmp(format, "csv") == 0;
	return true;
}

/* One CSV field (RFC 4180): quoted when it holds a comma, quote or line
 * break; a leading = + - @ gets a ' so a spreadsheet does not run it. */
static void api_csv_field(char **buf, size_t *len, size_t *cap, const char *v, bool last)
{
	size_t need = 2 * strlen(v) + 8;
	bool quote = strpbrk(v, ",\"\r\n") != NULL || strchr("=+-@", v[0]) != NULL;
	char *p;

	if (*len + need > *cap) {
		size_t ncap = (*cap ? *cap * 2 : 8192) + need;
		char *g = realloc(*buf, ncap);

		if (!g)
			return;
		*buf = g;
		*cap = ncap;
	}
	p = *buf + *len;
	if (quote)
		*p++ = '"';
	if (v[0] && strchr("=+-@", v[0]))
		*p++ = '\'';
	for (; *v; v++) {
		if (*v == '"')
			*p++ = '"';
		*p++ = *v;
	}
	if (quote)
		*p++ = '"';
	*p++ = last ? '\r' : ',';
	if (last)
		*p++ = '\n';
	*len = (size_t)(p - *buf);
}

/* GET /api/v1/claims?format=csv: the queue for a spreadsheet (one page). */
static enum MHD_Result api_claims_csv(struct api_call *c, cJSON *arr, unsigned limit)
{
	static const char *const cols[] = { "id", "state", "priority", "device", "model", "category",
					    "warranty", "predictive", "origin", "opened_at",
					    "review_due", "assignee", "title", NULL };
	char *buf = NULL;
	size_t len = 0, cap = 0;
	unsigned n = 0;
	const cJSON *it;
	struct MHD_Response *resp;
	enum MHD_Result ret;

	for (int i = 0; cols[i]; i++)
		api_csv_field(&buf, &len, &cap, cols[i], !cols[i + 1]);
	cJSON_ArrayForEach(it, arr) {
		if (n++ == limit)
			break;   /* the extra row only tells that there is a next page */
		for (int i = 0; cols[i]; i++) {
			const cJSON *v = strcmp(cols[i], "warranty") == 0
				? cJSON_GetObjectItemCaseSensitive(
					cJSON_GetObjectItemCaseSensitive(it, "warranty"), "status")
				: cJSON_GetObjectItemCaseSensitive(it, cols[i]);
			const char *s = cJSON_IsString(v) ? v->valuestring
					: cJSON_IsTrue(v) ? "true" : cJSON_IsFalse(v) ? "false" : "";

			api_csv_field(&buf, &len, &cap, s, !cols[i + 1]);
		}
	}
	cJSON_Delete(arr);
	if (!buf)
		return api_json(c->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL);
	resp = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "text/csv; charset=utf-8; header=present");
	MHD_add_response_header(resp, "Content-Disposition", "attachment; filename=\"claims.csv\"");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	ret = MHD_queue_response(c->conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result api_claims_list(struct api_call *c)
{
	struct tpc_claim_filter f = { 0 };
	const char *after = api_arg(c->conn, "after");
	enum MHD_Result ret = MHD_NO;
	unsigned limit;
	int64_t total;
	cJSON *arr, *it;
	char now_iso[32];
	bool csv = false;

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
	if (!api_claims_filters(c, &f, now_iso, &csv, &ret))
		return ret;
	if (!api_limit(c, 100, API_LIST_MAX, &limit, &ret))
		return ret;
	f.limit = limit + 1;
	if (tpc_store_claim_list(c->api->cfg.store, &f, &arr, &total))
		return api_error(c->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "database error");
	cJSON_ArrayForEach(it, arr)
		api_claim_view(c, it);
	if (csv)
		return api_claims_csv(c, arr, limit);
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

/* {"assignee": "name"} or {"assignee": null} (nobody). */
static enum MHD_Result api_claim_assign(struct api_call *c)
{
	static const char *const keys[] = { "assignee", NULL };
	enum MHD_Result ret = MHD_NO;
	const char *assignee;
	char why[320];
	int64_t id;
	enum tpd_err rc;

	if (!api_claim_id(c, &id, &ret) || !api_body_keys(c, keys, &ret) ||
	    !api_body_str(c, "assignee", &assignee, &ret))
		return ret;
	if (!cJSON_GetObjectItemCaseSensitive(c->body, "assignee"))
		return api_error(c->conn, MHD_HTTP_BAD_REQUEST, "assignee: required, a name or null "
				 "(nobody)");
	rc = tpc_claims_assign(c->api->cfg.store, id, assignee && *assignee ? assignee : NULL,
			       c->who, api_now(), why, sizeof(why));
	if (rc)
		return api_fail(c->conn, rc, why);
	return api_claim_reply(c, id, MHD_HTTP_OK);
}

/* {"summary": "what was done", "parts": ["..."], "at": "ISO"}: by the caller. */
static enum MHD_Result api_claim_resolution(struct api_call *c)
{
	static const char *const keys[] = { "summary", "parts", "at", NULL };
	const cJSON *parts = cJSON_GetObjectItemCaseSensitive(c->body, "parts"), *it;
	const char *names[TPC_PARTS_MAX];
	enum MHD_Result ret = MHD_NO;
	const char *summary, *at;
	size_t n = 0;
	char why[320];
	int64_t id;
	enum tpd_err rc;

	if (!api_claim_id(c, &id, &ret) || !api_body_keys(c, keys, &ret) ||
	    !api_body_str(c, "summary", &summary, &ret) || !api_body_str(c, "at", &at, &ret))
		return ret;
	if (parts && !cJSON_IsArray(parts) && !cJSON_IsNull(parts))
		return api_error(c->conn, MHD_HTTP_BAD_REQUEST, "parts: must be an array of strings");
	if (!cJSON_IsArray(parts))
		parts = NULL;
	cJSON_ArrayForEach(it, parts) {
		if (!cJSON_IsString(it))
			return api_error(c->conn, MHD_HTTP_BAD_REQUEST, "parts[%zu]: must be a string", n);
		if (n == TPC_PARTS_MAX)
			return api_error(c->conn, MHD_HTTP_BAD_REQUEST, "parts: at most %d",
					 TPC_PARTS_MAX);
		names[n++] = it->valuestring;
	}
	rc = tpc_claims_set_resolution(c->api->cfg.store, id, summary, names, n, at, c->who,
				       api_now(), why, sizeof(why));
	if (rc)
		return api_fail(c->conn, rc, why);
	return api_claim_reply(c, id, MHD_HTTP_OK);
}

/* A feedback body, support's or the customer's: {"rating": 1..5 whole,
 * "comment"?}; false with *ret set (400) otherwise. */
static bool api_feedback_body(struct api_call *c, int *rating, const char **comment,
			      enum MHD_Result *ret)
{
	static const char *const keys[] = { "rating", "comment", NULL };
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(c->body, "rating");

	if (!api_body_keys(c, keys, ret) || !api_body_str(c, "comment", comment, ret))
		return false;
	if (!cJSON_IsNumber(r) || r->valuedouble != floor(r->valuedouble) ||
	    r->valuedouble < 1 || r->valuedouble > 5) {
		*ret = api_error(c->conn, MHD_HTTP_BAD_REQUEST, "rating: required, a whole number 1..5");
		return false;
	}
	*rating = (int)r->valuedouble;
	return true;
}

static enum MHD_Result api_claim_feedback(struct api_call *c)
{
	enum MHD_Result ret = MHD_NO;
	const char *comment;
	int rating;
	char why[320];
	int64_t id;
	enum tpd_err rc;

	if (!api_claim_id(c, &id, &ret) || !api_feedback_body(c, &rating, &comment, &ret))
		return ret;
	rc = tpc_claims_feedback(c->api->cfg.store, id, rating, comment, c->who,
				 api_now(), why, sizeof(why));
	if (rc)
		return api_fail(c->conn, rc, why);
	return api_claim_reply(c, id, MHD_HTTP_OK);
}

/* POST /api/v1/claims: a claim by hand (SPEC §7). A token holder files it
 * as support and gets the claim; anyone else is the customer, may claim
 * only for a registered serial, and gets the id and the tracking link only
 * (the claim holds what the device reported and its owner's contact). */
static enum MHD_Result api_claim_create(struct api_call *c)
{
	static const char *const keys[] = { "device", "model", "purchase_date", "description",
					    "contact", "channel", "category", NULL };
	struct tpc_claim_manual m = { .origin = c->who ? "support" : "customer",
				      .by = c->who ? c->who : "customer" };
	struct tpc_claim_result res;
	enum MHD_Result ret = MHD_NO;
	char why[400], cid[32], url[512];
	cJSON *claim, *o;
	enum tpd_err rc;

	if (!api_body_keys(c, keys, &ret) || !api_body_str(c, "device", &m.device, &ret) ||
	    !api_body_str(c, "model", &m.model, &ret) ||
	    !api_body_str(c, "purchase_date", &m.purchase_date, &ret) ||
	    !api_body_str(c, "description", &m.description, &ret) ||
	    !api_body_str(c, "contact", &m.contact, &ret) ||
	    !api_body_str(c, "channel", &m.channel, &ret) ||
	    !api_body_str(c, "category", &m.category, &ret))
		return ret;
	if (!c->who && !m.channel)
		m.channel = "web";
	rc = tpc_claims_manual(c->api->cfg.store, c->api->cfg.policy, &m, api_now(), &res, why,
			       sizeof(why));
	if (rc)
		return api_fail(c->conn, rc, why);
	tpc_claim_id_format(res.claim, cid, sizeof(cid));
	fprintf(stderr, "tpcollect: %s claim %s for %s by the %s%s%s\n",
		res.opened ? "opened" : "added a report to", cid, m.device, m.origin,
		c->who ? " " : "", c->who ? c->who : "");
	if (c->who)
		return api_claim_reply(c, res.claim, res.opened ? MHD_HTTP_CREATED : MHD_HTTP_OK);
	o = cJSON_CreateObject();
	if (o) {
		cJSON_AddStringToObject(o, "id", cid);
		cJSON_AddBoolToObject(o, "opened", res.opened);
	}
	if (o && res.opened && tpc_store_claim_get(c->api->cfg.store, res.claim, &claim) == TPD_OK) {
		const char *token = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(claim, "tracking_token"));

		cJSON_AddStringToObject(o, "state", "open");
		if (token) {
			api_tracking_url(c->api, token, url, sizeof(url));
			cJSON_AddStringToObject(o, "tracking_url", url);
		}
		cJSON_Delete(claim);
	} else if (o) {
		/* the device has an open claim already: its link stays with whoever
		 * it was given to (a serial number is printed on a label) */
		cJSON_AddStringToObject(o, "message", "your report was added to the open claim for "
					"this device; support will contact you");
	}
	return api_json(c->conn, res.opened ? MHD_HTTP_CREATED : MHD_HTTP_OK, o);
}

/* The claim of a tracking token from the path; false with a 404 queued
 * (also for a token of the wrong shape: nothing tells the two apart). */
static bool api_track_claim(struct api_call *c, int64_t *id, enum MHD_Result *ret)
{
	size_t n = strlen(c->arg);
	enum tpd_err rc = TPD_ERR_NOTFOUND;

	if (n == TPC_TRACKING_TOKEN_LEN && strspn(c->arg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmno"
						  "pqrstuvwxyz0123456789-_") == n)
		rc = tpc_store_claim_by_token(c->api->cfg.store, c->arg, id);
	if (rc == TPD_OK)
		return true;
	*ret = rc == TPD_ERR_NOTFOUND
	       ? api_error(c->conn, MHD_HTTP_NOT_FOUND, "no claim for this tracking link")
	       : api_error(c->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "database error");
	return false;
}

/* What the customer sees: the state, the dates, the steps in the order they
 * happened - no notes, no staff names, no device data. */
static enum MHD_Result api_track_get(struct api_call *c)
{
	static const char *const shown[] = {
		"opened", "in_review", "approved", "rejected", "remote_guidance",
		"repair_scheduled", "replacement", "resolved", "closed", "feedback", NULL };
	static const char *const copy[] = { "id", "state", "model", "device", "opened_at",
					    "review_due", "updated_at", "origin", NULL };
	enum MHD_Result ret = MHD_NO;
	cJSON *cl, *o, *tl, *it, *w;
	int64_t id;
	enum tpd_err rc;

	if (!api_track_claim(c, &id, &ret))
		return ret;
	rc = tpc_store_claim_get(c->api->cfg.store, id, &cl);
	if (rc)
		return api_fail(c->conn, rc, "no such claim");
	o = cJSON_CreateObject();
	tl = o ? cJSON_AddArrayToObject(o, "timeline") : NULL;
	for (int i = 0; tl && copy[i]; i++) {
		cJSON *v = cJSON_GetObjectItemCaseSensitive(cl, copy[i]);

		if (v)
			cJSON_AddItemToObject(o, copy[i], cJSON_Duplicate(v, false));
	}
	w = cJSON_GetObjectItemCaseSensitive(cl, "warranty");
	if (tl && w)
		cJSON_AddItemToObject(o, "warranty_status",
				      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(w, "status"), 0));
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(cl, "timeline")) {
		const char *ev = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "event"));
		cJSON *e;

		if (!tl || !ev)
			break;
		for (int i = 0; shown[i]; i++) {
			if (strcmp(ev, shown[i]) != 0)
				continue;
			e = cJSON_CreateObject();
			if (e && cJSON_AddItemToArray(tl, e)) {
				cJSON_AddItemToObject(e, "at", cJSON_Duplicate(
					cJSON_GetObjectItemCaseSensitive(it, "at"), false));
				cJSON_AddStringToObject(e, "event", ev);
			} else {
				cJSON_Delete(e);
			}
			break;
		}
	}
	if (tl) {
		const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cl, "state"));
		const cJSON *fb = cJSON_GetObjectItemCaseSensitive(cl, "feedback");

		cJSON_AddBoolToObject(o, "feedback_open", st && tpc_claim_feedback_allowed(st) &&
				      cJSON_IsNull(fb));
		cJSON_AddBoolToObject(o, "feedback_given", fb && !cJSON_IsNull(fb));
	}
	cJSON_Delete(cl);
	return api_json(c->conn, MHD_HTTP_OK, o);
}

static enum MHD_Result api_track_feedback(struct api_call *c)
{
	enum MHD_Result ret = MHD_NO;
	const char *comment;
	int rating;
	char why[320];
	int64_t id;
	enum tpd_err rc;

	if (!api_track_claim(c, &id, &ret) || !api_feedback_body(c, &rating, &comment, &ret))
		return ret;
	rc = tpc_claims_customer_feedback(c->api->cfg.store, id, rating, comment,
					  api_now(), why, sizeof(why));
	if (rc)
		return api_fail(c->conn, rc, why);
	return api_track_get(c);   /* the page's view, with the feedback in */
}

/* Static files --------------------------------------------------------------- */

#define API_FILE_MAX (2 * 1024 * 1024)

/* Serves dir/name (name: [a-z0-9_.-], no leading dot) as it is; dir NULL:
 * nothing is served from there. */
static enum MHD_Result api_file_in(struct api_call *c, const char *dir, const char *name)
{
	static const struct { const char *ext, *type; } types[] = {
		{ ".html", "text/html; charset=utf-8" }, { ".js", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" }, { ".json", "application/json" },
		{ ".svg", "image/svg+xml" },
	};
	const char *type = NULL;
	char path[1024];
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t n = strlen(name), got;
	char *buf;
	FILE *f;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t e = strlen(types[i].ext);

		if (n > e && strcmp(name + n - e, types[i].ext) == 0)
			type = types[i].type;
	}
	if (!dir || !type || name[0] == '.' ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_.-") != n)
		return api_error(c->conn, MHD_HTTP_NOT_FOUND, "no such file");
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (!f)
		return api_error(c->conn, MHD_HTTP_NOT_FOUND, "no such file");
	buf = malloc(API_FILE_MAX);
	got = buf ? fread(buf, 1, API_FILE_MAX, f) : 0;
	fclose(f);
	if (!buf)
		return api_json(c->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL);
	resp = MHD_create_response_from_buffer(got, buf, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", type);
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	/* the pages load nothing from elsewhere, and nobody frames them; scripts
	 * come from files only (style attributes are allowed: dygraphs sets
	 * them on the chart's legend) */
	MHD_add_response_header(resp, "Content-Security-Policy",
				"default-src 'self'; style-src 'self' 'unsafe-inline'; "
				"img-src 'self' data:; frame-ancestors 'none'");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	ret = MHD_queue_response(c->conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result api_file(struct api_call *c, const char *name)
{
	return api_file_in(c, c->api->cfg.web_dir, name);
}

static enum MHD_Result api_web_file(struct api_call *c)
{
	return api_file(c, c->arg);
}

/* Debian's dygraphs (libjs-dygraphs) for the console's charts: served from
 * the package's own folder, so nothing is copied and nothing is fetched
 * from elsewhere. */
static enum MHD_Result api_lib_dygraphs(struct api_call *c)
{
	char dir[512];

	if (!c->api->cfg.js_dir)
		return api_error(c->conn, MHD_HTTP_NOT_FOUND, "no such file");
	snprintf(dir, sizeof(dir), "%s/dygraphs", c->api->cfg.js_dir);
	return api_file_in(c, dir, c->arg);
}

/* The tracking page itself: one file for every token (its script reads the
 * token from the address); an unknown token is told by the API call. */
static enum MHD_Result api_track_page(struct api_call *c)
{
	return api_file(c, "track.html");
}

static enum MHD_Result api_console_page(struct api_call *c)
{
	return api_file(c, "index.html");
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
	api_private(c, arr);
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
	api_private(c, dev);
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
	const char *after = api_arg(c->conn, "after"), *res = api_arg(c->conn, "resolution");
	enum MHD_Result ret = MHD_NO;
	unsigned limit;
	cJSON *dev, *arr;
	char *end;
	enum tpd_err rc;

	if (!api_device_id(c, &ret))
		return ret;
	if (res && !tpc_resolution_parse(res, &f.resolution))
		return api_error(c->conn, MHD_HTTP_BAD_REQUEST, "resolution: \"%.20s\" is not "
				 "auto|raw|hour|day", res);
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
	/* rollups page by their start time (store.h) */
	c->resolution = tpc_resolution_name(f.resolution);
	return api_page(c, "telemetry", arr, limit, f.resolution == TPC_RES_RAW ? "seq" : "ts", -1);
}

/* The product's sensors and their limits (boards/MODEL.json), for the
 * console's plots: only what a chart draws, in SPEC §4 units. */
static enum MHD_Result api_model_get(struct api_call *c)
{
	static const struct { const char *key; size_t off; } lim[] = {
		{ "nominal", offsetof(struct tpd_sensor_desc, nominal) },
		{ "warn", offsetof(struct tpd_sensor_desc, warn) },
		{ "crit", offsetof(struct tpd_sensor_desc, crit) },
		{ "min", offsetof(struct tpd_sensor_desc, min) },
		{ "max", offsetof(struct tpd_sensor_desc, max) },
		{ "stall_rpm", offsetof(struct tpd_sensor_desc, stall_rpm) },
	};
	struct tpd_product *p;
	char path[1024], err[256];
	cJSON *o, *arr;
	enum tpd_err rc;

	if (!tpd_id_valid(c->arg))
		return api_error(c->conn, MHD_HTTP_NOT_FOUND, "no model \"%.70s\"", c->arg);
	rc = tpd_product_resolve(c->arg, c->api->cfg.board_dirs, path, sizeof(path));
	if (rc)
		return api_error(c->conn, MHD_HTTP_NOT_FOUND, "no product description for %s",
				 c->arg);
	p = malloc(sizeof(*p));
	if (!p)
		return api_json(c->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL);
	rc = tpd_product_load(path, p, err, sizeof(err));
	if (rc) {
		free(p);
		return api_error(c->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "product description: %s",
				 err);
	}
	o = cJSON_CreateObject();
	arr = o ? cJSON_AddArrayToObject(o, "sensors") : NULL;
	if (arr) {
		cJSON_AddStringToObject(o, "model", p->model);
		cJSON_AddStringToObject(o, "name", p->name);
		cJSON_AddStringToObject(o, "category", p->category);
	}
	for (size_t i = 0; arr && i < p->nsensors; i++) {
		const struct tpd_sensor_desc *d = &p->sensors[i];
		cJSON *e = cJSON_CreateObject();

		if (!e || !cJSON_AddItemToArray(arr, e)) {
			cJSON_Delete(e);
			break;
		}
		cJSON_AddStringToObject(e, "id", d->id);
		cJSON_AddStringToObject(e, "label", d->label);
		for (size_t k = 0; k < sizeof(lim) / sizeof(lim[0]); k++) {
			double v = *(const double *)((const char *)d + lim[k].off);

			if (isfinite(v))
				cJSON_AddNumberToObject(e, lim[k].key, v);
		}
	}
	free(p);
	return api_json(c->conn, MHD_HTTP_OK, o);
}

/* Misc ---------------------------------------------------------------------- */

/* Who the bearer token is, and what it may do (note 8). */
static enum MHD_Result api_whoami(struct api_call *c)
{
	cJSON *o = cJSON_CreateObject();

	if (o && c->who) {
		cJSON_AddStringToObject(o, "name", c->who);
		cJSON_AddStringToObject(o, "role", tpc_role_name(c->role));
	} else if (o) {
		/* no --tokens: reads are open and nothing can change */
		cJSON_AddNullToObject(o, "name");
		cJSON_AddStringToObject(o, "role", "viewer");
	}
	return api_json(c->conn, MHD_HTTP_OK, o);
}

/* Adds the webhook targets' state to o; a target failing makes *degraded
 * name it. */
static void api_health_webhooks(struct tpc_api *api, cJSON *o, char *degraded, size_t len)
{
	size_t n = tpc_webhook_count(api->cfg.webhook);
	cJSON *arr = n && o ? cJSON_AddArrayToObject(o, "webhooks") : NULL;

	for (size_t i = 0; arr && i < n; i++) {
		struct tpc_webhook_status st;
		cJSON *w = cJSON_CreateObject();

		tpc_webhook_status(api->cfg.webhook, i, &st);
		if (!w || !cJSON_AddItemToArray(arr, w)) {
			cJSON_Delete(w);
			return;
		}
		cJSON_AddStringToObject(w, "name", st.name);
		cJSON_AddBoolToObject(w, "up", st.failing_since == 0);
		cJSON_AddNumberToObject(w, "pending", (double)st.pending);
		cJSON_AddNumberToObject(w, "delivered", (double)st.delivered);
		cJSON_AddNumberToObject(w, "failures", (double)st.failures);
		if (st.failing_since != 0) {
			cJSON_AddNumberToObject(w, "failing_since", st.failing_since);
			cJSON_AddNumberToObject(w, "attempts", st.attempts);
			cJSON_AddStringToObject(w, "last_error", st.last_error);
			if (!*degraded)
				snprintf(degraded, len, "degraded: webhook %s failing (%s)", st.name,
					 st.last_error);
		}
	}
}

/* 503 while reports cannot be stored (a full disk) or do not arrive (the
 * broker unreachable): the collector is up but not doing its job, which is
 * what a health check is for; "status" says why. A failing webhook target
 * is "degraded" and 200: reports are still taken. */
static enum MHD_Result api_health(struct api_call *c)
{
	cJSON *o = tpc_collector_health_json(c->api->cfg.collector);
	bool failing = !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ready"));
	const char *why = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "not_ready"));
	char degraded[300] = "";

	api_health_webhooks(c->api, o, degraded, sizeof(degraded));
	if (o)
		cJSON_AddStringToObject(o, "status", failing ? (why ? why : "not ready")
						     : *degraded ? degraded : "ok");
	return api_json(c->conn, failing ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK, o);
}

/* Ready for traffic: reports are being stored and the broker is connected;
 * otherwise 503 with each reason in words. */
static enum MHD_Result api_ready(struct api_call *c)
{
	struct tpc_collector_health h;
	cJSON *o = cJSON_CreateObject();
	cJSON *why = o ? cJSON_AddArrayToObject(o, "reasons") : NULL;
	char line[400];
	bool ready = true;

	tpc_collector_health(c->api->cfg.collector, &h);
	if (h.failing_since != 0) {
		ready = false;
		snprintf(line, sizeof(line), "reports cannot be stored since %.0f s: %s",
			 tpd_clock_wall() - h.failing_since, h.last_error);
		if (why)
			cJSON_AddItemToArray(why, cJSON_CreateString(line));
	}
	if (c->api->cfg.broker_up && !atomic_load(c->api->cfg.broker_up)) {
		ready = false;
		if (why)
			cJSON_AddItemToArray(why, cJSON_CreateString("not connected to the MQTT broker"));
	}
	if (o)
		cJSON_AddBoolToObject(o, "ready", ready);
	return api_json(c->conn, ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, o);
}

static enum MHD_Result api_metrics(struct api_call *c)
{
	struct tpc_api *api = c->api;
	struct tpc_metrics_src src = {
		.collector = api->cfg.collector, .store = api->cfg.store,
		.api_latency = api->latency, .webhook = api->cfg.webhook,
	};
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char *text;

	pthread_mutex_lock(&api->conns_lock);
	src.api_connections = api->nconns;
	src.api_slow_closed = api->slow_closed;
	src.api_refused_early = api->refused_early;
	pthread_mutex_unlock(&api->conns_lock);
	text = tpc_metrics_render(&src, tpd_clock_wall());
	if (!text)
		return api_json(c->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL);
	resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	ret = MHD_queue_response(c->conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result api_stats(struct api_call *c)
{
	struct tpc_api *api = c->api;
	cJSON *o = tpc_collector_stats_json(api->cfg.collector);
	cJSON *a = o ? cJSON_AddObjectToObject(o, "api") : NULL;

	if (a) {
		pthread_mutex_lock(&api->conns_lock);
		cJSON_AddNumberToObject(a, "connections", (double)api->nconns);
		cJSON_AddNumberToObject(a, "connection_limit", api->conn_max);
		cJSON_AddNumberToObject(a, "slow_closed", (double)api->slow_closed);
		cJSON_AddNumberToObject(a, "refused_before_body", (double)api->refused_early);
		pthread_mutex_unlock(&api->conns_lock);
		cJSON_AddNumberToObject(a, "body_bytes", (double)atomic_load(&api->body_bytes));
	}
	return api_json(c->conn, MHD_HTTP_OK, o);
}

/* Routing ------------------------------------------------------------------- */

static const char *const api_claims_query[] = {
	"state", "device", "since", "after", "limit", "warranty", "priority", "predictive",
	"model", "overdue", "q", "sort", "format", "category", "assignee", "assigned", NULL };
static const char *const api_page_query[] = { "after", "limit", NULL };
static const char *const api_telemetry_query[] = { "since", "until", "after", "limit",
						    "resolution", NULL };

static const struct api_route api_routes[] = {
	{ "GET", "/healthz", 0, true, api_health, NULL },
	{ "GET", "/readyz", 0, true, api_ready, NULL },
	{ "GET", "/metrics", 0, true, api_metrics, NULL },
	{ "GET", "/api/v1/stats", 0, false, api_stats, NULL },
	{ "GET", "/api/v1/whoami", 0, false, api_whoami, NULL },
	{ "GET", "/api/v1/models/{}", 0, false, api_model_get, NULL },
	{ "GET", "/lib/dygraphs/{}", 0, true, api_lib_dygraphs, NULL },
	{ "GET", "/api/v1/claims", 0, false, api_claims_list, api_claims_query },
	{ "POST", "/api/v1/claims", TPC_API_BODY_MAX, true, api_claim_create, NULL },
	{ "GET", "/", 0, true, api_console_page, NULL },
	{ "GET", "/web/{}", 0, true, api_web_file, NULL },
	{ "GET", "/track/{}", 0, true, api_track_page, NULL },
	{ "GET", "/api/v1/track/{}", 0, true, api_track_get, NULL },
	{ "POST", "/api/v1/track/{}/feedback", TPC_API_BODY_MAX, true, api_track_feedback, NULL },
	{ "GET", "/api/v1/claims/{}", 0, false, api_claim_get, NULL },
	{ "GET", "/api/v1/claims/{}/evidence", 0, false, api_claim_evidence, NULL },
	{ "POST", "/api/v1/claims/{}/transition", TPC_API_BODY_MAX, false, api_claim_transition, NULL },
	{ "POST", "/api/v1/claims/{}/notes", TPC_API_BODY_MAX, false, api_claim_note, NULL },
	{ "POST", "/api/v1/claims/{}/feedback", TPC_API_BODY_MAX, false, api_claim_feedback, NULL },
	{ "POST", "/api/v1/claims/{}/assign", TPC_API_BODY_MAX, false, api_claim_assign, NULL },
	{ "POST", "/api/v1/claims/{}/resolution", TPC_API_BODY_MAX, false, api_claim_resolution,
	  NULL },
	{ "GET", "/api/v1/devices", 0, false, api_devices_list, api_page_query },
	{ "POST", "/api/v1/devices/import", TPC_API_IMPORT_MAX, false, api_devices_import, NULL },
	{ "GET", "/api/v1/devices/{}", 0, false, api_device_get, NULL },
	{ "PATCH", "/api/v1/devices/{}", TPC_API_BODY_MAX, false, api_device_update, NULL },
	{ "GET", "/api/v1/devices/{}/telemetry", 0, false, api_device_telemetry, api_telemetry_query },
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

/* The bearer token's holder and role; NULL when absent or unknown. */
static const char *api_who(struct tpc_api *api, struct MHD_Connection *conn,
			   enum tpc_role *role)
{
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);

	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	return tpc_tokens_lookup(api->cfg.tokens, h, role);
}

static enum MHD_Result api_unauthorized(struct MHD_Connection *conn, const char *msg)
{
	return api_send(conn, MHD_HTTP_UNAUTHORIZED, api_error_obj("%s", msg),
			MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"tpcollect\"");
}

/* Query parameters a route does not take are refused, not ignored: a
 * filter that is misspelt (or not supported) must not return everything. */
struct api_query_check {
	const char *const *allowed;
	char bad[48];
	char list[400];
};

static enum MHD_Result api_query_known(void *cls, enum MHD_ValueKind kind, const char *key,
				       const char *value)
{
	struct api_query_check *q = cls;
	size_t used = 0;

	(void)kind;
	(void)value;
	for (size_t i = 0; q->allowed && q->allowed[i]; i++)
		if (strcmp(key, q->allowed[i]) == 0)
			return MHD_YES;
	snprintf(q->bad, sizeof(q->bad), "%.40s", key);
	for (size_t i = 0; q->allowed && q->allowed[i] && used < sizeof(q->list); i++) {
		int n = snprintf(q->list + used, sizeof(q->list) - used, "%s%s", i ? ", " : "",
				 q->allowed[i]);

		used += n > 0 ? (size_t)n : 0;
	}
	return MHD_NO;
}

static enum MHD_Result api_dispatch(struct tpc_api *api, struct MHD_Connection *conn,
				    const char *url, const char *method, struct api_req *req)
{
	struct api_call c = { .api = api, .conn = conn };
	char arg[TPD_ID_MAX + 8];
	const char *argp = NULL;
	size_t arglen = 0;
	const struct api_route *r = req->route;
	cJSON *body = NULL;
	enum MHD_Result ret;

	(void)method;
	if (!r)
		return MHD_NO;   /* refused at the headers already (api_headers) */
	c.who = req->who;
	c.role = req->role;
	{
		struct api_query_check q = { .allowed = r->query };

		MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, api_query_known, &q);
		if (q.bad[0])
			return api_error(conn, MHD_HTTP_BAD_REQUEST,
					 "unknown query parameter \"%s\" (this resource takes: %s)",
					 q.bad, q.list[0] ? q.list : "none");
	}
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

/* The tracked connection of conn (note 4); NULL if not tracked. */
static struct api_conn *api_conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

static double api_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void api_body_release(struct tpc_api *api, struct api_req *req)
{
	if (req->reserved)
		atomic_fetch_sub(&api->body_bytes, req->reserved);
	req->reserved = 0;
}

/* Takes n more bytes of the total for bodies in flight; false when that
 * would pass TPC_API_BODIES_MAX. */
static bool api_body_reserve(struct tpc_api *api, struct api_req *req, size_t n)
{
	size_t was = atomic_load(&api->body_bytes);

	do {
		if (n > TPC_API_BODIES_MAX || was > TPC_API_BODIES_MAX - n)
			return false;
	} while (!atomic_compare_exchange_weak(&api->body_bytes, &was, was + n));
	req->reserved += n;
	return true;
}

static void api_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			  enum MHD_RequestTerminationCode toe)
{
	struct tpc_api *api = cls;
	struct api_req *req = *con_cls;
	struct api_conn *ac = api_conn_of(conn);

	(void)toe;
	if (ac) {
		/* a kept-alive connection owes its next request's headers within
		 * the deadline again */
		pthread_mutex_lock(&api->conns_lock);
		ac->in_request = false;
		ac->since = api_mono();
		pthread_mutex_unlock(&api->conns_lock);
	}
	if (req) {
		tpc_hist_observe(api->latency, api_mono() - req->started);
		api_body_release(api, req);
		free(req->body);
		free(req);
		*con_cls = NULL;
	}
}

/* Counts a request answered before its body (note 2) and queues the answer. */
static enum MHD_Result api_refuse_early(struct tpc_api *api, enum MHD_Result ret)
{
	pthread_mutex_lock(&api->conns_lock);
	api->refused_early++;
	pthread_mutex_unlock(&api->conns_lock);
	return ret;
}

/*
 * The first call for a request: its headers are complete, no body byte has
 * been read. Everything that can refuse it without the body does so here
 * (design note 2). Returns MHD_YES with req set up to read the body.
 */
static enum MHD_Result api_headers(struct tpc_api *api, struct MHD_Connection *conn,
				   const char *url, const char *method, struct api_req *req)
{
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	const struct api_route *r;
	unsigned long long announced = 0;
	char *end;

	req->route = r = api_route_find(method, url, &req->path_known, req->allow,
					sizeof(req->allow));
	req->max = r ? r->body_max : 0;
	if (!req->path_known)
		return api_refuse_early(api, api_error(conn, MHD_HTTP_NOT_FOUND,
						       "no such resource: %.100s", url));
	if (!r)
		return api_refuse_early(api, api_send(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
			api_error_obj("method %.10s not allowed here (allowed: %s)", method, req->allow),
			"Allow", req->allow));
	/* an open route still knows a token holder (POST /api/v1/claims) */
	req->who = api_who(api, conn, &req->role);
	if (req->who && req->role == TPC_ROLE_VIEWER && strcmp(r->method, "GET") != 0)
		return api_refuse_early(api, api_error(conn, MHD_HTTP_FORBIDDEN,
			"%s holds a viewer's token: reads only, no changes", req->who));
	if (!r->open) {
		if (!req->who && api->cfg.tokens)
			return api_refuse_early(api, api_unauthorized(conn,
				"missing or invalid bearer token (Authorization: Bearer TOKEN)"));
		if (!req->who && strcmp(r->method, "GET") != 0)
			return api_refuse_early(api, api_unauthorized(conn,
				"changes need a bearer token, and this collector runs without --tokens"));
	}
	if (cl) {
		errno = 0;
		announced = strtoull(cl, &end, 10);
		if (end == cl || *end || errno || cl[0] == '-')
			return api_refuse_early(api, api_error(conn, MHD_HTTP_BAD_REQUEST,
							       "Content-Length: not a number"));
	}
	if (announced > req->max)
		return api_refuse_early(api, api_error(conn, MHD_HTTP_CONTENT_TOO_LARGE,
						       "request body over %zu bytes", req->max));
	/* The announced body is reserved whole, up front: a request that
	 * cannot have its memory is told so before it sends it. */
	if (announced && !api_body_reserve(api, req, (size_t)announced + 1))
		return api_refuse_early(api, api_send(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
			api_error_obj("too many request bodies in flight; retry shortly"),
			MHD_HTTP_HEADER_RETRY_AFTER, "5"));
	return MHD_YES;
}

/* Appends n body bytes; false when the request must be dropped (over its
 * cap, or no memory for it): the connection is closed then, since a
 * response cannot be queued in the middle of a body. */
static bool api_body_add(struct tpc_api *api, struct api_req *req, const char *data, size_t n)
{
	if (n > req->max || req->len > req->max - n)
		return false;
	if (req->len + n + 1 > req->cap) {
		size_t cap = req->cap ? req->cap : 4096;
		char *grown;

		while (cap < req->len + n + 1)
			cap *= 2;
		if (cap > req->max + 1)
			cap = req->max + 1;
		/* a chunked body (no Content-Length) reserves as it grows */
		if (cap > req->reserved && !api_body_reserve(api, req, cap - req->reserved))
			return false;
		grown = realloc(req->body, cap);
		if (!grown)
			return false;
		req->body = grown;
		req->cap = cap;
	}
	memcpy(req->body + req->len, data, n);
	req->len += n;
	req->body[req->len] = '\0';
	return true;
}

static enum MHD_Result api_handler(void *cls, struct MHD_Connection *conn, const char *url,
				   const char *method, const char *version, const char *upload_data,
				   size_t *upload_data_size, void **con_cls)
{
	struct tpc_api *api = cls;
	struct api_req *req = *con_cls;

	(void)version;
	if (!req) {
		struct api_conn *ac = api_conn_of(conn);

		if (ac) {
			pthread_mutex_lock(&api->conns_lock);
			ac->in_request = true;
			pthread_mutex_unlock(&api->conns_lock);
		}
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		req->started = api_mono();
		*con_cls = req;
		return api_headers(api, conn, url, method, req);
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		return api_body_add(api, req, upload_data, n) ? MHD_YES : MHD_NO;
	}
	return api_dispatch(api, conn, url, method, req);
}

/* Connection tracking and the header deadline (note 4) --------------------- */

static void api_notify_conn(void *cls, struct MHD_Connection *conn, void **socket_context,
			    enum MHD_ConnectionNotificationCode toe)
{
	struct tpc_api *api = cls;
	struct api_conn *ac = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);

		ac = calloc(1, sizeof(*ac));
		if (!ac)
			return;   /* untracked: only MHD's inactivity timeout applies */
		ac->fd = ci ? ci->connect_fd : -1;
		ac->since = api_mono();
		pthread_mutex_lock(&api->conns_lock);
		ac->next = api->conns;
		if (api->conns)
			api->conns->prev = ac;
		api->conns = ac;
		api->nconns++;
		pthread_mutex_unlock(&api->conns_lock);
		*socket_context = ac;
		return;
	}
	if (!ac)
		return;
	/* CLOSED comes before MHD closes the socket: once ac is off the list
	 * the reaper cannot touch a descriptor number that is reused. */
	pthread_mutex_lock(&api->conns_lock);
	if (ac->prev)
		ac->prev->next = ac->next;
	else
		api->conns = ac->next;
	if (ac->next)
		ac->next->prev = ac->prev;
	api->nconns--;
	pthread_mutex_unlock(&api->conns_lock);
	free(ac);
	*socket_context = NULL;
}

/* Once a second: shuts down connections past the header deadline. MHD sees
 * the socket closed and cleans the connection up on its own thread. */
static void *api_reaper(void *arg)
{
	struct tpc_api *api = arg;

	pthread_mutex_lock(&api->conns_lock);
	while (!api->stopping) {
		struct timespec until;
		double now = api_mono();

		for (struct api_conn *ac = api->conns; ac; ac = ac->next) {
			if (ac->in_request || ac->reaped || ac->fd < 0 ||
			    now - ac->since < API_HEADER_DEADLINE_S)
				continue;
			shutdown(ac->fd, SHUT_RDWR);
			ac->reaped = true;
			api->slow_closed++;
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&api->reaper_wake, &api->conns_lock, &until);
	}
	pthread_mutex_unlock(&api->conns_lock);
	return NULL;
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

static void api_free(struct tpc_api *api)
{
	if (api->reaper_started) {
		pthread_mutex_lock(&api->conns_lock);
		api->stopping = true;
		pthread_cond_signal(&api->reaper_wake);
		pthread_mutex_unlock(&api->conns_lock);
		pthread_join(api->reaper, NULL);
	}
	pthread_cond_destroy(&api->reaper_wake);
	pthread_mutex_destroy(&api->conns_lock);
	tpc_hist_free(api->latency);
	free(api);
}

enum tpd_err tpc_api_start(const struct tpc_api_cfg *cfg, struct tpc_api **out,
			   int *bound_port, char *err, size_t errlen)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)cfg->port) };
	const union MHD_DaemonInfo *info;
	const char *host = cfg->host;
	struct tpc_api *api;
	struct rlimit nofile;

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
	if (tpc_hist_new(&api->latency)) {
		free(api);
		return TPD_ERR_NOMEM;
	}
	atomic_init(&api->body_bytes, 0);
	pthread_mutex_init(&api->conns_lock, NULL);
	pthread_cond_init(&api->reaper_wake, NULL);
	/* Descriptors left for the database, the broker and the listeners. */
	api->conn_max = API_CONN_MAX;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY &&
	    nofile.rlim_cur < API_CONN_MAX + 128)
		api->conn_max = nofile.rlim_cur > 192 ? (unsigned)nofile.rlim_cur - 128 : 64;
	api->per_ip_max = api->conn_max / 2;
	if (pthread_create(&api->reaper, NULL, api_reaper, api) != 0) {
		snprintf(err, errlen, "cannot start the API's connection reaper");
		api_free(api);
		return TPD_ERR_NOMEM;
	}
	api->reaper_started = true;
	api->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
				       api_handler, api,
				       MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
				       MHD_OPTION_THREAD_POOL_SIZE, (unsigned)API_THREADS,
				       MHD_OPTION_NOTIFY_COMPLETED, api_completed, api,
				       MHD_OPTION_NOTIFY_CONNECTION, api_notify_conn, api,
				       MHD_OPTION_CONNECTION_LIMIT, api->conn_max,
				       MHD_OPTION_PER_IP_CONNECTION_LIMIT, api->per_ip_max,
				       MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)API_IDLE_TIMEOUT_S,
				       MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)API_CONN_MEMORY,
				       MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
				       MHD_OPTION_END);
	if (!api->daemon) {
		snprintf(err, errlen, "cannot listen on %s:%d: %s", host, cfg->port,
			 errno ? strerror(errno) : "libmicrohttpd refused");
		api_free(api);
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
	api_free(api);
}
