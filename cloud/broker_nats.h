/*
 * broker_nats.h - the collector's JetStream transport (tpcollect --broker
 * nats://...): devices speak MQTT to the NATS cluster's MQTT listener, the
 * cluster maps their topics onto partitioned subjects, a stream keeps them,
 * and each collector pulls from the partitions whose lease it holds, acking
 * a batch only once it is committed. The design and the facts it rests on
 * are in broker_nats.c's notes.
 */
#ifndef TPC_BROKER_NATS_H
#define TPC_BROKER_NATS_H

#include <stdbool.h>
#include <stddef.h>

#include "tpd/err.h"

struct tpc_collector;
struct tpc_store;
struct tpc_nats;

/* The partitions of the server's subject mapping (partition(N, ...) in
 * the cluster's config, README): every collector must use the same N. */
#define TPC_NATS_PARTITIONS 8

/*
 * Connects to urls ("nats://H:P[,nats://H:P...]" or "nats://H:P,H:P"),
 * retrying in the background when no server answers yet. collector and
 * store are borrowed and must outlive the handle. *out is the caller's
 * (tpc_nats_free); on failure nothing is left and err says why.
 */
enum tpd_err tpc_nats_new(const char *urls, struct tpc_collector *collector,
			  struct tpc_store *store, struct tpc_nats **out, char *err, size_t errlen);
void tpc_nats_free(struct tpc_nats *n);

/*
 * One round on the ingest thread: makes sure the stream exists, takes or
 * lets go of partitions by their leases, fetches one batch from each owned
 * partition, hands it to the collector and acks it once committed. Waits
 * up to timeout_ms when there is nothing to fetch.
 */
void tpc_nats_poll(struct tpc_nats *n, int timeout_ms);

/* Connected, the stream in place and every lease checked at least once:
 * reports reach this collector (its share of them). */
bool tpc_nats_ready(struct tpc_nats *n);
bool tpc_nats_connected(struct tpc_nats *n);
/* How many partitions this collector pulls from now. */
unsigned tpc_nats_owned(struct tpc_nats *n);

/*
 * A notice to a device: topic "tp/v1/DEV/cmd" goes out as NATS subject
 * tp.v1.DEV.cmd (the MQTT listener hands it to MQTT subscribers of the
 * topic). TPD_OK once the server has it (a flush returned); otherwise it
 * is to be sent again.
 */
enum tpd_err tpc_nats_publish(struct tpc_nats *n, const char *topic, const char *payload);

#endif
