/*
 * fit_common: the tests that the two boundary-tag fit allocators, freelist
 * and tlsf (alloc/baselines/btag.h), pass alike, for test_freelist.c and
 * test_tlsf.c.
 *
 * They cut a zone the same way (blocks of 16-byte multiples at 8 mod 16,
 * a tag word at the start, at least BTAG_MIN_BLOCK bytes) and differ, as
 * far as these tests see, in two facts that main() puts in `fit`: the tag
 * bytes a block costs (freelist a header and a footer, tlsf a header) and
 * how a header says "free".  Sizes here are written in those terms, so
 * that one test states what both must do: blocks are aligned, have the
 * usable size the overhead allows, never overlap and keep their contents
 * through a churn; neighbours merge on either side; a split leaves a
 * remainder only when it can be a block; exhaustion fails honestly and
 * recovers; another mapping of the zone sees the same stats and runs; every
 * kind of bad free is refused with the zone unchanged; check() survives
 * garbage; four processes freeing each other's blocks leave the zone as it
 * began.  What is one allocator's own (its policies, its search, its
 * forged headers, its corruptions) stays in its test file.
 *
 * Include once per test program, before anything else of the test's; main()
 * calls fit_begin() first.
 */
#ifndef SHMBENCH_FIT_COMMON_H
#define SHMBENCH_FIT_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "baselines/btag.h"
#include "registry.h"
#include "substrate/allocator.h"
#include "substrate/diag.h"
#include "substrate/proc.h"
#include "testutil.h"
#include "mputil.h"
#include "churn.h"

/* The allocator under test. */
static const struct allocator_ops *ops;

/* What of its format the shared tests need. */
static struct fit_subject {
    uint64_t overhead;                  /* tag bytes of a block: payload = size - overhead */
    int    (*is_free)(uint64_t tag);    /* whether a block header says free */
} fit;

/* Find the allocator; 0, or -1 after saying why (main returns 1). */
static int
fit_begin(const char *name, uint64_t overhead, int (*is_free)(uint64_t tag))
{
    ops = allocator_find(name);
    if (ops == NULL) {
        printf("test_%s: %s\n", name, diag_last());
        return -1;
    }
    fit.overhead = overhead;
    fit.is_free = is_free;
    return 0;
}

/* An anonymous zone of size bytes; policy may be NULL. */
static int
fit_open(struct zone *z, size_t size, const char *policy)
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
fit_check_ok(struct zone *z, const char *what)
{
    int rc = ops->check(z, stderr);

    CHECK(rc == 0, "check after %s: %s", what, diag_last());
    return rc;
}

static uint64_t
fit_word_at(const struct zone *z, uint64_t off)
{
    return *(const uint64_t *) (z->base + off);
}

static struct alloc_stats
fit_stats(struct zone *z)
{
    struct alloc_stats st;

    ops->stats(z, &st);
    return st;
}

/* Policies and sizes init refuses, the smallest zone (one block of the
 * smallest payload, and no second), the caps and the locked forms. */
static void
fit_test_init(const char *bad_policy, const char *why)
{
    struct zone         z;
    struct alloc_params p;
    size_t              min = allocator_min_zone_size(ops, NULL);
    size_t              smallest = (size_t) (BTAG_MIN_BLOCK - fit.overhead);
    void               *a;

    memset(&p, 0, sizeof(p));
    p.policy = bad_policy;
    CHECK(allocator_zone_create(&z, ops, ZONE_ANON, 1 << 20, 0, &p, NULL) == -1,
          "policy \"%s\" accepted", bad_policy);
    CHECK(strstr(diag_last(), why) != NULL, "message: %s", diag_last());

    CHECK(allocator_zone_create(&z, ops, ZONE_ANON, min - 1, 0, NULL, NULL) == -1,
          "zone of min - 1 bytes accepted");
    CHECK(strstr(diag_last(), "minimum") != NULL, "message: %s", diag_last());

    if (fit_open(&z, min, NULL) == 0) {
        a = ops->alloc(&z, smallest);
        CHECK(a != NULL, "the smallest zone holds a %zu-byte block: %s", smallest, diag_last());
        CHECK(ops->alloc(&z, 1) == NULL, "the smallest zone holds a second block");
        CHECK(ops->free(&z, a) == 0, "free: %s", diag_last());
        fit_check_ok(&z, "the smallest zone");
        zone_destroy(&z);
    }
    CHECK(ops->caps == (ALLOC_IN_SHM | ALLOC_CROSS_PROCESS_FREE | ALLOC_BAD_FREE_DETECTED
                        | ALLOC_LOCK_COUNTERS | ALLOC_ATTACH_BY_NAME)
          && allocator_can_check(ops) && !allocator_takes_pages(ops),
          "caps %#x", ops->caps);
    CHECK(ops->alloc_locked && ops->free_locked, "locked forms");
}


