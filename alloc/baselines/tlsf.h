/*
 * tlsf: what the two-level segregated-fit allocator (tlsf.c) offers beside
 * its ops table (declared in registry.h), which the registry lists as `tlsf`.
 */
#ifndef SHMBENCH_TLSF_H
#define SHMBENCH_TLSF_H

#include <stdint.h>

#include "substrate/zone.h"

/* Free-list nodes visited by allocation searches since init (TLSF's good fit
 * looks at one list head, so this stays at about one per allocation). */
uint64_t tlsf_steps(const struct zone *z);

#endif
