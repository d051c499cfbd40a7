/*
 * bench: a free/alloc churn, timed, over several allocators.
 *
 * One op sequence is drawn from the seed up front (workloads/churn.h): the
 * sizes that fill N live slots, then per round a slot and a new size.  Every
 * allocator replays the same sequence, so they differ only in themselves.
 * Runs are interleaved (repeat 1: A, B, ...; repeat 2: A, B, ...) so that a
 * drift of the machine hits all of them alike; each run gets a fresh zone and
 * only its rounds loop is timed.  `NAME:nocount` is NAME with the lock's
 * counting turned off, which measures what counting costs.
 *
 * With --procs P > 1, the driver's master (master.h) makes the zone and
 * forks P workers (proc_set_index 0 .. P-1, attach), which each fill their
 * own live slots in the one zone, wait at its barrier, and run the rounds (worker w starts w * rounds / P into the sequence and wraps);
 * the time is from the barrier's release to the last worker's end, and
 * ns/op is that wall time over all workers' ops (docs/metrics.md: throughput).
 * Every worker frees only its own blocks: this churn measures the
 * allocator's shared state and lock, not cross-process frees.
 *
 * cmd_bench() reads as the command does: parse the options, pick the
 * allocators, draw the sequence, run every repeat of every allocator
 * (bench_run: a fresh zone, then one process's churn or the workers'), and
 * print one report after the other.
 */
#include <stdlib.h>
#include <string.h>

#include "churn.h"
#include "cli.h"
#include "master.h"
#include "substrate/clock.h"
#include "substrate/diag.h"
#include "substrate/proc.h"
#include "substrate/shmtx.h"

#define BENCH_MAX_ALLOCS 32
#define BENCH_MAX_PROCS  MASTER_MAX_WORKERS

const char cmd_bench_help[] =
    "usage: shmbench bench [--alloc A,B,...] [--sizes MIN-MAX] [--live N]\n"
    "                      [--rounds N] [--seed S] [--repeat R] [--zone-size BYTES]\n"
    "                      [--procs P]\n"
    "\n"
    "Time a random churn in one process: fill N live slots, then per round free\n"
    "a random slot's block and allocate a new one of a random size in\n"
    "[MIN, MAX] in its place (a failed allocation is counted and leaves the\n"
    "slot empty).  The sequence is drawn once from the seed and is the same for\n"
    "every allocator.  Runs are interleaved: for each repeat, each allocator in\n"
    "order, in a fresh anonymous zone; only the rounds loop is timed.\n"
    "\n"
    "options:\n"
    "  --alloc A,B,...    allocators (default: all of 'shmbench list'); NAME:nocount\n"
    "                     is NAME with the lock's counters off (shmtx_set_counting);\n"
    "                     NAME:locked calls NAME's _locked forms without taking the\n"
    "                     lock (nginx modules call them under their own lock): the\n"
    "                     allocator's own work, without the two locked instructions\n"
    "  --sizes MIN-MAX    request sizes, uniform (default 8-2048; one number: fixed)\n"
    "  --live N           live slots (default 1000)\n"
    "  --rounds N         rounds per run (default 1000000)\n"
    "  --seed S           seed of the sequence (default 1)\n"
    "  --repeat R         runs per allocator (default 5)\n"
    "  --zone-size BYTES  zone size (default 64m; suffix k, m, g)\n"
    "  --procs P          P forked workers on one zone, each with its own live\n"
    "                     slots, released together (default 1); ns/op is then the\n"
    "                     wall time over all workers' ops (aggregate)\n"
    "\n"
    "output:\n"
    "  NAME ns/op MEDIAN min MIN max MAX\n"
    "      over the R runs; ns/op = time of the rounds loop / (2 * rounds), a\n"
    "      round being two ops, one free and one alloc\n"
    "  ratio NAME/FIRST RATIO\n"
    "      NAME's median ns/op divided by the first allocator's: a time ratio,\n"
    "      below 1 when NAME is faster\n"
    "  throughput NAME MOPS Mops/s\n"
    "      with --procs > 1: aggregate operations per second, from the median\n"
    "  fails NAME N (fill F)\n"
    "      failed allocations in the rounds (and the fill) of one run, if any\n"
    "  frag NAME internal P% (live L bytes, granted G)\n"
    "      internal fragmentation 1 - L/G of the blocks live at the end of the\n"
    "      last run: L requested bytes, G their usable_size (docs/metrics.md)\n"
    "  lock NAME acquisitions N contended N\n"
    "      the zone lock's counters over the last run's rounds, for allocators\n"
    "      with lock counters, when counting was on\n";

