/*
 * jemalloc_shm: jemalloc 5.3 over the zone, one arena per worker process
 * (`jemalloc-shm`).
 *
 * The zone is cut into nworkers equal, page-aligned slices.  Slice i
 * belongs to the process with proc_index() i.  The zone's last page is a
 * small shared header.  For each slice it holds a bump pointer (bytes carved
 * from the slice's start) and a count of failed allocations.  After fork, at
 * its first allocation, a worker creates its own arena with mallctl
 * "arenas.create" (attach only checks that it can).  The arena's extent
 * hooks carve extents from the worker's slice with that bump pointer.  From
 * there jemalloc does all the work in the worker's private memory: size
 * classes, slabs, the pointer-to-extent map.  Blocks are taken with
 * mallocx(size, MALLOCX_ARENA(i) | MALLOCX_TCACHE_NONE), so they come from
 * that arena and never sit in a private thread cache.
 *
 * Per process only, so no cross-process free.  jemalloc's extent map, arena
 * table and thread caches are process-private, and fork copies them.  Its
 * fork handlers reinitialise every arena mutex in the child, and its mutexes
 * wake each other with private futexes.  A block can be freed only by the
 * process that allocated it.  A free of a pointer outside this process's
 * slice is refused.  Other bad frees are not detected (jemalloc may abort).
 *
 * Because the bump pointer is in the zone, memory is carved once for the
 * zone's life.  Memory past the bump pointer has never been handed out, so it
 * is still the zone's fresh zeroes.  No two processes ever get the same
 * bytes, even when the master allocated in slice 0 before fork or a
 * respawned worker takes over a slice.
 *
 * What jemalloc 5.3.0 does here (Debian's build, observed):
 * - Arena metadata goes through the hooks too.  arenas.create first asks
 *   for one 2 MiB block aligned to 2 MiB, of which about 90-180 KiB are used.
 *   So the zone is aligned to 2 MiB, and a slice needs 4 MiB at least: the
 *   2 MiB block and the first extent, which is always 2 MiB.
 * - After the first extent, jemalloc asks for geometrically more (2.5, 3,
 *   ... MiB) unless arena.<i>.retain_grow_limit caps it.  When a grow
 *   fails, it asks for exactly what it needs, but it tries the big grow
 *   again first, every time.  JESHM_GROW_LIMIT keeps the requests modest.
 * - Our dalloc refuses, so jemalloc keeps freed extents.  Freed slabs wait
 *   in the "dirty" set, where they coalesce, and jemalloc does not split an
 *   extent there for a request more than 64 times smaller
 *   (opt.lg_extent_max_active_fit).  So memory freed by one size class did
 *   not come back to another: after freeing a full 8 MiB slice, 56 blocks
 *   of 1000 bytes could be allocated again (6144 with
 *   lg_extent_max_active_fit:30).  A purge moves them to the "retained" set
 *   instead.  Purging fails, since there are no purge hooks, and jemalloc
 *   then keeps the extent as retained.  It reuses that set for any size.
 *   So when an allocation fails, the arena is purged and the allocation
 *   tried once more.  Decay is off (-1): a timed purge would only do the
 *   same work sooner, on the fast path.
 * - split and merge must say yes.  A NULL hook refuses, and then the grown
 *   extents cannot be cut into slabs: an 8 MiB slice held 21% of its bytes
 *   in blocks of 8-2048 bytes, against 67% with them.  A slice is one
 *   mapping, so both are no-ops.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "baselines/jemalloc_api.h"

#include "substrate/allocator.h"
#include "substrate/diag.h"
#include "substrate/proc.h"

#define JESHM_MAGIC      "JESHM\0\0\1"
#define JESHM_MIN_SLICE  ((size_t) 4 << 20)    /* 2 MiB metadata + 2 MiB first extent */
#define JESHM_ALIGN      ((size_t) 2 << 20)    /* jemalloc's HUGEPAGE: metadata blocks */
#define JESHM_GROW_LIMIT ((size_t) 1 << 20)    /* arena.<i>.retain_grow_limit */

/* jemalloc's ABI, declared here so that the build needs no jemalloc header:
 * extent_hooks_t of jemalloc 5.x, and the mallocx flags. */
struct je_hooks;
typedef void *(je_alloc_hook)(struct je_hooks *, void *, size_t, size_t, bool *, bool *,
                              unsigned);
