/*
 * test_shdict: the lua_shared_dict emulation (workloads/shdict.[ch]), its
 * tree (workloads/rbtree.[ch]) and hash (workloads/crc32.[ch]).
 *
 * Every expected number below is derived in a comment from the module's
 * rules and the slab's, never taken from a run of this code.  The rules
 * used throughout (1 MiB zone, 4 KiB pages, nginx 1.22.1's slab):
 *
 *  - the zone has 254 data pages (the pool header, 9 slot heads, 9 stats
 *    and 254 page descriptors end before offset 8192, where data starts);
 *  - a request n <= 2048 takes a chunk of the smallest power of two >= n
 *    (at least 8) from a page of that slot, a fresh page when none has a
 *    free chunk; a 128-byte page holds 32 chunks, a 256-byte one 16, a
 *    32-byte one 127 (its bitmap takes one chunk); n > 2048 takes
 *    ceil(n / 4096) contiguous pages, first fit, split low; a page whose
 *    last chunk is freed goes back to the free pages, merged with free
 *    neighbours on both sides;
 *  - the dict's init takes an 80-byte header (128-byte slot) and a log
 *    string of 28 + strlen(name) bytes (32-byte slot for "dogs");
 *  - an item is 68 + K + V bytes, a list head align8(84 + K), a list
 *    element 21 + V.
 *
 * After every test the dict's own check (tree, LRU ring, items, lists) and
 * the allocator's check run.
 */
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "crc32.h"
#include "prng.h"
#include "rbtree.h"
#include "registry.h"
#include "shdict.h"
#include "substrate/proc.h"
#include "substrate/shmtx.h"
#include "substrate/zone.h"
#include "testutil.h"

#define MIB     (1024 * 1024)
#define PAGE    4096
#define KLEN    10                   /* keys "k000000001" ... */

/* A dict over a fresh zone of `size` bytes formatted by allocator `alloc`. */
struct td {
    struct zone   z;
    struct shdict d;
};

static int
td_open(struct td *t, const char *alloc, size_t size, const char *name)
{
    const struct allocator_ops *ops = allocator_find(alloc);

    memset(t, 0, sizeof(*t));
    if (ops == NULL) {
        return -1;
    }
    if (allocator_zone_create(&t->z, ops, ZONE_ANON, size, 0, NULL, NULL) != 0) {
        fprintf(stderr, "zone for %s: %s\n", alloc, diag_last());
        return -1;
    }
    if (shdict_init(&t->d, &t->z, name) != 0) {
        fprintf(stderr, "shdict_init on %s: %s\n", alloc, diag_last());
        zone_destroy(&t->z);
        return -1;
    }
    return 0;
}

/* Both checks, then the zone goes. */
static void
td_close(struct td *t, const char *what)
{
    uint64_t n;

    CHECK(shdict_check(&t->d, stderr, &n) == 0, "%s: shdict_check: %s", what, diag_last());
    CHECK(t->z.ops->check == NULL || t->z.ops->check(&t->z, stderr) == 0,
          "%s: allocator check: %s", what, diag_last());
    zone_destroy(&t->z);
}

/* Items in the dict, expired ones included (through the check's count). */
static uint64_t
td_items(struct td *t)
{
    uint64_t n = 0;

    CHECK(shdict_check(&t->d, stderr, &n) == 0, "shdict_check: %s", diag_last());
    return n;
}

/* Used chunks of the slab slot of `size` bytes. */
static uint64_t
slot_used(struct td *t, uint64_t size)
{
    struct alloc_stats st;
    uint32_t           i;

    t->z.ops->stats(&t->z, &st);
    for (i = 0; i < st.nslots; i++) {
        if (st.slot[i].size == size) {
            return st.slot[i].used;
        }
    }
    return UINT64_MAX;
}

/* Requests ever routed to the slab slot of `size` bytes. */
static uint64_t
slot_reqs(struct td *t, uint64_t size)
{
    struct alloc_stats st;
    uint32_t           i;

    t->z.ops->stats(&t->z, &st);
    for (i = 0; i < st.nslots; i++) {
        if (st.slot[i].size == size) {
            return st.slot[i].reqs;
        }
    }
    return UINT64_MAX;
}

/* Failed allocations so far, as the allocator counts them. */
static uint64_t
zone_fails_now(struct td *t)
{
    struct alloc_stats st;

    t->z.ops->stats(&t->z, &st);
    return st.fails;
}

static char keybuf[32];

/* Key number i, KLEN bytes. */
static const char *
key(unsigned i)
{
    snprintf(keybuf, sizeof(keybuf), "k%09u", i);
    return keybuf;
}

static struct shdict_value
str(size_t len)
{
    struct shdict_value v = { SHDICT_TSTRING, 0, NULL, len };

    return v;
}

static struct shdict_value
num(double x)
{
    struct shdict_value v = { SHDICT_TNUMBER, x, NULL, 0 };

    return v;
}

/* set(key, string of vlen): the result. */
static struct shdict_result
set_s(struct td *t, const char *k, size_t vlen, int64_t ttl)
{
    struct shdict_result r;
    struct shdict_value  v = str(vlen);

    CHECK(shdict_set(&t->d, k, strlen(k), &v, ttl, 0, &r) == 0, "set %s: %s", k, diag_last());
    return r;
}

static int
is_ok3(const struct shdict_result *r, int forcible)
{
    return r->nret == 3 && r->ret == SHDICT_RET_TRUE && r->err == NULL
           && r->forcible == forcible;
}

static int
is_fail3(const struct shdict_result *r, const char *err, int forcible)
{
    return r->nret == 3 && r->ret == SHDICT_RET_FALSE && r->err != NULL
           && strcmp(r->err, err) == 0 && r->forcible == forcible;
}

/* `return nil, err`. */
static int
is_nil_err(const struct shdict_result *r, const char *err)
{
    return r->nret == 2 && r->ret == SHDICT_RET_NIL && r->err != NULL
           && strcmp(r->err, err) == 0;
}

static struct shdict_result
get(struct td *t, const char *k, int stale)
{
    struct shdict_result r;

    CHECK(shdict_get(&t->d, k, strlen(k), stale, &r) == 0, "get %s: %s", k, diag_last());
    return r;
}

static void
test_crc32(void)
{
    unsigned char buf[64];
    uint64_t      s = 7;
    size_t        i, len;
    int           bad = 0;

    /* the CRC-32 check value of the standard's test string */
    CHECK(crc32_short((const unsigned char *) "123456789", 9) == 0xcbf43926u,
          "crc32(123456789) = %08x", crc32_short((const unsigned char *) "123456789", 9));
    CHECK(crc32_short(buf, 0) == 0, "crc32 of nothing");
    for (i = 0; i < 2000; i++) {
        len = (size_t) prng_below(&s, sizeof(buf) + 1);
        for (size_t j = 0; j < len; j++) {
            buf[j] = (unsigned char) prng_next(&s);
        }
        bad += crc32_short(buf, len) != crc32_bitwise(buf, len);
    }
    CHECK(bad == 0, "%d buffers where the nibble table disagrees with the polynomial", bad);
}

