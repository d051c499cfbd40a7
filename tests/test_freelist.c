/*
 * test_freelist: the `freelist` allocator (alloc/freelist.c), first and
 * best fit.
 *
 * Blocks: alignment, usable_size, no overlap, contents survive a churn, and
 * the internal fragmentation of uniform 8..2048 requests.  Structure:
 * coalescing with both neighbours, the split minimum, first-fit vs best-fit
 * placement, exhaustion and recovery, the linear search counted.  Refusals:
 * every kind of bad free leaves the zone byte-identical; check() finds
 * injected corruption and survives garbage.  Processes: four forked workers
 * hand blocks to each other to free; the zone ends consistent and empty.
 *
 * A few corruption cases need to find fields of the zone header; the mirror
 * below follows struct fl_zone in alloc/freelist.c, and the test first
 * checks that the mirror still agrees with the allocator's own answers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "baselines/freelist.h"
#include "substrate/allocator.h"
#include "registry.h"
#include "substrate/diag.h"
#include "mputil.h"
#include "substrate/proc.h"
#include "testutil.h"
#include "churn.h"

/* Mirror of struct fl_zone (alloc/freelist.c). */
struct fl_mirror {
    struct shmtx_lockword lock;
    struct shmtx          mutex;
    char                  magic[8];
    uint64_t              size, start, end;
    uint32_t              policy, reserved;
    uint64_t              sentinel_tag, first, last;
    uint64_t              nfree, free_bytes, nused, used_bytes, fails, steps;
};

#define TAG_SIZE(t)   ((t) & 0x0000fffffffffff0ULL)
#define TAG_INUSE     1ULL
#define OVERHEAD      16
#define MIN_BLOCK     32

static const struct allocator_ops *ops;

static int
open_zone(struct zone *z, size_t size, const char *policy)
{
    struct alloc_params p;

    memset(&p, 0, sizeof(p));
    p.policy = policy;
    if (allocator_zone_create(z, ops, ZONE_ANON, size, 0, &p, NULL) != 0) {
        CHECK(0, "zone of %zu bytes (policy %s): %s", size, policy ? policy : "-", diag_last());
        return -1;
    }
    return 0;
}

static int
check_ok(struct zone *z, const char *what)
{
    int rc = ops->check(z, stderr);

    CHECK(rc == 0, "check after %s: %s", what, diag_last());
    return rc;
}

static uint64_t
word_at(const struct zone *z, uint64_t off)
{
    return *(const uint64_t *) (z->base + off);
}

static struct alloc_stats
stats_of(struct zone *z)
{
    struct alloc_stats st;

    ops->stats(z, &st);
    return st;
}

static void
test_init(void)
{
    struct zone         z;
    struct alloc_params p;
    size_t              min = allocator_min_zone_size(ops, NULL);
    void               *a;

    memset(&p, 0, sizeof(p));
    p.policy = "worst";
    CHECK(allocator_zone_create(&z, ops, ZONE_ANON, 1 << 20, 0, &p, NULL) == -1,
          "policy \"worst\" accepted");
    CHECK(strstr(diag_last(), "allowed: first, best") != NULL, "message: %s", diag_last());

    CHECK(allocator_zone_create(&z, ops, ZONE_ANON, min - 1, 0, NULL, NULL) == -1,
          "zone of min - 1 bytes accepted");
    CHECK(strstr(diag_last(), "minimum") != NULL, "message: %s", diag_last());

    if (open_zone(&z, min, NULL) == 0) {
        a = ops->alloc(&z, 16);
        CHECK(a != NULL, "the smallest zone holds a 16-byte block: %s", diag_last());
        CHECK(ops->alloc(&z, 1) == NULL, "the smallest zone holds a second block");
        CHECK(ops->free(&z, a) == 0, "free: %s", diag_last());
        check_ok(&z, "the smallest zone");
        zone_destroy(&z);
    }
    CHECK(ops->caps == (ALLOC_IN_SHM | ALLOC_CROSS_PROCESS_FREE | ALLOC_BAD_FREE_DETECTED
                        | ALLOC_LOCK_COUNTERS | ALLOC_ATTACH_BY_NAME)
          && allocator_can_check(ops) && !allocator_takes_pages(ops),
          "caps %#x", ops->caps);
    CHECK(ops->alloc_locked && ops->free_locked, "locked forms");
}

