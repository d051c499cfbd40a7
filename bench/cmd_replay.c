/*
 * replay: run an allocation trace over one allocator in a fresh zone.
 *
 * The trace is parsed whole first (workloads/trace.c), the zone is created
 * for its `pages N`, then only the op loop is timed.  With --offsets the
 * output is the conformance format (docs/formats.md), byte for byte what nginx's
 * own slab printed for the vectors in tests/conformance; without it, a
 * short human summary, or with --format json one JSON object.  The zone is
 * checked after the replay.
 *
 * A replay is one process, so a per-process allocator gets the whole zone
 * as one slice (nworkers 1).  --memory replays with memory accounting
 * (peaks, fragmentation, fill at the first failure: trace_replay_memory).
 * The accounting is only done when asked, because it costs more than the
 * ops it follows (a stats() read is the price of an op or more); so the
 * plain replay's ns/op stays the op loop alone, and a --memory replay
 * reports no ns/op at all, only its loop's time, accounting included.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "substrate/diag.h"

#define REPLAY_DEFAULT_ZONE   (64u << 20)
#define REPLAY_DEFAULT_PAGE   4096

const char cmd_replay_help[] =
    "usage: shmbench replay TRACE [--alloc NAME] [--offsets | --memory] [--format F]\n"
    "                             [--zone METHOD] [--zone-size BYTES] [--pagesize P]\n"
    "                             [--keep NAME]\n"
    "\n"
    "Replay the allocation trace TRACE ('-' for standard input) over one\n"
    "allocator in a fresh zone, then check the zone's integrity.\n"
    "\n"
    "trace format (one op a line; '#' comments and blank lines are ignored):\n"
    "  pagesize P     optional, before 'pages': the page size (a power of two,\n"
    "                 default 4096)\n"
    "  pages N        a zone with exactly N data pages (required by allocators\n"
    "                 with the 'pages' capability unless --zone-size is given)\n"
    "  a ID SIZE      allocate SIZE bytes and call the block ID (decimal)\n"
    "  f ID           free block ID; a no-op if its allocation failed\n"
    "An 'a' of a live ID or an 'f' of an ID that is not live is an error.\n"
    "\n"
    "options:\n"
    "  --alloc NAME       allocator (default: the first of 'shmbench list')\n"
    "  --offsets          print the conformance output instead of a summary:\n"
    "                     'ID OFFSET' per 'a' (offset from the first data byte,\n"
    "                     -1 on failure), then 'slot SIZE total T used U reqs R\n"
    "                     fails F' per slot, then 'pages free P'\n"
    "  --memory           account memory at every op and report peak footprint,\n"
    "                     live and granted bytes, overhead and internal\n"
    "                     fragmentation at the peak, and fill and external\n"
    "                     fragmentation at the first failed allocation; the op\n"
    "                     loop is then slower, so no ns/op is reported\n"
    "  --format F         text (default) or json: the summary as one JSON object\n"
    "  --zone METHOD      anon (default), devzero, sysv, posix or hugetlb\n"
    "  --zone-size BYTES  zone size instead of the trace's 'pages' (suffix k, m, g:\n"
    "                     KiB, MiB, GiB; default 64m for allocators without pages)\n"
    "  --pagesize P       page size, overriding the trace's 'pagesize'\n"
    "  --keep NAME        create a posix zone called NAME (implies --zone posix)\n"
    "                     and leave it in place at exit, for 'shmbench stat NAME';\n"
    "                     remove it with 'rm /dev/shm/NAME'\n"
    "\n"
    "Without --keep a posix zone is named /shmbench-PID and removed at exit.\n"
    "The summary's time is the op loop alone (parsing and zone set-up are not\n"
    "timed); ns/op divides it by the trace's ops.  When an allocation failed,\n"
    "the summary's first line says so.  A replay is one process: per-process\n"
    "allocators get the whole zone as one slice.\n"
    "\n"
    "exit status: 0 done; 1 a malformed trace (reported as FILE:LINE), a zone\n"
    "that cannot be made, a refused free or a failed integrity check; 2 usage.\n";

/* Buffered decimal output for the --offsets lines (a million of them). */
struct replay_out {
    char   buf[1 << 16];
    size_t n;
};