static void
test_fresh(void)
{
    struct td t;

    if (td_open(&t, "slab", MIB, "dogs") != 0) {
        CHECK(0, "open");
        return;
    }
    /* 254 pages, less one 128-byte slot page for the 80-byte header and one
     * 32-byte slot page for " in lua_shared_dict zone \"dogs\"" (28 + 4):
     * 252 x 4096 = 1032192, the figure of a running nginx */
    CHECK(shdict_free_space(&t.d) == 1032192, "free_space %llu",
          (unsigned long long) shdict_free_space(&t.d));
    CHECK(shdict_capacity(&t.d) == MIB, "capacity %llu",
          (unsigned long long) shdict_capacity(&t.d));
    CHECK(slot_used(&t, 128) == 1 && slot_used(&t, 32) == 1,
          "header and log string in slots 128 and 32: %llu, %llu",
          (unsigned long long) slot_used(&t, 128), (unsigned long long) slot_used(&t, 32));
    CHECK(td_items(&t) == 0, "empty");
    td_close(&t, "fresh");

    /* a 40-byte name makes the log string 68 bytes: the 128-byte slot, the
     * header's page, so 253 pages stay free */
    if (td_open(&t, "slab", MIB, "a_dict_name_of_exactly_forty_bytes_long") != 0) {
        CHECK(0, "open");
        return;
    }
    CHECK(shdict_free_space(&t.d) == 253 * PAGE, "free_space %llu with a long name",
          (unsigned long long) shdict_free_space(&t.d));
    CHECK(slot_used(&t, 128) == 2, "both in slot 128");
    td_close(&t, "fresh, long name");
}

/* One item of key length K and value length V lands where the rules say. */
static void
test_node_sizes(void)
{
    static const struct {
        size_t   k, v;
        uint64_t slot;       /* chunk size, or 0 for whole pages */
        uint64_t pages;      /* pages newly taken */
    } c[] = {
        /* n = 68 + K + V */
        { 10, 50, 128, 0 },      /* n = 128: the header's 128 page has room */
        { 10, 51, 256, 1 },      /* n = 129: slot 256, a fresh page */
        { 10, 178, 256, 1 },     /* n = 256 */
        { 10, 179, 512, 1 },     /* n = 257: slot 512 */
        { 1, 0, 128, 0 },        /* n = 69: smallest item, slot 128 */
        { 10, 1970, 2048, 1 },   /* n = 2048 */
        { 10, 1971, 0, 1 },      /* n = 2049: one whole page */
        { 10, 3998, 0, 1 },      /* n = 4076 (the spec's page boundary) */
        { 10, 4018, 0, 1 },      /* n = 4096 */
        { 10, 4019, 0, 2 },      /* n = 4097: two pages */
        { 10, 4026, 0, 2 },      /* n = 4104 */
    };
    struct shdict_result r;
    struct td            t;
    uint64_t             before, used;
    size_t               i;
    char                 k[16];

    if (td_open(&t, "slab", MIB, "dogs") != 0) {
        CHECK(0, "open");
        return;
    }
    for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        before = shdict_free_space(&t.d);
        used = c[i].slot ? slot_used(&t, c[i].slot) : 0;
        memset(k, 'x', c[i].k);
        k[c[i].k] = '\0';
        r = set_s(&t, k, c[i].v, 0);
        CHECK(is_ok3(&r, 0), "case %zu set", i);
        CHECK(shdict_node_size(c[i].k, c[i].v) == 68 + c[i].k + c[i].v, "node size");
        CHECK(before - shdict_free_space(&t.d) == c[i].pages * PAGE,
              "case %zu (n = %zu): %llu bytes of pages taken, expected %llu", i,
              68 + c[i].k + c[i].v, (unsigned long long) (before - shdict_free_space(&t.d)),
              (unsigned long long) (c[i].pages * PAGE));
        if (c[i].slot) {
            CHECK(slot_used(&t, c[i].slot) == used + 1, "case %zu: not in slot %llu", i,
                  (unsigned long long) c[i].slot);
        }
        CHECK(td_items(&t) == 1, "one item");
        shdict_delete(&t.d, k, c[i].k, &r);
        CHECK(is_ok3(&r, 0), "delete");
        /* deleting gives back the page taken: the dict is as fresh */
        CHECK(shdict_free_space(&t.d) == 1032192, "case %zu: free_space %llu after delete", i,
              (unsigned long long) shdict_free_space(&t.d));
    }
    /* list sizes: head align8(84 + K), element 21 + V */
    CHECK(shdict_list_head_size(1) == 88 && shdict_list_head_size(4) == 88
          && shdict_list_head_size(5) == 96, "list head sizes");
    CHECK(shdict_list_elem_size(10) == 31, "list element size");
    td_close(&t, "node sizes");
}

/* Fill with items of n bytes until the first forcible set: expect it at
 * set number `first`. */
static void
fill_until_forcible(const char *alloc, size_t vlen, unsigned first, uint64_t slot)
{
    struct shdict_result r;
    struct td            t;
    unsigned             i;

    if (td_open(&t, alloc, MIB, "dogs") != 0) {
        CHECK(0, "open");
        return;
    }
    for (i = 1; i <= first + 10; i++) {
        r = set_s(&t, key(i), vlen, 0);
        if (r.forcible || r.ret != SHDICT_RET_TRUE) {
            break;
        }
    }
    CHECK(i == first, "%s, n = %zu: first forcible set is number %u, expected %u", alloc,
          (size_t) 68 + KLEN + vlen, i, first);
    CHECK(is_ok3(&r, 1), "it succeeds, forcible");
    /* one forced expiry of the LRU tail (key 1) freed the one chunk needed;
     * the next tail never expires, so the round frees no more */
    CHECK(t.d.count.evictions == 1, "evictions %llu", (unsigned long long) t.d.count.evictions);
    CHECK(t.d.count.forcible == 1, "forcible count");
    CHECK(get(&t, key(1), 0).ret == SHDICT_RET_NIL, "key 1 was evicted");
    CHECK(get(&t, key(2), 0).ret == SHDICT_RET_STRING, "key 2 stays");
    CHECK(td_items(&t) == first - 1, "%u items", first - 1);
    if (slot) {
        CHECK(shdict_free_space(&t.d) == 0, "no page left");
    }
    td_close(&t, "fill");
}

static void
test_fill(void)
{
    /* n = 128: 31 chunks left in the header's page + 252 pages x 32 =
     * 8095 items; the 8096th evicts */
    fill_until_forcible("slab", 50, 8096, 128);
    /* n = 256: 252 pages x 16 = 4032 items; the 4033rd evicts */
    fill_until_forcible("slab", 178, 4033, 256);
    /* nginx's own slab code gives the same counts */
    if (allocator_find("nginx") == NULL) {
        printf("skip: the fill on nginx's own slab: %s\n", diag_last());
        return;
    }
    fill_until_forcible("nginx", 50, 8096, 128);
    fill_until_forcible("nginx", 178, 4033, 256);
}

/* Small items fill the dict; a one-page value then needs a whole free page,
 * and 30 evictions of the oldest small items empty none. */
