# 04-fragmentation.gp: figure 4, fragmentation per allocator and
# workload, from summary.csv (`in`): three panels of grouped bars, one
# group per workload, one bar per allocator, each the median over the
# repeats of the all row's value with its 95% interval:
#   internal fragmentation  1 - live / granted bytes at the end (internal_frag)
#   external fragmentation  1 - largest free block / free bytes at the end
#                           (external_frag; empty where the allocator cannot
#                           say its largest free block)
#   overhead at peak        peak footprint / peak live bytes (overhead_at_peak;
#                           1 is no overhead)
# Each workload at the fewest workers it ran with that have these
# figures (the label says how many).  A missing bar is a figure with no
# value: one the allocator does not report (a private heap has no zone
# figures), or an external fragmentation with nothing free (a full zone).
if (!exists("lib")) { lib = "plots" }
load lib . "/common.gp"

A = system(prep("names", "frag"))
if (words(A) == 0) {
    print "no fragmentation figures in " . in
    exit status 3
}
N = words(A)
data = "< " . prep("data", "frag")
col(k, m) = 2 + (k - 1) * 9 + m * 3

HAS = system(prep("has", "frag"))

# The plot command of panel m (0 internal, 1 external, 2 overhead): an
# allocator without any value of that metric is left out of the panel
# (gnuplot refuses a histogram series without a valid point), so that
# panel's key lists the allocators it shows.
array cmds[3]
do for [m = 0:2] {
    cmd = ""
    scale = m < 2 ? 100 : 1
    do for [k = 1:N] {
        if (word(HAS, k)[m + 1:m + 1] eq "1") {
            c = col(k, m)
            cmd = cmd . (cmd eq "" ? "plot " : ", ") \
                . sprintf("data using (%g * column(%d)):(%g * column(%d)):(%g * column(%d)):xtic(1) lc rgb '%s' title '%s'", \
                          scale, c, scale, c + 1, scale, c + 2, alloc_color(word(A, k)), word(A, k))
        }
    }
    cmds[m + 1] = cmd
}
array titles[3] = ["internal fragmentation: 1 - live / granted bytes", \
                   "external fragmentation: 1 - largest free block / free bytes", \
                   "overhead at peak: peak footprint / peak live bytes (1: none)"]
array ylabels[3] = ["percent of granted", "percent of free", "ratio"]

H = 900
load lib . "/output.gp"
set style data histograms
set style histogram errorbars gap 1 lw 1
set style fill solid 0.85 border rgb "#333333"
set boxwidth 0.9
set key noenhanced outside right top title "allocator" box
set xtics noenhanced
set multiplot layout 3, 1 title "Fragmentation per allocator and workload" \
    . (label ne "" ? "  (" . label . ")" : "") \
    . "\nbars: median over repeats, error bars: 95% interval; no bar: no value (not reported, or nothing free)" noenhanced
set lmargin at screen 0.08
set rmargin at screen 0.86
do for [m = 1:3] {
    set title titles[m]
    set ylabel ylabels[m]
    set yrange [0 : *]
    if (m == 3) {
        set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dt 2 lc rgb "#555555" front
    }
    if (cmds[m] eq "") {
        set label 2 "not reported by any allocator here" at graph 0.5, graph 0.5 center
        set yrange [0 : 1]
        plot 2 notitle
        unset label 2
    } else {
        eval cmds[m]
    }
}
unset multiplot
