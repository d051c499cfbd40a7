/*
 * test_slab_nginx: slab_nginx_header, slab_nginx_translate and
 * slab_nginx_bitmaps (alloc/subject/slab_nginx.c) on zones of nginx's own
 * slab code (the `nginx` allocator, built from nginx's source), which keep
 * nginx's absolute pointers as a running nginx's zones do.
 *
 * The same random allocations and frees go to an `nginx` zone and a `slab`
 * zone of the same size.  A copy of the nginx zone, translated, must then
 * pass slab_check() and hold, from the first slot head to the data start,
 * exactly the slab zone's bytes (the same lists, descriptors and
 * statistics, as offsets), and the same small-page bitmaps.  Then the
 * refusals: a header that is not nginx's for this mapping, a link that
 * points outside the zone (reported by the checker, never followed), a data
 * start outside it.  Skipped (77) without nginx's source.
 */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "prng.h"
#include "registry.h"
#include "subject/slab.h"
#include "testskip.h"
#include "testutil.h"

#define ZONE_BYTES  (1u << 20)
#define PAGE        4096
#define LIVE_MAX    600
#define OPS         4000

/* nginx's own slab, found by name: it is built only with nginx's source. */
static const struct allocator_ops *ngx_ops;

struct pair {
    struct zone  ng, sl;
    void        *live_ng[LIVE_MAX], *live_sl[LIVE_MAX];
    unsigned     nlive;
};

/* What the bitmap walk compares: the copy's bytes against the slab's. */
struct bitmap_cmp {
    const unsigned char *copy, *slab;
    unsigned             pages, diffs;
};

static int
cmp_bitmap(void *arg, uint64_t off, uint64_t len)
{
    struct bitmap_cmp *c = arg;

    c->pages++;
    c->diffs += memcmp(c->copy + off, c->slab + off, (size_t) len) != 0;
    return 0;
}

/* The same random allocations and frees on both zones. */
static void
churn(struct pair *p, uint64_t seed)
{
    uint64_t s = seed, size;
    unsigned i, k;

    for (i = 0; i < OPS; i++) {
        if (p->nlive < LIVE_MAX && (p->nlive == 0 || prng_below(&s, 100) < 55)) {
            /* chunks of every slot, and runs of one to three pages */
            size = prng_below(&s, 8) == 0 ? 2049 + prng_below(&s, 3 * PAGE - 2049)
                                          : 1 + prng_below(&s, 2048);
            p->live_ng[p->nlive] = ngx_ops->alloc(&p->ng, size);
            p->live_sl[p->nlive] = slab_allocator.alloc(&p->sl, size);
            CHECK((p->live_ng[p->nlive] == NULL) == (p->live_sl[p->nlive] == NULL),
                  "op %u: alloc(%llu) succeeded on one side only", i, (unsigned long long) size);
            if (p->live_ng[p->nlive] != NULL && p->live_sl[p->nlive] != NULL) {
                p->nlive++;
            }
        } else {
            k = (unsigned) prng_below(&s, p->nlive);
            ngx_ops->free(&p->ng, p->live_ng[k]);
            slab_allocator.free(&p->sl, p->live_sl[k]);
            p->nlive--;
            p->live_ng[k] = p->live_ng[p->nlive];
            p->live_sl[k] = p->live_sl[p->nlive];
        }
    }
}

