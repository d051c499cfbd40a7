/*
 * test_stats: bench/stats against values worked out by hand, and
 * bench/json on what shmbench writes and on what it must refuse.
 *
 * The bootstrap cases are small enough to know exactly: for two values
 * {a, b}, a resample's median is a, (a + b) / 2 or b with chances 1/4, 1/2
 * and 1/4, so the 2.5th and 97.5th percentiles of 2000 of them are a and b
 * (each end holds far more than 2.5% of the mass); the same reasoning
 * bounds every case below.  Beyond those, the properties that any seeded
 * percentile bootstrap has: the same input gives the same interval, the
 * interval lies within the sample's range and holds its median.
 */
#include <math.h>

#include "json.h"
#include "stats.h"
#include "testutil.h"

static int
near(double a, double b)
{
    return fabs(a - b) <= 1e-12 * (fabs(a) + fabs(b) + 1);
}

static void
test_median_percentile(void)
{
    double odd[] = { 3, 1, 2 }, even[] = { 4, 1, 3, 2 }, five[] = { 1, 2, 3, 4, 5 };
    double one[] = { 7 };

    CHECK(stats_median(odd, 3) == 2, "median of 3 1 2: %g", stats_median(odd, 3));
    CHECK(stats_median(even, 4) == 2.5, "median of 4 1 3 2: %g", stats_median(even, 4));
    CHECK(odd[0] == 3 && even[0] == 4, "the input was reordered");
    CHECK(stats_median(one, 1) == 7, "median of one value");
    CHECK(stats_percentile_sorted(five, 5, 0) == 1, "p0");
    CHECK(stats_percentile_sorted(five, 5, 1) == 5, "p100");
    CHECK(near(stats_percentile_sorted(five, 5, 0.25), 2), "p25 of 1..5");
    CHECK(near(stats_percentile_sorted(five, 5, 0.1), 1.4), "p10 of 1..5 (type 7): %g",
          stats_percentile_sorted(five, 5, 0.1));
    CHECK(near(stats_percentile_sorted(five, 5, 0.975), 4.9), "p97.5 of 1..5: %g",
          stats_percentile_sorted(five, 5, 0.975));
}

static void
test_median_interval(void)
{
    double two[] = { 10, 20 }, three[] = { 1, 2, 3 }, same[] = { 5, 5, 5, 5 }, one[] = { 42 };
    double ten[] = { 9, 3, 7, 1, 5, 10, 2, 8, 4, 6 }, lo, hi, lo2, hi2, med;

    CHECK(stats_median_interval(one, 1, &lo, &hi) == 0 && lo == 42 && hi == 42,
          "one value: [%g, %g]", lo, hi);
    CHECK(stats_median_interval(two, 2, &lo, &hi) == 0 && lo == 10 && hi == 20,
          "{10, 20}: [%g, %g], want [10, 20]", lo, hi);
    /* P(median of a resample of {1,2,3} is 1) = 7/27, far above 2.5% */
    CHECK(stats_median_interval(three, 3, &lo, &hi) == 0 && lo == 1 && hi == 3,
          "{1, 2, 3}: [%g, %g], want [1, 3]", lo, hi);
    CHECK(stats_median_interval(same, 4, &lo, &hi) == 0 && lo == 5 && hi == 5,
          "constant: [%g, %g]", lo, hi);
    CHECK(stats_median_interval(ten, 10, &lo, &hi) == 0, "ten values");
    CHECK(stats_median_interval(ten, 10, &lo2, &hi2) == 0 && lo == lo2 && hi == hi2,
          "not reproducible: [%g, %g] then [%g, %g]", lo, hi, lo2, hi2);
    med = stats_median(ten, 10);
    CHECK(lo >= 1 && lo < med && med < hi && hi <= 10, "1..10: [%g, %g] around %g", lo, hi,
          med);
    /* the median of 10 resampled values is below 3 only if 5 or more of them are
     * 1 or 2 (p = 0.2 each): P = 3.3%, so the 2.5th percentile is 2 to 3 */
    CHECK(lo >= 2 && lo <= 3 && hi >= 8 && hi <= 9, "1..10: [%g, %g], want [2..3, 8..9]",
          lo, hi);
    CHECK(stats_median_interval(ten, 0, &lo, &hi) == -1, "no values accepted");
}