/* Churn: alignment, usable size, no overlap, patterns, fragmentation. */

struct live {
    unsigned char *p;
    size_t         size, usable;
    uint64_t       tag;
};

static int
by_address(const void *a, const void *b)
{
    const struct live *x = a, *y = b;

    return (x->p > y->p) - (x->p < y->p);
}

static void
check_layout(struct zone *z, struct live *blk, size_t n, const char *policy)
{
    struct live *s = malloc(n * sizeof(*s));
    size_t       i, m = 0, bad = 0;

    for (i = 0; i < n; i++) {
        if (blk[i].p) {
            s[m++] = blk[i];
        }
    }
    qsort(s, m, sizeof(*s), by_address);
    for (i = 0; i < m; i++) {
        bad += i > 0 && s[i - 1].p + s[i - 1].usable + OVERHEAD > s[i].p;
        bad += s[i].p < z->base || s[i].p + s[i].usable > z->base + z->size;
    }
    CHECK(bad == 0, "%s: %zu overlapping or stray blocks among %zu", policy, bad, m);
    free(s);
}

static void
take(struct zone *z, struct live *b, size_t size, uint64_t tag)
{
    b->p = ops->alloc(z, size);
    b->size = size;
    b->tag = tag;
    CHECK(b->p != NULL, "alloc(%zu): %s", size, diag_last());
    if (b->p == NULL) {
        return;
    }
    b->usable = ops->usable_size(z, b->p);
    CHECK(((uintptr_t) b->p & 15) == 0, "block %p not 16-byte aligned", (void *) b->p);
    CHECK(b->usable >= size && b->usable < size + OVERHEAD + MIN_BLOCK,
          "usable_size %zu for %zu bytes", b->usable, size);
    mp_fill(b->p, size, tag);
}

static void
drop(struct zone *z, struct live *b)
{
    CHECK(mp_intact(b->p, b->size, b->tag), "block of %zu bytes damaged", b->size);
    CHECK(ops->free(z, b->p) == 0, "free: %s", diag_last());
    b->p = NULL;
}

static void
test_churn(const char *policy)
{
    enum { NLIVE = 1000, ROUNDS = 60000 };
    struct live       *blk = calloc(NLIVE, sizeof(*blk));
    struct zone        z;
    struct alloc_stats st0, st;
    uint64_t           rng = 11, tag = 1;
    double             req = 0, granted = 0;
    size_t             i, k;

    if (open_zone(&z, 8 << 20, policy) != 0) {
        free(blk);
        return;
    }
    st0 = stats_of(&z);
    CHECK(st0.free_bytes == st0.largest_free && st0.fails == 0,
          "fresh zone: free %llu, largest %llu", (unsigned long long) st0.free_bytes,
          (unsigned long long) st0.largest_free);
    for (i = 0; i < NLIVE; i++) {
        take(&z, &blk[i], 8 + mp_rng(&rng) % 2041, tag++);
    }
    for (i = 0; i < ROUNDS; i++) {
        k = mp_rng(&rng) % NLIVE;
        drop(&z, &blk[k]);
        take(&z, &blk[k], 8 + mp_rng(&rng) % 2041, tag++);
        if (i % 20000 == 0) {
            check_layout(&z, blk, NLIVE, policy);
            check_ok(&z, "churn");
        }
    }
    check_layout(&z, blk, NLIVE, policy);
    check_ok(&z, "churn");
    for (i = 0; i < NLIVE; i++) {
        req += (double) blk[i].size;
        granted += (double) blk[i].usable;
    }
    st = stats_of(&z);
    printf("freelist/%s: 1000 live blocks of 8..2048 after %d rounds: requested/usable %.4f "
           "(internal fragmentation %.2f%%), footprint %llu, %llu free bytes, largest %llu, "
           "%.1f list steps per op\n", policy, ROUNDS, req / granted,
           100.0 * (1.0 - req / granted), (unsigned long long) st.footprint,
           (unsigned long long) st.free_bytes, (unsigned long long) st.largest_free,
           (double) freelist_steps(&z) / (2.0 * (ROUNDS + NLIVE)));
    CHECK(req / granted > 0.97, "internal fragmentation: requested/usable %.4f", req / granted);
    for (i = 0; i < NLIVE; i++) {
        drop(&z, &blk[i]);
    }
    check_ok(&z, "freeing all");
    st = stats_of(&z);
    CHECK(st.free_bytes == st0.free_bytes && st.largest_free == st0.largest_free
          && st.footprint == st0.footprint,
          "all free: free %llu (was %llu), largest %llu, footprint %llu (was %llu)",
          (unsigned long long) st.free_bytes, (unsigned long long) st0.free_bytes,
          (unsigned long long) st.largest_free, (unsigned long long) st.footprint,
          (unsigned long long) st0.footprint);
    zone_destroy(&z);
    free(blk);
}

