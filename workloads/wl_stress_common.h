/*
 * wl_stress_common: pieces of the stress workloads (wl_mstress.c,
 * wl_phase.c).
 *
 * A block pattern that depends on a tag, so that a block damaged
 * while it was live (a stray write, a block granted twice, a page handed
 * out under a live block) is noticed when the block is checked before it
 * is freed.
 *
 * The idea is tests/mputil.h's mp_fill/mp_intact (a pattern derived from
 * the block's tag, written at allocation, verified before the free), here
 * word by word rather than byte by byte, because a workload checks every
 * block it frees and byte loops would make the check, not the allocator,
 * the cost being measured.  Word i of a block tagged `tag` holds
 * prng_mix(tag) + i * golden ratio: consecutive words differ in every
 * byte, and two tags give unrelated streams.  A tail shorter than a word
 * holds the low bytes of the next word's value.  Blocks need not be
 * aligned: words are moved with memcpy, which compiles to plain loads and
 * stores.
 */
#ifndef SHMBENCH_WL_STRESS_COMMON_H
#define SHMBENCH_WL_STRESS_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "prng.h"
#include "workload.h"

#define WL_PATTERN_STEP 0x9e3779b97f4a7c15ull

/* Fill the `size` bytes at p with tag's pattern. */
static inline void
wl_pattern_fill(unsigned char *p, size_t size, uint64_t tag)
{
    uint64_t w = prng_mix(tag);
    size_t   i;

    for (i = 0; i + 8 <= size; i += 8) {
        memcpy(p + i, &w, 8);
        w += WL_PATTERN_STEP;
    }
    memcpy(p + i, &w, size - i);
}

/* Check the `size` bytes at p against tag's pattern: `size` if intact,
 * else the offset of the first word (or tail) that differs. */
static inline size_t
wl_pattern_ok(const unsigned char *p, size_t size, uint64_t tag)
{
    uint64_t w = prng_mix(tag);
    size_t   i;

    for (i = 0; i + 8 <= size; i += 8) {
        if (memcmp(p + i, &w, 8) != 0) {
            return i;
        }
        w += WL_PATTERN_STEP;
    }
    return memcmp(p + i, &w, size - i) == 0 ? size : i;
}

#endif
