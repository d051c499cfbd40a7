/*
 * test_slab: the slab in one process.
 *
 * Geometry (nginx's page count for given zone sizes), every page size,
 * every refused free (exact message, zone byte-for-byte unchanged, stats
 * unchanged), the checker catching injected corruption and surviving random
 * garbage, calloc, usable_size.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "substrate/allocator.h"
#include "registry.h"
#include "substrate/diag.h"
#include "subject/slab.h"
#include "testutil.h"

static struct slab_pool *
new_pool(size_t size, size_t P)
{
    struct slab_pool *pool = aligned_alloc(P, (size + P - 1) / P * P);

    memset(pool, 0, size);
    if (slab_init(pool, size, P, NULL) != 0) {
        free(pool);
        return NULL;
    }
    return pool;
}

static void
test_geometry(void)
{
    static const struct { size_t size, pages; } cases[] = {
        { 8192, 1 }, { 36864, 8 }, { 581632, 141 }, { 589824, 142 },
        { 4124672, 1000 }, { 16879616, 4096 }, { 10485760, 2544 },
        { 1048576, 254 }, { 9192, 1 }, { 23480, 4 }, { 32768, 7 }, { 65536, 15 },
    };
    size_t i, N, P;
    struct slab_pool *pool;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pool = new_pool(cases[i].size, 4096);
        CHECK(pool && slab_npages(pool) == cases[i].pages, "zone %zu: %zu pages, expected %zu",
              cases[i].size, pool ? slab_npages(pool) : 0, cases[i].pages);
        CHECK(pool && slab_check(pool, cases[i].size, stderr) == 0, "fresh zone %zu", cases[i].size);
        free(pool);
    }
    CHECK(slab_zone_size_for_pages(1, 4096) == 8192, "Z(1)");
    CHECK(slab_zone_size_for_pages(8, 4096) == 36864, "Z(8)");
    CHECK(slab_zone_size_for_pages(4096, 4096) == 16879616, "Z(4096)");
    for (P = 4096; P <= 65536; P *= 4) {
        for (N = 1; N < (P == 4096 ? 3000 : 300); N += 37) {
            size_t Z = slab_zone_size_for_pages(N, P);
            pool = new_pool(Z, P);
            CHECK(pool && slab_npages(pool) == N, "P %zu N %zu", P, N);
            free(pool);
        }
    }

    /* Too small: the message gives the minimum. */
    {
        unsigned char *buf = aligned_alloc(4096, 8192);
        memset(buf, 0, 8192);
        CHECK(slab_init((struct slab_pool *) buf, 8191, 4096, NULL) == -1, "8191 bytes accepted");
        CHECK(strstr(diag_last(), "needs at least 8192 bytes") != NULL, "message: %s", diag_last());
        CHECK(slab_init((struct slab_pool *) buf, 8192, 3000, NULL) == -1, "page 3000 accepted");
        CHECK(strstr(diag_last(), "not a power of two") != NULL, "message: %s", diag_last());
        CHECK(slab_init((struct slab_pool *) buf, 8192, 131072, NULL) == -1, "page 128k accepted");
        free(buf);
    }
}

/* Allocate one block of every kind and some page runs; fill them. */
struct fixture {
    struct slab_pool *pool;
    size_t            size, P;
    void             *blk[64];
    size_t            req[64];
    unsigned          n;
};

static int
fixture_make(struct fixture *f, size_t P)
{
    size_t   s;
    unsigned i;

    memset(f, 0, sizeof(*f));
    f->P = P;
    f->size = slab_zone_size_for_pages(64, P);
    f->pool = new_pool(f->size, P);
    if (f->pool == NULL) {
        return -1;
    }
    for (s = 1; s <= P / 2; s *= 2) {          /* every slot, two chunks each */
        for (i = 0; i < 2; i++) {
            f->req[f->n] = s;
            f->blk[f->n++] = slab_alloc(f->pool, s);
        }
    }
    f->req[f->n] = P + 1;                        /* a 2-page run */
    f->blk[f->n++] = slab_alloc(f->pool, P + 1);
    f->req[f->n] = 0;                            /* size 0 */
    f->blk[f->n++] = slab_alloc(f->pool, 0);
    for (i = 0; i < f->n; i++) {
        if (f->blk[i] == NULL) {
            return -1;
        }
        memset(f->blk[i], 0x5a, f->req[i]);
    }
    return 0;
}

