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
 * workers' slots and write the result files: timeseries.csv here (the
 * sampler's), runs.csv, latency.csv, counters.csv, slots.csv and meta.json
 * in run_files.c (docs/results.md documents every column and field).
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
#include "run.h"
#include "workload.h"

const char run_cmd[] = "run";

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

FILE *
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

int
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

uint64_t
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
