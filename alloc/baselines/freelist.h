/*
 * freelist: what the plain free-list allocator (freelist.c) offers beside
 * its ops table (declared in registry.h), which the registry lists as `freelist`.
 */
#ifndef SHMBENCH_FREELIST_H
#define SHMBENCH_FREELIST_H

#include <stdint.h>

#include "substrate/zone.h"

/* Free-list nodes visited by allocation searches since init: the cost that
 * grows with fragmentation, which the tests measure against a bound. */
uint64_t freelist_steps(const struct zone *z);

#endif
