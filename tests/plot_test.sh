#!/bin/sh
# Black-box tests of `shmbench plot`, on a suite directory made by
# tests/plot_fixture.sh from short real runs (slab, tlsf and glibc; churn
# and fill; 1 and 2 workers; a sampled churn), in a directory whose name
# holds a space and a single quote (what gnuplot and its awk steps are
# handed must survive both):
#
#   - the suite gets every figure, as a non-empty SVG and a PNG (its magic
#     bytes), each figure of one workload once per workload, nothing on
#     stderr (no skip, no gnuplot warning), and an index.html that shows
#     each one and names the file it came from; figure 3 is the run with
#     the most samples;
#   - the figures show what they should: every allocator of the workload
#     in figure 1's legend, no glibc where it has no data (fill refused it,
#     it has no lock counters); a warning in the title of a figure drawn
#     from a row with mixed_hosts 1, and only then;
#   - --scripts: the scripts given are the ones run;
#   - --format and --out: only the format asked, where asked; figures
#     left from before that this run did not write are removed;
#   - a run directory gets figures 3 and 6 only; one without samples or
#     slot statistics gets neither, with one stderr line each; a suite
#     without rows or runs gets none, with one line per figure;
#   - errors: no gnuplot in PATH (exit 1, the package named), a directory
#     with neither summary.csv nor runs.csv, a missing one, --out a file,
#     a scripts directory without the scripts, and the usage errors
#     (exit 2).
#
# Usage: plot_test.sh SHMBENCH.  Skipped (77) without gnuplot.
set -u

. "$(dirname "$0")/run_lib.sh"
run_lib_init "$1" plot

if ! command -v gnuplot > /dev/null 2>&1; then
    echo "skip plot_test: gnuplot is not installed (Debian: gnuplot-nox)"
    exit 77
fi

S="$T/a suite's dir"
sh "$(dirname "$0")/plot_fixture.sh" "$B" "$S"
ok $? "plot_fixture.sh failed"

# The fixture itself: 6 rows of line 1, 6 of line 2 (glibc's refused),
# 1 of line 3.
n=$(awk 'END { print NR - 1 }' "$S/summary.csv")
[ "$n" = 13 ]; ok $? "summary.csv has $n rows, want 13"
grep -q '^2,glibc,fill,"fill:sizes=uniform:16:4096",1,1,0,0,1,0,,,' "$S/summary.csv"
ok $? "summary.csv: no refused glibc fill row"

# quiet CMD ARGS...: CMD exits 0 with nothing on stderr (its stdout in
# $T/out).
quiet() {
    checks=$((checks + 1))
    "$@" > "$T/out" 2> "$T/err"
    rc=$?
    if [ "$rc" != 0 ] || [ -s "$T/err" ]; then
        fail "'$*' exited $rc, stderr: $(cat "$T/err")"
    fi
}

# is_png FILE: FILE starts with the PNG signature.
is_png() {
    [ "$(od -An -tx1 -N8 "$1" | tr -d ' \n')" = 89504e470d0a1a0a ]
}

# is_svg FILE: FILE is a non-empty SVG document.
is_svg() {
    [ -s "$1" ] && grep -q '<svg' "$1" && grep -q '</svg>' "$1"
}

FIGS="01-throughput-L1-churn 01-throughput-L2-fill 01-throughput-L3-churn
02-latency-L1-churn 02-latency-L2-fill 02-latency-L3-churn 03-memory
04-fragmentation 05-fill 06-slots-L1-churn 06-slots-L2-fill 06-slots-L3-churn
07-lock-L1-churn 07-lock-L2-fill 07-lock-L3-churn"

quiet "$B" plot "$S"
P="$S/plots"
grep -qx "plot: 15 figures in $P (index.html)" "$T/out"; ok $? "stdout: $(cat "$T/out")"
for f in $FIGS; do
    is_svg "$P/$f.svg"; ok $? "$f.svg missing, empty or not SVG"
    is_png "$P/$f.png"; ok $? "$f.png missing or not PNG"
    grep -q "<img src=\"$f.png\"" "$P/index.html"; ok $? "index.html does not show $f"
    grep -q "<a href=\"$f.svg\">SVG</a>" "$P/index.html"; ok $? "index.html has no SVG link for $f"
