/*
 * run.h: what the two files of `shmbench run` share (bench/cmd_run.c, the
 * command: options, refusals, the workers and the sampler; bench/run_files.c,
 * the result files written once the workers have ended).  Not a public
 * interface: nothing outside `run` includes it.
 */
#ifndef SHMBENCH_RUN_H
#define SHMBENCH_RUN_H

#include <stdint.h>
#include <stdio.h>

#include "master.h"
#include "workload.h"

/* The command's name, for messages. */
extern const char run_cmd[];

/* What run is asked to do. */
struct run_opts {
    int                         argc;
    char                      **argv;
    const char                 *alloc_name;
    const struct allocator_ops *ops;
    const char                 *workload_arg;
    const struct workload      *wl;
    void                       *cfg;          /* wl->cfg_size bytes */
    uint64_t                    procs, max_ops, zone_size, page_size, seed, sample_ms;
    double                      seconds;
    int                         ops_set, seconds_set;
    enum zone_method            method;
    int                         method_set;
    const char                 *out;
    const char                 *keep;
    int                         noreserve, survive;
    uint64_t                    lat_k;        /* --latency: 0 off, 1 all, K */
};

/* The default of --latency: one op in 64.  Timing an op costs two tick
 * reads and a histogram update, more than a slab op itself: timing every
 * op halves the slab's churn throughput, one in 64 costs it about 5%
 * (docs/results.md), while a 2-second run on a fast allocator still times
 * some 10^5 ops per kind and worker, hundreds above its p99.9. */
#define RUN_LATENCY_DEFAULT 64

/* A run in progress: the options, the master, the sampler's state. */
struct run_state {
    struct run_opts *o;
    struct master    m;
    char             out[4096];
    FILE            *ts;             /* timeseries.csv */
    int              progress;       /* stderr is a terminal */
    uint64_t         last_progress;
    uint64_t         peak_footprint, peak_live;
    char             date[32];
    int              made_out;       /* the directory was made by this run */
    double           ticks_per_ns;   /* clock_ticks_per_ns(), at report time */
    struct histogram lat_all[WL_OPS];/* the workers' histograms merged, ticks */
    struct histogram lat_ns;         /* one of them in nanoseconds */
};

/* Open, close (reporting a write error) a file of the result directory;
 * NULL or the exit status after printing `shmbench: run: ...`. */
FILE *run_open(struct run_state *r, const char *name);
int   run_close(struct run_state *r, FILE *f, const char *name);

/* A counter of a worker's slot, read while the worker may write it. */
uint64_t run_load(const uint64_t *f);

/* The result files (docs/results.md), each 0 or the exit status after an
 * error message: runs.csv (all is the workers' sum, in_transit the
 * workload's blocks between workers, st the final stats or NULL),
 * latency.csv (after run_lat_merge has merged the workers' histograms),
 * counters.csv, slots.csv and meta.json. */
int  run_write_csv(struct run_state *r, const struct wl_counters *all, uint64_t in_transit,
    const struct alloc_stats *st);
void run_lat_merge(struct run_state *r);
int  run_write_latency(struct run_state *r);
int  run_write_counters(struct run_state *r, const struct wl_counters *all);
int  run_write_slots(struct run_state *r, const struct alloc_stats *st);
int  run_write_meta(struct run_state *r);

/* The workload's own counts of the all row, on one line of the summary. */
void run_print_extra(const struct run_state *r, const struct wl_counters *all);

#endif
