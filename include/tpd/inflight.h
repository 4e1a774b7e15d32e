/*
 * tpd/inflight.h - QoS 1 messages handed to MQTT and not yet acknowledged:
 * MQTT message id -> the caller's record id (spool seq, outbox row). A fixed
 * window: the caller hands out more only while it is not full, so memory
 * stays bounded whatever the backlog on disk.
 */
#ifndef TPD_INFLIGHT_H
#define TPD_INFLIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpd/err.h"

struct tpd_inflight {
	struct { int mid; uint64_t id; } *slot;
	size_t n, cap;
};

enum tpd_err tpd_inflight_init(struct tpd_inflight *f, size_t cap);
void tpd_inflight_free(struct tpd_inflight *f);
bool tpd_inflight_full(const struct tpd_inflight *f);
/* Records mid -> id; false when full. */
bool tpd_inflight_add(struct tpd_inflight *f, int mid, uint64_t id);
/* Removes mid; true and *id when it was there. */
bool tpd_inflight_take(struct tpd_inflight *f, int mid, uint64_t *id);

#endif
