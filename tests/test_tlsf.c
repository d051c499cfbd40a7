/*
 * test_tlsf: the `tlsf` allocator (alloc/baselines/tlsf.c), two-level
 * segregated fit.
 *
 * What it shares with freelist is tested by fit_common.h: blocks
 * (alignment, usable_size, no overlap, contents through a churn, the
 * internal fragmentation of uniform 8..2048 requests), coalescing with both
 * neighbours, the split minimum, exhaustion and recovery, another mapping's
 * view, the bad frees both refuse, check() on garbage, four forked workers
 * handing blocks to each other to free.  Here is what is tlsf's own: the
 * search, where with 10000 free fragments every allocation takes exactly
 * the block a brute-force model of good fit predicts (the head of the first
 * non-empty list at or above the request's rounded class) and visits one
 * list node; forged headers and PREV_FREE; the corruptions of lists,
 * bitmaps and back links.  The control structure's fields come from
 * tlsf.h.
 */
#include "fit_common.h"

#include "baselines/tlsf.h"

/* Whether a tlsf header says free: its FREE bit is set. */
static int
tl_is_free(uint64_t t)
{
    return (t & TL_FREE) != 0;
}

/* The paper's mapping, written again as the model: list of a block size. */
static unsigned
model_class(uint64_t s)
{
    unsigned f;

    if (s < 512) {
        return (unsigned) (s >> 4);
    }
    f = 63u - (unsigned) __builtin_clzll(s);
    return (f - 9 + 1) * TL_SL_COUNT + (unsigned) (s >> (f - 5)) - TL_SL_COUNT;
}

/* The class a request searches from: its block size rounded up to the
 * next list boundary. */
static unsigned
model_search_class(size_t size)
{
    uint64_t s = ((uint64_t) size + TL_OVERHEAD + 15) & ~15ULL;

    if (s < BTAG_MIN_BLOCK) {
        s = BTAG_MIN_BLOCK;
    }
    if (s >= 512) {
        s += (1ULL << (63u - (unsigned) __builtin_clzll(s) - 5)) - 1;
    }
    return model_class(s);
}

static void
test_init(void)
{
    fit_test_init("best", "takes no policy");
    CHECK(allocator_min_zone_size(ops, NULL) < 16384, "the control structure takes %zu bytes",
          allocator_min_zone_size(ops, NULL));
}

static void
test_churn(void)
{
    struct fit_churn c;
    uint64_t         steps0;

    if (fit_churn_open(&c, NULL, "tlsf") != 0) {
        return;
    }
    CHECK(c.st0.fails == 0 && c.st0.largest_free <= c.st0.free_bytes
          && c.st0.largest_free > c.st0.free_bytes - c.st0.free_bytes / 32,
          "fresh zone: free %llu, largest %llu", (unsigned long long) c.st0.free_bytes,
          (unsigned long long) c.st0.largest_free);
    steps0 = tlsf_steps(&c.z);
    fit_churn_rounds(&c);
    CHECK(tlsf_steps(&c.z) - steps0 == FIT_NLIVE + FIT_ROUNDS, "one list node per allocation: %llu",
          (unsigned long long) (tlsf_steps(&c.z) - steps0));
    printf("tlsf: 1000 live blocks of 8..2048 after %d rounds: requested/usable %.4f "
           "(internal fragmentation %.2f%%), footprint %llu, %llu free bytes, largest %llu\n",
           FIT_ROUNDS, c.req / c.granted, 100.0 * (1.0 - c.req / c.granted),
           (unsigned long long) c.st.footprint, (unsigned long long) c.st.free_bytes,
           (unsigned long long) c.st.largest_free);
    fit_churn_close(&c);
}

/* The good-fit search against a brute-force model, over 10000 fragments. */

struct model {
    unsigned target;            /* search class */
    uint64_t off, len;          /* the first free block at or above it */
    int      found;
};

static int
model_pick(void *arg, uint64_t off, uint64_t len)
{
    struct model *m = arg;

    /* each_free_run goes list by list in class order, each list from its
     * head: the first block of a class >= target is the one to take. */
    if (model_class(len) >= m->target) {
        m->off = off;
        m->len = len;
        m->found = 1;
        return 1;
    }
    return 0;
}

