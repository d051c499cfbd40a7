/*
 * lfslab_ops: lfslab's layout and set-up, its statistics and counters, and
 * its entry in the registry (allocator.h).  The paths themselves are in
 * lfslab.c and lfslab_pages.c; check in lfslab_check.c.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#include "substrate/diag.h"
#include "subject/lfslab_internal.h"

/* ---------------------------------------------------------------------- */
/* Layout (docs/lfslab.md §2)                                               */

static int
lf_page_shift(size_t page_size)
{
    unsigned s;

    for (s = LFSLAB_SHIFT_MIN; s <= LFSLAB_SHIFT_MAX; s++) {
        if (page_size == (size_t) 1 << s) {
            return (int) s;
        }
    }
    return -1;
}

static unsigned
lf_param_workers(const struct alloc_params *p)
{
    return p->nworkers < LFSLAB_WORKERS_MAX ? p->nworkers : LFSLAB_WORKERS_MAX;
}

uint32_t
lf_layout(uint64_t size, unsigned shift, unsigned nworkers, struct lf_layout *l)
{
    uint64_t P = (uint64_t) 1 << shift, n;

    l->heaps_off = sizeof(struct lfslab_hdr);
    l->desc_off = l->heaps_off + (uint64_t) (nworkers + 1) * sizeof(struct lfslab_heap);
    l->runs_off = 0;
    l->pages_off = 0;
    l->npages = 0;
    if (size <= l->desc_off) {
        return 0;
    }
    n = (size - l->desc_off) / (P + LF_PAGE_META);
    if (n > 0xFFFFFFF0u) {
        n = 0xFFFFFFF0u;
    }
    for (; n > 0; n--) {
        l->runs_off = l->desc_off + n * sizeof(struct lfslab_desc);
        l->pages_off = (l->runs_off + n * sizeof(struct slab_page) + P - 1) & ~(P - 1);
        if (l->pages_off + n * P <= size) {
            break;
        }
    }
    l->npages = (uint32_t) n;
    return l->npages;
}

int
lf_header_sane(const struct zone *z)
{
    const struct lfslab_hdr *h = lf_hdr(z);
    struct lf_layout         l;

    return z->size >= sizeof(*h) && h->magic == LFSLAB_MAGIC && h->version == LFSLAB_VERSION
           && h->page_shift >= LFSLAB_SHIFT_MIN && h->page_shift <= LFSLAB_SHIFT_MAX
           && h->nworkers >= 1 && h->nworkers <= LFSLAB_WORKERS_MAX
           && lf_layout(z->size, h->page_shift, h->nworkers, &l) == h->npages
           && h->npages > 0 && l.desc_off == h->desc_off && l.pages_off == h->pages_off
           && l.heaps_off == h->heaps_off && l.runs_off == h->runs_off;
}

/* ---------------------------------------------------------------------- */
/* Set-up                                                                   */

static size_t
lfslab_min_zone_size(const struct alloc_params *p)
{
    size_t page = p->page_size;
    size_t desc_off = sizeof(struct lfslab_hdr)
                      + (lf_param_workers(p) + 1) * sizeof(struct lfslab_heap);

    if (lf_page_shift(page) < 0) {
        return 0;
    }
    return ((desc_off + LF_PAGE_META + page - 1) & ~(page - 1)) + page;
}

static size_t
lfslab_zone_align(const struct alloc_params *p)
{
    return p->page_size;
}

static int
lfslab_init(struct zone *z, const struct alloc_params *p)
{
    struct lfslab_hdr  *h = lf_hdr(z);
    struct lfslab_desc *d;
    struct lf_layout    l;
    size_t              page = p->page_size;
    int                 shift = lf_page_shift(page);
    unsigned            nworkers = lf_param_workers(p);
    uint32_t            i;

    if (shift < 0) {
        diag_set("lfslab_init(): page size %zu is not a power of two between %d and %d",
                 page, 1 << LFSLAB_SHIFT_MIN, 1 << LFSLAB_SHIFT_MAX);
        return -1;
    }
    if (((uintptr_t) z->base & (page - 1)) != 0) {
        diag_set("lfslab_init(): zone base is not aligned to the %zu-byte page", page);
        return -1;
    }
    if (lf_layout(z->size, (unsigned) shift, nworkers, &l) == 0) {
        diag_set("lfslab_init(): zone of %zu bytes is too small: lfslab with %zu-byte "
                 "pages and %u workers needs at least %zu bytes", z->size, page, nworkers,
                 lfslab_min_zone_size(p));
        return -1;
    }

    memset(z->base, 0, l.pages_off);
    h->magic = LFSLAB_MAGIC;
    h->version = LFSLAB_VERSION;
    h->page_shift = (uint8_t) shift;
    h->nclasses = (uint8_t) (shift - LFSLAB_MIN_SHIFT);
    h->nworkers = (uint16_t) nworkers;
    h->npages = l.npages;
    h->zone_size = z->size;
    h->heaps_off = l.heaps_off;
    h->desc_off = l.desc_off;
    h->runs_off = l.runs_off;
    h->pages_off = l.pages_off;
    if (shmtx_create(&h->page_lock, &h->lockword, z->ctl ? z->ctl->lockstat : NULL, 0) != 0) {
        diag_clear();       /* works without the semaphore, as nginx does */
    }
    for (i = 0; i < l.npages; i++) {
        d = lf_desc(h, i);
        atomic_store_explicit(&d->next_partial, NOT_LISTED, memory_order_relaxed);
        d->owner = LFSLAB_NO_OWNER;
    }
    lf_runs_format(h);

    return 0;
}

