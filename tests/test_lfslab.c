/*
 * test_lfslab: the lock-free slab (alloc/subject/lfslab*.c; docs/lfslab.md
 * §13 says what each part checks, and why).
 *
 * One program; argv[1] picks the part (tests/lfslab.cmake registers each):
 *
 *   unit   (default) class mapping, usable size, alignment, NULL at
 *          exhaustion and recovery through scavenging; non-workers may free
 *          but not allocate; every bad free of docs/lfslab.md §10 refused
 *          with the zone byte for byte unchanged and check and stats as
 *          before; check, stats and free runs read from a second mapping of
 *          a posix zone at another address, read-only.
 *   churn  2, 4 and 8 workers on one zone, every class and page runs; most
 *          blocks are handed to the next worker through a ring in a separate
 *          shared mapping and freed there (>= 50% of frees cross-process).
 *          Blocks are stamped (worker, seq, size) and verified at free, and a
 *          shared granule bitmap (one bit per 8 bytes of the page area) is
 *          set at alloc and cleared at free: two live blocks that overlap
 *          would find a bit already set.  Drain, check, no chunk in use, and
 *          after a scavenge at most 2 * N * NC pages still used (an active
 *          and a reserve page per worker and class, docs/lfslab.md §7; it
 *          would be N * NC without reserves).  Once more in a 1 MiB zone that fills:
 *          NULLs, scavenging, reserves given back.
 *   aba    a tiny zone, class 2048 (two chunks a page) and two-page runs:
 *          pages cycle FULL -> PARTIAL -> ACTIVE -> EMPTY -> FREE across four
 *          processes for seconds; the counters prove each transition ran.
 *          The mutation target (test_lfslab_tag2: LFSLAB_TAG_BITS=2, stalls
 *          in the pop window) runs the same stress and must be caught.
 *   crash  SIGKILL at random points of a churn (a victim stopped while it
 *          holds page_lock is let go and tried later: docs/lfslab.md §11 promises no repair
 *          of half-updated runs); survivors finish, check reports at most
 *          orphans.  Then a victim killed holding page_lock: the others wait
 *          until the master force-unlocks, then finish.
 *   hooks  (test_lfslab_hooks, LFSLAB_TEST_HOOKS) the aba stress with the
 *          same stalls and a full tag must pass; a worker killed right after
 *          a pop, or right after FULL -> PARTIAL, leaves an orphan that check
 *          reports apart and does not count as an error.
 *   threads (test_lfslab_tsan, LFSLAB_THREAD_INDEX, -fsanitize=thread) the
 *          churn with threads standing in for processes.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "registry.h"
#include "substrate/allocator.h"
#include "substrate/clock.h"
#include "substrate/diag.h"
#include "subject/lfslab.h"
#include "subject/lfslab_types.h"   /* the layout, to plant corruptions */
#include "mputil.h"
#include "substrate/proc.h"
#include "substrate/shmtx.h"
#include "testutil.h"

#ifdef LFSLAB_THREAD_INDEX
#include <pthread.h>
#endif

#define MAXW  8
#define RING  256
#define KEEP  64

static const struct allocator_ops *lf;

/* A forked child's end.  exit(), not _exit(): the child has nothing of its
 * parent's to flush (stdout is line-buffered, stderr unbuffered), nothing
 * is registered with atexit, and exit() lets a coverage build record what
 * the child ran. */
static void __attribute__((noreturn))
child_exit(int code)
{
    exit(code);
}