/* Churn: alignment, usable size, no overlap, patterns, fragmentation. */

enum { FIT_NLIVE = 1000, FIT_ROUNDS = 60000 };

struct fit_churn {
    const char        *label;       /* for messages */
    struct zone        z;
    struct mp_block   *blk;         /* FIT_NLIVE */
    struct alloc_stats st0, st;     /* the fresh zone; after the rounds */
    double             req, granted;/* bytes of the live blocks after the rounds */
};

/* The live blocks, with their tags, neither overlap nor leave the zone. */
static void
fit_layout(struct zone *z, struct mp_block *blk, size_t n, const char *label)
{
    size_t i, bad = mp_overlaps(blk, n, fit.overhead), held = 0;

    for (i = 0; i < n; i++) {
        if (blk[i].p) {
            held++;
            bad += blk[i].p < z->base || blk[i].p + blk[i].usable > z->base + z->size;
        }
    }
    CHECK(bad == 0, "%s: %zu overlapping or stray blocks among %zu", label, bad, held);
}

static void
fit_take(struct zone *z, struct mp_block *b, size_t size, uint64_t tag)
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
    CHECK(b->usable >= size && b->usable < size + fit.overhead + BTAG_MIN_BLOCK,
          "usable_size %zu for %zu bytes", b->usable, size);
    mp_fill(b->p, size, tag);
}

static void
fit_drop(struct zone *z, struct mp_block *b)
{
    CHECK(mp_intact(b->p, b->size, b->tag), "block of %zu bytes damaged", b->size);
    CHECK(ops->free(z, b->p) == 0, "free: %s", diag_last());
    b->p = NULL;
}

/* An 8 MiB zone with policy (may be NULL) and its fresh stats in st0, for
 * the caller to judge; -1 if there is none. */
static int
fit_churn_open(struct fit_churn *c, const char *policy, const char *label)
{
    memset(c, 0, sizeof(*c));
    c->label = label;
    c->blk = calloc(FIT_NLIVE, sizeof(*c->blk));
    if (fit_open(&c->z, 8 << 20, policy) != 0) {
        free(c->blk);
        return -1;
    }
    c->st0 = fit_stats(&c->z);
    return 0;
}

/* FIT_NLIVE blocks of 8..2048 bytes, then FIT_ROUNDS rounds that free one
 * at random and take another, with the layout and check() looked at on
 * the way; then the live bytes requested and granted, and the stats. */
static void
fit_churn_rounds(struct fit_churn *c)
{
    uint64_t rng = 11, tag = 1;
    size_t   i, k;

    for (i = 0; i < FIT_NLIVE; i++) {
        fit_take(&c->z, &c->blk[i], 8 + mp_rng(&rng) % 2041, tag++);
    }
    for (i = 0; i < FIT_ROUNDS; i++) {
        k = mp_rng(&rng) % FIT_NLIVE;
        fit_drop(&c->z, &c->blk[k]);
        fit_take(&c->z, &c->blk[k], 8 + mp_rng(&rng) % 2041, tag++);
        if (i % 20000 == 0) {
            fit_layout(&c->z, c->blk, FIT_NLIVE, c->label);
            fit_check_ok(&c->z, "churn");
        }
    }
    fit_layout(&c->z, c->blk, FIT_NLIVE, c->label);
    fit_check_ok(&c->z, "churn");
    for (i = 0; i < FIT_NLIVE; i++) {
        c->req += (double) c->blk[i].size;
        c->granted += (double) c->blk[i].usable;
    }
    c->st = fit_stats(&c->z);
}

/* The internal fragmentation bound; then every block freed brings the zone
 * back to its fresh stats.  Closes the zone. */
