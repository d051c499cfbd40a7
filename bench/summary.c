/*
 * summary: run directories read back, and summary.csv with its table
 * (bench/suite.h; the columns are documented in docs/suites.md).
 *
 * A row is one (line, allocator, procs) of the plan, in plan order; its
 * figures are the medians over the row's done runs of the `all` row of
 * each runs.csv, with a 95% bootstrap interval (bench/stats.h).  A failed
 * run is counted, never averaged in: a run that lost a worker measured
 * something else.  The canonical workload spec is rebuilt from meta.json's
 * parameters (every parameter with its default), so a row says exactly
 * what ran; a row whose runs were all refused has no meta.json to read and
 * takes the spec of another run of the same line (the workload's
 * parameters do not depend on the allocator), or the line's own words.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "stats.h"
#include "substrate/diag.h"
#include "suite.h"

const char *const summary_metrics[SUMMARY_NMETRICS] = {
    "throughput_ops_s", "ops", "fails",
    "alloc_p50_ns", "alloc_p90_ns", "alloc_p99_ns", "alloc_p999_ns", "alloc_max_ns",
    "free_p50_ns", "free_p90_ns", "free_p99_ns", "free_p999_ns", "free_max_ns",
    "peak_live_bytes", "peak_footprint_bytes", "footprint_bytes", "resident_bytes",
    "internal_frag", "external_frag", "overhead_at_peak",
    "fill_at_fail_bytes", "fill_at_fail_ratio",
    "lock_acquisitions", "lock_contended", "lock_wait_ns", "lock_wait_max_ns",
    "lock_hold_ns",
};

/* The metrics the printed md table shows, by index in summary_metrics. */
enum { M_THROUGHPUT = 0, M_ALLOC_P99 = 5, M_PEAK_FOOTPRINT = 14, M_INTERNAL_FRAG = 17 };

void
summary_num(FILE *f, double v)
{
    if (!isnan(v)) {
        fprintf(f, "%.12g", v);
    }
}

void
summary_csv_field(FILE *f, const char *s)
{
    if (strpbrk(s, ",\"\n") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') {
            fputc('"', f);
        }
        fputc(*s, f);
    }
    fputc('"', f);
}

/* ---- reading a run directory ---- */

/* The canonical `name:k=v,...` of meta.json's parameters into res->spec. */
static void
summary_spec(const struct json *par, struct suite_result *res)
{
    const struct json *wp = json_get(par, "workload_params");
    const char        *wl = json_str(par, "workload");
    size_t             i, n;
    const char        *v;

    n = (size_t) snprintf(res->spec, sizeof(res->spec), "%s", wl ? wl : "");
    for (i = 0; wp && wp->type == JSON_OBJECT && i < wp->n && n < sizeof(res->spec); i++) {
        v = wp->kids[i].str ? wp->kids[i].str
            : wp->kids[i].type == JSON_TRUE ? "1" : wp->kids[i].type == JSON_FALSE ? "0" : "";
        n += (size_t) snprintf(res->spec + n, sizeof(res->spec) - n, "%c%s=%s",
                               i ? ',' : ':', wp->keys[i], v);
    }
}

/* Split line (no quotes in runs.csv) into at most max fields; their count. */
static size_t
summary_split(char *line, char **f, size_t max)
{
    size_t n = 0;
    char  *tok;

    line[strcspn(line, "\r\n")] = '\0';
    while ((tok = strsep(&line, ",")) != NULL && n < max) {
        f[n++] = tok;
    }
    return n;
}

/* The all row of RUNDIR/runs.csv into res->m and res->has. */
static int
summary_read_csv(const char *rundir, struct suite_result *res)
{
    char    path[4400], head[8192], line[8192], *hf[256], *rf[256], *end;
    FILE   *f;
    size_t  nh, nr, i, m;
    int     col[SUMMARY_NMETRICS], worker = -1, found = 0;

    snprintf(path, sizeof(path), "%s/runs.csv", rundir);
    f = fopen(path, "r");
    if (f == NULL || fgets(head, sizeof(head), f) == NULL) {
        diag_set("%s: %s", path, f ? "empty" : strerror(errno));
        if (f) {
            fclose(f);
        }
        return -1;
    }
    nh = summary_split(head, hf, 256);
    for (m = 0; m < SUMMARY_NMETRICS; m++) {
        col[m] = -1;
        for (i = 0; i < nh; i++) {
            if (strcmp(hf[i], summary_metrics[m]) == 0) {
                col[m] = (int) i;
            }
        }
    }
    for (i = 0; i < nh; i++) {
        if (strcmp(hf[i], "worker") == 0) {
            worker = (int) i;
        }
    }
    while (worker >= 0 && !found && fgets(line, sizeof(line), f) != NULL) {
        nr = summary_split(line, rf, 256);
        if ((size_t) worker >= nr || strcmp(rf[worker], "all") != 0) {
            continue;
        }
        found = 1;
        for (m = 0; m < SUMMARY_NMETRICS; m++) {
            res->has[m] = 0;
            if (col[m] >= 0 && (size_t) col[m] < nr && rf[col[m]][0] != '\0') {
                res->m[m] = strtod(rf[col[m]], &end);
                res->has[m] = *end == '\0';
            }
        }
    }
    fclose(f);
    if (!found) {
        diag_set("%s: no 'all' row", path);
        return -1;
    }
    return 0;
}