static void
replay_flush(struct replay_out *o)
{
    fwrite(o->buf, 1, o->n, stdout);
    o->n = 0;
}

static void
replay_u64(struct replay_out *o, uint64_t v)
{
    char tmp[24];
    int  i = 0;

    do {
        tmp[i++] = (char) ('0' + v % 10);
        v /= 10;
    } while (v);
    while (i) {
        o->buf[o->n++] = tmp[--i];
    }
}

static void
replay_print_offsets(const struct replay_state *s)
{
    static struct replay_out out;
    const struct trace      *t = &s->trace;
    const struct trace_op   *op;
    size_t                   k = 0;
    int64_t                  off;

    out.n = 0;
    for (op = t->ops; op < t->ops + t->nops; op++) {
        if (op->slot & TRACE_OP_FREE) {
            continue;
        }
        if (out.n > sizeof(out.buf) - 64) {
            replay_flush(&out);
        }
        replay_u64(&out, t->ids[op->slot]);
        out.buf[out.n++] = ' ';
        off = s->offsets[k++];
        if (off < 0) {
            out.buf[out.n++] = '-';
            out.buf[out.n++] = '1';
        } else {
            replay_u64(&out, (uint64_t) off);
        }
        out.buf[out.n++] = '\n';
    }
    replay_flush(&out);
}

static void
replay_print_stats(const struct replay_state *s)
{
    struct alloc_stats st;
    unsigned           i;

    memset(&st, 0, sizeof(st));
    s->ops->stats((struct zone *) &s->zone, &st);
    if (s->ops->caps & ALLOC_SLOT_STATS) {
        for (i = 0; i < st.nslots && i < ALLOC_MAX_SLOTS; i++) {
            printf("slot %llu total %llu used %llu reqs %llu fails %llu\n",
                   (unsigned long long) st.slot[i].size,
                   (unsigned long long) st.slot[i].total,
                   (unsigned long long) st.slot[i].used,
                   (unsigned long long) st.slot[i].reqs,
                   (unsigned long long) st.slot[i].fails);
        }
    }
    if (allocator_takes_pages(s->ops)) {
        printf("pages free %llu\n", (unsigned long long) st.pages_free);
    }
}

/* The figures the summary and the JSON object share, NAN where unknown. */
struct replay_figures {
    int    exact;            /* the footprint figures are exact */
    double ns_per_op;        /* NAN with --memory */
    double overhead_at_peak; /* peak footprint / peak live */
    double internal_frag;    /* 1 - live / granted when the footprint peaked */
    double fill;             /* live / data bytes just before the first failure */
    double external_frag;    /* 1 - largest free / free bytes then */
};

static double
replay_ratio(uint64_t num, uint64_t den)
{
    return den ? (double) num / (double) den : NAN;
}

static void
replay_figures_of(const struct replay_state *s, int mem, struct replay_figures *f)
{
    const struct trace_memory        *m = &s->memory;
    const struct trace_replay_result *r = &s->result;
    int                               failed = r->first_fail_op != 0;

    f->exact = mem && m->footprint_exact;
    f->ns_per_op = !mem && s->trace.nops ? (double) r->ns / (double) s->trace.nops : NAN;
    f->overhead_at_peak = f->exact ? replay_ratio(m->peak_footprint, m->peak_live) : NAN;
    f->internal_frag = f->exact && m->granted_at_peak
                       ? 1.0 - replay_ratio(m->live_at_peak, m->granted_at_peak) : NAN;
    f->fill = mem && failed ? replay_ratio(m->fail_live, m->data_bytes) : NAN;
    f->external_frag = mem && failed && m->fail_largest_exact && m->fail_free_bytes
                       ? 1.0 - replay_ratio(m->fail_largest_free, m->fail_free_bytes) : NAN;
}

