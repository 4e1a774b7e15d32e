/*
 * api.h - the collector's HTTP API (libmicrohttpd, its own thread).
 *
 *   GET   /healthz                                  {"status":"ok"|"degraded: ..."} (no token)
 *   GET   /readyz                                   {"ready":bool,"reasons":[...]} (no token)
 *   GET   /metrics                                  Prometheus text (metrics.h; no token)
 *   GET   /api/v1/stats                             ingest counters
 *   GET   /api/v1/claims?state=&device=&since=&after=&limit=&category=&warranty=&...
 *                                                   {"claims":[...],"count","total","next"}
 *   POST  /api/v1/claims                            open a claim by hand (SPEC §7): with a
 *                                                   token as support (the claim), without
 *                                                   as the customer ({"id","state","tracking_url"})
 *   GET   /api/v1/claims/{id}                       the claim (SPEC §6)
 *   GET   /api/v1/claims/{id}/evidence              signed evidence with JWS and key
 *   POST  /api/v1/claims/{id}/transition            {"to":STATE,"note":"..."}
 *   POST  /api/v1/claims/{id}/notes                 {"note":"..."}
 *   POST  /api/v1/claims/{id}/feedback              {"rating":1..5,"comment":"..."}
 *   GET   /api/v1/devices?after=&limit=             {"devices":[...],"count","next"}
 *   POST  /api/v1/devices/import                    {"devices":[rows]} (devices.h)
 *   GET   /api/v1/devices/{id}                      the device
 *   PATCH /api/v1/devices/{id}                      {"purchase_date":...,...}
 *   GET   /api/v1/devices/{id}/telemetry?since=&until=&after=&limit=
 *   GET   /track/{token}                            the customer's tracking page (no token)
 *   GET   /api/v1/track/{token}                     what that page shows: state, plain timeline
 *   POST  /api/v1/track/{token}/feedback            {"rating":1..5,"comment":"..."}, once
 *   GET   /web/{file}                               the pages' scripts and styles
 *   GET   /lib/dygraphs/{file}                      Debian's libjs-dygraphs (the console's charts)
 *   GET   /api/v1/whoami                            {"name":..., "role":"support"|"viewer"}
 *   GET   /api/v1/models/{model}                    the product's sensors and their limits
 *
 * Auth: "Authorization: Bearer TOKEN" checked against the tokens file
 * (tokens.h), from the headers, before any body byte is read; the token's
 * name is who the timeline records. A "viewer" token (tokens.h) reads only:
 * every other method is a 403. Without a tokens file reads are open
 * (personal data - owner_contact - left out) and every write is refused.
 * Errors: 400 401 403 404 405 409 413 503 with {"error":"..."}; nothing changes.
 * /healthz is 503 while reports cannot be stored or the broker is unreachable
 * ("ready":false, "not_ready" says why); a webhook target that keeps
 * failing makes it "degraded" (still 200: ingest goes on). /readyz is 503
 * with its reasons while reports cannot be stored or the broker is not
 * connected (a load balancer should not send support traffic there).
 */
#ifndef TPC_API_H
#define TPC_API_H

#include <stdatomic.h>
#include <stddef.h>

#include "tpd/err.h"

struct tpc_store;
struct tpc_collector;
struct tpc_registry;
struct tpc_policy;
struct tpc_tokens;
struct tpc_api;

struct tpc_api_cfg {
	const char *host;                 /* IPv4 address or "localhost" */
	int port;                         /* 0: any free one */
	struct tpc_store *store;
	struct tpc_collector *collector;
	struct tpc_registry *registry;
	const struct tpc_policy *policy;
	const struct tpc_tokens *tokens;  /* NULL: read-only API */
	struct tpc_webhook *webhook;      /* NULL: no webhook targets */
	const atomic_int *broker_up;      /* 1 while connected to the broker; NULL: not told */
	const char *web_dir;              /* static files (cloud/web/); NULL: none served */
	const char *js_dir;               /* Debian's libjs-* files (/usr/share/javascript),
					   * served under /lib/; NULL: none */
	const char *const *board_dirs;    /* product descriptions (MODEL.json) for
					   * /api/v1/models/{model}; NULL-terminated */
	const char *public_url;           /* how customers reach us ("https://support.example");
					   * tracking links start with it */
};

/* Starts serving. *bound_port receives the port in use. On failure writes
 * one line to err. */
enum tpd_err tpc_api_start(const struct tpc_api_cfg *cfg, struct tpc_api **out,
			   int *bound_port, char *err, size_t errlen);
void tpc_api_stop(struct tpc_api *api);

/* Splits "HOST:PORT". */
enum tpd_err tpc_api_parse_listen(const char *s, char *host, size_t hostlen, int *port);

#define TPC_API_BODY_MAX (64 * 1024)
#define TPC_API_IMPORT_MAX (16 * 1024 * 1024)
/* Request bodies held in memory at once, all connections together (two
 * whole imports); a request that would pass it gets a 503 before its body. */
#define TPC_API_BODIES_MAX ((size_t)32 * 1024 * 1024)

#endif
