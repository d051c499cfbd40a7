/*
 * micro_cases: the micro suite's benchmark families, registered at run time
 * (bench/micro/micro_cases.cc; docs/micro.md says what each measures).
 *
 * For every allocator of the registry, usable here or not:
 *
 *   alloc_free/<alloc>/<size>     one alloc + free pair per iteration, for
 *                                 each of nginx's slot sizes (8 .. 2048) and
 *                                 one- and two-page requests
 *   batch/<alloc>/<size>/<n>      n allocations, then their n frees, per
 *                                 iteration (n = MICRO_BATCH)
 *   lock/<alloc>                  the zone lock's uncontended lock + unlock
 *
 * A case the allocator cannot run (not usable here, no zone lock, a
 * private heap for lock, a size it cannot give) is skipped with
 * SkipWithError and the reason: visible in the output, not a failure of
 * the suite.
 */
#ifndef SHMBENCH_MICRO_CASES_H
#define SHMBENCH_MICRO_CASES_H

/* Blocks per batch. */
#define MICRO_BATCH 1000

/* Register the three families for every allocator.  Call once, before
 * benchmark::Initialize. */
void micro_register(void);

#endif