/* v as "12.34%" (pct) or "1.2345", or "unknown" for NAN, into buf. */
static const char *
replay_fmt(char *buf, size_t len, double v, int pct)
{
    if (isnan(v)) {
        snprintf(buf, len, "unknown");
    } else if (pct) {
        snprintf(buf, len, "%.2f%%", 100.0 * v);
    } else {
        snprintf(buf, len, "%.4f", v);
    }
    return buf;
}

static void
replay_print_memory(const struct replay_state *s, const struct replay_figures *f)
{
    const struct trace_memory        *m = &s->memory;
    const struct trace_replay_result *r = &s->result;
    char                              a[32], b[32];

    /* NAN where a denominator is 0 (nothing live, nothing free) */

    printf("live: peak %llu bytes; granted: peak %llu bytes\n",
           (unsigned long long) m->peak_live, (unsigned long long) m->peak_granted);
    if (f->exact) {
        printf("footprint: peak %llu bytes (after op %llu), header %llu bytes\n",
               (unsigned long long) m->peak_footprint,
               (unsigned long long) m->peak_footprint_op,
               (unsigned long long) m->header_bytes);
        printf("at peak: overhead %s (peak footprint / peak live), internal "
               "fragmentation %s (live %llu of granted %llu)\n",
               replay_fmt(a, sizeof(a), f->overhead_at_peak, 0),
               replay_fmt(b, sizeof(b), f->internal_frag, 1),
               (unsigned long long) m->live_at_peak, (unsigned long long) m->granted_at_peak);
    } else {
        printf("footprint: not exact for \"%s\" (docs/metrics.md): no peak, overhead "
               "or internal fragmentation; header %llu bytes\n", s->ops->name,
               (unsigned long long) m->header_bytes);
    }
    if (r->first_fail_op) {
        printf("first failure: op %llu (line %llu): fill %s (live %llu of %llu data "
               "bytes), external fragmentation %s (largest free %llu of %llu free bytes)\n",
               (unsigned long long) r->first_fail_op, (unsigned long long) r->first_fail_line,
               replay_fmt(a, sizeof(a), f->fill, 1), (unsigned long long) m->fail_live,
               (unsigned long long) m->data_bytes, replay_fmt(b, sizeof(b), f->external_frag, 1),
               (unsigned long long) m->fail_largest_free,
               (unsigned long long) m->fail_free_bytes);
    }
}

static void
replay_print_summary(const struct replay_state *s, int mem)
{
    const struct trace               *t = &s->trace;
    const struct trace_replay_result *r = &s->result;
    struct replay_figures             f;
    struct alloc_stats                st;

    replay_figures_of(s, mem, &f);
    if (r->fails) {
        printf("FAILED: %llu of %llu allocations, the first at %s:%llu (op %llu)\n",
               (unsigned long long) r->fails, (unsigned long long) (r->allocs + r->fails),
               t->path, (unsigned long long) r->first_fail_line,
               (unsigned long long) r->first_fail_op);
    }
    printf("trace: %s: %zu ops (%zu allocs, %zu frees), %zu IDs, at most %zu live\n",
           t->path, t->nops, t->nallocs, t->nfrees, t->nslots, t->max_live);
    printf("zone: %s, %s, %zu bytes", s->ops->name,
           zone_method_name(s->zone.method), s->zone.size);
    memset(&st, 0, sizeof(st));
    s->ops->stats((struct zone *) &s->zone, &st);
    if (allocator_takes_pages(s->ops) && st.page_size) {
        printf(", %llu pages of %llu bytes", (unsigned long long) st.pages,
               (unsigned long long) st.page_size);
    }
    printf("\n");
    printf("allocs: %llu done, %llu failed; frees: %llu done, %llu of failed allocs skipped\n",
           (unsigned long long) r->allocs, (unsigned long long) r->fails,
           (unsigned long long) r->frees, (unsigned long long) r->frees_skipped);
    if (mem) {
        printf("time: %.6f s with memory accounting (no ns/op: replay without --memory "
               "for the allocator's time)\n", (double) r->ns / 1e9);
        replay_print_memory(s, &f);
    } else {
        printf("time: %.6f s, %.2f ns/op (the op loop only)\n", (double) r->ns / 1e9,
               isnan(f.ns_per_op) ? 0.0 : f.ns_per_op);
    }
    if (allocator_takes_pages(s->ops)) {
        printf("pages free: %llu\n", (unsigned long long) st.pages_free);
    }
}

