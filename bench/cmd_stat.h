/*
 * cmd_stat: what `stat NAME` (cmd_stat.c) and `stat --pid` (cmd_stat_pid.c)
 * share.  Both print tengine's slab_stat table; `stat --pid` prints it for
 * the zones of a running nginx, made into slab zones (slab.h, slab_nginx_*),
 * with the same code as a shmbench zone's.
 */
#ifndef SHMBENCH_CMD_STAT_H
#define SHMBENCH_CMD_STAT_H

#include <stdint.h>

#include "substrate/allocator.h"
#include "substrate/zone.h"

/*
 * Print zone z's tengine table, as text: `* shared memory: LABEL`, the
 * totals line, one `pages:` line per free run, one `slot:` line per slot.
 * *st gets the allocator's statistics, *largest the largest free run's
 * bytes.  0, or the printed error's exit code (a free-run list that ended
 * early).
 */
int stat_tengine_table(struct zone *z, const struct allocator_ops *ops,
    const char *label, struct alloc_stats *st, uint64_t *largest);

/* `stat --pid PID ...` (argv as given to `stat`): the exit code. */
int statpid_cmd(int argc, char **argv);

#endif
