/*
 * test_registry: one conformance suite over every registered allocator.
 *
 * The same checks run over each allocator of `shmbench list`; what its caps
 * exclude is skipped with a line saying so, never silently:
 *
 *  - blocks: alignment (16 bytes, or a small block's own size rounded down
 *    to a power of two, as the slab's chunks have), usable_size >= the
 *    request, no two live blocks overlap, blocks of a shared allocator lie
 *    in the zone, content written to a block survives until it is freed;
 *  - size 0 gives a block that can be freed (every allocator here documents
 *    that: the slab as nginx, the others as malloc(0)); a huge request gives
 *    NULL and, in a zone, counts a fail;
 *  - exhaustion (allocators in a zone): allocation returns NULL, never
 *    crashes, counts a fail, and the zone recovers after frees;
 *  - check() clean after every phase (where the allocator has one);
 *  - bad frees refused with a message and the zone byte-for-byte unchanged
 *    (ALLOC_BAD_FREE_DETECTED); allocators that cannot detect them say why
 *    in their summary;
 *  - 4 forked workers churning on one zone (churn.h): with cross-process
 *    frees (ALLOC_CROSS_PROCESS_FREE), each freeing its own blocks otherwise
 *    (per-process allocators over the zone, each in its own slice).
 *
 * `test_registry NAME...` runs only the named allocators (tests/registry.cmake
 * registers one ctest each); a name the registry does not know fails, and
 * if every named allocator is one allocator_missing() lists, the test exits
 * with TEST_SKIPPED.  `test_registry --names NAME...` checks that NAME...
 * (the list in tests/registry.cmake) is the registry: every usable
 * allocator in it, every name in it known (usable, or listed missing).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "substrate/allocator.h"
#include "registry.h"
#include "substrate/diag.h"
#include "substrate/dynlib.h"
#include "mputil.h"
#include "substrate/proc.h"
#include "testutil.h"
#include "testskip.h"
#include "churn.h"

#define ZONE_BYTES   (16u << 20)
#define NLIVE        2000

static const char *
caps_of(const struct allocator_ops *ops)
{
    static char buf[256];

    return allocator_caps_string(ops, buf, sizeof(buf));
}

static int
shared(const struct allocator_ops *ops)
{
    return (ops->caps & ALLOC_IN_SHM) != 0;
}

static int
open_zone(struct zone *z, const struct allocator_ops *ops, size_t size, unsigned nworkers)
{
    struct alloc_params p;

    memset(&p, 0, sizeof(p));
    p.nworkers = nworkers;
    if (size < allocator_min_zone_size(ops, &p)) {
        size = allocator_min_zone_size(ops, &p);
    }
    if (allocator_zone_create(z, ops, ZONE_ANON, size, 0, &p, NULL) != 0) {
        CHECK(0, "%s: zone of %zu bytes: %s", ops->name, size, diag_last());
        return -1;
    }
    if (ops->attach && ops->attach(z) != 0) {
        CHECK(0, "%s: attach: %s", ops->name, diag_last());
        zone_destroy(z);
        return -1;
    }
    return 0;
}

static void
close_zone(struct zone *z)
{
    if (z->ops->fini) {
        z->ops->fini(z);
    }
    zone_destroy(z);
}

static void
check_zone(struct zone *z, const char *phase)
{
    if (allocator_can_check(z->ops)) {
        CHECK(z->ops->check(z, stderr) == 0, "%s: check after %s: %s", z->ops->name, phase,
              diag_last());
    }
}

static size_t
natural_align(size_t usable)
{
    size_t a = 16;

    while (a > 1 && a > usable) {
        a >>= 1;
    }
    return a;
}

/* One block: non-NULL, aligned, big enough, in the zone, filled. */
static int
take(struct zone *z, struct mp_block *b, size_t size, uint64_t tag)
{
    const struct allocator_ops *ops = z->ops;

    b->p = ops->alloc(z, size);
    b->size = size;
    b->tag = tag;
    if (b->p == NULL) {
        return -1;
    }
    b->usable = ops->usable_size ? ops->usable_size(z, b->p) : size;
    CHECK(b->usable >= size, "%s: usable_size %zu < %zu requested", ops->name, b->usable, size);
    CHECK(((uintptr_t) b->p & (natural_align(b->usable) - 1)) == 0,
          "%s: block %p of %zu bytes not aligned to %zu", ops->name, (void *) b->p, b->usable,
          natural_align(b->usable));
    if (shared(ops)) {
        CHECK(b->p >= z->base && b->p + size <= z->base + z->size,
              "%s: block %p outside the zone", ops->name, (void *) b->p);
    }
    mp_fill(b->p, size, tag);
    return 0;
}