static const char bench_cmd[] = "bench";

/* What bench is asked to do: its options. */
struct bench_opts {
    const char         *alloc_list;   /* --alloc as given; NULL: all */
    struct churn_params churn;        /* --sizes, --live, --rounds, --seed */
    uint64_t            repeat;
    uint64_t            zone_size;
    uint64_t            procs;
};

struct bench_alloc {
    const char                 *label;     /* as given, suffix included */
    const struct allocator_ops *ops;
    int                         counting;
    int                         locked;    /* use the _locked forms, no lock */
    double                     *ns;        /* ns/op per repeat */
    double                      median, min, max;  /* of ns[] */
    uint64_t                    fails, fill_fails;
    struct shmtx_report         lock;
    int                         have_lock;
    uint64_t                    live_bytes;    /* requested, live at the end */
    uint64_t                    granted_bytes; /* usable_size of the same */
};

/* What the workers of a --procs run share (the master's area). */
struct bench_shared {
    struct {
        uint64_t end, fails, fill_fails, live_bytes, granted_bytes;
        int      error;
        char     pad[64 - 6 * 8];
    } w[MASTER_MAX_WORKERS];
    /* Each worker's lock-counter slot as it was when its rounds ended. */
    struct shmtx_counters lock_at_end[PROC_MAX];
};

/* What a --procs worker is given. */
struct bench_job {
    struct bench_alloc     *a;
    const struct churn_seq *q;
    unsigned                procs;
};

/* ---- one run ---- */

/* What is live in the slots now, requested and granted, for the internal
 * fragmentation (docs/metrics.md). */
static void
bench_live(struct bench_alloc *a, const struct churn_seq *q, struct zone *z,
    void *const *slot, const uint32_t *size)
{
    uint64_t i;

    a->live_bytes = a->granted_bytes = 0;
    for (i = 0; i < q->live; i++) {
        if (slot[i] != NULL) {
            a->live_bytes += size[i];
            a->granted_bytes += a->ops->usable_size ? a->ops->usable_size(z, slot[i]) : 0;
        }
    }
}

/* One process's part of a run: fill, wait at the master's barrier (with
 * --procs: m and sh not NULL), churn from round `first`, record the end
 * time and what was live at the end. */
static int
bench_churn(struct bench_alloc *a, const struct churn_seq *q, struct zone *z,
    uint64_t first, struct master *m, struct bench_shared *sh, unsigned w,
    uint64_t *t0_out, uint64_t *t1_out)
{
    const struct allocator_ops *ops = a->ops;
    void                     *(*alloc)(struct zone *, size_t) =
                                  a->locked ? ops->alloc_locked : ops->alloc;
    int                       (*release)(struct zone *, void *) =
                                  a->locked ? ops->free_locked : ops->free;
    void                      **slot = calloc(q->live, sizeof(*slot));
    uint32_t                   *size = calloc(q->live, sizeof(*size));
    uint64_t                    i, j, t0, t1, fails = 0, fill_fails = 0;
    void                       *p;
    int                         rc = 0;

    if (slot == NULL || size == NULL) {
        free(slot);
        free(size);
        return cli_error("bench: out of memory for %llu slots", (unsigned long long) q->live);
    }
    for (i = 0; i < q->live; i++) {
        size[i] = q->fill[i];
        slot[i] = alloc(z, size[i]);
        fill_fails += slot[i] == NULL;
    }

    if (m) {
        master_ready(m);
    } else if (ops->caps & ALLOC_LOCK_COUNTERS) {
        shmtx_counters_reset(z->ctl->lockstat);
    }

    t0 = clock_ns();
    for (i = 0, j = first; i < q->rounds; i++, j = churn_after(q, j)) {
        uint32_t k = q->round[j].slot;
        p = slot[k];
        if (p != NULL && release(z, p) != 0) {
            break;
        }
        size[k] = q->round[j].size;
        p = alloc(z, size[k]);
        slot[k] = p;
        fails += p == NULL;
    }
    t1 = clock_ns();
    if ((ops->caps & ALLOC_LOCK_COUNTERS) && sh) {
        sh->lock_at_end[proc_index()] = z->ctl->lockstat[proc_index()];
    } else if (ops->caps & ALLOC_LOCK_COUNTERS) {
        shmtx_report(z->ctl->lockstat, &a->lock);   /* the rounds only */
    }
    if (i < q->rounds) {
        rc = cli_error("bench: %s: free refused in round %llu: %s", a->label,
                       (unsigned long long) i, diag_last());
    }

    bench_live(a, q, z, slot, size);
    for (i = 0; i < q->live && rc == 0; i++) {
        if (slot[i] != NULL) {
            release(z, slot[i]);      /* private heaps outlive the zone */
        }
    }
    if (sh) {
        sh->w[w].end = t1;
        sh->w[w].fails = fails;
        sh->w[w].fill_fails = fill_fails;
        sh->w[w].live_bytes = a->live_bytes;
        sh->w[w].granted_bytes = a->granted_bytes;
    }
    a->fails = fails;
    a->fill_fails = fill_fails;
    *t0_out = t0;
    *t1_out = t1;
    free(slot);
    free(size);
    return rc;
}

