/*
 * shmtx: nginx's process-shared mutex, with contention counters.
 *
 * The algorithm is nginx 1.22.1's (docs/nginx-slab.md §11): the
 * lock word holds the owner's pid (0 = free) and is taken by one
 * compare-and-swap; a waiter spins in rounds of 1, 2, 4 ... spin/2 pause
 * instructions with a try after each round (only when there is more than one
 * CPU), then announces itself in the wait word, tries once more and sleeps on
 * a process-shared POSIX semaphore; after waking it spins again.  Unlock
 * CASes pid -> 0 and wakes one announced sleeper.  A dead owner's lock is
 * released by the master with shmtx_force_unlock(pid).
 *
 * Like nginx, the lock is split in two parts: the lock words (16 bytes, at
 * offset 0 of an nginx slab zone) and the "process part" (64 bytes, at
 * offset 104).  Both live in shared memory.  Where nginx keeps pointers from
 * the second to the first, we keep self-relative offsets, so the structure is
 * valid at any mapping address.
 *
 * Counters.  Beyond nginx, every acquisition can be counted into an array of
 * PROC_MAX per-process slots (struct shmtx_counters, 128 bytes = two cache
 * lines each, so that adjacent-line prefetch does not make neighbours share):
 * a process writes only its own slot (proc_index()), so measuring adds no
 * cross-process traffic.  The fast path counts one acquisition and, if the
 * lock changed hands, one owner switch; everything with a clock in it is on
 * the slow path, except hold time, which is *sampled*: one acquisition in
 * SHMTX_HOLD_SAMPLE is timed from lock to unlock (chosen by a golden-ratio
 * sequence over the acquisition count, not every 256th, so that a workload
 * with a period of its own cannot bias the sample).  Timing every hold would
 * take two rdtsc reads (~25 ns here) on an operation of ~20 ns.  The totals
 * are estimated as sampled ticks x acquisitions / samples; the raw sample
 * count is reported beside them.
 *
 * Counting can be turned off at run time (shmtx_set_counting(0)); the
 * `shmbench bench --alloc slab,slab:nocount` run measures what it costs.
 */
#ifndef SHMBENCH_SHMTX_H
#define SHMBENCH_SHMTX_H

#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "substrate/clock.h"
#include "substrate/proc.h"

/* One hold in this many is timed. */
#define SHMTX_HOLD_SAMPLE 256

/* The golden-ratio sampler, shared with everything else that samples one
 * event in K (the run driver's latency sampling): whether the n-th event
 * is taken, that is whether the Weyl sequence n * golden ratio (mod 2^64)
 * falls below `below`, which is UINT64_MAX / K for one event in K.  The
 * golden ratio is the irrational worst approximated by fractions, so the
 * taken events have no period a workload's own rhythm could alias with,
 * and over any N consecutive events about N / K are taken (the deviation
 * grows only with log N).  A multiply and a compare: no division per
 * event (the caller computes `below` once). */
static inline int
shmtx_sampled(uint64_t n, uint64_t below)
{
    return n * 0x9e3779b97f4a7c15ULL < below;
}

/* Whether the n-th acquisition (counting from 1) of a slot is timed: one
 * in SHMTX_HOLD_SAMPLE by the golden-ratio sampler.  Same rate as every
 * 256th hold, but no period that a workload's own rhythm could alias with. */
static inline int
shmtx_hold_sampled(uint64_t n)
{
    return shmtx_sampled(n, UINT64_MAX / SHMTX_HOLD_SAMPLE);
}

/* nginx's default spin count: rounds of 1 .. 1024 pauses. */
#define SHMTX_SPIN_DEFAULT 2048

/* The shared lock words (nginx: ngx_shmtx_sh_t). */
struct shmtx_lockword {
    _Atomic uint64_t lock;      /* owner pid, 0 = free */
    _Atomic uint64_t wait;      /* announced sleepers */
};

