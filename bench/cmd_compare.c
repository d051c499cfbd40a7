/*
 * compare: two run or suite directories side by side, B against A, as a
 * user checks a change of an allocator against a saved baseline the way
 * google-benchmark's compare.py is used (docs/suites.md, "Comparing").
 *
 * Rows are matched by (allocator, workload spec, procs); when each side
 * holds one allocator and they differ, by (workload spec, procs), so that
 * `compare slab-dir lfslab-dir` compares allocators.  Per match and per
 * metric (throughput, alloc p99 latency, peak footprint, internal
 * fragmentation) the ratio of the medians B/A over the done repeats comes
 * with a 95% percentile-bootstrap interval resampling both sides
 * (bench/stats.h); a `*` marks an interval that excludes 1.0, which needs
 * two repeats or more on each side (with one, nothing is known of the
 * spread and nothing is marked).  The verdict is hyperfine's sentence on
 * throughput, its ± the half-width of the interval.  --fail-above PCT
 * makes it a gate: exit 1 when a throughput fell by more than PCT percent
 * with its interval below 1.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "stats.h"
#include "substrate/diag.h"
#include "suite.h"

static const char compare_cmd[] = "compare";

const char cmd_compare_help[] =
    "usage: shmbench compare A B [--fail-above PCT] [--format md|csv|json]\n"
    "\n"
    "Compare the run or suite directory B with A: for each allocator, workload\n"
    "spec and procs found in both (or each workload spec and procs, when A and\n"
    "B hold one allocator each and they differ), the ratio B/A of the medians of\n"
    "throughput, alloc p99 latency, peak footprint and internal fragmentation\n"
    "over the repeats, with a 95% bootstrap interval; '*' where the interval\n"
    "excludes 1 (two repeats or more on each side); and a verdict such as\n"
    "'lfslab ran 3.05 ± 0.04 times faster than slab'.\n"
    "\n"
    "options:\n"
    "  --fail-above PCT  exit 1 if a throughput is more than PCT percent lower in B\n"
    "                    with its interval excluding 1 (a regression gate)\n"
    "  --format F        md (default), csv or json\n";

/* The compared metrics: summary_metrics indices, names, better direction. */
static const struct {
    int         m;
    const char *name;
} compare_metrics[] = {
    { 0, "throughput" }, { 5, "alloc_p99" }, { 14, "peak_footprint" },
    { 17, "internal_frag" },
};
#define NCMP (sizeof(compare_metrics) / sizeof(compare_metrics[0]))

struct compare_side {
    const char          *dir;
    struct suite         s;
    struct suite_result *res;
    const char          *only_alloc;      /* the one allocator, or NULL */
};

struct compare_match {
    size_t   a, b;                        /* first runs of the groups */
    unsigned na, nb;
    double   ratio[NCMP], lo[NCMP], hi[NCMP];
    int      known[NCMP], sig[NCMP];
    char     verdict[1200];
};

/* Do runs i of side x and k of side y belong together? */
static int
compare_same(const struct compare_side *x, size_t i, const struct compare_side *y,
    size_t k, int by_alloc)
{
    return x->s.runs[i].procs == y->s.runs[k].procs
           && strcmp(x->res[i].spec, y->res[k].spec) == 0
           && (!by_alloc || strcmp(x->s.runs[i].alloc, y->s.runs[k].alloc) == 0);
}

static int
compare_usable(const struct compare_side *x, size_t i)
{
    return x->s.runs[i].state == SUITE_DONE && x->res[i].have;
}

/* The values of metric m over the group of side x that run `first` heads
 * (matched as to run `ref` of side `of`); their count. */
static size_t
compare_values(const struct compare_side *x, const struct compare_side *of, size_t ref,
    int by_alloc, int m, double *v, unsigned *runs)
{
    size_t i, n = 0;

    *runs = 0;
    for (i = 0; i < x->s.nruns; i++) {
        if (compare_usable(x, i) && compare_same(x, i, of, ref, by_alloc)) {
            (*runs)++;
            if (x->res[i].has[m]) {
                v[n++] = x->res[i].m[m];
            }
        }
    }
    return n;
}