/* ---- the workers of a --procs run, under the master (master.h) ---- */

/* Worker w's part, in the child (the master has set its index and
 * attached it): churn its part; the exit status. */
static int
bench_worker(struct master *m, unsigned w, void *arg)
{
    struct bench_job *j = arg;
    uint64_t          t0, t1;

    return bench_churn(j->a, j->q, master_zone(m), churn_first(j->q, w, j->procs), m,
                       master_area(m), w, &t0, &t1);
}

/* The workers' counts, summed into `a`; *t1 gets the last one's end. */
static void
bench_workers_sum(struct bench_alloc *a, const struct bench_shared *sh,
    unsigned procs, uint64_t t0, uint64_t *t1)
{
    unsigned w;

    *t1 = t0;
    a->fails = a->fill_fails = a->live_bytes = a->granted_bytes = 0;
    for (w = 0; w < procs; w++) {
        *t1 = sh->w[w].end > *t1 ? sh->w[w].end : *t1;
        a->fails += sh->w[w].fails;
        a->fill_fails += sh->w[w].fill_fails;
        a->live_bytes += sh->w[w].live_bytes;
        a->granted_bytes += sh->w[w].granted_bytes;
    }
    if (a->ops->caps & ALLOC_LOCK_COUNTERS) {
        shmtx_report(sh->lock_at_end, &a->lock);   /* the rounds only */
    }
}

/* --procs: the master makes the zone, forks the workers, releases them
 * together and reaps them; a worker's death ends the run as failed
 * instead of hanging it. */
static int
bench_run_procs(struct bench_alloc *a, const struct churn_seq *q, size_t zone_size,
    unsigned procs, uint64_t *t0, uint64_t *t1)
{
    struct master_opts mo;
    struct bench_job   job = { a, q, procs };
    struct master     *m = calloc(1, sizeof(*m));
    int                rc;

    if (m == NULL) {
        return cli_error("bench: out of memory");
    }
    memset(&mo, 0, sizeof(mo));
    mo.who = bench_cmd;
    mo.label = a->label;
    mo.ops = a->ops;
    mo.method = ZONE_ANON;
    mo.zone_size = zone_size;
    mo.procs = procs;
    mo.area_size = sizeof(struct bench_shared);
    mo.worker = bench_worker;
    mo.arg = &job;
    rc = master_run(m, &mo);
    if (rc == 0) {
        *t0 = m->t_go;
        bench_workers_sum(a, master_area(m), procs, *t0, t1);
    } else if (rc > 0) {
        rc = cli_error("bench: %s: the run failed: %s", a->label, m->why);
    } else {
        rc = CLI_EXIT_FAIL;
    }
    master_finish(m);
    free(m);
    return rc;
}

/* One run of `a` over the sequence, in a fresh zone: *ns gets the ns/op
 * (aggregate). */