static void
msleep(unsigned ms)
{
    struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

static void *
shared_map(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    return p;
}

static int
make_zone(struct zone *z, enum zone_method m, size_t size, size_t page, unsigned nworkers,
    const char *name)
{
    struct alloc_params p;

    memset(&p, 0, sizeof(p));
    p.page_size = page;
    p.nworkers = nworkers;
    if (allocator_zone_create(z, lf, m, size, 0, &p, name) != 0) {
        fprintf(stderr, "zone: %s\n", diag_last());
        return -1;
    }
    return 0;
}

/* Zone bytes for about `pages` pages of `page` bytes with nworkers. */
static size_t
zone_bytes(size_t pages, size_t page, unsigned nworkers)
{
    struct alloc_params p;

    memset(&p, 0, sizeof(p));
    p.page_size = page;
    p.nworkers = nworkers;
    return allocator_min_zone_size(lf, &p) + pages * (page + 64);
}

static int
quiet_check(struct zone *z)
{
    return lf->check(z, stderr);
}

/* ---------------------------------------------------------------------- */
/* unit: classes, alignment, exhaustion                                    */

static size_t
expect_usable(size_t size, size_t P)
{
    size_t c = 8;

    if (size > P / 2) {
        return (size + P - 1) / P * P;
    }
    while (c < size) {
        c <<= 1;
    }
    return c;
}

static void
test_classes(size_t P)
{
    struct zone        z;
    struct alloc_stats st;
    size_t             sizes[64], n = 0, s, i, u;
    void              *p[64];
    uintptr_t          data;

    if (make_zone(&z, ZONE_ANON, zone_bytes(64, P, 2), P, 2, NULL) != 0) {
        CHECK(0, "zone for page %zu", P);
        return;
    }
    data = (uintptr_t) z.base + lf->data_offset(&z);
    CHECK(data % P == 0, "P %zu: data start %#lx not page-aligned", P, (unsigned long) data);
    sizes[n++] = 0;
    sizes[n++] = 1;
    for (s = 8; s <= P / 2; s <<= 1) {
        sizes[n++] = s;
        if (s < P / 2) {
            sizes[n++] = s + 1;
        }
    }
    sizes[n++] = P / 2 + 1;
    sizes[n++] = P;
    sizes[n++] = 2 * P + 1;
    for (i = 0; i < n; i++) {
        p[i] = lf->alloc(&z, sizes[i]);
        CHECK(p[i] != NULL, "P %zu: alloc(%zu): %s", P, sizes[i], diag_last());
        if (p[i] == NULL) {
            continue;
        }
        u = lf->usable_size(&z, p[i]);
        CHECK(u == expect_usable(sizes[i], P), "P %zu: usable_size(alloc(%zu)) = %zu, "
              "expected %zu", P, sizes[i], u, expect_usable(sizes[i], P));
        CHECK((uintptr_t) p[i] % (u < P ? u : P) == 0, "P %zu: alloc(%zu) = %p not aligned "
              "to %zu", P, sizes[i], p[i], u < P ? u : P);
        CHECK((uintptr_t) p[i] >= data && (uintptr_t) p[i] + u <= data + (uintptr_t) 64 * P * 2,
              "P %zu: block outside the pages", P);
        memset(p[i], 0xab, sizes[i]);
    }
    lf->stats(&z, &st);
    CHECK(st.nslots == (unsigned) __builtin_ctzl(P) - 3, "P %zu: %u slots", P, st.nslots);
    CHECK(st.slot[0].used == 3 && st.slot[0].reqs == 3, "P %zu: class 8 used %llu reqs %llu",
          P, (unsigned long long) st.slot[0].used, (unsigned long long) st.slot[0].reqs);
    CHECK(st.slot[st.nslots - 1].used == 2 && st.slot[st.nslots - 1].size == P / 2,
          "P %zu: top class (P/4 + 1 and P/2) used %llu", P,
          (unsigned long long) st.slot[st.nslots - 1].used);
    CHECK(quiet_check(&z) == 0, "P %zu: check with blocks live", P);
    for (i = 0; i < n; i++) {
        if (p[i]) {
            CHECK(lf->free(&z, p[i]) == 0, "P %zu: free(alloc(%zu)): %s", P, sizes[i],
                  diag_last());
        }
    }
    lf->stats(&z, &st);
    for (i = 0; i < st.nslots; i++) {
        CHECK(st.slot[i].used == 0, "P %zu: class %llu used %llu after freeing all", P,
              (unsigned long long) st.slot[i].size, (unsigned long long) st.slot[i].used);
    }
    CHECK(quiet_check(&z) == 0, "P %zu: check after freeing all", P);
    zone_destroy(&z);
}

static int
sum_runs(void *arg, uint64_t off, uint64_t len)
{
    (void) off;
    *(uint64_t *) arg += len;
    return 0;
}

static void
test_exhaustion(void)
{
    const size_t       P = 4096;
    struct zone        z;
    struct alloc_stats st;
    void             **ptr;
    uint64_t           npages, n, m, i, j, runs = 0, rng = 7;
    void              *t, *big;
    pid_t              pid;

    if (make_zone(&z, ZONE_ANON, zone_bytes(48, P, 2), P, 2, NULL) != 0) {
        CHECK(0, "exhaustion zone");
        return;
    }
    lf->stats(&z, &st);
    npages = st.pages;
    CHECK(npages >= 40 && st.pages_free == npages && st.largest_free == npages * P,
          "fresh zone: %llu pages, %llu free, largest %llu", (unsigned long long) npages,
          (unsigned long long) st.pages_free, (unsigned long long) st.largest_free);
    CHECK(lf->each_free_run(&z, sum_runs, &runs) == 0 && runs == npages * P, "free runs");
    ptr = malloc(npages * 512 * sizeof(*ptr));

    /* Class 64 until NULL: every page becomes a class-64 page. */
    for (n = 0; (ptr[n] = lf->alloc(&z, 64)) != NULL; n++) { /* void */ }
    CHECK(n == npages * 64, "class 64 gave %llu chunks, %llu pages hold %llu",
          (unsigned long long) n, (unsigned long long) npages, (unsigned long long) npages * 64);
    CHECK(lf->alloc(&z, P) == NULL && lf->alloc(&z, 8) == NULL, "exhausted zone gave more");
    lf->stats(&z, &st);
    CHECK(st.pages_free == 0 && st.slot[3].used == n && st.slot[3].total == n
          && st.slot[3].fails == 1 && st.slot[3].reqs == n + 1 && st.slot[0].fails == 1,
          "full: free %llu used %llu total %llu fails %llu reqs %llu",
          (unsigned long long) st.pages_free, (unsigned long long) st.slot[3].used,
          (unsigned long long) st.slot[3].total, (unsigned long long) st.slot[3].fails,
          (unsigned long long) st.slot[3].reqs);
    CHECK(quiet_check(&z) == 0, "check when full");

    /* Free in random order: pages go PARTIAL, EMPTY; nothing is released yet. */
    for (i = n; i > 1; i--) {
        j = mp_rng(&rng) % i;
        t = ptr[i - 1];
        ptr[i - 1] = ptr[j];
        ptr[j] = t;
    }
    for (i = 0; i < n; i++) {
        if (lf->free(&z, ptr[i]) != 0) {
            CHECK(0, "free %llu: %s", (unsigned long long) i, diag_last());
            break;
        }
    }
    lf->stats(&z, &st);
    CHECK(st.slot[3].used == 0 && st.pages_free == 0, "after freeing all: used %llu, "
          "%llu pages free (EMPTY pages are released lazily)",
          (unsigned long long) st.slot[3].used, (unsigned long long) st.pages_free);
    CHECK(quiet_check(&z) == 0, "check after freeing all");

    /* Recovery: class 2048 scavenges the EMPTY pages.  The request that
     * found the zone full retired the class-64 active page, and the first
     * free made a page the class-64 reserve, which the worker gives back
     * when nothing else is left: all pages come back. */
    for (m = 0; (ptr[m] = lf->alloc(&z, 2048)) != NULL; m++) { /* void */ }
    CHECK(m == npages * 2, "class 2048 after class 64: %llu chunks, expected %llu",
          (unsigned long long) m, (unsigned long long) npages * 2);
    CHECK(lfslab_counter(&z, "pages_out") == npages, "scavenged %llu pages",
          (unsigned long long) lfslab_counter(&z, "pages_out"));
    CHECK(quiet_check(&z) == 0, "check when full of class 2048");
    for (i = 0; i < m; i++) {
        CHECK(lf->free(&z, ptr[i]) == 0, "free 2048 %llu", (unsigned long long) i);
    }
    /* The whole zone as one run (the class-2048 reserve given back). */
    big = lf->alloc(&z, npages * P);
    CHECK(big != NULL && lf->usable_size(&z, big) == npages * P,
          "run of all %llu pages after scavenging: %s", (unsigned long long) npages,
          diag_last());
    CHECK(lf->alloc(&z, 8) == NULL && lf->alloc(&z, P) == NULL, "more with the zone one run");
    lf->stats(&z, &st);
    CHECK(st.pages_free == 0 && st.fails == 6 && st.slot[8].total == 0,
          "stats with the run: free %llu fails %llu class 2048 total %llu",
          (unsigned long long) st.pages_free, (unsigned long long) st.fails,
          (unsigned long long) st.slot[8].total);
    CHECK(quiet_check(&z) == 0, "check with the run");
    CHECK(big && lf->free(&z, big) == 0, "free the run");
    lf->stats(&z, &st);
    CHECK(st.pages_free == npages && st.largest_free == npages * P,
          "run freed: %llu pages free, largest %llu", (unsigned long long) st.pages_free,
          (unsigned long long) st.largest_free);

    /* A process that is not a worker may free, not allocate. */
    t = lf->alloc(&z, 100);
    pid = fork();
    if (pid == 0) {
        int bad = 0;
        bad |= lf->attach(&z) != -1 || strstr(diag_last(), "not a worker") == NULL;
        bad |= (lf->alloc(&z, 8) != NULL || strstr(diag_last(), "not a worker") == NULL) << 1;
        bad |= (lf->free(&z, t) != 0) << 2;
        child_exit(bad);
    }
    CHECK(wait_child(pid) == 0, "non-worker child");
    lf->stats(&z, &st);
    CHECK(st.slot[4].used == 0 && st.slot[4].reqs == 1, "class 128 after a non-worker's "
          "free: used %llu", (unsigned long long) st.slot[4].used);
    CHECK(quiet_check(&z) == 0, "check after the non-worker");
    free(ptr);
    zone_destroy(&z);
}

/* ---------------------------------------------------------------------- */
/* unit: bad frees                                                          */

static struct zone *bf_zone;
static unsigned char *bf_snap;
static struct alloc_stats bf_stats;

static void
bf_snapshot(void)
{
    memcpy(bf_snap, bf_zone->base, bf_zone->size);
    lf->stats(bf_zone, &bf_stats);
}

/* free(p) must be refused with a message, the zone unchanged. */
static void
bad_free(void *p, const char *what, const char *says)
{
    struct alloc_stats st;
    unsigned long      n = diag_count();
    int                rc;

    bf_snapshot();
    rc = lf->free(bf_zone, p);
    CHECK(rc == -1, "%s: free returned %d", what, rc);
    CHECK(diag_count() > n && strstr(diag_last(), says) != NULL, "%s: diag \"%s\", expected "
          "\"%s\"", what, diag_last(), says);
    CHECK(memcmp(bf_snap, bf_zone->base, bf_zone->size) == 0, "%s: the zone changed", what);
    lf->stats(bf_zone, &st);
    CHECK(memcmp(&st, &bf_stats, sizeof(st)) == 0, "%s: stats changed", what);
    CHECK(lf->check(bf_zone, stderr) == 0, "%s: check", what);
    n = diag_count();
    CHECK(lf->usable_size(bf_zone, p) == 0 || strstr(what, "double") || strstr(what, "again"),
          "%s: usable_size of a bad pointer", what);
}

static void
test_bad_frees(void)
{
    const size_t   P = 4096;
    struct zone    z;
    struct { _Atomic int ready; uint64_t off[4]; } *sh;
    unsigned char *pages, *run, *x1, *x2, *b1, *b2, *b3, *b4, *b5, *y1, *y2, *r, *q[4];
    uint64_t       npages, i;
    int            local;
    pid_t          pid;

    if (make_zone(&z, ZONE_ANON, zone_bytes(32, P, 3), P, 3, NULL) != 0) {
        CHECK(0, "bad-free zone");
        return;
    }
    bf_zone = &z;
    bf_snap = malloc(z.size);
    pages = z.base + lf->data_offset(&z);
    {
        struct alloc_stats st;
        lf->stats(&z, &st);
        npages = st.pages;
    }
    sh = shared_map(sizeof(*sh));

    run = lf->alloc(&z, 3 * P);                 /* pages 0-2: a run */
    x1 = lf->alloc(&z, 16);                     /* own active page, class 16 */
    x2 = lf->alloc(&z, 16);
    b1 = lf->alloc(&z, 2048);                   /* page A, class 2048 */
    b2 = lf->alloc(&z, 2048);
    b3 = lf->alloc(&z, 2048);                   /* A retired FULL; page B */
    b4 = lf->alloc(&z, 2048);
    b5 = lf->alloc(&z, 2048);                   /* B retired FULL; page C active */
    y1 = lf->alloc(&z, 1024);                   /* own active page, class 1024 */
    y2 = lf->alloc(&z, 1024);
    r = lf->alloc(&z, P);                       /* a run to free twice */
    CHECK(run && x1 && x2 && b1 && b2 && b3 && b4 && b5 && y1 && y2 && r, "set-up allocations");

    /* A worker's active page with every chunk handed out (child, worker 1). */
    pid = fork();
    if (pid == 0) {
        proc_set_index(1);
        if (lf->attach(&z) != 0) {
            child_exit(1);
        }
        for (i = 0; i < 4; i++) {
            unsigned char *p = lf->alloc(&z, 1000);
            if (p == NULL) {
                child_exit(2);
            }
            sh->off[i] = (uint64_t) (p - z.base);
        }
        child_exit(0);
    }
    CHECK(wait_child(pid) == 0, "child allocations");
    for (i = 0; i < 4; i++) {
        q[i] = z.base + sh->off[i];
    }
    CHECK(lf->free(&z, r) == 0, "free the one-page run");
    CHECK(lf->check(&z, stderr) == 0, "check after set-up");

    bad_free(NULL, "NULL", "outside");
    bad_free(&local, "a stack address", "outside");
    bad_free(z.base, "the header", "outside");
    bad_free(pages - 8, "just before the pages", "outside");
    bad_free(pages + npages * P, "just after the pages", "outside");
    bad_free(pages + (npages - 1) * P, "a free page", "is free");
    bad_free(run + 8, "inside a run's first page", "not at its start");
    bad_free(run + P, "a run's second page", "not at its start");
    bad_free(run + 2 * P + 64, "inside a run's last page", "not at its start");
    bad_free(r, "a run freed again", "is free");
    bad_free(x1 + 1, "off a chunk boundary", "wrong chunk");
    bad_free(x1 + 8, "the middle of a 16-byte chunk", "wrong chunk");
    bad_free(b1 + 1024, "the middle of a 2048-byte chunk", "wrong chunk");

    /* Own cache head. */
    CHECK(lf->free(&z, x2) == 0, "free x2");
    bad_free(x2, "x2 again (own cache head)", "already free");
    /* Own cache full: y1, y2 back, the page's 4 chunks all cached. */
    CHECK(lf->free(&z, y1) == 0 && lf->free(&z, y2) == 0, "free y1, y2");
    bad_free(y1, "y1 again (own cache holds the whole page)", "already free");
    bad_free(y2, "y2 again (own cache head)", "already free");
    /* Reserve cache head: b3 makes B (FULL) this worker's class-2048 reserve. */
    CHECK(lf->free(&z, b3) == 0, "free b3");
    bad_free(b3, "b3 again (own reserve's cache head)", "already free");
    /* Anchor head: A is FULL, nobody's; with the reserve taken, b1 makes it
     * PARTIAL and pushes it. */
    CHECK(lf->free(&z, b1) == 0, "free b1");
    bad_free(b1, "b1 again (anchor head)", "already free");
    CHECK(lf->free(&z, b2) == 0, "free b2");
    bad_free(b1, "b1 again (page EMPTY)", "already free");
    bad_free(b2, "b2 again (page EMPTY, anchor head)", "already free");
    /* Worker 1's active page: every chunk comes back through its anchor. */
    CHECK(lf->free(&z, q[0]) == 0, "free q0");
    bad_free(q[0], "q0 again (another worker's page, anchor head)", "already free");
    for (i = 1; i < 4; i++) {
        CHECK(lf->free(&z, q[i]) == 0, "free q%llu", (unsigned long long) i);
    }
    bad_free(q[1], "q1 again (another worker's ACTIVE page with count = maxcount)",
             "already free");

    CHECK(lf->free(&z, x1) == 0 && lf->free(&z, b4) == 0 && lf->free(&z, b5) == 0
          && lf->free(&z, run) == 0, "free the rest");
    CHECK(lf->check(&z, stderr) == 0, "check at the end");
    munmap(sh, sizeof(*sh));
    free(bf_snap);
    zone_destroy(&z);
}

/* ---------------------------------------------------------------------- */
/* unit: set-up refusals                                                    */

/* A zone struct over `size` bytes of `buf` at offset `skew`, no control
 * block: what init sees, without allocator_zone_create's own checks. */
static struct zone
raw_zone(unsigned char *buf, size_t skew, size_t size)
{
    struct zone z;

    memset(&z, 0, sizeof(z));
    z.base = buf + skew;
    z.size = size;
    return z;
}

static void
expect_init_refused(struct zone *z, const struct alloc_params *p, const char *what,
    const char *says)
{
    unsigned long n = diag_count();

    CHECK(lf->init(z, p) == -1, "%s: init accepted it", what);
    CHECK(diag_count() > n && strstr(diag_last(), says) != NULL,
          "%s: diag \"%s\", expected \"%s\"", what, diag_last(), says);
}

static void
test_setup_errors(void)
{
    const size_t        P = 4096;
    struct alloc_params p;
    struct alloc_stats  st;
    struct zone         z;
    size_t              min, min16;
    unsigned char      *buf;
    char                says[160];

    memset(&p, 0, sizeof(p));
    p.page_size = P;
    p.nworkers = 2;
    min = allocator_min_zone_size(lf, &p);
    buf = aligned_alloc(P, 4 * min);
    memset(buf, 0, 4 * min);

    /* The smallest zone has one page; one byte less has none. */
    z = raw_zone(buf, 0, min - 1);
    snprintf(says, sizeof(says), "lfslab_init(): zone of %zu bytes is too small: lfslab with "
             "4096-byte pages and 2 workers needs at least %zu bytes", min - 1, min);
    expect_init_refused(&z, &p, "one byte below the minimum", says);
    z = raw_zone(buf, 0, min);
    CHECK(lf->init(&z, &p) == 0, "init of the minimum zone: %s", diag_last());
    lf->stats(&z, &st);
    CHECK(st.pages == 1 && st.pages_free == 1 && st.zone_bytes == min,
          "minimum zone: %llu pages, %llu free", (unsigned long long) st.pages,
          (unsigned long long) st.pages_free);
    CHECK(lf->check(&z, stderr) == 0, "check of the minimum zone");

    /* Page sizes: only powers of two from 4 KiB to 64 KiB. */
    p.page_size = 3000;
    CHECK(allocator_min_zone_size(lf, &p) == 0, "a minimum for 3000-byte pages");
    memset(buf, 0, 4 * min);
    z = raw_zone(buf, 0, 4 * min);
    expect_init_refused(&z, &p, "page 3000", "lfslab_init(): page size 3000 is not a power "
                        "of two between 4096 and 65536");
    p.page_size = 2048;
    expect_init_refused(&z, &p, "page 2048", "page size 2048 is not a power of two");
    p.page_size = 131072;
    expect_init_refused(&z, &p, "page 128 KiB", "page size 131072 is not a power of two");

    /* The base must be aligned to the page. */
    p.page_size = P;
    z = raw_zone(buf, 64, 3 * min);
    expect_init_refused(&z, &p, "a base off the page", "lfslab_init(): zone base is not "
                        "aligned to the 4096-byte page");
    CHECK(lf->zone_align(&p) == P, "zone_align %zu", lf->zone_align(&p));

    /* More workers than process slots: capped (a heap record each). */
    p.nworkers = 1000;
    CHECK(allocator_min_zone_size(lf, &p) > min, "nworkers 1000 not larger than 2");
    min16 = allocator_min_zone_size(lf, &p);
    p.nworkers = PROC_MAX - 1;
    CHECK(allocator_min_zone_size(lf, &p) == min16, "nworkers 1000 is not capped at %d",
          PROC_MAX - 1);
    free(buf);
}

/* ---------------------------------------------------------------------- */
/* unit: stats and counters                                                 */

static void
test_stats(void)
{
    const size_t              P = 4096;
    struct zone               z;
    struct alloc_stats        st;
    const struct lfslab_hdr  *h;
    void                     *a, *b, *c, *run, *big;
    uint64_t                  npages, used, largest = 0;

    if (make_zone(&z, ZONE_ANON, zone_bytes(20, P, 2), P, 2, NULL) != 0) {
        CHECK(0, "stats zone");
        return;
    }
    h = lf_hdr(&z);
    lf->stats(&z, &st);
    npages = st.pages;
    CHECK(st.zone_bytes == z.size && st.page_size == P && st.data_bytes == npages * P
          && st.free_bytes == npages * P && st.footprint == 0
          && st.header_bytes == h->pages_off && st.fails == 0
          && st.nslots == 9, "fresh: zone %llu page %llu data %llu free %llu footprint %llu "
          "fails %llu slots %u", (unsigned long long) st.zone_bytes,
          (unsigned long long) st.page_size, (unsigned long long) st.data_bytes,
          (unsigned long long) st.free_bytes, (unsigned long long) st.footprint,
          (unsigned long long) st.fails, st.nslots);

    /* One page of 16-byte chunks, one of 2048, a run of three pages. */
    a = lf->alloc(&z, 16);
    b = lf->alloc(&z, 12);
    c = lf->alloc(&z, 2000);
    run = lf->alloc(&z, 2 * P + 1);
    CHECK(a && b && c && run, "allocations");
    lf->stats(&z, &st);
    used = 1 + 1 + 3;
    CHECK(st.pages_free == npages - used && st.free_bytes == (npages - used) * P
          && st.largest_free == (npages - used) * P
          && st.footprint == used * P,
          "after: %llu free pages, largest %llu, footprint %llu",
          (unsigned long long) st.pages_free, (unsigned long long) st.largest_free,
          (unsigned long long) st.footprint);
    CHECK(st.slot[1].size == 16 && st.slot[1].total == P / 16 && st.slot[1].used == 2
          && st.slot[1].reqs == 2 && st.slot[8].size == 2048 && st.slot[8].total == 2
          && st.slot[8].used == 1 && st.slot[0].total == 0,
          "slots: 16 total %llu used %llu reqs %llu, 2048 total %llu used %llu",
          (unsigned long long) st.slot[1].total, (unsigned long long) st.slot[1].used,
          (unsigned long long) st.slot[1].reqs, (unsigned long long) st.slot[8].total,
          (unsigned long long) st.slot[8].used);
    CHECK(lfslab_counter(&z, "allocs") == 3 && lfslab_counter(&z, "pages_in") == 2
          && lfslab_counter(&z, "large_allocs") == 1 && lfslab_counter(&z, "lock_acq") == 3,
          "counters: allocs %llu pages_in %llu large %llu lock_acq %llu",
          (unsigned long long) lfslab_counter(&z, "allocs"),
          (unsigned long long) lfslab_counter(&z, "pages_in"),
          (unsigned long long) lfslab_counter(&z, "large_allocs"),
          (unsigned long long) lfslab_counter(&z, "lock_acq"));
    CHECK(lfslab_counter(&z, "no such counter") == UINT64_MAX, "an unknown counter");

    /* Large requests: more than the zone, more than is free. */
    CHECK(lf->alloc(&z, (npages + 1) * P) == NULL
          && strstr(diag_last(), "exceed the zone's") != NULL,
          "a request beyond the zone: %s", diag_last());
    CHECK(lf->alloc(&z, (npages - used + 1) * P) == NULL
          && strstr(diag_last(), "no run of") != NULL,
          "a request beyond the free pages: %s", diag_last());
    lf->stats(&z, &st);
    CHECK(st.fails == 2 && lfslab_counter(&z, "large_fails") == 2, "fails %llu",
          (unsigned long long) st.fails);
    big = lf->alloc(&z, (npages - used) * P);
    CHECK(big != NULL, "the rest as one run: %s", diag_last());
    lf->stats(&z, &st);
    CHECK(st.pages_free == 0 && st.largest_free == 0 && lf->each_free_run(&z, sum_runs,
          &largest) == 0 && largest == 0, "full: %llu free, largest %llu",
          (unsigned long long) st.pages_free, (unsigned long long) st.largest_free);
    CHECK(lf->free(&z, big) == 0 && lf->free(&z, run) == 0, "free the runs");
    CHECK(lfslab_counter(&z, "large_frees") == 2, "large_frees %llu",
          (unsigned long long) lfslab_counter(&z, "large_frees"));
    CHECK(lf->check(&z, stderr) == 0, "check after the runs");

    /* A zone that is not an lfslab zone: stats say only its size. */
    {
        struct zone        bad = z;
        unsigned char     *copy = malloc(z.size);

        memcpy(copy, z.base, z.size);
        bad.base = copy;
        ((struct lfslab_hdr *) copy)->magic ^= 1;
        lf->stats(&bad, &st);
        CHECK(st.zone_bytes == z.size && st.pages == 0 && st.nslots == 0,
              "stats of a bad header: %llu pages", (unsigned long long) st.pages);
        CHECK(lf->each_free_run(&bad, NULL, NULL) == -1, "free runs of a bad header");
        CHECK(lfslab_counter(&bad, "allocs") == UINT64_MAX, "a counter of a bad header");
        free(copy);
    }
    lf->free(&z, a);
    lf->free(&z, b);
    lf->free(&z, c);
    zone_destroy(&z);
}

/* ---------------------------------------------------------------------- */
/* unit: check finds what was planted                                       */

static uint32_t
page_of(const struct zone *z, const void *p)
{
    const struct lfslab_hdr *h = lf_hdr(z);

    return (uint32_t) (((const unsigned char *) p - (z->base + h->pages_off)) >> h->page_shift);
}

static struct zone   *ck_zone;
static unsigned char *ck_good, *ck_bad;

/* The zone as planted must fail check with `says` (and check must not
 * write it), or, with says NULL, pass with an orphan in its report; then
 * it is restored. */
static void
expect_found(const char *what, const char *says)
{
    char   buf[4096];
    FILE  *f;
    int    rc;

    memcpy(ck_bad, ck_zone->base, ck_zone->size);
    memset(buf, 0, sizeof(buf));
    f = fmemopen(buf, sizeof(buf) - 1, "w");
    rc = lf->check(ck_zone, f);
    fclose(f);
    if (says) {
        CHECK(rc == -1 && strstr(diag_last(), says) != NULL && strstr(buf, says) != NULL,
              "%s: check %d, \"%s\", expected \"%s\"", what, rc, diag_last(), says);
    } else {
        CHECK(rc == 0 && strstr(buf, "): orphan: ") != NULL, "%s: check %d, report \"%s\"",
              what, rc, buf);
    }
    CHECK(memcmp(ck_bad, ck_zone->base, ck_zone->size) == 0, "%s: check wrote the zone", what);
    memcpy(ck_zone->base, ck_good, ck_zone->size);
}

static void
test_check_finds(void)
{
    const size_t        P = 4096;
    struct zone         z, small;
    struct lfslab_hdr  *h;
    struct lfslab_heap *w0, *nw;
    struct lfslab_desc *d;
    struct slab_page   *r;
    unsigned char      *run, *gap, *after, *x1, *b1, *b2, *b3, *y[5];
    uint32_t            pr, pg, pa, pb, pd, pe, px, free_head;
    uint64_t            a;
    unsigned            i;
    pid_t               pid;

    if (make_zone(&z, ZONE_ANON, zone_bytes(24, P, 2), P, 2, NULL) != 0) {
        CHECK(0, "check zone");
        return;
    }
    h = lf_hdr(&z);
    w0 = lf_heap(h, 0);
    nw = lf_heap(h, h->nworkers);
    run = lf->alloc(&z, 2 * P);                 /* pages 0-1: a run */
    gap = lf->alloc(&z, P);                     /* page 2, freed below */
    after = lf->alloc(&z, P);                   /* page 3: keeps the gap a run apart */
    x1 = lf->alloc(&z, 16);                     /* page 4: class 16, ACTIVE */
    b1 = lf->alloc(&z, 2048);                   /* page 5 (A) */
    b2 = lf->alloc(&z, 2048);
    b3 = lf->alloc(&z, 2048);                   /* A retired FULL; page 6 (B) ACTIVE */
    for (i = 0; i < 5; i++) {
        y[i] = lf->alloc(&z, 1024);             /* page 7 (D) FULL; page 8 (E) ACTIVE */
    }
    CHECK(run && gap && after && x1 && b1 && b2 && b3 && y[4], "set-up allocations");
    CHECK(lf->free(&z, gap) == 0, "free the gap");
    pid = fork();
    if (pid == 0) {
        child_exit(lf->free(&z, b1) != 0);      /* a non-worker: A PARTIAL, pushed */
    }
    CHECK(wait_child(pid) == 0, "non-worker frees b1");
    pr = page_of(&z, run);
    pg = page_of(&z, gap);
    pa = page_of(&z, b1);
    pb = page_of(&z, b3);
    pd = page_of(&z, y[0]);
    pe = page_of(&z, y[4]);
    px = page_of(&z, x1);
    CHECK(pr == 0 && pg == 2 && px == 4 && pa == 5 && pb == 6 && pd == 7 && pe == 8,
          "pages %u %u %u %u %u %u %u", pr, pg, px, pa, pb, pd, pe);
    CHECK(A_STATE(atomic_load(&lf_desc(h, pa)->anchor)) == ST_PARTIAL
          && A_STATE(atomic_load(&lf_desc(h, pd)->anchor)) == ST_FULL
          && P_TOP(atomic_load(lf_stack(h, h->nworkers, 8))) == pa + 1,
          "A PARTIAL on the non-workers' stack, D FULL");
    CHECK(lf->check(&z, stderr) == 0, "check of the planted zone before planting");

    ck_zone = &z;
    ck_good = malloc(z.size);
    ck_bad = malloc(z.size);
    memcpy(ck_good, z.base, z.size);

    /* The header. */
    small = z;
    small.size = 100;
    ck_zone = &small;
    expect_found("a zone smaller than the header", "cannot hold the header");
    small.size = z.size - P;
    expect_found("a zone of another size", "zone size");
    ck_zone = &z;
    h->magic ^= 1;
    expect_found("magic", "magic");
    h->version++;
    expect_found("version", "version 3, expected");
    h->page_shift = 11;
    expect_found("page shift", "page shift 11 with");
    h->nworkers = 0;
    expect_found("no workers", "0 workers, expected 1");
    h->desc_off += 64;
    expect_found("descriptors moved", "layout heaps");
    h->runs_off += 24;
    expect_found("run descriptors moved", "layout heaps");
    h->page_lock.lock_rel += 8;
    expect_found("page_lock's word", "lock word at relative offset");
    h->free_pages = h->npages + 1;
    expect_found("free pages", "free pages of");

    /* Kinds and run descriptors. */
    atomic_store(&lf_desc(h, px)->kind, 7);
    expect_found("a kind", "kind 7");
    lf_desc(h, px)->shift = 5;
    expect_found("a small page's shift", "disagree");
    lf_desc(h, px)->maxcount = 3;
    expect_found("a small page's count", "disagree");
    lf_run(h, px)->slab = 1;
    expect_found("a small page's run", "is not a one-page run");
    lf_run(h, pr)->slab &= ~(uint64_t) 0xff;    /* the start bit, no length */
    expect_found("a run of 0 pages", "run of 0 pages is malformed");
    lf_run(h, pr)->next = 48;
    expect_found("an allocated run linked", "is malformed");
    atomic_store(&lf_desc(h, pr + 1)->kind, K_SMALL);
    expect_found("a run's tail", "is not one of its tail pages");
    lf_run(h, pr + 1)->slab = 0;
    expect_found("a run's tail descriptor", "is not one of its tail pages");
    atomic_store(&lf_desc(h, pr)->kind, K_LARGE_TAIL);
    expect_found("a tail with no head", "tail of a page run with no head");

    /* The free runs: the gap (page 2), and the rest from page 9 on. */
    free_head = (uint32_t) ((h->free_runs.next - h->runs_off) / sizeof(struct slab_page));
    CHECK(free_head == pg, "the gap heads the free-run list (%u)", free_head);
    h->free_runs.next = h->runs_off + 1;
    expect_found("a link into a descriptor", "not a run descriptor");
    h->free_runs.next = 8;
    expect_found("a link into the header", "not a run descriptor");
    lf_run(h, pg)->next = h->runs_off + pg * sizeof(struct slab_page);
    expect_found("a run linked to itself", "in two runs");
    lf_run(h, pg)->prev = 0;
    expect_found("a run's prev link", "prev link 0, expected");
    lf_run(h, pg)->slab = 0;
    expect_found("a run of no pages", "has 0 pages");
    lf_run(h, pg)->slab = 2;
    expect_found("a run over a used page", "page 3 is not free");
    r = lf_run(h, h->npages - 1);
    r->prev = 0;
    expect_found("a tail marker", "has run descriptor");
    lf_run(h, h->npages - 2)->slab = 5;
    expect_found("a page inside a run", "has run descriptor");
    h->free_pages--;
    expect_found("the free count", "free_pages says");
    atomic_store(&lf_desc(h, pg + 1)->kind, K_FREE);
    lf_run(h, pg + 1)->slab = 0;
    expect_found("two free runs side by side", "is not coalesced");
    atomic_store(&lf_desc(h, pa)->kind, K_FREE);
    expect_found("a free page in no run", "page 5 is free but in no free run");

    /* Partial stacks. */
    atomic_store(lf_stack(h, 0, h->nclasses), P_PACK(pa + 1, 0));
    expect_found("a stack of an unused class", "of an unused class is not empty");
    atomic_store(lf_stack(h, 0, 8), P_PACK(h->npages + 5, 0));
    expect_found("a stack's link", "link to page");
    atomic_store(lf_stack(h, 0, 8), P_PACK(pr + 1, 0));
    expect_found("a run on a stack", "is not a page of the class");
    atomic_store(lf_stack(h, 0, 7), P_PACK(pa + 1, 0));
    expect_found("a page on another class's stack", "is not a page of the class");
    atomic_store(&lf_desc(h, pa)->next_partial, pa + 1);
    expect_found("a stack in a loop", "listed twice");

    /* Slots and reserves. */
    atomic_store(&w0->cls[0].slot, S_PACK(0, 0, 3));
    expect_found("a cache with no page", "cache of 3 chunks with no page");
    atomic_store(&nw->cls[1].slot, S_PACK(px + 1, 0, 0));
    expect_found("the non-workers naming a page", "non-workers' record");
    atomic_store(&w0->cls[h->nclasses].reserve, S_PACK(px + 1, 0, 0));
    expect_found("an unused class naming a page", "worker's unused");
    atomic_store(&w0->cls[1].reserve, S_PACK(pr + 1, 0, 0));
    expect_found("a reserve naming a run", "not a page of the class");
    atomic_store(&lf_heap(h, 1)->cls[1].slot, atomic_load(&w0->cls[1].slot));
    expect_found("a page in two slots", "is named by worker 0's slot and worker 1's slot");

    /* A small page's chains, state and owner. */
    d = lf_desc(h, px);
    a = atomic_load(&d->anchor);
    atomic_store(&d->anchor, A_PACK(A_AVAIL(a), A_COUNT(a) + 1, A_STATE(a), A_TAG(a)));
    expect_found("an anchor's count", "count says");
    atomic_store(&w0->cls[1].slot, S_PACK(px + 1, 300, 5));
    expect_found("a cache link out of the page", "links to chunk 300 of 256");
    *(uint32_t *) (x1 + 16) = 1;
    expect_found("a cache chain in a loop", "is twice in the cache");
    atomic_store(&w0->cls[1].slot, S_PACK(px + 1, 2, 257));
    expect_found("a cache longer than the page", "caches 257 of its 256 chunks");
    d = lf_desc(h, pd);
    a = atomic_load(&d->anchor);
    *(uint32_t *) y[1] = A_NIL;
    atomic_store(&d->anchor, A_PACK(1, 1, ST_FULL, A_TAG(a)));
    expect_found("a FULL page with a chain", "FULL with 1 chunks");
    *(uint32_t *) y[1] = A_NIL;
    atomic_store(&d->anchor, A_PACK(1, 1, ST_EMPTY, A_TAG(a)));
    expect_found("an EMPTY page with one chunk free", "EMPTY with 1 of 4 chunks free");
    lf_desc(h, pd)->owner = 0;
    expect_found("an owner of a FULL page", "FULL but owner is 0");
    atomic_store(&lf_desc(h, pd)->next_partial, 3);
    expect_found("next_partial of an unlisted page", "on no stack but next_partial is 3");
    lf_desc(h, pb)->owner = 1;
    expect_found("an ACTIVE page's owner", "in worker 0's slot but ACTIVE with owner 1");
    atomic_store(lf_stack(h, 0, 8), P_PACK(pb + 1, 0));
    atomic_store(&lf_desc(h, pb)->next_partial, 0);
    expect_found("an ACTIVE page on a stack", "ACTIVE and on the class 8 stack");
    atomic_store(lf_stack(h, h->nworkers, 8), 0);
    atomic_store(&lf_desc(h, pa)->next_partial, NOT_LISTED);
    expect_found("a PARTIAL page on no stack (its pusher died)", NULL);
    atomic_store(&w0->cls[1].slot, 0);
    expect_found("an ACTIVE page in no slot (its claimer died)", NULL);

    /* Counters. */
    w0->corrupt = 1;
    expect_found("an impossible state met", "impossible states were met");
    w0->cls[1].pages_in++;
    expect_found("pages formatted", "counters say 2 pages, the zone has 1");
    w0->cls[1].allocs++;
    expect_found("allocations", "live chunks, the pages hold");

    CHECK(lf->check(&z, stderr) == 0, "check after restoring");
    free(ck_good);
    free(ck_bad);
    zone_destroy(&z);
}

/* ---------------------------------------------------------------------- */
/* unit: impossible states met at run time                                  */

/* A corrupt partial stack is counted and named, the page it gives is left
 * alone, the allocation is served from a fresh page, and check fails. */
static void
test_runtime_corruption(void)
{
    const size_t        P = 4096;
    struct zone         z;
    struct lfslab_hdr  *h;
    void               *p[3], *q;
    uint32_t            full;
    unsigned            i;

    for (i = 0; i < 3; i++) {
        if (make_zone(&z, ZONE_ANON, zone_bytes(16, P, 2), P, 2, NULL) != 0) {
            CHECK(0, "corruption zone");
            return;
        }
        h = lf_hdr(&z);
        p[0] = lf->alloc(&z, 2048);
        p[1] = lf->alloc(&z, 2048);             /* page 0 drained */
        full = page_of(&z, p[0]);
        switch (i) {
        case 0:     /* a top beyond the pages */
            atomic_store(lf_stack(h, 0, 8), P_PACK(h->npages + 7, 0));
            break;
        case 1:     /* a FULL page on the stack: page 0, once retired */
            p[2] = lf->alloc(&z, 2048);         /* retires page 0, page 1 active */
            atomic_store(&lf_desc(h, full)->next_partial, 0);
            atomic_store(lf_stack(h, 0, 8), P_PACK(full + 1, 0));
            lf->alloc(&z, 2048);                /* page 1 drained */
            break;
        case 2:     /* a page of another class on the stack */
            q = lf->alloc(&z, 64);
            atomic_store(&lf_desc(h, page_of(&z, q))->next_partial, 0);
            atomic_store(lf_stack(h, 0, 8), P_PACK(page_of(&z, q) + 1, 0));
            break;
        }
        q = lf->alloc(&z, 2048);                /* needs a page: pops the bad one */
        CHECK(q != NULL && page_of(&z, q) != full, "corruption %u: alloc %p", i, q);
        CHECK(lfslab_counter(&z, "corrupt") == 1, "corruption %u: %llu counted", i,
              (unsigned long long) lfslab_counter(&z, "corrupt"));
        CHECK(lf->check(&z, NULL) == -1, "corruption %u: check passed", i);
        zone_destroy(&z);
    }
}

/* ---------------------------------------------------------------------- */
/* unit: check and stats from a second mapping                              */

struct seen_runs {
    uint64_t off[64], len[64];
    unsigned n;
};

static int
record_run(void *arg, uint64_t off, uint64_t len)
{
    struct seen_runs *s = arg;

    if (s->n < 64) {
        s->off[s->n] = off;
        s->len[s->n++] = len;
    }
    return 0;
}

static void
test_attach(void)
{
    const size_t P = 4096;
    struct zone  z, a;
    struct {
        struct alloc_stats st;
        struct seen_runs   runs;
    } *sh;
    char          name[64];
    void         *p[300], *hole;
    unsigned      i;
    pid_t         pid;

    snprintf(name, sizeof(name), "/shmbench-test-lfslab-%d", (int) getpid());
    if (make_zone(&z, ZONE_POSIX, zone_bytes(64, P, 2), P, 2, name) != 0) {
        CHECK(0, "posix zone");
        return;
    }
    sh = shared_map(sizeof(*sh));
    /* Some of everything: active pages, FULL, PARTIAL and EMPTY pages, runs. */
    for (i = 0; i < 300; i++) {
        p[i] = lf->alloc(&z, (size_t) (8 << (i % 9)) - (i % 3));
    }
    hole = lf->alloc(&z, 5 * P);
    lf->alloc(&z, 2 * P);
    lf->free(&z, hole);
    for (i = 0; i < 300; i += 2) {
        lf->free(&z, p[i]);
    }
    CHECK(lf->check(&z, stderr) == 0, "check before attaching");
    lf->stats(&z, &sh->st);
    memset(&sh->runs, 0, sizeof(sh->runs));
    lf->each_free_run(&z, record_run, &sh->runs);

    pid = fork();
    if (pid == 0) {
        struct alloc_stats st;
        struct seen_runs   runs;
        unsigned char     *old = z.base;
        size_t             data_off = lf->data_offset(&z);
        int                bad = 0;

        /* Take the old address away so the new mapping lands elsewhere. */
        munmap(z.map, z.map_size);
        if (mmap(z.map, z.map_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)
            == MAP_FAILED)
        {
            child_exit(20);
        }
        memset(&a, 0, sizeof(a));
        if (zone_attach(&a, name, 1) != 0) {
            fprintf(stderr, "attach: %s\n", diag_last());
            child_exit(21);
        }
        a.ops = lf;
        bad |= a.base == old;
        bad |= (strcmp(a.ctl->allocator, "lfslab") != 0) << 1;
        bad |= (lf->check(&a, stderr) != 0) << 2;
        lf->stats(&a, &st);
        bad |= (memcmp(&st, &sh->st, sizeof(st)) != 0) << 3;
        memset(&runs, 0, sizeof(runs));
        bad |= (lf->each_free_run(&a, record_run, &runs) != 0
                || memcmp(&runs, &sh->runs, sizeof(runs)) != 0) << 4;
        bad |= (lf->data_offset(&a) != data_off) << 5;
        zone_destroy(&a);
        child_exit(bad);
    }
    i = (unsigned) wait_child(pid);
    CHECK(i == 0, "check/stats from a mapping elsewhere: status %u (1 same address, 2 "
          "allocator name, 4 check, 8 stats, 16 free runs, 32 data offset)", i);
    munmap(sh, sizeof(*sh));
    zone_destroy(&z);
}

/* ---------------------------------------------------------------------- */
/* Multi-process churn                                                      */

struct item {
    uint64_t off, size, tag;
};

struct ring {
    _Atomic uint64_t head;
    char             pad1[56];
    _Atomic uint64_t tail;
    char             pad2[56];
    struct item      item[RING];
};

struct shared {
    struct ring      ring[MAXW + 1];  /* ring[w]: blocks for worker w (1 .. N) */
    _Atomic int      done[MAXW + 1];  /* worker w produces no more */
    _Atomic int      dead[MAXW + 1];
    _Atomic int      stop;            /* crash test: finish now */
    _Atomic int      started;
    _Atomic int      hold;            /* a victim holds page_lock / sits in a hook */
    uint64_t         allocs[MAXW + 1], frees[MAXW + 1], cross[MAXW + 1], nulls[MAXW + 1];
    char             why[MAXW + 1][200];
};

struct churn {
    struct zone      *z;
    struct shared    *sh;
    _Atomic uint64_t *gran;           /* one bit per 8 bytes of the page area */
    unsigned char    *pages;
    size_t            P;
    int               nw;             /* workers 1 .. nw */
    unsigned          ring_cap;       /* items in flight per ring */
    unsigned          keep_pct, keep_max;
    int               sizes;          /* SIZES_* */
    uint64_t          ops;            /* 0: until sh->stop */
    int               threads;        /* workers are threads (thread mode) */
};

enum { SIZES_ALL, SIZES_2048 };

static size_t
churn_size(const struct churn *c, uint64_t *rng)
{
    uint64_t r = mp_rng(rng) % 100;

    if (c->sizes == SIZES_2048) {
        if (r < 3) {
            return c->P + 1 + mp_rng(rng) % (c->P - 1);   /* two pages */
        }
        return 1025 + mp_rng(rng) % 1024;
    }
    if (r < 60) {
        return mp_rng(rng) % 257;
    }
    if (r < 95) {
        return mp_rng(rng) % (c->P / 2 + 1);
    }
    return c->P / 2 + 1 + mp_rng(rng) % (2 * c->P);
}

static int
next_worker(const struct churn *c, int w)
{
    return w % c->nw + 1;
}

static int
prev_worker(const struct churn *c, int w)
{
    return (w + c->nw - 2) % c->nw + 1;
}

static int
ring_put(const struct churn *c, struct ring *r, const struct item *it)
{
    uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);

    if (t - atomic_load_explicit(&r->head, memory_order_acquire) >= c->ring_cap) {
        return -1;
    }
    r->item[t % RING] = *it;
    atomic_store_explicit(&r->tail, t + 1, memory_order_release);
    return 0;
}

