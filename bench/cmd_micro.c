/*
 * micro: run the google-benchmark micro suite, `shmbench-micro`, and keep
 * its JSON output with the project's meta.json (docs/micro.md).
 *
 * The suite is its own program, built beside `shmbench` when
 * google-benchmark was found (bench/micro/); this command finds it in the
 * directory of its own executable, makes the result directory (--out, or
 * results/micro/<date>-<n>, the first n not taken), and runs it with the
 * console output on the terminal and the JSON output in DIR/micro.json,
 * the user's google-benchmark flags after those.  Like system(), it
 * ignores SIGINT and SIGQUIT while the suite runs, so that an interrupted
 * suite is reported (and meta.json written, marked failed) rather than
 * leaving an unexplained directory.  meta.json holds the command lines,
 * the fields every result directory has (bench/meta.h), the date and the
 * suite's exit status.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "meta.h"

#define MICRO_MAX_FLAGS 64

static const char micro_cmd[] = "micro";

const char cmd_micro_help[] =
    "usage: shmbench micro [--out DIR] [GBENCH FLAGS...]\n"
    "\n"
    "Run the google-benchmark micro suite (shmbench-micro, built beside shmbench\n"
    "when libbenchmark-dev is installed): for every allocator, alloc+free pairs\n"
    "per size class (alloc_free/ALLOC/SIZE), batches of 1000 allocations then\n"
    "their frees (batch/ALLOC/SIZE/1000), and the zone lock's uncontended\n"
    "lock+unlock (lock/ALLOC).  Cases an allocator cannot run are reported as\n"
    "skipped with the reason.  The console table goes to stdout.\n"
    "\n"
    "options:\n"
    "  --out DIR          result directory (default results/micro/<date>-<n>/)\n"
    "  --benchmark_...=V  any google-benchmark flag, given as one argument, e.g.\n"
    "                     --benchmark_filter=slab --benchmark_min_time=0.1\n"
    "                     (seconds) --benchmark_repetitions=5; not\n"
    "                     --benchmark_out or --benchmark_out_format, which\n"
    "                     micro sets\n"
    "\n"
    "files in DIR:\n"
    "  micro.json         google-benchmark's JSON output\n"
    "  meta.json          command lines, git revision, compiler, machine, date,\n"
    "                     the suite's exit status\n";

struct micro_opts {
    int         argc;           /* the command line, for meta.json */
    char      **argv;
    const char *out;
    const char *flags[MICRO_MAX_FLAGS];
    int         nflags;
};

struct micro_state {
    char        bin[PATH_MAX];
    char        out[PATH_MAX];
    char        json_arg[PATH_MAX + 32];
    char        date[32];
    const char *argv[MICRO_MAX_FLAGS + 8];  /* shmbench-micro's command line */
    int         status;         /* its wait status */
};

static void
micro_parse(int argc, char **argv, struct micro_opts *o)
{
    const char *val;
    int         i;

    memset(o, 0, sizeof(*o));
    o->argc = argc;
    o->argv = argv;
    for (i = 1; i < argc; i++) {
        if (cli_option(micro_cmd, argc, argv, &i, "--out", &val)) {
            if (val[0] == '\0') {
                cli_usage_error(micro_cmd, "--out needs a directory");
            }
            o->out = val;
        } else if (strncmp(argv[i], "--benchmark_out", 15) == 0
                   && (argv[i][15] == '=' || argv[i][15] == '\0'
                       || strncmp(argv[i] + 15, "_format", 7) == 0))
        {
            cli_usage_error(micro_cmd, "'%s' is set by micro (micro.json in --out DIR)",
                            argv[i]);
        } else if (strncmp(argv[i], "--benchmark_", 12) == 0) {
            if (o->nflags == MICRO_MAX_FLAGS) {
                cli_usage_error(micro_cmd, "at most %d google-benchmark flags",
                                MICRO_MAX_FLAGS);
            }
            o->flags[o->nflags++] = argv[i];
        } else {
            cli_unknown_option(micro_cmd, argv[i]);
        }
    }
}

/* shmbench-micro in the directory of this executable. */
static int
micro_find(struct micro_state *s)
{
    char    self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    char   *slash;

    if (n <= 0) {
        return cli_error("micro: /proc/self/exe: %s", strerror(errno));
    }
    self[n] = '\0';
    slash = strrchr(self, '/');
    *slash = '\0';
    if (snprintf(s->bin, sizeof(s->bin), "%s/shmbench-micro", self) >= (int) sizeof(s->bin)) {
        return cli_error("micro: the path of shmbench-micro is too long");
    }
    if (access(s->bin, X_OK) != 0) {
        return cli_error("micro: %s: %s (this build has no google-benchmark: install "
                         "libbenchmark-dev and build again)", s->bin, strerror(errno));
    }
    return 0;
}