static void
give_back(struct zone *z, struct mp_block *b)
{
    CHECK(mp_intact(b->p, b->size, b->tag), "%s: block of %zu bytes damaged", z->ops->name,
          b->size);
    CHECK(z->ops->free(z, b->p) == 0, "%s: free refused: %s", z->ops->name, diag_last());
    b->p = NULL;
}

static void
check_no_overlap(const struct allocator_ops *ops, struct mp_block *blk, size_t n)
{
    size_t bad = mp_overlaps(blk, n, 0);

    CHECK(bad == 0, "%s: %zu overlapping pairs among the live blocks", ops->name, bad);
}

static size_t
random_size(uint64_t *rng)
{
    uint64_t r = mp_rng(rng) % 100;

    return r < 80 ? mp_rng(rng) % 2049 : r < 97 ? mp_rng(rng) % 9000 : mp_rng(rng) % 70000;
}

static void
phase_blocks(const struct allocator_ops *ops)
{
    static const size_t edge[] = { 0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 2047, 2048, 2049,
                                   4095, 4096, 4097, 8192, 65536 };
    struct mp_block *blk = calloc(NLIVE, sizeof(*blk));
    struct zone   z;
    uint64_t      rng = 42, tag = 1;
    size_t        i, n = 0, fails = 0;

    if (open_zone(&z, ops, ZONE_BYTES, 1) != 0) {
        free(blk);
        return;
    }
    for (i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
        CHECK(take(&z, &blk[n++], edge[i], tag++) == 0, "%s: alloc(%zu) failed: %s", ops->name,
              edge[i], diag_last());
    }
    while (n < NLIVE) {
        fails += take(&z, &blk[n++], random_size(&rng), tag++) != 0;
    }
    CHECK(fails == 0, "%s: %zu of %d allocations failed in a %u-byte zone", ops->name, fails,
          NLIVE, ZONE_BYTES);
    check_no_overlap(ops, blk, n);
    check_zone(&z, "filling");

    for (i = 0; i < n; i += 2) {                 /* free half, refill */
        if (blk[i].p) {
            give_back(&z, &blk[i]);
        }
    }
    check_zone(&z, "freeing half");
    for (i = 0; i < n; i += 2) {
        take(&z, &blk[i], random_size(&rng), tag++);
    }
    check_no_overlap(ops, blk, n);
    check_zone(&z, "refilling");
    for (i = 0; i < n; i++) {
        if (blk[i].p) {
            give_back(&z, &blk[i]);
        }
    }
    check_zone(&z, "freeing all");
    close_zone(&z);
    free(blk);
}

static void
phase_huge(const struct allocator_ops *ops)
{
    struct zone        z;
    struct alloc_stats before, after;
    void              *p;

    if (open_zone(&z, ops, ZONE_BYTES, 1) != 0) {
        return;
    }
    memset(&before, 0, sizeof(before));
    memset(&after, 0, sizeof(after));
    if (ops->stats) {
        ops->stats(&z, &before);
    }
    p = ops->alloc(&z, SIZE_MAX / 4);
    CHECK(p == NULL, "%s: alloc(SIZE_MAX / 4) returned a block", ops->name);
    if (shared(ops)) {
        p = ops->alloc(&z, z.size + 1);
        CHECK(p == NULL, "%s: alloc(zone size + 1) returned a block", ops->name);
        if (ops->stats) {
            ops->stats(&z, &after);
            CHECK(after.fails >= before.fails + 2, "%s: huge requests counted %llu fails",
                  ops->name, (unsigned long long) (after.fails - before.fails));
        }
    }
    check_zone(&z, "huge requests");
    close_zone(&z);
}

