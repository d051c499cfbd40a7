/*
 * freelist: what the plain free-list allocator (freelist.c) offers beside
 * its ops table (declared in registry.h), which the registry lists as
 * `freelist`: its search counter, and the layout of its zone header and
 * tags, which freelist.c formats and its test reads and corrupts on purpose
 * by name (btag.h has the tag format it shares with tlsf).
 */
#ifndef SHMBENCH_FREELIST_H
#define SHMBENCH_FREELIST_H

#include <stddef.h>
#include <stdint.h>

#include "baselines/btag.h"
#include "substrate/zone.h"

#define FL_INUSE       1ULL                    /* the tags' one flag */
#define FL_OVERHEAD    (2 * BTAG_WORD)         /* header + footer */
#define FL_ZONE_MAGIC  "FREELST1"

enum fl_policy { FL_FIRST_FIT = 0, FL_BEST_FIT = 1 };

/* The zone header, at the zone base. */
struct fl_zone {
    struct btag_head      hdr;          /* lock, magic, geometry */
    uint32_t              policy;       /* enum fl_policy */
    uint32_t              reserved;
    /* The free list's sentinel, laid out as a free block's header and links
     * so that list code has no special case: its node offset is FL_SENTINEL. */
    uint64_t              sentinel_tag;
    uint64_t              first;        /* lowest free block (its next) */
    uint64_t              last;         /* highest free block (its prev) */
    struct btag_count     count;
};

#define FL_SENTINEL    ((uint64_t) offsetof(struct fl_zone, sentinel_tag))

_Static_assert(offsetof(struct fl_zone, first) == FL_SENTINEL + BTAG_NEXT, "sentinel next");
_Static_assert(offsetof(struct fl_zone, last) == FL_SENTINEL + BTAG_PREV, "sentinel prev");

/* Free-list nodes visited by allocation searches since init: the cost that
 * grows with fragmentation, which the tests measure against a bound. */
uint64_t freelist_steps(const struct zone *z);

#endif