static void
expect_refused(struct fixture *f, void *p, const char *msg, const char *what)
{
    unsigned char *before = malloc(f->size);

    memcpy(before, f->pool, f->size);
    diag_clear();
    CHECK(slab_free(f->pool, p) == -1, "P %zu %s: free accepted", f->P, what);
    CHECK(strcmp(diag_last(), msg) == 0, "P %zu %s: message \"%s\", expected \"%s\"",
          f->P, what, diag_last(), msg);
    /* The lock word may differ in nothing either: it was released. */
    CHECK(memcmp(before, f->pool, f->size) == 0, "P %zu %s: zone changed by a refused free",
          f->P, what);
    CHECK(slab_check(f->pool, f->size, stderr) == 0, "P %zu %s: check after refusal", f->P, what);
    free(before);
}

static void
test_bad_frees(size_t P)
{
    struct fixture f;
    unsigned char *start, *run, *small, *exact, *big;
    unsigned       i;

    CHECK(fixture_make(&f, P) == 0, "fixture P %zu", P);
    if (f.pool == NULL) {
        return;
    }
    CHECK(slab_check(f.pool, f.size, stderr) == 0, "fixture check P %zu", P);

    for (i = 0; i < f.n; i++) {
        size_t u = slab_usable_size(f.pool, f.blk[i]);
        size_t want = f.req[i] > P / 2 ? (f.req[i] + P - 1) / P * P
                      : f.req[i] <= 8 ? 8 : (size_t) 1 << (64 - __builtin_clzll(f.req[i] - 1));
        CHECK(u == want, "P %zu usable_size(%zu) = %zu, expected %zu", P, f.req[i], u, want);
        CHECK(((uintptr_t) f.blk[i] & (want < P ? want - 1 : P - 1)) == 0,
              "P %zu block of %zu misaligned", P, f.req[i]);
    }

    start = (unsigned char *) f.pool + f.pool->start;
    small = f.blk[0];                    /* 1 byte -> 8-byte slot */
    exact = NULL;
    big = NULL;
    for (i = 0; i < f.n; i++) {
        if (f.req[i] == P / 64 && !exact) exact = f.blk[i];
        if (f.req[i] == P / 2 && !big) big = f.blk[i];
    }
    run = f.blk[f.n - 2];

    expect_refused(&f, (unsigned char *) f.pool + 16, "slab_free(): outside of pool", "header");
    expect_refused(&f, start - 1, "slab_free(): outside of pool", "before start");
    expect_refused(&f, start + slab_npages(f.pool) * P, "slab_free(): outside of pool", "after last page");
    expect_refused(&f, (unsigned char *) f.pool + f.size, "slab_free(): outside of pool", "at end");
    expect_refused(&f, small + 1, "slab_free(): pointer to wrong chunk", "small +1");
    expect_refused(&f, exact + 8, "slab_free(): pointer to wrong chunk", "exact +8");
    expect_refused(&f, big + 64, "slab_free(): pointer to wrong chunk", "big +64");
    expect_refused(&f, run + 8, "slab_free(): pointer to wrong chunk", "run +8");
    expect_refused(&f, run + P, "slab_free(): pointer to wrong page", "run 2nd page");
    expect_refused(&f, (unsigned char *) ((uintptr_t) small & ~(uintptr_t) (P - 1)),
                   "slab_free(): pointer to the page's bitmap", "small bitmap chunk");
    expect_refused(&f, start + (slab_npages(f.pool) - 1) * P, "slab_free(): page is already free",
                   "free page");
    CHECK(slab_usable_size(f.pool, run + P) == 0, "usable_size of a run's 2nd page");

    /* Double frees of every kind. */
    CHECK(slab_free(f.pool, small) == 0, "free small");
    expect_refused(&f, small, "slab_free(): chunk is already free", "small twice");
    CHECK(slab_free(f.pool, exact) == 0, "free exact");
    expect_refused(&f, exact, "slab_free(): chunk is already free", "exact twice");
    CHECK(slab_free(f.pool, big) == 0, "free big");
    expect_refused(&f, big, "slab_free(): chunk is already free", "big twice");
    CHECK(slab_free(f.pool, run) == 0, "free run");
    expect_refused(&f, run, "slab_free(): page is already free", "run twice");
    CHECK(slab_usable_size(f.pool, run) == 0, "usable_size of a freed run");

    /* Everything else back: the zone is as new. */
    for (i = 1; i < f.n; i++) {
        if (f.blk[i] != exact && f.blk[i] != big && f.blk[i] != run) {
            CHECK(slab_free(f.pool, f.blk[i]) == 0, "free %u: %s", i, diag_last());
        }
    }
    CHECK(f.pool->pfree == slab_npages(f.pool), "P %zu: %llu of %zu pages free", P,
          (unsigned long long) f.pool->pfree, slab_npages(f.pool));
    for (i = 0; i < slab_nslots(f.pool); i++) {
        CHECK(slab_stats(f.pool)[i].used == 0 && slab_stats(f.pool)[i].total == 0,
              "P %zu slot %u not empty", P, 8u << i);
    }
    CHECK(slab_largest_free_run(f.pool, f.size) == slab_npages(f.pool), "one run after all frees");
    CHECK(slab_check(f.pool, f.size, stderr) == 0, "check after all frees");
    free(f.pool);
}

