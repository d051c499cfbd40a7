# common.gp: what every figure script of shmbench loads first: its
# variables' defaults, the shell quoting and the awk step (prep.awk) that
# the scripts read their data through, the allocators' colours (one
# place: every figure gives an allocator the same colour) and the
# labelled ticks of a log axis.  The terminal and the output file are set later, by
# output.gp, once the script knows it has data: a figure without data
# writes no file.
#
# Variables, given with gnuplot -e (docs/plots.md):
#   in     the result file the figure reads (summary.csv, or a run's
#          timeseries.csv or slots.csv)
#   out    the file to write
#   term   "svg" or "png" (default png)
#   lib    this directory (default "plots": run from the source tree)
#   group  the workload_spec of a one-workload figure (01, 02, 07)
#   runs   the run's runs.csv, for the title of a one-run figure (03, 06)
#          and 03's fixed header
#   label  where the data came from, for the title (optional)
if (!exists("in")) { exit error "set in='FILE' (the result file to draw) with gnuplot -e" }
if (!exists("out")) { exit error "set out='FILE' (the file to write) with gnuplot -e" }
if (!exists("term")) { term = "png" }
if (!exists("lib")) { lib = "plots" }
if (!exists("group")) { group = "" }
if (!exists("runs")) { runs = "" }
if (!exists("label")) { label = "" }
if (term ne "png" && term ne "svg") { exit error "term must be 'png' or 'svg'" }

# s quoted for sh, whatever it holds: 'it'\''s'.
sq_(s, p) = p == 0 ? s : s[1:p-1] . "'\\''" . sq(s[p+1:])
sq(s) = sq_(s, strstrt(s, "'"))
sh(s) = "'" . sq(s) . "'"

# The awk step over `in`: prep(WHAT, FIG) for figure FIG of `group`.
prep(what, fig) = "awk -f " . sh(lib . "/prep.awk") . " -v what=" . what . " -v fig=" . fig \
                  . " -v group=" . sh(group) . " " . sh(in)

# The title's last line for a figure of summary.csv (FIG) drawn from a
# row that mixes runs of machines of different kinds (mixed_hosts, which
# shmbench merge sets); empty otherwise.
mixed(fig) = system(prep("mixed", fig)) eq "1" ? \
    "\nwarning: values mix runs from machines of different kinds (summary.csv: mixed_hosts)" : ""

# "allocator workload procs header_bytes" of a run (its runs.csv's all
# row; header_bytes 0 where the allocator has none).
runinfo(f) = system("awk -f " . sh(lib . "/prep.awk") . " -v what=runinfo " . sh(f))

# The data rows of a CSV file (its lines after the header); gnuplot's
# stats cannot say 0.
datarows(f) = int(system("awk 'END { print (NR > 0 ? NR - 1 : 0) }' " . sh(f)))

# "1 worker", "2 workers".
workers(n) = sprintf("%d %s", n, n == 1 ? "worker" : "workers")

# The allocators' colours, by registry name; a variant (slab:nocount)
# takes its allocator's.  Black: a name this table does not know.
alloc_base(a) = strstrt(a, ":") > 0 ? a[1:strstrt(a, ":") - 1] : a
alloc_rgb_(a) = \
    a eq "slab"         ? 0x1f77b4 : \
    a eq "nginx"        ? 0x2ca02c : \
    a eq "lfslab"       ? 0x9467bd : \
    a eq "freelist"     ? 0x8c564b : \
    a eq "tlsf"         ? 0xff7f0e : \
    a eq "boost-rbtree" ? 0xd62728 : \
    a eq "boost-seqfit" ? 0xe377c2 : \
    a eq "jemalloc-shm" ? 0xbcbd22 : \
    a eq "mimalloc-shm" ? 0x17becf : \
    a eq "glibc"        ? 0x7f7f7f : \
    a eq "jemalloc"     ? 0x6b6b00 : \
    a eq "mimalloc"     ? 0x0b5c66 : 0x000000
alloc_rgb(a) = alloc_rgb_(alloc_base(a))
alloc_color(a) = sprintf("#%06x", alloc_rgb(a))

# Values through the tab-separated tables of prep.awk; "?" is missing.
set datafile separator "\t"
set datafile missing "?"

# Labelled ticks on a log axis (AXIS: "y", "y2") in SI units with FMT
# ("%.0s%c": 2k, 5M): at 1, 2 and 5 times each power of ten, so that a
# figure spanning less than a decade still has readable values, or at
# the powers of ten alone when the axis spans more than four decades
# (SPAN: its top over its bottom).  An explicit list, since gnuplot's own
# log ticks start from the range's end: eval logtics("y", "%.0s%c", SPAN).
tics25(axis, fmt) = sprintf("set %stics add (gprintf('%s', 2*10.0**k) 2*10.0**k, gprintf('%s', 5*10.0**k) 5*10.0**k)", axis, fmt, fmt)
logtics(axis, fmt, span) = sprintf("set %stics (gprintf('%s', 1e-12) 1e-12); do for [k=-12:15] { set %stics add (gprintf('%s', 10.0**k) 10.0**k); %s }", axis, fmt, axis, fmt, span > 1e4 ? "" : tics25(axis, fmt))