/* The rest of the lock (nginx: ngx_shmtx_t), 64 bytes, in shared memory. */
struct shmtx {
    int64_t          lock_rel;  /* &lockword - (char *) this */
    int64_t          stats_rel; /* &counters[0] - (char *) this; 0 = none */
    sem_t            sem;       /* process-shared, initial value 0 */
    uint32_t         semaphore; /* 1 when sem was initialised */
    uint32_t         spin;      /* UINT32_MAX: trylock-only lock */
    _Atomic uint64_t last_owner;/* pid of the previous holder (counting) */
};

/* Per-process counters (one slot per process). */
struct shmtx_counters {
    uint64_t acquisitions;      /* times the lock was taken */
    uint64_t contended;         /* ... whose first attempt failed */
    uint64_t spins;             /* pause instructions executed while waiting */
    uint64_t yields;            /* sched_yield() calls (no semaphore) */
    uint64_t sleeps;            /* sem_wait() calls */
    uint64_t wait_ticks;        /* total ticks from asking to holding (slow path) */
    uint64_t wait_max_ticks;    /* longest such wait */
    uint64_t hold_ticks_sampled;/* ticks held, summed over the timed holds */
    uint64_t hold_samples;      /* holds that were timed */
    uint64_t owner_switches;    /* acquisitions by another process than the last */
    uint64_t force_unlocks;     /* locks of a dead process released by us */
    uint64_t hold_start;        /* tick of the current timed hold, 0 = none */
    uint64_t reserved[4];
} __attribute__((aligned(128)));

/* Counter totals of all slots, converted for reporting. */
struct shmtx_report {
    uint64_t acquisitions, contended, spins, yields, sleeps;
    uint64_t owner_switches, force_unlocks, hold_samples;
    double   wait_ns, wait_max_ns;   /* total and max wait */
    double   hold_ns;                /* estimated total hold time */
};

/*
 * Set up a lock over `word` (zeroed) with its process part in `m`.
 * `counters`, if not NULL, is an array of PROC_MAX slots.  spin = 0 gives
 * nginx's default; SHMTX_TRYLOCK_ONLY makes a lock with no semaphore, like
 * nginx's accept mutex.  Returns 0; if the semaphore cannot be created the
 * lock works without it (sched_yield instead of sleeping) and -1 is returned
 * with a diag message, as nginx goes on after an alert.
 */
#define SHMTX_TRYLOCK_ONLY UINT32_MAX
int shmtx_create(struct shmtx *m, struct shmtx_lockword *word,
    struct shmtx_counters *counters, uint32_t spin);

/* Destroy the semaphore. */
void shmtx_destroy(struct shmtx *m);

/* Take the lock if it is free; 1 on success, 0 otherwise. */
int shmtx_trylock(struct shmtx *m);

/* Take the lock, waiting as nginx does (inline fast path below). */
static inline void shmtx_lock(struct shmtx *m);

/* Release the lock if this process holds it (nothing otherwise); wake one
 * announced sleeper (inline fast path below). */
static inline void shmtx_unlock(struct shmtx *m);

/* Release the lock if `pid` holds it (the master, after reaping `pid`).
 * Returns 1 if it was held by pid and is now free, else 0. */
int shmtx_force_unlock(struct shmtx *m, pid_t pid);

/* The pid holding the lock, 0 if free. */
pid_t shmtx_owner(const struct shmtx *m);

/* Turn counting on (default) or off in this process (and its future
 * children). */
void shmtx_set_counting(int on);
int  shmtx_counting(void);

/* The lock's counter slots, or NULL. */
struct shmtx_counters *shmtx_counters(const struct shmtx *m);

/* Sum all slots of `counters` (PROC_MAX of them) into `out`. */
void shmtx_report(const struct shmtx_counters *counters,
    struct shmtx_report *out);

/* Zero all slots. */
void shmtx_counters_reset(struct shmtx_counters *counters);