static void
fit_churn_close(struct fit_churn *c)
{
    struct alloc_stats st;
    size_t             i;

    CHECK(c->req / c->granted > 0.97, "internal fragmentation: requested/usable %.4f",
          c->req / c->granted);
    for (i = 0; i < FIT_NLIVE; i++) {
        fit_drop(&c->z, &c->blk[i]);
    }
    fit_check_ok(&c->z, "freeing all");
    st = fit_stats(&c->z);
    CHECK(st.free_bytes == c->st0.free_bytes && st.largest_free == c->st0.largest_free
          && st.footprint == c->st0.footprint,
          "all free: free %llu (was %llu), largest %llu, footprint %llu (was %llu)",
          (unsigned long long) st.free_bytes, (unsigned long long) c->st0.free_bytes,
          (unsigned long long) st.largest_free, (unsigned long long) st.footprint,
          (unsigned long long) c->st0.footprint);
    zone_destroy(&c->z);
    free(c->blk);
}


/* Structure. */

/* Fill a zone with blocks of `size` bytes until one fails; returns n. */
static size_t
fit_exhaust(struct zone *z, void **blk, size_t cap, size_t size)
{
    size_t n = 0;

    while (n < cap && (blk[n] = ops->alloc(z, size)) != NULL) {
        n++;
    }
    return n;
}

/* The first 8 runs each_free_run reports, and how many there were. */
struct fit_runs {
    uint64_t n, off[8], len[8];
};

static int
fit_note_run(void *arg, uint64_t off, uint64_t len)
{
    struct fit_runs *r = arg;

    if (r->n < 8) {
        r->off[r->n] = off;
        r->len[r->n] = len;
    }
    r->n++;
    return 0;
}

/* Three adjacent 256-byte blocks A B C freed in every order merge into one
 * block of 768 at A, which a request of its whole payload gets back.
 * ordered: each_free_run goes in address order, so the merged block is the
 * first run; else it is one of them. */
static void
fit_test_coalesce(int ordered)
{
    struct zone        z;
    void              *blk[512];
    size_t             n, req = (size_t) (256 - fit.overhead);
    uint64_t           a_off, i;
    struct alloc_stats st;
    struct fit_runs    r;
    int                order, found;

    /* Orders: A C B (both neighbours at once), A B C (left), C B A (right). */
    for (order = 0; order < 3; order++) {
        if (fit_open(&z, 64 << 10, NULL) != 0) {
            return;
        }
        n = fit_exhaust(&z, blk, 512, req);             /* 256-byte blocks */
        CHECK(n > 20 && n < 512, "exhausted after %zu blocks", n);
        CHECK(fit_stats(&z).largest_free < req, "nothing of %zu bytes left", req);
        a_off = (uint64_t) ((unsigned char *) blk[10] - z.base) - BTAG_WORD - ops->data_offset(&z);
        CHECK((unsigned char *) blk[11] == (unsigned char *) blk[10] + 256
              && (unsigned char *) blk[12] == (unsigned char *) blk[11] + 256,
              "A, B, C adjacent");
        if (order == 0) {
            ops->free(&z, blk[10]);
            ops->free(&z, blk[12]);
            st = fit_stats(&z);
            CHECK(st.largest_free == req, "A and C free apart: largest %llu",
                  (unsigned long long) st.largest_free);
            ops->free(&z, blk[11]);
        } else {
            int k = order == 1 ? 10 : 12, d = order == 1 ? 1 : -1;
            ops->free(&z, blk[k]);
            ops->free(&z, blk[k + d]);
            st = fit_stats(&z);
            CHECK(st.largest_free == 512 - fit.overhead, "two merged: largest %llu",
                  (unsigned long long) st.largest_free);
            ops->free(&z, blk[k + 2 * d]);
        }
        st = fit_stats(&z);
        CHECK(st.largest_free == 3 * 256 - fit.overhead, "order %d: A B C merged: largest %llu",
              order, (unsigned long long) st.largest_free);
        memset(&r, 0, sizeof(r));
        CHECK(ops->each_free_run(&z, fit_note_run, &r) == 0, "each_free_run");
        if (ordered) {
            CHECK(r.n >= 1 && r.n <= 2 && r.off[0] == a_off && r.len[0] == 768,
                  "order %d: %llu runs, first at %llu of %llu bytes (A at %llu)", order,
                  (unsigned long long) r.n, (unsigned long long) r.off[0],
                  (unsigned long long) r.len[0], (unsigned long long) a_off);
        } else {
            for (i = 0, found = 0; i < r.n && i < 8; i++) {
                found += r.off[i] == a_off && r.len[i] == 768;
            }
            CHECK(r.n <= 2 && found == 1, "order %d: %llu runs, none of 768 bytes at A (%llu)",
                  order, (unsigned long long) r.n, (unsigned long long) a_off);
        }
        fit_check_ok(&z, "coalescing");
        /* The merged block serves a request of its whole payload, at A. */
        CHECK(ops->alloc(&z, (size_t) (3 * 256 - fit.overhead)) == blk[10],
              "merged block reused at A");
        fit_check_ok(&z, "reusing the merged block");
        zone_destroy(&z);
    }
}

