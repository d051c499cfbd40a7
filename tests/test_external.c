/*
 * test_external: the allocators built on libraries loaded at run time:
 * jemalloc-shm and mimalloc-shm (per-process heaps over slices of the
 * zone), and the private-heap references glibc, jemalloc and mimalloc.
 *
 * For each one that is usable (the others are skipped with the reason,
 * never silently):
 *  - 2000 live blocks: aligned to 16 (8 for blocks of 8 bytes or less),
 *    usable_size >= the request, no overlap, contents intact through a
 *    free-half-and-refill; a shared allocator's blocks lie in the caller's
 *    slice;
 *  - 4 forked workers (proc_set_index 0..3) churning at once, each in its
 *    own slice.  Blocks they leave behind are read back by the master through
 *    the zone, which shows that the memory really is the shared mapping;
 *  - exhaustion of a small slice: NULL and a counted fail, no crash or
 *    abort (run in a child, so that an abort shows up as a signal); after
 *    all is freed, blocks of another size take back at least 3/4 of it;
 *  - a free of a block from another process's slice: refused, with a message;
 *  - zones too small, and process indexes without a slice, refused with a
 *    message naming the minimum;
 *  - a master that allocated in slice 0 before fork: jemalloc-shm's worker 0
 *    carries on beside it (the bump pointer is shared); mimalloc-shm's
 *    refuses;
 *  - mimalloc-shm, 70 zones one after another in one process: mimalloc
 *    keeps at most 64 arenas, so zones at the same address reuse theirs.
 * Then, with both libraries loaded, the harness's malloc is still glibc's:
 * their symbols are not in the global scope.
 *
 * When neither jemalloc nor mimalloc can be loaded, only glibc's part has
 * run, which is not what this test is about: it exits with TEST_SKIPPED
 * (reported skipped), unless that part failed.
 *
 * Debian's jemalloc cannot be loaded by dlopen without glibc's static TLS
 * tunable.  When it is missing, the test first checks that the reason given
 * says so, then re-executes itself with the tunable (dynlib).
 */
#include <dlfcn.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "substrate/allocator.h"
#include "registry.h"
#include "substrate/diag.h"
#include "substrate/dynlib.h"
#include "mputil.h"
#include "substrate/proc.h"
#include "testutil.h"
#include "testskip.h"

#define EXT_LIVE    2000
#define EXT_WORKERS 4
#define EXT_KEEP    16          /* blocks a worker leaves for the master */
#define EXT_MIB     ((size_t) 1 << 20)

/* What a worker leaves behind, in a shared mapping. */
struct ext_report {
    struct mp_block keep[EXT_WORKERS][EXT_KEEP];
    unsigned char   *lo[EXT_WORKERS], *hi[EXT_WORKERS];
};

static int
ext_shared(const struct allocator_ops *ops)
{
    return (ops->caps & ALLOC_IN_SHM) != 0;
}

/* A zone for nworkers: for the shared allocators a size that cuts into
 * equal slices (jemalloc-shm 16 MiB each, mimalloc-shm its 32 MiB). */
static size_t
ext_zone_size(const struct allocator_ops *ops, unsigned nworkers)
{
    if (strcmp(ops->name, "mimalloc-shm") == 0) {
        return nworkers * 32 * EXT_MIB;
    }
    return ext_shared(ops) ? nworkers * 16 * EXT_MIB : EXT_MIB;
}

static int
ext_zone(struct zone *z, const struct allocator_ops *ops, size_t size, unsigned nworkers)
{
    struct alloc_params p;

    memset(&p, 0, sizeof(p));
    p.nworkers = nworkers;
    if (allocator_zone_create(z, ops, ZONE_ANON, size, 0, &p, NULL) != 0) {
        CHECK(0, "%s: zone of %zu bytes for %u workers: %s", ops->name, size, nworkers,
              diag_last());
        return -1;
    }
    return 0;
}

static void
ext_zone_close(struct zone *z)
{
    if (z->ops->fini) {
        z->ops->fini(z);
    }
    zone_destroy(z);
}

/* Slice idx of a zone cut in n equal parts (the sizes above divide). */
static void
ext_slice(const struct zone *z, unsigned n, int idx, unsigned char **lo, unsigned char **hi)
{
    *lo = z->base + (size_t) idx * (z->size / n);
    *hi = *lo + z->size / n;
}

