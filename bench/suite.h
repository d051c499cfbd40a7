/*
 * suite: what `shmbench suite`, `merge` and `compare` share: a suite's
 * plan of runs, the suite directory, and the results read back from run
 * directories (docs/suites.md says all of it from the user's side).
 *
 * A suite file is a list of `run` lines, each a workload spec and
 * `shmbench run` options, expanded over allocators x procs x repeats
 * (suite_file.c).  Every planned run has an ID,
 * `L<line>-<alloc>-<workload>-p<procs>-r<repeat>`, which is also the name
 * of its result directory `runs/<ID>/` and of its output `logs/<ID>.log`
 * in the suite directory, so that any set of run directories, made here or
 * on other machines, can be put back in the plan by name alone.
 *
 * A run is `shmbench run` itself, executed as a child; what became of it
 * is read from what it left (suite_classify): a run directory whose
 * meta.json says "failed": false is done, one that says true or has no
 * complete meta.json failed, and no directory but a log with the driver's
 * `shmbench: ` message means the driver refused the combination before
 * anything ran.  suite.json keeps the plan and those states; summary.csv
 * is made from the run directories by the same code for `suite` and
 * `merge` (summary.c).
 */
#ifndef SHMBENCH_SUITE_H
#define SHMBENCH_SUITE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SUITE_NAME_MAX   64     /* an allocator's or a workload's name */
#define SUITE_ID_MAX     256
#define SUITE_MAX_LIST   64     /* allocators or procs of one line */
#define SUITE_MAX_REPEAT 1000
#define SUITE_MAX_RUNS   100000

enum suite_state { SUITE_PLANNED, SUITE_DONE, SUITE_FAILED, SUITE_REFUSED, SUITE_MISSING };

/* One planned run. */
struct suite_run {
    char              id[SUITE_ID_MAX];
    unsigned          line;                  /* the suite file's line; 0: none */
    char              alloc[SUITE_NAME_MAX];
    char              workload[SUITE_NAME_MAX];
    const char       *spec;                  /* the workload spec as written */
    char            **args;                  /* the line's run options */
    size_t            nargs;
    unsigned          procs, repeat;
    uint64_t          seed;
    enum suite_state  state;
    char             *why;                   /* failed or refused: the reason */
    double            seconds;               /* wall time of its `shmbench run` */
    const char       *src;                   /* suite_load_dir: its directory */
};

/* A suite: where it came from, the command-line overrides, the plan. */
struct suite {
    char             *name;          /* "quick", or the file's name */
    char             *file;          /* the file read */
    char             *text;          /* its text, kept in suite.json */
    char             *set_alloc;     /* --alloc, --procs, --repeat; NULL/0: none */
    char             *set_procs;
    unsigned          set_repeat;
    struct suite_run *runs;          /* line by line, then alloc, procs, repeat */
    size_t            nruns;
    void            **mem;           /* what the plan points into, freed with it */
    size_t            nmem;
};

/*
 * Parse a suite's text (FILE names it in messages) into s->runs, with the
 * overrides already in s.  0, or -1 with a diag message `FILE:LINE: what`
 * for the first malformed line.
 */
int suite_parse(struct suite *s, const char *file, const char *text);

/* Keep p to be freed with the suite; p, or NULL if p is NULL or there is
 * no room (p is then freed). */
void *suite_keep(struct suite *s, void *p);

/* Free what suite_parse or suite_load_json made (s itself is the caller's). */
void suite_free(struct suite *s);

/* The word for a state ("done", ...) and back (-1 if none). */
const char *suite_state_name(enum suite_state st);
int suite_state_of(const char *name);

/*
 * What became of run r, from what it left in suite directory DIR (see the
 * top of this file): sets r->state and r->why.  A run with neither a
 * directory nor a log is SUITE_MISSING.
 */
void suite_classify(const char *dir, struct suite_run *r);

/* Write DIR/suite.json (through a temporary file and a rename, so that an
 * interrupted suite leaves the last complete one): the suite, the command
 * line, the date, the project's meta, the runs.  0 or -1 (diag). */
int suite_write_json(const struct suite *s, const char *dir, int argc, char **argv,
    const char *date);

/* Read DIR/suite.json into s (name, file, text, overrides, runs with their
 * states; the runs' args are not kept).  0 or -1 (diag). */
int suite_load_json(struct suite *s, const char *dir);

/* ---- results (summary.c) ---- */

/* The metrics of summary.csv: runs.csv columns of the `all` row. */
extern const char *const summary_metrics[];
#define SUMMARY_NMETRICS 27

/* What one run directory holds, as the summaries need it. */
struct suite_result {
    int    have;                      /* meta.json and runs.csv were read */
    char   spec[1024];                /* the canonical workload spec */
    char   host[512];                 /* hostname and cpu model */
    char   kind[512];                 /* cpu model and cores */
    double m[SUMMARY_NMETRICS];
    unsigned char has[SUMMARY_NMETRICS];  /* the column was not empty */
};

/* Read run directory RUNDIR: meta.json's parameters and machine, the all
 * row of runs.csv.  0 or -1 (diag). */
int suite_read_result(const char *rundir, struct suite_result *res);

/* Fill res[i] for every run of s that is done or failed, from DIR/runs;
 * those that cannot be read are marked failed (why from diag). */
void suite_read_results(struct suite *s, const char *dir, struct suite_result *res);

enum summary_format { SUMMARY_MD, SUMMARY_CSV, SUMMARY_JSON };

/* "md", "csv" or "json" into *fmt; 0, or -1 if it is none of them. */
int summary_format_of(const char *name, enum summary_format *fmt);

/*
 * Write DIR/summary.csv from the runs of s and their results, one row per
 * (line, allocator, procs) in plan order, and print the table to out
 * (NULL: not) in format fmt.  0 or -1 (diag).
 */
int summary_write(const struct suite *s, const struct suite_result *res, const char *dir,
    FILE *out, enum summary_format fmt);

/* Print v as a summary or comparison figure does (%.12g; "" for NaN). */
void summary_num(FILE *f, double v);

/* Write s to f as one CSV field, quoted if it holds a comma or a quote. */
void summary_csv_field(FILE *f, const char *s);

/* The run or suite directory DIR loaded as a suite: DIR/suite.json's plan,
 * or the one run of DIR/meta.json.  The states come from suite_classify
 * (or the run's meta), res is allocated with s->nruns results.  0 or -1. */
int suite_load_dir(const char *dir, struct suite *s, struct suite_result **res);

/* The absolute path of this shmbench binary (/proc/self/exe) into buf;
 * 0 or -1 (diag). */
int suite_self(char *buf, size_t len);

/* rm -r of a run directory (its files, then itself) and of its log; 0 or
 * -1 (diag). */
int suite_remove_run(const char *dir, const struct suite_run *r);

#endif
