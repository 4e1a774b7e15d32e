/*
 * pool.h - fixed-size objects on pages of their own, for state that comes
 * and goes by the thousand (the fleet engine's per-device forecasts).
 *
 * malloc cannot give back the memory of 5 KB blocks freed between small
 * long-lived ones (glibc's malloc_trim returned a quarter of it in a test
 * of that pattern); here a freed object's whole pages go back to the
 * system at once and an empty slab is unmapped, so the resident size
 * follows the objects alive.
 */
#ifndef TPC_POOL_H
#define TPC_POOL_H

#include <stddef.h>

struct tpc_pool;

/* A pool of objects of size bytes; NULL when out of memory. */
struct tpc_pool *tpc_pool_new(size_t size);
/* Frees every slab, whatever is still allocated from it. */
void tpc_pool_free(struct tpc_pool *p);

/* A zeroed object (aligned for any type), NULL when out of memory. */
void *tpc_pool_alloc(struct tpc_pool *p);
/* obj from tpc_pool_alloc of this pool. */
void tpc_pool_release(struct tpc_pool *p, void *obj);

/* Bytes mapped for the pool's slabs now. */
size_t tpc_pool_mapped(const struct tpc_pool *p);

#endif