static void
phase_exhaust(const struct allocator_ops *ops)
{
    struct mp_block      *blk;
    struct zone        z;
    struct alloc_stats st;
    uint64_t           rng = 7, tag = 1;
    size_t             n = 0, cap = 1u << 20, i, miss = 0;

    if (!shared(ops)) {
        printf("  skip exhaustion: %s has a private heap (no zone to fill)\n", ops->name);
        return;
    }
    if (open_zone(&z, ops, 1u << 20, 1) != 0) {
        return;
    }
    blk = calloc(cap, sizeof(*blk));
    /* Mixed sizes until several requests in a row fail. */
    while (n < cap && miss < 64) {
        if (take(&z, &blk[n], 16 + mp_rng(&rng) % 3000, tag++) == 0) {
            n++;
            miss = 0;
        } else {
            miss++;
        }
    }
    CHECK(miss == 64, "%s: a 1 MiB zone never filled (%zu blocks)", ops->name, n);
    memset(&st, 0, sizeof(st));
    if (ops->stats) {
        ops->stats(&z, &st);
        CHECK(st.fails >= 64, "%s: %llu fails counted for 64 failed requests", ops->name,
              (unsigned long long) st.fails);
    }
    check_no_overlap(ops, blk, n);
    check_zone(&z, "exhaustion");
    for (i = 0; i < n; i++) {
        give_back(&z, &blk[i]);
    }
    check_zone(&z, "draining a full zone");
    /* Recovery: the zone serves again. */
    for (i = 0, miss = 0; i < n / 2; i++) {
        miss += take(&z, &blk[i], 16 + mp_rng(&rng) % 3000, tag++) != 0;
    }
    CHECK(miss == 0, "%s: %zu of %zu allocations failed after draining a full zone",
          ops->name, miss, n / 2);
    for (i = 0; i < n / 2; i++) {
        if (blk[i].p) {
            give_back(&z, &blk[i]);
        }
    }
    check_zone(&z, "recovery");
    free(blk);
    close_zone(&z);
}

/* A refused free: -1, a message, and (in a zone) not one byte changed. */
static void
refused(struct zone *z, void *p, const char *what)
{
    unsigned char *before = NULL;

    if (shared(z->ops)) {
        before = malloc(z->size);
        memcpy(before, z->base, z->size);
    }
    diag_clear();
    CHECK(z->ops->free(z, p) == -1, "%s: %s accepted", z->ops->name, what);
    CHECK(diag_last()[0] != '\0', "%s: %s refused without a message", z->ops->name, what);
    if (before) {
        CHECK(memcmp(before, z->base, z->size) == 0, "%s: %s changed the zone", z->ops->name,
              what);
        free(before);
    }
    check_zone(z, what);
}

static void
phase_bad_free(const struct allocator_ops *ops)
{
    struct zone    z;
    struct mp_block   a = {0}, b = {0};
    unsigned char  local[64], *freed;

    if (!(ops->caps & ALLOC_BAD_FREE_DETECTED)) {
        printf("  skip bad frees: %s cannot detect them (%s)\n", ops->name, ops->summary);
        return;
    }
    if (open_zone(&z, ops, ZONE_BYTES, 1) != 0) {
        return;
    }
    if (take(&z, &a, 64, 1) != 0 || take(&z, &b, 5000, 2) != 0) {
        CHECK(0, "%s: blocks", ops->name);
        close_zone(&z);
        return;
    }
    refused(&z, local, "a free of a stack address");
    refused(&z, a.p + 1, "a free inside a block");
    refused(&z, b.p + 16, "a free 16 bytes into a block");
    freed = a.p;
    give_back(&z, &a);
    refused(&z, freed, "a double free");
    give_back(&z, &b);
    close_zone(&z);
}

