#!/usr/bin/env bash
#
# coverage.sh [BUILDDIR]: line coverage of alloc/ by the whole test suite.
#
# Configures a coverage build (-DSHMBENCH_COVERAGE=ON: gcc's --coverage at
# -O0, forked children's counts written on _exit) in BUILDDIR (default
# build-cov/), builds it, clears old counts, runs every ctest, then asks gcov
# for each object's line counts and prints, per file of alloc/, the lines
# executed out of the lines gcov calls executable, a subtotal per folder and
# the total for alloc/.
#
# A source compiled into several programs (the substrate into the
# ThreadSanitizer test, lfslab into its hook builds) is counted once: a line
# is executable if it is in any of its objects, executed if any of them ran
# it.  Headers count where gcov reports them (their inline functions); an
# object no test ran counts with all its lines unexecuted.  nginx's own code
# (third_party/) and anything generated in the build tree are not under
# alloc/ and are left out.  Plain gcov only: `gcov -t` prints each file's
# annotated lines, which awk merges (no gcovr or lcov needed).
#
# nginx's source is taken from $SHMBENCH_NGINX_SRC, else from
# third_party/nginx-1.22.1 if it is there; without it the `nginx` allocator
# and its tests are left out of the build and of the figures.  Extra cmake
# arguments: $SHMBENCH_CMAKE_ARGS.  Warnings are not errors in this build:
# -O0 changes what gcc can prove, and this build measures, it does not gate.
#
# Exit status: that of ctest (the table is printed either way), or 1 if the
# build fails.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$here/build-cov}
jobs=$(nproc)

nginx_src=${SHMBENCH_NGINX_SRC:-}
if [ -z "$nginx_src" ] && [ -f "$here/third_party/nginx-1.22.1/src/core/ngx_slab.c" ]; then
    nginx_src=$here/third_party/nginx-1.22.1
fi
if [ -z "$nginx_src" ]; then
    echo "coverage: no nginx source (SHMBENCH_NGINX_SRC): nginx_ref.c and its tests left out" >&2
fi

cmake -S "$here" -B "$build" -DSHMBENCH_COVERAGE=ON -DSHMBENCH_WERROR=OFF \
      -DSHMBENCH_NGINX_SRC="$nginx_src" ${SHMBENCH_CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j "$jobs" >/dev/null

find "$build" -name '*.gcda' -delete
status=0
(cd "$build" && ctest -j "$jobs" --output-on-failure) || status=$?

# gcov writes nothing with -t; it runs in a scratch directory all the same.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

find "$build" -name '*.gcno' -printf '%h\n' | sort -u | while read -r dir; do
    (cd "$scratch" && gcov -t -o "$dir" "$dir"/*.gcno 2>/dev/null) || true
done | awk -v root="$here/alloc/" '
    # "        -:    0:Source:/path/file.c" opens one file of an object.
    $0 ~ /^ *-: *0:Source:/ {
        src = substr($0, index($0, "Source:") + 7)
        keep = index(src, root) == 1
        if (keep) {
            src = "alloc/" substr(src, length(root) + 1)
        }
        next
    }
    # "    COUNT:  LINE:text": COUNT is -, ##### or ===== (not run), or a
    # number (a trailing * marks a line with an unrun block).
    keep && $0 ~ /^ *([-#=]+|[0-9]+\*?): *[0-9]+:/ {
        split($0, f, ":")
        count = f[1]; gsub(/ /, "", count)
        line = f[2] + 0
        if (count == "-" || line == 0) {
            next
        }
        key = src SUBSEP line
        exe[key] = 1
        if (count !~ /^[#=]+$/) {
            hit[key] = 1
        }
    }
    END {
        for (key in exe) {
            split(key, k, SUBSEP)
            file = k[1]
            total[file]++
            covered[file] += (key in hit)
            n = split(file, parts, "/")
            dir = parts[1]
            for (i = 2; i < n; i++) {
                dir = dir "/" parts[i]
            }
            dtotal[dir "/"]++
            dcovered[dir "/"] += (key in hit)
            all++
            allhit += (key in hit)
        }
        for (file in total) {
            printf "%s\t%d\t%d\n", file, covered[file], total[file]
        }
        for (dir in dtotal) {
            if (dir != "alloc/") {
                printf "%s~\t%d\t%d\n", dir, dcovered[dir], dtotal[dir]
            }
        }
        printf "~total\t%d\t%d\n", allhit, all
    }' | LC_ALL=C sort | awk -F'\t' '
    BEGIN {
        printf "\nLine coverage of alloc/ (gcov):\n"
        printf "  %-36s %7s %7s %7s\n", "file", "lines", "run", "cover"
    }
    {
        name = $1 == "~total" ? "alloc/ (total)" : $1
        sub(/\/~$/, "/ (all)", name)
        if ($1 == "~total") {
            printf "  %-36s %7s %7s %7s\n", "", "-----", "-----", "------"
        }
        printf "  %-36s %7d %7d %6.1f%%\n", name, $3, $2, $3 ? 100.0 * $2 / $3 : 0
    }'

exit "$status"