/* Structure. */

/* Fill a zone with blocks of `size` bytes until one fails; returns n. */
static size_t
exhaust(struct zone *z, void **blk, size_t cap, size_t size)
{
    size_t n = 0;

    while (n < cap && (blk[n] = ops->alloc(z, size)) != NULL) {
        n++;
    }
    return n;
}

struct runs {
    uint64_t n, off[8], len[8];
};

static int
note_run(void *arg, uint64_t off, uint64_t len)
{
    struct runs *r = arg;

    if (r->n < 8) {
        r->off[r->n] = off;
        r->len[r->n] = len;
    }
    r->n++;
    return 0;
}

static void
test_coalesce(void)
{
    struct zone        z;
    void              *blk[512];
    size_t             n;
    uint64_t           a_off;
    struct alloc_stats st;
    struct runs        r;
    int                order;

    /* Orders: A C B (both neighbours at once), A B C (left), C B A (right). */
    for (order = 0; order < 3; order++) {
        if (open_zone(&z, 64 << 10, NULL) != 0) {
            return;
        }
        n = exhaust(&z, blk, 512, 240);                 /* 256-byte blocks */
        CHECK(n > 20 && n < 512, "exhausted after %zu blocks", n);
        CHECK(stats_of(&z).largest_free < 240, "nothing of 240 bytes left");
        a_off = (uint64_t) ((unsigned char *) blk[10] - z.base) - 8 - ops->data_offset(&z);
        CHECK((unsigned char *) blk[11] == (unsigned char *) blk[10] + 256
              && (unsigned char *) blk[12] == (unsigned char *) blk[11] + 256,
              "A, B, C adjacent");
        if (order == 0) {
            ops->free(&z, blk[10]);
            ops->free(&z, blk[12]);
            st = stats_of(&z);
            CHECK(st.largest_free == 240, "A and C free apart: largest %llu",
                  (unsigned long long) st.largest_free);
            ops->free(&z, blk[11]);
        } else {
            int i = order == 1 ? 10 : 12, d = order == 1 ? 1 : -1;
            ops->free(&z, blk[i]);
            ops->free(&z, blk[i + d]);
            st = stats_of(&z);
            CHECK(st.largest_free == 512 - OVERHEAD, "two merged: largest %llu",
                  (unsigned long long) st.largest_free);
            ops->free(&z, blk[i + 2 * d]);
        }
        st = stats_of(&z);
        CHECK(st.largest_free == 3 * 256 - OVERHEAD, "order %d: A B C merged: largest %llu",
              order, (unsigned long long) st.largest_free);
        memset(&r, 0, sizeof(r));
        CHECK(ops->each_free_run(&z, note_run, &r) == 0, "each_free_run");
        CHECK(r.n >= 1 && r.n <= 2 && r.off[0] == a_off && r.len[0] == 768,
              "order %d: %llu runs, first at %llu of %llu bytes (A at %llu)", order,
              (unsigned long long) r.n, (unsigned long long) r.off[0],
              (unsigned long long) r.len[0], (unsigned long long) a_off);
        check_ok(&z, "coalescing");
        /* The merged block serves a request of its whole payload, at A. */
        CHECK(ops->alloc(&z, 3 * 256 - OVERHEAD) == blk[10], "merged block reused at A");
        check_ok(&z, "reusing the merged block");
        zone_destroy(&z);
    }
}

