#!/usr/bin/env bash
#
# main.sh [OUT]: from nothing to figures.  Set up (scripts/setup.sh:
# Debian packages, nginx's source, the build), then shmbench's main job:
#   - check that the slab still gives nginx's own offsets on every
#     conformance vector (slab and nginx's code, against what nginx printed),
#   - run the `quick` suite (bench/suites/quick.suite: every in-zone
#     allocator and the private heaps, a few workloads, 1 and 2 workers,
#     three repeats; under a minute on 2 idle cores) into OUT (default
#     results/suites/main-<UTC time>/, git-ignored),
#   - draw its figures (shmbench plot) and print the summary table and
#     where the figures are.
# docs/suites.md and docs/plots.md say what the files and figures hold.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$here/scripts/setup.sh" "$here/build"
shmbench=$here/build/shmbench
vectors=$here/tests/conformance
out=${1:-$here/results/suites/main-$(date -u +%Y%m%dT%H%M%SZ)}

echo "== conformance: replay --offsets against nginx's own output"
for alloc in slab nginx; do
    pass=0 fail=0
    for t in "$vectors"/*.trace; do
        if "$shmbench" replay --alloc "$alloc" --offsets "$t" | cmp -s - "${t%.trace}.expected"; then
            pass=$((pass + 1))
        else
            fail=$((fail + 1))
            echo "  $alloc: $(basename "$t") differs" >&2
        fi
    done
    echo "$alloc: $pass vectors identical, $fail differ"
done

echo
echo "== the quick suite (progress on stderr), into $out"
mkdir -p "$(dirname "$out")"
"$shmbench" suite quick --out "$out" > "$out.summary.md"
mv "$out.summary.md" "$out/summary.md"

echo
echo "== figures"
"$shmbench" plot "$out"

echo
echo "== summary (medians over 3 repeats, 95% intervals; $out/summary.csv)"
cat "$out/summary.md"
echo
echo "results: $out"
echo "figures: $out/plots/index.html"