static void
test_calloc(void)
{
    size_t            Z = slab_zone_size_for_pages(8, 4096);
    struct slab_pool *pool = new_pool(Z, 4096);
    unsigned char    *p, *q;
    size_t            i;
    int               zero = 1;

    p = slab_alloc(pool, 100);
    memset(p, 0xff, 128);
    slab_free(pool, p);
    q = slab_calloc(pool, 100);
    CHECK(q == p, "calloc reuses the chunk");
    for (i = 0; i < 100; i++) {
        zero &= q[i] == 0;
    }
    CHECK(zero, "calloc zeroes the requested bytes");
    CHECK(q[100] == 0xff, "calloc zeroes the requested size only, as nginx");
    free(pool);
}

/* A healthy busy zone, then one corruption at a time. */
static void
test_check_detects(void)
{
    size_t            Z = slab_zone_size_for_pages(128, 4096);
    struct slab_pool *pool = new_pool(Z, 4096), *copy;
    struct slab_page *desc;
    void             *keep[210];
    unsigned          i, k = 0;
    uint64_t          x;
    static const struct { const char *what, *expect; } cases[] = {
        { "pfree", "pfree" },
        { "used", "used is" },
        { "total", "total is" },
        { "free link", "not a page descriptor" },
        { "page shift", "page shift" },
        { "exact bitmap", "used is" },
        { "run busy", "not marked busy" },
        { "last", "descriptor boundary" },
        { "slot link", "slot" },
        { "full linked", "full" },
    };

    for (i = 0; i < 196; i++) {
        keep[k++] = slab_alloc(pool, (i * 97) % 9000);
    }
    for (i = 0; i < 196; i += 3) {
        slab_free(pool, keep[i]);
    }
    keep[k++] = slab_alloc(pool, 64);         /* an exact page */
    keep[k++] = slab_alloc(pool, 3 * 4096);   /* a multi-page run */
    keep[k++] = slab_alloc(pool, 2048);       /* at least one full big page */
    keep[k++] = slab_alloc(pool, 2048);
    CHECK(slab_check(pool, Z, stderr) == 0, "busy zone is consistent");
    copy = aligned_alloc(4096, Z);
    desc = (struct slab_page *) ((unsigned char *) copy + pool->pages);

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned j;
        memcpy(copy, pool, Z);
        switch (i) {
        case 0: copy->pfree++; break;
        case 1: ((struct slab_stat *) ((unsigned char *) copy + copy->stats))[0].used++; break;
        case 2: ((struct slab_stat *) ((unsigned char *) copy + copy->stats))[4].total += 32; break;
        case 3: copy->free.next = 12345; break;
        case 4: copy->page_shift = 20; break;
        case 5:                                   /* flip a bit in an exact page */
            for (j = 0; j < slab_npages(copy); j++) {
                if ((desc[j].prev & 3) == 2) { desc[j].slab ^= 1ULL << 63; break; }
            }
            CHECK(j < slab_npages(copy), "found an exact page");
            break;
        case 6:                                   /* a run page loses its busy mark */
            for (j = 0; j < slab_npages(copy); j++) {
                if ((desc[j].prev & 3) == 0 && (desc[j].slab & (1ULL << 63))
                    && (desc[j].slab & ~(1ULL << 63)) >= 2) { desc[j + 1].slab = 7; break; }
            }
            CHECK(j < slab_npages(copy), "found a multi-page run");
            break;
        case 7: copy->last += 3; break;
        case 8:                                   /* slot list points at the header */
            ((struct slab_page *) ((unsigned char *) copy + sizeof(*copy)))[0].next = 48;
            break;
        case 9:                                   /* a full page still linked */
            for (j = 0; j < slab_npages(copy); j++) {
                if ((desc[j].prev & 3) == 1 && desc[j].next == 0) { desc[j].next = copy->pages; break; }
            }
            CHECK(j < slab_npages(copy), "found a full big page");
            break;
        }
        diag_clear();
        x = (uint64_t) slab_check(copy, Z, NULL);
        CHECK(x != 0, "corruption \"%s\" not detected", cases[i].what);
        CHECK(strstr(diag_last(), cases[i].expect) != NULL,
              "corruption \"%s\": message \"%s\" lacks \"%s\"", cases[i].what, diag_last(),
              cases[i].expect);
    }

    /* Random garbage in the metadata: check must end, never crash. */
    srand(7);
    for (i = 0; i < 4000; i++) {
        unsigned n = 1 + (unsigned) rand() % 8, b;
        memcpy(copy, pool, Z);
        for (b = 0; b < n; b++) {
            size_t at = (size_t) rand() % (pool->start + 4096);
            ((unsigned char *) copy)[at] = (unsigned char) rand();
        }
        (void) slab_check(copy, Z, NULL);
        (void) slab_each_free_run(copy, Z, NULL, NULL);
        (void) slab_largest_free_run(copy, Z);
    }
    for (i = 0; i < 10; i++) {
        size_t b;
        for (b = 0; b < Z; b++) {
            ((unsigned char *) copy)[b] = (unsigned char) rand();
        }
        CHECK(slab_check(copy, Z, NULL) != 0, "random bytes pass the check");
    }
    CHECK(1, "survived garbage");
    free(copy);
    free(pool);
}