/* The one allocator of a side's usable runs, or NULL. */
static const char *
compare_only_alloc(const struct compare_side *x)
{
    const char *one = NULL;
    size_t      i;

    for (i = 0; i < x->s.nruns; i++) {
        if (!compare_usable(x, i)) {
            continue;
        }
        if (one && strcmp(one, x->s.runs[i].alloc) != 0) {
            return NULL;
        }
        one = x->s.runs[i].alloc;
    }
    return one;
}

/* The verdict in hyperfine's words, from the throughput ratio. */
static void
compare_verdict(struct compare_match *mt, const char *na, const char *nb, const char *alloc,
    const char *spec, unsigned procs)
{
    double r = mt->ratio[0], f, e = NAN;
    int    faster = r >= 1;
    char   pm[64] = "", what[1100];

    /* what was compared: the allocator too when the sides are directories */
    snprintf(what, sizeof(what), "%s%s%s p%u", alloc ? alloc : "", alloc ? " " : "", spec,
             procs);
    if (!mt->known[0]) {
        snprintf(mt->verdict, sizeof(mt->verdict), "%s: no throughput to compare", what);
        return;
    }
    f = faster ? r : 1 / r;
    if (mt->na > 1 && mt->nb > 1) {
        e = faster ? (mt->hi[0] - mt->lo[0]) / 2 : (1 / mt->lo[0] - 1 / mt->hi[0]) / 2;
        snprintf(pm, sizeof(pm), " ± %.2f", e);
    }
    snprintf(mt->verdict, sizeof(mt->verdict), "%s: %s ran %.2f%s times %s than %s", what, nb, f,
             pm, faster ? "faster" : "slower", na);
}

static int
compare_match_one(const struct compare_side *A, const struct compare_side *B, size_t i,
    size_t k, int by_alloc, struct compare_match *mt, double *va, double *vb)
{
    size_t c, na, nb;

    memset(mt, 0, sizeof(*mt));
    mt->a = i;
    mt->b = k;
    for (c = 0; c < NCMP; c++) {
        na = compare_values(A, A, i, by_alloc, compare_metrics[c].m, va, &mt->na);
        nb = compare_values(B, A, i, by_alloc, compare_metrics[c].m, vb, &mt->nb);
        mt->ratio[c] = mt->lo[c] = mt->hi[c] = NAN;
        if (na == 0 || nb == 0 || stats_median(va, na) == 0) {
            continue;
        }
        if (stats_ratio_interval(va, na, vb, nb, &mt->ratio[c], &mt->lo[c], &mt->hi[c]) != 0) {
            return -1;
        }
        mt->known[c] = 1;
        mt->sig[c] = na > 1 && nb > 1 && (mt->hi[c] < 1 || mt->lo[c] > 1);
    }
    return 0;
}

/* ---- output ---- */

static void
compare_md_cell(FILE *f, const struct compare_match *mt, size_t c)
{
    if (!mt->known[c]) {
        fputs(" |", f);
    } else if (mt->na > 1 && mt->nb > 1) {
        fprintf(f, " %.3f [%.3f, %.3f]%s |", mt->ratio[c], mt->lo[c], mt->hi[c],
                mt->sig[c] ? " *" : "");
    } else {
        fprintf(f, " %.3f |", mt->ratio[c]);
    }
}