/* In a 256-byte hole, a block of 240 is given all 256 (a 16-byte rest
 * cannot be a block); one of 224 is split, and the 32-byte rest is a block
 * that serves the smallest request. */
static void
fit_test_split(void)
{
    struct zone z;
    void       *blk[512], *p;
    size_t      n, ov = (size_t) fit.overhead;

    if (fit_open(&z, 64 << 10, NULL) != 0) {
        return;
    }
    n = fit_exhaust(&z, blk, 512, 256 - ov);
    CHECK(n > 20, "exhausted");
    ops->free(&z, blk[5]);                              /* one 256-byte hole */

    p = ops->alloc(&z, 240 - ov);
    CHECK(p == blk[5] && ops->usable_size(&z, p) == 256 - ov, "whole block: %p usable %zu", p,
          p ? ops->usable_size(&z, p) : 0);
    fit_check_ok(&z, "a whole block");
    ops->free(&z, p);

    p = ops->alloc(&z, 224 - ov);
    CHECK(p == blk[5] && ops->usable_size(&z, p) == 224 - ov, "split block: usable %zu",
          p ? ops->usable_size(&z, p) : 0);
    CHECK(fit_stats(&z).largest_free >= BTAG_MIN_BLOCK - ov, "the rest is free");
    fit_check_ok(&z, "a split");
    CHECK(ops->alloc(&z, BTAG_MIN_BLOCK - ov) == (unsigned char *) blk[5] + 224,
          "the 32-byte rest serves %zu bytes", BTAG_MIN_BLOCK - ov);
    fit_check_ok(&z, "the rest used");
    zone_destroy(&z);
}

/* A zone of zone_size bytes filled with 1000-byte blocks: the failures are
 * counted and said, too large and SIZE_MAX fail, frees make room again. */
static void
fit_test_exhaust(size_t zone_size)
{
    struct zone        z;
    void              *blk[128];
    size_t             n, i;
    struct alloc_stats st0, st;

    if (fit_open(&z, zone_size, NULL) != 0) {
        return;
    }
    st0 = fit_stats(&z);
    n = fit_exhaust(&z, blk, 128, 1000);
    st = fit_stats(&z);
    CHECK(n > 50 && n < 128 && st.fails == 1, "exhausted after %zu, fails %llu", n,
          (unsigned long long) st.fails);
    CHECK(strstr(diag_last(), "no free block") != NULL, "message: %s", diag_last());
    CHECK(ops->alloc(&z, 1 << 20) == NULL && fit_stats(&z).fails == 2, "too big: a fail");
    CHECK(ops->alloc(&z, SIZE_MAX) == NULL && fit_stats(&z).fails == 3, "SIZE_MAX: a fail");
    fit_check_ok(&z, "exhaustion");
    ops->free(&z, blk[3]);
    ops->free(&z, blk[7]);
    CHECK((blk[3] = ops->alloc(&z, 1000)) != NULL && (blk[7] = ops->alloc(&z, 1000)) != NULL,
          "recovery after frees");
    CHECK(ops->alloc(&z, 1000) == NULL, "full again");
    for (i = 0; i < n; i++) {
        ops->free(&z, blk[i]);
    }
    st = fit_stats(&z);
    CHECK(st.free_bytes == st0.free_bytes && st.largest_free == st0.largest_free,
          "all free again: %llu of %llu bytes", (unsigned long long) st.free_bytes,
          (unsigned long long) st0.free_bytes);
    fit_check_ok(&z, "recovery");
    zone_destroy(&z);
}

/* Another process's view: the zone attached by name, read-only, at another
 * address.  check(), stats() and each_free_run() follow offsets only and
 * never write (a write would fault on the read-only mapping). */
