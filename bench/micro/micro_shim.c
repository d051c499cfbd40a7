/*
 * micro_shim: the registry and zones for the micro suite, in C, where the
 * substrate's headers can be read (bench/micro/micro_shim.h).
 *
 * The allocator view is built once, from allocator_all() and
 * allocator_missing(), so an allocator added to the registry, or one this
 * build or this machine lacks, appears in the suite without an edit here.
 * A zone is made as `bench` and `replay` make theirs: allocator_zone_create
 * over an anonymous mapping, one worker, the OS page, the allocator's
 * defaults otherwise.
 */
#include "micro_shim.h"

#include <stdlib.h>

#include "registry.h"
#include "substrate/diag.h"
#include "substrate/shmtx.h"
#include "substrate/zone.h"

static struct micro_alloc *micro_list;
static size_t              micro_nlist;

const struct micro_alloc *
micro_allocs(size_t *n)
{
    const struct allocator_ops *const *all;
    const struct allocator_missing    *miss;
    struct micro_alloc                *a;
    size_t                             i, nall, nmiss;

    if (micro_list == NULL) {
        all = allocator_all(&nall);
        miss = allocator_missing(&nmiss);
        micro_list = calloc(nall + nmiss + 1, sizeof(*micro_list));
        if (micro_list == NULL) {
            *n = 0;
            return NULL;
        }
        for (i = 0; i < nall; i++) {
            a = &micro_list[micro_nlist++];
            a->name = all[i]->name;
            a->in_shm = (all[i]->caps & ALLOC_IN_SHM) != 0;
            a->has_lock = all[i]->lock != NULL;
            a->ops = all[i];
        }
        for (i = 0; i < nmiss; i++) {
            a = &micro_list[micro_nlist++];
            a->name = miss[i].name;
            a->unavailable = miss[i].why;
        }
    }
    *n = micro_nlist;
    return micro_list;
}

struct micro_zone *
micro_zone_open(const struct micro_alloc *a, size_t size)
{
    const struct allocator_ops *ops = a->ops;
    struct alloc_params         params = { 0, NULL, 1 };   /* one process */
    struct micro_zone          *mz;
    size_t                      min;

    if (ops == NULL) {
        diag_set("allocator \"%s\" is not available: %s", a->name, a->unavailable);
        return NULL;
    }
    min = allocator_min_zone_size(ops, &params);
    if (size < min) {
        size = min;
    }
    mz = calloc(1, sizeof(*mz));
    if (mz == NULL || (mz->zone = calloc(1, sizeof(struct zone))) == NULL) {
        free(mz);
        diag_set("micro_zone_open(): out of memory");
        return NULL;
    }
    if (allocator_zone_create(mz->zone, ops, ZONE_ANON, size, 0, &params, NULL) != 0) {
        free(mz->zone);
        free(mz);
        return NULL;
    }
    mz->alloc = ops->alloc;
    mz->free = ops->free;
    mz->size = size;
    return mz;
}

int
micro_zone_check(struct micro_zone *mz)
{
    const struct allocator_ops *ops = mz->zone->ops;

    return allocator_can_check(ops) ? ops->check(mz->zone, NULL) : 0;
}

void
micro_zone_close(struct micro_zone *mz)
{
    if (mz == NULL) {
        return;
    }
    if (mz->zone->ops && mz->zone->ops->fini) {
        mz->zone->ops->fini(mz->zone);
    }
    zone_destroy(mz->zone);
    free(mz->zone);
    free(mz);
}

int
micro_lock_pairs(struct micro_zone *mz, uint64_t n)
{
    const struct allocator_ops *ops = mz->zone->ops;
    struct shmtx               *m;
    uint64_t                    i;

    if (ops->lock == NULL) {
        diag_set("allocator \"%s\" has no zone lock (ops->lock is NULL)", ops->name);
        return -1;
    }
    m = ops->lock(mz->zone);
    for (i = 0; i < n; i++) {
        shmtx_lock(m);
        shmtx_unlock(m);
    }
    return 0;
}

size_t
micro_page_size(void)
{
    return zone_os_page();
}