static int
ring_get(struct ring *r, struct item *it)
{
    uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);

    if (h == atomic_load_explicit(&r->tail, memory_order_acquire)) {
        return -1;
    }
    *it = r->item[h % RING];
    atomic_store_explicit(&r->head, h + 1, memory_order_release);
    return 0;
}

struct stamp {
    uint64_t worker, seq, size;
};

static void
stamp(unsigned char *p, const struct item *it)
{
    struct stamp s = { it->tag >> 40, it->tag & ((1ULL << 40) - 1), it->size };
    uint64_t     i = 0;

    if (it->size >= sizeof(s)) {
        memcpy(p, &s, sizeof(s));
        i = sizeof(s);
    }
    for (; i < it->size; i++) {
        p[i] = mp_pattern(it->tag, i);
    }
}

static int
stamp_intact(const unsigned char *p, const struct item *it)
{
    struct stamp s = { it->tag >> 40, it->tag & ((1ULL << 40) - 1), it->size };
    uint64_t     i = 0;

    if (it->size >= sizeof(s)) {
        if (memcmp(p, &s, sizeof(s)) != 0) {
            return 0;
        }
        i = sizeof(s);
    }
    for (; i < it->size; i++) {
        if (p[i] != mp_pattern(it->tag, i)) {
            return 0;
        }
    }
    return 1;
}

