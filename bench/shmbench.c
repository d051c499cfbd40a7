/*
 * shmbench: the driver's entry point.  It only finds the command and hands
 * it the rest of the command line; each command lives in bench/cmd_*.c.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "substrate/diag.h"
#include "substrate/dynlib.h"

struct command {
    const char *name;
    int       (*run)(int argc, char **argv);
    const char *help;
    const char *summary;
    int         own_help;   /* the command finds --help itself: its operands
                               (capture's CMD ARGS) may hold one of their own */
};

static const struct command commands[] = {
    { "list",   cmd_list,   cmd_list_help,   "the allocators built in, with their capabilities", 0 },
    { "replay", cmd_replay, cmd_replay_help, "replay an allocation trace over an allocator", 0 },
    { "stat",   cmd_stat,   cmd_stat_help,   "a zone's pages and slots, like tengine's slab_stat", 0 },
    { "bench",  cmd_bench,  cmd_bench_help,  "time a random free/alloc churn over allocators", 0 },
    { "capture", cmd_capture, cmd_capture_help, "record a program's heap calls as a trace", 1 },
    { "run",    cmd_run,    cmd_run_help,    "one workload in forked workers, results to a directory", 0 },
    { "micro",  cmd_micro,  cmd_micro_help,  "the google-benchmark micro suite, results to a directory", 0 },
    { "shdict", cmd_shdict, cmd_shdict_help, "a script of lua_shared_dict commands over an allocator", 0 },
    { "suite",  cmd_suite,  cmd_suite_help,  "the runs of a suite file, summarised", 0 },
    { "merge",  cmd_merge,  cmd_merge_help,  "run and suite directories joined into one", 0 },
    { "compare", cmd_compare, cmd_compare_help, "B/A ratios of two result directories", 0 },
    { "plot",   cmd_plot,   cmd_plot_help,   "the figures of a suite or run directory (gnuplot)", 0 },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static int
usage(FILE *out)
{
    size_t i;

    fputs("usage: shmbench COMMAND [ARGS...]\n"
          "       shmbench help [COMMAND]\n"
          "       shmbench COMMAND --help\n"
          "\n"
          "Allocators in shared memory across forked processes.\n"
          "\n"
          "commands:\n", out);
    for (i = 0; i < NCOMMANDS; i++) {
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    }
    fputs("\n"
          "Errors print 'shmbench: <what>: <why>' on stderr; the exit status is\n"
          "0 on success, 1 on a runtime failure, 2 on a usage error.\n", out);
    return 0;
}

/* A command's help; run's ends with the workloads, read from their
 * registry so that the list cannot fall behind. */
static int
help(const struct command *c)
{
    fputs(c->help, stdout);
    if (c->run == cmd_run) {
        cli_print_workloads(stdout);
    }
    return 0;
}

static const struct command *
find(const char *name)
{
    size_t i;

    for (i = 0; i < NCOMMANDS; i++) {
        if (strcmp(commands[i].name, name) == 0) {
            return &commands[i];
        }
    }
    return NULL;
}

int
main(int argc, char **argv)
{
    const struct command *c;
    int                   i;

    /* jemalloc can be loaded only with more static TLS than glibc reserves
     * by default: restart once with the tunable (dynlib.h). */
    if (dynlib_reexec_with_static_tls(argv) != 0) {
        fprintf(stderr, "shmbench: warning: %s; jemalloc will be unavailable\n", diag_last());
    }
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (cli_is_help(argv[1])) {
        return usage(stdout);
    }
    if (strcmp(argv[1], "help") == 0) {
        if (argc == 2) {
            return usage(stdout);
        }
        if (argc > 3) {
            cli_usage_error("help", "help takes one command name");
        }
        c = find(argv[2]);
        if (c == NULL) {
            cli_usage_error(NULL, "unknown command '%s'", argv[2]);
        }
        return help(c);
    }
    c = find(argv[1]);
    if (c == NULL) {
        if (argv[1][0] == '-') {
            cli_usage_error(NULL, "unknown option '%s'", argv[1]);
        }
        cli_usage_error(NULL, "unknown command '%s'", argv[1]);
    }
    for (i = 2; i < argc && !c->own_help; i++) {
        if (strcmp(argv[i], "--") == 0) {
            break;
        }
        if (cli_is_help(argv[i])) {
            return help(c);
        }
    }
    return c->run(argc - 1, argv + 1);
}