/* Sizes: mostly small, some of a few KiB, a few large. */
static size_t
ext_size(uint64_t *rng)
{
    uint64_t r = mp_rng(rng) % 100;

    return r < 85 ? 1 + mp_rng(rng) % 2048 : r < 98 ? 1 + mp_rng(rng) % 16384
                                                    : 1 + mp_rng(rng) % (256 << 10);
}

/* Take one block and check it; returns the number of failed checks, or -1
 * if the allocation failed. */
static int
ext_take(struct zone *z, struct mp_block *b, size_t size, uint64_t tag, unsigned char *lo,
    unsigned char *hi)
{
    const struct allocator_ops *ops = z->ops;
    size_t                      usable, align = size <= 8 ? 8 : 16;
    int                         bad = 0;

    b->p = ops->alloc(z, size);
    b->size = size;
    b->tag = tag;
    if (b->p == NULL) {
        return -1;
    }
    usable = b->usable = ops->usable_size(z, b->p);
    bad += usable < size;
    bad += ((uintptr_t) b->p & (align - 1)) != 0;
    bad += lo && (b->p < lo || b->p + size > hi);
    if (bad) {
        fprintf(stderr, "%s: block %p of %zu bytes (usable %zu) misaligned, too small or "
                "outside [%p, %p)\n", ops->name, (void *) b->p, size, usable, (void *) lo,
                (void *) hi);
    }
    mp_fill(b->p, size, tag);
    return bad;
}

/* 2000 live blocks in the calling process (index 0). */
static void
ext_blocks(const struct allocator_ops *ops)
{
    struct mp_block *blk = calloc(EXT_LIVE, sizeof(*blk));
    struct zone       z;
    unsigned char    *lo = NULL, *hi = NULL;
    uint64_t          rng = 1, tag = 1;
    size_t            i, damaged = 0;
    int               bad = 0, fails = 0, r;

    proc_set_index(0);
    if (ext_zone(&z, ops, ext_zone_size(ops, EXT_WORKERS), EXT_WORKERS) != 0) {
        free(blk);
        return;
    }
    if (ext_shared(ops)) {
        ext_slice(&z, EXT_WORKERS, 0, &lo, &hi);
    }
    for (i = 0; i < EXT_LIVE; i++) {
        r = ext_take(&z, &blk[i], i < 64 ? i : ext_size(&rng), tag++, lo, hi);
        fails += r < 0;
        bad += r > 0 ? r : 0;
    }
    CHECK(fails == 0, "%s: %d of %d allocations failed: %s", ops->name, fails, EXT_LIVE,
          diag_last());
    CHECK(bad == 0, "%s: %d blocks misaligned, short or outside the slice", ops->name, bad);
    CHECK(mp_overlaps(blk, EXT_LIVE, 0) == 0, "%s: live blocks overlap", ops->name);

    for (i = 0; i < EXT_LIVE; i += 2) {
        damaged += blk[i].p && !mp_intact(blk[i].p, blk[i].size, blk[i].tag);
        CHECK(blk[i].p == NULL || ops->free(&z, blk[i].p) == 0, "%s: free refused: %s",
              ops->name, diag_last());
    }
    for (i = 0, bad = 0; i < EXT_LIVE; i += 2) {
        r = ext_take(&z, &blk[i], ext_size(&rng), tag++, lo, hi);
        bad += r != 0;
    }
    CHECK(bad == 0, "%s: %d refills failed or were bad", ops->name, bad);
    CHECK(mp_overlaps(blk, EXT_LIVE, 0) == 0, "%s: live blocks overlap after refill", ops->name);
    for (i = 0; i < EXT_LIVE; i++) {
        damaged += blk[i].p && !mp_intact(blk[i].p, blk[i].size, blk[i].tag);
        if (blk[i].p) {
            ops->free(&z, blk[i].p);
        }
    }
    CHECK(damaged == 0, "%s: %zu blocks damaged", ops->name, damaged);
    ext_zone_close(&z);
    free(blk);
}

/* One worker: churn 20000 rounds over 256 live slots, then leave EXT_KEEP
 * blocks for the master.  Returns a bit set: 1 damaged, 2 bad block, 4
 * attach, 8 free refused. */