static void
test_mixed(void)
{
    struct shdict_result r;
    struct shdict_value  big = str(4000);   /* n = 68 + 3 + 4000 = 4071: one page */
    struct td            t;
    unsigned             i;
    uint64_t             fails;

    if (td_open(&t, "slab", MIB, "dogs") != 0) {
        CHECK(0, "open");
        return;
    }
    /* 8095 items of 128 bytes: items 1-31 in page 0 (beside the header),
     * page 1 holds the log string, items 32-63 in page 2, 64-95 in page 3 ... */
    for (i = 1; i <= 8095; i++) {
        r = set_s(&t, key(i), 50, 0);
    }
    CHECK(is_ok3(&r, 0) && shdict_free_space(&t.d) == 0, "full, none forced");

    /* safe_set never evicts: one failed request */
    fails = zone_fails_now(&t);
    CHECK(shdict_safe_set(&t.d, "big", 3, &big, 0, 0, &r) == 0, "safe_set");
    CHECK(zone_fails_now(&t) == fails + 1, "safe_set: one failed request");
    CHECK(is_fail3(&r, "no memory", 0), "safe_set: false, no memory, false");
    CHECK(t.d.count.evictions == 0 && td_items(&t) == 8095, "nothing evicted");

    /* set: 30 rounds free items 1-30, all in page 0, which the header keeps;
     * one request before the rounds and one after each fail: 31 */
    fails = zone_fails_now(&t);
    CHECK(shdict_set(&t.d, "big", 3, &big, 0, 0, &r) == 0, "set big");
    CHECK(zone_fails_now(&t) == fails + 31, "31 failed requests: %llu",
          (unsigned long long) (zone_fails_now(&t) - fails));
    CHECK(is_fail3(&r, "no memory", 1), "false, no memory, true: %s", r.err ? r.err : "nil");
    CHECK(t.d.count.evictions == 30 && td_items(&t) == 8065, "30 evicted: %llu",
          (unsigned long long) t.d.count.evictions);
    /* again: item 31, then 32-60 of page 2's 32-63: three remain there */
    shdict_set(&t.d, "big", 3, &big, 0, 0, &r);
    CHECK(is_fail3(&r, "no memory", 1), "second: no memory");
    CHECK(t.d.count.evictions == 60, "60 evicted");
    /* a third: items 61, 62, 63 empty page 2 at the third round: the first
     * request and the retries of rounds 1 and 2 fail */
    fails = zone_fails_now(&t);
    shdict_set(&t.d, "big", 3, &big, 0, 0, &r);
    CHECK(zone_fails_now(&t) == fails + 3, "3 failed requests");
    CHECK(is_ok3(&r, 1), "third succeeds, forcible");
    CHECK(t.d.count.evictions == 63, "63 evicted: %llu", (unsigned long long) t.d.count.evictions);
    CHECK(td_items(&t) == 8095 - 63 + 1, "items");
    CHECK(t.d.count.nomem == 3 && t.d.count.forcible == 3, "counters nomem %llu forcible %llu",
          (unsigned long long) t.d.count.nomem, (unsigned long long) t.d.count.forcible);
    CHECK(get(&t, "big", 0).len == 4000, "big is there");
    CHECK(get(&t, key(63), 0).ret == SHDICT_RET_NIL && get(&t, key(64), 0).ret
          == SHDICT_RET_STRING, "63 gone, 64 stays");
    td_close(&t, "mixed");
}

/* openresty/lua-nginx-module#279, and its pinned-page variant. */
static void
test_279(void)
{
    struct shdict_result r;
    struct td            t;

    if (td_open(&t, "slab", MIB, "dogs") != 0) {
        CHECK(0, "open");
        return;
    }
    /* 1000 KiB: n = 68 + 1 + 1024000 -> 251 pages of the 252 */
    r = set_s(&t, "k", 1024000, 0);
    CHECK(is_ok3(&r, 0) && shdict_free_space(&t.d) == PAGE, "1000 KiB: one page left");
    /* 100 KiB: the old value is freed first (the run merges back to 252
     * pages), then n = 102469 takes 26 */
    r = set_s(&t, "k", 102400, 0);
    CHECK(is_ok3(&r, 0) && shdict_free_space(&t.d) == 226 * PAGE, "100 KiB: 226 pages left");
    /* 1000 KiB again: the 26 pages merge back with the 226, so 1.22.1 finds
     * 251 contiguous pages where the nginx 1.4.1 did not */
    r = set_s(&t, "k", 1024000, 0);
    CHECK(is_ok3(&r, 0), "1000 KiB again: true, nil, false");
    CHECK(t.d.count.evictions == 0, "nothing evicted");
    td_close(&t, "279");

    if (td_open(&t, "slab", MIB, "dogs") != 0) {
        CHECK(0, "open");
        return;
    }
    /* pages 2-126 (n = 68 + 1 + 510000 = 510069: 125 pages), a 2048-slot
     * item alone in page 127 (n = 1069), pages 128-253 (n = 515069: 126
     * pages): full */
    r = set_s(&t, "a", 510000, 0);
    CHECK(is_ok3(&r, 0), "a");
    r = set_s(&t, "p", 1000, 0);
    CHECK(is_ok3(&r, 0), "p");
    r = set_s(&t, "b", 515000, 0);
    CHECK(is_ok3(&r, 0), "b");
    CHECK(shdict_free_space(&t.d) == 0, "full");
    shdict_delete(&t.d, "a", 1, &r);
    shdict_delete(&t.d, "b", 1, &r);
    /* two free runs, 125 and 126 pages, with p's page between them */
    CHECK(shdict_free_space(&t.d) == 251 * PAGE, "251 pages free, not contiguous");
    /* n = 68 + 1 + 1024000 = 1024069 needs 251 contiguous pages, which
     * free_space says are there */
    {
        struct shdict_value v = str(1024000);

        shdict_safe_set(&t.d, "c", 1, &v, 0, 0, &r);
        CHECK(is_fail3(&r, "no memory", 0), "safe_set: false, no memory, false");
        CHECK(shdict_free_space(&t.d) == 251 * PAGE, "unchanged");
        /* set evicts the LRU tail, p: its page frees and merges both runs
         * into 252 pages, and the retry succeeds */
        shdict_set(&t.d, "c", 1, &v, 0, 0, &r);
        CHECK(is_ok3(&r, 1), "set: true, nil, true");
        CHECK(t.d.count.evictions == 1, "one eviction");
        CHECK(get(&t, "p", 0).ret == SHDICT_RET_NIL, "p evicted");
        CHECK(shdict_free_space(&t.d) == PAGE, "one page left");
    }
    td_close(&t, "pinned");
}

static void
test_flush(void)
{
    struct shdict_result r;
    struct td            t;
    unsigned             i;

    if (td_open(&t, "slab", MIB, "dogs") != 0) {
        CHECK(0, "open");
        return;
    }
    /* 100 items of 128 bytes: 31 beside the header, 32 + 32 + 5 in three
     * fresh pages */
    for (i = 1; i <= 100; i++) {
        set_s(&t, key(i), 50, 0);
    }
    CHECK(shdict_free_space(&t.d) == 249 * PAGE, "three pages taken");
    shdict_flush_all(&t.d, &r);
    CHECK(r.nret == 0, "flush_all returns nothing");
    /* every item expired, the tail freed by force and the 2 next expired
     * ones: 3 freed (items 1-3, in the header's page: no page comes back) */
    CHECK(td_items(&t) == 97, "97 left allocated: %llu", (unsigned long long) td_items(&t));
    CHECK(shdict_free_space(&t.d) == 249 * PAGE, "free_space unchanged");
    shdict_get_keys(&t.d, 0, &r);
    CHECK(r.ret == SHDICT_RET_TABLE && r.num == 0, "get_keys sees none");
    shdict_flush_expired(&t.d, 10, &r);
    CHECK(r.nret == 1 && r.ret == SHDICT_RET_NUMBER && r.num == 10, "flush_expired(10) = 10");
    shdict_flush_expired(&t.d, 0, &r);
    CHECK(r.num == 87, "flush_expired() = 87: %g", r.num);
    CHECK(td_items(&t) == 0 && shdict_free_space(&t.d) == 1032192, "all back");
    shdict_flush_expired(&t.d, 0, &r);
    CHECK(r.num == 0, "nothing left to flush");
    td_close(&t, "flush");
}