/* Set (claim) or clear (release) the granules of [off, off + len): -1 if a
 * claimed granule was already set or a released one was clear. */
static int
granules(_Atomic uint64_t *g, uint64_t off, uint64_t len, int claim)
{
    uint64_t a = off >> 3, b = (off + len + 7) >> 3, w, lo, hi, mask, old;
    int      rc = 0;

    for (w = a >> 6; w <= (b - 1) >> 6; w++) {
        lo = w == a >> 6 ? a & 63 : 0;
        hi = w == (b - 1) >> 6 ? ((b - 1) & 63) + 1 : 64;
        mask = (hi == 64 ? ~0ULL : (1ULL << hi) - 1) & ~((1ULL << lo) - 1);
        if (claim) {
            old = atomic_fetch_or_explicit(&g[w], mask, memory_order_relaxed);
            rc |= (old & mask) ? -1 : 0;
        } else {
            old = atomic_fetch_and_explicit(&g[w], ~mask, memory_order_relaxed);
            rc |= (old & mask) != mask ? -1 : 0;
        }
    }
    return rc;
}

static int
worker_fail(struct churn *c, int w, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
worker_fail(struct churn *c, int w, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->sh->why[w], sizeof(c->sh->why[w]), fmt, ap);
    va_end(ap);
    return code;
}