static int
ext_worker(struct zone *z, struct ext_report *rep, int w)
{
    struct mp_block live[256];
    unsigned char   *lo = NULL, *hi = NULL;
    uint64_t         rng = 7 + (uint64_t) w, tag = (uint64_t) w << 40;
    unsigned         i, k;
    int              bad = 0;

    proc_set_index(w);
    if (z->ops->attach(z) != 0) {
        fprintf(stderr, "%s: worker %d: attach: %s\n", z->ops->name, w, diag_last());
        return 4;
    }
    if (ext_shared(z->ops)) {
        ext_slice(z, EXT_WORKERS, w, &lo, &hi);
        rep->lo[w] = lo;
        rep->hi[w] = hi;
    }
    memset(live, 0, sizeof(live));
    for (i = 0; i < 20000; i++) {
        k = (unsigned) (mp_rng(&rng) % 256);
        if (live[k].p) {
            bad |= !mp_intact(live[k].p, live[k].size, live[k].tag);
            bad |= (z->ops->free(z, live[k].p) != 0) << 3;
        }
        bad |= (ext_take(z, &live[k], 1 + mp_rng(&rng) % 4096, tag++, lo, hi) > 0) << 1;
    }
    for (k = 0; k < 256; k++) {
        if (live[k].p && k < EXT_KEEP) {
            rep->keep[w][k] = live[k];      /* stays allocated, for the master */
        } else if (live[k].p) {
            bad |= !mp_intact(live[k].p, live[k].size, live[k].tag);
            bad |= (z->ops->free(z, live[k].p) != 0) << 3;
        }
    }
    return bad;
}

/* 4 workers at once; the master reads what they left behind. */
static void
ext_workers(const struct allocator_ops *ops)
{
    struct ext_report *rep;
    struct zone        z;
    pid_t              pid[EXT_WORKERS];
    size_t             seen = 0, damaged = 0, outside = 0;
    int                w, k, st;

    if (ext_zone(&z, ops, ext_zone_size(ops, EXT_WORKERS), EXT_WORKERS) != 0) {
        return;
    }
    rep = mmap(NULL, sizeof(*rep), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    memset(rep, 0, sizeof(*rep));
    fflush(stdout);
    for (w = 0; w < EXT_WORKERS; w++) {
        pid[w] = fork();
        if (pid[w] == 0) {
            alarm(30);
            _exit(ext_worker(&z, rep, w));
        }
    }
    for (w = 0; w < EXT_WORKERS; w++) {
        st = wait_child(pid[w]);
        CHECK(st == 0, "%s: worker %d ended with %d (1 damaged, 2 bad block, 4 attach, "
              "8 free refused)", ops->name, w, st);
    }
    if (ext_shared(ops)) {
        for (w = 0; w < EXT_WORKERS; w++) {
            for (k = 0; k < EXT_KEEP; k++) {
                struct mp_block *b = &rep->keep[w][k];
                if (b->p == NULL) {
                    continue;
                }
                seen++;
                outside += b->p < rep->lo[w] || b->p + b->size > rep->hi[w];
                damaged += !mp_intact(b->p, b->size, b->tag);
            }
        }
        CHECK(seen > 0 && outside == 0 && damaged == 0, "%s: of %zu blocks left by the "
              "workers, %zu outside their slice, %zu not as written (read by the master)",
              ops->name, seen, outside, damaged);
        CHECK(mp_overlaps(&rep->keep[0][0], EXT_WORKERS * EXT_KEEP, 0) == 0,
              "%s: blocks of different workers overlap", ops->name);
    }
    munmap(rep, sizeof(*rep));
    ext_zone_close(&z);
}

/* In a child: fill one minimal slice until it fails.  Returns failed checks. */
static int
ext_exhaust_child(const struct allocator_ops *ops)
{
    static struct mp_block blk[1 << 16];
    struct alloc_params     p = { .nworkers = 1 };
    struct alloc_stats      st;
    struct zone             z;
    uint64_t                rng = 3, tag = 1, live = 0;
    size_t                  n = 0, i, again = 0;
    int                     bad = 0, miss = 0;

    proc_set_index(0);
    if (allocator_zone_create(&z, ops, ZONE_ANON, allocator_min_zone_size(ops, &p), 0, &p, NULL) != 0) {
        fprintf(stderr, "%s: minimal zone: %s\n", ops->name, diag_last());
        return 1;
    }
    while (n < sizeof(blk) / sizeof(blk[0]) && miss < 32) {
        size_t size = mp_rng(&rng) % 4 ? 1 + mp_rng(&rng) % 3000 : 64 << 10;
        int    r = ext_take(&z, &blk[n], size, tag++, NULL, NULL);
        if (r < 0) {
            miss++;
            continue;
        }
        bad += r;
        live += size;
        n++;
    }
    ops->stats(&z, &st);
    printf("  %s: a %zu-byte zone (1 worker) held %zu blocks, %llu bytes, at its first "
           "failures; stats: footprint %llu, fails %llu\n", ops->name, z.size, n,
           (unsigned long long) live, (unsigned long long) st.footprint,
           (unsigned long long) st.fails);
    bad += miss != 32;
    bad += st.fails < 32;
    bad += mp_overlaps(blk, n, 0) != 0;
    for (i = 0; i < n; i++) {
        bad += !mp_intact(blk[i].p, blk[i].size, blk[i].tag);
        bad += ops->free(&z, blk[i].p) != 0;
    }
    /* The slice serves again, and memory freed by one size serves another:
     * 1000-byte blocks until they fail take 3/4 of what the mix took. */
    for (i = 0, miss = 0; i < sizeof(blk) / sizeof(blk[0]) && miss < 32; ) {
        int r = ext_take(&z, &blk[i], 1000, tag++, NULL, NULL);
        miss = r < 0 ? miss + 1 : 0;
        bad += r > 0;
        i += r >= 0;
    }
    again = i * 1000;
    printf("  %s: after freeing all, 1000-byte blocks took %zu bytes\n", ops->name, again);
    bad += again < live / 4 * 3;
    while (i--) {
        bad += ops->free(&z, blk[i].p) != 0;
    }
    ext_zone_close(&z);
    fflush(stdout);
    return bad;
}

static void
ext_exhaust(const struct allocator_ops *ops)
{
    pid_t pid;
    int   st;

    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        alarm(30);
        _exit(ext_exhaust_child(ops) ? 1 : 0);
    }
    st = wait_child(pid);
    CHECK(st == 0, "%s: filling a minimal slice ended with %d (1: a check failed, 128+: "
          "killed by a signal)", ops->name, st);
}