static void
test_expiry(void)
{
    struct shdict_result r;
    struct shdict_value  v = str(20);
    struct td            t;
    uint64_t             t0, reqs;

    if (td_open(&t, "slab", MIB, "dogs") != 0) {
        CHECK(0, "open");
        return;
    }
    t0 = shdict_now(&t.d);
    CHECK(t0 == SHDICT_CLOCK_START, "clock start");
    set_s(&t, "a", 20, 0);          /* never expires: LRU order k, a */
    set_s(&t, "k", 20, 1000);
    shdict_clock_advance(&t.d, 1000);
    /* at its time exactly, lookup still finds k live (expiry - now = 0 is
     * not below 0); the helper looked only at the tail, a */
    CHECK(get(&t, "k", 0).ret == SHDICT_RET_STRING, "k live at its expiry time");
    shdict_clock_advance(&t.d, 1);
    r = get(&t, "k", 0);
    CHECK(r.nret == 1 && r.ret == SHDICT_RET_NIL, "k expired 1 ms later");
    r = get(&t, "k", 1);
    CHECK(r.nret == 3 && r.ret == SHDICT_RET_STRING && r.stale == 1 && !r.has_flags,
          "get_stale: value, nil, true");
    CHECK(td_items(&t) == 2, "k still allocated: a never-expiring tail blocks the helper");
    /* get a moves a to the head: k becomes the tail, and the next
     * operation's helper frees it */
    CHECK(get(&t, "a", 0).ret == SHDICT_RET_STRING, "a");
    CHECK(get(&t, "zz", 0).ret == SHDICT_RET_NIL && td_items(&t) == 1, "k reclaimed");
    CHECK(t.d.count.expired == 1, "one expired %llu", (unsigned long long) t.d.count.expired);

    /* the helper frees at the expiry time itself (expiry - now = 0 is not
     * above 0), which lookup would call live */
    shdict_delete(&t.d, "a", 1, &r);
    set_s(&t, "t", 20, 500);
    shdict_clock_advance(&t.d, 500);
    CHECK(get(&t, "t", 0).ret == SHDICT_RET_NIL && td_items(&t) == 0,
          "t freed by the helper at its time");

    /* an expired key is absent to add and replace; add reuses its node (same
     * length), so no new request reaches the slot */
    set_s(&t, "e", 20, 10);
    shdict_clock_advance(&t.d, 11);
    set_s(&t, "f", 20, 0);          /* f at the head, e the tail... */
    /* ...and f's own helper run freed nothing: e had expired, so the
     * helper freed it: check that */
    CHECK(td_items(&t) == 1, "e freed by f's helper: %llu", (unsigned long long) td_items(&t));
    set_s(&t, "x", 20, 0);          /* tail f, never expires: blocks */
    set_s(&t, "e", 20, 10);
    shdict_get(&t.d, "f", 1, 0, &r);   /* LRU: f, e, x */
    shdict_get(&t.d, "e", 1, 1, &r);   /* get_stale: no helper; e, f, x */
    shdict_clock_advance(&t.d, 11);
    reqs = slot_reqs(&t, 128);
    CHECK(shdict_replace(&t.d, "e", 1, &v, 0, 0, &r) == 0 && is_fail3(&r, "not found", 0),
          "replace of an expired key: not found");
    CHECK(shdict_add(&t.d, "e", 1, &v, 0, 7, &r) == 0 && is_ok3(&r, 0),
          "add of an expired key: true");
    CHECK(slot_reqs(&t, 128) == reqs, "reused in place");
    r = get(&t, "e", 0);
    CHECK(r.nret == 2 && r.has_flags && r.flags == 7, "get: value, flags 7");
    CHECK(shdict_add(&t.d, "e", 1, &v, 0, 0, &r) == 0 && is_fail3(&r, "exists", 0), "exists");

    /* ttl: peek only; 5 ms past due reads as "not found" (NGX_DECLINED) */
    set_s(&t, "q", 20, 1000);
    shdict_ttl(&t.d, "q", 1, &r);
    CHECK(r.nret == 1 && r.num == 1.0, "ttl 1 s: %g", r.num);
    shdict_clock_advance(&t.d, 1005);
    shdict_ttl(&t.d, "q", 1, &r);
    CHECK(is_nil_err(&r, "not found"), "ttl at -5 ms: not found");
    shdict_clock_advance(&t.d, 1);
    shdict_ttl(&t.d, "q", 1, &r);
    CHECK(r.nret == 1 && r.num == -0.006, "ttl at -6 ms: %g", r.num);
    shdict_expire(&t.d, "q", 1, 0, &r);
    CHECK(r.ret == SHDICT_RET_TRUE, "expire(q, 0)");
    shdict_ttl(&t.d, "q", 1, &r);
    CHECK(r.num == 0, "never expires now");
    shdict_expire(&t.d, "nope", 4, 10, &r);
    CHECK(is_nil_err(&r, "not found"), "expire of nothing");
    td_close(&t, "expiry");
}

static void
test_store_errors(void)
{
    struct shdict_result r;
    struct shdict_value  v = str(5), nil = { SHDICT_TNIL, 0, NULL, 0 };
    struct shdict_value  bad = { 7, 0, NULL, 0 }, yes = { SHDICT_TBOOLEAN, 1, NULL, 0 };
    static char          longkey[SHDICT_KEY_MAX + 1];
    struct td            t;
    uint64_t             reqs;

    if (td_open(&t, "slab", MIB, "dogs") != 0) {
        CHECK(0, "open");
        return;
    }
    shdict_set(&t.d, NULL, 0, &v, 0, 0, &r);
    CHECK(is_nil_err(&r, "nil key"), "nil key");
    shdict_set(&t.d, "", 0, &v, 0, 0, &r);
    CHECK(is_nil_err(&r, "empty key"), "empty key");
    memset(longkey, 'k', sizeof(longkey));
    shdict_set(&t.d, longkey, SHDICT_KEY_MAX + 1, &v, 0, 0, &r);
    CHECK(is_nil_err(&r, "key too long"), "key too long");
    shdict_set(&t.d, "k", 1, &bad, 0, 0, &r);
    CHECK(is_nil_err(&r, "bad value type"), "bad value type");
    CHECK(shdict_set(&t.d, "k", 1, &v, -1, 0, &r) == -1
          && diag_is("bad \"exptime\" argument"), "a negative exptime raises");
    shdict_add(&t.d, "k", 1, &nil, 0, 0, &r);
    CHECK(is_fail3(&r, "attempt to add or replace nil values", 0), "add nil");
    shdict_replace(&t.d, "k", 1, &v, 0, 0, &r);
    CHECK(is_fail3(&r, "not found", 0), "replace absent");
    shdict_delete(&t.d, "k", 1, &r);
    CHECK(is_ok3(&r, 0), "delete absent: true");
    /* a key of 65535 bytes is allowed: n = 68 + 65535 + 5 = 65608, 17 pages */
    shdict_set(&t.d, longkey, SHDICT_KEY_MAX, &v, 0, 0, &r);
    CHECK(is_ok3(&r, 0) && shdict_free_space(&t.d) == (252 - 17) * PAGE, "longest key");
    /* booleans take one byte; get gives them back */
    shdict_set(&t.d, "b", 1, &yes, 0, 0, &r);
    r = get(&t, "b", 0);
    CHECK(r.ret == SHDICT_RET_TRUE && r.len == 1 && r.nret == 1, "boolean true");
    /* a set of another length frees and reallocates; of the same length it
     * reuses the node: 68 + 1 + 100 and 68 + 1 + 101 are both slot 256 */
    reqs = slot_reqs(&t, 256);
    set_s(&t, "s", 100, 0);
    set_s(&t, "s", 100, 0);
    CHECK(slot_reqs(&t, 256) == reqs + 1, "same length: in place");
    set_s(&t, "s", 101, 0);
    CHECK(slot_reqs(&t, 256) == reqs + 2, "other length: a new node");
    r = get(&t, "s", 0);
    CHECK(r.ret == SHDICT_RET_STRING && r.len == 101 && memcmp(r.str, "abcdefghij", 10) == 0,
          "the value's pattern");
    /* counted: add nil, replace, the long key, b, s three times (the calls
     * refused before the store, bad key or value or exptime, are not) */
    CHECK(t.d.count.sets == 7 && t.d.count.deletes == 1, "sets %llu deletes %llu",
          (unsigned long long) t.d.count.sets, (unsigned long long) t.d.count.deletes);
    td_close(&t, "store errors");
}