/* allocator_zone_create() resolves the parameters and stamps the control
 * block once init has succeeded: the name, the page size the slab reports,
 * formatted.  A failed init leaves nothing stamped (and no zone). */
static void
test_zone_stamp(void)
{
    const struct allocator_ops *ops = allocator_find("slab");
    struct alloc_params         p = { .page_size = 16384 };
    struct zone                 z;

    CHECK(ops != NULL, "slab: %s", diag_last());
    CHECK(allocator_zone_create(&z, ops, ZONE_ANON, 0, 8, NULL, NULL) == 0, "%s", diag_last());
    CHECK(strcmp(z.ctl->allocator, "slab") == 0 && z.ctl->page_size == zone_os_page()
          && atomic_load(&z.ctl->formatted) == 1 && z.ops == ops,
          "default page: control block names \"%s\", page %llu", z.ctl->allocator,
          (unsigned long long) z.ctl->page_size);
    zone_destroy(&z);

    CHECK(allocator_zone_create(&z, ops, ZONE_ANON, 0, 8, &p, NULL) == 0, "%s", diag_last());
    CHECK(z.ctl->page_size == 16384, "16 KiB pages: control block says %llu",
          (unsigned long long) z.ctl->page_size);
    zone_destroy(&z);

    p.page_size = 3000;
    CHECK(allocator_zone_create(&z, ops, ZONE_ANON, 1 << 20, 0, &p, NULL) == -1,
          "a page of 3000 bytes accepted");
}

int
main(void)
{
    test_geometry();
    test_bad_frees(4096);
    test_bad_frees(16384);
    test_bad_frees(65536);
    test_calloc();
    test_check_detects();
    test_zone_stamp();
    return test_summary("test_slab");
}