/*
 * Fast paths, inline.  Everything below is internal.  The uncontended
 * lock and unlock are inlined into the allocator, as the rest of the
 * operation costs about as much as the two locked instructions: call
 * overhead would be a measurable share.  Waiting, waking and the timed hold's
 * end stay out of line (shmtx.c).
 */

extern int shmtx_count_on;

/* The lock whose current hold this process is timing, or NULL: unlock
 * tests this one process-private word instead of finding the counter slot. */
extern struct shmtx *shmtx_hold_pending;

void shmtx_lock_slow(struct shmtx *m, struct shmtx_lockword *w, uint64_t pid);
void shmtx_wakeup(struct shmtx *m);
void shmtx_hold_end(struct shmtx *m, uint64_t pid);

static inline struct shmtx_lockword *
shmtx_word(const struct shmtx *m)
{
    return (struct shmtx_lockword *) ((char *) m + m->lock_rel);
}

static inline int
shmtx_try(struct shmtx_lockword *w, uint64_t pid)
{
    uint64_t zero = 0;

    return atomic_load_explicit(&w->lock, memory_order_relaxed) == 0
           && atomic_compare_exchange_strong(&w->lock, &zero, pid);
}

/* This process's counter slot of m (counting on, counters present). */
static inline struct shmtx_counters *
shmtx_slot(const struct shmtx *m, int *shared)
{
    int idx = proc_index();

    *shared = idx == PROC_INDEX_SHARED;
    return (struct shmtx_counters *) ((char *) m + m->stats_rel) + idx;
}

/* Add v to a counter: a plain update in our own slot, an atomic one in the
 * shared slot.  Returns the new value. */
static inline uint64_t
shmtx_add(uint64_t *field, uint64_t v, int shared)
{
    uint64_t n;

    if (shared) {
        return __atomic_add_fetch(field, v, __ATOMIC_RELAXED);
    }
    n = __atomic_load_n(field, __ATOMIC_RELAXED) + v;
    __atomic_store_n(field, n, __ATOMIC_RELAXED);
    return n;
}

/* Bookkeeping of one acquisition, the lock held. */
static inline void
shmtx_count_acquired(struct shmtx *m, struct shmtx_counters *c, int shared,
    uint64_t pid)
{
    uint64_t n, t;

    n = shmtx_add(&c->acquisitions, 1, shared);
    if (atomic_load_explicit(&m->last_owner, memory_order_relaxed) != pid) {
        atomic_store_explicit(&m->last_owner, pid, memory_order_relaxed);
        shmtx_add(&c->owner_switches, 1, shared);
    }
    if (shmtx_hold_sampled(n)) {
        t = clock_ticks();
        __atomic_store_n(&c->hold_start, t ? t : 1, __ATOMIC_RELAXED);
        shmtx_hold_pending = m;
    }
}

static inline void
shmtx_lock(struct shmtx *m)
{
    struct shmtx_lockword *w = shmtx_word(m);
    struct shmtx_counters *c;
    uint64_t               pid = (uint64_t) proc_pid();
    int                    shared;

    if (__builtin_expect(shmtx_try(w, pid), 1)) {
        if (shmtx_count_on && m->stats_rel != 0) {
            c = shmtx_slot(m, &shared);
            shmtx_count_acquired(m, c, shared, pid);
        }
        return;
    }
    shmtx_lock_slow(m, w, pid);
}

static inline void
shmtx_unlock(struct shmtx *m)
{
    struct shmtx_lockword *w = shmtx_word(m);
    uint64_t               pid = (uint64_t) proc_pid();

    if (__builtin_expect(shmtx_hold_pending == m, 0)) {
        shmtx_hold_end(m, pid);
    }
    if (atomic_compare_exchange_strong(&w->lock, &pid, 0)
        && m->semaphore
        && (int64_t) atomic_load_explicit(&w->wait, memory_order_relaxed) > 0)
    {
        shmtx_wakeup(m);
    }
}

#endif