/* A block of worker 1, freed by the master (index 0): refused. */
static void
ext_wrong_free(const struct allocator_ops *ops)
{
    struct zone    z;
    unsigned char *mine, **theirs;
    unsigned long  before;
    pid_t          pid;

    if (ext_zone(&z, ops, ext_zone_size(ops, EXT_WORKERS), EXT_WORKERS) != 0) {
        return;
    }
    theirs = mmap(NULL, sizeof(*theirs), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                  -1, 0);
    *theirs = NULL;
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        proc_set_index(1);
        *theirs = ops->alloc(&z, 100);
        _exit(*theirs ? 0 : 1);
    }
    CHECK(wait_child(pid) == 0 && *theirs != NULL, "%s: worker 1 could not allocate",
          ops->name);
    proc_set_index(0);
    mine = ops->alloc(&z, 100);
    before = diag_count();
    CHECK(ops->free(&z, *theirs) == -1, "%s: free of worker 1's block %p by process 0 "
          "accepted", ops->name, (void *) *theirs);
    CHECK(diag_count() > before && strstr(diag_last(), "refused"), "%s: no message for a "
          "free from another slice (last: %s)", ops->name, diag_last());
    printf("  %s\n", diag_last());
    CHECK(mine && ops->free(&z, mine) == 0, "%s: own block: %s", ops->name, diag_last());
    munmap(theirs, sizeof(*theirs));
    ext_zone_close(&z);
}

