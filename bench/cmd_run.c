/*
 * run: one workload over one allocator, in forked workers under the
 * driver's master (bench/master.h), with every count written to a result
 * directory.
 *
 * cmd_run() reads as the command does: parse the options and the
 * workload's k=v parameters (defaults first, so that every value is known
 * and recorded), refuse what cannot run before anything is created (a
 * workload that frees across processes on an allocator that cannot, a zone
 * below the allocator's minimum for that many workers), make the result
 * directory, prepare the workload (its op sequence, drawn once before fork),
 * hand the master the worker function and the sampler, then merge the
 * workers' slots and write runs.csv, timeseries.csv, latency.csv,
 * counters.csv, slots.csv and meta.json
 * (docs/results.md documents every column and field).
 *
 * The sampler runs in the master every --sample-ms while the workers run:
 * the workers' counters are read from their slots (relaxed loads, each a
 * few ops old at most), the resident bytes by mincore (zone_resident), and
 * the allocator's own figures (footprint, free, largest free) only where
 * that is safe while others allocate: under the zone lock, taken by trylock
 * and uncounted (master_sample_stats).  That covers the allocators whose
 * lock the driver can see (slab, freelist, tlsf, lfslab); the others'
 * stats either take a lock of their own that a dead worker could hold
 * (nginx) or read state private to another process (jemalloc-shm,
 * mimalloc-shm, the private heaps), so their rows leave those columns
 * empty, and only the final row, taken when no worker is left, has them.
 *
 * Latency (--latency): each worker times its measured ops, all of them or
 * one in K of each kind (chosen by the lock's golden-ratio sampler,
 * shmtx_sampled), in clock ticks, into the two histograms of its slot
 * (struct wl_slot; the timing itself is workload.h's wl_lat_start/stop,
 * around the allocator's call).  The master merges the slots' histograms
 * and converts ticks to nanoseconds once, at the calibrated rate, when it
 * writes runs.csv's percentile columns and latency.csv.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "master.h"
#include "meta.h"
#include "substrate/clock.h"
#include "substrate/diag.h"
#include "workload.h"

static const char run_cmd[] = "run";

const char cmd_run_help[] =
    "usage: shmbench run --alloc NAME --workload NAME[:k=v,...] [--procs N]\n"
    "                    [--seconds S | --ops N] [--zone METHOD] [--zone-size SIZE]\n"
    "                    [--page-size P] [--seed X] [--sample-ms M] [--out DIR]\n"
    "                    [--latency all|sample:K|off] [--keep NAME] [--noreserve]\n"
    "                    [--survive]\n"
    "\n"
    "Run one workload over one allocator in N forked workers on one zone, as\n"
    "nginx's workers share a zone: the master creates and formats the zone,\n"
    "forks the workers, releases them together once each has set up, samples\n"
    "the zone while they run, reaps them and writes a result directory.  A\n"
    "worker that dies is named with its pid and status or signal; the zone\n"
    "lock it held is released, the others are stopped (unless --survive), the\n"
    "zone is checked, and the run is written as failed (exit 1).\n"
    "\n"
    "options:\n"
    "  --alloc NAME         the allocator (see 'shmbench list')\n"
    "  --workload W[:k=v,...]  the workload and its parameters (below)\n"
    "  --procs N            workers (default 1; at most 63)\n"
    "  --seconds S          each worker's measured time (default 2; decimals allowed)\n"
    "  --ops N              each worker's op budget instead of a time (an op is an\n"
    "                       allocation tried or a free done; a step may pass it by\n"
    "                       a few)\n"
    "  --zone METHOD        anon (default), devzero, sysv, posix, hugetlb\n"
    "  --zone-size SIZE     zone bytes (default 64m; suffix k, m, g)\n"
    "  --page-size P        page size of page-based allocators (default: the OS page)\n"
    "  --seed X             seed of every random draw (default 1)\n"
    "  --sample-ms M        timeseries.csv period (default 100; 0: no sampling)\n"
    "  --latency L          time each op (all), one op in K of each kind (sample:K,\n"
    "                       picked by a golden-ratio sequence, not every K-th), or\n"
    "                       none (off); default sample:64\n"
    "  --out DIR            result directory (default\n"
    "                       results/runs/<date>-<alloc>-<workload>-<n>/)\n"
    "  --keep NAME          a posix zone called NAME, kept after the run (implies\n"
    "                       --zone posix; removed if the master is signalled); other\n"
    "                       posix zones are unlinked as soon as they are made\n"
    "  --noreserve          map the zone with MAP_NORESERVE, so that a zone as large\n"
    "                       as RAM or more can be made\n"
    "  --survive            after a worker's death, let the others finish\n"
    "\n"
    "Refused before anything runs (exit 1): a workload that frees blocks in\n"
    "another process on an allocator without cross-process free, one that\n"
    "fills the zone on a private heap, a zone below the allocator's minimum\n"
    "for N workers.\n"
    "\n"
    "output: one summary line on stdout; a progress line on stderr when it is\n"
    "a terminal; the directory's runs.csv, timeseries.csv, latency.csv,\n"
    "counters.csv, slots.csv and meta.json\n"
    "(docs/results.md).\n"
    "\n";

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

/* ---- options ---- */

static double
run_seconds(const char *s)
{
    char  *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || !(v > 0) || v > 1e6) {
        cli_usage_error(run_cmd, "bad time '%s' for --seconds (a positive number of "
                        "seconds, at most 1000000)", s);
    }
    return v;
}

/* --latency all|sample:K|off: 1 (every op), K, or 0 (off). */
static uint64_t
run_latency(const char *s)
{
    uint64_t k;

    if (strcmp(s, "all") == 0) {
        return 1;
    }
    if (strcmp(s, "off") == 0) {
        return 0;
    }
    if (strncmp(s, "sample:", 7) != 0 || cli_parse_u64(s + 7, &k) != 0 || k < 1
        || k > 1000000000u)
    {
        cli_usage_error(run_cmd, "bad value '%s' for --latency (all, off, or sample:K "
                        "with K from 1 to 1000000000)", s);
    }
    return k;
}