typedef bool (je_dalloc_hook)(struct je_hooks *, void *, size_t, bool, unsigned);
typedef void (je_destroy_hook)(struct je_hooks *, void *, size_t, bool, unsigned);
typedef bool (je_commit_hook)(struct je_hooks *, void *, size_t, size_t, size_t, unsigned);
typedef bool (je_split_hook)(struct je_hooks *, void *, size_t, size_t, size_t, bool,
                             unsigned);
typedef bool (je_merge_hook)(struct je_hooks *, void *, size_t, void *, size_t, bool,
                             unsigned);

struct je_hooks {
    je_alloc_hook   *alloc;
    je_dalloc_hook  *dalloc;
    je_destroy_hook *destroy;
    je_commit_hook  *commit;
    je_commit_hook  *decommit;
    je_commit_hook  *purge_lazy;
    je_commit_hook  *purge_forced;
    je_split_hook   *split;
    je_merge_hook   *merge;
};

/* Per slice, in the zone's header (shared).  Four share a cache line: the
 * bump pointer moves once per extent and fails counts failures only, so
 * neither is on the fast path. */
struct jeshm_slice {
    _Atomic uint64_t carved;     /* bytes carved from the slice's start */
    _Atomic uint64_t fails;      /* failed allocations */
};

/* The zone's last page (shared). */
struct jeshm_header {
    char               magic[8];
    uint32_t           nworkers;
    uint32_t           unused;
    uint64_t           slice_size;
    struct jeshm_slice slice[PROC_MAX];
};

_Static_assert(sizeof(struct jeshm_header) <= 4096, "the header fits in the last page");

/* One process's arena over its slice (process-private, z->priv). */
struct jeshm_proc {
    struct je_hooks     hooks;   /* first: a hook finds this struct from its
                                    first argument */
    unsigned char      *lo, *hi; /* the slice */
    struct jeshm_slice *slice;   /* its bump pointer, in the zone */
    unsigned            arena;
    int                 flags;   /* for mallocx */
    pid_t               pid;     /* the process that created the arena */
};

/* The header's offset: the last whole page of the zone. */
static size_t
jeshm_header_off(size_t size)
{
    size_t page = zone_os_page();

    return (size & ~(page - 1)) - page;
}

static struct jeshm_header *
jeshm_header(struct zone *z)
{
    return (struct jeshm_header *) (z->base + jeshm_header_off(z->size));
}

/* Slice i; the last one stops at the header. */
static void
jeshm_slice_bounds(struct zone *z, const struct jeshm_header *h, unsigned i,
    unsigned char **lo, unsigned char **hi)
{
    size_t end = (i + 1) * h->slice_size, hdr = jeshm_header_off(z->size);

    *lo = z->base + i * h->slice_size;
    *hi = z->base + (end < hdr ? end : hdr);
}

/* This process's arena over z, or NULL.  A state inherited through fork
 * belongs to the parent. */
static struct jeshm_proc *
jeshm_mine(struct zone *z)
{
    struct jeshm_proc *p = z->priv;

    return p && p->pid == proc_pid() ? p : NULL;
}

/* The extent hooks. */

/* Carve size bytes, aligned, at the slice's bump pointer.  jemalloc may ask
 * for a given address (new_addr, to grow an extent in place); only the bump
 * position can be given. */
static void *
jeshm_extent_alloc(struct je_hooks *hooks, void *new_addr, size_t size, size_t alignment,
    bool *zero, bool *commit, unsigned arena_ind)
{
    struct jeshm_proc *p = (struct jeshm_proc *) hooks;
    uint64_t           old, new;
    uintptr_t          at;

    (void) arena_ind;
    old = atomic_load_explicit(&p->slice->carved, memory_order_relaxed);
    do {
        at = ((uintptr_t) p->lo + old + alignment - 1) & ~(uintptr_t) (alignment - 1);
        if ((new_addr != NULL && (uintptr_t) new_addr != at)
            || at < (uintptr_t) p->lo + old || at > (uintptr_t) p->hi
            || size > (uintptr_t) p->hi - at)
        {
            return NULL;
        }
        new = at + size - (uintptr_t) p->lo;
    } while (!atomic_compare_exchange_weak_explicit(&p->slice->carved, &old, new,
                                                     memory_order_relaxed,
                                                     memory_order_relaxed));
    *zero = true;        /* never handed out: the zone's fresh zeroes */
    *commit = true;      /* a shared mapping, always committed */
    return (void *) at;
}