static int
bench_run(struct bench_alloc *a, const struct churn_seq *q, size_t zone_size,
    unsigned procs, double *ns)
{
    const struct allocator_ops *ops = a->ops;
    struct alloc_params         params;
    struct zone                 z;
    uint64_t                    t0 = 0, t1 = 0;
    int                         rc;

    a->have_lock = (ops->caps & ALLOC_LOCK_COUNTERS) && a->counting && !a->locked;
    shmtx_set_counting(a->counting);
    if (procs > 1) {
        rc = bench_run_procs(a, q, zone_size, procs, &t0, &t1);
        shmtx_set_counting(1);
        *ns = (double) (t1 - t0) / (2.0 * (double) q->rounds * procs);
        return rc;
    }
    memset(&params, 0, sizeof(params));
    params.nworkers = procs;
    if (allocator_zone_create(&z, ops, ZONE_ANON, zone_size, 0, &params, NULL) != 0) {
        shmtx_set_counting(1);
        return cli_error("bench: %s: %s", a->label, diag_last());
    }
    rc = bench_churn(a, q, &z, 0, NULL, NULL, 0, &t0, &t1);
    shmtx_set_counting(1);

    *ns = (double) (t1 - t0) / (2.0 * (double) q->rounds * procs);
    if (ops->fini) {
        ops->fini(&z);
    }
    zone_destroy(&z);
    return rc;
}

/* ---- options ---- */

/* Split "A,B:nocount,..." into a[]; returns the count.  NAME:locked runs
 * without any lock, so only one process may run it. */
static size_t
bench_parse_allocs(char *list, struct bench_alloc *a, uint64_t procs)
{
    char   *name, *rest = list, *colon;
    size_t  n = 0;

    if (list[0] == '\0') {
        cli_usage_error(bench_cmd, "--alloc needs at least one allocator");
    }
    while ((name = strsep(&rest, ",")) != NULL) {
        if (name[0] == '\0') {
            cli_usage_error(bench_cmd, "--alloc has an empty name (two commas, or one at an end)");
        }
        if (n == BENCH_MAX_ALLOCS) {
            cli_usage_error(bench_cmd, "at most %d allocators", BENCH_MAX_ALLOCS);
        }
        a[n].label = strdup(name);
        a[n].counting = 1;
        a[n].locked = 0;
        colon = strchr(name, ':');
        if (colon) {
            if (strcmp(colon, ":nocount") == 0) {
                a[n].counting = 0;
            } else if (strcmp(colon, ":locked") == 0) {
                a[n].locked = 1;
            } else {
                cli_usage_error(bench_cmd, "unknown suffix '%s' in --alloc (:nocount or "
                                ":locked)", colon);
            }
            *colon = '\0';
        }
        a[n].ops = cli_allocator(bench_cmd, name);
        if (a[n].locked && (a[n].ops->alloc_locked == NULL || a[n].ops->free_locked == NULL)) {
            cli_usage_error(bench_cmd, "allocator '%s' has no _locked forms (for '%s')",
                            name, a[n].label);
        }
        if (a[n].locked && procs > 1) {
            cli_usage_error(bench_cmd, "'%s' takes no lock, so it cannot run with --procs "
                            "%llu: the workers would share the zone unsynchronised",
                            a[n].label, (unsigned long long) procs);
        }
        n++;
    }
    return n;
}

static void
bench_parse_sizes(const char *s, uint64_t *min, uint64_t *max)
{
    char        buf[64];
    const char *dash = strchr(s, '-');

    if (strlen(s) >= sizeof(buf)) {
        cli_usage_error(bench_cmd, "bad size range '%s' for --sizes (expected MIN-MAX)", s);
    }
    strcpy(buf, s);
    if (dash) {
        buf[dash - s] = '\0';
    }
    if (cli_parse_bytes(buf, min) != 0
        || cli_parse_bytes(dash ? dash + 1 : buf, max) != 0 || *min > *max
        || *max > UINT32_MAX)
    {
        cli_usage_error(bench_cmd, "bad size range '%s' for --sizes (expected MIN-MAX, "
                        "MIN <= MAX < 4g)", s);
    }
}

