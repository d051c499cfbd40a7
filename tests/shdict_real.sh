#!/bin/sh
# shdict_real.sh: `shmbench shdict` proven against Debian's nginx, and the
# simulator's own command line.
#
#   sh shdict_real.sh SHMBENCH real   every tests/shdict/*.script run through
#                                     a real lua_shared_dict (nginx-light
#                                     1.22.1, libnginx-mod-http-lua 0.10.23,
#                                     tests/shdict_runner.lua) and through
#                                     `shmbench shdict --alloc slab` and
#                                     `--alloc nginx`: the outputs must be
#                                     identical, line for line
#   sh shdict_real.sh SHMBENCH sim    no nginx: malformed scripts (FILE:LINE,
#                                     exit 1, nothing on stdout), usage
#                                     errors, and a small script whose every
#                                     line is derived here, free_space and
#                                     keys included
#
# In the real part, each script gets a fresh dict of its own, d1, d2, ...,
# of the size its `# zone-size SIZE` line says (1m without one), and the
# simulator gets the same name (the module allocates a log-context string
# that holds it) and size.  One request runs one script, in one worker.
# Without nginx, its lua module or curl the part is skipped (exit 77).
set -u
SHMBENCH=$1
PART=$2
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/shdict_real.XXXXXX")
trap 'rm -rf "$T"' EXIT
# a signal (ctest's timeout, a closed pipe) becomes an exit, so that the
# EXIT trap, which nginx_real_start extends to stop nginx, runs
trap 'exit 1' HUP INT PIPE TERM
. "$HERE/cli_lib.sh"
. "$HERE/nginx_real.sh"

# The `# zone-size SIZE` of a script, 1m if none.
zone_size() {
    z=$(sed -n 's/^# zone-size \([0-9]*[kKmMgG]\{0,1\}\)[[:space:]]*$/\1/p' "$1" | head -n 1)
    echo "${z:-1m}"
}

# same NAME WHAT GOT WANT: the two files are identical, or one failure
# with the first lines that differ.
same() {
    checks=$((checks + 1))
    if ! cmp -s "$3" "$4"; then
        fail "$1: $2 differs from nginx's output ($(wc -l < "$3") lines, nginx $(wc -l < "$4")); first differences (< $2, > nginx):"
        diff "$3" "$4" | head -n 12 >&2
        return 1
    fi
    return 0
}