/* Parameter `name` of the workload set from its text `val`. */
static void
run_set_param(struct run_opts *o, const char *name, const char *val)
{
    const struct wl_param *p = workload_param(o->wl, name);
    uint64_t               v;
    int                    rc;

    if (p == NULL) {
        cli_usage_error(run_cmd, "workload %s has no parameter '%s'", o->wl->name, name);
    }
    if (workload_kind_is_text(p->kind)) {
        if (workload_set_text(p, o->cfg, val) != 0) {
            cli_usage_error(run_cmd, "bad value for %s's %s: %s", o->wl->name, name,
                            diag_last());
        }
        return;
    }
    rc = p->kind == WL_BYTES ? cli_parse_bytes(val, &v) : cli_parse_u64(val, &v);
    if (rc != 0 || v < p->min || v > p->max) {
        cli_usage_error(run_cmd, "bad value '%s' for %s's %s (%s, %llu to %llu)", val,
                        o->wl->name, name, workload_kind_name(p->kind),
                        (unsigned long long) p->min, (unsigned long long) p->max);
    }
    *workload_value(p, o->cfg) = v;
}

/* "k=v,..." into the workload's configuration; a first item without '='
 * sets the workload's bare parameter, if it has one (trace:FILE). */
static void
run_parse_params(struct run_opts *o, char *list)
{
    char *item, *eq, *rest = list;
    int   first = 1;

    while ((item = strsep(&rest, ",")) != NULL) {
        eq = strchr(item, '=');
        if (first && eq == NULL && item[0] != '\0' && o->wl->bare != NULL) {
            run_set_param(o, o->wl->bare, item);
            first = 0;
            continue;
        }
        first = 0;
        if (item[0] == '\0' || eq == NULL || eq == item) {
            cli_usage_error(run_cmd, "bad workload parameter '%s' in '%s' (expected k=v)",
                            item, o->workload_arg);
        }
        *eq = '\0';
        run_set_param(o, item, eq + 1);
    }
}

/* --workload NAME[:k=v,...] */
static void
run_parse_workload(struct run_opts *o, const char *arg)
{
    char  *copy = strdup(arg), *colon;

    if (copy == NULL) {
        exit(cli_error("run: out of memory"));
    }
    o->workload_arg = arg;
    colon = strchr(copy, ':');
    if (colon) {
        *colon = '\0';
    }
    o->wl = workload_find(copy);
    if (o->wl == NULL) {
        cli_usage_error(run_cmd, "%s", diag_last());
    }
    free(o->cfg);
    o->cfg = calloc(1, o->wl->cfg_size ? o->wl->cfg_size : 1);
    if (o->cfg == NULL) {
        exit(cli_error("run: out of memory"));
    }
    workload_defaults(o->wl, o->cfg);
    if (colon) {
        run_parse_params(o, colon + 1);
    }
    free(copy);
}

static void
run_parse(int argc, char **argv, struct run_opts *o)
{
    const char *val;
    int         k;

    memset(o, 0, sizeof(*o));
    o->argc = argc;
    o->argv = argv;
    o->procs = 1;
    o->seconds = 2;
    o->zone_size = 64u << 20;
    o->seed = 1;
    o->sample_ms = 100;
    o->method = ZONE_ANON;
    o->lat_k = RUN_LATENCY_DEFAULT;
    for (k = 1; k < argc; k++) {
        if (cli_option(run_cmd, argc, argv, &k, "--alloc", &val)) {
            o->alloc_name = val;
            o->ops = cli_allocator(run_cmd, val);
        } else if (cli_option(run_cmd, argc, argv, &k, "--workload", &val)) {
            run_parse_workload(o, val);
        } else if (cli_option(run_cmd, argc, argv, &k, "--procs", &val)) {
            o->procs = cli_number(run_cmd, "--procs", val, 1, MASTER_MAX_WORKERS);
        } else if (cli_option(run_cmd, argc, argv, &k, "--seconds", &val)) {
            o->seconds = run_seconds(val);
            o->seconds_set = 1;
        } else if (cli_option(run_cmd, argc, argv, &k, "--ops", &val)) {
            o->max_ops = cli_number(run_cmd, "--ops", val, 1, UINT64_MAX);
            o->ops_set = 1;
        } else if (cli_option(run_cmd, argc, argv, &k, "--zone", &val)) {
            o->method = cli_zone_method(run_cmd, val);
            o->method_set = 1;
        } else if (cli_option(run_cmd, argc, argv, &k, "--zone-size", &val)) {
            o->zone_size = cli_bytes(run_cmd, "--zone-size", val, 1, SIZE_MAX / 2);
        } else if (cli_option(run_cmd, argc, argv, &k, "--page-size", &val)) {
            o->page_size = cli_bytes(run_cmd, "--page-size", val, 1, 1u << 30);
        } else if (cli_option(run_cmd, argc, argv, &k, "--seed", &val)) {
            o->seed = cli_number(run_cmd, "--seed", val, 0, UINT64_MAX);
        } else if (cli_option(run_cmd, argc, argv, &k, "--sample-ms", &val)) {
            o->sample_ms = cli_number(run_cmd, "--sample-ms", val, 0, 3600000);
        } else if (cli_option(run_cmd, argc, argv, &k, "--latency", &val)) {
            o->lat_k = run_latency(val);
        } else if (cli_option(run_cmd, argc, argv, &k, "--out", &val)) {
            if (val[0] == '\0') {
                cli_usage_error(run_cmd, "--out needs a directory");
            }
            o->out = val;
        } else if (cli_option(run_cmd, argc, argv, &k, "--keep", &val)) {
            cli_zone_name(run_cmd, "--keep", val);
            o->keep = val;
        } else if (cli_flag(run_cmd, argv[k], "--noreserve")) {
            o->noreserve = 1;
        } else if (cli_flag(run_cmd, argv[k], "--survive")) {
            o->survive = 1;
        } else {
            cli_unknown_option(run_cmd, argv[k]);
        }
    }
    if (o->ops == NULL) {
        cli_usage_error(run_cmd, "run needs --alloc NAME");
    }
    if (o->wl == NULL) {
        cli_usage_error(run_cmd, "run needs --workload NAME");
    }
    if (o->ops_set && o->seconds_set) {
        cli_usage_error(run_cmd, "--seconds and --ops exclude each other");
    }
    if (o->ops_set) {
        o->seconds = 0;
    }
    if (o->keep) {
        if (o->method_set && o->method != ZONE_POSIX) {
            cli_usage_error(run_cmd, "--keep needs --zone posix");
        }
        o->method = ZONE_POSIX;
    }
    if (o->wl->check && o->wl->check(o->cfg, (unsigned) o->procs) != 0) {
        cli_usage_error(run_cmd, "%s", diag_last());
    }
}

