/*
 * test_boost: `boost-rbtree` and `boost-seqfit`, Boost.Interprocess's own
 * algorithms behind the ops table (alloc/boost_ipc.cpp).
 *
 * For each: the C++ adapter sees the C structs as C does; blocks are aligned
 * to Boost's 16 bytes, usable_size >= the request, live blocks do not
 * overlap and keep their contents; exhaustion returns NULL (also for the
 * sizes near SIZE_MAX that Boost 1.74's own arithmetic gets wrong) and is
 * counted; check() is clean after every phase; frees refused before Boost
 * (NULL, outside the blocks, misaligned) say why and leave the zone
 * byte-for-byte unchanged; after everything is freed the free memory is back
 * to that of the empty segment and one block of almost all of it can be
 * allocated (every free merged); the segment works from a second mapping at
 * another address (offset_ptr); 4 forked workers churn with cross-process
 * frees through shared rings and leave the segment clean and empty.
 *
 * Not tested, by design: a double free or a 16-aligned interior pointer
 * (Boost cannot tell them from a block: undefined behaviour, not refused),
 * and a process dying inside Boost (its mutex is not robust: the others
 * would block for ever).
 */
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "substrate/allocator.h"
#include "registry.h"
#include "baselines/boost_ipc.h"
#include "substrate/diag.h"
#include "mputil.h"
#include "substrate/proc.h"
#include "testutil.h"

#define NWORKERS 4
#define NLIVE    1000

static size_t boost_align;
static char   last_refusal[512];        /* the last refused free's message */

/* Boost's block alignment, from the adapter. */
static void
test_alignment(void)
{
    boost_align = boost_ipc_alignment(BOOST_IPC_RBTREE);
    CHECK(boost_align == 16 && boost_ipc_alignment(BOOST_IPC_SEQFIT) == 16,
          "Boost's alignment is %zu", boost_align);
    printf("Boost's alignment: %zu bytes (Boost %s)\n", boost_align, boost_ipc_version());
}

static int
open_zone(struct zone *z, const struct allocator_ops *ops, enum zone_method m, size_t size,
    const char *name)
{
    if (allocator_zone_create(z, ops, m, size, 0, NULL, name) != 0) {
        CHECK(0, "%s: zone of %zu bytes: %s", ops->name, size, diag_last());
        return -1;
    }
    CHECK(ops->attach(z) == 0, "%s: attach in the formatting process: %s", ops->name,
          diag_last());
    return 0;
}

static void
close_zone(struct zone *z)
{
    z->ops->fini(z);
    CHECK(z->priv == NULL, "%s: fini left the private handle", z->ops->name);
    zone_destroy(z);
}

static void
check_clean(struct zone *z, const char *phase)
{
    CHECK(z->ops->check(z, stderr) == 0, "%s: check after %s: %s", z->ops->name, phase,
          diag_last());
}

static int
take(struct zone *z, struct mp_block *b, size_t size, uint64_t tag)
{
    b->p = z->ops->alloc(z, size);
    b->size = size;
    b->tag = tag;
    if (b->p == NULL) {
        return -1;
    }
    b->usable = z->ops->usable_size(z, b->p);
    CHECK(b->usable >= size, "%s: usable_size %zu < %zu requested", z->ops->name, b->usable,
          size);
    CHECK(((uintptr_t) b->p & (boost_align - 1)) == 0, "%s: block %p not aligned to %zu",
          z->ops->name, (void *) b->p, boost_align);
    CHECK(b->p >= z->base + z->ops->data_offset(z) && b->p + b->usable <= z->base + z->size,
          "%s: block %p (%zu bytes) outside [data, zone end)", z->ops->name, (void *) b->p,
          b->usable);
    mp_fill(b->p, b->usable, tag);              /* all of it is ours */
    return 0;
}

static void
give_back(struct zone *z, struct mp_block *b)
{
    CHECK(mp_intact(b->p, b->usable, b->tag), "%s: block of %zu bytes damaged", z->ops->name,
          b->usable);
    CHECK(z->ops->free(z, b->p) == 0, "%s: free refused: %s", z->ops->name, diag_last());
    b->p = NULL;
}

static void
check_no_overlap(struct zone *z, const struct mp_block *blk, size_t n)
{
    size_t bad = mp_overlaps(blk, n, 0);

    CHECK(bad == 0, "%s: %zu overlapping pairs among the live blocks", z->ops->name, bad);
}

