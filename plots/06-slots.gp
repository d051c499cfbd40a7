# 06-slots.gp: figure 6, the slab's per-slot occupancy at the end of one
# run, from its slots.csv (`in`; `runs` is its runs.csv, for the title):
# the picture tengine's slab_stat module gives.  Top: per slot (chunk
# size), the chunks its pages hold (total) and those allocated (used);
# the gap is the free chunks that slot's pages keep.  Bottom, on a log
# scale: allocation requests of that size class since the zone was made
# (reqs) and those that failed (fails); a zero has no bar (a log axis has
# no zero), and the key says when no request failed at all (a slot's
# fails are chunk requests; a failed request for pages is not a slot's).
if (!exists("lib")) { lib = "plots" }
load lib . "/common.gp"
set datafile separator comma
set datafile columnheaders

if (datarows(in) < 1) {
    print "no slots in " . in . " (the allocator keeps no slot statistics)"
    exit status 3
}
info = runinfo(runs ne "" ? runs : in)
stats in using (column("fails")) nooutput
FAILS = STATS_sum
stats in using (column("reqs")) nooutput
REQS = STATS_sum
RMAX = STATS_max > 1 ? STATS_max : 1
pos(v) = v > 0 ? v : NaN

H = 800
load lib . "/output.gp"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border rgb "#333333"
set boxwidth 0.9
set xlabel "slot: chunk size in bytes"
set key outside right top box
set lmargin at screen 0.09
set rmargin at screen 0.82
set multiplot layout 2, 1 title sprintf("Per-slot occupancy (slab_stat) at the end: %s on %s, %s%s", \
    word(info, 2), word(info, 1), workers(int(word(info, 3))), label ne "" ? "\n" . label : "") noenhanced
set title "chunks in each slot's pages"
set ylabel "chunks"
set yrange [0 : *]
plot in using (column("total")):xtic(1) lc rgb "#9ecae1" title "total", \
     ''  using (column("used")) lc rgb "#1f77b4" title "used"
set title sprintf("allocation requests per size class (%.0f in all, %.0f failed)", REQS, FAILS)
set ylabel "requests (log scale)"
set logscale y
set yrange [0.8 : *]
eval logtics("y", "%.0s%c", RMAX / 0.8)
if (FAILS > 0) {
    plot in using (pos(column("reqs"))):xtic(1) lc rgb "#2ca02c" title "reqs", \
         ''  using (pos(column("fails"))) lc rgb "#d62728" title "fails"
} else {
    plot in using (pos(column("reqs"))):xtic(1) lc rgb "#2ca02c" title "reqs", \
         NaN with boxes lc rgb "#d62728" title "fails (none)"
}
unset multiplot