static void
fit_test_attach(void)
{
    struct zone        z, r;
    struct alloc_stats a, b;
    struct fit_runs    ra, rb;
    void              *blk[64];
    char               name[64];
    size_t             i;

    snprintf(name, sizeof(name), "/shmbench-test-%s-%d", ops->name, (int) getpid());
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
    CHECK(r.base != z.base && strcmp(r.ctl->allocator, ops->name) == 0,
          "attached at %p (creator %p), formatted by \"%s\"", (void *) r.base, (void *) z.base,
          r.ctl->allocator);
    CHECK(ops->check(&r, stderr) == 0, "check from the read-only mapping: %s", diag_last());
    ops->stats(&z, &a);
    ops->stats(&r, &b);
    CHECK(memcmp(&a, &b, sizeof(a)) == 0, "stats differ between the two mappings");
    memset(&ra, 0, sizeof(ra));
    memset(&rb, 0, sizeof(rb));
    CHECK(ops->each_free_run(&z, fit_note_run, &ra) == 0
          && ops->each_free_run(&r, fit_note_run, &rb) == 0
          && memcmp(&ra, &rb, sizeof(ra)) == 0 && ra.n >= 32, "free runs differ");
    zone_destroy(&r);
    zone_destroy(&z);
}


/* Refusals. */

/* free(p) is refused saying expect, with the zone byte-identical, and
 * usable_size(p) is 0. */
static void
fit_refused(struct zone *z, void *p, const char *what, const char *expect)
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
    fit_check_ok(z, what);
    free(before);
}

/* A 1 MiB zone with blocks a (64 bytes), b (5000, filled), c, d, e, f
 * (100 each) and the free tail after f. */
struct fit_bad {
    struct zone    z;
    unsigned char *a, *b, *c, *d, *e, *f;
};

/* The zone, and the bad frees both refuse alike: pointers outside the
 * blocks, misaligned, into a block, into the free tail.  -1: no zone. */
static int
fit_bad_frees_open(struct fit_bad *t)
{
    struct zone   *z = &t->z;
    unsigned char  local[64], *tail;

    if (fit_open(z, 1 << 20, NULL) != 0) {
        return -1;
    }
    t->a = ops->alloc(z, 64);
    t->b = ops->alloc(z, 5000);
    t->c = ops->alloc(z, 100);
    t->d = ops->alloc(z, 100);
    t->e = ops->alloc(z, 100);
    t->f = ops->alloc(z, 100);
    memset(t->b, 0xab, 5000);
    tail = t->f + BTAG_ROUND(100 + fit.overhead);   /* start of the free tail's payload */

    fit_refused(z, NULL, "NULL", "outside the zone");
    fit_refused(z, local, "a stack address", "outside the zone");
    fit_refused(z, z->base, "the zone header", "outside the zone");
    fit_refused(z, z->base + 16, "the zone header + 16", "outside the zone");
    fit_refused(z, z->base + z->size - 8, "the zone's last word", "outside the zone");
    fit_refused(z, z->base + z->size + 4096, "past the zone", "outside the zone");
    fit_refused(z, t->a + 1, "a + 1", "not 16-byte aligned");
    fit_refused(z, t->a + 8, "a + 8", "not 16-byte aligned");
    fit_refused(z, t->b + 16, "16 bytes into a block", "not the start of a block");
    fit_refused(z, t->b + 4096, "4096 bytes into a block", "not the start of a block");
    fit_refused(z, tail, "the free tail's payload", "already free");
    fit_refused(z, tail + 64, "inside the free tail", "not the start of a block");
    return 0;
}

/* Double frees: of a block, of blocks merged left and right, with the
 * tail, after everything merged; the zone stays consistent. */
static void
fit_bad_frees_twice(struct fit_bad *t)
{
    struct zone *z = &t->z;

    CHECK(ops->free(z, t->a) == 0, "free a");
    fit_refused(z, t->a, "a double free", "already free");
    CHECK(ops->free(z, t->c) == 0 && ops->free(z, t->d) == 0, "free c, d (d merges into c)");
    fit_refused(z, t->d, "a double free of a merged block", "already free");
    fit_refused(z, t->c, "a double free of the merged block", "already free");
    CHECK(ops->free(z, t->f) == 0, "free f (merges with the tail)");
    fit_refused(z, t->f, "a double free of a block merged with the tail", "already free");
    CHECK(ops->free(z, t->b) == 0 && ops->free(z, t->e) == 0, "free b and e");
    fit_refused(z, t->b, "a double free after everything merged", "already free");
    fit_check_ok(z, "bad frees");
}