/* Everything freed: free memory is the empty segment's, and almost all of
 * it comes back as one block (every free merged with its neighbours). */
static void
check_empty(struct zone *z, const char *phase)
{
    struct alloc_stats st;
    void              *p;

    z->ops->stats(z, &st);
    CHECK(st.free_bytes == st.data_bytes, "%s: after %s %llu bytes free, %llu when empty",
          z->ops->name, phase, (unsigned long long) st.free_bytes,
          (unsigned long long) st.data_bytes);
    p = z->ops->alloc(z, st.free_bytes - 64);
    CHECK(p != NULL, "%s: after %s no block of %llu bytes (free memory not merged)",
          z->ops->name, phase, (unsigned long long) (st.free_bytes - 64));
    if (p) {
        CHECK(z->ops->free(z, p) == 0, "%s: free of the big block: %s", z->ops->name,
              diag_last());
    }
}

static void
test_blocks(const struct allocator_ops *ops)
{
    static const size_t edge[] = { 0, 1, 7, 8, 9, 15, 16, 17, 24, 25, 40, 41, 63, 64, 65,
                                   2047, 2048, 2049, 4096, 65536 };
    struct mp_block      *blk = calloc(NLIVE, sizeof(*blk));
    struct alloc_stats st;
    struct zone        z;
    uint64_t           rng = 5, tag = 1;
    size_t             i, n = 0, fails = 0;

    CHECK(ops->caps == (ALLOC_IN_SHM | ALLOC_CROSS_PROCESS_FREE) && allocator_can_check(ops)
          && !allocator_takes_pages(ops),
          "%s: caps %#x", ops->name, ops->caps);
    CHECK(ops->alloc_locked == NULL && ops->free_locked == NULL,
          "%s: Boost locks inside: no _locked forms", ops->name);
    if (open_zone(&z, ops, ZONE_ANON, 16u << 20, NULL) != 0) {
        free(blk);
        return;
    }
    CHECK(strcmp(z.ctl->allocator, ops->name) == 0 && z.ctl->formatted == 1,
          "%s: control block names \"%s\"", ops->name, z.ctl->allocator);
    ops->stats(&z, &st);
    CHECK(st.data_bytes > 0 && st.data_bytes < z.size && st.free_bytes == st.data_bytes
          && st.zone_bytes == z.size && st.fails == 0 && st.largest_free == 0,
          "%s: empty stats: data %llu free %llu fails %llu", ops->name,
          (unsigned long long) st.data_bytes, (unsigned long long) st.free_bytes,
          (unsigned long long) st.fails);

    for (i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
        CHECK(take(&z, &blk[n++], edge[i], tag++) == 0, "%s: alloc(%zu): %s", ops->name,
              edge[i], diag_last());
    }
    while (n < NLIVE) {
        fails += take(&z, &blk[n++], mp_rng(&rng) % 3001, tag++) != 0;
    }
    CHECK(fails == 0, "%s: %zu allocations failed in 16 MiB", ops->name, fails);
    check_no_overlap(&z, blk, n);
    check_clean(&z, "filling");
    ops->stats(&z, &st);
    CHECK(st.free_bytes < st.data_bytes && st.footprint == st.data_bytes - st.free_bytes
          && st.header_bytes + st.data_bytes == z.size,
          "%s: stats while full: free %llu footprint %llu", ops->name,
          (unsigned long long) st.free_bytes, (unsigned long long) st.footprint);

    for (i = 0; i < n; i += 3) {                        /* free a third, refill */
        give_back(&z, &blk[i]);
    }
    check_clean(&z, "freeing a third");
    for (i = 0; i < n; i += 3) {
        fails += take(&z, &blk[i], mp_rng(&rng) % 3001, tag++) != 0;
    }
    CHECK(fails == 0, "%s: refill failed", ops->name);
    check_no_overlap(&z, blk, n);
    check_clean(&z, "refilling");
    for (i = 0; i < n; i++) {
        give_back(&z, &blk[i]);
    }
    check_clean(&z, "freeing all");
    check_empty(&z, "freeing all");
    close_zone(&z);
    free(blk);
}

/* The smallest zone init accepts serves at least one small block; one byte
 * less is refused with a message. */