/* Refuse: jemalloc keeps the extent and reuses it. */
static bool
jeshm_extent_dalloc(struct je_hooks *hooks, void *addr, size_t size, bool committed,
    unsigned arena_ind)
{
    (void) hooks, (void) addr, (void) size, (void) committed, (void) arena_ind;
    return true;
}

/* Allow: the slice is one mapping, any part of it splits or merges freely. */
static bool
jeshm_extent_split(struct je_hooks *hooks, void *addr, size_t size, size_t size_a,
    size_t size_b, bool committed, unsigned arena_ind)
{
    (void) hooks, (void) addr, (void) size, (void) size_a, (void) size_b;
    (void) committed, (void) arena_ind;
    return false;
}

static bool
jeshm_extent_merge(struct je_hooks *hooks, void *addr_a, size_t size_a, void *addr_b,
    size_t size_b, bool committed, unsigned arena_ind)
{
    (void) hooks, (void) addr_a, (void) size_a, (void) addr_b, (void) size_b;
    (void) committed, (void) arena_ind;
    return false;
}

/* destroy, commit, decommit and the purges are NULL: nothing goes back, the
 * memory stays committed, and jemalloc keeps what it cannot purge. */
static const struct je_hooks jeshm_hooks = {
    .alloc = jeshm_extent_alloc,
    .dalloc = jeshm_extent_dalloc,
    .split = jeshm_extent_split,
    .merge = jeshm_extent_merge,
};

/* mallctl on "arena.<i>.<leaf>": 0 or an errno value. */
static int
jeshm_arena_ctl(unsigned arena, const char *leaf, void *newp, size_t newlen)
{
    char name[64];

    snprintf(name, sizeof(name), "arena.%u.%s", arena, leaf);
    return je_mallctl(name, NULL, NULL, newp, newlen);
}

/* "stats.arenas.<i>.<leaf>" (size_t), 0 if unknown. */
static size_t
jeshm_arena_stat(unsigned arena, const char *leaf)
{
    char   name[64];
    size_t v = 0, len = sizeof(v);

    snprintf(name, sizeof(name), "stats.arenas.%u.%s", arena, leaf);
    return je_mallctl(name, &v, &len, NULL, 0) == 0 ? v : 0;
}

/* Grow in modest steps; no decay: purging can only fail here, it is done
 * when an allocation fails (see the top of the file). */
static int
jeshm_arena_tune(unsigned arena)
{
    size_t  limit = JESHM_GROW_LIMIT;
    ssize_t decay = -1;
    int     err;

    if ((err = jeshm_arena_ctl(arena, "retain_grow_limit", &limit, sizeof(limit))) != 0
        || (err = jeshm_arena_ctl(arena, "dirty_decay_ms", &decay, sizeof(decay))) != 0
        || (err = jeshm_arena_ctl(arena, "muzzy_decay_ms", &decay, sizeof(decay))) != 0)
    {
        diag_set("jemalloc-shm: tuning arena %u failed: %s", arena, strerror(err));
        return -1;
    }
    return 0;
}

/* This process's slice index, if the zone is ours, the index has a slice
 * and jemalloc loads; -1 (diag) if not. */
static int
jeshm_slice_index(struct zone *z)
{
    struct jeshm_header *h = jeshm_header(z);
    const char          *why;
    int                  idx = proc_index();

    if (memcmp(h->magic, JESHM_MAGIC, sizeof(h->magic)) != 0) {
        diag_set("jemalloc-shm: the zone was not formatted by jemalloc-shm's init");
        return -1;
    }
    if (idx < 0 || (unsigned) idx >= h->nworkers) {
        diag_set("jemalloc-shm: process index %d has no slice: the zone is cut for %u "
                 "workers (proc_set_index 0..%u)", idx, h->nworkers, h->nworkers - 1);
        return -1;
    }
    if ((why = jemalloc_api_load()) != NULL) {
        diag_set("jemalloc-shm: %s", why);
        return -1;
    }
    return idx;
}