static void
test_incr(void)
{
    struct shdict_result r;
    double               init = 10;
    int64_t              ttl = 100, neg = -1;
    struct td            t;
    uint64_t             reqs;

    if (td_open(&t, "slab", MIB, "dogs") != 0) {
        CHECK(0, "open");
        return;
    }
    shdict_incr(&t.d, "n", 1, 1, NULL, NULL, &r);
    CHECK(is_nil_err(&r, "not found"), "incr absent: nil, not found");
    shdict_incr(&t.d, "n", 1, 1, &init, NULL, &r);
    CHECK(r.nret == 3 && r.ret == SHDICT_RET_NUMBER && r.num == 11 && !r.forcible
          && r.err == NULL, "incr with init: 11, nil, false");
    shdict_incr(&t.d, "n", 1, 2.5, NULL, NULL, &r);
    CHECK(r.nret == 1 && r.num == 13.5, "incr: 13.5 alone");
    set_s(&t, "s", 8, 0);
    shdict_incr(&t.d, "s", 1, 1, &init, NULL, &r);
    CHECK(is_nil_err(&r, "not a number"), "an 8-byte string is not a number");
    CHECK(shdict_incr(&t.d, "n", 1, 1, &init, &neg, &r) == -1
          && diag_is("bad \"init_ttl\" argument"), "negative init_ttl raises");
    CHECK(shdict_incr(&t.d, "n", 1, 1, NULL, &ttl, &r) == -1
          && diag_is("must provide \"init\" when providing \"init_ttl\""), "ttl without init");
    /* init_ttl applies to a new item only */
    shdict_incr(&t.d, "m", 1, 1, &init, &ttl, &r);
    CHECK(r.num == 11, "m = 11");
    shdict_ttl(&t.d, "m", 1, &r);
    CHECK(r.num == 0.1, "m's ttl 0.1 s: %g", r.num);
    shdict_incr(&t.d, "n", 1, 1, &init, &ttl, &r);
    shdict_ttl(&t.d, "n", 1, &r);
    CHECK(r.num == 0, "n keeps no expiry");
    /* an expired number of 8 bytes is reused in place with init + delta */
    shdict_clock_advance(&t.d, 101);
    reqs = slot_reqs(&t, 128);
    shdict_incr(&t.d, "m", 1, 5, &init, NULL, &r);
    CHECK(r.num == 15 && slot_reqs(&t, 128) == reqs, "expired m: 15, reused");
    r = get(&t, "m", 0);
    CHECK(r.ret == SHDICT_RET_NUMBER && r.num == 15 && r.len == 8, "get m");
    td_close(&t, "incr");
}

static void
test_lists(void)
{
    struct shdict_result r;
    struct shdict_value  v = str(10), n = num(3.5), w = str(3), e = str(100);
    struct shdict_value  yes = { SHDICT_TBOOLEAN, 1, NULL, 0 };
    struct td            t;
    uint64_t             s128, s32;
    unsigned             i;

    if (td_open(&t, "slab", MIB, "dogs") != 0) {
        CHECK(0, "open");
        return;
    }
    s128 = slot_used(&t, 128);
    s32 = slot_used(&t, 32);
    shdict_push(&t.d, "l", 1, 1, &v, &r);
    /* head align8(84 + 1) = 88: slot 128; element 21 + 10 = 31: slot 32 */
    CHECK(r.nret == 1 && r.num == 1, "lpush: 1");
    CHECK(slot_used(&t, 128) == s128 + 1 && slot_used(&t, 32) == s32 + 1, "head and element");
    shdict_push(&t.d, "l", 1, 0, &n, &r);   /* [s, 3.5] */
    CHECK(r.num == 2, "rpush: 2");
    shdict_push(&t.d, "l", 1, 1, &w, &r);   /* [w, s, 3.5] */
    CHECK(r.num == 3, "lpush: 3");
    shdict_llen(&t.d, "l", 1, &r);
    CHECK(r.num == 3, "llen 3");
    r = get(&t, "l", 0);
    CHECK(is_nil_err(&r, "value is a list"), "get of a list");
    shdict_incr(&t.d, "l", 1, 1, NULL, NULL, &r);
    CHECK(is_nil_err(&r, "not a number"), "incr of a list");
    shdict_pop(&t.d, "l", 1, 0, &r);
    CHECK(r.nret == 1 && r.ret == SHDICT_RET_NUMBER && r.num == 3.5, "rpop 3.5");
    shdict_pop(&t.d, "l", 1, 1, &r);
    CHECK(r.ret == SHDICT_RET_STRING && r.len == 3, "lpop the 3 bytes");
    shdict_pop(&t.d, "l", 1, 1, &r);
    CHECK(r.ret == SHDICT_RET_STRING && r.len == 10, "lpop the 10 bytes");
    /* the last pop removed the head too */
    CHECK(td_items(&t) == 0 && slot_used(&t, 128) == s128 && slot_used(&t, 32) == s32,
          "empty list removed");
    shdict_pop(&t.d, "l", 1, 1, &r);
    CHECK(r.nret == 1 && r.ret == SHDICT_RET_NIL, "pop of nothing: nil");
    shdict_llen(&t.d, "l", 1, &r);
    CHECK(r.num == 0, "llen of nothing: 0");
    set_s(&t, "s", 4, 0);
    shdict_push(&t.d, "s", 1, 1, &v, &r);
    CHECK(is_nil_err(&r, "value not a list"), "push on a string");
    shdict_pop(&t.d, "s", 1, 1, &r);
    CHECK(is_nil_err(&r, "value not a list"), "pop on a string");
    shdict_push(&t.d, "l", 1, 1, &yes, &r);
    CHECK(is_nil_err(&r, "bad value type"), "push of a boolean");

    /* a set over a list frees the list and its elements */
    shdict_push(&t.d, "l", 1, 1, &v, &r);
    shdict_push(&t.d, "l", 1, 1, &v, &r);
    set_s(&t, "l", 4, 0);
    CHECK(slot_used(&t, 32) == s32, "elements freed");
    CHECK(td_items(&t) == 2, "s and l");
    td_close(&t, "lists");

    /* no memory: fill with 128-byte items (8095), free one chunk; the head
     * (88: slot 128) takes it, the element of 21 + 100 = 121 (slot 128)
     * finds none: nil, no memory, and the new head is freed again */
    if (td_open(&t, "slab", MIB, "dogs") != 0) {
        CHECK(0, "open");
        return;
    }
    for (i = 1; i <= 8095; i++) {
        set_s(&t, key(i), 50, 0);
    }
    shdict_push(&t.d, "L", 1, 1, &e, &r);
    CHECK(r.nret == 2 && r.ret == SHDICT_RET_FALSE && strcmp(r.err, "no memory") == 0,
          "no room for the head: false, no memory");
    shdict_delete(&t.d, key(5), KLEN, &r);
    shdict_push(&t.d, "L", 1, 1, &e, &r);
    CHECK(is_nil_err(&r, "no memory"), "no room for the element: nil, no memory");
    /* 8094 items and the header in slot 128: the head was freed again */
    CHECK(td_items(&t) == 8094 && slot_used(&t, 128) == 8094 + 1,
          "the head was freed again");
    CHECK(t.d.count.evictions == 0 && t.d.count.nomem == 2, "pushes never evict");
    td_close(&t, "lists, no memory");

    if (td_open(&t, "slab", MIB, "dogs") != 0) {
        CHECK(0, "open");
        return;
    }
    /* an expired list is emptied and reused; z, never expiring, holds the
     * LRU tail so that the push's helper does not free l first */
    set_s(&t, "z", 4, 0);
    shdict_push(&t.d, "l", 1, 1, &v, &r);
    shdict_push(&t.d, "l", 1, 1, &v, &r);
    shdict_expire(&t.d, "l", 1, 10, &r);
    shdict_clock_advance(&t.d, 11);
    s128 = slot_reqs(&t, 128);
    shdict_push(&t.d, "l", 1, 0, &v, &r);
    CHECK(r.num == 1 && slot_reqs(&t, 128) == s128, "expired list reused: length 1");
    /* slot 32: the log string and the one new element */
    CHECK(slot_used(&t, 32) == 2, "old elements freed, one new");
    shdict_ttl(&t.d, "l", 1, &r);
    CHECK(r.num == 0, "the reused list never expires");
    td_close(&t, "lists, reuse");
}