/* ---- what cannot run ---- */

static struct alloc_params
run_params(const struct run_opts *o)
{
    struct alloc_params p;

    memset(&p, 0, sizeof(p));
    p.page_size = (size_t) o->page_size;
    p.nworkers = (unsigned) o->procs;
    return p;
}

/* Cap mismatches, before anything is created: exit status or 0. */
static int
run_refuse(const struct run_opts *o)
{
    struct alloc_params p = run_params(o);
    unsigned            needs = o->wl->needs ? o->wl->needs(o->cfg, (unsigned) o->procs) : 0;
    size_t              min;

    if ((needs & WL_NEEDS_CROSS_FREE) && !(o->ops->caps & ALLOC_CROSS_PROCESS_FREE)) {
        return cli_error("run: %s frees blocks in another process than the one that "
                         "allocated them, and %s has no cross-process free (see "
                         "'shmbench list')", o->workload_arg, o->ops->name);
    }
    if ((needs & WL_NEEDS_IN_SHM) && !(o->ops->caps & ALLOC_IN_SHM)) {
        return cli_error("run: %s needs its blocks in the zone (it fills it, or shares "
                         "it between workers), and %s keeps its blocks in a private heap",
                         o->workload_arg, o->ops->name);
    }
    min = allocator_min_zone_size(o->ops, &p);
    if (o->zone_size < min) {
        return cli_error("run: a zone of %llu bytes is too small for \"%s\" with %llu "
                         "worker%s: the minimum is %zu bytes (--zone-size)",
                         (unsigned long long) o->zone_size, o->ops->name,
                         (unsigned long long) o->procs, o->procs == 1 ? "" : "s", min);
    }
    return 0;
}

/* ---- the result directory ---- */

/* The directory: --out, or results/runs/<date>-<alloc>-<workload>-<n>, the
 * first n not taken. */
static int
run_make_out(struct run_state *r)
{
    const struct run_opts *o = r->o;
    char                   stem[256];

    snprintf(stem, sizeof(stem), "%.10s-%s-%s", r->date, o->ops->name, o->wl->name);
    return meta_make_out(run_cmd, o->out, "results/runs", stem, r->out, sizeof(r->out),
                         &r->made_out);
}

static FILE *
run_open(struct run_state *r, const char *name)
{
    char  path[4200];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", r->out, name);
    f = fopen(path, "w");
    if (f == NULL) {
        cli_error("run: %s: %s", path, strerror(errno));
    }
    return f;
}

static int
run_close(struct run_state *r, FILE *f, const char *name)
{
    if (ferror(f) | fclose(f)) {
        return cli_error("run: writing %s/%s failed", r->out, name);
    }
    return 0;
}

/* A run that never started (its zone could not be made) leaves no
 * directory: the partial timeseries.csv goes, and the directory if this
 * run made it. */
static void
run_unmake_out(struct run_state *r)
{
    char path[4200];

    if (r->ts) {
        fclose(r->ts);
        r->ts = NULL;
    }
    snprintf(path, sizeof(path), "%s/timeseries.csv", r->out);
    unlink(path);
    if (r->made_out) {
        rmdir(r->out);
    }
}

/* ---- the workers ---- */

static void
run_ready(struct wl_ctx *c)
{
    struct run_state *r = c->driver;

    /* ops counts the measured part only (the set-up's allocations stay in
     * allocs, live and fails), as the lock counters do from the release;
     * so does the op budget, which counts ops and fails. */
    __atomic_store_n(&c->cnt->ops, 0, __ATOMIC_RELAXED);
    c->cnt->poll_at = 0;            /* the measured loop looks at once */
    if (c->max_ops != 0) {
        c->max_ops += c->cnt->fails;
    }
    if (r->o->lat_k != 0) {
        c->lat = ((struct wl_slot *) master_slot(&r->m, c->worker))->lat;
        c->lat_below = r->o->lat_k == 1 ? UINT64_MAX : UINT64_MAX / r->o->lat_k;
    }
    master_ready(&r->m);
    if (r->o->seconds > 0) {
        c->end_ns = clock_ns() + (uint64_t) (r->o->seconds * 1e9);
    }
}

static int
run_worker(struct master *m, unsigned w, void *arg)
{
    struct run_state *r = arg;
    struct wl_ctx     c;

    memset(&c, 0, sizeof(c));
    c.zone = master_zone(m);
    c.ops = r->o->ops;
    c.cfg = r->o->cfg;
    c.worker = w;
    c.nworkers = (unsigned) r->o->procs;
    c.seed = r->o->seed;
    c.max_ops = r->o->max_ops;
    c.stop = master_stop_flag(m);
    c.cnt = &((struct wl_slot *) master_slot(m, w))->cnt;
    c.shared = master_area(m);
    c.ready = run_ready;
    c.driver = r;
    if (r->o->wl->run(&c) != 0) {
        return cli_error("run: %s: worker %u: %s", r->o->ops->name, w, diag_last());
    }
    __atomic_store_n(&c.cnt->done, 1, __ATOMIC_RELEASE);
    return 0;
}