int
suite_read_result(const char *rundir, struct suite_result *res)
{
    char               path[4400];
    struct json       *j;
    const struct json *par;
    const char        *host, *cpu;

    memset(res, 0, sizeof(*res));
    snprintf(path, sizeof(path), "%s/meta.json", rundir);
    j = json_load(path);
    if (j == NULL) {
        return -1;
    }
    par = json_get(j, "parameters");
    if (json_str(par, "workload") == NULL) {
        diag_set("%s: no parameters.workload", path);
        json_free(j);
        return -1;
    }
    summary_spec(par, res);
    host = json_str(j, "hostname");
    cpu = json_str(j, "cpu_model");
    snprintf(res->host, sizeof(res->host), "%s|%s", host ? host : "", cpu ? cpu : "");
    snprintf(res->kind, sizeof(res->kind), "%s|%g", cpu ? cpu : "", json_num(j, "cores", 0));
    json_free(j);
    if (summary_read_csv(rundir, res) != 0) {
        return -1;
    }
    res->have = 1;
    return 0;
}

void
suite_read_results(struct suite *s, const char *dir, struct suite_result *res)
{
    char   rundir[4400];
    size_t i;

    for (i = 0; i < s->nruns; i++) {
        memset(&res[i], 0, sizeof(res[i]));
        if (s->runs[i].state != SUITE_DONE && s->runs[i].state != SUITE_FAILED) {
            continue;
        }
        snprintf(rundir, sizeof(rundir), "%s/runs/%s", dir, s->runs[i].id);
        if (suite_read_result(rundir, &res[i]) != 0 && s->runs[i].state == SUITE_DONE) {
            s->runs[i].state = SUITE_FAILED;
            free(s->runs[i].why);
            s->runs[i].why = strdup(diag_last());
        }
    }
}

/* ---- the rows ---- */

struct summary_row {
    const struct suite_run *first;       /* its first run in the plan */
    const char             *spec;
    unsigned                runs, ok, failed, refused, hosts, mixed;
    double                  med[SUMMARY_NMETRICS], lo[SUMMARY_NMETRICS],
                            hi[SUMMARY_NMETRICS];
};

static int
summary_same_row(const struct suite_run *a, const struct suite_run *b)
{
    return a->line == b->line && a->procs == b->procs && strcmp(a->alloc, b->alloc) == 0
           && strcmp(a->workload, b->workload) == 0;
}

/* The number of distinct strings among the n of v (n is small). */
static unsigned
summary_distinct(const char **v, size_t n)
{
    unsigned d = 0;
    size_t   i, k;

    for (i = 0; i < n; i++) {
        for (k = 0; k < i && strcmp(v[k], v[i]) != 0; k++) {
        }
        d += k == i;
    }
    return d;
}

/* The spec of a row without a result of its own. */
static const char *
summary_spec_of_line(const struct suite *s, const struct suite_result *res,
    const struct suite_run *first)
{
    size_t i;

    for (i = 0; i < s->nruns; i++) {
        if (res[i].have && s->runs[i].line == first->line
            && strcmp(s->runs[i].workload, first->workload) == 0)
        {
            return res[i].spec;
        }
    }
    return first->spec ? first->spec : first->workload;
}