static void
compare_print(FILE *f, enum summary_format fmt, const struct compare_side *A,
    const struct compare_side *B, const struct compare_match *mt, size_t n, int by_alloc,
    unsigned regressions)
{
    size_t i, c;

    if (fmt == SUMMARY_MD) {
        fprintf(f, "B/A with B = %s, A = %s (95%% bootstrap intervals over the repeats; "
                "* : the interval excludes 1)\n\n", B->dir, A->dir);
        fputs("| allocator | workload_spec | procs | runs A/B | throughput | alloc p99 "
              "| peak footprint | internal frag |\n"
              "| --- | --- | ---: | --- | --- | --- | --- | --- |\n", f);
        for (i = 0; i < n; i++) {
            const struct suite_run *ra = &A->s.runs[mt[i].a], *rb = &B->s.runs[mt[i].b];

            if (by_alloc) {
                fprintf(f, "| %s", ra->alloc);
            } else {
                fprintf(f, "| %s → %s", ra->alloc, rb->alloc);
            }
            fprintf(f, " | %s | %u | %u/%u |", A->res[mt[i].a].spec, ra->procs, mt[i].na,
                    mt[i].nb);
            for (c = 0; c < NCMP; c++) {
                compare_md_cell(f, &mt[i], c);
            }
            fputc('\n', f);
        }
        fputc('\n', f);
        for (i = 0; i < n; i++) {
            fprintf(f, "- %s\n", mt[i].verdict);
        }
        return;
    }
    if (fmt == SUMMARY_CSV) {
        fputs("allocator_a,allocator_b,workload_spec,procs,runs_a,runs_b", f);
        for (c = 0; c < NCMP; c++) {
            fprintf(f, ",%s_ratio,%s_lo,%s_hi,%s_excludes_1", compare_metrics[c].name,
                    compare_metrics[c].name, compare_metrics[c].name, compare_metrics[c].name);
        }
        fputs(",verdict\n", f);
        for (i = 0; i < n; i++) {
            summary_csv_field(f, A->s.runs[mt[i].a].alloc);
            fputc(',', f);
            summary_csv_field(f, B->s.runs[mt[i].b].alloc);
            fputc(',', f);
            summary_csv_field(f, A->res[mt[i].a].spec);
            fprintf(f, ",%u,%u,%u", A->s.runs[mt[i].a].procs, mt[i].na, mt[i].nb);
            for (c = 0; c < NCMP; c++) {
                fputc(',', f);
                summary_num(f, mt[i].ratio[c]);
                fputc(',', f);
                summary_num(f, mt[i].lo[c]);
                fputc(',', f);
                summary_num(f, mt[i].hi[c]);
                fprintf(f, ",%d", mt[i].sig[c]);
            }
            fputc(',', f);
            summary_csv_field(f, mt[i].verdict);
            fputc('\n', f);
        }
        return;
    }
    fputs("{\n  \"a\": ", f);
    cli_json_string(f, A->dir);
    fputs(", \"b\": ", f);
    cli_json_string(f, B->dir);
    fprintf(f, ", \"regressions\": %u,\n  \"matches\": [", regressions);
    for (i = 0; i < n; i++) {
        fputs(i ? ",\n    {\"allocator_a\": " : "\n    {\"allocator_a\": ", f);
        cli_json_string(f, A->s.runs[mt[i].a].alloc);
        fputs(", \"allocator_b\": ", f);
        cli_json_string(f, B->s.runs[mt[i].b].alloc);
        fputs(", \"workload_spec\": ", f);
        cli_json_string(f, A->res[mt[i].a].spec);
        fprintf(f, ", \"procs\": %u, \"runs_a\": %u, \"runs_b\": %u", A->s.runs[mt[i].a].procs,
                mt[i].na, mt[i].nb);
        for (c = 0; c < NCMP; c++) {
            fprintf(f, ", \"%s\": ", compare_metrics[c].name);
            if (!mt[i].known[c]) {
                fputs("null", f);
                continue;
            }
            fputs("{\"ratio\": ", f);
            summary_num(f, mt[i].ratio[c]);
            fputs(", \"lo\": ", f);
            summary_num(f, mt[i].lo[c]);
            fputs(", \"hi\": ", f);
            summary_num(f, mt[i].hi[c]);
            fprintf(f, ", \"excludes_1\": %s}", mt[i].sig[c] ? "true" : "false");
        }
        fputs(", \"verdict\": ", f);
        cli_json_string(f, mt[i].verdict);
        fputc('}', f);
    }
    fputs("\n  ]\n}\n", f);
}

/* ---- the command ---- */

static double
compare_pct(const char *s)
{
    char  *end;
    double v = strtod(s, &end);

    if (s[0] == '\0' || *end != '\0' || !(v >= 0) || v > 1e6) {
        cli_usage_error(compare_cmd, "bad --fail-above '%s' (a percentage, 0 or more)", s);
    }
    return v;
}

/* Every match of A's groups in B, into *out; their count, or -1. */
static long
compare_all(const struct compare_side *A, const struct compare_side *B, int by_alloc,
    struct compare_match **out)
{
    struct compare_match *mt = calloc(A->s.nruns ? A->s.nruns : 1, sizeof(*mt));
    double               *va = calloc(A->s.nruns + B->s.nruns + 1, sizeof(*va));
    double               *vb = va + A->s.nruns;
    size_t                i, k, j, n = 0;
    const char           *na, *nb;

