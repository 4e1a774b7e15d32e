/*
 * pool.c - fixed-size objects on mmap'd slabs (see pool.h).
 *
 * A slab is POOL_SLAB_BYTES of anonymous memory: its header, then slots of
 * one object each, each slot led by a pointer to its slab. Slabs with a free
 * slot are on a list, so an allocation is O(1); a released slot's interior
 * pages are handed back with MADV_DONTNEED (the free list lives in the slot
 * headers, outside those pages) and a slab whose last object goes is
 * unmapped, but one empty slab is kept so a device coming and going at the
 * boundary does not map and unmap at every report.
 */
#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pool.h"

/* Under AddressSanitizer a released object is poisoned, so a use after its
 * release is reported as it would be for malloc'd memory. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOL_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define POOL_ASAN 1
#endif
#ifdef POOL_ASAN
#include <sanitizer/asan_interface.h>
#define POOL_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define POOL_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POOL_POISON(p, n) ((void)(p), (void)(n))
#define POOL_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define POOL_SLAB_BYTES (512 * 1024)

struct pool_slab;

struct pool_slot {
	struct pool_slab *slab;
	struct pool_slot *next_free;
	alignas(max_align_t) unsigned char obj[];
};

struct pool_slab {
	struct pool_slab *prev, *next;   /* the list of slabs with a free slot */
	struct pool_slab *all_prev, *all_next;  /* every mapped slab but the spare */
	struct pool_slot *free;          /* released slots */
	size_t bumped;                   /* slots handed out from the fresh end */
	size_t used;
	bool listed;
	alignas(max_align_t) unsigned char slots[];
};

struct tpc_pool {
	size_t size, slot, per_slab, page;
	struct pool_slab *open;          /* slabs with a free slot */
	struct pool_slab *spare;         /* one empty slab kept mapped */
	struct pool_slab *all;
	size_t slabs;
};

struct tpc_pool *tpc_pool_new(size_t size)
{
	struct tpc_pool *p = calloc(1, sizeof(*p));
	size_t align = alignof(max_align_t);

	if (!p)
		return NULL;
	p->size = size;
	p->slot = (sizeof(struct pool_slot) + size + align - 1) / align * align;
	p->per_slab = (POOL_SLAB_BYTES - sizeof(struct pool_slab)) / p->slot;
	p->page = (size_t)sysconf(_SC_PAGESIZE);
	if (p->per_slab == 0) {
		free(p);
		return NULL;
	}
	return p;
}

static void pool_unlist(struct tpc_pool *p, struct pool_slab *s)
{
	if (!s->listed)
		return;
	if (s->prev)
		s->prev->next = s->next;
	else
		p->open = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
	s->listed = false;
}

static void pool_list(struct tpc_pool *p, struct pool_slab *s)
{
	if (s->listed)
		return;
	s->prev = NULL;
	s->next = p->open;
	if (p->open)
		p->open->prev = s;
	p->open = s;
	s->listed = true;
}

/* Its shadow cleared first: the next mapping there is not ours. */
static void pool_unmap(struct pool_slab *s)
{
	POOL_UNPOISON(s, POOL_SLAB_BYTES);
	munmap(s, POOL_SLAB_BYTES);
}

void tpc_pool_free(struct tpc_pool *p)
{
	struct pool_slab *s, *next;

	if (!p)
		return;
	for (s = p->all; s; s = next) {
		next = s->all_next;
		pool_unmap(s);
	}
	if (p->spare)
		pool_unmap(p->spare);
	free(p);
}

static void pool_all_add(struct tpc_pool *p, struct pool_slab *s)
{
	s->all_prev = NULL;
	s->all_next = p->all;
	if (p->all)
		p->all->all_prev = s;
	p->all = s;
}

static void pool_all_remove(struct tpc_pool *p, struct pool_slab *s)
{
	if (s->all_prev)
		s->all_prev->all_next = s->all_next;
	else
		p->all = s->all_next;
	if (s->all_next)
		s->all_next->all_prev = s->all_prev;
}

/* The whole pages of [lo, hi) back to the system (zero when read again). */
static void pool_discard(const struct tpc_pool *p, uintptr_t lo, uintptr_t hi)
{
	lo = (lo + p->page - 1) & ~(uintptr_t)(p->page - 1);
	hi &= ~(uintptr_t)(p->page - 1);
	if (hi > lo)
		madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

static struct pool_slab *pool_slab_new(struct tpc_pool *p)
{
	struct pool_slab *s = p->spare;

	if (s) {
		p->spare = NULL;
		return s;
	}
	s = mmap(NULL, POOL_SLAB_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED)
		return NULL;
	p->slabs++;
	pool_all_add(p, s);
	return s;   /* zero-filled by the kernel: header fields all 0/NULL */
}

void *tpc_pool_alloc(struct tpc_pool *p)
{
	struct pool_slab *s = p->open;
	struct pool_slot *slot;

	if (!s) {
		s = pool_slab_new(p);
		if (!s)
			return NULL;
		pool_list(p, s);
	}
	if (s->free) {
		slot = s->free;
		s->free = slot->next_free;
	} else {
		slot = (struct pool_slot *)(s->slots + s->bumped * p->slot);
		s->bumped++;
	}
	POOL_UNPOISON(slot->obj, p->size);
	slot->slab = s;
	slot->next_free = NULL;
	s->used++;
	if (!s->free && s->bumped == p->per_slab)
		pool_unlist(p, s);
	memset(slot->obj, 0, p->size);
	return slot->obj;
}

void tpc_pool_release(struct tpc_pool *p, void *obj)
{
	struct pool_slot *slot = (struct pool_slot *)((unsigned char *)obj -
						      offsetof(struct pool_slot, obj));
	struct pool_slab *s = slot->slab;

	POOL_POISON(slot->obj, p->size);
	s->used--;
	if (s->used == 0) {
		pool_unlist(p, s);
		pool_all_remove(p, s);
		if (p->spare) {
			pool_unmap(s);
			p->slabs--;
			return;
		}
		/* kept as the spare, empty and with its pages given back */
		pool_discard(p, (uintptr_t)s->slots, (uintptr_t)s + POOL_SLAB_BYTES);
		memset(s, 0, sizeof(*s));
		p->spare = s;
		return;
	}
	/* the slot's whole pages past its header (the free list is kept in
	 * the headers) */
	pool_discard(p, (uintptr_t)slot->obj, (uintptr_t)slot + p->slot);
	slot->next_free = s->free;
	s->free = slot;
	pool_list(p, s);
}

size_t tpc_pool_mapped(const struct tpc_pool *p)
{
	return p->slabs * POOL_SLAB_BYTES;
}
