#!/usr/bin/env bash
#
# replot.sh: draw again every figure of the committed reference results
# (results/reference/*/, each a suite directory) with `shmbench plot`, from
# their result files alone, into their own plots/ folders.  The figures
# committed there are exactly what this writes: tests/reference_plots.sh
# checks that it does (every file, byte for byte).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shmbench=${SHMBENCH:-$here/build/shmbench}
[ -x "$shmbench" ] || { echo "replot: $shmbench not built (scripts/setup.sh)" >&2; exit 1; }
# From the repository's root, with the relative path, so that index.html
# names the directory the same way on every checkout.
cd "$here"
n=0
for d in results/reference/*/; do
    [ -f "$d/summary.csv" ] || continue
    "$shmbench" plot "${d%/}"
    n=$((n + 1))
done
[ $n -gt 0 ] || { echo "replot: no suite directory under results/reference/" >&2; exit 1; }
