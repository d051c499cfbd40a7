/*
 * master: the driver's master process, as nginx's master is to its
 * workers; `shmbench run` and `shmbench bench --procs` both use it.
 *
 * master_run() creates the zone (allocator_zone_create), maps a shared area
 * (a barrier, a stop flag, the caller's area, one cache-line-aligned slot
 * per worker), forks the workers and waits for them to be ready, releases
 * them together, calls the caller's sampler every sample_ms while they run,
 * and reaps them.  A worker: dies with its master (PR_SET_PDEATHSIG, then
 * getppid() checked for a master already gone), takes its process index
 * (proc_set_index), attaches, runs the caller's function, which calls
 * master_ready() once it is set up, and exits with its status.
 *
 * A worker may die at any moment.  The master never blocks on anything a
 * worker could hold: it reaps (waitpid WNOHANG, then a sleep of at most a
 * few milliseconds, which a signal cuts short) in every wait, the barrier
 * included, and names each worker that died with its pid and exit status
 * or signal.  If the dead pid holds the zone lock, the master releases it
 * (shmtx_force_unlock, as nginx's master calls ngx_unlock_mutexes).  Unless
 * `survive` is set, it then stops the other workers: the stop flag first
 * (a workload checks it in its loop, so that it ends between two ops), then
 * SIGTERM after a grace period, then SIGKILL; every pid it reaps is
 * force-unlocked too.  When no worker is left it runs the allocator's
 * check() and says whether the zone is consistent, and in what state the
 * failure left it (nginx does not repair a zone either).  The run is then
 * marked failed; the caller writes its results and exits 1.
 *
 * Signals and leaks.  SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGPIPE in the
 * master stop the workers the same way, remove a posix zone's name, and
 * end the run as failed; master_finish() then dies of the same signal.
 * Workers ignore SIGINT, SIGHUP and SIGQUIT (a terminal's ^C reaches the
 * whole process group; the master decides).  A posix zone that is not kept
 * by name is unlinked right after it is created: the workers inherit the
 * mapping, so nothing needs the name (as a SysV zone is marked IPC_RMID at
 * once), and a SIGKILL of the master then leaves no file behind; the
 * workers, killed by their parent-death signal, leave no process.
 *
 * Test hooks.  SHMBENCH_TEST_KILL=W:barrier makes worker W kill itself
 * (SIGKILL) before it reaches the barrier; W:lock makes it take the zone
 * lock after the release and kill itself while holding it.  They let the
 * crash tests reproduce those deaths exactly; nothing else reads them.
 *
 * The zone lock is the one the allocator's ops table names (ops->lock);
 * an allocator without one (nginx's own code) gets no force-unlock.
 */
#ifndef SHMBENCH_MASTER_H
#define SHMBENCH_MASTER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "substrate/allocator.h"
#include "substrate/proc.h"
#include "substrate/shmtx.h"
#include "substrate/zone.h"

/* At most this many workers: every private counter slot.  The master
 * needs none: it counts nothing into the zone (its lock counting is off
 * once the workers are forked; the force-unlocks it does are reported per
 * worker, as held_lock). */
#define MASTER_MAX_WORKERS (PROC_MAX - 1)

/* Grace period after the stop flag, then after SIGTERM (ms). */
#define MASTER_GRACE_MS 1000

struct master;

struct master_opts {
    const char                 *who;        /* the command, for messages: "run" */
    const char                 *label;      /* the allocator as named to the user */
    const struct allocator_ops *ops;
    enum zone_method            method;
    size_t                      zone_size;
    struct alloc_params         params;     /* nworkers is set to procs */
    unsigned                    procs;      /* 1 .. MASTER_MAX_WORKERS */
    const char                 *keep;       /* posix name kept after the run, or NULL */
    int                         noreserve;  /* ZONE_NORESERVE */
    int                         survive;    /* let the others finish after a death */
    size_t                      area_size;  /* bytes of the caller's shared area */
    size_t                      slot_size;  /* bytes of each worker's slot */
                                            /* (both zeroed, 128-byte aligned) */
    unsigned                    sample_ms;  /* sampler period; 0: no sampler */
    /* In the master, every sample_ms while the released workers run. */
    void                      (*sample)(struct master *m, void *arg);
    /* In worker w, after attach; calls master_ready(); returns the exit
     * status (0: done; otherwise it has printed why). */
    int                       (*worker)(struct master *m, unsigned w, void *arg);
    void                       *arg;
};

/* A worker as the master saw it end. */
struct master_worker {
    pid_t    pid;
    int      status;        /* waitpid's */
    int      reaped;
    int      stopped;       /* ended after the master's stop began (flag or signal) */
    int      killed;        /* ... by the master's SIGTERM or SIGKILL */
    int      died;          /* ended on its own by a signal or a non-zero status */
    int      held_lock;     /* held the zone lock: force-unlocked */
};

struct master {
    struct master_opts   o;
    struct zone          zone;
    int                  have_zone;
    char                 posix_name[ZONE_NAME_MAX];
    struct shmtx        *lock;          /* the zone lock, or NULL */
    struct master_shared *sh;
    size_t               sh_size;
    struct master_worker w[MASTER_MAX_WORKERS];
    unsigned             started, alive;
    uint64_t             t_go, t_done;  /* clock_ns() of the release, of the last reap */
    int                  released;
    int                  stopping;
    uint64_t             stop_ns;       /* when the stop began */
    int                  escalated;     /* 1: SIGTERM sent, 2: SIGKILL sent */
    int                  failed;        /* the run failed */
    char                 why[512];      /* the first reason */
    int                  signal;        /* the signal that ended the master's run, 0 none */
    int                  counting;      /* shmtx_counting() before the run */
    int                  checked;       /* check() ran at the end */
    int                  consistent;    /* ... and passed */
    char                 zone_state[512]; /* what the end found, in words */
};

/*
 * Run the whole thing (the top of the file).  Returns 0 if every worker
 * ended with status 0 and the zone is consistent; 1 if the run failed after
 * it started (m->why says why; the zone is still mapped for the caller's
 * figures); -1 if nothing ran (the zone or the area could not be made:
 * printed).  master_finish() must follow in every case.
 */
int master_run(struct master *m, const struct master_opts *o);

/* In a worker: say it is ready, wait for the release (returns) or for the
 * master's abort (exits). */
void master_ready(struct master *m);

/* The zone, the caller's area, worker w's slot, the stop flag. */
struct zone *master_zone(struct master *m);
void *master_area(struct master *m);
void *master_slot(struct master *m, unsigned w);
const _Atomic unsigned *master_stop_flag(struct master *m);

/*
 * In the master while workers run: the allocator's stats, taken only where
 * that is safe: under the zone lock, got by trylock within a bound (never
 * waiting on a worker that may have died holding it).  Returns 0, or -1 if
 * the lock was busy or the driver knows no lock that would make it safe
 * (then *out is untouched).  After the run (no worker left) any allocator's
 * stats are safe: call ops->stats directly.
 */
int master_sample_stats(struct master *m, struct alloc_stats *out);

/* After master_run: the allocator's stats (0), or -1 when reading the zone
 * is not safe (a worker ended abnormally and its lock cannot be seen) or
 * would not describe the workers (a private heap: the master's own). */
int master_final_stats(struct master *m, struct alloc_stats *out);

/* Unmap the zone (keeping a kept name, which it reports), the area; then,
 * if a signal ended the run, die of it. */
void master_finish(struct master *m);

#endif