/* --out (made if need be), or results/micro/<date>-<n>, the first n free. */
static int
micro_make_out(const struct micro_opts *o, struct micro_state *s)
{
    char stem[16];

    snprintf(stem, sizeof(stem), "%.10s", s->date);
    return meta_make_out(micro_cmd, o->out, "results/micro", stem, s->out, sizeof(s->out),
                         NULL);
}

/* Run the suite and wait; 0 if it exited 0, else the exit status (printed). */
static int
micro_exec(const struct micro_opts *o, struct micro_state *s)
{
    struct sigaction ign, old_int, old_quit;
    pid_t            pid;
    int              i, n = 0;

    snprintf(s->json_arg, sizeof(s->json_arg), "--benchmark_out=%s/micro.json", s->out);
    s->argv[n++] = s->bin;
    s->argv[n++] = "--benchmark_format=console";
    s->argv[n++] = s->json_arg;
    s->argv[n++] = "--benchmark_out_format=json";
    for (i = 0; i < o->nflags; i++) {
        s->argv[n++] = o->flags[i];
    }
    s->argv[n] = NULL;

    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGINT, &ign, &old_int);
    sigaction(SIGQUIT, &ign, &old_quit);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGQUIT, &old_quit, NULL);
        execv(s->bin, (char *const *) s->argv);
        _exit(cli_error("micro: %s: %s", s->bin, strerror(errno)) + 126);
    }
    while (pid > 0 && waitpid(pid, &s->status, 0) < 0 && errno == EINTR) {
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    if (pid < 0) {
        s->status = -1;
        return cli_error("micro: fork: %s", strerror(errno));
    }
    if (WIFEXITED(s->status) && WEXITSTATUS(s->status) == 0) {
        return 0;
    }
    if (WIFSIGNALED(s->status)) {
        return cli_error("micro: shmbench-micro was killed by signal %d (%s)",
                         WTERMSIG(s->status), strsignal(WTERMSIG(s->status)));
    }
    return cli_error("micro: shmbench-micro exited with status %d",
                     WEXITSTATUS(s->status));
}

static void
micro_json_argv(FILE *f, const char *first, char *const *argv, int argc)
{
    int i;

    fputs("[", f);
    if (first) {
        cli_json_string(f, first);
    }
    for (i = 0; i < argc; i++) {
        fputs(first || i ? ", " : "", f);
        cli_json_string(f, argv[i]);
    }
    fputs("]", f);
}

static int
micro_write_meta(const struct micro_opts *o, struct micro_state *s, int rc)
{
    char  path[PATH_MAX + 16];
    FILE *f;
    int   n;

    snprintf(path, sizeof(path), "%s/meta.json", s->out);
    f = fopen(path, "w");
    if (f == NULL) {
        return cli_error("micro: %s: %s", path, strerror(errno));
    }
    for (n = 0; s->argv[n] != NULL; n++) {
    }
    fputs("{\n  \"command\": ", f);
    micro_json_argv(f, "shmbench", o->argv, o->argc);
    fputs(",\n  \"suite_command\": ", f);
    micro_json_argv(f, NULL, (char *const *) s->argv, n);
    fputs(",\n", f);
    meta_json_git(f);
    meta_json_machine(f);
    fputs("  \"date\": ", f);
    cli_json_string(f, s->date);
    if (s->status >= 0 && WIFSIGNALED(s->status)) {
        fprintf(f, ",\n  \"exit_status\": null, \"signal\": %d", WTERMSIG(s->status));
    } else {
        fprintf(f, ",\n  \"exit_status\": %d, \"signal\": null",
                s->status >= 0 ? WEXITSTATUS(s->status) : -1);
    }
    fprintf(f, ",\n  \"failed\": %s\n}\n", rc ? "true" : "false");
    if (ferror(f) | fclose(f)) {
        return cli_error("micro: writing %s failed", path);
    }
    return 0;
}

int
cmd_micro(int argc, char **argv)
{
    struct micro_opts   o;
    struct micro_state *s;
    time_t              now = time(NULL);
    int                 rc;

    micro_parse(argc, argv, &o);
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return cli_error("micro: out of memory");
    }
    strftime(s->date, sizeof(s->date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    rc = micro_find(s);
    if (rc == 0) {
        rc = micro_make_out(&o, s);
    }
    if (rc == 0) {
        rc = micro_exec(&o, s);
        if (micro_write_meta(&o, s, rc) != 0) {
            rc = CLI_EXIT_FAIL;
        } else if (rc == 0) {
            printf("micro: results in %s (micro.json, meta.json)\n", s->out);
        }
    }
    free(s);
    return rc;
}
