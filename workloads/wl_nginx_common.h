/*
 * wl_nginx_common: what the nginx-feature workloads (wl_lua_dict.c) share
 * with their tests: the layout of the workload's shared area.
 *
 * The dict lives in the zone and is shared by every worker, as one
 * lua_shared_dict is shared by every nginx worker.  Worker 0 makes it
 * before the barrier and leaves the offsets of its header and log-context
 * string here; the others build their own handle from them after the
 * barrier.  The area also holds the workload's own lock, for allocators
 * that have no lock to serialise the dict with, the count of the dict's
 * blocks in the zone (items and the two init blocks, all of them shared,
 * so no worker holds them: the master counts them as in transit), and each
 * worker's shdict counters (evictions, forcible sets, no memory, hits,
 * misses), which the driver's result files have no columns for.
 */
#ifndef SHMBENCH_WL_NGINX_COMMON_H
#define SHMBENCH_WL_NGINX_COMMON_H

#include <stdatomic.h>
#include <stdint.h>

#include "shdict.h"
#include "substrate/shmtx.h"

struct lua_dict_shared {
    struct shmtx_lockword  word;      /* the workload's own lock, when the */
    struct shmtx           mtx;       /* allocator has none */
    _Atomic uint64_t       inited;    /* 1 once worker 0 made the dict */
    uint64_t               sh;        /* offset of the dict's header */
    uint64_t               log_ctx;   /* offset of its log-context string */
    _Atomic uint64_t       blocks;    /* the dict's blocks in the zone now */
    struct shdict_counters count[];   /* per worker, at its end */
};

#endif
