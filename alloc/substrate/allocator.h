/*
 * allocator: the one interface every allocator implements, and the registry.
 *
 * An allocator is a const ops table found by name.  The master calls init()
 * once on a fresh zone before forking; each worker calls attach() after
 * fork; then any process may alloc/free (within what `caps` allow).  The
 * driver never looks inside an allocator: everything it reports comes
 * through stats() and check().
 *
 * caps are promises the driver relies on to refuse honestly: a workload that
 * frees in another process is not run on an allocator without
 * ALLOC_CROSS_PROCESS_FREE; it says so instead.
 */
#ifndef SHMBENCH_ALLOCATOR_H
#define SHMBENCH_ALLOCATOR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "substrate/zone.h"

enum alloc_caps {
    ALLOC_IN_SHM             = 1u << 0, /* blocks live in the shared zone */
    ALLOC_CROSS_PROCESS_FREE = 1u << 1, /* any process may free any block */
    ALLOC_SLOT_STATS         = 1u << 2, /* per-slot total/used/reqs/fails */
    ALLOC_CAN_CHECK          = 1u << 3, /* check() walks every invariant */
    ALLOC_BAD_FREE_DETECTED  = 1u << 4, /* refuses bad and double frees */
    ALLOC_PAGES              = 1u << 5, /* understands a trace's `pages N` */
    ALLOC_PRIVATE_HEAP       = 1u << 6, /* not in shared memory at all */
    ALLOC_LOCK_COUNTERS      = 1u << 7, /* its lock counts into zone_ctl.lockstat */
    ALLOC_ATTACH_BY_NAME     = 1u << 8, /* stats()/check() work from a process
                                           that attached the zone by name */
};

/* Parameters for init (zero = default). */
struct alloc_params {
    size_t      page_size;   /* slab page size; 0 = the OS page */
    const char *policy;      /* allocator-specific policy (e.g. "first"/"best") */
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

/* A snapshot of an allocator's state; fields it cannot know are 0. */
struct alloc_stats {
    uint64_t zone_bytes;     /* bytes of the zone (allocator region) */
    uint64_t data_bytes;     /* bytes that can hold blocks */
    uint64_t page_size;      /* page size, for page-based allocators */
    uint64_t pages;          /* data pages */
    uint64_t pages_free;     /* free data pages */
    uint64_t free_bytes;     /* bytes free for blocks */
    uint64_t largest_free;   /* largest block that can be allocated now */
    uint64_t footprint;      /* bytes handed out or reserved (docs/metrics.md) */
    uint64_t fails;          /* failed allocations (all classes) */
    uint32_t nslots;
    struct alloc_slot_stat slot[ALLOC_MAX_SLOTS];
};

/* Callback for each_free_run: offset (from the data start) and length in
 * bytes of one free run, in the allocator's own list order.  Non-zero stops. */
typedef int (*alloc_run_fn)(void *arg, uint64_t off, uint64_t len);

struct allocator_ops {
    const char *name;
    const char *summary;     /* one line for `shmbench list` */
    unsigned    caps;        /* enum alloc_caps */

    /* NULL if usable in this process, else why not (a library that could
     * not be loaded at run time).  Optional: NULL means always usable. */
    const char *(*unavailable)(void);

    /* Bytes a zone needs so that init gives exactly `pages` data pages
     * (ALLOC_PAGES allocators); 0 if impossible. */
    size_t (*zone_size_for_pages)(size_t pages, const struct alloc_params *p);

    /* Smallest zone init accepts. */
    size_t (*min_zone_size)(const struct alloc_params *p);

    /* Alignment init needs for z->base (0 = the OS page). */
    size_t (*zone_align)(const struct alloc_params *p);

    int    (*init)(struct zone *z, const struct alloc_params *p);
    int    (*attach)(struct zone *z);
    void  *(*alloc)(struct zone *z, size_t size);
    int    (*free)(struct zone *z, void *p);      /* -1: refused, zone unchanged */
    size_t (*usable_size)(struct zone *z, void *p);
    void   (*stats)(struct zone *z, struct alloc_stats *out);
    int    (*check)(struct zone *z, FILE *report); /* 0 = consistent */

    /* Optional (NULL if not applicable). */
    void  *(*alloc_locked)(struct zone *z, size_t size);  /* nginx's _locked forms: */
    int    (*free_locked)(struct zone *z, void *p);       /* caller holds the lock */
    size_t (*data_offset)(struct zone *z);        /* first data byte - base */
    int    (*each_free_run)(struct zone *z, alloc_run_fn fn, void *arg);
    void   (*fini)(struct zone *z);               /* release process-private state */
};

/* "in-shm,cross-free,..." for caps, into buf. */
const char *allocator_caps_string(unsigned caps, char *buf, size_t len);

/*
 * Convenience: create a zone sized for the allocator and format it.
 * If pages > 0 and the allocator has zone_size_for_pages, the zone gets
 * exactly that many pages; otherwise `size` bytes.  Returns 0 or -1 (diag).
 */
int allocator_zone_create(struct zone *z, const struct allocator_ops *ops,
    enum zone_method method, size_t size, size_t pages,
    const struct alloc_params *p, const char *name);

#endif