/* The command line into *o, defaults first; a usage error exits. */
static void
bench_parse(int argc, char **argv, struct bench_opts *o)
{
    const char        *cmd = bench_cmd;
    const char        *val;
    int                k;

    memset(o, 0, sizeof(*o));
    o->churn.min_size = 8;
    o->churn.max_size = 2048;
    o->churn.live = 1000;
    o->churn.rounds = 1000000;
    o->churn.seed = 1;
    o->repeat = 5;
    o->zone_size = 64u << 20;
    o->procs = 1;
    for (k = 1; k < argc; k++) {
        if (cli_option(cmd, argc, argv, &k, "--alloc", &val)) {
            o->alloc_list = val;
        } else if (cli_option(cmd, argc, argv, &k, "--sizes", &val)) {
            bench_parse_sizes(val, &o->churn.min_size, &o->churn.max_size);
        } else if (cli_option(cmd, argc, argv, &k, "--live", &val)) {
            o->churn.live = cli_number(cmd, "--live", val, 1, 1u << 28);
        } else if (cli_option(cmd, argc, argv, &k, "--rounds", &val)) {
            o->churn.rounds = cli_number(cmd, "--rounds", val, 1, 1u << 30);
        } else if (cli_option(cmd, argc, argv, &k, "--seed", &val)) {
            o->churn.seed = cli_number(cmd, "--seed", val, 0, UINT64_MAX);
        } else if (cli_option(cmd, argc, argv, &k, "--repeat", &val)) {
            o->repeat = cli_number(cmd, "--repeat", val, 1, 1000);
        } else if (cli_option(cmd, argc, argv, &k, "--zone-size", &val)) {
            o->zone_size = cli_bytes(cmd, "--zone-size", val, 1, SIZE_MAX / 2);
        } else if (cli_option(cmd, argc, argv, &k, "--procs", &val)) {
            o->procs = cli_number(cmd, "--procs", val, 1, BENCH_MAX_PROCS);
        } else {
            cli_unknown_option(cmd, argv[k]);
        }
    }
}

/* The allocators to run into a[]: --alloc's, else every one built in (at
 * most BENCH_MAX_ALLOCS).  Returns their count, 0 if there is none. */
static size_t
bench_select(const struct bench_opts *o, struct bench_alloc *a)
{
    const struct allocator_ops *const *all;
    char                               list[1024];
    size_t                             i, n;

    if (o->alloc_list) {
        if (strlen(o->alloc_list) >= sizeof(list)) {
            cli_usage_error(bench_cmd, "--alloc list too long");
        }
        strcpy(list, o->alloc_list);
        return bench_parse_allocs(list, a, o->procs);
    }
    all = allocator_all(&n);
    if (n > BENCH_MAX_ALLOCS) {
        n = BENCH_MAX_ALLOCS;
    }
    for (i = 0; i < n; i++) {
        a[i].label = strdup(all[i]->name);
        a[i].ops = all[i];
        a[i].counting = 1;
    }
    return n;
}

/* ---- the command ---- */

/* Draw the sequence and make room for every run's time. */
static int
bench_prepare(const struct bench_opts *o, struct bench_alloc *a, size_t n,
    struct churn_seq *q)
{
    size_t i;

    if (churn_generate(q, &o->churn) != 0) {
        return cli_error("bench: %s", diag_last());
    }
    for (i = 0; i < n; i++) {
        a[i].ns = calloc(o->repeat, sizeof(double));
        if (a[i].ns == NULL) {
            return cli_error("bench: out of memory");
        }
    }
    return 0;
}

static void
bench_print_header(const struct bench_opts *o)
{
    const struct churn_params *c = &o->churn;

    printf("# bench: sizes %llu-%llu, live %llu, rounds %llu, seed %llu, repeat %llu, "
           "zone %llu bytes anon", (unsigned long long) c->min_size,
           (unsigned long long) c->max_size, (unsigned long long) c->live,
           (unsigned long long) c->rounds, (unsigned long long) c->seed,
           (unsigned long long) o->repeat, (unsigned long long) o->zone_size);
    if (o->procs > 1) {
        printf(", procs %llu\n", (unsigned long long) o->procs);
        printf("# ns/op = wall time from the barrier to the last worker's end / "
               "(2 * rounds * procs): aggregate\n");
    } else {
        printf("\n# ns/op = rounds loop time / (2 * rounds): a round is one free and one alloc\n");
    }
    printf("# ratio NAME/FIRST = NAME's median ns/op / FIRST's median ns/op "
           "(below 1: NAME is faster)\n");
    fflush(stdout);
}

