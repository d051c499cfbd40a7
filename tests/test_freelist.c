/*
 * test_freelist: the `freelist` allocator (alloc/baselines/freelist.c),
 * first and best fit.
 *
 * What it shares with tlsf is tested by fit_common.h: blocks (alignment,
 * usable_size, no overlap, contents through a churn, the internal
 * fragmentation of uniform 8..2048 requests), coalescing with both
 * neighbours, the split minimum, exhaustion and recovery, another mapping's
 * view, the bad frees both refuse, check() on garbage, four forked workers
 * handing blocks to each other to free.  Here is what is freelist's own:
 * first-fit vs best-fit placement, the linear search counted, a forged
 * block with header, footer and next header, the address-ordered list's
 * corruptions.  The zone header's fields come from freelist.h.
 */
#include "fit_common.h"

#include "baselines/freelist.h"

/* Whether a freelist header says free: its in-use bit is clear. */
static int
fl_is_free(uint64_t t)
{
    return !(t & FL_INUSE);
}

static void
test_init(void)
{
    fit_test_init("worst", "allowed: first, best");
}

static void
test_churn(const char *policy)
{
    struct fit_churn c;
    char             label[32];

    snprintf(label, sizeof(label), "freelist/%s", policy);
    if (fit_churn_open(&c, policy, label) != 0) {
        return;
    }
    CHECK(c.st0.free_bytes == c.st0.largest_free && c.st0.fails == 0,
          "fresh zone: free %llu, largest %llu", (unsigned long long) c.st0.free_bytes,
          (unsigned long long) c.st0.largest_free);
    fit_churn_rounds(&c);
    printf("%s: 1000 live blocks of 8..2048 after %d rounds: requested/usable %.4f "
           "(internal fragmentation %.2f%%), footprint %llu, %llu free bytes, largest %llu, "
           "%.1f list steps per op\n", label, FIT_ROUNDS, c.req / c.granted,
           100.0 * (1.0 - c.req / c.granted), (unsigned long long) c.st.footprint,
           (unsigned long long) c.st.free_bytes, (unsigned long long) c.st.largest_free,
           (double) freelist_steps(&c.z) / (2.0 * (FIT_ROUNDS + FIT_NLIVE)));
    fit_churn_close(&c);
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
        if (fit_open(&z, 1 << 20, policy[i]) != 0) {
            return;
        }
        a = ops->alloc(&z, 1024 - FL_OVERHEAD);
        s[0] = ops->alloc(&z, 16);
        b = ops->alloc(&z, 128 - FL_OVERHEAD);
        s[1] = ops->alloc(&z, 16);
        c = ops->alloc(&z, 256 - FL_OVERHEAD);
        s[2] = ops->alloc(&z, 16);
        CHECK(a && b && c && s[0] && s[1] && s[2], "%s: blocks", policy[i]);
        ops->free(&z, a);
        ops->free(&z, b);
        ops->free(&z, c);

        p = ops->alloc(&z, 256 - FL_OVERHEAD);
        q = ops->alloc(&z, 100);
        if (i == 0) {
            CHECK(p == a, "first fit: 240 bytes at A (%p), got %p", a, p);
            CHECK(q == (unsigned char *) a + 256, "first fit: 100 bytes after it in A, got %p", q);
        } else {
            CHECK(p == c, "best fit: 240 bytes at C (%p), got %p", c, p);
            CHECK(q == b, "best fit: 100 bytes at B (%p), got %p", b, q);
        }
        fit_check_ok(&z, policy[i]);
        zone_destroy(&z);
    }
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

    if (fit_open(&z, 4 << 20, NULL) != 0) {
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
    fit_check_ok(&z, "fragments");
    zone_destroy(&z);
}

/* A forged block inside b whose header, footer and next header agree:
 * only the header's magic (16 bits keyed to its offset) gives it away.
 * With the right magic it would pass: that case is undetectable. */
