# 05-fill.gp: figure 5, fill at first failure per allocator and
# workload, from summary.csv (`in`): for each workload whose runs had a
# failed allocation (fill, and any other that ran the zone full), one bar
# per allocator: the live bytes when the first allocation failed over the
# zone's data bytes (fill_at_fail_ratio, in percent), the median over
# the repeats with its 95% interval, its value written above it.  100% would be a zone used to its
# last byte; what is missing is lost to headers, rounding and pieces too
# small for the request.  Each workload at the fewest workers that have
# the figure (with several, each worker's fill at its own first failure is
# summed).
if (!exists("lib")) { lib = "plots" }
load lib . "/common.gp"

A = system(prep("names", "fill"))
if (words(A) == 0) {
    print "no fill at first failure in " . in . " (no allocation failed)"
    exit status 3
}
N = words(A)
data = "< " . prep("data", "fill")

load lib . "/output.gp"
set title "Fill at first failure: live bytes when the first allocation failed, of the zone's data bytes" \
    . (label ne "" ? "  (" . label . ")" : "") \
    . "\nbars: median over repeats, error bars: 95% interval" . mixed("fill") noenhanced
set style data histograms
set style histogram errorbars gap 1 lw 1
set style fill solid 0.85 border rgb "#333333"
set boxwidth 0.9
set xtics noenhanced
set ylabel "percent of the zone's data bytes"
set yrange [0 : 105]
set ytics 0, 10, 100
set key noenhanced outside right top title "allocator" box
# A bar's value above its interval: bar k of N in cluster i stands at
# i + (k - (N + 1) / 2) / (N + gap) in a clustered histogram.
# More than five bars a cluster: the values stand upright, so that they
# do not run into each other.
v(k) = 100 * column(2 + 3 * (k - 1))
VALSTYLE = N > 5 ? "font \",8\" rotate by 90 left" : "font \",9\" center"
plot for [k = 1:N] data using (v(k)):(100 * column(3 + 3 * (k - 1))):(100 * column(4 + 3 * (k - 1))):xtic(1) \
     lc rgb alloc_color(word(A, k)) title word(A, k), \
     for [k = 1:N] data using ($0 + (k - (N + 1) / 2.0) / (N + 1)):(100 * column(4 + 3 * (k - 1)) + (N > 5 ? 1 : 2.5)):(sprintf("%.1f", v(k))) \
     with labels @VALSTYLE notitle