/* ---- merging ---- */

static uint64_t
run_load(const uint64_t *f)
{
    return __atomic_load_n(f, __ATOMIC_RELAXED);
}

/* The sum of every worker's slot. */
static void
run_sum(struct run_state *r, struct wl_counters *all)
{
    const struct wl_counters *k;
    unsigned                  w, i;

    memset(all, 0, sizeof(*all));
    for (w = 0; w < r->o->procs; w++) {
        k = &((struct wl_slot *) master_slot(&r->m, w))->cnt;
        all->ops += run_load(&k->ops);
        all->allocs += run_load(&k->allocs);
        all->frees += run_load(&k->frees);
        all->fails += run_load(&k->fails);
        all->remote_frees += run_load(&k->remote_frees);
        all->handed_off += run_load(&k->handed_off);
        all->live_blocks += run_load(&k->live_blocks);
        all->live_bytes += run_load(&k->live_bytes);
        all->granted_bytes += run_load(&k->granted_bytes);
        all->peak_live += run_load(&k->peak_live);
        all->fill_at_fail += run_load(&k->fill_at_fail);
        all->held_blocks += run_load(&k->held_blocks);
        all->held_bytes += run_load(&k->held_bytes);
        if (run_load(&k->t_end) > all->t_end) {
            all->t_end = run_load(&k->t_end);
        }
        all->done += run_load(&k->done);
        for (i = 0; i < WL_EXTRA_MAX; i++) {
            all->extra[i] += run_load(&k->extra[i]);
        }
    }
}

/* ---- the sampler ---- */

static const char run_ts_header[] =
    "t_s,ops,allocs,frees,fails,live_bytes,granted_bytes,footprint_bytes,"
    "resident_bytes,free_bytes,largest_free_bytes,stats\n";

static void
run_ts_row(struct run_state *r, double t, const struct wl_counters *a,
    const struct alloc_stats *st, long long resident)
{
    FILE *f = r->ts;

    fprintf(f, "%.3f,%llu,%llu,%llu,%llu,%llu,%llu,", t, (unsigned long long) a->ops,
            (unsigned long long) a->allocs, (unsigned long long) a->frees,
            (unsigned long long) a->fails, (unsigned long long) a->live_bytes,
            (unsigned long long) a->granted_bytes);
    if (st) {
        fprintf(f, "%llu,", (unsigned long long) st->footprint);
    } else {
        fputc(',', f);
    }
    if (resident >= 0) {
        fprintf(f, "%lld", resident);
    }
    if (st) {
        fprintf(f, ",%llu,%llu,1\n", (unsigned long long) st->free_bytes,
                (unsigned long long) st->largest_free);
    } else {
        fputs(",,,0\n", f);
    }
    if (st && st->footprint > r->peak_footprint) {
        r->peak_footprint = st->footprint;
    }
    if (a->live_bytes > r->peak_live) {
        r->peak_live = a->live_bytes;
    }
}

static void
run_progress(struct run_state *r, const struct wl_counters *a, double t, int last)
{
    uint64_t now = clock_ns();

    if (!r->progress || (!last && now - r->last_progress < 250000000u)) {
        return;
    }
    r->last_progress = now;
    fprintf(stderr, "\rrun: %.1f s, %llu ops, %.2f Mops/s   %s", t,
            (unsigned long long) a->ops, t > 0 ? (double) a->ops / t / 1e6 : 0.0,
            last ? "\n" : "");
    fflush(stderr);
}

static void
run_sample(struct master *m, void *arg)
{
    struct run_state  *r = arg;
    struct wl_counters a;
    struct alloc_stats st;
    double             t = (double) (clock_ns() - m->t_go) / 1e9;
    int                have = master_sample_stats(m, &st) == 0;

    run_sum(r, &a);
    run_ts_row(r, t, &a, have ? &st : NULL, zone_resident(master_zone(m)));
    run_progress(r, &a, t, 0);
}

/* ---- runs.csv ---- */

static const char run_csv_header[] =
    "allocator,workload,procs,zone,zone_bytes,seed,worker,pid,status,ops,allocs,frees,"
    "fails,remote_frees,handed_off,in_transit,seconds,throughput_ops_s,live_blocks,"
    "live_bytes,granted_bytes,peak_live_bytes,held_blocks,held_bytes,internal_frag,"
    "fill_at_fail_bytes,"
    "alloc_lat_count,alloc_p50_ns,alloc_p90_ns,alloc_p99_ns,alloc_p999_ns,alloc_max_ns,"
    "free_lat_count,free_p50_ns,free_p90_ns,free_p99_ns,free_p999_ns,free_max_ns,"
    "lock_acquisitions,lock_contended,lock_spins,lock_yields,lock_sleeps,"
    "lock_owner_switches,lock_force_unlocks,lock_wait_ns,lock_wait_max_ns,lock_hold_ns,"
    "lock_hold_samples,footprint_bytes,header_bytes,data_bytes,free_bytes,"
    "largest_free_bytes,"
    "external_frag,peak_footprint_bytes,overhead_at_peak,fill_at_fail_ratio,"
    "resident_bytes\n";

/* A worker's end as one word: ok, exit:N, signal:N, stopped. */
static void
run_status_word(const struct master_worker *w, char *buf, size_t len)
{
    if (!w->reaped) {
        snprintf(buf, len, "unknown");
    } else if (w->stopped && WIFSIGNALED(w->status)) {
        snprintf(buf, len, "stopped:signal:%d", WTERMSIG(w->status));
    } else if (w->stopped) {
        snprintf(buf, len, "stopped");
    } else if (WIFSIGNALED(w->status)) {
        snprintf(buf, len, "signal:%d", WTERMSIG(w->status));
    } else if (WIFEXITED(w->status) && WEXITSTATUS(w->status) != 0) {
        snprintf(buf, len, "exit:%d", WEXITSTATUS(w->status));
    } else {
        snprintf(buf, len, "ok");
    }
}