static void
test_bad_frees(void)
{
    struct fit_bad t;
    unsigned char *b;
    uint64_t       h, fake, next;

    if (fit_bad_frees_open(&t) != 0) {
        return;
    }
    b = t.b;
    h = (uint64_t) (b + 1024 - 8 - t.z.base);
    fake = (uint64_t) 256 | FL_INUSE;
    next = btag_tag(h + 256, 32, FL_INUSE);
    memcpy(b + 1024 - 8, &fake, 8);
    memcpy(b + 1024 - 8 + 256 - 8, &fake, 8);
    memcpy(b + 1024 - 8 + 256, &next, 8);
    fit_refused(&t.z, b + 1024, "a forged block without the magic", "not the start of a block");

    fit_bad_frees_twice(&t);
    CHECK(fit_stats(&t.z).largest_free == fit_stats(&t.z).free_bytes, "one free block at the end");
    zone_destroy(&t.z);
}

/* check() on copies of a busy zone, corrupted where freelist's own tags
 * and list are. */

struct fl_damage {
    struct fit_damage d;
    uint64_t          second;       /* the second block on the free list */
};

static const struct fit_corruption fl_cases[] = {
    { "header size", "disagrees with header" },
    { "list link", "is not a free block" },
    { "adjacent free blocks", "two adjacent free blocks" },
    { "list skips a block", "address order" },
    { "back link", "links back" },
    { "epilogue", "epilogue" },
    { "list tail", "tail" },
    { "used bytes", "counters say" },
};

static void
fl_prepare(struct fit_damage *d)
{
    const struct fl_zone *m = (const struct fl_zone *) d->z.base;

    ((struct fl_damage *) d)->second = fit_word_at(&d->z, m->first + BTAG_NEXT);
}

static void
fl_corrupt(struct fit_damage *d, size_t i)
{
    struct fl_zone *m = (struct fl_zone *) d->copy.base;
    unsigned char  *base = d->copy.base;
    uint64_t        b, second = ((struct fl_damage *) d)->second;

    switch (i) {
    case 0: b = m->first; *(uint64_t *) (base + b) += 16; break;
    case 1: m->first = 12345; break;
    case 2:
        b = fit_used_after(&d->z, d->start, d->end, 1);
        CHECK(b != 0, "found a block after a free one");
        *(uint64_t *) (base + b) &= ~FL_INUSE;
        *(uint64_t *) (base + b + (fit_word_at(&d->z, b) & BTAG_SIZE_MASK) - BTAG_WORD) &= ~FL_INUSE;
        break;
    case 3:
        m->first = second;
        *(uint64_t *) (base + second + BTAG_PREV) = FL_SENTINEL;
        break;
    case 4: *(uint64_t *) (base + second + BTAG_PREV) += 16; break;
    case 5: *(uint64_t *) (base + d->end) = 0; break;
    case 6: m->last = m->first; break;
    case 7: m->count.used_bytes -= 16; break;
    }
}

static void
test_check_detects(void)
{
    struct fl_damage t = {
        .d = {
            .nkeep = 90, .max = 600, .zone_magic = FL_ZONE_MAGIC,
            .count_off = offsetof(struct fl_zone, count),
            .cases = fl_cases, .ncases = sizeof(fl_cases) / sizeof(fl_cases[0]),
            .prepare = fl_prepare, .corrupt = fl_corrupt,
        },
    };

    fit_test_check_detects(&t.d);
}

int
main(void)
{
    if (fit_begin("freelist", FL_OVERHEAD, fl_is_free) != 0) {
        return 1;
    }
    test_init();
    test_churn("first");
    test_churn("best");
    fit_test_coalesce(1);
    fit_test_split();
    test_fit_policy();
    fit_test_exhaust(64 << 10);
    test_linear_search();
    fit_test_attach();
    test_bad_frees();
    test_check_detects();
    fit_test_processes("first", "freelist/first", 20000, freelist_steps);
    fit_test_processes("best", "freelist/best", 20000, freelist_steps);
    return test_summary("test_freelist");
}