/* Verify and free one block; 0 or an exit code. */
static int
free_block(struct churn *c, int w, const struct item *it)
{
    unsigned char *p = c->pages + it->off;
    uint64_t       u = c->z->ops->usable_size(c->z, p);

    if (!stamp_intact(p, it)) {
        return worker_fail(c, w, 1, "block at %llu (worker %llu seq %llu size %llu) was "
                           "overwritten", (unsigned long long) it->off,
                           (unsigned long long) (it->tag >> 40),
                           (unsigned long long) (it->tag & 0xffffffffffULL),
                           (unsigned long long) it->size);
    }
    /* Release the granules before the free: a kill in between leaks, never
     * leaves stale bits on a chunk that someone else may get. */
    if (granules(c->gran, it->off, u, 0) != 0) {
        return worker_fail(c, w, 2, "granules of block %llu (%llu bytes) were not all set",
                           (unsigned long long) it->off, (unsigned long long) u);
    }
    if (c->z->ops->free(c->z, p) != 0) {
        return worker_fail(c, w, 3, "free of block %llu refused: %s",
                           (unsigned long long) it->off, diag_last());
    }
    c->sh->frees[w]++;
    if ((int) (it->tag >> 40) != w) {
        c->sh->cross[w]++;
    }
    return 0;
}

