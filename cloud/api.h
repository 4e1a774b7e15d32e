/*
 * api.h - the collector's HTTP API (libmicrohttpd, its own thread).
 *
 *   GET /api/v1/claims?state=&device=&since=&limit=   {"claims":[...],"count":N}
 *   GET /api/v1/claims/{id}                           the claim (SPEC §6)
 *   GET /api/v1/stats                                 ingest counters
 *   GET /healthz                                      {"status":"ok"}
 * Errors: 400/404/405 with {"error":"..."}.
 */
#ifndef TPC_API_H
#define TPC_API_H

#include <stddef.h>

#include "tpd/err.h"

struct tpc_store;
struct tpc_collector;
struct tpc_api;

/* Listens on host:port (IPv4 address or "localhost"; port 0 = any free one).
 * *bound_port receives the port in use. On failure writes one line to err. */
enum tpd_err tpc_api_start(const char *host, int port, struct tpc_store *store,
			   struct tpc_collector *collector, struct tpc_api **out,
			   int *bound_port, char *err, size_t errlen);
void tpc_api_stop(struct tpc_api *api);

/* Splits "HOST:PORT". */
enum tpd_err tpc_api_parse_listen(const char *s, char *host, size_t hostlen, int *port);

#endif
