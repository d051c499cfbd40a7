#!/usr/bin/env bash
#
# test.sh: set up (scripts/setup.sh), then run the whole test suite twice:
# once in build/ and once under AddressSanitizer + UndefinedBehaviorSanitizer
# in build-asan/.  Exit status 0 only if both pass.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=$(nproc)

"$here/scripts/setup.sh" "$here/build"
echo "== tests (build/)"
(cd "$here/build" && ctest --output-on-failure -j "$jobs")

SHMBENCH_CMAKE_ARGS="-DSHMBENCH_SANITIZE=address,undefined" \
    "$here/scripts/setup.sh" "$here/build-asan"
echo "== tests under address,undefined sanitizers (build-asan/)"
(cd "$here/build-asan" && ctest --output-on-failure -j "$jobs")