done
n=$(ls "$P" | wc -l)
[ "$n" = 31 ]; ok $? "$P holds $n files, want 15 figures twice and index.html"
n=$(grep -c '<figure id=' "$P/index.html")
[ "$n" = 15 ]; ok $? "index.html has $n figures, want 15"
grep -q 'From <code>runs/L3-slab-churn-p1-r1/timeseries.csv</code>' "$P/index.html"
ok $? "index.html: figure 3 is not from the sampled churn"
grep -q 'From <code>runs/L2-slab-fill-p1-r1/slots.csv</code>' "$P/index.html"
ok $? "index.html: figure 6 of line 2 is not from its first slab run"
grep -q 'Workload churn:live=1000,rounds=1000000,sizes=uniform:8:2048,remote=0\.' "$P/index.html"
ok $? "index.html: figure 1's caption does not name its workload"
grep -q 'Workload fill:sizes=uniform:16:4096\. Refused by the driver, not run: glibc (1, 2 workers)\.' "$P/index.html"
ok $? "index.html: figure 1 of fill does not say that glibc was refused"
grep -q 'Refused by the driver, not run on fill: glibc (1, 2 workers)\.' "$P/index.html"
ok $? "index.html: figure 5 does not say that glibc was refused"

# What the figures show.
for a in slab tlsf glibc; do
    grep -q ">$a<" "$P/01-throughput-L1-churn.svg"; ok $? "figure 1 has no $a"
    grep -q ">$a<" "$P/04-fragmentation.svg"; ok $? "figure 4 has no $a"
done
grep -q ">glibc<" "$P/05-fill.svg"; [ $? != 0 ]; ok $? "figure 5 shows glibc, refused on fill"
grep -q ">glibc" "$P/07-lock-L1-churn.svg"; [ $? != 0 ]; ok $? "figure 7 shows glibc, without lock counters"
grep -q ">tlsf" "$P/07-lock-L1-churn.svg"; ok $? "figure 7 has no tlsf"
grep -q "no free timed" "$P/02-latency-L2-fill.svg"; ok $? "figure 2 of fill does not say it has no frees"

# A row of runs from machines of different kinds is said in the title
# of the figures drawn from it, and only there; a row with failed runs
# in the captions.  (Row 2 is L1's slab at 1 worker; its workload_spec
# holds three commas, so that runs and failed are fields 9 and 11.)
grep -q "machines of different kinds" "$P/01-throughput-L1-churn.svg"; [ $? != 0 ]
ok $? "figure 1 warns of mixed machines where no row is mixed"
M="$T/mixed"
mkdir -p "$M"
ln -s "$S/runs" "$M/runs"
awk -F, -v OFS=, 'NR == 2 { $NF = 1; $9 = 3; $11 = 1 } { print }' "$S/summary.csv" > "$M/summary.csv"
quiet "$B" plot "$M" --format svg
grep -q "machines of different kinds" "$M/plots/01-throughput-L1-churn.svg"
ok $? "figure 1 does not warn of its mixed row (L1 slab, 1 worker)"
grep -q "machines of different kinds" "$M/plots/04-fragmentation.svg"
ok $? "figure 4 does not warn of its mixed row"
grep -q "machines of different kinds" "$M/plots/07-lock-L1-churn.svg"; [ $? != 0 ]
ok $? "figure 7 (2 workers) warns of a mixed row it does not draw"
grep -q 'Failed runs, left out of the medians: slab (1 worker: 1 of 3)\.' "$M/plots/index.html"
ok $? "index.html does not name the failed runs"

# --format, --out; a figure the output directory holds from before that
# this run does not write is removed, other files are not.
mkdir -p "$T/svg only"
cp "$P/03-memory.png" "$T/svg only/03-memory.png"
cp "$P/03-memory.png" "$T/svg only/09-old-figure.png"
echo notes > "$T/svg only/notes.txt"
quiet "$B" plot "$S" --format svg --out "$T/svg only"
[ -f "$T/svg only/notes.txt" ]; ok $? "plot removed a file that is not a figure"
n=$(ls "$T/svg only" | grep -c '\.png$')
[ "$n" = 0 ]; ok $? "--format svg wrote $n PNGs"
n=$(ls "$T/svg only" | grep -c '\.svg$')
[ "$n" = 15 ]; ok $? "--format svg wrote $n SVGs, want 15"
grep -q '<img src="03-memory.svg"' "$T/svg only/index.html"; ok $? "--format svg: index.html shows no SVG"

# A run directory: figures 3 and 6 only.
R="$S/runs/L3-slab-churn-p1-r1"
quiet "$B" plot "$R" --out "$T/one"
[ "$(ls "$T/one" | tr '\n' ' ')" = "03-memory.png 03-memory.svg 06-slots.png 06-slots.svg index.html " ]
ok $? "a run directory's plots: $(ls "$T/one" | tr '\n' ' ')"
is_png "$T/one/03-memory.png"; ok $? "the run's 03-memory.png is not PNG"
grep -q 'From <code>slots.csv</code>' "$T/one/index.html"; ok $? "the run's index.html"