/* Fill row from the runs of s that belong to it. */
static int
summary_fill(const struct suite *s, const struct suite_result *res, struct summary_row *row,
    double *vals, const char **hosts, const char **kinds)
{
    size_t i, m, nv, nh = 0;

    row->spec = NULL;
    for (i = 0; i < s->nruns; i++) {
        const struct suite_run *r = &s->runs[i];

        if (!summary_same_row(r, row->first)) {
            continue;
        }
        row->ok += r->state == SUITE_DONE;
        row->failed += r->state == SUITE_FAILED;
        row->refused += r->state == SUITE_REFUSED;
        if (res[i].have) {
            row->spec = row->spec ? row->spec : res[i].spec;
            hosts[nh] = res[i].host;
            kinds[nh++] = res[i].kind;
        }
    }
    row->runs = row->ok + row->failed + row->refused;
    row->hosts = summary_distinct(hosts, nh);
    row->mixed = summary_distinct(kinds, nh) > 1;
    if (row->spec == NULL) {
        row->spec = summary_spec_of_line(s, res, row->first);
    }
    for (m = 0; m < SUMMARY_NMETRICS; m++) {
        nv = 0;
        for (i = 0; i < s->nruns; i++) {
            if (summary_same_row(&s->runs[i], row->first) && s->runs[i].state == SUITE_DONE
                && res[i].have && res[i].has[m])
            {
                vals[nv++] = res[i].m[m];
            }
        }
        row->med[m] = row->lo[m] = row->hi[m] = NAN;
        if (nv > 0) {
            row->med[m] = stats_median(vals, nv);
            if (stats_median_interval(vals, nv, &row->lo[m], &row->hi[m]) != 0) {
                return -1;
            }
        }
    }
    return 0;
}

/* The rows of s, in plan order; *n gets their count.  NULL on error. */
static struct summary_row *
summary_rows(const struct suite *s, const struct suite_result *res, size_t *n)
{
    struct summary_row *rows = calloc(s->nruns ? s->nruns : 1, sizeof(*rows));
    double             *vals = calloc(s->nruns ? s->nruns : 1, sizeof(*vals));
    const char        **hosts = calloc(s->nruns ? s->nruns : 1, sizeof(*hosts) * 2);
    size_t              i, k;

    *n = 0;
    if (rows == NULL || vals == NULL || hosts == NULL) {
        diag_set("summary: out of memory");
        goto fail;
    }
    for (i = 0; i < s->nruns; i++) {
        for (k = 0; k < *n && !summary_same_row(rows[k].first, &s->runs[i]); k++) {
        }
        if (k < *n) {
            continue;
        }
        rows[k].first = &s->runs[i];
        if (summary_fill(s, res, &rows[k], vals, hosts, hosts + s->nruns) != 0) {
            goto fail;
        }
        (*n)++;
    }
    free(vals);
    free(hosts);
    return rows;
fail:
    free(rows);
    free(vals);
    free(hosts);
    return NULL;
}

/* ---- writing ---- */

static void
summary_csv_header(FILE *f)
{
    size_t m;

    fputs("line,allocator,workload,workload_spec,procs,runs,ok,failed,refused,hosts", f);
    for (m = 0; m < SUMMARY_NMETRICS; m++) {
        fprintf(f, ",%s_median,%s_lo,%s_hi", summary_metrics[m], summary_metrics[m],
                summary_metrics[m]);
    }
    fputs(",mixed_hosts\n", f);
}

static void
summary_csv_row(FILE *f, const struct summary_row *row)
{
    size_t m;

    fprintf(f, "%u,", row->first->line);
    summary_csv_field(f, row->first->alloc);
    fputc(',', f);
    summary_csv_field(f, row->first->workload);
    fputc(',', f);
    summary_csv_field(f, row->spec);
    fprintf(f, ",%u,%u,%u,%u,%u,%u", row->first->procs, row->runs, row->ok, row->failed,
            row->refused, row->hosts);
    for (m = 0; m < SUMMARY_NMETRICS; m++) {
        fputc(',', f);
        summary_num(f, row->med[m]);
        fputc(',', f);
        summary_num(f, row->lo[m]);
        fputc(',', f);
        summary_num(f, row->hi[m]);
    }
    fprintf(f, ",%u\n", row->mixed);
}

static void
summary_json_num(FILE *f, double v)
{
    if (isnan(v)) {
        fputs("null", f);
    } else {
        summary_num(f, v);
    }
}

