# 02-latency.gp: figure 2, the latency percentiles of one workload
# (`group`) per allocator and op kind: p50, p90, p99, p99.9 and max of the
# timed allocations (left) and frees (right), each the median over the
# repeats of the all row's alloc_*_ns / free_*_ns with its 95% interval,
# one line per allocator, log y.  Drawn at the most workers that have
# latencies in the group (contention shows in the tail).  The percentiles
# are of the timed ops only (run's --latency: one op in 64 by default),
# in nanoseconds of the tick counter.
if (!exists("lib")) { lib = "plots" }
load lib . "/common.gp"

A = system(prep("names", "latency"))
if (words(A) == 0) {
    print "no latency for " . group . " in " . in
    exit status 3
}
N = words(A)
I = system(prep("info", "latency"))
P = int(word(I, 1))
ymin = real(word(I, 2))
ymax = real(word(I, 3))
array timed[2] = [int(word(I, 4)), int(word(I, 5))]
data = "< " . prep("data", "latency")
shift(i) = (i - (N + 1) / 2.0) * 0.03

load lib . "/output.gp"
set encoding utf8
set logscale y
set yrange [ymin * 1e-9 / 1.5 : ymax * 1e-9 * 1.5]
eval logtics("y", "%.0s %cs", ymax / ymin * 2.25)
set xrange [-0.4 : 4.4]
set xtics ("p50" 0, "p90" 1, "p99" 2, "p99.9" 3, "max" 4)
set xlabel "percentile of the timed ops"
set key noenhanced
set multiplot layout 1, 2 title "Latency percentiles at " . workers(P) . ": " . group \
    . (label ne "" ? "  (" . label . ")" : "") \
    . "\nmedian over repeats, bars: 95% interval" . mixed("latency") noenhanced margins 0.09, 0.8, 0.12, 0.82 spacing 0.07
set ylabel "latency (log scale)"
unset key
do for [m = 1:2] {
    set title (m == 1 ? "allocation" : "free")
    if (m == 2) {
        unset ylabel
        set key at screen 0.995, screen 0.82 right top title "allocator" box
    }
    c = 3 * m
    if (timed[m]) {
        plot for [i = 1:N] data index (i - 1) using ($1 + shift(i)):(column(c) * 1e-9):(column(c + 1) * 1e-9):(column(c + 2) * 1e-9) \
             with yerrorlines lw 2 pt 7 lc rgb alloc_color(word(A, i)) title word(A, i)
    } else {
        set label 2 (m == 1 ? "no allocation timed" : "no free timed (the workload frees nothing)") at graph 0.5, graph 0.5 center
        plot for [i = 1:N] 1e30 lw 2 lc rgb alloc_color(word(A, i)) title word(A, i)
        unset label 2
    }
}
unset multiplot
