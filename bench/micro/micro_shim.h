/*
 * micro_shim: the registry and a zone as the micro suite's C++ code sees
 * them (bench/micro/micro_shim.c).
 *
 * The suite is C++ (google-benchmark), the allocators are C, and the
 * substrate's headers are C11 that C++ cannot read: the lock is declared
 * with _Atomic qualifiers.  So the benchmarks never include them (only
 * substrate/diag.h and dynlib.h, which are plain).  This header is what they
 * see of the rest: a plain view of every allocator the project
 * knows, and a zone whose alloc and free are the allocator's own function
 * pointers, so a timed loop in C++ calls exactly what the harness calls
 * (one indirect call per operation, as in `shmbench bench`), with nothing
 * between.  Only the lock's fast path, which is inline C, is looped here
 * in C (micro_lock_pairs), so that it stays inlined as the allocators have
 * it.
 */
#ifndef SHMBENCH_MICRO_SHIM_H
#define SHMBENCH_MICRO_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct zone;        /* substrate/zone.h; opaque here */

/* The zone size a case gets unless it needs more: 64 MiB. */
#define MICRO_ZONE_DEFAULT ((size_t) 64 << 20)

/* One allocator the project knows, usable here or not. */
struct micro_alloc {
    const char *name;         /* the registry's name */
    const char *unavailable;  /* NULL if usable; else why not (not built,
                                 its library did not load) */
    int         in_shm;       /* its blocks live in the zone (ALLOC_IN_SHM) */
    int         has_lock;     /* ops->lock is not NULL */
    const void *ops;          /* const struct allocator_ops *, or NULL */
};

/* Every allocator of the registry: the usable ones in `list` order, then
 * those left out, with the reason.  *n gets the count; the array lives as
 * long as the process (NULL and 0 if it could not be allocated). */
const struct micro_alloc *micro_allocs(size_t *n);

/* A zone formatted by one allocator, for one process. */
struct micro_zone {
    struct zone *zone;
    void      *(*alloc)(struct zone *z, size_t size);
    int        (*free)(struct zone *z, void *p);
    size_t       size;        /* bytes of the allocator's region */
};

/*
 * Make an anonymous zone of at least `size` bytes (the allocator's minimum
 * if that is more) for `a`, formatted for one process (a per-process
 * allocator gets the whole zone as its one slice).  NULL, with the reason
 * in diag, if `a` is not usable or the zone cannot be made.
 */
struct micro_zone *micro_zone_open(const struct micro_alloc *a, size_t size);

/* Check the zone's invariants if its allocator can: 0 if consistent or
 * the allocator cannot check itself, -1 (diag) otherwise. */
int micro_zone_check(struct micro_zone *mz);

/* Release the allocator's private state and unmap the zone (mz may be
 * NULL). */
void micro_zone_close(struct micro_zone *mz);

/* Take and release the zone's lock n times, by its inline fast path
 * (uncontended here); -1 (diag) if the allocator has no lock. */
int micro_lock_pairs(struct micro_zone *mz, uint64_t n);

/* The OS page, for the one- and two-page requests. */
size_t micro_page_size(void);

#ifdef __cplusplus
}
#endif

#endif