/* The same random script on several allocators: every result must be
 * consistent with a model of what was stored, and on `slab` and `nginx`
 * (the same algorithm, one of them nginx's own code) identical. */
struct run_log {
    uint64_t free_space;
    uint64_t items;
    uint64_t evictions, forcible, nomem;
    unsigned sig;              /* a hash of every result */
};

static void
random_script(const char *alloc, uint64_t seed, struct run_log *log)
{
    enum { NKEYS = 300, NOPS = 6000 };
    static int            model[NKEYS];       /* stored length, -1 absent */
    struct shdict_result  r;
    struct shdict_value   v;
    struct td             t;
    uint64_t              s = seed;
    int                   i, k, op, bad = 0;
    char                  kb[16];

    memset(log, 0, sizeof(*log));
    if (td_open(&t, alloc, 256 * 1024, "dogs") != 0) {
        CHECK(0, "open %s", alloc);
        return;
    }
    for (i = 0; i < NKEYS; i++) {
        model[i] = -1;
    }
    for (i = 0; i < NOPS; i++) {
        k = (int) prng_below(&s, NKEYS);
        snprintf(kb, sizeof(kb), "key%d", k);
        op = (int) prng_below(&s, 10);
        v = str(prng_below(&s, 4) == 0 ? 1000 + prng_below(&s, 9000) : prng_below(&s, 300));
        if (op < 4) {
            shdict_store(&t.d, op < 3 ? SHDICT_SET : SHDICT_SAFE_SET, kb, strlen(kb), &v,
                         prng_below(&s, 3) == 0 ? 50 : 0, 0, &r);
            model[k] = r.ret == SHDICT_RET_TRUE ? (int) v.len : -1;
        } else if (op < 8) {
            shdict_get(&t.d, kb, strlen(kb), 0, &r);
            if (r.ret == SHDICT_RET_STRING && (int) r.len != model[k]) {
                bad++;
            }
        } else if (op == 8) {
            shdict_delete(&t.d, kb, strlen(kb), &r);
            model[k] = -1;
        } else {
            shdict_clock_advance(&t.d, prng_below(&s, 20));
            if (prng_below(&s, 50) == 0) {
                shdict_flush_expired(&t.d, 0, &r);
            }
        }
        log->sig = log->sig * 31 + (unsigned) r.ret * 7 + (unsigned) r.forcible
                   + (unsigned) r.len + (r.err ? (unsigned) r.err[0] : 0);
        if (i % 500 == 0) {
            CHECK(shdict_check(&t.d, stderr, NULL) == 0, "%s op %d: %s", alloc, i, diag_last());
        }
    }
    CHECK(bad == 0, "%s: %d gets returned a length the model did not store", alloc, bad);
    CHECK(t.d.count.evictions > 0 && t.d.count.expired > 0, "%s: the script evicts (%llu) "
          "and expires (%llu)", alloc, (unsigned long long) t.d.count.evictions,
          (unsigned long long) t.d.count.expired);
    log->free_space = shdict_free_space(&t.d);
    log->items = td_items(&t);
    log->evictions = t.d.count.evictions;
    log->forcible = t.d.count.forcible;
    log->nomem = t.d.count.nomem;
    td_close(&t, alloc);
}

static void
test_random(void)
{
    struct run_log slab, ngx, tlsf;

    struct run_log other;

    random_script("slab", 42, &slab);
    random_script("tlsf", 42, &tlsf);
    random_script("freelist", 42, &other);
    random_script("lfslab", 42, &other);
    CHECK(slab.sig != tlsf.sig || slab.free_space != tlsf.free_space,
          "tlsf behaves exactly like the slab?");
    if (allocator_find("nginx") == NULL) {
        printf("skip: slab against nginx's own slab: %s\n", diag_last());
        return;
    }
    random_script("nginx", 42, &ngx);
    CHECK(slab.sig == ngx.sig && slab.free_space == ngx.free_space && slab.items == ngx.items
          && slab.evictions == ngx.evictions && slab.forcible == ngx.forcible
          && slab.nomem == ngx.nomem,
          "slab and nginx differ: sig %x/%x free %llu/%llu items %llu/%llu evictions %llu/%llu",
          slab.sig, ngx.sig, (unsigned long long) slab.free_space,
          (unsigned long long) ngx.free_space, (unsigned long long) slab.items,
          (unsigned long long) ngx.items, (unsigned long long) slab.evictions,
          (unsigned long long) ngx.evictions);
}

/* The fill and the fresh dict on tlsf: it runs, and its free_space is its
 * own (free bytes, not free pages). */
static void
test_tlsf(void)
{
    struct shdict_result r;
    struct td            t;
    unsigned             i;

    if (td_open(&t, "tlsf", MIB, "dogs") != 0) {
        CHECK(0, "open");
        return;
    }
    CHECK(shdict_free_space(&t.d) != 1032192 && shdict_free_space(&t.d) > 1032192,
          "tlsf: free_space %llu, more than the slab's pages",
          (unsigned long long) shdict_free_space(&t.d));
    for (i = 1; i <= 9000; i++) {
        r = set_s(&t, key(i), 50, 0);
        if (r.forcible) {
            break;
        }
    }
    /* tlsf spends 128 + its header per item, not a 128-byte chunk: it is full
     * sooner or later than the slab's 8096, never exactly there */
    CHECK(i != 8096 && r.ret == SHDICT_RET_TRUE, "tlsf: first eviction at set %u", i);
    td_close(&t, "tlsf");
}