static void
test_split(void)
{
    struct zone z;
    void       *blk[512], *p;
    size_t      n;

    if (open_zone(&z, 64 << 10, NULL) != 0) {
        return;
    }
    n = exhaust(&z, blk, 512, 240);
    CHECK(n > 20, "exhausted");
    ops->free(&z, blk[5]);                              /* one 256-byte hole */

    /* 224 bytes need 240: a 16-byte rest cannot be a block, all is given. */
    p = ops->alloc(&z, 224);
    CHECK(p == blk[5] && ops->usable_size(&z, p) == 240, "whole block: %p usable %zu", p,
          p ? ops->usable_size(&z, p) : 0);
    check_ok(&z, "a whole block");
    ops->free(&z, p);

    /* 208 bytes need 224: the 32-byte rest becomes a free block. */
    p = ops->alloc(&z, 208);
    CHECK(p == blk[5] && ops->usable_size(&z, p) == 208, "split block: usable %zu",
          p ? ops->usable_size(&z, p) : 0);
    CHECK(stats_of(&z).largest_free >= MIN_BLOCK - OVERHEAD, "the rest is free");
    check_ok(&z, "a split");
    CHECK(ops->alloc(&z, 16) == (unsigned char *) blk[5] + 224, "the 32-byte rest serves 16 bytes");
    check_ok(&z, "the rest used");
    zone_destroy(&z);
}

/* A (1024), B (128), C (256) free and apart: first fit takes the lowest
 * block that fits, best fit the smallest. */
static void
test_fit_policy(void)
{
    static const char *policy[] = { "first", "best" };
    struct zone z;
    void       *a, *b, *c, *s[3], *p, *q;
    int         i;

    for (i = 0; i < 2; i++) {
        if (open_zone(&z, 1 << 20, policy[i]) != 0) {
            return;
        }
        a = ops->alloc(&z, 1024 - OVERHEAD);
        s[0] = ops->alloc(&z, 16);
        b = ops->alloc(&z, 128 - OVERHEAD);
        s[1] = ops->alloc(&z, 16);
        c = ops->alloc(&z, 256 - OVERHEAD);
        s[2] = ops->alloc(&z, 16);
        CHECK(a && b && c && s[0] && s[1] && s[2], "%s: blocks", policy[i]);
        ops->free(&z, a);
        ops->free(&z, b);
        ops->free(&z, c);

        p = ops->alloc(&z, 256 - OVERHEAD);
        q = ops->alloc(&z, 100);
        if (i == 0) {
            CHECK(p == a, "first fit: 240 bytes at A (%p), got %p", a, p);
            CHECK(q == (unsigned char *) a + 256, "first fit: 100 bytes after it in A, got %p", q);
        } else {
            CHECK(p == c, "best fit: 240 bytes at C (%p), got %p", c, p);
            CHECK(q == b, "best fit: 100 bytes at B (%p), got %p", b, q);
        }
        check_ok(&z, policy[i]);
        zone_destroy(&z);
    }
}