/* Create this process's arena over its slice. */
static struct jeshm_proc *
jeshm_open(struct zone *z)
{
    struct jeshm_header *h = jeshm_header(z);
    struct jeshm_proc   *p;
    struct je_hooks     *hooks;
    size_t               len = sizeof(unsigned);
    int                  idx = jeshm_slice_index(z), err;

    if (idx < 0) {
        return NULL;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        diag_set("jemalloc-shm: out of memory for the arena's state");
        return NULL;
    }
    p->hooks = jeshm_hooks;
    jeshm_slice_bounds(z, h, (unsigned) idx, &p->lo, &p->hi);
    p->slice = &h->slice[idx];
    p->pid = proc_pid();
    hooks = &p->hooks;
    err = je_mallctl("arenas.create", &p->arena, &len, &hooks, sizeof(hooks));
    if (err != 0) {
        diag_set("jemalloc-shm: arenas.create over slice %d (%zu bytes, %llu carved) "
                 "failed: %s", idx, (size_t) (p->hi - p->lo),
                 (unsigned long long) atomic_load(&p->slice->carved), strerror(err));
        free(p);
        return NULL;
    }
    if (jeshm_arena_tune(p->arena) != 0) {
        jeshm_arena_ctl(p->arena, "destroy", NULL, 0);
        free(p);
        return NULL;
    }
    p->flags = JE_MALLOCX_ARENA(p->arena) | JE_MALLOCX_TCACHE_NONE;
    z->priv = p;       /* a state inherited from the parent stays allocated: the
                          parent's arena, copied here by fork, points at it */
    return p;
}

static const char *
jeshm_unavailable(void)
{
    return jemalloc_api_load();
}

static size_t
jeshm_min_zone_size(const struct alloc_params *p)
{
    return p->nworkers * JESHM_MIN_SLICE + zone_os_page();
}

static size_t
jeshm_zone_align(const struct alloc_params *p)
{
    (void) p;
    return JESHM_ALIGN;
}

static int
jeshm_init(struct zone *z, const struct alloc_params *p)
{
    struct jeshm_header *h;
    unsigned             n = p->nworkers;
    size_t               min = jeshm_min_zone_size(p);

    if (n > PROC_MAX - 1) {
        diag_set("jemalloc-shm: %u workers: at most %d (one slice per process index)", n,
                 PROC_MAX - 1);
        return -1;
    }
    if (z->size < min) {
        diag_set("jemalloc-shm: a zone of %zu bytes is too small for %u workers: each "
                 "needs a slice of at least %zu bytes (2 MiB of arena metadata and a "
                 "2 MiB first extent), so the zone needs %zu", z->size, n,
                 JESHM_MIN_SLICE, min);
        return -1;
    }
    h = jeshm_header(z);
    memset(h, 0, sizeof(*h));
    memcpy(h->magic, JESHM_MAGIC, sizeof(h->magic));
    h->nworkers = n;
    h->slice_size = (z->size / n) & ~(zone_os_page() - 1);
    z->priv = NULL;
    return 0;
}

/* Only checks: the arena is made at the first allocation, so that a master
 * that attaches but never allocates does not spend 2 MiB of slice 0 on
 * an arena's metadata. */
static int
jeshm_attach(struct zone *z)
{
    return jeshm_mine(z) || jeshm_slice_index(z) >= 0 ? 0 : -1;
}

static void *
jeshm_alloc(struct zone *z, size_t size)
{
    struct jeshm_proc *p = jeshm_mine(z);
    void              *b;

    if (p == NULL && (p = jeshm_open(z)) == NULL) {
        return NULL;
    }
    size = size ? size : 1;                         /* mallocx(0) is undefined */
    b = je_mallocx(size, p->flags);
    if (b == NULL) {
        jeshm_arena_ctl(p->arena, "purge", NULL, 0);   /* free extents to retained */
        b = je_mallocx(size, p->flags);
    }
    if (b == NULL) {
        atomic_fetch_add_explicit(&p->slice->fails, 1, memory_order_relaxed);
    }
    return b;
}

static int
jeshm_free(struct zone *z, void *b)
{
    struct jeshm_proc *p = jeshm_mine(z);

    if (p == NULL || (unsigned char *) b < p->lo || (unsigned char *) b >= p->hi) {
        diag_set("jemalloc-shm: free(%p) refused: not in this process's slice (process "
                 "index %d); jemalloc frees only blocks of its own arena, in the process "
                 "that allocated them", b, proc_index());
        return -1;
    }
    je_dallocx(b, JE_MALLOCX_TCACHE_NONE);
    return 0;
}

