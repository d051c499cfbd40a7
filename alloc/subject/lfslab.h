/*
 * lfslab: what lfslab's tests (tests/test_lfslab.c) use beside its ops
 * table.
 *
 * The allocator itself is used through its ops table, `lfslab_allocator`
 * (registry.h); the driver calls nothing here.  The tests also reach two
 * things the ops table does not show: the page lock, to see who holds it
 * and to force it open after killing its holder, as a master would; and
 * lfslab's own per-worker counters, summed by name, to prove that the
 * transitions they stress really ran.  Below them, the knobs of the test
 * builds (tests/lfslab.cmake), which compile lfslab's sources again.
 */
#ifndef SHMBENCH_LFSLAB_H
#define SHMBENCH_LFSLAB_H

#include <stdint.h>

#include "substrate/zone.h"

struct shmtx;

/* The zone's page lock (page runs, large requests, scavenging). */
struct shmtx *lfslab_page_lock(struct zone *z);

/* A counter summed over all heap records by name: "remote", "retries",
 * "refills", "pops", "retires", "lock_acq", "large_allocs", "large_fails",
 * "large_frees", "scavenges", "corrupt", "steals", "adopts", "promotes",
 * and per class "allocs", "frees", "fails", "pages_in", "pages_out";
 * UINT64_MAX if the name is unknown or the zone is not an lfslab zone. */
uint64_t lfslab_counter(struct zone *z, const char *name);

/*
 * -DLFSLAB_TAG_BITS=n: the partial stacks' ABA tag has n bits (1 .. 32;
 * the mutation test builds 2, which its ABA stress must catch).
 */
#ifndef LFSLAB_TAG_BITS
#define LFSLAB_TAG_BITS 32
#endif

/*
 * -DLFSLAB_TEST_HOOKS: lfslab calls lfslab_test_hook, when set, at these
 * points with the page concerned; a test stalls there (the ABA stress) or
 * stops for good there and is killed (an orphan for check to report).
 */
#define LFSLAB_HOOK_POP_WINDOW   1   /* pop: next read, CAS not yet done */
#define LFSLAB_HOOK_POPPED       2   /* pop: CAS won, page not yet claimed */
#define LFSLAB_HOOK_FREED_FULL   3   /* free: FULL -> PARTIAL done, not yet pushed */
#ifdef LFSLAB_TEST_HOOKS
extern void (*lfslab_test_hook)(int point, unsigned page);
#endif

/*
 * -DLFSLAB_THREAD_INDEX (the ThreadSanitizer build, which cannot follow
 * processes): a thread that sets lfslab_thread_index >= 0 is that worker
 * for lfslab instead of proc_index(); threads then stand in for processes.
 */
#ifdef LFSLAB_THREAD_INDEX
extern _Thread_local int lfslab_thread_index;
#endif

#endif