static void
test_exhaust(void)
{
    struct zone        z;
    void              *blk[128];
    size_t             n, i;
    struct alloc_stats st0, st;

    if (open_zone(&z, 64 << 10, NULL) != 0) {
        return;
    }
    st0 = stats_of(&z);
    n = exhaust(&z, blk, 128, 1000);
    st = stats_of(&z);
    CHECK(n > 50 && n < 128 && st.fails == 1, "exhausted after %zu, fails %llu", n,
          (unsigned long long) st.fails);
    CHECK(strstr(diag_last(), "no free block") != NULL, "message: %s", diag_last());
    CHECK(ops->alloc(&z, 1 << 20) == NULL && stats_of(&z).fails == 2, "too big: a fail");
    CHECK(ops->alloc(&z, SIZE_MAX) == NULL && stats_of(&z).fails == 3, "SIZE_MAX: a fail");
    check_ok(&z, "exhaustion");
    ops->free(&z, blk[3]);
    ops->free(&z, blk[7]);
    CHECK((blk[3] = ops->alloc(&z, 1000)) != NULL && (blk[7] = ops->alloc(&z, 1000)) != NULL,
          "recovery after frees");
    CHECK(ops->alloc(&z, 1000) == NULL, "full again");
    for (i = 0; i < n; i++) {
        ops->free(&z, blk[i]);
    }
    st = stats_of(&z);
    CHECK(st.free_bytes == st0.free_bytes && st.largest_free == st0.largest_free,
          "all free again: %llu of %llu bytes", (unsigned long long) st.free_bytes,
          (unsigned long long) st0.free_bytes);
    check_ok(&z, "recovery");
    zone_destroy(&z);
}

/* The weakness, measured: a search walks every free block before the one
 * that fits, and a free that merges with nothing walks to its place. */
static void
test_linear_search(void)
{
    enum { NFRAG = 1000 };
    struct zone z;
    void       *frag[NFRAG], *sep[NFRAG], *p;
    uint64_t    steps;
    int         i;

    if (open_zone(&z, 4 << 20, NULL) != 0) {
        return;
    }
    for (i = 0; i < NFRAG; i++) {
        frag[i] = ops->alloc(&z, 64);
        sep[i] = ops->alloc(&z, 16);
    }
    for (i = 0; i < NFRAG; i++) {
        ops->free(&z, frag[i]);
    }
    steps = freelist_steps(&z);
    p = ops->alloc(&z, 1024);               /* only the tail fits */
    CHECK(p != NULL && freelist_steps(&z) - steps == NFRAG + 1,
          "first fit walked %llu nodes past %d fragments",
          (unsigned long long) (freelist_steps(&z) - steps), NFRAG);
    steps = freelist_steps(&z);
    ops->free(&z, sep[NFRAG - 1]);          /* merges: no walk */
    CHECK(freelist_steps(&z) == steps, "a merging free walks nothing");
    ops->free(&z, p);
    check_ok(&z, "fragments");
    zone_destroy(&z);
}

/* Another process's view: the zone attached by name, read-only, at another
 * address.  check(), stats() and each_free_run() follow offsets only and
 * never write (a write would fault on the read-only mapping). */
static void
test_attach(void)
{
    struct zone        z, r;
    struct alloc_stats a, b;
    struct runs        ra, rb;
    void              *blk[64];
    char               name[64];
    size_t             i;

    snprintf(name, sizeof(name), "/shmbench-test-%s-%d", "fl", (int) getpid());
    if (allocator_zone_create(&z, ops, ZONE_POSIX, 1 << 20, 0, NULL, name) != 0) {
        CHECK(0, "posix zone: %s", diag_last());
        return;
    }
    for (i = 0; i < 64; i++) {
        blk[i] = ops->alloc(&z, 100 + 37 * i);
    }
    for (i = 0; i < 64; i += 2) {
        ops->free(&z, blk[i]);
    }
    if (zone_attach(&r, name, 1) != 0) {
        CHECK(0, "attach %s: %s", name, diag_last());
        zone_destroy(&z);
        return;
    }
    CHECK(r.base != z.base && strcmp(r.ctl->allocator, "freelist") == 0,
          "attached at %p (creator %p), formatted by \"%s\"", (void *) r.base, (void *) z.base,
          r.ctl->allocator);
    CHECK(ops->check(&r, stderr) == 0, "check from the read-only mapping: %s", diag_last());
    ops->stats(&z, &a);
    ops->stats(&r, &b);
    CHECK(memcmp(&a, &b, sizeof(a)) == 0, "stats differ between the two mappings");
    memset(&ra, 0, sizeof(ra));
    memset(&rb, 0, sizeof(rb));
    CHECK(ops->each_free_run(&z, note_run, &ra) == 0 && ops->each_free_run(&r, note_run, &rb) == 0
          && memcmp(&ra, &rb, sizeof(ra)) == 0 && ra.n >= 32, "free runs differ");
    zone_destroy(&r);
    zone_destroy(&z);
}