/* Every repeat of every allocator, interleaved. */
static int
bench_measure(const struct bench_opts *o, struct bench_alloc *a, size_t n,
    const struct churn_seq *q)
{
    uint64_t r;
    size_t   i;
    int      rc;

    for (r = 0; r < o->repeat; r++) {
        for (i = 0; i < n; i++) {
            rc = bench_run(&a[i], q, (size_t) o->zone_size, (unsigned) o->procs, &a[i].ns[r]);
            if (rc != 0) {
                return rc;
            }
        }
    }
    return 0;
}

static void
bench_release(struct bench_alloc *a, size_t n, struct churn_seq *q)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free(a[i].ns);
        free((char *) a[i].label);
    }
    churn_free(q);
}

/* ---- the reports, in the order the help lists them ---- */

static int
bench_cmp(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;

    return (x > y) - (x < y);
}

static double
bench_median(const double *v, size_t n, double *min, double *max)
{
    double s[n];

    memcpy(s, v, n * sizeof(*s));
    qsort(s, n, sizeof(*s), bench_cmp);
    *min = s[0];
    *max = s[n - 1];
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* Each allocator's median, min and max ns/op over the repeats. */
static void
bench_summarize(struct bench_alloc *a, size_t n, uint64_t repeat)
{
    size_t i;

    for (i = 0; i < n; i++) {
        a[i].median = bench_median(a[i].ns, (size_t) repeat, &a[i].min, &a[i].max);
    }
}

static void
bench_report_times(const struct bench_alloc *a, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        printf("%s ns/op %.2f min %.2f max %.2f\n", a[i].label, a[i].median, a[i].min,
               a[i].max);
    }
}

static void
bench_report_throughput(const struct bench_alloc *a, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        printf("throughput %s %.2f Mops/s\n", a[i].label,
               a[i].median > 0 ? 1e3 / a[i].median : 0.0);
    }
}

static void
bench_report_ratios(const struct bench_alloc *a, size_t n)
{
    size_t i;

    for (i = 1; i < n; i++) {
        printf("ratio %s/%s %.3f\n", a[i].label, a[0].label,
               a[0].median > 0 ? a[i].median / a[0].median : 0.0);
    }
}

static void
bench_report_fails(const struct bench_alloc *a, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (a[i].fails || a[i].fill_fails) {
            printf("fails %s %llu (fill %llu)\n", a[i].label,
                   (unsigned long long) a[i].fails,
                   (unsigned long long) a[i].fill_fails);
        }
    }
}

static void
bench_report_frag(const struct bench_alloc *a, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (a[i].granted_bytes > 0) {
            printf("frag %s internal %.1f%% (live %llu bytes, granted %llu)\n", a[i].label,
                   100.0 * (1.0 - (double) a[i].live_bytes / (double) a[i].granted_bytes),
                   (unsigned long long) a[i].live_bytes,
                   (unsigned long long) a[i].granted_bytes);
        }
    }
}

static void
bench_report_locks(const struct bench_alloc *a, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (a[i].have_lock) {
            printf("lock %s acquisitions %llu contended %llu\n", a[i].label,
                   (unsigned long long) a[i].lock.acquisitions,
                   (unsigned long long) a[i].lock.contended);
        }
    }
}

int
cmd_bench(int argc, char **argv)
{
    struct bench_opts  o;
    struct bench_alloc a[BENCH_MAX_ALLOCS];
    struct churn_seq   q;
    size_t             n;
    int                rc;

    bench_parse(argc, argv, &o);
    memset(a, 0, sizeof(a));
    n = bench_select(&o, a);
    if (n == 0) {
        return cli_error("bench: no allocator is built in");
    }
    memset(&q, 0, sizeof(q));
    rc = bench_prepare(&o, a, n, &q);
    if (rc == 0) {
        bench_print_header(&o);
        rc = bench_measure(&o, a, n, &q);
    }
    if (rc == 0) {
        bench_summarize(a, n, o.repeat);
        bench_report_times(a, n);
        if (o.procs > 1) {
            bench_report_throughput(a, n);
        }
        bench_report_ratios(a, n);
        bench_report_fails(a, n);
        bench_report_frag(a, n);
        bench_report_locks(a, n);
    }
    bench_release(a, n, &q);
    return rc;
}
