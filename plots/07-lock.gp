# 07-lock.gp: figure 7, the zone lock per allocator for one workload
# (`group`), from summary.csv (`in`), at the most workers that have lock
# counters: the total time the workers waited for the lock (lock_wait_ns:
# from a failed first attempt to holding it) and held it (lock_hold_ns:
# estimated from one acquisition in 256), summed over the workers, each
# the median over the repeats with its 95% interval, on a log scale; under
# each allocator's name, how many acquisitions were contended (first
# attempt failed) of how many (lock_contended, lock_acquisitions, medians).
# Only allocators with lock counters appear (shmbench list: lock-counters);
# a zero has no bar, and says so: no wait (one worker, or no contention),
# or no hold sampled (fewer than about 256 acquisitions).
if (!exists("lib")) { lib = "plots" }
load lib . "/common.gp"

A = system(prep("names", "lock"))
if (words(A) == 0) {
    print "no lock counters for " . group . " in " . in . " (no allocator with lock-counters)"
    exit status 3
}
N = words(A)
I = system(prep("info", "lock"))
P = int(word(I, 1))
ylo = real(word(I, 2)) * 1e-9
yhi = real(word(I, 3)) * 1e-9
if (yhi <= 0) { ylo = 1e-6; yhi = 1e-3 }
data = "< " . prep("data", "lock")
count(v) = v < 1000 ? sprintf("%d", v) : gprintf("%.1s%c", v)
tick(a, c, n) = sprintf("%s\n%s of\n%s\ncontended", a, count(c), count(n))
pos(v) = v > 0 ? v : NaN
zero(v, m) = v > 0 ? "" : m == 0 ? "none" : "none sampled"
base = ylo / 3
floor_(v) = v > base ? v : base    # an interval reaching 0 ends at the axis

load lib . "/output.gp"
set logscale y
set yrange [base : yhi * 3]
eval logtics("y", "%.0s %cs", yhi / ylo * 9)
set xrange [-0.6 : N - 0.4]
set xtics noenhanced
set style fill solid 0.85 border rgb "#333333"
set boxwidth 0.6
set ylabel "seconds, summed over the workers (log scale)"
set multiplot layout 1, 2 title "Zone lock at " . workers(P) . ": " . group \
    . (label ne "" ? "  (" . label . ")" : "") \
    . "\nbars: median over repeats, error bars: 95% interval" . mixed("lock") noenhanced \
    margins 0.09, 0.98, 0.18, 0.82 spacing 0.08
do for [m = 0:1] {
    c = 2 + 3 * m
    set title (m == 0 ? "waiting for the lock (lock_wait_ns)" : "holding the lock (lock_hold_ns, sampled)") noenhanced
    if (m == 1) { unset ylabel }
    plot data using 0:(pos(column(c) * 1e-9)):(alloc_rgb(strcol(1))):xtic(tick(strcol(1), column(8), column(9))) \
              with boxes lc rgb variable notitle, \
         ''   using 0:(pos(column(c) * 1e-9)):(floor_(column(c + 1) * 1e-9)):(floor_(column(c + 2) * 1e-9)) \
              with yerrorbars lc rgb "#000000" pt 7 ps 0.5 notitle, \
         ''   using 0:(base * 1.6):(zero(column(c), m)) with labels notitle
}
unset multiplot