static size_t
jeshm_usable_size(struct zone *z, void *b)
{
    struct jeshm_proc *p = jeshm_mine(z);

    if (p == NULL || (unsigned char *) b < p->lo || (unsigned char *) b >= p->hi) {
        return 0;
    }
    return je_sallocx(b, 0);
}

/* What this process's arena holds free: dirty, muzzy and retained extents. */
static uint64_t
jeshm_arena_free_bytes(const struct jeshm_proc *p)
{
    uint64_t epoch = 1;
    size_t   len = sizeof(epoch);

    je_mallctl("epoch", &epoch, &len, &epoch, sizeof(epoch));
    return (uint64_t) (jeshm_arena_stat(p->arena, "pdirty")
                       + jeshm_arena_stat(p->arena, "pmuzzy")) * zone_os_page()
           + jeshm_arena_stat(p->arena, "retained");
}

/*
 * The zone's figures come from the shared header, so any process can read
 * them.  footprint is what was carved from every slice: exact as the bytes
 * the zone has given jemalloc (its arena metadata included), but a
 * high-water mark, since carved memory never goes back (freed extents stay
 * in their arena).  header_bytes is the rest of the zone: the shared header
 * page and what no slice covers.  free_bytes is what no slice has carved
 * yet, plus what this process's own arena holds free.  Other workers' free
 * extents are in their private memory.  largest_free is the largest
 * uncarved tail of a slice, a lower bound, so not ALLOC_EXACT_LARGEST.
 */
static void
jeshm_stats(struct zone *z, struct alloc_stats *out)
{
    struct jeshm_header *h = jeshm_header(z);
    struct jeshm_proc   *p = jeshm_mine(z);
    unsigned char       *lo, *hi;
    uint64_t             carved, span;
    unsigned             i;

    memset(out, 0, sizeof(*out));
    out->zone_bytes = z->size;
    out->page_size = zone_os_page();
    out->exact = ALLOC_EXACT_FOOTPRINT;
    for (i = 0; i < h->nworkers && i < PROC_MAX; i++) {
        jeshm_slice_bounds(z, h, i, &lo, &hi);
        carved = atomic_load_explicit(&h->slice[i].carved, memory_order_relaxed);
        span = (uint64_t) (hi - lo);
        out->data_bytes += span;
        out->footprint += carved;
        out->free_bytes += span - carved;
        if (span - carved > out->largest_free) {
            out->largest_free = span - carved;
        }
        out->fails += atomic_load_explicit(&h->slice[i].fails, memory_order_relaxed);
    }
    if (p) {
        out->free_bytes += jeshm_arena_free_bytes(p);
    }
    out->header_bytes = z->size - out->data_bytes;
    out->pages = out->data_bytes / out->page_size;
    out->pages_free = out->free_bytes / out->page_size;
}

/* Destroy this process's arena.  The struct can go only once jemalloc has
 * forgotten the hooks inside it. */
static void
jeshm_fini(struct zone *z)
{
    struct jeshm_proc *p = jeshm_mine(z);

    if (p && jeshm_arena_ctl(p->arena, "destroy", NULL, 0) == 0) {
        free(p);
    }
    z->priv = NULL;
}

const struct allocator_ops jemalloc_shm_allocator = {
    .name = "jemalloc-shm",
    .summary = "jemalloc 5.3, one arena per worker over its slice of the zone (extent "
               "hooks, bump pointer); per process: jemalloc's extent map and mutexes "
               "are process-private, no cross-process free; bad frees other than outside "
               "the slice undetected (jemalloc may abort)",
    .caps = ALLOC_IN_SHM,
    .unavailable = jeshm_unavailable,
    .min_zone_size = jeshm_min_zone_size,
    .zone_align = jeshm_zone_align,
    .init = jeshm_init,
    .attach = jeshm_attach,
    .alloc = jeshm_alloc,
    .free = jeshm_free,
    .usable_size = jeshm_usable_size,
    .stats = jeshm_stats,
    .check = NULL,
    .fini = jeshm_fini,
};
