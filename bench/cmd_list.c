/*
 * list: the registered allocators (name, capabilities, summary in aligned
 * columns), then the known ones that this build left out, and why; with
 * --workloads, the workloads of `run` instead, each with its parameters,
 * their kinds, defaults and ranges, all read from the workload registry
 * (workloads/workload.h), which `run --help` prints too.
 */
#include <string.h>

#include "cli.h"
#include "workload.h"

const char cmd_list_help[] =
    "usage: shmbench list [--workloads]\n"
    "\n"
    "One line per allocator built in: its name, its capabilities and a summary.\n"
    "Then one line per allocator the project knows but this build left out,\n"
    "with the reason.  With --workloads: the workloads of 'shmbench run', each\n"
    "with its parameters (NAME=DEFAULT, kind, range, meaning).\n"
    "\n"
    "capabilities:\n"
    "  in-shm         blocks live in the shared zone\n"
    "  private-heap   not in shared memory at all (a speed ceiling)\n"
    "  cross-free     any process may free any block\n"
    "  slot-stats     per-slot total/used/reqs/fails\n"
    "  check          an integrity check walks every invariant\n"
    "  bad-free       bad and double frees are refused\n"
    "  pages          understands a trace's 'pages N'\n"
    "  lock-counters  its lock counts contention into the zone\n"
    "  attach         'shmbench stat NAME' can read its zones\n"
    "  lock-free      some paths change the zone without its lock\n";

void
cli_print_workloads(FILE *out)
{
    const struct workload *const *all;
    size_t                        i, n;
    unsigned                      k;

    all = workload_all(&n);
    fputs("workloads (--workload NAME[:k=v,...]; sizes take k, m, g):\n", out);
    for (i = 0; i < n; i++) {
        fprintf(out, "  %s: %s\n", all[i]->name, all[i]->summary);
        for (k = 0; k < all[i]->nparams; k++) {
            workload_print_param(out, &all[i]->params[k]);
        }
    }
    fputs("\nsize distributions (a sizes= value; docs/sizes.md):\n", out);
    fputs(sizes_help, out);
}

int
cmd_list(int argc, char **argv)
{
    const struct allocator_ops *const    *all;
    const struct allocator_missing       *miss;
    size_t                                i, n, nmiss, wname = 4, wcaps = 4;
    char                                  caps[256];

    if (argc == 2 && cli_flag("list", argv[1], "--workloads")) {
        cli_print_workloads(stdout);
        return 0;
    }
    if (argc > 1) {
        cli_unknown_option("list", argv[1]);
    }
    all = allocator_all(&n);
    miss = allocator_missing(&nmiss);
    for (i = 0; i < n; i++) {
        allocator_caps_string(all[i], caps, sizeof(caps));
        if (strlen(all[i]->name) > wname) {
            wname = strlen(all[i]->name);
        }
        if (strlen(caps) > wcaps) {
            wcaps = strlen(caps);
        }
    }
    for (i = 0; i < nmiss; i++) {
        if (strlen(miss[i].name) > wname) {
            wname = strlen(miss[i].name);
        }
    }
    for (i = 0; i < n; i++) {
        allocator_caps_string(all[i], caps, sizeof(caps));
        printf("%-*s  %-*s  %s\n", (int) wname, all[i]->name, (int) wcaps, caps,
               all[i]->summary ? all[i]->summary : "");
    }
    for (i = 0; i < nmiss; i++) {
        printf("%-*s  %-*s  not available: %s\n", (int) wname, miss[i].name,
               (int) wcaps, "-", miss[i].why);
    }
    return 0;
}