/* A private, page-aligned copy of the nginx zone's region. */
static struct slab_pool *
copy_of(const struct zone *ng)
{
    void *m = mmap(NULL, ng->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (m == MAP_FAILED) {
        return NULL;
    }
    memcpy(m, ng->base, ng->size);
    return m;
}

static void
test_translated(struct pair *p)
{
    const struct slab_pool *sl = (const struct slab_pool *) p->sl.base;
    struct slab_pool       *c = copy_of(&p->ng);
    struct bitmap_cmp       bc;
    uint64_t                addr = (uint64_t) (uintptr_t) p->ng.base;
    size_t                  size = 0;

    CHECK(c != NULL, "no memory for a copy");
    if (c == NULL) {
        return;
    }
    CHECK(slab_nginx_header(c, addr, p->ng.size, PAGE, &size) == 0, "header: %s", diag_last());
    CHECK(size == p->ng.size, "size %zu, the zone has %zu", size, p->ng.size);
    CHECK(slab_nginx_translate(c, size, addr, PAGE) == 0, "translate: %s", diag_last());
    CHECK(slab_check(c, size, NULL) == 0, "the translated copy fails the check: %s", diag_last());
    CHECK(c->pfree == sl->pfree && c->start == sl->start && c->last == sl->last,
          "pfree %llu/%llu start %llu/%llu", (unsigned long long) c->pfree,
          (unsigned long long) sl->pfree, (unsigned long long) c->start,
          (unsigned long long) sl->start);
    CHECK(memcmp((const unsigned char *) c + sizeof(*c), (const unsigned char *) sl + sizeof(*sl),
                 (size_t) sl->start - sizeof(*sl)) == 0,
          "slot heads, statistics or descriptors differ from the slab's");
    CHECK(slab_largest_free_run(c, size) == slab_largest_free_run(sl, p->sl.size),
          "largest free run %zu, the slab's %zu", slab_largest_free_run(c, size),
          slab_largest_free_run(sl, p->sl.size));
    memset(&bc, 0, sizeof(bc));
    bc.copy = (const unsigned char *) c;
    bc.slab = (const unsigned char *) sl;
    CHECK(slab_nginx_bitmaps(c, size, cmp_bitmap, &bc) == 0, "bitmaps: %s", diag_last());
    CHECK(bc.pages > 0 && bc.diffs == 0, "%u small pages, %u bitmaps differ", bc.pages, bc.diffs);
    munmap(c, p->ng.size);
}

static void
test_refused(struct pair *p)
{
    uint64_t          addr = (uint64_t) (uintptr_t) p->ng.base;
    struct slab_pool *c = copy_of(&p->ng);
    struct slab_page *d;
    size_t            size;

    if (c == NULL) {
        return;
    }
    /* A mapping elsewhere, a mapping one page longer, another page size. */
    CHECK(slab_nginx_header(c, addr + PAGE, p->ng.size, PAGE, &size) != 0, "another address");
    CHECK(slab_nginx_header(c, addr, p->ng.size + PAGE, PAGE, &size) != 0, "a longer mapping");
    CHECK(slab_nginx_header(c, addr, p->ng.size, 2 * PAGE, &size) != 0, "8 KiB pages");
    c->min_shift = 4;
    CHECK(slab_nginx_header(c, addr, p->ng.size, PAGE, &size) != 0, "min_shift 4");
    memcpy(c, p->ng.base, p->ng.size);

    /* The first descriptor's next, pointed outside the zone: the checker
     * says so (the page is a chunk or run page, or a free run's head). */
    d = (struct slab_page *) ((unsigned char *) c + (c->pages - addr));
    d[0].next = addr - 4096;
    d[0].prev = (d[0].prev & 3) | (addr + p->ng.size + 64);
    CHECK(slab_nginx_translate(c, p->ng.size, addr, PAGE) == 0, "translate: %s", diag_last());
    CHECK(slab_check(c, p->ng.size, NULL) != 0, "a link outside the zone passed the check");
    memcpy(c, p->ng.base, p->ng.size);

    /* The data start outside the zone: translation refuses. */
    c->start = addr + 2 * p->ng.size;
    CHECK(slab_nginx_translate(c, p->ng.size, addr, PAGE) != 0, "start outside translated");
    munmap(c, p->ng.size);
}

int
main(void)
{
    static struct pair  p;
    struct alloc_params ap = { .page_size = PAGE };
    uint64_t            seed;

    ngx_ops = allocator_find("nginx");
    if (ngx_ops == NULL) {
        printf("skip: the nginx allocator is not built (no nginx source)\n");
        return TEST_SKIPPED;
    }
    if (allocator_zone_create(&p.ng, ngx_ops, ZONE_ANON, ZONE_BYTES, 0, &ap, NULL) != 0
        || allocator_zone_create(&p.sl, &slab_allocator, ZONE_ANON, ZONE_BYTES, 0, &ap, NULL) != 0)
    {
        fprintf(stderr, "zones: %s\n", diag_last());
        return 1;
    }
    for (seed = 1; seed <= 4; seed++) {
        churn(&p, seed);
        test_translated(&p);
    }
    test_refused(&p);
    return test_summary("test_slab_nginx");
}