static void
test_search(void)
{
    enum { NFRAG = 10000, NREQ = 400 };
    struct zone   z;
    void        **frag = calloc(NFRAG, sizeof(void *)), **sep = calloc(NFRAG, sizeof(void *));
    void        **got = calloc(NREQ, sizeof(void *));
    uint64_t      rng = 3, steps, start;
    size_t        i, size, wrong = 0, bad_steps = 0, classes = 0;
    unsigned char seen[TL_FL_COUNT * TL_SL_COUNT];
    struct model  m;
    unsigned char *p;

    if (fit_open(&z, 48 << 20, NULL) != 0) {
        return;
    }
    start = ops->data_offset(&z);
    memset(seen, 0, sizeof(seen));
    for (i = 0; i < NFRAG; i++) {
        size = 8 + mp_rng(&rng) % 4000;
        frag[i] = ops->alloc(&z, size);
        sep[i] = ops->alloc(&z, 8);
        CHECK(frag[i] && sep[i], "fragment %zu", i);
        if (frag[i]) {
            classes += !seen[model_class(ops->usable_size(&z, frag[i]) + TL_OVERHEAD)]++;
        }
    }
    for (i = 0; i < NFRAG; i++) {
        ops->free(&z, frag[i]);
    }
    fit_check_ok(&z, "10000 fragments");
    CHECK(classes > 100, "fragments in %zu lists", classes);

    for (i = 0; i < NREQ; i++) {
        size = i % 10 == 9 ? 5000 + mp_rng(&rng) % 20000 : 8 + mp_rng(&rng) % 4500;
        memset(&m, 0, sizeof(m));
        m.target = model_search_class(size);
        CHECK(ops->each_free_run(&z, model_pick, &m) == 0, "each_free_run");
        steps = tlsf_steps(&z);
        p = got[i] = ops->alloc(&z, size);
        CHECK(p != NULL, "alloc(%zu): %s", size, diag_last());
        bad_steps += tlsf_steps(&z) - steps != 1;
        wrong += !m.found || p != z.base + start + m.off + BTAG_WORD;
        if (p && ops->usable_size(&z, p) < size) {
            wrong++;
        }
    }
    CHECK(wrong == 0, "%zu of %d allocations did not take the model's good fit", wrong, NREQ);
    CHECK(bad_steps == 0, "%zu of %d allocations visited more than one list node", bad_steps,
          NREQ);
    printf("tlsf: %d fragments in %zu lists: %d allocations each visited 1 list node and "
           "took the model's block\n", NFRAG, classes, NREQ);
    fit_check_ok(&z, "allocations over fragments");
    for (i = 0; i < NREQ; i++) {
        ops->free(&z, got[i]);
    }
    for (i = 0; i < NFRAG; i++) {
        ops->free(&z, sep[i]);
    }
    fit_check_ok(&z, "freeing everything");
    CHECK(fit_stats(&z).footprint == 0, "one free block again");
    zone_destroy(&z);
    free(frag);
    free(sep);
    free(got);
}

/* Forged headers inside b: a valid next header but the wrong magic (only
 * the magic gives it away); the right magic but no next header; and a
 * claim that the left neighbour is free.  A forged header with its magic
 * and a valid next header would pass: undetectable. */
static void
test_bad_frees(void)
{
    struct fit_bad t;
    unsigned char *b;
    uint64_t       h, off, fake, next;

    if (fit_bad_frees_open(&t) != 0) {
        return;
    }
    b = t.b;
    h = (uint64_t) (b + 1024 - 8 - t.z.base);
    fake = (uint64_t) 256;
    next = btag_tag(h + 256, 32, 0);
    memcpy(b + 1024 - 8, &fake, 8);
    memcpy(b + 1024 - 8 + 256, &next, 8);
    fit_refused(&t.z, b + 1024, "a forged header without the magic", "not the start of a block");

    off = (uint64_t) (b + 2048 - 8 - t.z.base);
    fake = btag_tag(off, 256, 0);
    memcpy(b + 2048 - 8, &fake, 8);
    fit_refused(&t.z, b + 2048, "a header with its magic but no next header",
                "not the start of a block");
    fake |= TL_PREV_FREE;
    memcpy(b + 2048 - 8, &fake, 8);
    fit_refused(&t.z, b + 2048, "a header claiming a free left neighbour",
                "not the start of a block");

    fit_bad_frees_twice(&t);
    CHECK(fit_stats(&t.z).footprint == 0, "one free block at the end");
    zone_destroy(&t.z);
}

/* check() on copies of a busy zone, corrupted where tlsf's own flags,
 * back links, lists and bitmaps are. */

struct tl_damage {
    struct fit_damage d;
    uint64_t          lone;         /* a block alone on its list */
    uint64_t          chained;      /* the second block of a list */
    unsigned          lone_fl, lone_sl, empty_fl, empty_sl;    /* lone's list, an empty one */
};

