/*
 * run_files: the result files of `shmbench run`, written by the master once
 * every worker has ended: runs.csv (a row per worker and the all row),
 * latency.csv (the merged histograms in nanoseconds), counters.csv (the
 * workload's and the allocator's own counts), slots.csv (the slab_stat
 * table) and meta.json (how the run was made).  docs/results.md documents
 * every column and field; timeseries.csv is the sampler's, in cmd_run.c.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "meta.h"
#include "run.h"
#include "substrate/clock.h"
#include "substrate/diag.h"

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
void
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
int
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

int
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

int
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
int
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
void
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

int
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