static void
phase_churn(const struct allocator_ops *ops)
{
    struct zone z;
    int         cross = (ops->caps & ALLOC_CROSS_PROCESS_FREE) != 0;

    if (!shared(ops)) {
        printf("  skip multi-process churn: %s has a private heap\n", ops->name);
        return;
    }
    if (!cross) {
        printf("  multi-process churn without cross-process frees: %s frees only its own "
               "blocks (caps)\n", ops->name);
    }
    if (open_zone(&z, ops, 8 * ZONE_BYTES, CHURN_WORKERS) != 0) {
        return;
    }
    churn_run(ops, &z, 20000, cross, 4096, ops->name);
    check_zone(&z, "the multi-process churn");
    close_zone(&z);
}

/* Is name one of list[0..n)? */
static int
listed(const char *name, char **list, int n)
{
    int j;

    for (j = 0; j < n; j++) {
        if (strcmp(list[j], name) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Does the registry know name (usable, or listed missing)? */
static int
known(const char *name)
{
    const struct allocator_ops *const *all;
    const struct allocator_missing    *gone;
    size_t                             i, n, k;

    all = allocator_all(&n);
    gone = allocator_missing(&k);
    for (i = 0; i < n; i++) {
        if (strcmp(all[i]->name, name) == 0) {
            return 1;
        }
    }
    for (i = 0; i < k; i++) {
        if (strcmp(gone[i].name, name) == 0) {
            return 1;
        }
    }
    return 0;
}

/* --names: the cmake list against the registry, both ways. */
static int
check_names(char **list, int nlist)
{
    const struct allocator_ops *const *all;
    size_t                             i, n, k;
    int                                j;

    all = allocator_all(&n);
    allocator_missing(&k);
    for (i = 0; i < n; i++) {
        CHECK(listed(all[i]->name, list, nlist), "the registry has \"%s\", which "
              "tests/registry.cmake does not list: add it there", all[i]->name);
    }
    for (j = 0; j < nlist; j++) {
        CHECK(known(list[j]), "tests/registry.cmake lists \"%s\", which the registry "
              "does not know", list[j]);
    }
    printf("%zu allocators usable, %zu listed missing, %d in tests/registry.cmake\n",
           n, k, nlist);
    return test_summary("test_registry --names");
}

int
main(int argc, char **argv)
{
    const struct allocator_ops *const *all;
    const struct allocator_missing    *gone;
    size_t                             i, n, k;
    int                                j, ran = 0, skipped = 0;

    dynlib_reexec_with_static_tls(argv);     /* so that jemalloc can be loaded */
    proc_init();
    if (argc > 1 && strcmp(argv[1], "--names") == 0) {
        return check_names(argv + 2, argc - 2);
    }
    all = allocator_all(&n);
    gone = allocator_missing(&k);
    for (i = 0; i < k; i++) {
        if (argc == 1 || listed(gone[i].name, argv + 1, argc - 1)) {
            printf("skip %s: not available: %s\n", gone[i].name, gone[i].why);
            skipped++;
        }
    }
    for (j = 1; j < argc; j++) {
        CHECK(known(argv[j]), "no allocator \"%s\" in the registry", argv[j]);
    }
    for (i = 0; i < n; i++) {
        if (argc > 1 && !listed(all[i]->name, argv + 1, argc - 1)) {
            continue;
        }
        ran++;
        printf("== %s (%s)\n", all[i]->name, caps_of(all[i]));
        fflush(stdout);
        phase_blocks(all[i]);
        phase_huge(all[i]);
        phase_exhaust(all[i]);
        phase_bad_free(all[i]);
        phase_churn(all[i]);
    }
    if (ran == 0 && skipped > 0 && test_failed == 0) {
        printf("test_registry: every allocator asked for is unavailable: skipped\n");
        return TEST_SKIPPED;
    }
    return test_summary("test_registry");
}