static void
test_min_zone(const struct allocator_ops *ops)
{
    struct zone z;
    size_t              min = allocator_min_zone_size(ops, NULL);
    struct alloc_params params = alloc_params_resolve(NULL);
    void               *p;

    memset(&z, 0, sizeof(z));
    CHECK(zone_create(&z, ZONE_ANON, min - 1, 0, NULL) == 0, "zone: %s", diag_last());
    diag_clear();
    CHECK(ops->init(&z, &params) == -1 && diag_last()[0], "%s: init of %zu bytes", ops->name,
          min - 1);
    zone_destroy(&z);
    if (open_zone(&z, ops, ZONE_ANON, min, NULL) != 0) {
        return;
    }
    p = ops->alloc(&z, 16);
    CHECK(p != NULL, "%s: no block of 16 bytes in the smallest zone (%zu bytes)", ops->name,
          min);
    if (p) {
        CHECK(ops->free(&z, p) == 0, "%s: free: %s", ops->name, diag_last());
    }
    check_clean(&z, "the smallest zone");
    close_zone(&z);
}

static void
test_exhaustion(const struct allocator_ops *ops)
{
    static const size_t huge[] = { SIZE_MAX, SIZE_MAX - 8, SIZE_MAX - 100, SIZE_MAX / 4 };
    struct mp_block      *blk = calloc(4096, sizeof(*blk));
    struct alloc_stats st;
    struct zone        z;
    size_t             i, n = 0;
    void              *p;

    if (open_zone(&z, ops, ZONE_ANON, 256u << 10, NULL) != 0) {
        free(blk);
        return;
    }
    while (n < 4096 && take(&z, &blk[n], 1000, n + 1) == 0) {
        n++;
    }
    CHECK(n > 200 && n < 4096, "%s: %zu blocks of 1000 bytes in 256 KiB", ops->name, n);
    ops->stats(&z, &st);
    CHECK(st.fails == 1, "%s: %llu fails counted for 1", ops->name,
          (unsigned long long) st.fails);
    for (i = 0; i < 9; i++) {
        CHECK(ops->alloc(&z, 1000) == NULL, "%s: a full zone gave a block", ops->name);
    }
    ops->stats(&z, &st);
    CHECK(st.fails == 10, "%s: %llu fails counted for 10", ops->name,
          (unsigned long long) st.fails);
    check_clean(&z, "exhaustion");
    check_no_overlap(&z, blk, n);
    for (i = 0; i < n; i++) {
        give_back(&z, &blk[i]);
    }
    check_clean(&z, "draining");
    check_empty(&z, "draining");

    /* Requests larger than the segment; near SIZE_MAX Boost 1.74 alone
     * would hand out a small block. */
    for (i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
        p = ops->alloc(&z, huge[i]);
        CHECK(p == NULL, "%s: alloc(%zu) gave a block", ops->name, huge[i]);
    }
    CHECK(ops->alloc(&z, z.size + 1) == NULL, "%s: alloc(zone + 1) gave a block", ops->name);
    ops->stats(&z, &st);
    CHECK(st.fails == 10 + sizeof(huge) / sizeof(huge[0]) + 1, "%s: %llu fails after huge "
          "requests", ops->name, (unsigned long long) st.fails);
    check_clean(&z, "huge requests");
    check_empty(&z, "huge requests");
    close_zone(&z);
    free(blk);
}

/* A refused free or usable_size: -1 / 0, a message, not a byte changed. */
static void
refused(struct zone *z, void *p, const char *what)
{
    struct alloc_stats a, b;
    unsigned char     *before = malloc(z->size);
    unsigned long      n = diag_count();

    z->ops->stats(z, &a);
    memcpy(before, z->base, z->size);
    diag_clear();
    CHECK(z->ops->free(z, p) == -1, "%s: %s accepted", z->ops->name, what);
    CHECK(diag_last()[0] != '\0' && diag_count() > n, "%s: %s refused without a message",
          z->ops->name, what);
    snprintf(last_refusal, sizeof(last_refusal), "%s", diag_last());
    CHECK(z->ops->usable_size(z, p) == 0, "%s: usable_size of %s", z->ops->name, what);
    CHECK(memcmp(before, z->base, z->size) == 0, "%s: %s changed the zone", z->ops->name,
          what);
    z->ops->stats(z, &b);
    CHECK(a.free_bytes == b.free_bytes, "%s: %s changed free memory", z->ops->name, what);
    check_clean(z, what);
    free(before);
}

