/*
 * suite_dir: the suite directory (bench/suite.h): suite.json written and
 * read back, what a run left behind classified, a run removed before it is
 * redone, and a run or suite directory loaded for `merge` and `compare`.
 *
 * States are read from the files, never only from suite.json: the run
 * directories may have been made elsewhere (GNU parallel on other hosts)
 * and copied in, and a suite killed between a run's end and the rewrite
 * of suite.json must still see that run as done.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"
#include "meta.h"
#include "substrate/diag.h"
#include "suite.h"

static const char *const suite_states[] = { "planned", "done", "failed", "refused",
                                            "missing" };

const char *
suite_state_name(enum suite_state st)
{
    return suite_states[st];
}

int
suite_state_of(const char *name)
{
    int i;

    for (i = 0; i < (int) (sizeof(suite_states) / sizeof(suite_states[0])); i++) {
        if (name && strcmp(name, suite_states[i]) == 0) {
            return i;
        }
    }
    return -1;
}

static void
suite_why(struct suite_run *r, enum suite_state st, const char *why)
{
    free(r->why);
    r->why = why ? strdup(why) : NULL;
    r->state = st;
}

/* The driver's own message in a run's log: the first `shmbench: ` line
 * that is not a warning, into buf ("" if none); 0 if the log exists. */
static int
suite_log_message(const char *log, char *buf, size_t len)
{
    FILE  *f = fopen(log, "r");
    char   line[2048];
    size_t n;

    buf[0] = '\0';
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "shmbench: ", 10) == 0 && strncmp(line + 10, "warning:", 8) != 0) {
            snprintf(buf, len, "%s", line + 10);
            n = strlen(buf);
            while (n > 0 && buf[n - 1] == '\n') {
                buf[--n] = '\0';
            }
            break;
        }
    }
    fclose(f);
    return 0;
}

/* State of the run directory RUNDIR from its meta.json. */
static void
suite_classify_dir(const char *rundir, struct suite_run *r)
{
    char               path[4400], why[600];
    struct json       *j;
    const struct json *failed;

    snprintf(path, sizeof(path), "%s/meta.json", rundir);
    j = json_load(path);
    failed = json_get(j, "failed");
    if (failed == NULL || (failed->type != JSON_TRUE && failed->type != JSON_FALSE)) {
        snprintf(why, sizeof(why), "no complete meta.json in %s (the run was interrupted)",
                 rundir);
        suite_why(r, SUITE_FAILED, why);
    } else if (failed->type == JSON_FALSE) {
        suite_why(r, SUITE_DONE, NULL);
    } else {
        suite_why(r, SUITE_FAILED, json_str(j, "why") ? json_str(j, "why") : "failed");
    }
    json_free(j);
}

void
suite_classify(const char *dir, struct suite_run *r)
{
    char        rundir[4400], log[4400], msg[2048];
    struct stat st;

    snprintf(rundir, sizeof(rundir), "%s/runs/%s", dir, r->id);
    snprintf(log, sizeof(log), "%s/logs/%s.log", dir, r->id);
    if (stat(rundir, &st) == 0) {
        suite_classify_dir(rundir, r);
    } else if (suite_log_message(log, msg, sizeof(msg)) == 0) {
        if (msg[0]) {
            suite_why(r, SUITE_REFUSED, msg);
        } else {
            suite_why(r, SUITE_FAILED, "no result directory and no message (see its log)");
        }
    } else {
        suite_why(r, SUITE_MISSING, NULL);
    }
}