/* Zones too small and indexes without a slice: refused, with a message. */
static void
ext_refusals(const struct allocator_ops *ops)
{
    struct alloc_params p = alloc_params_resolve(&(struct alloc_params) { .nworkers = EXT_WORKERS });
    struct zone         z;
    size_t              min = allocator_min_zone_size(ops, &p);
    unsigned long       before;

    CHECK(zone_create(&z, ZONE_ANON, min / 2, allocator_zone_align(ops, &p), NULL) == 0, "zone: %s",
          diag_last());
    before = diag_count();
    CHECK(ops->init(&z, &p) == -1, "%s: init accepted a zone of %zu bytes for %d workers",
          ops->name, min / 2, EXT_WORKERS);
    CHECK(diag_count() > before && strstr(diag_last(), "worker"), "%s: no message naming "
          "the minimum per worker (last: %s)", ops->name, diag_last());
    printf("  %s\n", diag_last());
    zone_destroy(&z);

    if (ext_zone(&z, ops, ext_zone_size(ops, EXT_WORKERS), EXT_WORKERS) != 0) {
        return;
    }
    proc_set_index(EXT_WORKERS);
    CHECK(ops->attach(&z) == -1 && strstr(diag_last(), "no slice"), "%s: index %d of %d "
          "workers attached (last: %s)", ops->name, EXT_WORKERS, EXT_WORKERS, diag_last());
    CHECK(ops->alloc(&z, 10) == NULL, "%s: index %d of %d workers allocated", ops->name,
          EXT_WORKERS, EXT_WORKERS);
    proc_set_index(0);
    ext_zone_close(&z);
}

/* The master allocates in slice 0, then forks worker 0. */
static void
ext_inherited(const struct allocator_ops *ops)
{
    struct zone       z;
    struct mp_block *mine;
    pid_t             pid;
    int               st, mimalloc = strcmp(ops->name, "mimalloc-shm") == 0;

    if (ext_zone(&z, ops, ext_zone_size(ops, EXT_WORKERS), EXT_WORKERS) != 0) {
        return;
    }
    proc_set_index(0);
    mine = mmap(NULL, 2 * sizeof(*mine), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                -1, 0);
    CHECK(ext_take(&z, &mine[0], 5000, 1, NULL, NULL) == 0, "%s: master's block", ops->name);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        int attached = proc_set_index(0) == 0 && ops->attach(&z) == 0;
        if (mimalloc) {
            printf("  worker 0 after the master allocated: %s\n", diag_last());
            fflush(stdout);
            _exit(attached || strstr(diag_last(), "in use by process") == NULL);
        }
        _exit(!attached || ext_take(&z, &mine[1], 5000, 2, NULL, NULL) != 0);
    }
    st = wait_child(pid);
    CHECK(st == 0, "%s: worker 0 beside a master that allocated in slice 0: %s", ops->name,
          mimalloc ? "not refused with a message" : "failed");
    CHECK(mp_intact(mine[0].p, mine[0].size, mine[0].tag), "%s: master's block damaged",
          ops->name);
    if (!mimalloc) {
        CHECK(mine[1].p && mp_overlaps(mine, 2, 0) == 0 && mp_intact(mine[1].p, 5000, 2),
              "%s: worker 0's block overlaps the master's", ops->name);
    }
    munmap(mine, 2 * sizeof(*mine));
    ext_zone_close(&z);
}

/* 70 zones in a row, in a child (arenas are never given back to mimalloc). */
static void
ext_many_zones(const struct allocator_ops *ops)
{
    pid_t pid;
    int   st;

    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        struct zone z;
        int         i, ok = 0;
        proc_set_index(0);
        for (i = 0; i < 70; i++) {
            if (ext_zone(&z, ops, 32 * EXT_MIB, 1) != 0) {
                break;
            }
            void *p = ops->alloc(&z, 1000);
            ok += p != NULL && ops->free(&z, p) == 0;
            ext_zone_close(&z);
        }
        printf("  %s: %d of 70 zones in a row served%s%s\n", ops->name, ok,
               ok < 70 ? ": " : "", ok < 70 ? diag_last() : "");
        fflush(stdout);
        _exit(ok == 70 || strstr(diag_last(), "at most 64") ? 0 : 1);
    }
    st = wait_child(pid);
    CHECK(st == 0, "%s: zones in a row failed without naming mimalloc's limit", ops->name);
}