/* Refusals. */

static void
refused(struct zone *z, void *p, const char *what, const char *expect)
{
    unsigned char *before = malloc(z->size);
    unsigned long  n = diag_count();

    memcpy(before, z->base, z->size);
    diag_clear();
    CHECK(ops->free(z, p) == -1, "%s accepted", what);
    CHECK(diag_count() > n && strstr(diag_last(), expect) != NULL,
          "%s: message \"%s\" lacks \"%s\"", what, diag_last(), expect);
    CHECK(memcmp(before, z->base, z->size) == 0, "%s changed the zone", what);
    CHECK(ops->usable_size(z, p) == 0, "%s: usable_size is not 0", what);
    check_ok(z, what);
    free(before);
}

static void
test_bad_frees(void)
{
    struct zone    z;
    unsigned char  local[64], *a, *b, *c, *d, *e, *f, *tail;
    uint64_t       fake;

    if (open_zone(&z, 1 << 20, NULL) != 0) {
        return;
    }
    a = ops->alloc(&z, 64);
    b = ops->alloc(&z, 5000);
    c = ops->alloc(&z, 100);
    d = ops->alloc(&z, 100);
    e = ops->alloc(&z, 100);
    f = ops->alloc(&z, 100);
    memset(b, 0xab, 5000);
    tail = f + 128;                         /* start of the free tail's payload */

    refused(&z, NULL, "NULL", "outside the zone");
    refused(&z, local, "a stack address", "outside the zone");
    refused(&z, z.base, "the zone header", "outside the zone");
    refused(&z, z.base + 16, "the zone header + 16", "outside the zone");
    refused(&z, z.base + z.size - 8, "the zone's last word", "outside the zone");
    refused(&z, z.base + z.size + 4096, "past the zone", "outside the zone");
    refused(&z, a + 1, "a + 1", "not 16-byte aligned");
    refused(&z, a + 8, "a + 8", "not 16-byte aligned");
    refused(&z, b + 16, "16 bytes into a block", "not the start of a block");
    refused(&z, b + 4096, "4096 bytes into a block", "not the start of a block");
    refused(&z, tail, "the free tail's payload", "already free");
    refused(&z, tail + 64, "inside the free tail", "not the start of a block");

    /* A forged block inside b whose header, footer and next header agree:
     * only the header's magic (16 bits keyed to its offset) gives it away.
     * With the right magic it would pass: that case is undetectable. */
    {
        uint64_t h = (uint64_t) (b + 1024 - 8 - z.base), next;
        fake = (uint64_t) 256 | TAG_INUSE;
        next = ((h + 256) * 0x9e3779b97f4a7c15ULL & 0xffff000000000000ULL) | 32 | TAG_INUSE;
        memcpy(b + 1024 - 8, &fake, 8);
        memcpy(b + 1024 - 8 + 256 - 8, &fake, 8);
        memcpy(b + 1024 - 8 + 256, &next, 8);
        refused(&z, b + 1024, "a forged block without the magic", "not the start of a block");
    }

    CHECK(ops->free(&z, a) == 0, "free a");
    refused(&z, a, "a double free", "already free");
    CHECK(ops->free(&z, c) == 0 && ops->free(&z, d) == 0, "free c, d (d merges into c)");
    refused(&z, d, "a double free of a merged block", "already free");
    refused(&z, c, "a double free of the merged block", "already free");
    CHECK(ops->free(&z, f) == 0, "free f (merges into the tail)");
    refused(&z, f, "a double free of a block merged with the tail", "already free");
    CHECK(ops->free(&z, b) == 0 && ops->free(&z, e) == 0, "free b and e");
    refused(&z, b, "a double free after everything merged", "already free");
    check_ok(&z, "bad frees");
    CHECK(stats_of(&z).largest_free == stats_of(&z).free_bytes, "one free block at the end");
    zone_destroy(&z);
}

