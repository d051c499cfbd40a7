# 01-throughput.gp: figure 1, throughput against the number of worker
# processes for one workload (`group`, a workload_spec of summary.csv),
# one line per allocator: each point the median over the repeats of the
# all row's throughput_ops_s (every worker's ops over the wall time from
# the barrier to the last worker's end), its error bar the 95% interval
# (throughput_ops_s_lo, _hi).  Log y, since the allocators differ by
# orders of magnitude; rows without a positive median are left out
# (nothing to draw on a log axis).  An allocator's points are shifted
# sideways a little, so that error bars at the same worker count do not
# hide each other.
if (!exists("lib")) { lib = "plots" }
load lib . "/common.gp"

A = system(prep("names", "throughput"))
if (words(A) == 0) {
    print "no throughput for " . group . " in " . in
    exit status 3
}
N = words(A)
data = "< " . prep("data", "throughput")
stats data using 1 nooutput
xmin = STATS_min
xmax = STATS_max
J = 0.012 * (xmax - xmin + 1)
shift(i) = (i - (N + 1) / 2.0) * J
I = system(prep("info", "throughput"))
ylo = real(word(I, 1)) / 1.5
yhi = real(word(I, 2)) * 1.5
if (yhi / ylo < 10) {        # a decade at least, so that the axis has values
    g = sqrt(ylo * yhi)
    ylo = g / sqrt(10)
    yhi = g * sqrt(10)
}

load lib . "/output.gp"
set title "Throughput against worker processes\n" . group . (label ne "" ? "  (" . label . ")" : "") . mixed("throughput") noenhanced
set xlabel "worker processes"
set ylabel "aggregate throughput, ops/s (log scale)"
set logscale y
set yrange [ylo : yhi]
eval logtics("y", "%.0s%c", yhi / ylo)
set xrange [xmin - 0.5 : xmax + 0.5]
if (xmax - xmin <= 16) { set xtics 1 }
set key outside right top noenhanced title "allocator" box
set label 1 "points: median over repeats\nbars: 95% interval" at screen 0.985, screen 0.08 right font ",9"
plot for [i = 1:N] data index (i - 1) using ($1 + shift(i)):2:3:4 \
     with yerrorlines lw 2 pt 7 ps 1 lc rgb alloc_color(word(A, i)) title word(A, i)
