/*
 * stats: medians, percentiles and bootstrap intervals (bench/stats.h).
 *
 * Each bootstrap sorts its resample to take the median: n is the number
 * of repeats (a handful), so 2000 small sorts cost nothing next to the
 * runs they summarise.
 */
#include "stats.h"

#include <stdlib.h>
#include <string.h>

#include "prng.h"
#include "substrate/diag.h"

static int
stats_cmp(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;

    return x < y ? -1 : x > y;
}

double
stats_percentile_sorted(const double *sorted, size_t n, double p)
{
    double h = p * (double) (n - 1);
    size_t i = (size_t) h;

    if (i + 1 >= n) {
        return sorted[n - 1];
    }
    return sorted[i] + (h - (double) i) * (sorted[i + 1] - sorted[i]);
}

/* The median of buf[0..n), sorting buf. */
static double
stats_median_inplace(double *buf, size_t n)
{
    qsort(buf, n, sizeof(*buf), stats_cmp);
    return stats_percentile_sorted(buf, n, 0.5);
}

double
stats_median(const double *x, size_t n)
{
    double  small[64], *buf = n <= 64 ? small : malloc(n * sizeof(*buf));
    double  m;

    if (buf == NULL) {
        return x[0];
    }
    memcpy(buf, x, n * sizeof(*buf));
    m = stats_median_inplace(buf, n);
    if (buf != small) {
        free(buf);
    }
    return m;
}

/* The median of n values drawn with replacement from x, into scratch. */
static double
stats_resample_median(const double *x, size_t n, double *scratch, uint64_t *state)
{
    size_t i;

    for (i = 0; i < n; i++) {
        scratch[i] = x[prng_below(state, n)];
    }
    return stats_median_inplace(scratch, n);
}

/* The interval of the STATS_RESAMPLES values of boot: its percentiles
 * (1 - conf) / 2 and (1 + conf) / 2. */
static void
stats_boot_interval(double *boot, double *lo, double *hi)
{
    qsort(boot, STATS_RESAMPLES, sizeof(*boot), stats_cmp);
    *lo = stats_percentile_sorted(boot, STATS_RESAMPLES, (1 - STATS_CONF) / 2);
    *hi = stats_percentile_sorted(boot, STATS_RESAMPLES, (1 + STATS_CONF) / 2);
}

int
stats_median_interval(const double *x, size_t n, double *lo, double *hi)
{
    double  *boot, *scratch;
    uint64_t state = STATS_SEED;
    size_t   r;

    if (n == 0) {
        diag_set("stats_median_interval(): no values");
        return -1;
    }
    if (n == 1) {
        *lo = *hi = x[0];
        return 0;
    }
    boot = malloc((STATS_RESAMPLES + n) * sizeof(*boot));
    if (boot == NULL) {
        diag_set("stats_median_interval(): out of memory");
        return -1;
    }
    scratch = boot + STATS_RESAMPLES;
    for (r = 0; r < STATS_RESAMPLES; r++) {
        boot[r] = stats_resample_median(x, n, scratch, &state);
    }
    stats_boot_interval(boot, lo, hi);
    free(boot);
    return 0;
}

int
stats_ratio_interval(const double *a, size_t na, const double *b, size_t nb,
    double *ratio, double *lo, double *hi)
{
    double  *boot, *scratch, ma;
    uint64_t state = STATS_SEED;
    size_t   r;

    if (na == 0 || nb == 0) {
        diag_set("stats_ratio_interval(): no values");
        return -1;
    }
    ma = stats_median(a, na);
    if (ma == 0) {
        diag_set("stats_ratio_interval(): the median of the base is 0");
        return -1;
    }
    *ratio = stats_median(b, nb) / ma;
    if (na == 1 && nb == 1) {
        *lo = *hi = *ratio;
        return 0;
    }
    boot = malloc((STATS_RESAMPLES + (na > nb ? na : nb)) * sizeof(*boot));
    if (boot == NULL) {
        diag_set("stats_ratio_interval(): out of memory");
        return -1;
    }
    scratch = boot + STATS_RESAMPLES;
    for (r = 0; r < STATS_RESAMPLES; r++) {
        ma = stats_resample_median(a, na, scratch, &state);
        boot[r] = ma != 0 ? stats_resample_median(b, nb, scratch, &state) / ma : *ratio;
    }
    stats_boot_interval(boot, lo, hi);
    free(boot);
    return 0;
}