static void
test_bad_free(const struct allocator_ops *ops)
{
    struct zone    z;
    struct mp_block   a, b;
    unsigned char  local[64];
    unsigned char *data;

    if (open_zone(&z, ops, ZONE_ANON, 1u << 20, NULL) != 0) {
        return;
    }
    data = z.base + ops->data_offset(&z);
    CHECK(take(&z, &a, 64, 1) == 0 && take(&z, &b, 5000, 2) == 0, "%s: blocks", ops->name);
    CHECK(a.p == data, "%s: first block %p, data start %p", ops->name, (void *) a.p,
          (void *) data);
    refused(&z, NULL, "a free of NULL");
    refused(&z, local, "a free of a stack address");
    refused(&z, z.base, "a free of the zone's base (our header)");
    refused(&z, data - boost_align, "a free inside Boost's segment header");
    refused(&z, z.base + z.size, "a free just past the zone");
    refused(&z, a.p + 1, "a free 1 byte into a block");
    refused(&z, b.p + 8, "a free 8 bytes into a block");
    refused(&z, b.p - 4, "a free 4 bytes before a block");
    printf("%s refuses, e.g.: %s\n", ops->name, last_refusal);
    give_back(&z, &a);
    give_back(&z, &b);
    check_clean(&z, "bad frees");
    check_empty(&z, "bad frees");
    close_zone(&z);
}

/* The segment from a second mapping of the same posix zone, at another
 * address: allocate there, free here, and the other way round. */
static void
test_second_mapping(const struct allocator_ops *ops)
{
    struct zone        z, y;
    struct alloc_stats a, b;
    unsigned char     *p, *q;
    char               name[64];

    snprintf(name, sizeof(name), "/shmbench-test-boost-%d", (int) getpid());
    if (open_zone(&z, ops, ZONE_POSIX, 1u << 20, name) != 0) {
        return;
    }
    memset(&y, 0, sizeof(y));
    if (zone_attach(&y, name, 0) != 0) {
        CHECK(0, "%s: zone_attach: %s", ops->name, diag_last());
        close_zone(&z);
        return;
    }
    y.ops = ops;
    CHECK(y.base != z.base, "%s: second mapping at the same address", ops->name);
    CHECK(ops->attach(&y) == 0, "%s: attach of the second mapping: %s", ops->name,
          diag_last());
    p = ops->alloc(&y, 300);
    q = ops->alloc(&z, 500);
    CHECK(p && q, "%s: alloc through both mappings", ops->name);
    if (p && q) {
        mp_fill(p, 300, 7);
        CHECK(mp_intact(z.base + (p - y.base), 300, 7), "%s: block not seen through the first "
              "mapping", ops->name);
        CHECK(ops->usable_size(&z, z.base + (p - y.base)) == ops->usable_size(&y, p),
              "%s: usable_size differs between mappings", ops->name);
        ops->stats(&z, &a);
        ops->stats(&y, &b);
        CHECK(a.free_bytes == b.free_bytes && a.data_bytes == b.data_bytes,
              "%s: stats differ between mappings", ops->name);
        CHECK(ops->check(&y, stderr) == 0, "%s: check through the second mapping: %s",
              ops->name, diag_last());
        CHECK(ops->free(&z, z.base + (p - y.base)) == 0 && ops->free(&y, y.base + (q - z.base))
              == 0, "%s: cross-mapping frees: %s", ops->name, diag_last());
    }
    check_clean(&z, "the second mapping");
    check_empty(&y, "the second mapping");
    ops->fini(&y);
    zone_destroy(&y);
    close_zone(&z);
}

struct churn_shared {
    struct mp_ring ring[NWORKERS];      /* ring[w]: blocks for worker w to free */
    _Atomic int    done[NWORKERS];
    uint64_t       allocs[NWORKERS], frees[NWORKERS];
};

