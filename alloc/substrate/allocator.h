/*
 * allocator: the one interface every allocator implements.
 *
 * An allocator is a const ops table (alloc/registry.h finds it by name).
 * allocator_zone_create() makes a zone for it and calls init() once, in the
 * master, before forking; each worker calls attach() after fork; then any
 * process may alloc/free, within what `caps` allow.  The driver never looks
 * inside an allocator: everything it reports comes through stats() and
 * check().
 *
 * Each fact about an allocator has one source.  caps holds what cannot be
 * seen otherwise; what an optional member's presence already says (it can
 * check itself, it takes a page count) is read from the pointer, through
 * the helpers at the end of this file, never repeated as a cap.
 * docs/adding-an-allocator.md walks through a new one.
 */
#ifndef SHMBENCH_ALLOCATOR_H
#define SHMBENCH_ALLOCATOR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "substrate/zone.h"

/*
 * Promises the driver relies on to refuse honestly: a workload that frees in
 * another process is not run on an allocator without
 * ALLOC_CROSS_PROCESS_FREE; it says so instead.  An allocator without
 * ALLOC_IN_SHM uses a private heap (a speed ceiling, not in the zone).
 */
enum alloc_caps {
    ALLOC_IN_SHM             = 1u << 0, /* blocks live in the shared zone */
    ALLOC_CROSS_PROCESS_FREE = 1u << 1, /* any process may free any block */
    ALLOC_SLOT_STATS         = 1u << 2, /* per-slot total/used/reqs/fails */
    ALLOC_BAD_FREE_DETECTED  = 1u << 3, /* refuses bad and double frees */
    ALLOC_LOCK_COUNTERS      = 1u << 4, /* its lock counts into zone_ctl.lockstat */
    ALLOC_ATTACH_BY_NAME     = 1u << 5, /* stats()/check() work from a process
                                           that attached the zone by name */
    ALLOC_LOCK_FREE_PATHS    = 1u << 6, /* some paths change the zone without
                                           its lock (lfslab's small path): a
                                           copy taken under the lock may catch
                                           one mid-operation, which check()
                                           then finds inconsistent */
};

/*
 * Parameters for a zone's allocator.  Callers may leave fields 0 (or pass
 * NULL); the ops always receive them resolved by alloc_params_resolve(),
 * never NULL, so no allocator repeats the defaults.
 */
struct alloc_params {
    size_t      page_size;   /* page size of page-based allocators; 0 = the OS page */
    const char *policy;      /* allocator-specific policy (e.g. "first"/"best"); NULL = none */
    unsigned    nworkers;    /* processes that will allocate (proc_index() 0 ..
                                nworkers-1); per-process allocators cut the
                                zone into that many slices; 0 = ALLOC_WORKERS_DEFAULT */
};

#define ALLOC_WORKERS_DEFAULT 8

#define ALLOC_MAX_SLOTS 16

struct alloc_slot_stat {
    uint64_t size;           /* chunk size of the slot */
    uint64_t total, used, reqs, fails;
};

/* Which figures of a struct alloc_stats are exact (its `exact` bits). */
enum alloc_stats_exact {
    ALLOC_EXACT_FOOTPRINT = 1u << 0, /* footprint is this zone's, to the byte, now */
    ALLOC_EXACT_LARGEST   = 1u << 1, /* largest_free is the largest block its free
                                        memory can give now (page allocators:
                                        the longest free page run), not a
                                        bound, not unknown */
};

/*
 * A snapshot of an allocator's state; fields it cannot know are 0.
 *
 * footprint and header_bytes follow docs/metrics.md: footprint is what the
 * allocator has handed out or reserved for blocks (for a slab, the data
 * pages not free times the page size); header_bytes is the fixed part that
 * holds no block (page descriptors, slot heads, the allocator's own
 * header), which grows with the zone's size, not with its use, and so is
 * never counted in footprint.  Each stats() says in a comment what the two
 * are for it, and sets ALLOC_EXACT_FOOTPRINT only when footprint is exact.
 */
struct alloc_stats {
    uint64_t zone_bytes;     /* bytes of the zone (allocator region) */
    uint64_t data_bytes;     /* bytes that can hold blocks */
    uint64_t header_bytes;   /* fixed header: bytes that hold no block */
    uint64_t page_size;      /* page size, for page-based allocators */
    uint64_t pages;          /* data pages */
    uint64_t pages_free;     /* free data pages */
    uint64_t free_bytes;     /* bytes free for blocks */
    uint64_t largest_free;   /* largest block that can be allocated now */
    uint64_t footprint;      /* bytes handed out or reserved for blocks */
    uint64_t fails;          /* failed allocations (all classes) */
    uint32_t exact;          /* enum alloc_stats_exact bits */
    uint32_t nslots;
    struct alloc_slot_stat slot[ALLOC_MAX_SLOTS];
};

/* Callback for each_free_run: offset (from the data start) and length in
 * bytes of one free run, in the allocator's own list order.  Non-zero stops. */
typedef int (*alloc_run_fn)(void *arg, uint64_t off, uint64_t len);

/* Callback for counters: one of the allocator's own counters, its name a
 * static word ([a-z_]+), the same names in the same order on every call. */
typedef void (*alloc_counter_fn)(void *arg, const char *name, uint64_t value);

/* counters' `proc` for the sum over every process. */
#define ALLOC_COUNTERS_ALL (-1)

/*
 * The ops.  "Required" members are never NULL; an optional member may be
 * NULL and says what that means.  Every `p` is resolved (see alloc_params).
 * Sizes are in bytes; a refusal returns -1 or NULL and leaves one message in
 * diag (substrate/diag.h).
 */