static int
drain(struct churn *c, int w)
{
    struct item it;
    int         rc;

    while (ring_get(&c->sh->ring[w], &it) == 0) {
        if ((rc = free_block(c, w, &it)) != 0) {
            return rc;
        }
    }
    return 0;
}

/* Give a block to the next worker, waiting (and draining our own ring, so
 * that a cycle of full rings moves) while its ring is full; free it here
 * only if the next worker is dead. */
static int
hand_over(struct churn *c, int w, const struct item *it)
{
    int to = next_worker(c, w), rc;

    while (ring_put(c, &c->sh->ring[to], it) != 0) {
        if (atomic_load_explicit(&c->sh->dead[to], memory_order_relaxed)) {
            return free_block(c, w, it);
        }
        if ((rc = drain(c, w)) != 0) {
            return rc;
        }
        sched_yield();
    }
    return 0;
}

static int
churn_worker(struct churn *c, int w)
{
    struct item    kept[KEEP], it;
    uint64_t       rng = 0x5eed + (uint64_t) w * 7919, seq = 0, i;
    unsigned       nkept = 0, k;
    unsigned char *p;
    int            rc;

#ifdef LFSLAB_THREAD_INDEX
    if (c->threads) {
        lfslab_thread_index = w;
    } else
#endif
    {
        proc_set_index(w);
    }
    if (c->z->ops->attach(c->z) != 0) {
        return worker_fail(c, w, 4, "attach: %s", diag_last());
    }
    atomic_fetch_add(&c->sh->started, 1);
    for (i = 0; c->ops ? i < c->ops : !atomic_load_explicit(&c->sh->stop, memory_order_relaxed);
         i++)
    {
        if ((rc = drain(c, w)) != 0) {
            return rc;
        }
        it.size = churn_size(c, &rng);
        it.tag = (uint64_t) w << 40 | seq++;
        p = c->z->ops->alloc(c->z, it.size);
        if (p == NULL) {
            c->sh->nulls[w]++;
            continue;
        }
        c->sh->allocs[w]++;
        it.off = (uint64_t) (p - c->pages);
        if (granules(c->gran, it.off, c->z->ops->usable_size(c->z, p), 1) != 0) {
            return worker_fail(c, w, 5, "block at %llu (%llu bytes) overlaps a live block",
                               (unsigned long long) it.off, (unsigned long long) it.size);
        }
        stamp(p, &it);
        if (mp_rng(&rng) % 100 < c->keep_pct && nkept < c->keep_max) {
            kept[nkept++] = it;
        } else if ((rc = hand_over(c, w, &it)) != 0) {
            return rc;
        }
        if (nkept == c->keep_max || (nkept && mp_rng(&rng) % 4 == 0)) {
            k = (unsigned) (mp_rng(&rng) % nkept);
            if ((rc = free_block(c, w, &kept[k])) != 0) {
                return rc;
            }
            kept[k] = kept[--nkept];
        }
    }
    while (nkept) {
        if ((rc = free_block(c, w, &kept[--nkept])) != 0) {
            return rc;
        }
    }
    atomic_store(&c->sh->done[w], 1);
    for (;;) {
        int producer_done = atomic_load(&c->sh->done[prev_worker(c, w)]);
        if ((rc = drain(c, w)) != 0) {
            return rc;
        }
        if (producer_done) {
            break;
        }
        sched_yield();
    }
    return 0;
}

/* Start workers 1 .. nw; pids into pid[]. */
static void
churn_start(struct churn *c, pid_t *pid, unsigned alarm_s)
{
    int w;

    for (w = 1; w <= c->nw; w++) {
        pid[w] = fork();
        if (pid[w] == 0) {
            alarm(alarm_s);
            child_exit(churn_worker(c, w));
        }
    }
}

static int
churn_setup(struct churn *c, struct zone *z, int nw, size_t zone_size, size_t P)
{
    struct alloc_stats st;

    memset(c, 0, sizeof(*c));
    if (make_zone(z, ZONE_ANON, zone_size, P, (unsigned) nw + 1, NULL) != 0) {
        return -1;
    }
    lf->stats(z, &st);
    c->z = z;
    c->P = P;
    c->nw = nw;
    c->pages = z->base + lf->data_offset(z);
    c->sh = shared_map(sizeof(*c->sh));
    c->gran = shared_map((st.pages * P / 8 / 64 + 1) * 8);
    c->ring_cap = RING;
    c->keep_pct = 30;
    c->keep_max = KEEP;
    return 0;
}

static void
churn_teardown(struct churn *c)
{
    struct alloc_stats st;

    lf->stats(c->z, &st);
    munmap(c->gran, (st.pages * c->P / 8 / 64 + 1) * 8);
    munmap(c->sh, sizeof(*c->sh));
    zone_destroy(c->z);
}

static void
report_workers(struct churn *c, pid_t *pid, const char *what)
{
    int w, st;

    for (w = 1; w <= c->nw; w++) {
        st = wait_child(pid[w]);
        CHECK(st == 0, "%s: worker %d status %d: %s", what, w, st, c->sh->why[w]);
    }
}