/* check() on copies of a busy zone, corrupted. */

/* nkeep blocks of 16 .. 16 + max - 1 bytes, every third freed again. */
static void
fit_busy_zone(struct zone *z, void **keep, size_t nkeep, unsigned max)
{
    uint64_t rng = 5;
    size_t   i;

    for (i = 0; i < nkeep; i++) {
        keep[i] = ops->alloc(z, 16 + mp_rng(&rng) % max);
    }
    for (i = 0; i < nkeep; i += 3) {
        ops->free(z, keep[i]);
    }
}

/* A private, writable copy of z's bytes (copy->ctl NULL) to corrupt. */
static void
fit_copy(const struct zone *z, struct zone *copy)
{
    *copy = *z;
    copy->ctl = NULL;
    copy->base = aligned_alloc(4096, z->size);
}

/* Offset of the first block in use, not the first block, whose left
 * neighbour is free (after_free) or in use; 0 if none. */
static uint64_t
fit_used_after(const struct zone *z, uint64_t start, uint64_t end, int after_free)
{
    uint64_t b, t;
    int      prev_free = 0;

    for (b = start; b < end; b += t & BTAG_SIZE_MASK) {
        t = fit_word_at(z, b);
        if (!fit.is_free(t) && b != start && prev_free == after_free) {
            return b;
        }
        prev_free = fit.is_free(t);
    }
    return 0;
}

/* One injected corruption and what check() must say of it. */
struct fit_corruption {
    const char *what, *expect;
};

/* check() of the corrupted copy fails, saying c->expect. */
static void
fit_detected(struct zone *copy, const struct fit_corruption *c)
{
    diag_clear();
    CHECK(ops->check(copy, NULL) != 0, "corruption \"%s\" not detected", c->what);
    CHECK(strstr(diag_last(), c->expect) != NULL,
          "corruption \"%s\": message \"%s\" lacks \"%s\"", c->what, diag_last(), c->expect);
}

/* Garbage in copies of z (blocks in [start, end)): check, stats and
 * each_free_run must end, never crash; random bytes never pass. */
static void
fit_garbage(const struct zone *z, struct zone *copy, uint64_t start, uint64_t end)
{
    size_t i, at, k;

    srand(7);
    for (i = 0; i < 3000; i++) {
        struct alloc_stats st;
        unsigned           nb = 1 + (unsigned) rand() % 8;
        memcpy(copy->base, z->base, z->size);
        for (k = 0; k < nb; k++) {
            at = (size_t) rand() % (start + 8192);
            copy->base[at] = (unsigned char) rand();
        }
        (void) ops->check(copy, NULL);
        (void) ops->each_free_run(copy, NULL, NULL);
        ops->stats(copy, &st);
    }
    for (i = 0; i < 300; i++) {                 /* random words at block starts */
        memcpy(copy->base, z->base, z->size);
        for (k = 0; k < 4; k++) {
            at = start + 16 * ((size_t) rand() % ((end - start) / 16));
            *(uint64_t *) (copy->base + at) = ((uint64_t) rand() << 33) ^ (uint64_t) rand();
        }
        (void) ops->check(copy, NULL);
        (void) ops->each_free_run(copy, NULL, NULL);
    }
    for (i = 0; i < 5; i++) {
        for (k = 0; k < z->size; k++) {
            copy->base[k] = (unsigned char) rand();
        }
        CHECK(ops->check(copy, NULL) != 0, "random bytes pass the check");
    }
    CHECK(1, "survived garbage");
}

/*
 * A test of check() on corrupted copies of a busy zone.  The allocator's
 * test embeds this first in a struct of its own (what its corruptions need
 * to find) and fills the fields above `z`; fit_test_check_detects() fills
 * the rest.
 */
struct fit_damage {
    size_t                        nkeep;        /* the busy zone: fit_busy_zone() */
    unsigned                      max;
    const char                   *zone_magic;   /* the header's magic */
    size_t                        count_off;    /* offsetof its struct btag_count */
    const struct fit_corruption  *cases;        /* the allocator's own corruptions */
    size_t                        ncases;
    /* After the busy zone is made and its header looked at: find what the
     * corruptions need in z (NULL: nothing). */
    void                        (*prepare)(struct fit_damage *d);
    /* Corrupt copy with cases[i]. */
    void                        (*corrupt)(struct fit_damage *d, size_t i);

