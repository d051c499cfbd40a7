#!/usr/bin/env bash
#
# setup.sh [BUILDDIR]: everything shmbench needs on a fresh Debian 12, then
# a build.  Idempotent: run it as often as you like.
#
#  1. Debian packages (apt-get; as root, or through sudo): the compiler,
#     cmake, dpkg-dev for `apt-get source`, the libraries of the
#     baseline allocators, google-benchmark for the micro suite
#     (shmbench-micro), sqlite3 (a real program whose allocations the
#     capture test records and replays), gnuplot-nox (`shmbench plot`
#     draws its figures with it), GNU parallel (a suite's runs fanned out
#     with `suite --print-commands`, docs/suites.md), and Debian's
#     nginx-light with its lua module and curl (the tests start a private
#     nginx on 127.0.0.1 to compare shmbench with; the package's own
#     service is kept from starting while it installs).
#  2. nginx 1.22.1's source from Debian's source package (scripts/fetch-nginx.sh),
#     for the `nginx` reference allocator; never committed.
#  3. cmake + build into BUILDDIR (default build/), warnings as errors.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$here/build}
packages=(gcc g++ make cmake dpkg-dev pkg-config libboost-dev libjemalloc-dev libmimalloc-dev
          libbenchmark-dev sqlite3 gnuplot-nox parallel nginx-light libnginx-mod-http-lua curl)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    echo "setup: installing ${missing[*]}" >&2
    $sudo apt-get update -qq
    # No service may start from a package's install script (nginx-light's
    # would listen on port 80): policy-rc.d says no while apt runs.
    guard=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        guard=/usr/sbin/policy-rc.d
        printf '#!/bin/sh\nexit 101\n' | $sudo tee "$guard" >/dev/null
        $sudo chmod +x "$guard"
    fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
    [ -z "$guard" ] || $sudo rm -f "$guard"
fi

nginx_src=$("$here/scripts/fetch-nginx.sh")

cmake -S "$here" -B "$build" -DSHMBENCH_WERROR=ON -DSHMBENCH_NGINX_SRC="$nginx_src" \
      ${SHMBENCH_CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null
echo "setup: built $build/shmbench" >&2