static void
test_churn(int nw, uint64_t ops, size_t zone_size)
{
    const size_t       P = 4096;
    struct zone        z;
    struct churn       c;
    struct alloc_stats st;
    pid_t              pid[MAXW + 1];
    uint64_t           frees = 0, cross = 0, allocs = 0, nulls = 0, t0, used;
    unsigned           i;
    int                w;
    char               what[32];

    snprintf(what, sizeof(what), "churn %d in %zu KiB", nw, zone_size >> 10);
    if (churn_setup(&c, &z, nw, zone_size, P) != 0) {
        CHECK(0, "%s: zone", what);
        return;
    }
    c.ops = ops;
    t0 = clock_ns();
    churn_start(&c, pid, 60);
    report_workers(&c, pid, what);
    t0 = clock_ns() - t0;
    for (w = 1; w <= nw; w++) {
        frees += c.sh->frees[w];
        cross += c.sh->cross[w];
        allocs += c.sh->allocs[w];
        nulls += c.sh->nulls[w];
    }
    CHECK(allocs == frees, "%s: %llu allocs, %llu frees", what, (unsigned long long) allocs,
          (unsigned long long) frees);
    CHECK(cross * 2 >= frees, "%s: %llu of %llu frees cross-process", what,
          (unsigned long long) cross, (unsigned long long) frees);
    CHECK(lf->check(&z, stderr) == 0, "%s: check after the drain", what);
    lf->stats(&z, &st);
    for (i = 0; i < st.nslots; i++) {
        CHECK(st.slot[i].used == 0, "%s: class %llu has %llu chunks in use", what,
              (unsigned long long) st.slot[i].size, (unsigned long long) st.slot[i].used);
    }
    CHECK(lfslab_counter(&z, "large_allocs") == lfslab_counter(&z, "large_frees"),
          "%s: runs", what);
    /* A request no run can satisfy makes the master scavenge. */
    CHECK(lf->alloc(&z, st.pages * P) == NULL, "%s: the whole zone as one run", what);
    lf->stats(&z, &st);
    used = st.pages - st.pages_free;
    CHECK(used <= (uint64_t) 2 * nw * st.nslots, "%s: %llu pages used after scavenging, "
          "at most %llu expected (an active and a reserve page per worker and class)",
          what, (unsigned long long) used, (unsigned long long) 2 * nw * st.nslots);
    CHECK(lf->check(&z, stderr) == 0, "%s: check after scavenging", what);
    printf("%s: %llu ops in %.2f s, %llu NULL, %.0f%% frees cross-process; remote %llu "
           "refills %llu pops %llu retires %llu retries %llu lock_acq %llu scavenges %llu; "
           "%llu pages used after scavenging\n", what,
           (unsigned long long) (allocs + frees), (double) t0 / 1e9,
           (unsigned long long) nulls, 100.0 * (double) cross / (double) (frees ? frees : 1),
           (unsigned long long) lfslab_counter(&z, "remote"),
           (unsigned long long) lfslab_counter(&z, "refills"),
           (unsigned long long) lfslab_counter(&z, "pops"),
           (unsigned long long) lfslab_counter(&z, "retires"),
           (unsigned long long) lfslab_counter(&z, "retries"),
           (unsigned long long) lfslab_counter(&z, "lock_acq"),
           (unsigned long long) lfslab_counter(&z, "scavenges"), (unsigned long long) used);
    churn_teardown(&c);
}

/* ---------------------------------------------------------------------- */
/* ABA stress                                                               */

#ifdef LFSLAB_TEST_HOOKS
static unsigned stall_n;

/* Yield in one pop window out of four: another process pops and pushes
 * while this one holds a stale {top, next}. */
static void
stall_hook(int point, unsigned page)
{
    (void) page;
    if (point == LFSLAB_HOOK_POP_WINDOW && ++stall_n % 4 == 0) {
        sched_yield();
    }
}
#endif

/* Let workers 1 .. nw run for `seconds`, then stop them.  A worker that
 * exits badly stops the others at once (it is marked dead, so nobody waits
 * for it); one still running 5 s after the stop is killed.  The first
 * failure is described in why and sets *bad. */
static void
watch_workers(struct churn *c, pid_t *pid, double seconds, char *why, size_t whylen, int *bad)
{
    uint64_t deadline = clock_ns() + (uint64_t) (seconds * 1e9), now;
    int      left = c->nw, w, st, stopped = 0;
    pid_t    p;

    while (left > 0) {
        p = waitpid(-1, &st, WNOHANG);
        if (p > 0) {
            for (w = 1; w <= c->nw && pid[w] != p; w++) { /* void */ }
            if (w > c->nw) {
                continue;
            }
            left--;
            st = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            if (st != 0) {
                if (!*bad) {
                    snprintf(why, whylen, "worker %d status %d: %s", w, st, c->sh->why[w]);
                    *bad = 1;
                }
                atomic_store(&c->sh->dead[w], 1);
                atomic_store(&c->sh->done[w], 1);
                atomic_store(&c->sh->stop, 1);
            }
            continue;
        }
        now = clock_ns();
        if (!stopped && now >= deadline) {
            atomic_store(&c->sh->stop, 1);
            stopped = 1;
            deadline = now + 5000000000ULL;
        } else if (stopped && now >= deadline) {
            for (w = 1; w <= c->nw; w++) {
                kill(pid[w], SIGKILL);
            }
            if (!*bad) {
                snprintf(why, whylen, "workers still running 5 s after the stop (killed)");
                *bad = 1;
            }
            stopped = 2;
            deadline = UINT64_MAX;
        }
        msleep(2);
    }
}

/* One round; 0 if everything held, else a description in why. */
static int
aba_round(double seconds, int stall, char *why, size_t whylen, uint64_t *cycles)
{
    const size_t P = 4096;
    struct zone  z;
    struct churn c;
    pid_t        pid[MAXW + 1];
    int          bad = 0;
    uint64_t     corrupt;

    (void) stall;
    if (churn_setup(&c, &z, 4, zone_bytes(12, P, 5), P) != 0) {
        snprintf(why, whylen, "zone");
        return -1;
    }
    c.sizes = SIZES_2048;
    c.ring_cap = 6;
    c.keep_pct = 20;
    c.keep_max = 2;
    c.ops = 0;
#ifdef LFSLAB_TEST_HOOKS
    if (stall) {
        lfslab_test_hook = stall_hook;    /* inherited by the workers */
    }
#endif
    churn_start(&c, pid, 20);
#ifdef LFSLAB_TEST_HOOKS
    lfslab_test_hook = NULL;
#endif
    why[0] = '\0';
    watch_workers(&c, pid, seconds, why, whylen, &bad);
    corrupt = lfslab_counter(&z, "corrupt");
    if (!bad && corrupt) {
        snprintf(why, whylen, "%llu impossible states counted", (unsigned long long) corrupt);
        bad = 1;
    }
    if (!bad && lf->check(&z, NULL) != 0) {
        snprintf(why, whylen, "check: %s", diag_last());
        bad = 1;
    }
    cycles[0] += lfslab_counter(&z, "retires");    /* ACTIVE -> FULL */
    cycles[1] += lfslab_counter(&z, "remote");     /* FULL -> PARTIAL -> EMPTY */
    cycles[2] += lfslab_counter(&z, "pops");       /* PARTIAL/EMPTY -> ACTIVE */
    cycles[3] += lfslab_counter(&z, "pages_out");  /* EMPTY -> FREE */
    cycles[4] += lfslab_counter(&z, "allocs") + lfslab_counter(&z, "frees");
    churn_teardown(&c);
    return bad;
}

static void
test_aba(int stall, int expect_caught)
{
    char     why[256];
    uint64_t cycles[5] = { 0 }, t0 = clock_ns();
    int      round, bad = 0;

    if (expect_caught) {
        /* The mutant: rounds until the corruption shows, at most ~20 s. */
        for (round = 0; round < 10 && !bad; round++) {
            bad = aba_round(2.0, stall, why, sizeof(why), cycles);
        }
        CHECK(bad, "with a %d-bit partial-stack tag the stress went unnoticed for %d rounds",
              LFSLAB_TAG_BITS, round);
        printf("aba (tag %d bits, stalls): caught in round %d after %.1f s: %s\n",
               LFSLAB_TAG_BITS, round, (double) (clock_ns() - t0) / 1e9, bad ? why : "-");
        return;
    }
    bad = aba_round(3.0, stall, why, sizeof(why), cycles);
    CHECK(!bad, "aba%s: %s", stall ? " with stalls" : "", why);
    CHECK(cycles[0] > 100 && cycles[1] > 100 && cycles[2] > 100 && cycles[3] > 10,
          "aba: transitions retire %llu remote %llu pop %llu scavenge %llu",
          (unsigned long long) cycles[0], (unsigned long long) cycles[1],
          (unsigned long long) cycles[2], (unsigned long long) cycles[3]);
    printf("aba (tag %d bits%s): %.1f s, %llu ops: %llu retires, %llu remote frees, "
           "%llu pops, %llu pages scavenged\n", LFSLAB_TAG_BITS, stall ? ", stalls" : "",
           (double) (clock_ns() - t0) / 1e9, (unsigned long long) cycles[4],
           (unsigned long long) cycles[0], (unsigned long long) cycles[1],
           (unsigned long long) cycles[2], (unsigned long long) cycles[3]);
}

/* ---------------------------------------------------------------------- */
/* Crashes                                                                  */

/* Run check into a buffer: its return, and whether every line it wrote is
 * an orphan or a note (never an error); the lines go to stdout. */
static int
check_orphans_only(struct zone *z, unsigned *orphans, int *only)
{
    char   buf[16384], *line, *save;
    FILE  *f = fmemopen(buf, sizeof(buf) - 1, "w");
    int    rc;

    memset(buf, 0, sizeof(buf));
    rc = lf->check(z, f);
    fclose(f);
    *orphans = 0;
    *only = 1;
    for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        printf("  %s\n", line);
        if (strstr(line, "): orphan: ")) {
            (*orphans)++;
        } else if (!strstr(line, "): note: ")) {
            *only = 0;
        }
    }
    return rc;
}

static void
test_crash_random(unsigned rounds)
{
    const size_t       P = 4096;
    struct zone        z;
    struct churn       c;
    pid_t              pid[MAXW + 1];
    uint64_t           rng = (uint64_t) getpid();
    struct item        it;
    unsigned           r, orphans, tries;
    int                w, victim, st, only, rc;

    for (r = 0; r < rounds; r++) {
        if (churn_setup(&c, &z, 4, 4 << 20, P) != 0) {
            CHECK(0, "crash zone");
            return;
        }
        c.ops = 0;
        churn_start(&c, pid, 30);
        while (atomic_load(&c.sh->started) < c.nw) {
            sched_yield();
        }
        victim = 1 + (int) (mp_rng(&rng) % (uint64_t) c.nw);
        for (tries = 0;; tries++) {
            msleep(5 + (unsigned) (mp_rng(&rng) % 60));
            kill(pid[victim], SIGSTOP);
            waitpid(pid[victim], &st, WUNTRACED);
            if (shmtx_owner(lfslab_page_lock(&z)) != pid[victim] || tries == 50) {
                break;
            }
            kill(pid[victim], SIGCONT);           /* inside page_lock: later */
        }
        kill(pid[victim], SIGKILL);
        CHECK(wait_child(pid[victim]) == 128 + SIGKILL, "victim killed");
        atomic_store(&c.sh->dead[victim], 1);
        atomic_store(&c.sh->done[victim], 1);
        msleep(50);                               /* survivors go on a while */
        atomic_store(&c.sh->stop, 1);
        for (w = 1; w <= c.nw; w++) {
            if (w == victim) {
                continue;
            }
            st = wait_child(pid[w]);
            CHECK(st == 0, "crash round %u: survivor %d status %d: %s", r, w, st, c.sh->why[w]);
        }
        shmtx_force_unlock(lfslab_page_lock(&z), pid[victim]);
        /* Blocks handed to the victim and never taken: the master frees them. */
        rc = 0;
        while (rc == 0 && ring_get(&c.sh->ring[victim], &it) == 0) {
            rc = free_block(&c, 0, &it);
        }
        CHECK(rc == 0, "master's free of a block meant for the victim: %s", c.sh->why[0]);
        printf("crash round %u: worker %d killed (%u tries)\n", r, victim, tries + 1);
        rc = check_orphans_only(&z, &orphans, &only);
        CHECK(rc == 0 && only, "crash round %u: check %d: %s", r, rc, diag_last());
        churn_teardown(&c);
    }
}