/* check() on copies of a busy zone, corrupted. */

static void
busy_zone(struct zone *z, void **keep, size_t nkeep)
{
    uint64_t rng = 5;
    size_t   i;

    for (i = 0; i < nkeep; i++) {
        keep[i] = ops->alloc(z, 16 + mp_rng(&rng) % 600);
    }
    for (i = 0; i < nkeep; i += 3) {
        ops->free(z, keep[i]);
    }
}

/* Offset of the first block in use that follows a free block. */
static uint64_t
used_after_free(const struct zone *z, uint64_t start, uint64_t end)
{
    uint64_t b, t, prev_free = 0;

    for (b = start; b < end; b += TAG_SIZE(t)) {
        t = word_at(z, b);
        if ((t & TAG_INUSE) && prev_free) {
            return b;
        }
        prev_free = !(t & TAG_INUSE);
    }
    return 0;
}

static void
test_check_detects(void)
{
    static const struct { const char *what, *expect; } cases[] = {
        { "free count", "counters say" },
        { "header size", "disagrees with header" },
        { "list link", "is not a free block" },
        { "adjacent free blocks", "two adjacent free blocks" },
        { "zone magic", "magic is not" },
        { "list skips a block", "address order" },
        { "block magic", "wrong magic" },
        { "back link", "links back" },
        { "epilogue", "epilogue" },
        { "list tail", "tail" },
        { "used bytes", "counters say" },
    };
    struct zone       z, copy;
    void             *keep[90];
    struct fl_mirror *m;
    uint64_t          b, start, end, second;
    size_t            i, at, k;

    if (open_zone(&z, 256 << 10, NULL) != 0) {
        return;
    }
    busy_zone(&z, keep, 90);
    check_ok(&z, "busy zone");
    m = (struct fl_mirror *) z.base;
    start = m->start;
    end = m->end;
    CHECK(start == ops->data_offset(&z) && m->size == z.size && memcmp(m->magic, "FREELST1", 8) == 0,
          "the mirror of the zone header is out of date");
    second = word_at(&z, m->first + 8);

    copy = z;
    copy.ctl = NULL;
    copy.base = aligned_alloc(4096, z.size);
    m = (struct fl_mirror *) copy.base;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memcpy(copy.base, z.base, z.size);
        switch (i) {
        case 0: m->nfree++; break;
        case 1: b = m->first; *(uint64_t *) (copy.base + b) += 16; break;
        case 2: m->first = 12345; break;
        case 3:
            b = used_after_free(&z, start, end);
            CHECK(b != 0, "found a block after a free one");
            *(uint64_t *) (copy.base + b) &= ~TAG_INUSE;
            *(uint64_t *) (copy.base + b + TAG_SIZE(word_at(&z, b)) - 8) &= ~TAG_INUSE;
            break;
        case 4: m->magic[0] = 'X'; break;
        case 5:
            m->first = second;
            *(uint64_t *) (copy.base + second + 16) = (uint64_t) ((unsigned char *) &m->sentinel_tag
                                                                 - copy.base);
            break;
        case 6: *(uint64_t *) (copy.base + start) ^= 1ULL << 60; break;
        case 7: *(uint64_t *) (copy.base + second + 16) += 16; break;
        case 8: *(uint64_t *) (copy.base + end) = 0; break;
        case 9: m->last = m->first; break;
        case 10: m->used_bytes -= 16; break;
        }
        diag_clear();
        CHECK(ops->check(&copy, NULL) != 0, "corruption \"%s\" not detected", cases[i].what);
        CHECK(strstr(diag_last(), cases[i].expect) != NULL,
              "corruption \"%s\": message \"%s\" lacks \"%s\"", cases[i].what, diag_last(),
              cases[i].expect);
    }

    /* Garbage: check, stats and each_free_run must end, never crash. */
    srand(7);
    for (i = 0; i < 3000; i++) {
        struct alloc_stats st;
        unsigned           nb = 1 + (unsigned) rand() % 8;
        memcpy(copy.base, z.base, z.size);
        for (k = 0; k < nb; k++) {
            at = (size_t) rand() % (start + 8192);
            copy.base[at] = (unsigned char) rand();
        }
        (void) ops->check(&copy, NULL);
        (void) ops->each_free_run(&copy, NULL, NULL);
        ops->stats(&copy, &st);
    }
    for (i = 0; i < 300; i++) {                 /* random words at block starts */
        memcpy(copy.base, z.base, z.size);
        for (k = 0; k < 4; k++) {
            at = start + 16 * ((size_t) rand() % ((end - start) / 16));
            *(uint64_t *) (copy.base + at) = ((uint64_t) rand() << 33) ^ (uint64_t) rand();
        }
        (void) ops->check(&copy, NULL);
        (void) ops->each_free_run(&copy, NULL, NULL);
    }
    for (i = 0; i < 5; i++) {
        for (k = 0; k < z.size; k++) {
            copy.base[k] = (unsigned char) rand();
        }
        CHECK(ops->check(&copy, NULL) != 0, "random bytes pass the check");
    }
    CHECK(1, "survived garbage");
    free(copy.base);
    zone_destroy(&z);
}

