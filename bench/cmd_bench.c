/*
 * bench: a single-process free/alloc churn, timed, over several allocators.
 *
 * One op sequence is drawn from the seed up front (splitmix64): the sizes
 * that fill N live slots, then per round a slot and a new size.  Every
 * allocator replays the same sequence, so they differ only in themselves.
 * Runs are interleaved (repeat 1: A, B, ...; repeat 2: A, B, ...) so that a
 * drift of the machine hits all of them alike; each run gets a fresh zone and
 * only its rounds loop is timed.  `NAME:nocount` is NAME with the lock's
 * counting turned off, which measures what counting costs.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "diag.h"
#include "shmtx.h"

#define BENCH_MAX_ALLOCS 32

const char cmd_bench_help[] =
    "usage: shmbench bench [--alloc A,B,...] [--sizes MIN-MAX] [--live N]\n"
    "                      [--rounds N] [--seed S] [--repeat R] [--zone-size BYTES]\n"
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
    "\n"
    "output:\n"
    "  NAME ns/op MEDIAN min MIN max MAX\n"
    "      over the R runs; ns/op = time of the rounds loop / (2 * rounds), a\n"
    "      round being two ops, one free and one alloc\n"
    "  ratio NAME/FIRST RATIO\n"
    "      NAME's median ns/op divided by the first allocator's: a time ratio,\n"
    "      below 1 when NAME is faster\n"
    "  fails NAME N (fill F)\n"
    "      failed allocations in the rounds (and the fill) of one run, if any\n"
    "  lock NAME acquisitions N contended N\n"
    "      the zone lock's counters over the last run's rounds, for allocators\n"
    "      with lock counters, when counting was on\n";

struct bench_round {
    uint32_t slot;
    uint32_t size;
};

struct bench_seq {
    uint32_t           *fill;      /* live sizes */
    struct bench_round *round;
    uint64_t            live, rounds;
};

struct bench_alloc {
    const char                 *label;     /* as given, suffix included */
    const struct allocator_ops *ops;
    int                         counting;
    int                         locked;    /* use the _locked forms, no lock */
    double                     *ns;        /* ns/op per repeat */
    uint64_t                    fails, fill_fails;
    struct shmtx_report         lock;
    int                         have_lock;
};

static uint64_t
bench_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static uint64_t
bench_below(uint64_t *state, uint64_t n)
{
    return (uint64_t) (((unsigned __int128) bench_next(state) * n) >> 64);
}

static int
bench_generate(struct bench_seq *q, uint64_t seed, uint64_t min, uint64_t max)
{
    uint64_t i, state = seed, span = max - min + 1;

    q->fill = malloc(q->live * sizeof(*q->fill));
    q->round = malloc(q->rounds * sizeof(*q->round));
    if (q->fill == NULL || q->round == NULL) {
        return cli_error("bench: out of memory for %llu rounds",
                         (unsigned long long) q->rounds);
    }
    for (i = 0; i < q->live; i++) {
        q->fill[i] = (uint32_t) (min + bench_below(&state, span));
    }
    for (i = 0; i < q->rounds; i++) {
        q->round[i].slot = (uint32_t) bench_below(&state, q->live);
        q->round[i].size = (uint32_t) (min + bench_below(&state, span));
    }
    return 0;
}

