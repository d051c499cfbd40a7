/*
 * proc: cached pid and counter-slot index, kept right across fork().
 */
#include "substrate/proc.h"

#include <pthread.h>
#include <unistd.h>

pid_t proc_pid_cached;
int   proc_index_cached;

static void
proc_after_fork_child(void)
{
    proc_pid_cached = getpid();
    proc_index_cached = PROC_INDEX_SHARED;
}

void
proc_init(void)
{
    static int installed;

    if (!installed) {
        installed = 1;
        pthread_atfork(NULL, NULL, proc_after_fork_child);
    }
    proc_pid_cached = getpid();
}

int
proc_set_index(int idx)
{
    if (idx < 0 || idx >= PROC_INDEX_SHARED) {
        return -1;
    }
    proc_pid();
    proc_index_cached = idx;
    return 0;
}