/* The check finds a broken tree, a broken ring and a wrong key hash. */
static void
test_check_detects(void)
{
    struct td          t;
    struct shdict_sh  *h;
    struct rbtree_node *root;
    uint64_t           saved;
    unsigned           i;

    if (td_open(&t, "slab", MIB, "dogs") != 0) {
        CHECK(0, "open");
        return;
    }
    for (i = 1; i <= 50; i++) {
        set_s(&t, key(i), 10, 0);
    }
    h = (struct shdict_sh *) (t.z.base + t.d.sh);
    root = rbtree_at(t.z.base, h->rbtree.root);
    root->color = RBTREE_RED;
    CHECK(shdict_check(&t.d, NULL, NULL) == -1 && strstr(diag_last(), "root is red"),
          "red root: %s", diag_last());
    root->color = RBTREE_BLACK;
    saved = root->key;
    root->key ^= 1;
    CHECK(shdict_check(&t.d, NULL, NULL) == -1, "wrong key found");
    root->key = saved;
    saved = h->lru.prev;
    h->lru.prev = h->lru.next;
    CHECK(shdict_check(&t.d, NULL, NULL) == -1, "broken ring found");
    h->lru.prev = saved;
    saved = h->lru.next;
    h->lru.next = 1u << 30;
    CHECK(shdict_check(&t.d, NULL, NULL) == -1 && strstr(diag_last(), "outside"),
          "wild link: %s", diag_last());
    h->lru.next = saved;
    td_close(&t, "check");
}

/* Tree shape against an independent insert-only model is left to the
 * random test; here nginx's delete on every node position. */
static void
test_tree_deletes(void)
{
    struct shdict_result r;
    struct td            t;
    uint64_t             s = 3;
    unsigned             i, k, n = 0;

    if (td_open(&t, "slab", MIB, "dogs") != 0) {
        CHECK(0, "open");
        return;
    }
    for (i = 0; i < 2000; i++) {
        k = (unsigned) prng_below(&s, 400);
        if (prng_below(&s, 2)) {
            set_s(&t, key(k), 4, 0);
        } else {
            shdict_delete(&t.d, key(k), KLEN, &r);
        }
        if (shdict_check(&t.d, NULL, NULL) != 0) {
            n++;
        }
    }
    CHECK(n == 0, "%u checks failed: %s", n, diag_last());
    td_close(&t, "tree");
}

#ifdef SHDICT_TEST_NGX_RBTREE
/*
 * The tree against nginx's own ngx_rbtree.c (compiled into this build of
 * the test from nginx's source, tests/shdict.cmake): the same random
 * inserts (duplicate keys included) and deletes on both, and after every
 * operation the same shape, the same colours, the same root.
 */
#include <ngx_config.h>
#include <ngx_core.h>

enum { NGXT_NODES = 400, NGXT_OFF = 128, NGXT_STRIDE = 48 };

/* Ours, ordered by key alone, as ngx_rbtree_insert_value. */
static void
by_key(unsigned char *base, uint64_t temp, uint64_t node, uint64_t sentinel)
{
    uint64_t *p;

    for (;;) {
        p = rbtree_at(base, node)->key < rbtree_at(base, temp)->key
            ? &rbtree_at(base, temp)->left : &rbtree_at(base, temp)->right;
        if (*p == sentinel) {
            break;
        }
        temp = *p;
    }
    *p = node;
    rbtree_at(base, node)->parent = temp;
    rbtree_at(base, node)->left = sentinel;
    rbtree_at(base, node)->right = sentinel;
    rbtree_at(base, node)->color = RBTREE_RED;
}

/* Whether the subtrees at nginx's x and our y are the same nodes (by index)
 * with the same colours. */
static int
same_tree(ngx_rbtree_node_t *ng, ngx_rbtree_node_t *ngs, ngx_rbtree_node_t *x,
    unsigned char *base, uint64_t sentinel, uint64_t y)
{
    if (x == ngs || y == sentinel) {
        return x == ngs && y == sentinel;
    }
    return (uint64_t) (x - ng) == (y - NGXT_OFF) / NGXT_STRIDE
           && x->color == rbtree_at(base, y)->color
           && same_tree(ng, ngs, x->left, base, sentinel, rbtree_at(base, y)->left)
           && same_tree(ng, ngs, x->right, base, sentinel, rbtree_at(base, y)->right);
}

static void
test_against_nginx_rbtree(void)
{
    static ngx_rbtree_node_t ng[NGXT_NODES];
    static unsigned char     base[NGXT_OFF + NGXT_NODES * NGXT_STRIDE];
    static int               in[NGXT_NODES];
    ngx_rbtree_node_t        ngs;
    ngx_rbtree_t             ngt;
    struct rbtree           *t = (struct rbtree *) (base + 8);
    uint64_t                 s = 11, off;
    unsigned                 i, k, differ = 0;

    ngx_rbtree_init(&ngt, &ngs, ngx_rbtree_insert_value);
    rbtree_init(base, t, 64);
    for (i = 0; i < 20000; i++) {
        k = (unsigned) prng_below(&s, NGXT_NODES);
        off = NGXT_OFF + (uint64_t) k * NGXT_STRIDE;
        if (!in[k]) {
            ng[k].key = rbtree_at(base, off)->key = prng_below(&s, 1000);
            ngx_rbtree_insert(&ngt, &ng[k]);
            rbtree_insert(base, t, off, by_key);
        } else {
            ngx_rbtree_delete(&ngt, &ng[k]);
            rbtree_delete(base, t, off);
        }
        in[k] = !in[k];
        differ += !same_tree(ng, &ngs, ngt.root, base, t->sentinel, t->root)
                  || ngs.color != rbtree_at(base, t->sentinel)->color;
    }
    CHECK(differ == 0, "the tree differs from nginx's after %u of 20000 operations", differ);
}
#endif

/* Keys whose CRC-32s collide sit in the tree by their bytes
 * (ngx_memn2cmp).  CRC-32 tells apart every two keys of one length that
 * differ within 32 bits, so short decimal keys never collide; random 8-byte
 * keys do, about N^2 / 2^33 pairs (some ten for N = 300000).  Store every
 * colliding pair and find each key with its own value. */
struct crc_key {
    uint32_t crc;
    uint32_t i;
};

static int
crc_cmp(const void *a, const void *b)
{
    const struct crc_key *x = a, *y = b;

    return x->crc != y->crc ? (x->crc < y->crc ? -1 : 1) : (x->i < y->i ? -1 : x->i > y->i);
}

/* Key number i of the collision test: 8 bytes of prng_mix(i). */
static void
rkey(unsigned char kb[8], uint32_t i)
{
    uint64_t x = prng_mix(i);

    memcpy(kb, &x, 8);
}

static void
test_crc_collisions(void)
{
    enum { N = 300000 };
    struct crc_key      *c = malloc(N * sizeof(*c));
    struct shdict_result r;
    struct shdict_value  v;
    struct td            t;
    unsigned char        kb[8];
    unsigned             i, j, pairs = 0, found = 0;

    if (c == NULL || td_open(&t, "slab", MIB, "dogs") != 0) {
        CHECK(0, "set-up");
        free(c);
        return;
    }
    for (i = 0; i < N; i++) {
        rkey(kb, i);
        c[i].crc = crc32_short(kb, 8);
        c[i].i = i;
    }
    qsort(c, N, sizeof(*c), crc_cmp);
    for (i = 1; i < N; i++) {
        if (c[i].crc != c[i - 1].crc) {
            continue;
        }
        pairs++;
        for (j = 0; j < 2; j++) {
            rkey(kb, c[i - 1 + j].i);
            v = str(10 + 10 * j);
            shdict_set(&t.d, kb, 8, &v, 0, 0, &r);
        }
    }
    CHECK(pairs >= 2, "only %u colliding pairs", pairs);
    for (i = 1; i < N; i++) {
        for (j = 0; c[i].crc == c[i - 1].crc && j < 2; j++) {
            rkey(kb, c[i - 1 + j].i);
            shdict_get(&t.d, kb, 8, 0, &r);
            found += r.len == 10 + 10 * j;
        }
    }
    CHECK(found == 2 * pairs, "%u of %u colliding keys found with their own value", found,
          2 * pairs);
    shdict_delete(&t.d, kb, 8, &r);
    shdict_get(&t.d, kb, 8, 0, &r);
    CHECK(r.ret == SHDICT_RET_NIL, "one deleted");
    CHECK(td_items(&t) == 2 * pairs - 1, "its twin stays");
    free(c);
    td_close(&t, "collisions");
}

