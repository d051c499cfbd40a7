# 03-memory.gp: figure 3, memory over time in one run, from its
# timeseries.csv (`in`; `runs` is its runs.csv, for the title): live bytes (requested sizes of the blocks held),
# granted bytes (their usable sizes), footprint (the zone's bytes handed
# out or reserved for blocks: timeseries.csv's footprint_bytes, which
# never includes the allocator's fixed header) and resident bytes (the
# zone's pages in RAM, by mincore), against seconds since the barrier.
# Footprint is drawn only where the sample read the allocator's figures
# (stats 1); the last row (written after the workers ended, at the run's
# seconds) may come before the sampler's last one in time, so every line
# is drawn in the order of time (smooth unique).
if (!exists("lib")) { lib = "plots" }
load lib . "/common.gp"
set datafile separator comma
set datafile columnheaders

if (datarows(in) < 2) {
    print "fewer than two samples in " . in . " (run with --sample-ms)"
    exit status 3
}
info = runinfo(runs ne "" ? runs : in)
stats in using (column("resident_bytes")) nooutput
top = STATS_max
stats in using (column("granted_bytes")) nooutput
top = STATS_max > top ? STATS_max : top
U = top >= 2.0**30 ? 2.0**30 : top >= 2.0**20 ? 2.0**20 : 2.0**10
UN = U == 2.0**30 ? "GiB" : U == 2.0**20 ? "MiB" : "KiB"
fp(v) = v == v ? v / U : NaN

load lib . "/output.gp"
set title sprintf("Memory over time: %s on %s, %s%s", word(info, 2), word(info, 1), \
    workers(int(word(info, 3))), label ne "" ? "\n" . label : "") noenhanced
set xlabel "seconds since the workers' release"
set ylabel "bytes (" . UN . ")"
set xrange [0 : *]
set yrange [0 : *]
set key outside right top title "memory" box
plot in using 1:(column("live_bytes") / U) smooth unique with lines lw 2 lc rgb "#1f77b4" title "live (requested)", \
     ''  using 1:(column("granted_bytes") / U) smooth unique with lines lw 2 dt 2 lc rgb "#ff7f0e" title "granted (usable size)", \
     ''  using 1:(column("stats") == 1 ? fp(column("footprint_bytes")) : NaN) smooth unique with linespoints lw 2 pt 7 ps 0.5 lc rgb "#2ca02c" title "footprint (no header)", \
     ''  using 1:(column("resident_bytes") / U) smooth unique with lines lw 2 lc rgb "#7f7f7f" title "resident (in RAM)"