/* Exit status: 0 ok, 1 damaged block, 2 free refused, 4 attach failed. */
static int
churn_worker(struct zone *z, struct churn_shared *sh, int w, unsigned ops)
{
    const struct allocator_ops *a = z->ops;
    uint64_t                    rng = 77 + (uint64_t) w * 7919, off, size, tag;
    struct mp_block                mine[48], b;
    unsigned                    i, n = 0;
    int                         bad = 0;

    proc_set_index(w + 1);
    if (a->attach(z) != 0) {
        return 4;
    }
    for (i = 0; i < ops; i++) {
        while (mp_ring_get(&sh->ring[w], &off, &size, &tag) == 0) {
            bad |= !mp_intact(z->base + off, size, tag);
            bad |= (a->free(z, z->base + off) != 0) << 1;
            sh->frees[w]++;
        }
        size = mp_rng(&rng) % 100 < 90 ? mp_rng(&rng) % 513 : mp_rng(&rng) % 8193;
        b.p = a->alloc(z, size);
        if (b.p == NULL) {
            continue;
        }
        sh->allocs[w]++;
        b.size = size;
        b.tag = ((uint64_t) w << 32) | i;
        mp_fill(b.p, size, b.tag);
        if (mp_rng(&rng) % 4 != 0
            && mp_ring_put(&sh->ring[(w + 1) % NWORKERS], (uint64_t) (b.p - z->base), size,
                           b.tag) == 0)
        {
            continue;                           /* the next worker frees it */
        }
        if (n == 48) {
            unsigned k = (unsigned) (mp_rng(&rng) % n);
            bad |= !mp_intact(mine[k].p, mine[k].size, mine[k].tag);
            bad |= (a->free(z, mine[k].p) != 0) << 1;
            sh->frees[w]++;
            mine[k] = mine[--n];
        }
        mine[n++] = b;
    }
    while (n--) {
        bad |= !mp_intact(mine[n].p, mine[n].size, mine[n].tag);
        bad |= (a->free(z, mine[n].p) != 0) << 1;
        sh->frees[w]++;
    }
    atomic_store(&sh->done[w], 1);
    for (;;) {
        int producer_done = atomic_load(&sh->done[(w + NWORKERS - 1) % NWORKERS]);
        while (mp_ring_get(&sh->ring[w], &off, &size, &tag) == 0) {
            bad |= !mp_intact(z->base + off, size, tag);
            bad |= (a->free(z, z->base + off) != 0) << 1;
            sh->frees[w]++;
        }
        if (producer_done) {
            break;
        }
        sched_yield();
    }
    a->fini(z);
    return bad;
}

static void
test_churn(const struct allocator_ops *ops, unsigned nops)
{
    struct churn_shared *sh;
    struct alloc_stats   st;
    struct zone          z;
    pid_t                pid[NWORKERS];
    uint64_t             allocs = 0, frees = 0;
    int                  w, status;

    if (open_zone(&z, ops, ZONE_ANON, 8u << 20, NULL) != 0) {
        return;
    }
    sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    memset(sh, 0, sizeof(*sh));
    fflush(stdout);
    for (w = 0; w < NWORKERS; w++) {
        pid[w] = fork();
        if (pid[w] == 0) {
            alarm(60);
            _exit(churn_worker(&z, sh, w, nops));
        }
    }
    for (w = 0; w < NWORKERS; w++) {
        status = wait_child(pid[w]);
        CHECK(status == 0, "%s: churn worker %d ended with %d (1 damaged block, 2 free "
              "refused, 4 attach, 142 alarm)", ops->name, w, status);
        allocs += sh->allocs[w];
        frees += sh->frees[w];
    }
    CHECK(allocs == frees && allocs > 0, "%s: %llu allocations, %llu frees", ops->name,
          (unsigned long long) allocs, (unsigned long long) frees);
    ops->stats(&z, &st);
    CHECK(st.fails == 0, "%s: %llu failed allocations in the churn", ops->name,
          (unsigned long long) st.fails);
    check_clean(&z, "the 4-process churn");
    check_empty(&z, "the 4-process churn");
    printf("%s: %d workers x %u ops: %llu blocks, cross-process frees through rings\n",
           ops->name, NWORKERS, nops, (unsigned long long) allocs);
    munmap(sh, sizeof(*sh));
    close_zone(&z);
}

int
main(void)
{
    static const char *names[] = { "boost-rbtree", "boost-seqfit" };
    const struct allocator_ops *ops;
    size_t                      i;

    proc_init();
    test_alignment();
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        ops = allocator_find(names[i]);
        CHECK(ops != NULL, "%s: %s", names[i], diag_last());
        if (ops == NULL) {
            continue;
        }
        printf("== %s: %s\n", ops->name, ops->summary);
        test_blocks(ops);
        test_min_zone(ops);
        test_exhaustion(ops);
        test_bad_free(ops);
        test_second_mapping(ops);
        test_churn(ops, 40000);
    }
    return test_summary("test_boost");
}
