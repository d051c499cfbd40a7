#!/bin/sh
# replay_mem.sh SHMBENCH CONFORMANCE_DIR
#
# `shmbench replay --memory` and `--format json` (docs/formats.md):
#   - two hand-made slab traces whose peak, overhead, internal
#     fragmentation, fill and external fragmentation are derived by hand
#     below, checked in the text summary and in the JSON object;
#   - a replay with a failed allocation says so on its first line, one
#     without does not;
#   - on every conformance vector: the JSON object is well formed and has
#     every documented field, the slab's header_bytes + footprint_bytes +
#     pages_free * page_size is its zone, and `nginx` (when built) gives
#     the slab's memory figures, field for field;
#   - every allocator that loads replays a churn with --memory; where its
#     footprint is exact, it is at least what was granted at the peak and
#     the header and data bytes fit in the zone;
#   - jemalloc-shm and mimalloc-shm (when loadable) replay a trace whose
#     live set is a quarter of the zone: one process gets the whole zone;
#   - --memory and --format json refuse --offsets, --format a bad name.
set -u
B=$1
CONF=$2
T=$(mktemp -d "${TMPDIR:-/tmp}/replay_mem.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM

. "$(dirname "$0")/cli_lib.sh"

# has FILE LINE: FILE holds the exact line LINE.
has() {
    checks=$((checks + 1))
    grep -qxF -- "$2" "$1" || fail "$1 lacks the line '$2'; it holds:
$(cat "$1")"
}

# field FILE KEY: the value of "KEY" in the JSON object FILE (one per line).
field() {
    sed -n "s/^  \"$2\": \\(.*\\)\$/\\1/p" "$1" | sed 's/,$//'
}

# is FILE KEY VALUE: the JSON field KEY of FILE is VALUE.
is() {
    checks=$((checks + 1))
    got=$(field "$1" "$2")
    [ "$got" = "$3" ] || fail "$1: \"$2\" is '$got', want '$3'"
}

# json_ok FILE: FILE is one flat JSON object as replay writes it: '{', then
# one "key": value per line (a string with JSON's escapes, a number, true,
# false or null), commas between, '}'; no key twice.  jq checks it as well
# where it is installed.
json_ok() {
    checks=$((checks + 1))
    awk '
        NR == 1 { if ($0 != "{") bad = "first line is not {"; next }
        $0 == "}" { closed = NR; next }
        closed { bad = "text after }"; next }
        {
            line = $0
            if (!match(line, /^  "[a-z_]+": /)) { bad = "bad key at line " NR; next }
            key = substr(line, 4, RLENGTH - 6)
            if (key in seen) bad = "key " key " twice"
            seen[key] = 1
            v = substr(line, RLENGTH + 1)
            comma = (v ~ /,$/)
            if (comma) v = substr(v, 1, length(v) - 1)
            if (v !~ /^("([^"\\\001-\037]|\\["\\\/bfnrt]|\\u[0-9a-f][0-9a-f][0-9a-f][0-9a-f])*"|-?(0|[1-9][0-9]*)(\.[0-9]+)?|true|false|null)$/)
                bad = "bad value for " key ": " v
            last_comma = comma
            n++
        }
        END {
            if (!closed) bad = "no closing }"
            else if (n == 0) bad = "no fields"
            else if (last_comma) bad = "a comma after the last field"
            if (bad != "") { print bad; exit 1 }
        }' "$1" > "$T/why" || fail "$1 is not well-formed JSON: $(cat "$T/why")"
    # every line but the last field's ends in a comma
    if [ "$(grep -c ',$' "$1")" -ne "$(($(wc -l < "$1") - 3))" ]; then
        fail "$1: a field lacks its comma"
    fi
    if command -v jq > /dev/null 2>&1 && ! jq -e . "$1" > /dev/null 2>&1; then
        fail "$1 is refused by jq"
    fi
}

FIELDS="trace allocator zone zone_bytes page_size pages pages_free data_bytes
header_bytes footprint_bytes ops allocs fails frees frees_skipped time_ns ns_per_op
memory_accounting footprint_exact stats_calls peak_footprint_bytes peak_footprint_op
peak_live_bytes peak_granted_bytes live_at_peak_bytes granted_at_peak_bytes
overhead_at_peak internal_frag_at_peak first_failure_op first_failure_line
live_at_first_failure_bytes free_bytes_at_first_failure largest_free_at_first_failure
fill_at_first_failure external_frag_at_first_failure"

# all_fields FILE: FILE has every documented field.
all_fields() {
    for f in $FIELDS; do
        checks=$((checks + 1))
        grep -q "^  \"$f\": " "$1" || fail "$1 lacks the field $f"
    done
}

# --- By hand, slab, 4096-byte pages (the header is the first page) ---------
#
# peak.trace, 8 pages:
#   a 1 100   slot 128: page 0 taken        granted 128   pages in use 1
#   a 2 100   slot 128, page 0              granted 128                1
#   a 3 3000  over 2048: a 1-page run       granted 4096               2
#   a 4 5000  a 2-page run                  granted 8192               4
#   f 3       its page back                                            3
#   a 5 2048  slot 2048: a page taken       granted 2048               4
#   f 4       two pages back                                           2
# peak footprint 4 pages = 16384 bytes, first after op 4; live then
# 100+100+3000+5000 = 8200 (the peak live too: after op 6 it is 7248),
# granted 128+128+4096+8192 = 12544 (the peak granted too: 10496 later).
# overhead at peak 16384 / 8200 = 1.998049; internal fragmentation at peak
# 1 - 8200 / 12544 = 0.346301.  At the end 2 pages in use, 6 free: the
# header 4096 + 8192 + 6 * 4096 = 36864, the zone.
printf 'pages 8\na 1 100\na 2 100\na 3 3000\na 4 5000\nf 3\na 5 2048\nf 4\n' \
    > "$T/peak.trace"
"$B" replay --memory "$T/peak.trace" > "$T/peak.out" 2> "$T/err" \
    || fail "replay --memory peak.trace: $(cat "$T/err")"
checks=$((checks + 1))
head -1 "$T/peak.out" | grep -q '^trace: ' \
    || fail "a replay without failures starts with '$(head -1 "$T/peak.out")'"
has "$T/peak.out" "live: peak 8200 bytes; granted: peak 12544 bytes"
has "$T/peak.out" "footprint: peak 16384 bytes (after op 4), header 4096 bytes"
has "$T/peak.out" "at peak: overhead 1.9980 (peak footprint / peak live), internal fragmentation 34.63% (live 8200 of granted 12544)"
has "$T/peak.out" "pages free: 6"
"$B" replay --memory --format json "$T/peak.trace" > "$T/peak.json" 2> "$T/err" \
    || fail "replay --memory --format json peak.trace: $(cat "$T/err")"
json_ok "$T/peak.json"
all_fields "$T/peak.json"
is "$T/peak.json" peak_footprint_bytes 16384
is "$T/peak.json" peak_footprint_op 4
is "$T/peak.json" peak_live_bytes 8200
is "$T/peak.json" peak_granted_bytes 12544
is "$T/peak.json" overhead_at_peak 1.998049
is "$T/peak.json" internal_frag_at_peak 0.346301
is "$T/peak.json" header_bytes 4096
is "$T/peak.json" footprint_bytes 8192
is "$T/peak.json" zone_bytes 36864
is "$T/peak.json" first_failure_op null
is "$T/peak.json" fill_at_first_failure null
is "$T/peak.json" memory_accounting true
is "$T/peak.json" ns_per_op null

# fail.trace, 4 pages: four 1-page runs, then pages 0 and 2 freed; the
# 2-page request (op 7, line 8) finds 2 free pages but no 2-page run.
# Then: live 2 * 4096 = 8192 of 16384 data bytes, fill 0.5; free 8192,
# largest free 4096, external fragmentation 1 - 4096 / 8192 = 0.5.  The
# peak is the 4 full pages after op 4: overhead 1, internal fragmentation 0.
printf 'pages 4\na 1 4096\na 2 4096\na 3 4096\na 4 4096\nf 1\nf 3\na 5 8192\nf 5\n' \
    > "$T/fail.trace"
"$B" replay --memory "$T/fail.trace" > "$T/fail.out" 2> "$T/err" \
    || fail "replay --memory fail.trace: $(cat "$T/err")"
checks=$((checks + 1))
[ "$(head -1 "$T/fail.out")" = "FAILED: 1 of 5 allocations, the first at $T/fail.trace:8 (op 7)" ] \
    || fail "the first line of a replay with a failure is '$(head -1 "$T/fail.out")'"
has "$T/fail.out" "first failure: op 7 (line 8): fill 50.00% (live 8192 of 16384 data bytes), external fragmentation 50.00% (largest free 4096 of 8192 free bytes)"
has "$T/fail.out" "at peak: overhead 1.0000 (peak footprint / peak live), internal fragmentation 0.00% (live 16384 of granted 16384)"
"$B" replay "$T/fail.trace" > "$T/fail.plain" 2> "$T/err" \
    || fail "replay fail.trace: $(cat "$T/err")"
checks=$((checks + 1))
[ "$(head -1 "$T/fail.plain")" = "$(head -1 "$T/fail.out")" ] \
    || fail "without --memory the first line is '$(head -1 "$T/fail.plain")'"
"$B" replay --memory --format json "$T/fail.trace" > "$T/fail.json" 2> "$T/err" \
    || fail "replay --memory --format json fail.trace: $(cat "$T/err")"
json_ok "$T/fail.json"
is "$T/fail.json" first_failure_op 7
is "$T/fail.json" first_failure_line 8
is "$T/fail.json" fill_at_first_failure 0.500000
is "$T/fail.json" external_frag_at_first_failure 0.500000
is "$T/fail.json" live_at_first_failure_bytes 8192
is "$T/fail.json" fails 1
is "$T/fail.json" frees_skipped 1
"$B" replay --format json "$T/fail.trace" > "$T/fail-plain.json" 2> "$T/err" \
    || fail "replay --format json fail.trace: $(cat "$T/err")"
json_ok "$T/fail-plain.json"
all_fields "$T/fail-plain.json"
is "$T/fail-plain.json" memory_accounting false
is "$T/fail-plain.json" first_failure_op 7
is "$T/fail-plain.json" peak_footprint_bytes null

# --- Every conformance vector -----------------------------------------------
have_nginx=0
"$B" list | grep -q '^nginx ' && have_nginx=1
for trace in "$CONF"/*.trace; do
    name=$(basename "$trace" .trace)
    "$B" replay --memory --format json "$trace" > "$T/$name.json" 2> "$T/err" \
        || { fail "replay --memory --format json $name: $(cat "$T/err")"; continue; }
    json_ok "$T/$name.json"
    all_fields "$T/$name.json"
    is "$T/$name.json" footprint_exact true
    checks=$((checks + 1))
    h=$(field "$T/$name.json" header_bytes)
    fp=$(field "$T/$name.json" footprint_bytes)
    pf=$(field "$T/$name.json" pages_free)
    ps=$(field "$T/$name.json" page_size)
    zb=$(field "$T/$name.json" zone_bytes)
    [ $((h + fp + pf * ps)) -eq "$zb" ] \
        || fail "$name: header $h + footprint $fp + $pf free pages of $ps != zone $zb"
    if [ "$have_nginx" -eq 1 ]; then
        "$B" replay --alloc nginx --memory --format json "$trace" > "$T/$name.nginx" \
            2> "$T/err" || { fail "nginx: replay $name: $(cat "$T/err")"; continue; }
        checks=$((checks + 1))
        grep -v -e '"time_ns"' -e '"allocator"' "$T/$name.json" > "$T/a"
        grep -v -e '"time_ns"' -e '"allocator"' "$T/$name.nginx" > "$T/b"
        cmp -s "$T/a" "$T/b" || fail "$name: slab and nginx differ: $(diff "$T/a" "$T/b")"
    fi
done

# --- Every allocator ----------------------------------------------------------
# A mixed churn over each one that loads: a well-formed object; where the
# footprint is exact, what was reserved for blocks holds what was granted
# (at the peak and at the end) and header + data is within the zone.  The
# trace frees what it left live: a private heap's blocks live at exit would
# be leaks to LeakSanitizer.
awk '$1 == "a" { live[$2] = 1 } $1 == "f" { delete live[$2] } { print }
     END { for (id in live) print "f " id }' "$CONF/11-churn-mixed.trace" > "$T/closed.trace"
for a in $("$B" list | awk '$2 != "-" { print $1 }'); do
    "$B" replay --alloc "$a" --memory --format json "$T/closed.trace" > "$T/$a.json" \
        2> "$T/err" || { fail "$a: replay --memory: $(cat "$T/err")"; continue; }
    json_ok "$T/$a.json"
    [ "$(field "$T/$a.json" footprint_exact)" = true ] || continue
    checks=$((checks + 1))
    pk=$(field "$T/$a.json" peak_footprint_bytes)
    gp=$(field "$T/$a.json" granted_at_peak_bytes)
    fp=$(field "$T/$a.json" footprint_bytes)
    h=$(field "$T/$a.json" header_bytes)
    d=$(field "$T/$a.json" data_bytes)
    zb=$(field "$T/$a.json" zone_bytes)
    [ "$gp" -le "$pk" ] && [ "$fp" -le "$pk" ] && [ "$fp" -le "$d" ] && [ $((h + d)) -le "$zb" ] \
        || fail "$a: granted at peak $gp, peak $pk, footprint $fp, data $d, header $h, zone $zb"
done

# --- One process, the whole zone --------------------------------------------
# 64 blocks of 256 KiB live at once: 16 MiB, a quarter of the default 64 MiB
# zone.  An eighth of it (what 8 slices gave jemalloc-shm) cannot hold them;
# mimalloc-shm refused a 64 MiB zone for 8 workers.
i=1
: > "$T/quarter.trace"
while [ $i -le 64 ]; do echo "a $i 262144" >> "$T/quarter.trace"; i=$((i + 1)); done
i=1
while [ $i -le 64 ]; do echo "f $i" >> "$T/quarter.trace"; i=$((i + 1)); done
for a in jemalloc-shm mimalloc-shm; do
    "$B" list | grep "^$a " | grep -q 'not available' && continue
    "$B" list | grep -q "^$a " || continue
    checks=$((checks + 1))
    if "$B" replay --alloc "$a" --memory "$T/quarter.trace" > "$T/$a.out" 2> "$T/err"; then
        has "$T/$a.out" "allocs: 64 done, 0 failed; frees: 64 done, 0 of failed allocs skipped"
        has "$T/$a.out" "live: peak 16777216 bytes; granted: peak 16777216 bytes"
    else
        fail "$a: a 16 MiB live set in a 64 MiB zone: $(cat "$T/err")"
    fi
done

# --- Usage ------------------------------------------------------------------
for args in "--offsets --memory" "--offsets --format json"; do
    checks=$((checks + 1))
    # shellcheck disable=SC2086
    "$B" replay $args "$T/peak.trace" > "$T/out" 2> "$T/err"
    rc=$?
    [ $rc -eq 2 ] && [ "$(cat "$T/err")" = "shmbench: --offsets prints the conformance format only: it takes neither --memory nor --format json (see 'shmbench replay --help')" ] \
        || fail "replay $args: exit $rc, $(cat "$T/err")"
done
checks=$((checks + 1))
"$B" replay --format xml "$T/peak.trace" > "$T/out" 2> "$T/err"
rc=$?
[ $rc -eq 2 ] && [ "$(cat "$T/err")" = "shmbench: unknown format 'xml' for --format (known: text, json) (see 'shmbench replay --help')" ] \
    || fail "replay --format xml: exit $rc, $(cat "$T/err")"

echo "$checks checks, $fails failed"
[ "$fails" -eq 0 ]