# --scripts: the scripts of another directory are the ones run.
mkdir -p "$T/my scripts"
cp "$(dirname "$0")/../plots/"* "$T/my scripts/"
sed 's/Memory over time: /Memory over time (my scripts): /' "$(dirname "$0")/../plots/03-memory.gp" \
    > "$T/my scripts/03-memory.gp"
quiet "$B" plot "$R" --out "$T/mine" --format svg --scripts "$T/my scripts"
grep -q "Memory over time (my scripts)" "$T/mine/03-memory.svg"; ok $? "--scripts was not used"

# A run with one sample and no slot statistics: nothing to draw.
R="$S/runs/L1-tlsf-churn-p1-r1"
"$B" plot "$R" --out "$T/none" > "$T/out" 2> "$T/err"
ok $? "plot of a tlsf run failed: $(cat "$T/err")"
checks=$((checks + 1))
if ! printf '%s\n' \
    "shmbench: plot: skipping 03-memory: fewer than two samples in $R/timeseries.csv (run with --sample-ms)" \
    "shmbench: plot: skipping 06-slots: no slots in $R/slots.csv (the allocator keeps no slot statistics)" \
    | cmp -s - "$T/err"; then
    fail "skips of a tlsf run: $(cat "$T/err")"
fi
[ "$(ls "$T/none")" = index.html ]; ok $? "a run with nothing to draw wrote $(ls "$T/none")"

# A suite without rows or runs: every figure skipped, one line each.
mkdir -p "$T/bare"
head -n 1 "$S/summary.csv" > "$T/bare/summary.csv"
"$B" plot "$T/bare" > "$T/out" 2> "$T/err"
ok $? "plot of an empty suite failed: $(cat "$T/err")"
checks=$((checks + 1))
if ! printf '%s\n' \
    "shmbench: plot: skipping 03-memory: no churn run in $T/bare/runs has two samples or more (run with --sample-ms)" \
    "shmbench: plot: skipping 04-fragmentation: no fragmentation figures in $T/bare/summary.csv" \
    "shmbench: plot: skipping 05-fill: no fill at first failure in $T/bare/summary.csv (no allocation failed)" \
    "shmbench: plot: skipping 06-slots: no slab run in $T/bare/runs has slot statistics" \
    | cmp -s - "$T/err"; then
    fail "skips of an empty suite: $(cat "$T/err")"
fi
grep -qx "plot: 0 figures in $T/bare/plots (index.html)" "$T/out"; ok $? "empty suite: $(cat "$T/out")"

# Errors.
mkdir -p "$T/nobin" "$T/empty"
ln -s "$(command -v awk)" "$T/nobin/awk"
expect 1 "shmbench: plot: gnuplot not found in PATH (Debian: apt-get install gnuplot-nox)" \
    env PATH="$T/nobin" "$B" plot "$S" --out "$T/never"
[ ! -e "$T/never" ]; ok $? "plot without gnuplot made its output directory"
expect 1 "shmbench: plot: $T/empty: neither summary.csv (a suite directory) nor runs.csv (a run directory)" \
    "$B" plot "$T/empty"
expect 1 "shmbench: plot: $T/nope: No such file or directory" "$B" plot "$T/nope"
expect 1 "shmbench: plot: $S/summary.csv: not a directory" "$B" plot "$S/summary.csv"
touch "$T/file"
expect 1 "shmbench: plot: $T/file: not a directory" "$B" plot "$S" --out "$T/file"
expect 1 "shmbench: plot: $T/empty/prep.awk: no such script (give shmbench's plots/ directory with --scripts)" \
    "$B" plot "$S" --scripts "$T/empty"
expect 2 "shmbench: plot needs a suite or run directory (see 'shmbench plot --help')" "$B" plot
expect 2 "shmbench: unknown format 'gif' in --format svg,gif (svg, png) (see 'shmbench plot --help')" \
    "$B" plot "$S" --format svg,gif
expect 2 "shmbench: unknown option '--frob' for plot (see 'shmbench plot --help')" "$B" plot "$S" --frob
expect 2 "shmbench: unexpected argument 'two' for plot (see 'shmbench plot --help')" "$B" plot "$S" two
expect 2 "shmbench: option '--out' needs a value (see 'shmbench plot --help')" "$B" plot "$S" --out
quiet "$B" plot --help
grep -q '^usage: shmbench plot DIR' "$T/out"; ok $? "plot --help"

echo "plot_test: $checks checks, $fails failed"
[ "$fails" = 0 ]