/* Columns from allocator to status. */
static void
run_csv_lead(FILE *f, struct run_state *r, const char *worker, const char *pid,
    const char *status)
{
    const struct run_opts *o = r->o;

    fprintf(f, "%s,%s,%llu,%s,%llu,%llu,%s,%s,%s,", o->ops->name, o->wl->name,
            (unsigned long long) o->procs, zone_method_name(o->method),
            (unsigned long long) o->zone_size, (unsigned long long) o->seed, worker, pid,
            status);
}

/* Whether the workers' live bytes are the zone's (not so for a workload
 * whose blocks a shared index holds: WL_SHARED_INDEX). */
static int
run_live_known(const struct run_state *r)
{
    return (r->o->wl->flags & WL_SHARED_INDEX) == 0;
}

/* Columns from ops to fill_at_fail_bytes. */
static void
run_csv_counts(FILE *f, const struct wl_counters *k, const char *in_transit, double secs,
    int live_known)
{
    fprintf(f, "%llu,%llu,%llu,%llu,%llu,%llu,%s,", (unsigned long long) k->ops,
            (unsigned long long) k->allocs, (unsigned long long) k->frees,
            (unsigned long long) k->fails, (unsigned long long) k->remote_frees,
            (unsigned long long) k->handed_off, in_transit);
    if (secs > 0) {
        fprintf(f, "%.6f,%.1f,", secs, (double) k->ops / secs);
    } else {
        fputs(",,", f);
    }
    fprintf(f, "%llu,%llu,%llu,%llu,%llu,%llu,", (unsigned long long) k->live_blocks,
            (unsigned long long) k->live_bytes, (unsigned long long) k->granted_bytes,
            (unsigned long long) k->peak_live, (unsigned long long) k->held_blocks,
            (unsigned long long) k->held_bytes);
    if (live_known && k->granted_bytes > 0) {
        fprintf(f, "%.6f,", 1.0 - (double) k->live_bytes / (double) k->granted_bytes);
    } else {
        fputc(',', f);
    }
    if (live_known && (k->first_fail_op || k->fill_at_fail)) {
        fprintf(f, "%llu,", (unsigned long long) k->fill_at_fail);
    } else {
        fputc(',', f);
    }
}

/* ---- latency ---- */

/*
 * src (ticks) as a histogram of nanoseconds in dst: each bucket's count goes
 * to the nanosecond bucket of its lowest value over the tick rate, rounded.
 * A value v in a tick bucket [low, high] is then reported as R, the upper
 * bound of the nanosecond bucket holding low / rate: R >= low / rate and
 * R < (low / rate)(1 + 1/128), while low <= v <= high < low (1 + 1/128), so
 * |R - v / rate| < (v / rate) / 128, or half a nanosecond where rounding to
 * whole nanoseconds (the histogram's unit) is the larger.  Count, minimum,
 * maximum and sum are scaled; overflowed values stay overflowed (and a
 * bucket beyond the nanosecond range, possible only at a rate below 1,
 * joins them).
 */
static void
run_hist_ns(struct histogram *dst, const struct histogram *src, double rate)
{
    uint64_t v;
    unsigned i;

    histogram_reset(dst);
    for (i = 0; i < HIST_BUCKETS; i++) {
        if (src->bucket[i] != 0) {
            v = (uint64_t) ((double) histogram_bucket_low(i) / rate + 0.5);
            if (v > HIST_VALUE_MAX) {           /* a rate below 1 (not rdtsc) */
                dst->overflow += src->bucket[i];
            } else {
                dst->bucket[histogram_index(v)] += src->bucket[i];
            }
        }
    }
    dst->count = src->count;
    dst->overflow = src->overflow;
    if (src->count > 0) {
        dst->max = (uint64_t) ((double) src->max / rate + 0.5);
        dst->min_not = ~(uint64_t) ((double) histogram_min(src) / rate + 0.5);
        dst->sum = (unsigned __int128) ((long double) src->sum / rate);
    }
}

/* The latency columns of one op kind, from a tick histogram (NULL or
 * --latency off: empty). */
static void
run_csv_lat_kind(FILE *f, struct run_state *r, const struct histogram *h)
{
    struct histogram_summary s;

    if (h == NULL || r->o->lat_k == 0) {
        fputs(",,,,,,", f);
        return;
    }
    run_hist_ns(&r->lat_ns, h, r->ticks_per_ns);
    histogram_summarize(&r->lat_ns, &s);
    fprintf(f, "%llu,", (unsigned long long) s.count);
    if (s.count > 0) {
        fprintf(f, "%llu,%llu,%llu,%llu,%llu,", (unsigned long long) s.p50,
                (unsigned long long) s.p90, (unsigned long long) s.p99,
                (unsigned long long) s.p999, (unsigned long long) s.max);
    } else {
        fputs(",,,,,", f);
    }
}

/* The alloc and free latency columns of one row. */
static void
run_csv_lat(FILE *f, struct run_state *r, const struct histogram *lat)
{
    unsigned op;

    for (op = 0; op < WL_OPS; op++) {
        run_csv_lat_kind(f, r, &lat[op]);
    }
}

/* Merge the workers' histograms into r->lat_all. */
static void
run_lat_merge(struct run_state *r)
{
    const struct wl_slot *sl;
    unsigned              w, op;

    for (op = 0; op < WL_OPS; op++) {
        histogram_reset(&r->lat_all[op]);
    }
    for (w = 0; w < r->o->procs; w++) {
        sl = master_slot(&r->m, w);
        for (op = 0; op < WL_OPS; op++) {
            histogram_merge(&r->lat_all[op], &sl->lat[op]);
        }
    }
}

static const char *const run_op_names[WL_OPS] = { "alloc", "free" };

/* latency.csv: the merged histograms, in nanoseconds (histogram.h's
 * format); only the header with --latency off. */