    struct zone                   z, copy;
    uint64_t                      start, end;   /* z's blocks */
};

/* The corruptions of the fields both zone headers have (btag.h). */
static const struct fit_corruption fit_head_cases[] = {
    { "free count", "counters say" },
    { "zone magic", "magic is not" },
    { "block magic", "wrong magic" },
};

static void
fit_head_corrupt(struct fit_damage *d, size_t i)
{
    struct btag_head  *h = (struct btag_head *) d->copy.base;
    struct btag_count *n = (struct btag_count *) (d->copy.base + d->count_off);

    switch (i) {
    case 0: n->nfree++; break;
    case 1: h->magic[0] = 'X'; break;
    case 2: *(uint64_t *) (d->copy.base + d->start) ^= 1ULL << 60; break;
    }
}

/* A busy zone, whose header agrees with the allocator's answers; every
 * corruption (of the common fields, then d's own) in a fresh copy is
 * found, and garbage is survived. */
static void
fit_test_check_detects(struct fit_damage *d)
{
    void                  **keep = calloc(d->nkeep, sizeof(*keep));
    const struct btag_head *h;
    size_t                  i;

    if (fit_open(&d->z, 256 << 10, NULL) != 0) {
        free(keep);
        return;
    }
    fit_busy_zone(&d->z, keep, d->nkeep, d->max);
    free(keep);
    fit_check_ok(&d->z, "busy zone");
    h = (const struct btag_head *) d->z.base;
    d->start = h->start;
    d->end = h->end;
    CHECK(d->start == ops->data_offset(&d->z) && h->size == d->z.size
          && memcmp(h->magic, d->zone_magic, 8) == 0,
          "the zone header disagrees with data_offset and the zone");
    if (d->prepare) {
        d->prepare(d);
    }

    fit_copy(&d->z, &d->copy);
    for (i = 0; i < sizeof(fit_head_cases) / sizeof(fit_head_cases[0]); i++) {
        memcpy(d->copy.base, d->z.base, d->z.size);
        fit_head_corrupt(d, i);
        fit_detected(&d->copy, &fit_head_cases[i]);
    }
    for (i = 0; i < d->ncases; i++) {
        memcpy(d->copy.base, d->z.base, d->z.size);
        d->corrupt(d, i);
        fit_detected(&d->copy, &d->cases[i]);
    }
    fit_garbage(&d->z, &d->copy, d->start, d->end);
    free(d->copy.base);
    zone_destroy(&d->z);
}


/* Processes: blocks freed by another worker than allocated them (churn.h). */

/* CHURN_WORKERS workers of nops rounds on an 8 MiB zone (policy may be
 * NULL): it ends consistent and as it began, and the lock counted every
 * call.  The line printed is label's, with the search steps when steps is
 * not NULL. */
static void
fit_test_processes(const char *policy, const char *label, unsigned nops,
    uint64_t (*steps)(const struct zone *z))
{
    struct zone         z;
    struct alloc_stats  st0, st;
    struct shmtx_report rep;
    uint64_t            calls = 0;

    if (fit_open(&z, 8 << 20, policy) != 0) {
        return;
    }
    st0 = fit_stats(&z);
    shmtx_counters_reset(z.ctl->lockstat);
    calls = churn_run(ops, &z, nops, 1, 2048, label);
    fit_check_ok(&z, "4 processes");
    st = fit_stats(&z);
    CHECK(st.free_bytes == st0.free_bytes && st.largest_free == st0.largest_free
          && st.footprint == st0.footprint,
          "%s: after the workers %llu free bytes (was %llu)", label,
          (unsigned long long) st.free_bytes, (unsigned long long) st0.free_bytes);
    shmtx_report(z.ctl->lockstat, &rep);
    CHECK(rep.acquisitions == calls, "%s: lock counted %llu acquisitions, workers made %llu calls",
          label, (unsigned long long) rep.acquisitions, (unsigned long long) calls);
    printf("%s: %d workers, %llu calls, %llu contended", label, CHURN_WORKERS,
           (unsigned long long) calls, (unsigned long long) rep.contended);
    if (steps) {
        printf(", %llu list steps", (unsigned long long) steps(&z));
    }
    printf("\n");
    zone_destroy(&z);
}

#endif