    if (mt == NULL || va == NULL) {
        free(mt);
        free(va);
        diag_set("out of memory");
        return -1;
    }
    na = by_alloc ? A->dir : A->only_alloc;
    nb = by_alloc ? B->dir : B->only_alloc;
    for (i = 0; i < A->s.nruns; i++) {
        if (!compare_usable(A, i)) {
            continue;
        }
        for (j = 0; j < i && !(compare_usable(A, j) && compare_same(A, j, A, i, by_alloc));
             j++) {
        }
        for (k = 0; k < B->s.nruns && !(compare_usable(B, k)
                                        && compare_same(B, k, A, i, by_alloc)); k++) {
        }
        if (j < i || k == B->s.nruns) {
            continue;                   /* not the group's first, or not in B */
        }
        if (compare_match_one(A, B, i, k, by_alloc, &mt[n], va, vb) != 0) {
            free(mt);
            free(va);
            return -1;
        }
        compare_verdict(&mt[n], na, nb, by_alloc ? A->s.runs[i].alloc : NULL, A->res[i].spec,
                        A->s.runs[i].procs);
        n++;
    }
    free(va);
    *out = mt;
    return (long) n;
}

int
cmd_compare(int argc, char **argv)
{
    struct compare_side   side[2];
    struct compare_match *mt = NULL;
    enum summary_format   fmt = SUMMARY_MD;
    const char           *val;
    double                pct = -1;
    long                  n = -1, i;
    unsigned              regressions = 0;
    int                   k, nd = 0, by_alloc, rc = 0;

    memset(side, 0, sizeof(side));
    for (k = 1; k < argc; k++) {
        if (cli_option(compare_cmd, argc, argv, &k, "--fail-above", &val)) {
            pct = compare_pct(val);
        } else if (cli_option(compare_cmd, argc, argv, &k, "--format", &val)) {
            if (summary_format_of(val, &fmt) != 0) {
                cli_usage_error(compare_cmd, "bad --format '%s' (md, csv or json)", val);
            }
        } else if (argv[k][0] == '-' || nd == 2) {
            cli_unknown_option(compare_cmd, argv[k]);
        } else {
            side[nd++].dir = argv[k];
        }
    }
    if (nd != 2) {
        cli_usage_error(compare_cmd, "compare needs two directories, A and B");
    }
    for (k = 0; k < 2 && rc == 0; k++) {
        if (suite_load_dir(side[k].dir, &side[k].s, &side[k].res) != 0) {
            rc = cli_error("compare: %s", diag_last());
        }
        side[k].only_alloc = compare_only_alloc(&side[k]);
    }
    if (rc == 0) {
        by_alloc = !(side[0].only_alloc && side[1].only_alloc
                     && strcmp(side[0].only_alloc, side[1].only_alloc) != 0);
        n = compare_all(&side[0], &side[1], by_alloc, &mt);
        if (n < 0) {
            rc = cli_error("compare: %s", diag_last());
        } else if (n == 0) {
            rc = cli_error("compare: %s and %s have no run in common (allocator, workload "
                           "spec and procs)", side[0].dir, side[1].dir);
        }
    }
    for (i = 0; rc == 0 && i < n; i++) {
        if (pct >= 0 && mt[i].sig[0] && mt[i].ratio[0] < 1 - pct / 100) {
            regressions++;
        }
    }
    if (rc == 0) {
        compare_print(stdout, fmt, &side[0], &side[1], mt, (size_t) n, by_alloc, regressions);
        for (i = 0; i < n; i++) {
            if (pct >= 0 && mt[i].sig[0] && mt[i].ratio[0] < 1 - pct / 100) {
                cli_error("compare: throughput fell by more than %g%%: %s", pct,
                          mt[i].verdict);
            }
        }
        rc = regressions ? CLI_EXIT_FAIL : 0;
    }
    free(mt);
    for (k = 0; k < 2; k++) {
        free(side[k].res);
        suite_free(&side[k].s);
    }
    return rc;
}