/* Processes: blocks freed by another worker than allocated them (churn.h). */

static void
test_processes(const char *policy)
{
    struct zone         z;
    struct alloc_stats  st0, st;
    struct shmtx_report rep;
    uint64_t            calls = 0;

    if (open_zone(&z, 8 << 20, policy) != 0) {
        return;
    }
    st0 = stats_of(&z);
    shmtx_counters_reset(z.ctl->lockstat);
    calls = churn_run(ops, &z, 20000, 1, 2048, policy);
    check_ok(&z, "4 processes");
    st = stats_of(&z);
    CHECK(st.free_bytes == st0.free_bytes && st.largest_free == st0.largest_free
          && st.footprint == st0.footprint,
          "%s: after the workers %llu free bytes (was %llu)", policy,
          (unsigned long long) st.free_bytes, (unsigned long long) st0.free_bytes);
    shmtx_report(z.ctl->lockstat, &rep);
    CHECK(rep.acquisitions == calls, "%s: lock counted %llu acquisitions, workers made %llu calls",
          policy, (unsigned long long) rep.acquisitions, (unsigned long long) calls);
    printf("freelist/%s: %d workers, %llu calls, %llu contended, %llu list steps\n", policy,
           CHURN_WORKERS, (unsigned long long) calls, (unsigned long long) rep.contended,
           (unsigned long long) freelist_steps(&z));
    zone_destroy(&z);
}

int
main(void)
{
    ops = allocator_find("freelist");
    if (ops == NULL) {
        printf("test_freelist: %s\n", diag_last());
        return 1;
    }
    test_init();
    test_churn("first");
    test_churn("best");
    test_coalesce();
    test_split();
    test_fit_policy();
    test_exhaust();
    test_linear_search();
    test_attach();
    test_bad_frees();
    test_check_detects();
    test_processes("first");
    test_processes("best");
    return test_summary("test_freelist");
}