static void
test_crash_holding_lock(void)
{
    const size_t P = 4096;
    struct zone  z;
    struct churn c;
    pid_t        pid[MAXW + 1];
    unsigned     orphans;
    int          w, st, only;

    if (churn_setup(&c, &z, 3, 4 << 20, P) != 0) {
        CHECK(0, "lock zone");
        return;
    }
    /* Worker 1 takes page_lock and waits to be killed. */
    pid[1] = fork();
    if (pid[1] == 0) {
        proc_set_index(1);
        lf->attach(&z);
        shmtx_lock(lfslab_page_lock(&z));
        atomic_store(&c.sh->hold, 1);
        for (;;) {
            pause();
        }
    }
    while (!atomic_load(&c.sh->hold)) {
        sched_yield();
    }
    /* Workers 2 and 3 churn with runs: they soon wait on page_lock. */
    c.nw = 3;
    c.ops = 3000;
    atomic_store(&c.sh->done[1], 1);          /* worker 1 produces nothing, */
    atomic_store(&c.sh->dead[1], 1);          /* and takes nothing: worker 3 frees */
    for (w = 2; w <= 3; w++) {
        pid[w] = fork();
        if (pid[w] == 0) {
            alarm(30);
            child_exit(churn_worker(&c, w));
        }
    }
    msleep(200);
    CHECK(waitpid(pid[2], &st, WNOHANG) == 0 && waitpid(pid[3], &st, WNOHANG) == 0,
          "workers finished while page_lock was held");
    CHECK(shmtx_owner(lfslab_page_lock(&z)) == pid[1], "victim holds page_lock");
    kill(pid[1], SIGKILL);
    CHECK(wait_child(pid[1]) == 128 + SIGKILL, "victim reaped");
    CHECK(shmtx_force_unlock(lfslab_page_lock(&z), pid[2]) == 0, "force-unlock of a non-holder");
    CHECK(shmtx_force_unlock(lfslab_page_lock(&z), pid[1]) == 1, "force-unlock of the dead");
    for (w = 2; w <= 3; w++) {
        st = wait_child(pid[w]);
        CHECK(st == 0, "after the force-unlock: worker %d status %d: %s", w, st, c.sh->why[w]);
    }
    {
        struct item it;
        int         rc = 0;
        while (rc == 0 && ring_get(&c.sh->ring[1], &it) == 0) {
            rc = free_block(&c, 0, &it);
        }
        CHECK(rc == 0, "free of a block meant for the victim: %s", c.sh->why[0]);
    }
    CHECK(check_orphans_only(&z, &orphans, &only) == 0 && only && orphans == 0,
          "check after the lock holder's death: %s", diag_last());
    churn_teardown(&c);
}

#ifdef LFSLAB_TEST_HOOKS
static struct shared *hook_sh;
static int            hook_point;

static void
stop_hook(int point, unsigned page)
{
    (void) page;
    if (point == hook_point) {
        atomic_store(&hook_sh->hold, 1);
        for (;;) {
            pause();
        }
    }
}

/* A worker stopped for good at `point` and killed: check must report one
 * orphan page and no error. */
static void
test_orphan(int point, const char *what)
{
    const size_t P = 4096;
    struct zone  z;
    struct churn c;
    void        *b1, *b2, *b3;
    unsigned     orphans;
    int          only, rc;
    pid_t        pid;

    if (churn_setup(&c, &z, 2, zone_bytes(16, P, 3), P) != 0) {
        CHECK(0, "orphan zone");
        return;
    }
    /* Page A: class 2048, both chunks out, retired FULL (b3 opened page B).
     * The frees that reopen A come from processes that are not workers, so
     * that A is pushed (a worker would adopt it as its reserve). */
    b1 = lf->alloc(&z, 2048);
    b2 = lf->alloc(&z, 2048);
    b3 = lf->alloc(&z, 2048);
    if (point == LFSLAB_HOOK_POPPED) {
        pid = fork();
        if (pid == 0) {
            child_exit(lf->free(&z, b1) != 0);   /* A PARTIAL, on the spare stack */
        }
        CHECK(wait_child(pid) == 0, "non-worker frees b1");
    }
    hook_sh = c.sh;
    hook_point = point;
    pid = fork();
    if (pid == 0) {
        alarm(20);
        lfslab_test_hook = stop_hook;
        if (point == LFSLAB_HOOK_POPPED) {
            proc_set_index(1);
            lf->attach(&z);
            lf->alloc(&z, 2048);            /* steals A, stops before claiming it */
        } else {
            lf->free(&z, b2);               /* a non-worker: A FULL -> PARTIAL, stops
                                               before the push */
        }
        child_exit(9);
    }
    while (!atomic_load(&c.sh->hold)) {
        sched_yield();
    }
    kill(pid, SIGKILL);
    CHECK(wait_child(pid) == 128 + SIGKILL, "%s: child killed at the hook", what);
    printf("orphan %s:\n", what);
    rc = check_orphans_only(&z, &orphans, &only);
    CHECK(rc == 0 && only && orphans == 1, "%s: check %d, %u orphans, only orphans/notes %d",
          what, rc, orphans, only);
    /* The rest of the zone still works around the orphan. */
    CHECK(lf->free(&z, b3) == 0, "%s: free after the crash", what);
    (void) b2;
    churn_teardown(&c);
}
#endif

#ifdef LFSLAB_THREAD_INDEX
/* ---------------------------------------------------------------------- */
/* Thread mode (ThreadSanitizer): the churn with threads as workers.        */

struct thread_arg {
    struct churn *c;
    int           w, rc;
};

static void *
thread_main(void *p)
{
    struct thread_arg *a = p;

    a->rc = churn_worker(a->c, a->w);
    return NULL;
}

static void
test_threads(int nw, uint64_t ops, size_t zone_size)
{
    const size_t       P = 4096;
    struct zone        z;
    struct churn       c;
    struct alloc_stats st;
    struct thread_arg  arg[MAXW + 1];
    pthread_t          t[MAXW + 1];
    unsigned           i;
    int                w;

    if (churn_setup(&c, &z, nw, zone_size, P) != 0) {
        CHECK(0, "threads: zone");
        return;
    }
    c.ops = ops;
    c.threads = 1;
    shmtx_set_counting(0);          /* the lock's counter slots are per process */
    for (w = 1; w <= nw; w++) {
        arg[w].c = &c;
        arg[w].w = w;
        pthread_create(&t[w], NULL, thread_main, &arg[w]);
    }
    for (w = 1; w <= nw; w++) {
        pthread_join(t[w], NULL);
        CHECK(arg[w].rc == 0, "thread %d: %d: %s", w, arg[w].rc, c.sh->why[w]);
    }
    CHECK(lf->check(&z, stderr) == 0, "threads: check");
    lf->stats(&z, &st);
    for (i = 0; i < st.nslots; i++) {
        CHECK(st.slot[i].used == 0, "threads: class %llu used %llu",
              (unsigned long long) st.slot[i].size, (unsigned long long) st.slot[i].used);
    }
    printf("threads %d in %zu KiB: %llu NULL, pops %llu steals %llu scavenges %llu\n", nw,
           zone_size >> 10, (unsigned long long) (c.sh->nulls[1] + c.sh->nulls[2]),
           (unsigned long long) lfslab_counter(&z, "pops"),
           (unsigned long long) lfslab_counter(&z, "steals"),
           (unsigned long long) lfslab_counter(&z, "scavenges"));
    churn_teardown(&c);
}
#endif

int
main(int argc, char **argv)
{
    const char *part = argc > 1 ? argv[1] : "unit";

    proc_init();
    lf = &lfslab_allocator;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(part, "unit") == 0) {
        test_classes(4096);
        test_classes(16384);
        test_classes(65536);
        test_exhaustion();
        test_bad_frees();
        test_setup_errors();
        test_stats();
        test_check_finds();
        test_runtime_corruption();
        test_attach();
    } else if (strcmp(part, "churn") == 0) {
        test_churn(2, 500000, 16 << 20);
        test_churn(4, 250000, 16 << 20);
        test_churn(8, 100000, 16 << 20);
        test_churn(4, 100000, 1 << 20);        /* full now and then: NULLs, scavenging */
    } else if (strcmp(part, "aba") == 0) {
        test_aba(LFSLAB_TAG_BITS < 32, LFSLAB_TAG_BITS < 32);
    } else if (strcmp(part, "crash") == 0) {
        test_crash_random(10);
        test_crash_holding_lock();
#ifdef LFSLAB_THREAD_INDEX
    } else if (strcmp(part, "threads") == 0) {
        test_threads(4, 20000, 16 << 20);
        test_threads(4, 20000, 1 << 20);
#endif
#ifdef LFSLAB_TEST_HOOKS
    } else if (strcmp(part, "hooks") == 0) {
        test_aba(1, 0);
        test_orphan(LFSLAB_HOOK_POPPED, "after a pop");
        test_orphan(LFSLAB_HOOK_FREED_FULL, "after FULL -> PARTIAL");
#endif
    } else {
        fprintf(stderr, "usage: %s [unit|churn|aba|crash|hooks]\n", argv[0]);
        return 2;
    }
    return test_summary(argc > 1 ? argv[1] : "test_lfslab");
}