static int
run_write_latency(struct run_state *r)
{
    FILE    *f = run_open(r, "latency.csv");
    unsigned op;
    int      rc;

    if (f == NULL) {
        return CLI_EXIT_FAIL;
    }
    rc = histogram_csv_header(f);
    for (op = 0; rc == 0 && r->o->lat_k != 0 && op < WL_OPS; op++) {
        run_hist_ns(&r->lat_ns, &r->lat_all[op], r->ticks_per_ns);
        rc = histogram_write_csv(f, run_op_names[op], &r->lat_ns);
    }
    if (rc != 0) {
        fclose(f);
        return cli_error("run: writing %s/latency.csv failed: %s", r->out, diag_last());
    }
    return run_close(r, f, "latency.csv");
}

/* The lock columns, from PROC_MAX slots (have: the allocator counts); the
 * force-unlocks are the master's (it counts nothing into the zone). */
static void
run_csv_lock(FILE *f, const struct shmtx_counters *slots, int have, unsigned forced)
{
    struct shmtx_report l;

    if (!have) {
        fputs(",,,,,,,,,,,", f);
        return;
    }
    shmtx_report(slots, &l);
    l.force_unlocks = forced;
    fprintf(f, "%llu,%llu,%llu,%llu,%llu,%llu,%llu,%.0f,%.0f,%.0f,%llu,",
            (unsigned long long) l.acquisitions, (unsigned long long) l.contended,
            (unsigned long long) l.spins, (unsigned long long) l.yields,
            (unsigned long long) l.sleeps, (unsigned long long) l.owner_switches,
            (unsigned long long) l.force_unlocks, l.wait_ns, l.wait_max_ns, l.hold_ns,
            (unsigned long long) l.hold_samples);
}

/* The zone columns of the all row. */
static void
run_csv_zone(FILE *f, struct run_state *r, const struct alloc_stats *st,
    const struct wl_counters *all)
{
    const struct allocator_ops *ops = r->o->ops;
    long long                   resident = zone_resident(master_zone(&r->m));

    if (st == NULL) {
        fputs(",,,,,,", f);
    } else {
        fprintf(f, "%llu,", (unsigned long long) st->footprint);
        if (ops->data_offset) {
            fprintf(f, "%zu", ops->data_offset(master_zone(&r->m)));
        }
        fprintf(f, ",%llu,%llu,%llu,", (unsigned long long) st->data_bytes,
                (unsigned long long) st->free_bytes, (unsigned long long) st->largest_free);
        if (st->free_bytes > 0 && st->largest_free > 0) {
            fprintf(f, "%.6f,", 1.0 - (double) st->largest_free / (double) st->free_bytes);
        } else {
            fputc(',', f);
        }
    }
    if (r->peak_footprint > 0) {
        fprintf(f, "%llu,", (unsigned long long) r->peak_footprint);
    } else {
        fputc(',', f);
    }
    if (run_live_known(r) && r->peak_footprint > 0 && r->peak_live > 0) {
        fprintf(f, "%.6f,", (double) r->peak_footprint / (double) r->peak_live);
    } else {
        fputc(',', f);
    }
    if (run_live_known(r) && st && st->data_bytes > 0 && all->fails > 0) {
        fprintf(f, "%.6f,", (double) all->fill_at_fail / (double) st->data_bytes);
    } else {
        fputc(',', f);
    }
    if (resident >= 0) {
        fprintf(f, "%lld", resident);
    }
    fputc('\n', f);
}

static int
run_write_csv(struct run_state *r, const struct wl_counters *all, uint64_t in_transit,
    const struct alloc_stats *st)
{
    static struct shmtx_counters one[PROC_MAX];
    const struct wl_counters    *k;
    struct zone                 *z = master_zone(&r->m);
    int                          have = (r->o->ops->caps & ALLOC_LOCK_COUNTERS) != 0;
    char                         worker[16], pid[24], status[32], transit[24];
    unsigned                     w, forced = 0;
    FILE                        *f = run_open(r, "runs.csv");

    if (f == NULL) {
        return CLI_EXIT_FAIL;
    }
    fputs(run_csv_header, f);
    for (w = 0; w < r->o->procs; w++) {
        k = &((struct wl_slot *) master_slot(&r->m, w))->cnt;
        snprintf(worker, sizeof(worker), "%u", w);
        snprintf(pid, sizeof(pid), "%ld", (long) r->m.w[w].pid);
        run_status_word(&r->m.w[w], status, sizeof(status));
        run_csv_lead(f, r, worker, pid, status);
        run_csv_counts(f, k, "", k->t_end > r->m.t_go && r->m.t_go
                       ? (double) (k->t_end - r->m.t_go) / 1e9 : 0, run_live_known(r));
        run_csv_lat(f, r, ((const struct wl_slot *) master_slot(&r->m, w))->lat);
        memset(one, 0, sizeof(one));
        one[w] = z->ctl->lockstat[w];
        run_csv_lock(f, one, have, (unsigned) r->m.w[w].held_lock);
        forced += (unsigned) r->m.w[w].held_lock;
        fputs(",,,,,,,,,\n", f);      /* the zone's columns: the all row's */
    }
    snprintf(transit, sizeof(transit), "%llu", (unsigned long long) in_transit);
    run_csv_lead(f, r, "all", "", r->m.failed ? "failed" : "ok");
    run_csv_counts(f, all, transit, all->t_end > r->m.t_go && r->m.t_go
                   ? (double) (all->t_end - r->m.t_go) / 1e9 : 0, run_live_known(r));
    run_csv_lat(f, r, r->lat_all);
    run_csv_lock(f, z->ctl->lockstat, have, forced);
    run_csv_zone(f, r, st, all);
    return run_close(r, f, "runs.csv");
}

/* ---- counters.csv ---- */

/*
 * What no fixed column of runs.csv can hold: the workload's own counts
 * (lua_dict's evictions, limit_req's rejections: struct workload's extra
 * names) and the allocator's own counters (ops->counters: lfslab's
 * retries, steals, ...), one per row, per worker and for all, so that
 * their names are data and the file's columns never change.
 */