/* `"key": value,` for the JSON object: an unsigned, or null if !known. */
static void
replay_json_u64(const char *key, int known, uint64_t v)
{
    if (known) {
        printf("  \"%s\": %llu,\n", key, (unsigned long long) v);
    } else {
        printf("  \"%s\": null,\n", key);
    }
}

/* The same for a double, null if NAN. */
static void
replay_json_num(const char *key, double v)
{
    if (isnan(v)) {
        printf("  \"%s\": null,\n", key);
    } else {
        printf("  \"%s\": %.6f,\n", key, v);
    }
}

static void
replay_print_json(const struct replay_state *s, int mem)
{
    const struct trace               *t = &s->trace;
    const struct trace_replay_result *r = &s->result;
    const struct trace_memory        *m = &s->memory;
    struct replay_figures             f;
    struct alloc_stats                st;
    int                               pages = allocator_takes_pages(s->ops);
    int                               failed = r->first_fail_op != 0;

    replay_figures_of(s, mem, &f);
    memset(&st, 0, sizeof(st));
    s->ops->stats((struct zone *) &s->zone, &st);
    printf("{\n  \"trace\": ");
    cli_json_string(stdout, t->path);
    printf(",\n  \"allocator\": ");
    cli_json_string(stdout, s->ops->name);
    printf(",\n  \"zone\": ");
    cli_json_string(stdout, zone_method_name(s->zone.method));
    printf(",\n");
    replay_json_u64("zone_bytes", 1, s->zone.size);
    replay_json_u64("page_size", pages, st.page_size);
    replay_json_u64("pages", pages, st.pages);
    replay_json_u64("pages_free", pages, st.pages_free);
    replay_json_u64("data_bytes", 1, st.data_bytes);
    replay_json_u64("header_bytes", 1, st.header_bytes);
    replay_json_u64("footprint_bytes", (st.exact & ALLOC_EXACT_FOOTPRINT) != 0, st.footprint);
    replay_json_u64("ops", 1, t->nops);
    replay_json_u64("allocs", 1, r->allocs);
    replay_json_u64("fails", 1, r->fails);
    replay_json_u64("frees", 1, r->frees);
    replay_json_u64("frees_skipped", 1, r->frees_skipped);
    replay_json_u64("time_ns", 1, r->ns);
    replay_json_num("ns_per_op", f.ns_per_op);
    printf("  \"memory_accounting\": %s,\n", mem ? "true" : "false");
    if (mem) {
        printf("  \"footprint_exact\": %s,\n", m->footprint_exact ? "true" : "false");
    } else {
        printf("  \"footprint_exact\": null,\n");
    }
    replay_json_u64("stats_calls", mem, m->stats_calls);
    replay_json_u64("peak_footprint_bytes", f.exact, m->peak_footprint);
    replay_json_u64("peak_footprint_op", f.exact, m->peak_footprint_op);
    replay_json_u64("peak_live_bytes", mem, m->peak_live);
    replay_json_u64("peak_granted_bytes", mem, m->peak_granted);
    replay_json_u64("live_at_peak_bytes", f.exact, m->live_at_peak);
    replay_json_u64("granted_at_peak_bytes", f.exact, m->granted_at_peak);
    replay_json_num("overhead_at_peak", f.overhead_at_peak);
    replay_json_num("internal_frag_at_peak", f.internal_frag);
    replay_json_u64("first_failure_op", failed, r->first_fail_op);
    replay_json_u64("first_failure_line", failed, r->first_fail_line);
    replay_json_u64("live_at_first_failure_bytes", mem && failed, m->fail_live);
    replay_json_u64("free_bytes_at_first_failure", mem && failed, m->fail_free_bytes);
    replay_json_u64("largest_free_at_first_failure", mem && failed && m->fail_largest_exact,
                    m->fail_largest_free);
    replay_json_num("fill_at_first_failure", f.fill);
    if (isnan(f.external_frag)) {
        printf("  \"external_frag_at_first_failure\": null\n}\n");
    } else {
        printf("  \"external_frag_at_first_failure\": %.6f\n}\n", f.external_frag);
    }
}