static void
summary_json_row(FILE *f, const struct summary_row *row, int first)
{
    size_t m;

    fputs(first ? "\n  {\"line\": " : ",\n  {\"line\": ", f);
    fprintf(f, "%u, \"allocator\": ", row->first->line);
    cli_json_string(f, row->first->alloc);
    fputs(", \"workload\": ", f);
    cli_json_string(f, row->first->workload);
    fputs(", \"workload_spec\": ", f);
    cli_json_string(f, row->spec);
    fprintf(f, ", \"procs\": %u, \"runs\": %u, \"ok\": %u, \"failed\": %u, \"refused\": %u, "
            "\"hosts\": %u", row->first->procs, row->runs, row->ok, row->failed,
            row->refused, row->hosts);
    for (m = 0; m < SUMMARY_NMETRICS; m++) {
        fprintf(f, ", \"%s_median\": ", summary_metrics[m]);
        summary_json_num(f, row->med[m]);
        fprintf(f, ", \"%s_lo\": ", summary_metrics[m]);
        summary_json_num(f, row->lo[m]);
        fprintf(f, ", \"%s_hi\": ", summary_metrics[m]);
        summary_json_num(f, row->hi[m]);
    }
    fprintf(f, ", \"mixed_hosts\": %u}", row->mixed);
}

/* A median with its interval, "42.1 [41.9, 42.5]", scaled by 1/scale. */
static void
summary_md_cell(FILE *f, const struct summary_row *row, size_t m, double scale)
{
    if (isnan(row->med[m])) {
        fputs(" |", f);
        return;
    }
    if (row->ok > 1) {
        fprintf(f, " %.4g [%.4g, %.4g] |", row->med[m] / scale, row->lo[m] / scale,
                row->hi[m] / scale);
    } else {
        fprintf(f, " %.4g |", row->med[m] / scale);
    }
}

static void
summary_md_row(FILE *f, const struct summary_row *row)
{
    fprintf(f, "| %u | %s | %s | %u | %u/%u", row->first->line, row->first->alloc,
            row->first->workload, row->first->procs, row->ok, row->runs);
    if (row->failed) {
        fprintf(f, ", %u failed", row->failed);
    }
    if (row->refused) {
        fprintf(f, ", %u refused", row->refused);
    }
    fputs(" |", f);
    summary_md_cell(f, row, M_THROUGHPUT, 1e6);
    summary_md_cell(f, row, M_ALLOC_P99, 1);
    summary_md_cell(f, row, M_PEAK_FOOTPRINT, 1 << 20);
    summary_md_cell(f, row, M_INTERNAL_FRAG, 1);
    fputc('\n', f);
}

/* The table of rows in format fmt. */
static void
summary_print(FILE *f, const struct summary_row *rows, size_t n, enum summary_format fmt)
{
    size_t i;

    if (fmt == SUMMARY_CSV) {
        summary_csv_header(f);
        for (i = 0; i < n; i++) {
            summary_csv_row(f, &rows[i]);
        }
        return;
    }
    if (fmt == SUMMARY_JSON) {
        fputc('[', f);
        for (i = 0; i < n; i++) {
            summary_json_row(f, &rows[i], i == 0);
        }
        fputs("\n]\n", f);
        return;
    }
    fputs("| line | allocator | workload | procs | ok/runs | throughput Mops/s [95%] "
          "| alloc p99 ns | peak footprint MiB | internal frag |\n"
          "| ---: | --- | --- | ---: | --- | --- | --- | --- | --- |\n", f);
    for (i = 0; i < n; i++) {
        summary_md_row(f, &rows[i]);
    }
}

int
summary_format_of(const char *name, enum summary_format *fmt)
{
    if (strcmp(name, "md") == 0) {
        *fmt = SUMMARY_MD;
    } else if (strcmp(name, "csv") == 0) {
        *fmt = SUMMARY_CSV;
    } else if (strcmp(name, "json") == 0) {
        *fmt = SUMMARY_JSON;
    } else {
        return -1;
    }
    return 0;
}

int
summary_write(const struct suite *s, const struct suite_result *res, const char *dir,
    FILE *out, enum summary_format fmt)
{
    char                path[4400];
    FILE               *f;
    struct summary_row *rows;
    size_t              n;

    rows = summary_rows(s, res, &n);
    if (rows == NULL) {
        return -1;
    }
    snprintf(path, sizeof(path), "%s/summary.csv", dir);
    f = fopen(path, "w");
    if (f == NULL) {
        diag_set("%s: %s", path, strerror(errno));
        free(rows);
        return -1;
    }
    summary_print(f, rows, n, SUMMARY_CSV);
    if (ferror(f) | fclose(f)) {
        diag_set("writing %s failed", path);
        free(rows);
        return -1;
    }
    if (out) {
        summary_print(out, rows, n, fmt);
    }
    free(rows);
    return 0;
}
