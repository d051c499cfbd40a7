/*
 * slab_ops: the `slab` allocator's entry in the registry (allocator.h),
 * a thin layer over slab.h.  The pool header sits at the zone's base; the
 * lock counts into the zone control block's per-process slots.
 */
#include <string.h>

#include "substrate/allocator.h"
#include "subject/slab.h"
#include "subject/slab_internal.h"

static size_t
slab_ops_zone_size_for_pages(size_t pages, const struct alloc_params *p)
{
    return slab_zone_size_for_pages(pages, p->page_size);
}

static size_t
slab_ops_min_zone_size(const struct alloc_params *p)
{
    return slab_min_zone_size(p->page_size);
}

/* nginx measures the data start as an address: a base aligned to the page
 * keeps our offsets and nginx's addresses in step. */
static size_t
slab_ops_zone_align(const struct alloc_params *p)
{
    return p->page_size;
}

static int
slab_ops_init(struct zone *z, const struct alloc_params *p)
{
    size_t page_size = p->page_size;

    if (slab_init((struct slab_pool *) z->base, z->size, page_size,
                  z->ctl ? z->ctl->lockstat : NULL) != 0)
    {
        return -1;
    }
    return 0;
}

static int
slab_ops_attach(struct zone *z)
{
    (void) z;           /* nothing process-private: the pid cache follows fork */
    return 0;
}

/* A failed page-run request (size > max_size) shows in no slot statistic,
 * as in nginx; the glue counts it in the zone's per-process counters instead. */
static void *
slab_ops_counted(struct zone *z, size_t size, void *p)
{
    struct slab_geom g;

    if (p == NULL) {
        slab_geom_of((struct slab_pool *) z->base, &g);
        if (size > g.max_size) {
            zone_count_fail(z->ctl->procstat);
        }
    }
    return p;
}

static void *
slab_ops_alloc(struct zone *z, size_t size)
{
    return slab_ops_counted(z, size, slab_alloc((struct slab_pool *) z->base, size));
}

static int
slab_ops_free(struct zone *z, void *p)
{
    return slab_free((struct slab_pool *) z->base, p);
}

static void *
slab_ops_alloc_locked(struct zone *z, size_t size)
{
    return slab_ops_counted(z, size, slab_alloc_locked((struct slab_pool *) z->base, size));
}

static int
slab_ops_free_locked(struct zone *z, void *p)
{
    return slab_free_locked((struct slab_pool *) z->base, p);
}

static size_t
slab_ops_usable_size(struct zone *z, void *p)
{
    return slab_usable_size((struct slab_pool *) z->base, p);
}

/*
 * footprint: the data pages not free, times the page size, exact (the pool
 * counts its free pages).  header_bytes: everything before the first data
 * page (pool header, slot heads, statistics, page descriptors, alignment).
 * So header_bytes + footprint + pages_free * page size is the zone's size
 * up to the tail too short for a page.
 */
static void
slab_ops_stats(struct zone *z, struct alloc_stats *out)
{
    const struct slab_pool *pool = (const struct slab_pool *) z->base;
    const struct slab_stat *st = slab_stats(pool);
    unsigned                i, n = slab_nslots(pool);
    size_t                  P = slab_page_size(pool);

    memset(out, 0, sizeof(*out));
    out->zone_bytes = z->size;
    out->page_size = P;
    out->pages = slab_npages(pool);
    out->data_bytes = out->pages * P;
    out->pages_free = pool->pfree;
    out->free_bytes = pool->pfree * P;
    out->largest_free = slab_largest_free_run(pool, z->size) * P;
    out->header_bytes = pool->start;
    out->footprint = (out->pages - pool->pfree) * P;
    out->exact = ALLOC_EXACT_FOOTPRINT | ALLOC_EXACT_LARGEST;
    out->nslots = n < ALLOC_MAX_SLOTS ? n : ALLOC_MAX_SLOTS;
    for (i = 0; i < out->nslots; i++) {
        out->slot[i].size = slab_slot_size(i);
        out->slot[i].total = st[i].total;
        out->slot[i].used = st[i].used;
        out->slot[i].reqs = st[i].reqs;
        out->slot[i].fails = st[i].fails;
        out->fails += st[i].fails;
    }
    out->fails += zone_fails(z->ctl->procstat);     /* page-run requests */
}

static int
slab_ops_check(struct zone *z, FILE *report)
{
    return slab_check((const struct slab_pool *) z->base, z->size, report);
}

/* The pool's mutex, which every path that changes the pool takes (nginx's
 * ngx_slab_alloc and ngx_slab_free lock it around the _locked forms). */
static struct shmtx *
slab_ops_lock(struct zone *z)
{
    return &((struct slab_pool *) z->base)->mutex;
}

static size_t
slab_ops_data_offset(struct zone *z)
{
    return (size_t) ((const struct slab_pool *) z->base)->start;
}

struct run_adapter {
    alloc_run_fn fn;
    void        *arg;
    unsigned     shift;
};

static int
slab_ops_run(void *arg, uint64_t off, uint64_t pages)
{
    struct run_adapter *a = arg;

    return a->fn(a->arg, off, pages << a->shift);
}

static int
slab_ops_each_free_run(struct zone *z, alloc_run_fn fn, void *arg)
{
    const struct slab_pool *pool = (const struct slab_pool *) z->base;
    struct run_adapter      a = { fn, arg, pool->page_shift };

    return slab_each_free_run(pool, z->size, slab_ops_run, &a);
}

const struct allocator_ops slab_allocator = {
    .name = "slab",
    .summary = "nginx 1.22.1's slab re-implemented byte-faithfully: 2^n slots in pages, "
               "first-fit page runs, offsets not pointers, lock counters",
    .caps = ALLOC_IN_SHM | ALLOC_CROSS_PROCESS_FREE | ALLOC_SLOT_STATS
            | ALLOC_BAD_FREE_DETECTED | ALLOC_LOCK_COUNTERS | ALLOC_ATTACH_BY_NAME,
    .zone_size_for_pages = slab_ops_zone_size_for_pages,
    .min_zone_size = slab_ops_min_zone_size,
    .zone_align = slab_ops_zone_align,
    .init = slab_ops_init,
    .attach = slab_ops_attach,
    .alloc = slab_ops_alloc,
    .free = slab_ops_free,
    .usable_size = slab_ops_usable_size,
    .stats = slab_ops_stats,
    .check = slab_ops_check,
    .lock = slab_ops_lock,
    .alloc_locked = slab_ops_alloc_locked,
    .free_locked = slab_ops_free_locked,
    .data_offset = slab_ops_data_offset,
    .each_free_run = slab_ops_each_free_run,
};
