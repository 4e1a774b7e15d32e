/*
 * inflight.c - the window of unacknowledged QoS 1 messages (see tpd/inflight.h).
 * A linear scan: the window is small (tens of messages).
 */
#include <stdlib.h>

#include "tpd/inflight.h"

enum tpd_err tpd_inflight_init(struct tpd_inflight *f, size_t cap)
{
	f->slot = calloc(cap, sizeof(*f->slot));
	f->n = 0;
	f->cap = f->slot ? cap : 0;
	return f->slot ? TPD_OK : TPD_ERR_NOMEM;
}

void tpd_inflight_free(struct tpd_inflight *f)
{
	free(f->slot);
	f->slot = NULL;
	f->n = f->cap = 0;
}

bool tpd_inflight_full(const struct tpd_inflight *f)
{
	return f->n >= f->cap;
}

bool tpd_inflight_add(struct tpd_inflight *f, int mid, uint64_t id)
{
	if (f->n >= f->cap)
		return false;
	f->slot[f->n].mid = mid;
	f->slot[f->n].id = id;
	f->n++;
	return true;
}

bool tpd_inflight_take(struct tpd_inflight *f, int mid, uint64_t *id)
{
	for (size_t i = 0; i < f->n; i++) {
		if (f->slot[i].mid == mid) {
			*id = f->slot[i].id;
			f->slot[i] = f->slot[--f->n];
			return true;
		}
	}
	return false;
}