static void
test_ratio_interval(void)
{
    double a[] = { 1, 1 }, b[] = { 2, 2 }, a2[] = { 1, 2 }, b1[] = { 4 }, z[] = { 0, 0 };
    double r, lo, hi;

    CHECK(stats_ratio_interval(a, 2, b, 2, &r, &lo, &hi) == 0 && r == 2 && lo == 2 && hi == 2,
          "constant sides: %g [%g, %g]", r, lo, hi);
    /* median(a2*) is 1, 1.5 or 2 (chances 1/4, 1/2, 1/4): 4 / it is 4, 8/3 or 2 */
    CHECK(stats_ratio_interval(a2, 2, b1, 1, &r, &lo, &hi) == 0 && near(r, 8.0 / 3)
          && lo == 2 && hi == 4, "{1,2} against {4}: %g [%g, %g], want 8/3 [2, 4]", r, lo, hi);
    CHECK(stats_ratio_interval(b1, 1, b1, 1, &r, &lo, &hi) == 0 && r == 1 && lo == 1
          && hi == 1, "one value each: %g [%g, %g]", r, lo, hi);
    CHECK(stats_ratio_interval(a2, 2, a2, 2, &r, &lo, &hi) == 0 && r == 1 && lo < 1 && hi > 1,
          "a side against itself: %g [%g, %g] must hold 1", r, lo, hi);
    CHECK(stats_ratio_interval(z, 2, b, 2, &r, &lo, &hi) == -1, "a base of median 0");
}

static void
test_json(void)
{
    struct json       *j = json_parse("{\"a\": [1, -2.5e3, true, null], \"s\": \"x\\\"\\n\\u0041\","
                                      " \"o\": {\"k\": 7, \"z\": 0}, \"f\": false}");
    const struct json *a = json_get(j, "a"), *o = json_get(j, "o");

    CHECK(j != NULL, "parse: %s", diag_last());
    CHECK(a && a->type == JSON_ARRAY && a->n == 4 && a->kids[1].num == -2500
          && strcmp(a->kids[1].str, "-2.5e3") == 0 && a->kids[2].type == JSON_TRUE
          && a->kids[3].type == JSON_NULL, "the array");
    CHECK(json_str(j, "s") && strcmp(json_str(j, "s"), "x\"\nA") == 0, "escapes: %s",
          json_str(j, "s") ? json_str(j, "s") : "(none)");
    CHECK(o && o->n == 2 && strcmp(o->keys[0], "k") == 0 && strcmp(o->keys[1], "z") == 0,
          "members in the text's order");
    CHECK(json_num(o, "k", -1) == 7 && json_num(o, "nope", -1) == -1
          && json_num(j, "f", -1) == 0, "json_num");
    json_free(j);
    CHECK(json_parse("{\"a\": 1,}") == NULL && diag_is("json: expected a member name at byte 8"),
          "a trailing comma");
    CHECK(json_parse("[1 2]") == NULL, "a missing comma");
    CHECK(json_parse("\"abc") == NULL && diag_is("json: unterminated string at byte 4"),
          "an unterminated string");
    CHECK(json_parse("{} x") == NULL && diag_is("json: text after the value at byte 3"),
          "text after the value");
    CHECK(json_parse("") == NULL, "nothing");
    CHECK(json_load("/nonexistent/meta.json") == NULL
          && diag_is("/nonexistent/meta.json: No such file or directory"), "a missing file");
}

int
main(void)
{
    test_median_percentile();
    test_median_interval();
    test_ratio_interval();
    test_json();
    return test_summary("test_stats");
}