int
suite_remove_run(const char *dir, const struct suite_run *r)
{
    char           path[4400], file[4800];
    DIR           *d;
    struct dirent *e;

    snprintf(path, sizeof(path), "%s/logs/%s.log", dir, r->id);
    if (unlink(path) != 0 && errno != ENOENT) {
        diag_set("rm %s: %s", path, strerror(errno));
        return -1;
    }
    snprintf(path, sizeof(path), "%s/runs/%s", dir, r->id);
    d = opendir(path);
    if (d == NULL) {
        return errno == ENOENT ? 0 : (diag_set("%s: %s", path, strerror(errno)), -1);
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
            if (unlink(file) != 0) {
                diag_set("rm %s: %s", file, strerror(errno));
                closedir(d);
                return -1;
            }
        }
    }
    closedir(d);
    if (rmdir(path) != 0) {
        diag_set("rmdir %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int
suite_self(char *buf, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", buf, len - 1);

    if (n <= 0 || (size_t) n >= len - 1) {
        diag_set("readlink /proc/self/exe: %s", n < 0 ? strerror(errno) : "too long");
        return -1;
    }
    buf[n] = '\0';
    return 0;
}

/* ---- suite.json ---- */

static void
suite_json_opt(FILE *f, const char *s)
{
    if (s) {
        cli_json_string(f, s);
    } else {
        fputs("null", f);
    }
}

static void
suite_json_run(FILE *f, const struct suite_run *r)
{
    size_t i;

    fputs("    {\"id\": ", f);
    cli_json_string(f, r->id);
    fprintf(f, ", \"line\": %u, \"alloc\": ", r->line);
    cli_json_string(f, r->alloc);
    fputs(", \"workload\": ", f);
    cli_json_string(f, r->workload);
    fputs(", \"spec\": ", f);
    suite_json_opt(f, r->spec);
    fputs(", \"args\": [", f);
    for (i = 0; i < r->nargs; i++) {
        fputs(i ? ", " : "", f);
        cli_json_string(f, r->args[i]);
    }
    fprintf(f, "], \"procs\": %u, \"repeat\": %u, \"seed\": %llu, \"state\": \"%s\", "
            "\"why\": ", r->procs, r->repeat, (unsigned long long) r->seed,
            suite_state_name(r->state));
    suite_json_opt(f, r->why);
    fprintf(f, ", \"seconds\": %.3f}", r->seconds);
}

int
suite_write_json(const struct suite *s, const char *dir, int argc, char **argv,
    const char *date)
{
    char   tmp[4400], path[4400];
    FILE  *f;
    size_t i;
    int    k;

    snprintf(tmp, sizeof(tmp), "%s/suite.json.tmp", dir);
    snprintf(path, sizeof(path), "%s/suite.json", dir);
    f = fopen(tmp, "w");
    if (f == NULL) {
        diag_set("%s: %s", tmp, strerror(errno));
        return -1;
    }
    fputs("{\n  \"suite\": ", f);
    suite_json_opt(f, s->name);
    fputs(",\n  \"file\": ", f);
    suite_json_opt(f, s->file);
    fputs(",\n  \"text\": ", f);
    suite_json_opt(f, s->text);
    fputs(",\n  \"settings\": {\"alloc\": ", f);
    suite_json_opt(f, s->set_alloc);
    fputs(", \"procs\": ", f);
    suite_json_opt(f, s->set_procs);
    fputs(", \"repeat\": ", f);
    if (s->set_repeat) {
        fprintf(f, "%u", s->set_repeat);
    } else {
        fputs("null", f);
    }
    fputs("},\n  \"command\": [\"shmbench\"", f);
    for (k = 0; k < argc; k++) {
        fputs(", ", f);
        cli_json_string(f, argv[k]);
    }
    fputs("],\n  \"date\": ", f);
    cli_json_string(f, date);
    fputs(",\n", f);
    meta_json_git(f);
    meta_json_machine(f);
    fputs("  \"runs\": [", f);
    for (i = 0; i < s->nruns; i++) {
        fputs(i ? ",\n" : "\n", f);
        suite_json_run(f, &s->runs[i]);
    }
    fputs("\n  ]\n}\n", f);
    if (ferror(f) | fclose(f)) {
        diag_set("writing %s failed", tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        diag_set("rename %s: %s", tmp, strerror(errno));
        return -1;
    }
    return 0;
}

/* A copy of str kept with the suite; NULL for NULL. */
static char *
suite_dup(struct suite *s, const char *str)
{
    return str ? suite_keep(s, strdup(str)) : NULL;
}

static int
suite_load_run(struct suite *s, const struct json *o, struct suite_run *r)
{
    const struct json *args = json_get(o, "args");
    const char        *id = json_str(o, "id"), *alloc = json_str(o, "alloc");
    const char        *wl = json_str(o, "workload");
    size_t             i;
    int                st = suite_state_of(json_str(o, "state"));

    memset(r, 0, sizeof(*r));
    if (id == NULL || alloc == NULL || wl == NULL || st < 0 || strlen(id) >= SUITE_ID_MAX
        || strlen(alloc) >= SUITE_NAME_MAX || strlen(wl) >= SUITE_NAME_MAX)
    {
        return -1;
    }
    snprintf(r->id, sizeof(r->id), "%s", id);
    snprintf(r->alloc, sizeof(r->alloc), "%s", alloc);
    snprintf(r->workload, sizeof(r->workload), "%s", wl);
    r->spec = suite_dup(s, json_str(o, "spec"));
    r->line = (unsigned) json_num(o, "line", 0);
    r->procs = (unsigned) json_num(o, "procs", 1);
    r->repeat = (unsigned) json_num(o, "repeat", 1);
    r->seed = (uint64_t) json_num(o, "seed", 1);
    r->seconds = json_num(o, "seconds", 0);
    r->state = (enum suite_state) st;
    r->why = json_str(o, "why") ? strdup(json_str(o, "why")) : NULL;
    if (args && args->type == JSON_ARRAY && args->n > 0) {
        r->args = suite_keep(s, calloc(args->n, sizeof(*r->args)));
        if (r->args == NULL) {
            return -1;
        }
        for (i = 0; i < args->n; i++) {
            if (args->kids[i].type == JSON_STRING) {
                r->args[r->nargs++] = suite_dup(s, args->kids[i].str);
            }
        }
    }
    return 0;
}

int
suite_load_json(struct suite *s, const char *dir)
{
    char               path[4400];
    struct json       *j;
    const struct json *runs, *set;
    size_t             i;

    snprintf(path, sizeof(path), "%s/suite.json", dir);
    j = json_load(path);
    if (j == NULL) {
        return -1;
    }
    runs = json_get(j, "runs");
    set = json_get(j, "settings");
    if (runs == NULL || runs->type != JSON_ARRAY) {
        diag_set("%s: no \"runs\" list", path);
        json_free(j);
        return -1;
    }
    s->name = json_str(j, "suite") ? strdup(json_str(j, "suite")) : NULL;
    s->file = json_str(j, "file") ? strdup(json_str(j, "file")) : NULL;
    s->text = json_str(j, "text") ? strdup(json_str(j, "text")) : NULL;
    s->set_alloc = json_str(set, "alloc") ? strdup(json_str(set, "alloc")) : NULL;
    s->set_procs = json_str(set, "procs") ? strdup(json_str(set, "procs")) : NULL;
    s->set_repeat = (unsigned) json_num(set, "repeat", 0);
    s->runs = calloc(runs->n ? runs->n : 1, sizeof(*s->runs));
    if (s->runs == NULL) {
        diag_set("%s: out of memory", path);
        json_free(j);
        return -1;
    }
    for (i = 0; i < runs->n; i++) {
        if (suite_load_run(s, &runs->kids[i], &s->runs[s->nruns]) != 0) {
            diag_set("%s: run %zu is malformed", path, i + 1);
            json_free(j);
            return -1;
        }
        s->nruns++;
    }
    json_free(j);
    return 0;
}

/* ---- a run or suite directory, for merge and compare ---- */

/* The plan of one run directory RUNDIR (no suite around it): its ID is
 * the directory's name when that is one, else made from its meta.json. */
static int
suite_load_single(const char *rundir, struct suite *s)
{
    char               path[4400], base[SUITE_ID_MAX];
    struct json       *j;
    const struct json *par;
    struct suite_run  *r;
    const char        *slash = strrchr(rundir, '/'), *alloc, *wl;
    unsigned           line = 0;

    snprintf(path, sizeof(path), "%s/meta.json", rundir);
    j = json_load(path);
    par = json_get(j, "parameters");
    alloc = json_str(par, "alloc");
    wl = json_str(par, "workload");
    if (alloc == NULL || wl == NULL || strlen(alloc) >= SUITE_NAME_MAX
        || strlen(wl) >= SUITE_NAME_MAX)
    {
        if (j) {
            diag_set("%s: no parameters.alloc and parameters.workload", path);
        }
        json_free(j);
        return -1;
    }
    s->runs = calloc(1, sizeof(*s->runs));
    if (s->runs == NULL) {
        json_free(j);
        diag_set("out of memory");
        return -1;
    }
    r = &s->runs[s->nruns++];
    snprintf(r->alloc, sizeof(r->alloc), "%s", alloc);
    snprintf(r->workload, sizeof(r->workload), "%s", wl);
    r->procs = (unsigned) json_num(par, "procs", 1);
    r->seed = (uint64_t) json_num(par, "seed", 1);
    r->repeat = 1;
    snprintf(base, sizeof(base), "%s", slash && slash[1] ? slash + 1 : rundir);
    if (sscanf(base, "L%u-", &line) == 1 && base[0] == 'L') {
        r->line = line;
        snprintf(r->id, sizeof(r->id), "%s", base);
    } else {
        snprintf(r->id, sizeof(r->id), "L0-%s-%s-p%u-r%llu", alloc, wl, r->procs,
                 (unsigned long long) r->seed);
    }
    r->src = suite_dup(s, rundir);
    json_free(j);
    suite_classify_dir(rundir, r);
    return 0;
}

int
suite_load_dir(const char *dir, struct suite *s, struct suite_result **res)
{
    char        path[4400], src[4400];
    struct stat st;
    size_t      i;

    memset(s, 0, sizeof(*s));
    *res = NULL;
    snprintf(path, sizeof(path), "%s/suite.json", dir);
    if (stat(path, &st) == 0) {
        if (suite_load_json(s, dir) != 0) {
            return -1;
        }
        for (i = 0; i < s->nruns; i++) {
            suite_classify(dir, &s->runs[i]);
            snprintf(src, sizeof(src), "%s/runs/%s", dir, s->runs[i].id);
            s->runs[i].src = suite_dup(s, src);
        }
    } else {
        snprintf(path, sizeof(path), "%s/meta.json", dir);
        if (stat(path, &st) != 0) {
            diag_set("%s is neither a suite directory (suite.json) nor a run directory "
                     "(meta.json)", dir);
            return -1;
        }
        if (suite_load_single(dir, s) != 0) {
            return -1;
        }
    }
    *res = calloc(s->nruns ? s->nruns : 1, sizeof(**res));
    if (*res == NULL) {
        diag_set("out of memory");
        return -1;
    }
    for (i = 0; i < s->nruns; i++) {
        if (s->runs[i].state == SUITE_DONE || s->runs[i].state == SUITE_FAILED) {
            if (suite_read_result(s->runs[i].src, &(*res)[i]) != 0
                && s->runs[i].state == SUITE_DONE)
            {
                suite_why(&s->runs[i], SUITE_FAILED, diag_last());
            }
        }
    }
    return 0;
}