/* The size arguments for allocator_zone_create: *pages or *size. */
static int
replay_geometry(const struct replay_opts *o, struct replay_state *s,
    const struct alloc_params *params, size_t *size, size_t *pages)
{
    const struct trace *t = &s->trace;

    *size = 0;
    *pages = 0;
    if (allocator_takes_pages(s->ops)
        && s->page_size != 0 && allocator_zone_size_for_pages(s->ops, 1, params) == 0)
    {
        if (o->page_size) {
            return cli_error("%s: --pagesize %zu is not supported by \"%s\"",
                             o->cmd, s->page_size, s->ops->name);
        }
        return cli_error("%s:%llu: pagesize %zu is not supported by \"%s\"",
                         t->path, (unsigned long long) t->page_size_line,
                         s->page_size, s->ops->name);
    }
    if (o->zone_size) {
        *size = (size_t) o->zone_size;
        return 0;
    }
    if (!allocator_takes_pages(s->ops)) {
        *size = REPLAY_DEFAULT_ZONE;
        return 0;
    }
    if (t->pages == 0) {
        return cli_error("%s:%llu: no 'pages N' line before the first op "
                         "(\"%s\" needs one, or --zone-size)", t->path,
                         (unsigned long long) t->first_op_line, s->ops->name);
    }
    if (t->pages > SIZE_MAX / 2) {
        return cli_error("%s:%llu: pages %llu is too many", t->path,
                         (unsigned long long) t->pages_line,
                         (unsigned long long) t->pages);
    }
    *pages = (size_t) t->pages;
    return 0;
}

int
replay_run(const struct replay_opts *o, struct replay_state *s)
{
    struct alloc_params  params;
    size_t               size, pages, all_n;
    const char          *name = NULL;
    unsigned char       *origin;

    memset(s, 0, sizeof(*s));
    if (o->ops) {
        s->ops = o->ops;
    } else {
        const struct allocator_ops *const *all = allocator_all(&all_n);
        if (all_n == 0) {
            return cli_error("%s: no allocator is built in", o->cmd);
        }
        s->ops = all[0];
    }

    if (trace_load(&s->trace, o->trace_path) != 0) {
        return cli_error("%s", diag_last());
    }

    memset(&params, 0, sizeof(params));
    params.nworkers = 1;        /* one process: a per-process allocator's one slice */
    s->page_size = (size_t) (o->page_size ? o->page_size
                             : s->trace.page_size ? s->trace.page_size
                             : allocator_takes_pages(s->ops) ? REPLAY_DEFAULT_PAGE : 0);
    params.page_size = s->page_size;
    if (replay_geometry(o, s, &params, &size, &pages) != 0) {
        return CLI_EXIT_FAIL;
    }

    if (o->method == ZONE_POSIX) {
        if (o->keep) {
            name = o->keep;
        } else {
            snprintf(s->posix_name, sizeof(s->posix_name), "/shmbench-%ld",
                     (long) getpid());
            name = s->posix_name;
        }
    }
    if (allocator_zone_create(&s->zone, s->ops, o->method, size, pages, &params,
                              name) != 0)
    {
        return cli_error("%s: %s", o->cmd, diag_last());
    }
    s->have_zone = 1;

    if (o->offsets && s->trace.nallocs) {
        s->offsets = malloc(s->trace.nallocs * sizeof(*s->offsets));
        if (s->offsets == NULL) {
            return cli_error("%s: out of memory for %zu offsets", o->cmd,
                             s->trace.nallocs);
        }
    }
    origin = s->zone.base
             + (s->ops->data_offset ? s->ops->data_offset(&s->zone) : 0);
    if (o->memory ? trace_replay_memory(&s->trace, &s->zone, origin, &s->result, &s->memory)
                  : trace_replay(&s->trace, &s->zone, origin, s->offsets, &s->result))
    {
        return cli_error("%s", diag_last());
    }
    if (s->ops->check && s->ops->check(&s->zone, stderr) != 0) {
        return cli_error("%s: the zone fails its integrity check after the replay: %s",
                         s->trace.path, diag_last());
    }
    return 0;
}

