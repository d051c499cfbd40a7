#!/bin/sh
# run_compare.sh EXPECTED COMMAND [ARGS...]
#
# Run COMMAND; pass when it exits 0 and its standard output equals the file
# EXPECTED byte for byte (a missing final newline counts).  On a mismatch,
# show the first lines of the difference.
set -u
if [ $# -lt 2 ]; then
    echo "usage: run_compare.sh EXPECTED COMMAND [ARGS...]" >&2
    exit 2
fi
expected=$1
shift
out=$(mktemp "${TMPDIR:-/tmp}/run_compare.XXXXXX") || exit 1
trap 'rm -f "$out"' EXIT

"$@" > "$out"
rc=$?
if [ $rc -ne 0 ]; then
    echo "FAIL: '$*' exited with status $rc" >&2
    exit 1
fi
if ! cmp -s "$expected" "$out"; then
    echo "FAIL: output of '$*' differs from $expected:" >&2
    diff -u "$expected" "$out" | head -40 >&2
    cmp "$expected" "$out" >&2
    exit 1
fi
exit 0