/* Both libraries loaded: the process's malloc is still glibc's. */
static void
ext_harness_malloc(void)
{
    void *je = dlopen("libjemalloc.so.2", RTLD_NOW | RTLD_NOLOAD);
    void *mi = dlopen("libmimalloc.so.2", RTLD_NOW | RTLD_NOLOAD);
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    void *global = dlsym(RTLD_DEFAULT, "malloc");

    printf("loaded: jemalloc %s, mimalloc %s\n", je ? "yes" : "no", mi ? "yes" : "no");
    CHECK(dlsym(RTLD_DEFAULT, "mallocx") == NULL, "jemalloc's mallocx is in the global scope");
    CHECK(dlsym(RTLD_DEFAULT, "mi_malloc") == NULL, "mimalloc's mi_malloc is in the global "
          "scope");
    CHECK(global != NULL && (void *) malloc == global, "malloc of this program %p is not the "
          "global one %p", (void *) malloc, global);
    CHECK(je == NULL || dlsym(je, "malloc") != global, "malloc is jemalloc's");
    CHECK(mi == NULL || dlsym(mi, "malloc") != global, "malloc is mimalloc's");
#ifndef __SANITIZE_ADDRESS__
    {
        /* glibc's own accounting sees a block that malloc gives */
        size_t before = mallinfo2().uordblks;
        void  *p = malloc(100000);
        CHECK(global == dlsym(libc, "malloc"), "malloc %p is not libc's %p", global,
              dlsym(libc, "malloc"));
        CHECK(p && mallinfo2().uordblks >= before + 100000, "mallinfo2 did not see malloc's "
              "block: not glibc's malloc");
        free(p);
    }
#else
    (void) libc;
    printf("ASan build: malloc is ASan's, which is neither jemalloc's nor mimalloc's\n");
#endif
    if (mi) {
        bool (*in_heap)(const void *) = (bool (*)(const void *)) dlsym(mi,
                                                                      "mi_is_in_heap_region");
        void *p = malloc(1000);
        CHECK(in_heap && !in_heap(p), "mimalloc claims a block of the harness's malloc");
        free(p);
    }
}

/* Without the static TLS tunable jemalloc's reason must say what to do; then
 * re-execute with it. */
static void
ext_static_tls(char **argv)
{
    const char *t = getenv("GLIBC_TUNABLES");

    if (t && strstr(t, "glibc.rtld.optional_static_tls=")) {
        return;
    }
    if (allocator_find("jemalloc") == NULL) {
        printf("without the static TLS tunable: %s\n", diag_last());
        if (strstr(diag_last(), "static TLS") && !strstr(diag_last(), "GLIBC_TUNABLES")) {
            printf("FAILED: the reason does not say how to load jemalloc\n");
            exit(1);
        }
    }
    if (dynlib_reexec_with_static_tls(argv) != 0) {
        printf("could not re-execute with the tunable: %s\n", diag_last());
    }
}

int
main(int argc, char **argv)
{
    static const char *names[] = { "glibc", "jemalloc", "mimalloc", "jemalloc-shm",
                                   "mimalloc-shm" };
    const struct allocator_ops *ops;
    size_t                      i, loaded = 0;

    (void) argc;
    proc_init();
    ext_static_tls(argv);
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        ops = allocator_find(names[i]);
        if (ops == NULL) {
            printf("SKIP %s: %s\n", names[i], diag_last());
            continue;
        }
        printf("== %s: %s\n", ops->name, ops->summary);
        fflush(stdout);
        loaded += strcmp(ops->name, "glibc") != 0;
        CHECK(ops->caps == (ext_shared(ops) ? ALLOC_IN_SHM : 0u) && !allocator_can_check(ops),
              "%s: caps %#x", ops->name, ops->caps);
        ext_blocks(ops);
        ext_workers(ops);
        if (!ext_shared(ops)) {
            CHECK(strstr(ops->summary, "private heap: speed ceiling, not in shared memory"),
                  "%s: summary", ops->name);
            continue;
        }
        ext_exhaust(ops);
        ext_wrong_free(ops);
        ext_refusals(ops);
        ext_inherited(ops);
        if (strcmp(ops->name, "mimalloc-shm") == 0) {
            ext_many_zones(ops);
        }
    }
    ext_harness_malloc();
    if (loaded == 0 && test_failed == 0) {
        printf("test_external: neither jemalloc nor mimalloc could be loaded: skipped\n");
        return TEST_SKIPPED;
    }
    return test_summary("test_external");
}
