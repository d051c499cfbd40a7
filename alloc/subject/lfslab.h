/*
 * lfslab: what the lock-free slab (lfslab.c) offers beside its ops table.
 *
 * The allocator itself is used through the registry (`lfslab`); these two
 * calls are for the driver and the tests: the page lock, which the master
 * force-unlocks after reaping a worker that died holding it, and lfslab's
 * own per-worker counters, summed by name.
 */
#ifndef SHMBENCH_LFSLAB_H
#define SHMBENCH_LFSLAB_H

#include <stdint.h>

#include "substrate/zone.h"

/* The zone's page lock (page runs, large requests, scavenging). */
struct shmtx *lfslab_page_lock(struct zone *z);

/* A counter summed over all heap records by name ("pops", "steals",
 * "lock_acq", "pages_out", "large_allocs", ...); UINT64_MAX if unknown. */
uint64_t lfslab_counter(struct zone *z, const char *name);

#endif
