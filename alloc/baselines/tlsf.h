/*
 * tlsf: what the two-level segregated-fit allocator (tlsf.c) offers beside
 * its ops table (declared in registry.h), which the registry lists as
 * `tlsf`: its search counter, and the layout of its control structure and
 * header flags, which tlsf.c formats and its test reads and corrupts on
 * purpose by name (btag.h has the tag format it shares with freelist).
 */
#ifndef SHMBENCH_TLSF_H
#define SHMBENCH_TLSF_H

#include <stdint.h>

#include "baselines/btag.h"
#include "substrate/zone.h"

#define TL_SL_LOG2       5
#define TL_SL_COUNT      (1u << TL_SL_LOG2)             /* lists per first level */
#define TL_FL_SHIFT      (TL_SL_LOG2 + BTAG_ALIGN_LOG2)
#define TL_BLOCK_LOG2    40                             /* blocks < 2^41 bytes */
#define TL_FL_COUNT      (TL_BLOCK_LOG2 - TL_FL_SHIFT + 2)

#define TL_FREE          1ULL
#define TL_PREV_FREE     2ULL
#define TL_OVERHEAD      BTAG_WORD                      /* the header: no footer */
#define TL_ZONE_MAGIC    "TLSFZON1"

/* The control structure, at the zone base. */
struct tl_zone {
    struct btag_head      hdr;                       /* lock, magic, geometry */
    uint64_t              fl_bitmap;                 /* bit fl: sl_bitmap[fl] != 0 */
    struct btag_count     count;
    uint32_t              sl_bitmap[TL_FL_COUNT];    /* bit sl: head[fl][sl] != 0 */
    uint64_t              head[TL_FL_COUNT][TL_SL_COUNT]; /* first block, 0 = empty */
};

_Static_assert(TL_FL_COUNT < 64, "first-level bitmap is one word");

/* Free-list nodes visited by allocation searches since init (TLSF's good fit
 * looks at one list head, so this stays at about one per allocation). */
uint64_t tlsf_steps(const struct zone *z);

#endif