struct allocator_ops {
    const char *name;        /* required: the registry's name, "slab" */
    const char *summary;     /* required: one line for `shmbench list` */
    unsigned    caps;        /* enum alloc_caps */

    /* Optional; NULL: always usable.  Otherwise NULL if usable in this
     * process, else why not (a library that could not be loaded). */
    const char *(*unavailable)(void);

    /* Optional; NULL: the allocator does not take a trace's `pages N`.  The
     * zone size that makes init give exactly `pages` data pages; 0 if none. */
    size_t (*zone_size_for_pages)(size_t pages, const struct alloc_params *p);

    /* Optional; NULL: no minimum of its own beyond what zone_create needs. */
    size_t (*min_zone_size)(const struct alloc_params *p);

    /* Optional; NULL: the OS page.  Alignment init needs for z->base. */
    size_t (*zone_align)(const struct alloc_params *p);

    /* Required.  Format a fresh (zero-filled) zone, in the master.  The
     * control block (name, page size, `formatted`) is stamped by
     * allocator_zone_create() after this returns 0, not here. */
    int    (*init)(struct zone *z, const struct alloc_params *p);

    /* Optional; NULL: nothing process-private to set up after fork. */
    int    (*attach)(struct zone *z);

    /* Required.  NULL on failure (counted in stats().fails). */
    void  *(*alloc)(struct zone *z, size_t size);

    /* Required.  0, or -1 when refused (a bad or double free, where
     * ALLOC_BAD_FREE_DETECTED): the zone is then unchanged. */
    int    (*free)(struct zone *z, void *p);

    /* Optional; NULL: the granted size is unknown (granted = requested). */
    size_t (*usable_size)(struct zone *z, void *p);

    /* Required.  A snapshot; fields the allocator cannot know are 0. */
    void   (*stats)(struct zone *z, struct alloc_stats *out);

    /* Optional; NULL: the allocator keeps no event counts of its own beyond
     * the lock's (ALLOC_LOCK_COUNTERS) and the slot statistics.  Each of its
     * own counters (lfslab: retries, remote frees, steals, ...) through fn:
     * those of process index `proc` (proc_set_index; an index at or beyond
     * the allocator's workers: the processes that share its overflow
     * record), or with ALLOC_COUNTERS_ALL the sum over every process.
     * Relaxed loads: exact once no process is changing the zone. */
    void   (*counters)(struct zone *z, int proc, alloc_counter_fn fn, void *arg);

    /* Optional; NULL: the allocator cannot verify itself.  Walk every
     * invariant, trusting nothing read; 0 = consistent, else -1 with the
     * first violation in diag and, if report is not NULL, written there. */
    int    (*check)(struct zone *z, FILE *report);

    /* Optional; NULL: the allocator has no lock a process that attached the
     * zone by name can take.  The zone's lock (substrate/shmtx.h), inside
     * z's region; only its address is computed, nothing is read or taken.
     * Its holder excludes every process that changes what stats() and
     * check() read through a locking path (an allocator with lock-free paths
     * says beside its ops table what those may change meanwhile).  `stat` takes
     * it while it copies a live zone; the driver reads the lock's counters
     * through it. */
    struct shmtx *(*lock)(struct zone *z);

    /* Optional; NULL: not applicable. */
    void  *(*alloc_locked)(struct zone *z, size_t size);  /* nginx's _locked forms: */
    int    (*free_locked)(struct zone *z, void *p);       /* caller holds the lock */
    size_t (*data_offset)(struct zone *z);        /* first data byte - base */
    int    (*each_free_run)(struct zone *z, alloc_run_fn fn, void *arg);
    void   (*fini)(struct zone *z);               /* release process-private state */
};

/* p with its defaults filled in (p may be NULL): page_size 0 becomes the OS
 * page, nworkers 0 becomes ALLOC_WORKERS_DEFAULT. */
struct alloc_params alloc_params_resolve(const struct alloc_params *p);

/* Whether the allocator takes a trace's `pages N` (zone_size_for_pages). */
static inline int
allocator_takes_pages(const struct allocator_ops *ops)
{
    return ops->zone_size_for_pages != NULL;
}

/* Whether the allocator can verify itself (check). */
static inline int
allocator_can_check(const struct allocator_ops *ops)
{
    return ops->check != NULL;
}

/* The zone size that gives exactly `pages` data pages; 0 if the allocator
 * takes no page count or no zone gives that many.  p may be NULL. */
size_t allocator_zone_size_for_pages(const struct allocator_ops *ops, size_t pages,
    const struct alloc_params *p);

/* The smallest zone init accepts (0: no minimum of its own).  p may be NULL. */
size_t allocator_min_zone_size(const struct allocator_ops *ops, const struct alloc_params *p);

/* The alignment init needs for the zone's base (0: the OS page).  p may be NULL. */
size_t allocator_zone_align(const struct allocator_ops *ops, const struct alloc_params *p);

/* "in-shm,cross-free,check,..." for the allocator, into buf: its caps, and
 * "check" and "pages" for the optional members it has. */
const char *allocator_caps_string(const struct allocator_ops *ops, char *buf, size_t len);

/*
 * Create a zone sized for the allocator and format it: resolve p, size the
 * zone (exactly `pages` data pages if pages > 0, else `size` bytes), refuse
 * a zone below the minimum, create it, call init, stamp the control block.
 * Returns 0 or -1 (diag); on failure nothing is left behind.
 */
int allocator_zone_create(struct zone *z, const struct allocator_ops *ops,
    enum zone_method method, size_t size, size_t pages,
    const struct alloc_params *p, const char *name);

#endif
