#!/usr/bin/env bash
#
# main.sh: set up (scripts/setup.sh), then shmbench's main job:
#   - list the allocators,
#   - replay every nginx conformance vector on `slab` and on `nginx`
#     (nginx 1.22.1's own code) and compare with what nginx printed,
#   - print the slab_stat table of a zone after a large churn trace,
#   - measure slab (counting on and off) against nginx side by side,
#   - and the baselines beside it, with one and with two processes.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$here/scripts/setup.sh" "$here/build"
shmbench=$here/build/shmbench
vectors=$here/tests/conformance

echo "== allocators"
"$shmbench" list

echo
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
echo "== stat after replaying 13-churn-large.trace on slab"
"$shmbench" stat --after-replay "$vectors/13-churn-large.trace"

echo
echo "== speed: single-process churn, sizes 8-2048, 1000 live blocks"
"$shmbench" bench --alloc slab,slab:nocount,nginx --repeat 5

echo
echo "== the baselines beside the slab (one process; freelist and boost-* are"
echo "   10-30x slower and left out here: add them with --alloc)"
"$shmbench" bench --alloc glibc,jemalloc,slab,nginx,tlsf,lfslab,jemalloc-shm,mimalloc-shm --repeat 3

echo
echo "== two worker processes on one zone: the lock against lock-free"
"$shmbench" bench --alloc slab,lfslab --procs 2 --repeat 3