real_part() {
    if ! nginx_real_have; then
        echo "skip shdict_real: nginx ($NGINX_BIN), its lua module ($NGINX_MODULES) or curl is not installed (scripts/setup.sh installs nginx-light, libnginx-mod-http-lua and curl)"
        exit 77
    fi
    have_nginx=0
    "$SHMBENCH" list | grep -q '^nginx ' && have_nginx=1
    dicts=""
    n=0
    for s in "$HERE"/shdict/*.script; do
        n=$((n + 1))
        dicts="$dicts lua_shared_dict d$n $(zone_size "$s");"
    done
    nginx_real_start 1 "client_max_body_size 64m; client_body_buffer_size 64m;$dicts" \
        "location = /run { content_by_lua_file $HERE/shdict_runner.lua; }" || exit 1
    n=0
    for s in "$HERE"/shdict/*.script; do
        n=$((n + 1))
        name=$(basename "$s" .script)
        z=$(zone_size "$s")
        checks=$((checks + 1))
        if ! curl -sS --fail -H 'Content-Type: text/plain' --data-binary "@$s" \
                "$NGINX_URL/run?dict=d$n" > "$T/$name.real" 2> "$T/curl.err"; then
            fail "$name: nginx did not run it: $(cat "$T/curl.err")"
            tail -n 5 "$NGINX_PREFIX/logs/error.log" >&2
            continue
        fi
        ok=1
        checks=$((checks + 1))
        cmds=$(grep -c -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$s")
        if [ "$(wc -l < "$T/$name.real")" != "$cmds" ]; then
            fail "$name: nginx printed $(wc -l < "$T/$name.real") lines for $cmds commands"
            ok=0
        fi
        for a in slab nginx; do
            [ $a = nginx ] && [ $have_nginx = 0 ] && continue
            checks=$((checks + 1))
            if ! "$SHMBENCH" shdict "$s" --alloc $a --zone-size "$z" --name "d$n" \
                    > "$T/$name.$a" 2> "$T/err"; then
                fail "$name: shmbench shdict --alloc $a failed: $(cat "$T/err")"
                ok=0
                continue
            fi
            same "$name" "--alloc $a" "$T/$name.$a" "$T/$name.real" || ok=0
        done
        [ $ok = 1 ] && echo "$name: $(wc -l < "$T/$name.real") lines identical" \
            "(nginx, shmbench slab$([ $have_nginx = 1 ] && echo ', shmbench nginx'))"
    done
    [ $have_nginx = 1 ] || echo "note: this build has no nginx allocator: compared with slab only"
}

# bad LINE MESSAGE: a script of two good lines, a comment, a blank line
# and LINE (line 5) fails with "FILE:5: MESSAGE", exit 1, no output.
bad() {
    printf 'set a 10\nget a\n# a comment\n\n%s\nget a\n' "$1" > "$T/bad.script"
    expect 1 "shmbench: $T/bad.script:5: $2" "$SHMBENCH" shdict "$T/bad.script"
}

sim_errors() {
    S=$SHMBENCH
    known="(known: set, safe_set, add, safe_add, replace, incr, get, delete, lpush, rpush, lpop, rpop, flush_all, flush_expired, sleep)"
    bad "frob a" "unknown command 'frob' $known"
    bad "SET a 1" "unknown command 'SET' $known"
    bad "set a" "set takes KEY VLEN [EXPTIME], not 1 argument"
    bad "set a 1 2 3" "set takes KEY VLEN [EXPTIME], not 4 arguments"
    bad "get" "get takes KEY, not 0 arguments"
    bad "lpush l 1 2" "lpush takes KEY VLEN, not 3 arguments"
    bad "flush_all now" "flush_all takes no arguments, not 1 argument"
    bad "sleep" "sleep takes SECONDS, not 0 arguments"
    bad "set a -1" "set: bad VLEN '-1' (a byte count, 0 to 1073741824)"
    bad "safe_add a 1x" "safe_add: bad VLEN '1x' (a byte count, 0 to 1073741824)"
    bad "rpush a 1073741825" "rpush: bad VLEN '1073741825' (a byte count, 0 to 1073741824)"
    secs="(seconds, as digits with an optional fraction, at most 1000000000)"
    bad "add a 1 -1" "add: bad EXPTIME '-1' $secs"
    bad "replace a 1 .5" "replace: bad EXPTIME '.5' $secs"
    bad "set a 1 1." "set: bad EXPTIME '1.' $secs"
    bad "set a 1 1e3" "set: bad EXPTIME '1e3' $secs"
    bad "incr n 1.5" "incr: bad DELTA '1.5' (an integer of magnitude at most 2^53)"
    bad "incr n 9007199254740993" "incr: bad DELTA '9007199254740993' (an integer of magnitude at most 2^53)"
    bad "incr n 1 +2" "incr: bad INIT '+2' (an integer of magnitude at most 2^53)"
    bad "flush_expired -1" "flush_expired: bad MAX '-1' (a count, 0 to 2147483647; 0: all)"
    bad "sleep 0x10" "sleep: bad SECONDS '0x10' (digits with an optional fraction, at most 1000000000)"
    bad "sleep 1000000001" "sleep: bad SECONDS '1000000001' (digits with an optional fraction, at most 1000000000)"
    printf 'set a 1\nget a\0b\n' > "$T/nul.script"
    expect 1 "shmbench: $T/nul.script:2: a NUL byte in the line" "$S" shdict "$T/nul.script"
    awk 'BEGIN { printf "get "; for (i = 0; i < 65536; i++) printf "k"; print "" }' > "$T/long.script"
    expect 1 "shmbench: $T/long.script:1: get: the key has 65536 bytes, more than the 65535 a dict takes" \
        "$S" shdict "$T/long.script"
    expect 1 "shmbench: $T/none.script: No such file or directory" "$S" shdict "$T/none.script"

    printf 'get a\n' > "$T/one.script"
    expect 2 "shmbench: shdict needs a SCRIPT file (see 'shmbench shdict --help')" "$S" shdict
    expect 2 "shmbench: unknown option '--zone' for shdict (see 'shmbench shdict --help')" \
        "$S" shdict "$T/one.script" --zone anon
    expect 2 "shmbench: unexpected argument 'two' for shdict (see 'shmbench shdict --help')" \
        "$S" shdict "$T/one.script" two
    expect 2 "shmbench: --name takes a dict name of 1 to 255 bytes (see 'shmbench shdict --help')" \
        "$S" shdict "$T/one.script" --name ''
    expect 2 "shmbench: bad number 'lots' for --zone-size (see 'shmbench shdict --help')" \
        "$S" shdict "$T/one.script" --zone-size lots
    expect 1 "shmbench: shdict: a dict lives in its zone, and \"glibc\" keeps its blocks in a private heap (see 'shmbench list')" \
        "$S" shdict "$T/one.script" --alloc glibc
    expect 1 "shmbench: shdict: a zone of 8192 bytes on \"slab\" cannot hold the dict: shdict_init(): no memory for the 29-byte log context of lua_shared_dict \"d\"" \
        "$S" shdict "$T/one.script" --zone-size 8k
    for h in "shdict --help" "help shdict"; do
        checks=$((checks + 1))
        # shellcheck disable=SC2086
        if ! "$S" $h > "$T/out" 2> "$T/err" || [ -s "$T/err" ] \
            || [ "$(head -n 1 "$T/out")" != "usage: shmbench shdict SCRIPT [--alloc NAME] [--zone-size SIZE] [--name NAME]" ]
        then
            fail "'shmbench $h' does not print the usage: $(head -n 2 "$T/out" "$T/err")"
        fi
    done
}

# A script whose every line is derived from the module's sizes on the slab
# (docs/shdict.md): a fresh 1 MiB dict has 252 free pages (1032192 bytes);
# an item takes 68 + K + V bytes.
#   a: 79 bytes, a 128-byte chunk in the header's page (252 pages stay
#   free); b: 3069 bytes, one page (251); c: 5069, two pages (249); get
#   finds its 5000 bytes; the same length again is stored in place; 100
#   bytes free the two pages first (251) and take a 256-byte chunk of a new
#   page (250); delete b gives its page back (251); incr with init makes a
#   77-byte number, 5 + 10, then adds -20; lpush: a head of
#   align8(84 + 1) = 88 bytes (a 128-byte chunk) and a 1021-byte element
#   (a 1024-byte chunk of a new page: 250); rpop frees both (251); t expires
#   while the clock sleeps: the live keys drop to 3 and flush_expired frees
#   it; flush_all frees the LRU tail and two more, a, c and n, c's 256-byte
#   page goes back (252), and nothing is live after.
sim_derived() {
    printf '%s\n' '# each line is derived in tests/shdict_real.sh' 'set a 10' '' \
        'set b 3000' 'set c 5000' 'get c' 'set c 5000' 'set c 100' 'delete b' \
        'incr n 5 10' 'incr n -20' 'lpush l 1000' 'rpop l' 'set t 10 0.5' 'sleep 1' \
        'flush_expired' 'flush_all' 'get a' > "$T/derived.script"
    line() {
        printf '{"line":%s,"op":"%s","key":%s,"ok":true,"err":null,"forcible":false,"free_space":%s,"keys":%s%s}\n' \
            "$1" "$2" "$3" "$4" "$5" "${6:-}"
    }
    {
        line 2 set '"a"' 1032192 1
        line 4 set '"b"' 1028096 2
        line 5 set '"c"' 1019904 3
        line 6 get '"c"' 1019904 3 ',"found":true,"vlen":5000'
        line 7 set '"c"' 1019904 3
        line 8 set '"c"' 1024000 3
        line 9 delete '"b"' 1028096 2
        line 10 incr '"n"' 1028096 3 ',"value":15'
        line 11 incr '"n"' 1028096 3 ',"value":-5'
        line 12 lpush '"l"' 1024000 4 ',"len":1'
        line 13 rpop '"l"' 1028096 3 ',"found":true,"vlen":1000'
        line 14 set '"t"' 1028096 4
        line 15 sleep null 1028096 3
        line 16 flush_expired null 1028096 3 ',"flushed":1'
        line 17 flush_all null 1032192 0
        line 18 get '"a"' 1032192 0 ',"found":false,"vlen":null'
    } > "$T/derived.want"
    checks=$((checks + 1))
    if ! "$SHMBENCH" shdict "$T/derived.script" > "$T/derived.got" 2> "$T/err"; then
        fail "derived.script: $(cat "$T/err")"
    elif ! cmp -s "$T/derived.got" "$T/derived.want"; then
        fail "derived.script: the output is not the derived one (< got, > want):"
        diff "$T/derived.got" "$T/derived.want" | head -n 12 >&2
    fi
    checks=$((checks + 1))
    printf 'set a 10\nget a\n' | "$SHMBENCH" shdict - > "$T/stdin.got" 2> "$T/err"
    if [ "$(wc -l < "$T/stdin.got")" != 2 ] \
        || ! tail -n 1 "$T/stdin.got" | grep -q '^{"line":2,"op":"get",.*"found":true,"vlen":10}$'
    then
        fail "a script on stdin: $(cat "$T/stdin.got" "$T/err")"
    fi
}

# Every script of tests/shdict on the other allocators: it runs to the
# end, one line per command, and the dict and the zone pass their checks
# at the end (the command fails otherwise), or the zone is too small for
# the allocator and the dict, which the command says before any output.
sim_others() {
    for s in "$HERE"/shdict/*.script; do
        z=$(zone_size "$s")
        n=$(grep -c -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$s")
        for a in tlsf freelist lfslab boost-rbtree; do
            "$SHMBENCH" list | grep -q "^$a " || continue
            checks=$((checks + 1))
            if ! "$SHMBENCH" shdict "$s" --alloc $a --zone-size "$z" > "$T/out" 2> "$T/err"; then
                # a zone too small for the allocator's own structures is
                # its geometry, said as such (tiny's 12k on lfslab)
                grep -q -e 'cannot hold the dict' -e 'is too small for' "$T/err" \
                    && [ ! -s "$T/out" ] && continue
                fail "$(basename "$s") on $a: $(cat "$T/err")"
            elif [ "$(wc -l < "$T/out")" != "$n" ]; then
                fail "$(basename "$s") on $a: $(wc -l < "$T/out") lines for $n commands"
            fi
        done
    done
}

sim_part() {
    sim_errors
    sim_derived
    sim_others
}

case "$PART" in
real) real_part ;;
sim) sim_part ;;
*) echo "usage: shdict_real.sh SHMBENCH real|sim" >&2; exit 2 ;;
esac
echo "shdict_real $PART: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