struct run_counter_row {
    FILE       *f;
    const char *worker;
};

static void
run_counter_alloc(void *arg, const char *name, uint64_t value)
{
    struct run_counter_row *row = arg;

    fprintf(row->f, "%s,allocator,%s,%llu\n", row->worker, name, (unsigned long long) value);
}

static void
run_counters_of(struct run_state *r, FILE *f, const char *worker, int proc,
    const struct wl_counters *k)
{
    const struct workload  *wl = r->o->wl;
    struct run_counter_row  row = { f, worker };
    unsigned                i;

    for (i = 0; i < wl->nextra && i < WL_EXTRA_MAX; i++) {
        fprintf(f, "%s,workload,%s,%llu\n", worker, wl->extra[i],
                (unsigned long long) run_load(&k->extra[i]));
    }
    if (r->o->ops->counters) {
        r->o->ops->counters(master_zone(&r->m), proc, run_counter_alloc, &row);
    }
}

static int
run_write_counters(struct run_state *r, const struct wl_counters *all)
{
    FILE    *f = run_open(r, "counters.csv");
    char     worker[16];
    unsigned w;

    if (f == NULL) {
        return CLI_EXIT_FAIL;
    }
    fputs("worker,source,name,value\n", f);
    for (w = 0; w < r->o->procs; w++) {
        snprintf(worker, sizeof(worker), "%u", w);
        run_counters_of(r, f, worker, (int) w,
                        &((struct wl_slot *) master_slot(&r->m, w))->cnt);
    }
    run_counters_of(r, f, "all", ALLOC_COUNTERS_ALL, all);
    return run_close(r, f, "counters.csv");
}

/* ---- slots.csv ---- */

/* The allocator's per-slot statistics at the end of the run, as tengine's
 * slab_stat shows them (ALLOC_SLOT_STATS: slab, nginx, lfslab); the header
 * only when the allocator keeps none or its stats could not be read. */
static int
run_write_slots(struct run_state *r, const struct alloc_stats *st)
{
    FILE    *f = run_open(r, "slots.csv");
    unsigned i;

    if (f == NULL) {
        return CLI_EXIT_FAIL;
    }
    fputs("slot_bytes,total,used,reqs,fails\n", f);
    for (i = 0; st != NULL && (r->o->ops->caps & ALLOC_SLOT_STATS) && i < st->nslots; i++) {
        fprintf(f, "%llu,%llu,%llu,%llu,%llu\n", (unsigned long long) st->slot[i].size,
                (unsigned long long) st->slot[i].total, (unsigned long long) st->slot[i].used,
                (unsigned long long) st->slot[i].reqs, (unsigned long long) st->slot[i].fails);
    }
    return run_close(r, f, "slots.csv");
}

/* The workload's own counts of the all row, on one line of the summary. */
static void
run_print_extra(const struct run_state *r, const struct wl_counters *all)
{
    const struct workload *wl = r->o->wl;
    unsigned               i;

    if (wl->nextra == 0) {
        return;
    }
    printf("%s:", wl->name);
    for (i = 0; i < wl->nextra && i < WL_EXTRA_MAX; i++) {
        printf(" %s=%llu", wl->extra[i], (unsigned long long) all->extra[i]);
    }
    putchar('\n');
}

/* ---- meta.json ---- */

static void
run_json_params(FILE *f, const struct run_opts *o)
{
    const struct wl_param *p;
    unsigned               i;
    char                   val[WL_TEXT_MAX];

    fputs("  \"parameters\": {\n    \"alloc\": ", f);
    cli_json_string(f, o->ops->name);
    fputs(", \"workload\": ", f);
    cli_json_string(f, o->wl->name);
    fputs(",\n    \"workload_params\": {", f);
    for (i = 0; i < o->wl->nparams; i++) {
        p = &o->wl->params[i];
        fprintf(f, "%s\"%s\": ", i ? ", " : "", p->name);
        workload_format(p, o->cfg, val, sizeof(val));
        if (workload_kind_is_text(p->kind)) {
            cli_json_string(f, val);
        } else {
            fputs(val, f);
        }
    }
    fprintf(f, "},\n    \"procs\": %llu, \"seconds\": ", (unsigned long long) o->procs);
    if (o->seconds > 0) {
        fprintf(f, "%g", o->seconds);
    } else {
        fputs("null", f);
    }
    fputs(", \"ops\": ", f);
    if (o->max_ops) {
        fprintf(f, "%llu", (unsigned long long) o->max_ops);
    } else {
        fputs("null", f);
    }
    fprintf(f, ",\n    \"zone\": \"%s\", \"zone_size\": %llu, \"page_size\": %llu, "
            "\"seed\": %llu, \"sample_ms\": %llu,\n    \"keep\": ",
            zone_method_name(o->method), (unsigned long long) o->zone_size,
            (unsigned long long) (o->page_size ? o->page_size : zone_os_page()),
            (unsigned long long) o->seed, (unsigned long long) o->sample_ms);
    if (o->keep) {
        cli_json_string(f, o->keep);
    } else {
        fputs("null", f);
    }
    fprintf(f, ", \"noreserve\": %s, \"survive\": %s,\n    \"latency\": ",
            o->noreserve ? "true" : "false", o->survive ? "true" : "false");
    if (o->lat_k == 0) {
        fputs("\"off\"", f);
    } else if (o->lat_k == 1) {
        fputs("\"all\"", f);
    } else {
        fprintf(f, "\"sample:%llu\"", (unsigned long long) o->lat_k);
    }
    fputs("\n  },\n", f);
}

static void
run_json_workers(FILE *f, struct run_state *r)
{
    const struct master_worker *w;
    char                        status[32];
    unsigned                    i;

    fputs("  \"workers\": [", f);
    for (i = 0; i < r->o->procs; i++) {
        w = &r->m.w[i];
        run_status_word(w, status, sizeof(status));
        fprintf(f, "%s\n    {\"worker\": %u, \"pid\": %ld, \"status\": \"%s\", "
                "\"held_lock\": %s}", i ? "," : "", i, (long) w->pid, status,
                w->held_lock ? "true" : "false");
    }
    fputs("\n  ],\n", f);
}

