/*
 * proc: who this process is, cheaply.
 *
 * The lock writes the caller's pid into the lock word on every acquisition,
 * and per-process counters need an index into an array of cache lines.
 * getpid() is a real system call on current glibc, far too slow for a path
 * that costs ~20 ns, so the pid is cached here and refreshed in the child by
 * a pthread_atfork handler.
 *
 * The process index picks this process's counter slot in every shared
 * counter array.  Whoever forks workers (the driver, a test) gives each one a
 * distinct index with proc_set_index(); the first process is index 0.  A
 * child forked without being given an index gets PROC_INDEX_SHARED: its
 * counts land in one overflow slot updated with atomic adds, so they are
 * still exact, only contended.
 */
#ifndef SHMBENCH_PROC_H
#define SHMBENCH_PROC_H

#include <sys/types.h>

/* Counter arrays have this many per-process slots; the last one is the
 * shared overflow slot. */
#define PROC_MAX          64
#define PROC_INDEX_SHARED (PROC_MAX - 1)

extern pid_t proc_pid_cached;
extern int   proc_index_cached;

/* This process's pid (cached; correct after fork). */
static inline pid_t
proc_pid(void)
{
    extern void proc_init(void);
    if (proc_pid_cached == 0) {
        proc_init();
    }
    return proc_pid_cached;
}

/* This process's counter slot, 0 .. PROC_MAX-1. */
static inline int
proc_index(void)
{
    if (proc_pid_cached == 0) {
        proc_pid();
    }
    return proc_index_cached;
}

/* Give this process a counter slot.  0 .. PROC_MAX-2 are private slots; -1
 * if idx is out of range. */
int proc_set_index(int idx);

/* Install the fork handler and cache the pid (idempotent). */
void proc_init(void);

#endif