/* Results written as Lua's tostring writes them. */
static int
says(const struct shdict_result *r, const char *want)
{
    char   buf[128];
    size_t n = shdict_result_format(r, buf, sizeof(buf));

    if (n != strlen(want) || strcmp(buf, want) != 0) {
        fprintf(stderr, "result \"%s\", expected \"%s\"\n", buf, want);
        return 0;
    }
    return 1;
}

static void
test_format(void)
{
    struct shdict_result r;
    struct shdict_value  v = str(3), big = str(2 * MIB);
    double               init = 10;
    char                 small[6];
    struct td            t;

    if (td_open(&t, "slab", MIB, "dogs") != 0) {
        CHECK(0, "open");
        return;
    }
    shdict_set(&t.d, "k", 1, &v, 0, 7, &r);
    CHECK(says(&r, "true nil false"), "set");
    shdict_get(&t.d, "k", 1, 0, &r);
    CHECK(says(&r, "abc 7"), "get with flags");
    shdict_get(&t.d, "k", 1, 1, &r);
    CHECK(says(&r, "abc 7 false"), "get_stale");
    shdict_get(&t.d, "x", 1, 0, &r);
    CHECK(says(&r, "nil"), "get of nothing");
    shdict_add(&t.d, "k", 1, &v, 0, 0, &r);
    CHECK(says(&r, "false exists false"), "add");
    /* a value larger than the zone: every item evicted, then no memory */
    shdict_set(&t.d, "b", 1, &big, 0, 0, &r);
    CHECK(says(&r, "false no memory true"), "too big");
    shdict_incr(&t.d, "n", 1, 3.5, &init, NULL, &r);
    CHECK(says(&r, "13.5 nil false"), "incr with init");
    shdict_incr(&t.d, "n", 1, 1e15, NULL, NULL, &r);
    CHECK(says(&r, "1e+15"), "incr of 1e15, written as LuaJIT writes it");
    shdict_incr(&t.d, "m", 1, 1, NULL, NULL, &r);
    CHECK(says(&r, "nil not found"), "incr absent");
    shdict_get_keys(&t.d, 0, &r);
    CHECK(says(&r, "table"), "get_keys");
    shdict_flush_all(&t.d, &r);
    CHECK(says(&r, ""), "flush_all returns nothing");
    shdict_set(&t.d, "k", 1, &v, 0, 0, &r);
    CHECK(shdict_result_format(&r, small, sizeof(small)) == 14 && strcmp(small, "true ") == 0,
          "truncated like snprintf: \"%s\"", small);
    td_close(&t, "format");
}

/* A zone of one data page holds the header's 128-byte slot page and
 * nothing more: the log string's 32-byte slot finds no page. */
static void
test_init_fails(void)
{
    const struct allocator_ops *ops = allocator_find("slab");
    struct shdict               d;
    struct zone                 z;

    if (allocator_zone_create(&z, ops, ZONE_ANON, allocator_min_zone_size(ops, NULL), 0,
                              NULL, NULL) != 0)
    {
        CHECK(0, "zone: %s", diag_last());
        return;
    }
    CHECK(shdict_init(&d, &z, "dogs") == -1
          && diag_is("shdict_init(): no memory for the 32-byte log context of "
                     "lua_shared_dict \"dogs\""), "one page: refused");
    zone_destroy(&z);
}

/* The lock the workers share, outside the zone (so that it costs the dict
 * nothing), and a count of the calls to it. */
struct mp_lock {
    struct shmtx_lockword word;
    struct shmtx          mtx;
    _Atomic int           ready;     /* workers at the start line */
};

static unsigned lock_calls, unlock_calls;

static void
mp_lock(void *arg)
{
    lock_calls++;
    shmtx_lock(&((struct mp_lock *) arg)->mtx);
}

static void
mp_unlock(void *arg)
{
    unlock_calls++;
    shmtx_unlock(&((struct mp_lock *) arg)->mtx);
}

/*
 * Two forked workers on one dict under a lock, released together: each
 * increments one counter 20000 times and sets and reads 300 other keys.  300 keys of at most
 * 68 + 6 + 300 bytes never fill 1 MiB, so nothing is evicted, and with the
 * lock no increment is lost: the counter ends at exactly 2 x 20000.
 */
static void
test_multiproc(void)
{
    enum { WORKERS = 2, INCRS = 20000 };
    struct mp_lock      *lk;
    struct shdict_result r;
    struct td            t;
    pid_t                pid[WORKERS];
    int                  w;

    lk = mmap(NULL, sizeof(*lk), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (lk == MAP_FAILED || td_open(&t, "slab", MIB, "dogs") != 0) {
        CHECK(0, "set-up");
        return;
    }
    memset(lk, 0, sizeof(*lk));
    shmtx_create(&lk->mtx, &lk->word, NULL, 0);
    shdict_set_lock(&t.d, mp_lock, mp_unlock, lk);
    for (w = 0; w < WORKERS; w++) {
        pid[w] = fork();
        if (pid[w] == 0) {
            struct shdict_value v;
            double              zero = 0;
            uint64_t            s = (uint64_t) w + 1;
            char                kb[16];
            int                 i, bad = 0;

            alarm(60);
            proc_set_index(w + 1);
            atomic_fetch_add(&lk->ready, 1);
            while (atomic_load(&lk->ready) < WORKERS) {
                sched_yield();
            }
            for (i = 0; i < INCRS; i++) {
                shdict_incr(&t.d, "ctr", 3, 1, &zero, NULL, &r);
                bad += r.ret != SHDICT_RET_NUMBER;
                snprintf(kb, sizeof(kb), "key%u", (unsigned) prng_below(&s, 300));
                v = str(prng_below(&s, 300));
                shdict_set(&t.d, kb, strlen(kb), &v, 0, 0, &r);
                bad += r.ret != SHDICT_RET_TRUE || r.forcible;
                shdict_get(&t.d, kb, strlen(kb), 0, &r);
            }
            _exit(bad != 0 || t.d.count.evictions != 0);
        }
    }
    for (w = 0; w < WORKERS; w++) {
        CHECK(wait_child(pid[w]) == 0, "worker %d", w);
    }
    r = get(&t, "ctr", 0);
    CHECK(r.ret == SHDICT_RET_NUMBER && r.num == WORKERS * INCRS, "counter %g, expected %d",
          r.num, WORKERS * INCRS);
    /* in this process: one lock and one unlock for the get */
    CHECK(lock_calls == 1 && unlock_calls == 1, "lock calls %u/%u", lock_calls, unlock_calls);
    shmtx_destroy(&lk->mtx);
    munmap(lk, sizeof(*lk));
    td_close(&t, "multiproc");
}

int
main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "multiproc") == 0) {
        test_multiproc();
        return test_summary("test_shdict multiproc");
    }
    test_init_fails();
    test_format();
    test_crc32();
    test_fresh();
    test_node_sizes();
    test_fill();
    test_mixed();
    test_279();
    test_flush();
    test_expiry();
    test_store_errors();
    test_incr();
    test_lists();
    test_random();
    test_tlsf();
    test_check_detects();
    test_tree_deletes();
    test_crc_collisions();
#ifdef SHDICT_TEST_NGX_RBTREE
    test_against_nginx_rbtree();
#endif
    return test_summary("test_shdict");
}