void
replay_release(const struct replay_opts *o, struct replay_state *s)
{
    if (s->have_zone) {
        if (s->ops->fini) {
            s->ops->fini(&s->zone);
        }
        if (o->keep) {
            s->zone.owner = 0;      /* zone_destroy leaves the name */
            fflush(stdout);
            fprintf(stderr, "zone kept: %s\n", s->zone.name);
        }
        zone_destroy(&s->zone);
        s->have_zone = 0;
    }
    free(s->offsets);
    s->offsets = NULL;
    trace_free(&s->trace);
}

int
cmd_replay(int argc, char **argv)
{
    static const char    cmd[] = "replay";
    struct replay_opts   o;
    struct replay_state  s;
    const char          *val;
    int                  i, rc, method_set = 0, json = 0;
    uint64_t             v;

    memset(&o, 0, sizeof(o));
    o.cmd = cmd;
    o.method = ZONE_ANON;
    for (i = 1; i < argc; i++) {
        if (cli_option(cmd, argc, argv, &i, "--alloc", &val)) {
            o.ops = cli_allocator(cmd, val);
        } else if (cli_flag(cmd, argv[i], "--offsets")) {
            o.offsets = 1;
        } else if (cli_flag(cmd, argv[i], "--memory")) {
            o.memory = 1;
        } else if (cli_option(cmd, argc, argv, &i, "--format", &val)) {
            if (strcmp(val, "json") != 0 && strcmp(val, "text") != 0) {
                cli_usage_error(cmd, "unknown format '%s' for --format (known: text, json)",
                                val);
            }
            json = strcmp(val, "json") == 0;
        } else if (cli_option(cmd, argc, argv, &i, "--zone", &val)) {
            o.method = cli_zone_method(cmd, val);
            method_set = 1;
        } else if (cli_option(cmd, argc, argv, &i, "--zone-size", &val)) {
            o.zone_size = cli_bytes(cmd, "--zone-size", val, 1, SIZE_MAX / 2);
        } else if (cli_option(cmd, argc, argv, &i, "--pagesize", &val)) {
            v = cli_bytes(cmd, "--pagesize", val, 1, 1ull << 30);
            if (v & (v - 1)) {
                cli_usage_error(cmd, "--pagesize %s is not a power of two", val);
            }
            o.page_size = v;
        } else if (cli_option(cmd, argc, argv, &i, "--keep", &val)) {
            cli_zone_name(cmd, "--keep", val);
            o.keep = val;
        } else if (strcmp(argv[i], "--") == 0 && i + 1 < argc && o.trace_path == NULL) {
            o.trace_path = argv[++i];
        } else if ((argv[i][0] != '-' || strcmp(argv[i], "-") == 0)
                   && o.trace_path == NULL)
        {
            o.trace_path = argv[i];
        } else {
            cli_unknown_option(cmd, argv[i]);
        }
    }
    if (o.trace_path == NULL) {
        cli_usage_error(cmd, "replay needs a TRACE file");
    }
    if (o.offsets && (o.memory || json)) {
        cli_usage_error(cmd, "--offsets prints the conformance format only: it takes "
                        "neither --memory nor --format json");
    }
    if (o.keep) {
        if (method_set && o.method != ZONE_POSIX) {
            cli_usage_error(cmd, "--keep needs --zone posix");
        }
        o.method = ZONE_POSIX;
    }

    rc = replay_run(&o, &s);
    if (rc == 0) {
        if (o.offsets) {
            replay_print_offsets(&s);
            replay_print_stats(&s);
        } else if (json) {
            replay_print_json(&s, o.memory);
        } else {
            replay_print_summary(&s, o.memory);
        }
    }
    replay_release(&o, &s);
    if (rc == 0 && (fflush(stdout) != 0 || ferror(stdout))) {
        rc = cli_error("%s: writing the output failed", cmd);
    }
    return rc;
}