static int
run_write_meta(struct run_state *r)
{
    const struct run_opts *o = r->o;
    FILE                  *f = run_open(r, "meta.json");
    int                    i;

    if (f == NULL) {
        return CLI_EXIT_FAIL;
    }
    fputs("{\n  \"command\": [\"shmbench\"", f);
    for (i = 0; i < o->argc; i++) {
        fputs(", ", f);
        cli_json_string(f, o->argv[i]);
    }
    fputs("],\n", f);
    meta_json_git(f);
    meta_json_machine(f);
    fputs("  \"date\": ", f);
    cli_json_string(f, r->date);
    fputs(",\n", f);
    run_json_params(f, o);
    fprintf(f, "  \"ticks_per_ns\": %.6f,\n", r->ticks_per_ns);
    run_json_workers(f, r);
    fprintf(f, "  \"failed\": %s,\n  \"why\": ", r->m.failed ? "true" : "false");
    if (r->m.failed) {
        cli_json_string(f, r->m.why);
    } else {
        fputs("null", f);
    }
    fputs(",\n  \"zone_state\": ", f);
    cli_json_string(f, r->m.zone_state);
    fputs("\n}\n", f);
    return run_close(r, f, "meta.json");
}

/* ---- the command ---- */

static void
run_master_opts(struct run_state *r, struct master_opts *mo)
{
    const struct run_opts *o = r->o;

    memset(mo, 0, sizeof(*mo));
    mo->who = run_cmd;
    mo->label = o->ops->name;
    mo->ops = o->ops;
    mo->method = o->method;
    mo->zone_size = (size_t) o->zone_size;
    mo->params = run_params(o);
    mo->procs = (unsigned) o->procs;
    mo->keep = o->keep;
    mo->noreserve = o->noreserve;
    mo->survive = o->survive;
    mo->area_size = o->wl->shared_size ? o->wl->shared_size(o->cfg, mo->procs) : 0;
    mo->slot_size = sizeof(struct wl_slot);     /* counters and histograms */
    mo->sample_ms = (unsigned) o->sample_ms;
    mo->sample = run_sample;
    mo->worker = run_worker;
    mo->arg = r;
}

/* After the workers: the final row, the files, the summary. */
static int
run_report(struct run_state *r)
{
    const struct run_opts *o = r->o;
    struct wl_counters     all;
    struct alloc_stats     st;
    uint64_t               transit = 0;
    int                    have = master_final_stats(&r->m, &st) == 0;
    double                 secs;

    run_sum(r, &all);
    run_lat_merge(r);
    r->ticks_per_ns = clock_ticks_per_ns();
    if (o->wl->in_transit) {
        transit = o->wl->in_transit(o->cfg, master_area(&r->m), (unsigned) o->procs);
    }
    secs = all.t_end > r->m.t_go && r->m.t_go ? (double) (all.t_end - r->m.t_go) / 1e9 : 0;
    run_ts_row(r, secs, &all, have ? &st : NULL, zone_resident(master_zone(&r->m)));
    run_progress(r, &all, secs, 1);
    if (run_close(r, r->ts, "timeseries.csv") != 0) {
        r->ts = NULL;
        return CLI_EXIT_FAIL;
    }
    r->ts = NULL;
    if (run_write_csv(r, &all, transit, have ? &st : NULL) != 0
        || run_write_latency(r) != 0 || run_write_counters(r, &all) != 0
        || run_write_slots(r, have ? &st : NULL) != 0
        || run_write_meta(r) != 0)
    {
        return CLI_EXIT_FAIL;
    }
    printf("run: %s on %s, %llu proc%s, %.2f s: %llu ops, %.2f Mops/s, %llu fails%s; "
           "results in %s\n", o->wl->name, o->ops->name, (unsigned long long) o->procs,
           o->procs == 1 ? "" : "s", secs, (unsigned long long) all.ops,
           secs > 0 ? (double) all.ops / secs / 1e6 : 0.0, (unsigned long long) all.fails,
           r->m.failed ? " (FAILED)" : "", r->out);
    run_print_extra(r, &all);
    return r->m.failed ? CLI_EXIT_FAIL : 0;
}

int
cmd_run(int argc, char **argv)
{
    struct run_opts   o;
    struct master_opts mo;
    struct run_state *r;
    time_t            now = time(NULL);
    int               rc;

    run_parse(argc, argv, &o);
    rc = run_refuse(&o);
    if (rc != 0) {
        free(o.cfg);
        return rc;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return cli_error("run: out of memory");
    }
    r->o = &o;
    r->progress = isatty(2);
    strftime(r->date, sizeof(r->date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    rc = run_make_out(r);
    if (rc == 0 && (r->ts = run_open(r, "timeseries.csv")) == NULL) {
        rc = CLI_EXIT_FAIL;
    }
    if (rc == 0 && o.wl->prepare && o.wl->prepare(o.cfg, o.seed, (unsigned) o.procs) != 0) {
        rc = cli_error("run: %s: %s", o.wl->name, diag_last());
        run_unmake_out(r);              /* nothing ran: nothing to keep */
    }
    if (rc == 0) {
        fputs(run_ts_header, r->ts);
        run_master_opts(r, &mo);
        rc = master_run(&r->m, &mo);
        if (rc < 0) {
            run_unmake_out(r);          /* nothing ran: nothing to keep */
            rc = CLI_EXIT_FAIL;
        } else {
            rc = run_report(r);
        }
        master_finish(&r->m);
    }
    if (r->ts) {
        fclose(r->ts);
    }
    if (o.wl->release) {
        o.wl->release(o.cfg);
    }
    free(o.cfg);
    free(r);
    return rc;
}