/* One run of `a` over the sequence: *ns gets the rounds loop's ns/op. */
static int
bench_run(struct bench_alloc *a, const struct bench_seq *q, size_t zone_size,
    void **slot, double *ns)
{
    const struct allocator_ops *ops = a->ops;
    void                     *(*alloc)(struct zone *, size_t) =
                                  a->locked ? ops->alloc_locked : ops->alloc;
    int                       (*release)(struct zone *, void *) =
                                  a->locked ? ops->free_locked : ops->free;
    struct alloc_params         params;
    struct zone                 z;
    uint64_t                    i, t0, t1, fails = 0, fill_fails = 0;
    void                       *p;
    int                         rc = 0;

    memset(&params, 0, sizeof(params));
    if (allocator_zone_create(&z, ops, ZONE_ANON, zone_size, 0, &params, NULL) != 0) {
        return cli_error("bench: %s: %s", a->label, diag_last());
    }
    shmtx_set_counting(a->counting);
    for (i = 0; i < q->live; i++) {
        slot[i] = alloc(&z, q->fill[i]);
        if (slot[i] == NULL) {
            fill_fails++;
        }
    }
    if (ops->caps & ALLOC_LOCK_COUNTERS) {
        shmtx_counters_reset(z.ctl->lockstat);
    }

    t0 = clock_ns();
    for (i = 0; i < q->rounds; i++) {
        p = slot[q->round[i].slot];
        if (p != NULL && release(&z, p) != 0) {
            break;
        }
        p = alloc(&z, q->round[i].size);
        slot[q->round[i].slot] = p;
        if (p == NULL) {
            fails++;
        }
    }
    t1 = clock_ns();

    shmtx_set_counting(1);
    if (i < q->rounds) {
        rc = cli_error("bench: %s: free refused in round %llu: %s", a->label,
                       (unsigned long long) i, diag_last());
    }
    *ns = (double) (t1 - t0) / (2.0 * (double) q->rounds);
    a->fails = fails;
    a->fill_fails = fill_fails;
    a->have_lock = (ops->caps & ALLOC_LOCK_COUNTERS) && a->counting && !a->locked;
    if (a->have_lock) {
        shmtx_report(z.ctl->lockstat, &a->lock);
    }
    for (i = 0; i < q->live && rc == 0; i++) {
        if (slot[i] != NULL) {
            release(&z, slot[i]);      /* private heaps outlive the zone */
        }
    }
    memset(slot, 0, q->live * sizeof(*slot));
    if (ops->fini) {
        ops->fini(&z);
    }
    zone_destroy(&z);
    return rc;
}

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

/* Split "A,B:nocount,..." into a[]; returns the count. */
static size_t
bench_parse_allocs(const char *cmd, char *list, struct bench_alloc *a)
{
    char   *name, *save = NULL, *colon;
    size_t  n = 0;

    for (name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        if (n == BENCH_MAX_ALLOCS) {
            cli_usage_error(cmd, "at most %d allocators", BENCH_MAX_ALLOCS);
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
                cli_usage_error(cmd, "unknown suffix '%s' in --alloc (:nocount or :locked)",
                                colon);
            }
            *colon = '\0';
        }
        a[n].ops = allocator_find(name);
        if (a[n].ops == NULL) {
            exit(cli_error("%s", diag_last()));
        }
        if (a[n].locked && (a[n].ops->alloc_locked == NULL || a[n].ops->free_locked == NULL)) {
            cli_usage_error(cmd, "allocator '%s' has no _locked forms (for '%s')", name,
                            a[n].label);
        }
        n++;
    }
    if (n == 0) {
        cli_usage_error(cmd, "--alloc needs at least one allocator");
    }
    return n;
}

static void
bench_parse_sizes(const char *cmd, const char *s, uint64_t *min, uint64_t *max)
{
    char        buf[64];
    const char *dash = strchr(s, '-');

    if (strlen(s) >= sizeof(buf)) {
        cli_usage_error(cmd, "bad size range '%s' for --sizes (expected MIN-MAX)", s);
    }
    strcpy(buf, s);
    if (dash) {
        buf[dash - s] = '\0';
    }
    if (cli_parse_bytes(buf, min) != 0
        || cli_parse_bytes(dash ? dash + 1 : buf, max) != 0 || *min > *max
        || *max > UINT32_MAX)
    {
        cli_usage_error(cmd, "bad size range '%s' for --sizes (expected MIN-MAX, "
                        "MIN <= MAX < 4g)", s);
    }
}

