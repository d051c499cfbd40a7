/*
 * cli: what the `shmbench` commands share.
 *
 * Messages and exit codes (bench/README.md): a runtime failure prints
 * `shmbench: <what>: <why>` to stderr and exits 1; a usage error (unknown
 * command or option, missing argument, bad number or name) prints one line
 * with a hint to `--help` and exits 2; help goes to stdout and exits 0.
 * Options are `--name VALUE` or `--name=VALUE`; commands parse their own.
 *
 * Each command is one file, bench/cmd_<name>.c, with its entry point and
 * help text declared here; shmbench.c dispatches.  The replay set-up (trace,
 * allocator, zone) is shared by `replay` and `stat --after-replay`.
 */
#ifndef SHMBENCH_CLI_H
#define SHMBENCH_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "registry.h"
#include "substrate/allocator.h"
#include "substrate/zone.h"
#include "trace.h"

#define CLI_EXIT_FAIL  1
#define CLI_EXIT_USAGE 2

/* Print `shmbench: MESSAGE` to stderr; returns CLI_EXIT_FAIL. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print `shmbench: MESSAGE (see 'shmbench CMD --help')` (CMD NULL: see
 * 'shmbench --help') and exit with CLI_EXIT_USAGE. */
_Noreturn void cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The usage error for an argument that no option of CMD matched. */
_Noreturn void cli_unknown_option(const char *cmd, const char *arg);

/* 1 if arg is -h or --help. */
int cli_is_help(const char *arg);

/* Write s to f as a JSON string: quoted, with '"', '\\' and control bytes
 * (and DEL) escaped.  The one JSON escaper of the commands' --format json
 * and of run's meta.json. */
void cli_json_string(FILE *f, const char *s);

/*
 * If argv[*i] is option `name` (`--name VALUE` or `--name=VALUE`), set *val,
 * advance *i past the value and return 1; else 0.  A missing value is a
 * usage error.
 */
int cli_option(const char *cmd, int argc, char **argv, int *i,
    const char *name, const char **val);

/* 1 if argv[i] is the flag `name` (no value; `--name=...` is a usage error). */
int cli_flag(const char *cmd, const char *arg, const char *name);

/* Strict decimal uint64; 0 or -1. */
int cli_parse_u64(const char *s, uint64_t *out);

/* Bytes: decimal with an optional binary suffix k/K, m/M, g/G (KiB, MiB,
 * GiB); 0 or -1. */
int cli_parse_bytes(const char *s, uint64_t *out);

/* The value of option `opt` of CMD as a number / byte count, in
 * [min, max]; a usage error otherwise. */
uint64_t cli_number(const char *cmd, const char *opt, const char *s,
    uint64_t min, uint64_t max);
uint64_t cli_bytes(const char *cmd, const char *opt, const char *s,
    uint64_t min, uint64_t max);

/* Parse a zone method for CMD's --zone; a usage error if unknown. */
enum zone_method cli_zone_method(const char *cmd, const char *s);

/*
 * The allocator called NAME, for CMD's --alloc.  A name no allocator has
 * (the empty one, a list) is a usage error; one that the project knows but
 * this build left out is a runtime failure (the build, not the command
 * line, is at fault): both exit.
 */
const struct allocator_ops *cli_allocator(const char *cmd, const char *name);

/*
 * Check that NAME, given to CMD as `what` ("--keep", "stat"), is a posix
 * zone name zone_create and zone_attach can take: an optional leading '/',
 * then 1 to ZONE_NAME_MAX - 2 characters, no other '/', not "." or "..".
 * A usage error otherwise, before anything is created or opened.
 */
void cli_zone_name(const char *cmd, const char *what, const char *name);

/* The commands: argv[0] is the command name.  They return the exit code. */
int cmd_list(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_capture(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_micro(int argc, char **argv);
int cmd_shdict(int argc, char **argv);
int cmd_suite(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_plot(int argc, char **argv);

extern const char cmd_list_help[];
extern const char cmd_replay_help[];
extern const char cmd_stat_help[];
extern const char cmd_bench_help[];
extern const char cmd_capture_help[];
extern const char cmd_run_help[];
extern const char cmd_micro_help[];
extern const char cmd_shdict_help[];
extern const char cmd_suite_help[];
extern const char cmd_merge_help[];
extern const char cmd_compare_help[];
extern const char cmd_plot_help[];

/* Every workload of `run` with its parameters, defaults and ranges (for
 * `run --help` and `list --workloads`; cmd_list.c). */
void cli_print_workloads(FILE *out);

/* What `replay` (and `stat --after-replay`) is asked to do. */
struct replay_opts {
    const char      *cmd;         /* command name, for messages */
    const char      *trace_path;
    const struct allocator_ops *ops; /* NULL: the first registered allocator */
    enum zone_method method;
    uint64_t         zone_size;   /* 0: from the trace's `pages` */
    uint64_t         page_size;   /* 0: from the trace, else 4096 */
    const char      *keep;        /* posix name to keep, or NULL */
    int              offsets;     /* record offsets for --offsets */
    int              memory;      /* account memory at every op (--memory) */
};

/* A replay in progress: the trace, the allocator, its zone. */
struct replay_state {
    struct trace                 trace;
    const struct allocator_ops  *ops;
    struct zone                  zone;
    int                          have_zone;
    size_t                       page_size;  /* as given to the allocator */
    int64_t                     *offsets;    /* nallocs, with --offsets */
    struct trace_replay_result   result;
    struct trace_memory          memory;     /* with opts.memory */
    char                         posix_name[ZONE_NAME_MAX];
};

/*
 * Load the trace, find the allocator, create its zone, replay, check the
 * zone.  Returns 0, or prints the error and returns the exit code; in both
 * cases replay_release must follow.
 */
int replay_run(const struct replay_opts *o, struct replay_state *s);

/* Destroy the zone (keeping a --keep name, which it reports on stderr) and
 * free everything. */
void replay_release(const struct replay_opts *o, struct replay_state *s);

#endif
