/*
 * api.c - HTTP API over libmicrohttpd.
 *
 * Layout: responses, query validation, routes, daemon start/stop.
 * Every query parameter is validated before it reaches the store, and the
 * store uses prepared statements only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "tpd/wire.h"
#include "api.h"
#include "collector.h"
#include "store.h"

struct tpc_api {
	struct MHD_Daemon *daemon;
	struct tpc_store *store;
	struct tpc_collector *collector;
};

static const char *const api_claim_states[] = {
	"open", "in_review", "approved", "rejected", "remote_guidance", "repair_scheduled",
	"replacement", "resolved", "closed", NULL
};

/* Sends body (taken) with status; cJSON text is freed after copying. */
static enum MHD_Result api_send_json(struct MHD_Connection *conn, unsigned status, cJSON *body)
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
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result api_error(struct MHD_Connection *conn, unsigned status, const char *fmt,
				 const char *arg)
{
	char msg[256];
	cJSON *o = cJSON_CreateObject();

	snprintf(msg, sizeof(msg), fmt, arg ? arg : "");
	if (o && !cJSON_AddStringToObject(o, "error", msg)) {
		cJSON_Delete(o);
		o = NULL;
	}
	return api_send_json(conn, status, o);
}

static bool api_in(const char *s, const char *const *set)
{
	for (; *set; set++) {
		if (strcmp(s, *set) == 0)
			return true;
	}
	return false;
}

/* "2026-11-25" or "2026-11-25T10:02:11Z": digits and separators only, so the
 * string comparison with opened_at is meaningful. */
static bool api_since_valid(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	size_t n = strlen(s);

	if (n != 10 && n != 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return false;
	}
	return true;
}

static enum MHD_Result api_claims_list(struct tpc_api *api, struct MHD_Connection *conn)
{
	struct tpc_claim_filter f = { 0 };
	const char *limit = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit");
	cJSON *arr, *o;
	char *end;

	f.state = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "state");
	f.device = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "device");
	f.since = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "since");
	if (f.state && !*f.state)
		f.state = NULL;
	if (f.device && !*f.device)
		f.device = NULL;
	if (f.since && !*f.since)
		f.since = NULL;
	if (f.state && !api_in(f.state, api_claim_states))
		return api_error(conn, MHD_HTTP_BAD_REQUEST, "state: \"%.40s\" is not a claim state",
				 f.state);
	if (f.device && !tpd_id_valid(f.device))
		return api_error(conn, MHD_HTTP_BAD_REQUEST, "device: \"%.70s\" is not a device id",
				 f.device);
	if (f.since && !api_since_valid(f.since))
		return api_error(conn, MHD_HTTP_BAD_REQUEST,
				 "since: \"%.40s\" is not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ", f.since);
	if (limit && *limit) {
		long v = strtol(limit, &end, 10);

		if (*end || v < 1 || v > 1000)
			return api_error(conn, MHD_HTTP_BAD_REQUEST, "limit: \"%.20s\" is not 1..1000",
					 limit);
		f.limit = (unsigned)v;
	}
	if (tpc_store_claim_list(api->store, &f, &arr))
		return api_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "database error%s", "");
	o = cJSON_CreateObject();
	if (!o) {
		cJSON_Delete(arr);
		return api_send_json(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL);
	}
	cJSON_AddNumberToObject(o, "count", cJSON_GetArraySize(arr));
	cJSON_AddItemToObject(o, "claims", arr);
	return api_send_json(conn, MHD_HTTP_OK, o);
}

static enum MHD_Result api_claim_get(struct tpc_api *api, struct MHD_Connection *conn,
				     const char *idstr)
{
	int64_t id;
	cJSON *claim;
	enum tpd_err rc;

	if (!tpc_claim_id_parse(idstr, &id))
		return api_error(conn, MHD_HTTP_NOT_FOUND, "no claim \"%.40s\" (ids look like C-000123)",
				 idstr);
	rc = tpc_store_claim_get(api->store, id, &claim);
	if (rc == TPD_ERR_NOTFOUND)
		return api_error(conn, MHD_HTTP_NOT_FOUND, "no claim %.40s", idstr);
	if (rc)
		return api_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "database error%s", "");
	return api_send_json(conn, MHD_HTTP_OK, claim);
}

static enum MHD_Result api_handler(void *cls, struct MHD_Connection *conn, const char *url,
				   const char *method, const char *version, const char *upload_data,
				   size_t *upload_data_size, void **con_cls)
{
	struct tpc_api *api = cls;
	static const char prefix[] = "/api/v1/claims/";

	(void)version;
	(void)upload_data;
	/* Only GET for now; a request body is never read. */
	if (*upload_data_size != 0)
		return api_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET is served%s", "");
	(void)con_cls;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return api_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method %.10s not allowed", method);
	if (strcmp(url, "/api/v1/claims") == 0)
		return api_claims_list(api, conn);
	if (strncmp(url, prefix, sizeof(prefix) - 1) == 0)
		return api_claim_get(api, conn, url + sizeof(prefix) - 1);
	if (strcmp(url, "/api/v1/stats") == 0)
		return api_send_json(conn, MHD_HTTP_OK, tpc_collector_stats_json(api->collector));
	if (strcmp(url, "/healthz") == 0) {
		cJSON *o = cJSON_CreateObject();

		if (o)
			cJSON_AddStringToObject(o, "status", "ok");
		return api_send_json(conn, MHD_HTTP_OK, o);
	}
	return api_error(conn, MHD_HTTP_NOT_FOUND, "no such resource: %.100s", url);
}

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

enum tpd_err tpc_api_start(const char *host, int port, struct tpc_store *store,
			   struct tpc_collector *collector, struct tpc_api **out,
			   int *bound_port, char *err, size_t errlen)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	const union MHD_DaemonInfo *info;
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
	api->store = store;
	api->collector = collector;
	api->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
				       api_handler, api,
				       MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
				       MHD_OPTION_CONNECTION_LIMIT, (unsigned)256,
				       MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
				       MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
				       MHD_OPTION_END);
	if (!api->daemon) {
		snprintf(err, errlen, "cannot listen on %s:%d: %s", host, port,
			 errno ? strerror(errno) : "libmicrohttpd refused");
		free(api);
		return TPD_ERR_IO;
	}
	info = MHD_get_daemon_info(api->daemon, MHD_DAEMON_INFO_BIND_PORT);
	*bound_port = info ? info->port : port;
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