static const struct fit_corruption tl_cases[] = {
    { "header size", "wrong magic" },
    { "list link", "is not a free block" },
    { "adjacent free blocks", "two adjacent free blocks" },
    { "second-level bit", "bitmap" },
    { "back link", "links back" },
    { "epilogue", "epilogue" },
    { "block in the wrong list", "belongs in list" },
    { "PREV_FREE bit", "PREV_FREE" },
    { "free block's last word", "last word" },
    { "first-level bitmap", "beyond" },
    { "used bytes", "counters say" },
};

static void
tl_prepare(struct fit_damage *d)
{
    struct tl_damage     *t = (struct tl_damage *) d;
    const struct tl_zone *m = (const struct tl_zone *) d->z.base;
    uint64_t              b;
    unsigned              fl, sl;

    CHECK(m->count.nfree > 10 && m->count.fails == 0,
          "the busy zone has %llu free blocks and %llu fails",
          (unsigned long long) m->count.nfree, (unsigned long long) m->count.fails);
    for (fl = 0; fl < TL_FL_COUNT; fl++) {
        for (sl = 0; sl < TL_SL_COUNT; sl++) {
            b = m->head[fl][sl];
            if (b && fit_word_at(&d->z, b + BTAG_NEXT) && !t->chained) {
                t->chained = fit_word_at(&d->z, b + BTAG_NEXT);
            } else if (b && !fit_word_at(&d->z, b + BTAG_NEXT) && !t->lone) {
                t->lone = b;
                t->lone_fl = fl;
                t->lone_sl = sl;
            } else if (!b && fl == 0 && sl > 2 && !t->empty_sl) {
                t->empty_fl = fl;
                t->empty_sl = sl;
            }
        }
    }
    CHECK(t->chained && t->lone && t->empty_sl,
          "busy zone has a chained list, a lone block, an empty list");
}

static void
tl_corrupt(struct fit_damage *d, size_t i)
{
    struct tl_damage *t = (struct tl_damage *) d;
    struct tl_zone   *m = (struct tl_zone *) d->copy.base;
    unsigned char    *base = d->copy.base;
    uint64_t          b;
    unsigned          fl;

    switch (i) {
    case 0:
        b = fit_used_after(&d->z, d->start, d->end, 0);
        *(uint64_t *) (base + b) += 16;
        break;
    case 1: m->head[t->lone_fl][t->lone_sl] = 12345; break;
    case 2:
        b = fit_used_after(&d->z, d->start, d->end, 1);
        CHECK(b != 0, "found a block after a free one");
        *(uint64_t *) (base + b) |= TL_FREE;
        break;
    case 3: m->sl_bitmap[t->lone_fl] &= ~(1u << t->lone_sl); break;
    case 4: *(uint64_t *) (base + t->chained + BTAG_PREV) += 16; break;
    case 5: *(uint64_t *) (base + d->end) ^= TL_PREV_FREE; break;
    case 6:                                       /* move the lone block to an empty list */
        m->head[t->lone_fl][t->lone_sl] = 0;
        m->sl_bitmap[t->lone_fl] &= ~(1u << t->lone_sl);
        m->head[t->empty_fl][t->empty_sl] = t->lone;
        m->sl_bitmap[t->empty_fl] |= 1u << t->empty_sl;
        m->fl_bitmap = 0;
        for (fl = 0; fl < TL_FL_COUNT; fl++) {
            m->fl_bitmap |= (uint64_t) (m->sl_bitmap[fl] != 0) << fl;
        }
        break;
    case 7:
        b = fit_used_after(&d->z, d->start, d->end, 0);
        *(uint64_t *) (base + b) |= TL_PREV_FREE;
        break;
    case 8:
        *(uint64_t *) (base + t->lone + (fit_word_at(&d->z, t->lone) & BTAG_SIZE_MASK)
                       - BTAG_WORD) += 16;
        break;
    case 9: m->fl_bitmap |= 1ULL << 40; break;
    case 10: m->count.used_bytes += 16; break;
    }
}

static void
test_check_detects(void)
{
    struct tl_damage t = {
        .d = {
            .nkeep = 300, .max = 200, .zone_magic = TL_ZONE_MAGIC,
            .count_off = offsetof(struct tl_zone, count),
            .cases = tl_cases, .ncases = sizeof(tl_cases) / sizeof(tl_cases[0]),
            .prepare = tl_prepare, .corrupt = tl_corrupt,
        },
    };

    fit_test_check_detects(&t.d);
}

int
main(void)
{
    if (fit_begin("tlsf", TL_OVERHEAD, tl_is_free) != 0) {
        return 1;
    }
    test_init();
    test_churn();
    fit_test_coalesce(0);
    fit_test_split();
    fit_test_exhaust(80 << 10);
    test_search();
    fit_test_attach();
    test_bad_frees();
    test_check_detects();
    fit_test_processes(NULL, "tlsf", 50000, NULL);
    return test_summary("test_tlsf");
}