int
cmd_bench(int argc, char **argv)
{
    static const char   cmd[] = "bench";
    struct bench_alloc  a[BENCH_MAX_ALLOCS];
    struct bench_seq    q;
    char                list[1024];
    const char         *val, *alloc_list = NULL;
    uint64_t            min = 8, max = 2048, seed = 1, repeat = 5, zone_size = 64u << 20;
    double              med[BENCH_MAX_ALLOCS], lo, hi;
    void              **slot;
    size_t              i, n;
    uint64_t            r;
    int                 k, rc = 0;

    memset(a, 0, sizeof(a));
    memset(&q, 0, sizeof(q));
    q.live = 1000;
    q.rounds = 1000000;
    for (k = 1; k < argc; k++) {
        if (cli_option(cmd, argc, argv, &k, "--alloc", &val)) {
            alloc_list = val;
        } else if (cli_option(cmd, argc, argv, &k, "--sizes", &val)) {
            bench_parse_sizes(cmd, val, &min, &max);
        } else if (cli_option(cmd, argc, argv, &k, "--live", &val)) {
            q.live = cli_number(cmd, "--live", val, 1, 1u << 28);
        } else if (cli_option(cmd, argc, argv, &k, "--rounds", &val)) {
            q.rounds = cli_number(cmd, "--rounds", val, 1, 1u << 30);
        } else if (cli_option(cmd, argc, argv, &k, "--seed", &val)) {
            seed = cli_number(cmd, "--seed", val, 0, UINT64_MAX);
        } else if (cli_option(cmd, argc, argv, &k, "--repeat", &val)) {
            repeat = cli_number(cmd, "--repeat", val, 1, 1000);
        } else if (cli_option(cmd, argc, argv, &k, "--zone-size", &val)) {
            zone_size = cli_bytes(cmd, "--zone-size", val, 1, SIZE_MAX / 2);
        } else {
            cli_unknown_option(cmd, argv[k]);
        }
    }

    if (alloc_list) {
        if (strlen(alloc_list) >= sizeof(list)) {
            cli_usage_error(cmd, "--alloc list too long");
        }
        strcpy(list, alloc_list);
        n = bench_parse_allocs(cmd, list, a);
    } else {
        const struct allocator_ops *const *all = allocator_all(&n);
        if (n > BENCH_MAX_ALLOCS) {
            n = BENCH_MAX_ALLOCS;
        }
        for (i = 0; i < n; i++) {
            a[i].label = strdup(all[i]->name);
            a[i].ops = all[i];
            a[i].counting = 1;
        }
        if (n == 0) {
            return cli_error("bench: no allocator is built in");
        }
    }

    if (bench_generate(&q, seed, min, max) != 0) {
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    slot = calloc(q.live, sizeof(*slot));
    for (i = 0; i < n; i++) {
        a[i].ns = calloc(repeat, sizeof(double));
        if (a[i].ns == NULL || slot == NULL) {
            rc = cli_error("bench: out of memory");
            goto done_slot;
        }
    }

    printf("# bench: sizes %llu-%llu, live %llu, rounds %llu, seed %llu, repeat %llu, "
           "zone %llu bytes anon\n", (unsigned long long) min,
           (unsigned long long) max, (unsigned long long) q.live,
           (unsigned long long) q.rounds, (unsigned long long) seed,
           (unsigned long long) repeat, (unsigned long long) zone_size);
    printf("# ns/op = rounds loop time / (2 * rounds): a round is one free and one alloc\n");
    printf("# ratio NAME/FIRST = NAME's median ns/op / FIRST's median ns/op "
           "(below 1: NAME is faster)\n");
    fflush(stdout);

    for (r = 0; r < repeat; r++) {
        for (i = 0; i < n; i++) {
            rc = bench_run(&a[i], &q, (size_t) zone_size, slot, &a[i].ns[r]);
            if (rc != 0) {
                goto done_slot;
            }
        }
    }

    for (i = 0; i < n; i++) {
        med[i] = bench_median(a[i].ns, (size_t) repeat, &lo, &hi);
        printf("%s ns/op %.2f min %.2f max %.2f\n", a[i].label, med[i], lo, hi);
    }
    for (i = 1; i < n; i++) {
        printf("ratio %s/%s %.3f\n", a[i].label, a[0].label,
               med[0] > 0 ? med[i] / med[0] : 0.0);
    }
    for (i = 0; i < n; i++) {
        if (a[i].fails || a[i].fill_fails) {
            printf("fails %s %llu (fill %llu)\n", a[i].label,
                   (unsigned long long) a[i].fails,
                   (unsigned long long) a[i].fill_fails);
        }
    }
    for (i = 0; i < n; i++) {
        if (a[i].have_lock) {
            printf("lock %s acquisitions %llu contended %llu\n", a[i].label,
                   (unsigned long long) a[i].lock.acquisitions,
                   (unsigned long long) a[i].lock.contended);
        }
    }

done_slot:
    free(slot);
done:
    for (i = 0; i < n; i++) {
        free(a[i].ns);
        free((char *) a[i].label);
    }
    free(q.fill);
    free(q.round);
    return rc;
}