static int
lfslab_attach(struct zone *z)
{
    struct lfslab_hdr *h = lf_hdr(z);
    int                idx = LF_INDEX();

    if (idx < 0 || (unsigned) idx >= h->nworkers) {
        diag_set("lfslab_attach(): process index %d is not a worker of this zone "
                 "(nworkers %u; proc_set_index() gives one)", idx, h->nworkers);
        return -1;
    }
    WR(lf_heap(h, (unsigned) idx)->pid, (int32_t) proc_pid());
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Statistics: read only, from any mapping; bounded where they walk.        */

static int
lfslab_each_free_run(struct zone *z, alloc_run_fn fn, void *arg)
{
    if (!lf_header_sane(z)) {
        return -1;
    }
    return lf_each_free_run(lf_hdr(z), fn, arg);
}

static int
lf_max_run(void *arg, uint64_t off, uint64_t len)
{
    uint64_t *max = arg;

    (void) off;
    if (len > *max) {
        *max = len;
    }
    return 0;
}

/*
 * footprint: the data pages not free times the page size (pages a worker
 * holds for a class count, empty or not: they are reserved for its blocks);
 * exact when no other process is changing the zone.  header_bytes: the
 * bytes before the first data page (header, per-worker heaps, descriptors).
 */
static void
lfslab_stats(struct zone *z, struct alloc_stats *out)
{
    const struct lfslab_hdr  *h = lf_hdr(z);
    const struct lfslab_heap *hp;
    uint64_t                  P, in, outp, max = 0;
    unsigned                  c, w;

    memset(out, 0, sizeof(*out));
    out->zone_bytes = z->size;
    if (!lf_header_sane(z)) {
        return;
    }
    P = (uint64_t) 1 << h->page_shift;
    out->page_size = P;
    out->pages = h->npages;
    out->data_bytes = (uint64_t) h->npages * P;
    out->pages_free = RD(h->free_pages);
    out->free_bytes = out->pages_free * P;
    if (lfslab_each_free_run(z, lf_max_run, &max) == 0) {
        out->largest_free = max;
    }
    out->header_bytes = h->pages_off;
    out->footprint = (out->pages - out->pages_free) * P;
    out->exact = ALLOC_EXACT_FOOTPRINT | ALLOC_EXACT_LARGEST;
    out->nslots = h->nclasses;
    for (c = 0; c < h->nclasses; c++) {
        out->slot[c].size = (uint64_t) 8 << c;
        in = outp = 0;
        for (w = 0; w <= h->nworkers; w++) {
            hp = lf_heap(h, w);
            out->slot[c].used += RD(hp->cls[c].allocs) - RD(hp->cls[c].frees);
            out->slot[c].reqs += RD(hp->cls[c].allocs) + RD(hp->cls[c].fails);
            out->slot[c].fails += RD(hp->cls[c].fails);
            in += RD(hp->cls[c].pages_in);
            outp += RD(hp->cls[c].pages_out);
        }
        out->slot[c].total = (in - outp) * (P >> (c + LFSLAB_MIN_SHIFT));
        out->fails += out->slot[c].fails;
    }
    for (w = 0; w <= h->nworkers; w++) {
        out->fails += RD(lf_heap(h, w)->large_fails);
    }
}

static size_t
lfslab_data_offset(struct zone *z)
{
    return (size_t) lf_hdr(z)->pages_off;
}

struct shmtx *
lfslab_page_lock(struct zone *z)
{
    return &lf_hdr(z)->page_lock;
}

/* The counters of struct lfslab_heap and, summed over the classes, of
 * struct lfslab_cls, in the order counters() reports them. */
static const struct { const char *name; size_t off; } lf_global_counters[] = {
    { "remote", offsetof(struct lfslab_heap, remote) },
    { "retries", offsetof(struct lfslab_heap, retries) },
    { "refills", offsetof(struct lfslab_heap, refills) },
    { "pops", offsetof(struct lfslab_heap, pops) },
    { "retires", offsetof(struct lfslab_heap, retires) },
    { "lock_acq", offsetof(struct lfslab_heap, lock_acq) },
    { "large_allocs", offsetof(struct lfslab_heap, large_allocs) },
    { "large_fails", offsetof(struct lfslab_heap, large_fails) },
    { "large_frees", offsetof(struct lfslab_heap, large_frees) },
    { "scavenges", offsetof(struct lfslab_heap, scavenges) },
    { "corrupt", offsetof(struct lfslab_heap, corrupt) },
    { "steals", offsetof(struct lfslab_heap, steals) },
    { "adopts", offsetof(struct lfslab_heap, adopts) },
    { "promotes", offsetof(struct lfslab_heap, promotes) },
}, lf_class_counters[] = {
    { "allocs", offsetof(struct lfslab_cls, allocs) },
    { "frees", offsetof(struct lfslab_cls, frees) },
    { "fails", offsetof(struct lfslab_cls, fails) },
    { "pages_in", offsetof(struct lfslab_cls, pages_in) },
    { "pages_out", offsetof(struct lfslab_cls, pages_out) },
};

#define LF_NCOUNTERS(t) (sizeof(t) / sizeof((t)[0]))

static uint64_t
lf_counter_load(const void *rec, size_t off)
{
    return __atomic_load_n((const uint64_t *) ((const unsigned char *) rec + off),
                           __ATOMIC_RELAXED);
}

/* Counter i of the global table (i < LF_NCOUNTERS) or of the class table
 * (i - LF_NCOUNTERS(global)), summed over heap records first..last. */
static uint64_t
lf_counter_sum(const struct lfslab_hdr *h, size_t i, unsigned first, unsigned last)
{
    uint64_t sum = 0;
    unsigned w, c;

    for (w = first; w <= last; w++) {
        if (i < LF_NCOUNTERS(lf_global_counters)) {
            sum += lf_counter_load(lf_heap(h, w), lf_global_counters[i].off);
            continue;
        }
        for (c = 0; c < h->nclasses; c++) {
            sum += lf_counter_load(&lf_heap(h, w)->cls[c],
                lf_class_counters[i - LF_NCOUNTERS(lf_global_counters)].off);
        }
    }
    return sum;
}

static const char *
lf_counter_name(size_t i)
{
    return i < LF_NCOUNTERS(lf_global_counters)
           ? lf_global_counters[i].name
           : lf_class_counters[i - LF_NCOUNTERS(lf_global_counters)].name;
}

/* Each counter of process index proc's heap record (the shared record for
 * an index at or beyond nworkers), or with ALLOC_COUNTERS_ALL of all. */
static void
lfslab_counters(struct zone *z, int proc, alloc_counter_fn fn, void *arg)
{
    const struct lfslab_hdr *h = lf_hdr(z);
    unsigned                 first = 0, last;
    size_t                   i;

    if (!lf_header_sane(z)) {
        return;
    }
    last = h->nworkers;
    if (proc != ALLOC_COUNTERS_ALL) {
        first = last = proc < 0 || (unsigned) proc >= h->nworkers ? h->nworkers
                                                                   : (unsigned) proc;
    }
    for (i = 0; i < LF_NCOUNTERS(lf_global_counters) + LF_NCOUNTERS(lf_class_counters); i++) {
        fn(arg, lf_counter_name(i), lf_counter_sum(h, i, first, last));
    }
}

uint64_t
lfslab_counter(struct zone *z, const char *name)
{
    size_t i;

    if (!lf_header_sane(z)) {
        return UINT64_MAX;
    }
    for (i = 0; i < LF_NCOUNTERS(lf_global_counters) + LF_NCOUNTERS(lf_class_counters); i++) {
        if (strcmp(name, lf_counter_name(i)) == 0) {
            return lf_counter_sum(lf_hdr(z), i, 0, lf_hdr(z)->nworkers);
        }
    }
    return UINT64_MAX;
}

/*
 * .lock is page_lock.  Its holder excludes the page-run allocator, the large
 * requests, new small pages and scavenging: a copy taken under it has the
 * free runs, the run descriptors, free_pages and every page's kind, class
 * and chunk geometry as one consistent state.  It does not stop the small
 * path, which takes no lock: chunk chains, anchors, slots, reserves,
 * partial stacks and the per-worker counters may be caught mid-operation,
 * so a reader that copies under it validates the copy (check) and copies
 * again if it fails.
 */
const struct allocator_ops lfslab_allocator = {
    .name = "lfslab",
    .summary = "nginx's 2^n slots with no lock on the small path (per-worker pages, "
               "one CAS per cross-process free); page runs and large requests take "
               "the page lock",
    .caps = ALLOC_IN_SHM | ALLOC_CROSS_PROCESS_FREE | ALLOC_SLOT_STATS
            | ALLOC_BAD_FREE_DETECTED | ALLOC_LOCK_COUNTERS | ALLOC_ATTACH_BY_NAME
            | ALLOC_LOCK_FREE_PATHS,
    .min_zone_size = lfslab_min_zone_size,
    .zone_align = lfslab_zone_align,
    .init = lfslab_init,
    .attach = lfslab_attach,
    .alloc = lfslab_alloc,
    .free = lfslab_free,
    .usable_size = lfslab_usable_size,
    .stats = lfslab_stats,
    .check = lfslab_check,
    .counters = lfslab_counters,
    .lock = lfslab_page_lock,
    .data_offset = lfslab_data_offset,
    .each_free_run = lfslab_each_free_run,
};
