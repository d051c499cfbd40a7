#!/bin/sh
# reference_plots.sh SHMBENCH: the figures committed under
# results/reference/*/plots/ are exactly what `shmbench plot` draws from
# the committed result files: for each reference suite directory, draw
# every figure into a scratch folder and require the same set of files,
# each identical byte for byte (gnuplot's SVG and PNG output is
# deterministic for a given gnuplot), so no committed figure is one the
# scripts do not produce, and none is missing.  Skips (77) without gnuplot.
set -u
B=$1
case $B in /*) ;; *) B=$PWD/$B ;; esac
here=$(cd "$(dirname "$0")/.." && pwd)
T=${TMPDIR:-/tmp}/shmbench-refplots-$$
mkdir -p "$T"
trap 'rm -rf "$T"' EXIT
command -v gnuplot >/dev/null 2>&1 || { echo "skip: gnuplot is not installed"; exit 77; }
fails=0
n=0
cd "$here"                      # relative paths, as scripts/replot.sh draws them
for d in results/reference/*/; do
    d=${d%/}
    [ -f "$d/summary.csv" ] || continue
    n=$((n + 1))
    name=$(basename "$d")
    if [ ! -d "$d/plots" ]; then
        echo "FAIL: $name: no plots/ committed"
        fails=$((fails + 1))
        continue
    fi
    if ! "$B" plot "$d" --out "$T/$name" >"$T/$name.out" 2>"$T/$name.err"; then
        echo "FAIL: $name: plot failed: $(cat "$T/$name.err")"
        fails=$((fails + 1))
        continue
    fi
    (cd "$d/plots" && ls) >"$T/$name.committed"
    (cd "$T/$name" && ls) >"$T/$name.drawn"
    if ! cmp -s "$T/$name.committed" "$T/$name.drawn"; then
        echo "FAIL: $name: committed figures differ from those drawn:"
        diff "$T/$name.committed" "$T/$name.drawn" | head -20
        fails=$((fails + 1))
        continue
    fi
    while read -r f; do
        cmp -s "$d/plots/$f" "$T/$name/$f" || {
            echo "FAIL: $name: plots/$f is not what the scripts draw (run scripts/replot.sh)"
            fails=$((fails + 1))
        }
    done <"$T/$name.committed"
done
[ $n -gt 0 ] || { echo "FAIL: no reference suite directory under results/reference/"; exit 1; }
echo "reference_plots: $n suite directories, $fails failed"
[ $fails -eq 0 ]
