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
# figures (the label says how many).  A missing bar is a zero, or a figure
# with no value: one the allocator does not report (a private heap has no
# zone figures), or an external fragmentation with nothing free (a full
# zone); the title says so.
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
# (gnuplot refuses a histogram series without a valid point).  One key,
# a plot of its own beside the panels, lists every allocator.
array cmds[3]
do for [m = 0:2] {
    cmd = ""
    scale = m < 2 ? 100 : 1
    do for [k = 1:N] {
        if (word(HAS, k)[m + 1:m + 1] eq "1") {
            c = col(k, m)
            cmd = cmd . (cmd eq "" ? "plot " : ", ") \
                . sprintf("data using (%g * column(%d)):(%g * column(%d)):(%g * column(%d)):xtic(1) lc rgb '%s' notitle", \
                          scale, c, scale, c + 1, scale, c + 2, alloc_color(word(A, k)))
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
unset key
set xtics noenhanced rotate by -20 font ",9"
set multiplot title "Fragmentation per allocator and workload" \
    . (label ne "" ? "  (" . label . ")" : "") \
    . "\nbars: median over repeats, error bars: 95% interval; no bar: zero, or no value (not reported, or nothing free)" . mixed("frag") noenhanced
set lmargin at screen 0.08
set rmargin at screen 0.84
PH = 0.19                          # each panel's height, of the screen
GAP = 0.11                         # room for a title and the (slanted) tick labels above
do for [m = 1:3] {
    set tmargin at screen 0.885 - (m - 1) * (PH + GAP)
    set bmargin at screen 0.885 - (m - 1) * (PH + GAP) - PH
    set title titles[m]
    set ylabel ylabels[m]
    set yrange [0 : *]
    if (m == 3) {
        set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dt 2 lc rgb "#555555" front
    }
    if (cmds[m] eq "") {
        set label 2 "not reported by any allocator here" at graph 0.5, graph 0.5 center
        set yrange [0 : 1]
        cmds[m] = "plot 2 notitle"
    }
    eval cmds[m]
    unset label 2
}
# The key: every allocator, in a plot with nothing else.
unset arrow 1
unset title
unset ylabel
unset border
unset tics
unset grid
set lmargin at screen 0.85
set rmargin at screen 0.99
set tmargin at screen 0.9
set bmargin at screen 0.06
set yrange [0 : 1]
set key noenhanced at graph 1, graph 1 right top title "allocator" box
plot for [k = 1:N] NaN with boxes lc rgb alloc_color(word(A, k)) title word(A, k)
unset multiplot
