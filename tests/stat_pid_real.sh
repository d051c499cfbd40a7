#!/bin/sh
# stat_pid_real.sh SHMBENCH
#
# `shmbench stat --pid` against Debian's own nginx (tests/nginx_real.sh): a
# private nginx with two workers, two lua dicts (d1: 1 MiB, d2: 2 MiB) and
# a limit_req zone (lr: 1 MiB), and lua locations that fill the dicts with
# known keys and report free_space() and #get_keys(0):
#   zones    stat --pid of the master and of a worker finds d1, d2 and lr
#            by name, with their features and sizes
#   pages    after the fills, free pages * 4096 is the free_space() the lua
#            side reports, for both dicts (text and JSON)
#   slots    an item of key K and value V bytes is one chunk of 68 + K + V
#            bytes (docs/shdict.md): 500 items of 6 + 100 bytes are 500
#            used chunks of slot 256 (the dict's own blocks are in 32 and
#            128); 300 items of 6 + 20 bytes are 300 more in slot 128 of
#            d2, whose own header is there too; a limit_req node is 80 + K
#            bytes: N distinct keys are N more used chunks of slot 128
#   churn    50 stat --pid while a request loop sets and deletes keys of
#            all sizes in d1: no zone is ever said corrupt; "changed while
#            reading" (retries exhausted) is counted, and must stay rare
#   lock     --lock as root: every zone read under its lock, also while
#            the churn runs, and nginx serves requests after it
#   json     --format json parses (python3; skipped without it) and has
#            NGINX Plus's pages/slots fields and ours
#   watch    --watch 1 prints again; it ends with status 1 when nginx goes
#   errors   a pid that is not nginx, a dead pid, a pid whose memory may not
#            be read (as nobody, with setpriv), bad options
# Skips (77) if nginx with the lua module, or curl, is not installed, or if
# this user may not read nginx's memory.
set -u
B=$1
T=$(mktemp -d "${TMPDIR:-/tmp}/stat_pid_real.XXXXXX") || exit 1
. "$(dirname "$0")/nginx_real.sh"
. "$(dirname "$0")/cli_lib.sh"

if ! nginx_real_have; then
    echo "skip: Debian's nginx with libnginx-mod-http-lua, or curl, is not installed"
    rm -rf "$T"
    exit 77
fi

CHURN=""
SLEEPER=""
# nginx_real_start's EXIT trap stops nginx and removes $T; ours ends the
# request loop and the helper first.
cleanup() {
    [ -n "$CHURN" ] && kill "$CHURN" 2> /dev/null
    [ -n "$SLEEPER" ] && kill "$SLEEPER" 2> /dev/null
    wait
    nginx_real_stop
    rm -rf "$T"
}

HTTP='lua_shared_dict d1 1m;
    lua_shared_dict d2 2m;
    limit_req_zone $arg_k zone=lr:1m rate=100r/s;'
SERVER='location /fill {
            content_by_lua_block {
                local d = ngx.shared[ngx.var.arg_d]
                local n, vlen = tonumber(ngx.var.arg_n), tonumber(ngx.var.arg_vlen)
                local v, fails = string.rep("v", vlen), 0
                for i = 1, n do
                    local ok, err, forcible = d:set(string.format("k%05d", i), v)
                    if not ok or forcible then fails = fails + 1 end
                end
                ngx.say(fails, " ", d:free_space(), " ", #d:get_keys(0))
            }
        }
        location /info {
            content_by_lua_block {
                local d = ngx.shared[ngx.var.arg_d]
                ngx.say(d:free_space(), " ", #d:get_keys(0))
            }
        }
        location /churn {
            content_by_lua_block {
                local d = ngx.shared.d1
                for i = 1, tonumber(ngx.var.arg_n) do
                    local k = "c" .. math.random(1, 400)
                    if math.random() < 0.6 then
                        d:set(k, string.rep("c", math.random(1, 5000)))
                    else
                        d:delete(k)
                    end
                end
                ngx.say("ok")
            }
        }
        location /calc {
            content_by_lua_block {
                local d = ngx.shared.d1
                d:flush_all()
                d:flush_expired(0)
                local v, n = string.rep("v", 100), 0
                while true do
                    local ok, err = d:safe_set(string.format("k%05d", n + 1), v)
                    if not ok then break end
                    n = n + 1
                end
                -- items of 68 + 6 + 100 bytes: 16 to a page of slot 256, in
                -- key order; free the pages of every other 16 keys
                for i = 1, n do
                    if math.floor((i - 1) / 16) % 2 == 0 then
                        d:delete(string.format("k%05d", i))
                    end
                end
                local ok, err = d:safe_set("big", string.rep("b", 5000))
                ngx.say(n, " ", d:free_space(), " ", tostring(ok), " ", tostring(err))
            }
        }
        location /lr {
            limit_req zone=lr burst=1000 nodelay;
            content_by_lua_block { ngx.say("ok") }
        }'

nginx_real_start 2 "$HTTP" "$SERVER" || exit 1
trap cleanup EXIT
trap 'exit 1' INT TERM
M=$NGINX_PID
# A worker: a process whose parent is the master.
W=""
for d in /proc/[0-9]*; do
    if [ "$(awk '{print $4}' "$d/stat" 2> /dev/null)" = "$M" ]; then
        W=${d#/proc/}
        break
    fi
done
[ -n "$W" ] || { echo "FAIL: no worker of nginx $M found" >&2; exit 1; }

# field FILE ZONE PREFIX N: the Nth word of the line starting with PREFIX in
# ZONE's part of a text print (from "* shared memory: ZONE" to "read:").
field() {
    awk -v z="* shared memory: $2" -v p="$3" -v n="$4" '
        $0 == z { on = 1; next }
        on && index($0, p) == 1 { print $n; exit }
        on && /^read:/ { on = 0 }' "$1"
}

# slot_used FILE ZONE SIZE: the used count of slot SIZE.
slot_used() {
    awk -v z="* shared memory: $2" -v s="$3(Bytes)" '
        $0 == z { on = 1; next }
        on && $1 == "slot:" && $2 == s { print $6; exit }
        on && /^read:/ { on = 0 }' "$1"
}

# --- zones -----------------------------------------------------------------
# Not root where Yama lets no one read a process that is not its child:
# nothing here can be checked.
if ! "$B" stat --pid "$M" > /dev/null 2> "$T/p.err" && grep -q "cannot read the memory" "$T/p.err"; then
    echo "skip: $(cat "$T/p.err")"
    exit 77
fi
for pid in "$M" "$W"; do
    checks=$((checks + 1))
    if ! "$B" stat --pid "$pid" > "$T/z.txt" 2> "$T/z.err"; then
        fail "stat --pid $pid: $(cat "$T/z.err")"
        continue
    fi
    for want in 'lua_shared_dict "d1", 1048576 bytes' 'lua_shared_dict "d2", 2097152 bytes' \
                'limit_req "lr", 1048576 bytes'; do
        grep -q "^zone: $want at 0x" "$T/z.txt" || fail "stat --pid $pid: no '$want'"
    done
    head -1 "$T/z.txt" | grep -q "^# nginx pid $pid: .*nginx/1\.22\.1, 3 slab zones$" \
        || fail "stat --pid $pid: head line: $(head -1 "$T/z.txt")"
done

# --- pages and slots -------------------------------------------------------
fill1=$(curl -s "$NGINX_URL/fill?d=d1&n=500&vlen=100")
fill2=$(curl -s "$NGINX_URL/fill?d=d2&n=300&vlen=20")
curl -s -o /dev/null "$NGINX_URL/lr?k=[1-200]"
[ "${fill1%% *}" = 0 ] && [ "${fill2%% *}" = 0 ] || fail "fills failed: $fill1 / $fill2"
"$B" stat --pid "$W" > "$T/f.txt" 2> "$T/f.err" || fail "stat after the fills: $(cat "$T/f.err")"
for dk in "d1 $fill1" "d2 $fill2"; do
    set -- $dk
    z=$1 lua_free=$3 keys=$4
    checks=$((checks + 1))
    free=$(field "$T/f.txt" "$z" "data pages:" 6)
    space=$(field "$T/f.txt" "$z" "free_space:" 2)
    if [ "$((free * 4096))" != "$lua_free" ] || [ "$space" != "$lua_free" ]; then
        fail "$z: free pages $free (free_space $space), lua's free_space() is $lua_free"
    fi
    echo "$z: $keys keys, $free free pages, free_space() $lua_free"
done
checks=$((checks + 1))
u1=$(slot_used "$T/f.txt" d1 256)
u2=$(slot_used "$T/f.txt" d2 128)
ul=$(slot_used "$T/f.txt" lr 128)
[ "$u1" = 500 ] || fail "d1: slot 256 has $u1 used chunks, want the 500 items"
[ "$u2" = 301 ] || fail "d2: slot 128 has $u2 used chunks, want 300 items + the dict's header"
[ "$ul" = 201 ] || fail "lr: slot 128 has $ul used chunks, want 200 nodes + the zone's header"
echo "slots: d1 256: $u1, d2 128: $u2, lr 128: $ul"

# --- json ------------------------------------------------------------------
if command -v python3 > /dev/null 2>&1; then
    checks=$((checks + 1))
    "$B" stat --pid "$M" --format json > "$T/j.json" 2> "$T/j.err" \
        || fail "stat --format json: $(cat "$T/j.err")"
    python3 - "$T/j.json" "$(curl -s "$NGINX_URL/info?d=d1")" << 'PY' || fail "the JSON print: see above"
import json, sys
j = json.load(open(sys.argv[1]))
lua_free = int(sys.argv[2].split()[0])
assert sorted(j) == ["d1", "d2", "lr"], sorted(j)
d1 = j["d1"]
assert d1["feature"] == "lua_shared_dict" and d1["size"] == 1048576, d1
assert d1["pages"]["free"] * 4096 == d1["free_space"] == lua_free, (d1["pages"], lua_free)
assert d1["pages"]["used"] + d1["pages"]["free"] == d1["data_pages"]
assert d1["slots"]["256"]["used"] == 500 and set(d1["slots"]["8"]) == {"used", "free", "reqs", "fails"}
assert j["lr"]["slots"]["128"]["used"] == 201 and j["lr"]["feature"] == "limit_req"
assert d1["largest_free_run"]["bytes"] == 4096 * d1["largest_free_run"]["pages"]
assert d1["read"]["locked"] is False
PY
else
    echo "skip: json: no python3"
fi

# --- churn -----------------------------------------------------------------
( while :; do curl -s -o /dev/null "$NGINX_URL/churn?n=300"; done ) &
CHURN=$!
sleep 0.5
corrupt=0 changed=0 ok=0 other=0 retried=0
i=0
while [ $i -lt 50 ]; do
    i=$((i + 1))
    if "$B" stat --pid "$W" > "$T/c.txt" 2> "$T/c.err"; then
        ok=$((ok + 1))
        # zones that needed more than one copy
        retried=$((retried + $(grep -c "^read: without the lock: consistent at copy [2-9]" "$T/c.txt")
                   + $(grep -c "^read: without the lock: consistent at copy [1-9][0-9]" "$T/c.txt")))
    elif grep -q "corrupt" "$T/c.err"; then
        corrupt=$((corrupt + 1))
        cat "$T/c.err" >&2
    elif grep -q "changed while reading" "$T/c.err"; then
        changed=$((changed + 1))
    else
        other=$((other + 1))
        cat "$T/c.err" >&2
    fi
done
checks=$((checks + 1))
echo "churn: 50 stat --pid: $ok consistent ($retried zone copies needed a retry), $changed changed while reading, $corrupt corrupt"
[ "$corrupt" = 0 ] && [ "$other" = 0 ] || fail "churn: $corrupt corrupt, $other failed otherwise"
[ "$changed" -le 5 ] || fail "churn: $changed of 50 never settled in 20 tries"

# --- lock ------------------------------------------------------------------
if [ "$(id -u)" = 0 ]; then
    checks=$((checks + 1))
    i=0
    while [ $i -lt 10 ]; do
        i=$((i + 1))
        "$B" stat --pid "$W" --lock > "$T/l.txt" 2> "$T/l.err" \
            || { fail "stat --lock while churning: $(cat "$T/l.err")"; break; }
        [ "$(grep -c "^read: under the zone's lock" "$T/l.txt")" = 3 ] \
            || { fail "stat --lock: not every zone read under its lock"; break; }
    done
    echo "lock: $(grep "^read:" "$T/l.txt" | head -1)"
    # Interrupted at any moment, stat never leaves a lock held: afterwards
    # every zone still serves (a lock left held would hang its workers).
    i=0
    while [ $i -lt 20 ]; do
        i=$((i + 1))
        "$B" stat --pid "$W" --lock --watch 1 > /dev/null 2>&1 &
        S=$!
        sleep "0.0$((i % 10))"
        kill -TERM "$S" 2> /dev/null    # (a background job ignores SIGINT)
        { wait "$S"; } 2> /dev/null
    done
    checks=$((checks + 1))
    for u in "info?d=d1" "info?d=d2" "lr?k=after"; do
        curl -s -m 5 -o /dev/null -w '%{http_code}' "$NGINX_URL/$u" | grep -qx 200 \
            || fail "after 20 interrupted stat --lock, /$u does not answer"
    done
else
    echo "skip: lock: not root"
fi
kill "$CHURN" 2> /dev/null
wait "$CHURN" 2> /dev/null
CHURN=""
checks=$((checks + 1))
curl -s -m 5 "$NGINX_URL/info?d=d1" | grep -q '^[0-9]* [0-9]*$' || fail "nginx does not serve after stat --lock"

# --- calcification: free_space() > 0, and yet "no memory" ----------------
# d1 filled with 100-byte values by safe_set until "no memory", then every
# other page of items deleted: half the pages are free, none next to
# another, so a 5000-byte value (a run of two pages) finds no room.
calc=$(curl -s "$NGINX_URL/calc")
set -- $calc
checks=$((checks + 1))
"$B" stat --pid "$W" > "$T/k.txt" 2> "$T/k.err" || fail "stat after /calc: $(cat "$T/k.err")"
free=$(field "$T/k.txt" d1 "data pages:" 6)
run=$(field "$T/k.txt" d1 "largest free run:" 4)
if [ "$3 $4 $5" != "false no memory" ] || [ "$2" -le 0 ] || [ "$((free * 4096))" != "$2" ] \
   || [ "$run" != 1 ]; then
    fail "calcification: /calc said '$calc'; stat: $free free pages, largest run $run pages"
fi
echo "calcification: $1 items, free_space() $2 with $free free pages, largest free run $run page: safe_set of 5000 bytes: $4 $5"

# --- errors ----------------------------------------------------------------
sleep 30 &
SLEEPER=$!
expect 1 "shmbench: stat --pid $SLEEPER: not an nginx with slab zones: none of its 0 shared mappings starts with a slab pool header (its program is $(readlink -f "$(command -v sleep)"))" \
    "$B" stat --pid "$SLEEPER"
sh -c 'exit 0' &
DEAD=$!
wait "$DEAD"
expect 1 "shmbench: stat --pid $DEAD: no such process" "$B" stat --pid "$DEAD"
if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null 2>&1 \
   && setpriv --reuid=65534 --regid=65534 --clear-groups "$B" --help > /dev/null 2>&1; then
    expect 1 "shmbench: stat --pid $M: cannot read the memory of pid $M: Permission denied (run as root or as the user nginx's workers run as; /proc/sys/kernel/yama/ptrace_scope is $(cat /proc/sys/kernel/yama/ptrace_scope 2> /dev/null || echo 'not set: no Yama'))" \
        setpriv --reuid=65534 --regid=65534 --clear-groups "$B" stat --pid "$M"
else
    echo "skip: permission: not root, or no setpriv"
fi
expect 2 "shmbench: bad number 'x' for --pid (see 'shmbench stat --help')" "$B" stat --pid x
expect 2 "shmbench: --pid reads a running nginx: a zone NAME does not go with it (see 'shmbench stat --help')" \
    "$B" stat --pid "$M" /zone
expect 2 "shmbench: --wait bounds the wait for the lock, which only --lock takes (see 'shmbench stat --help')" \
    "$B" stat --pid "$M" --wait 5
expect 2 "shmbench: --tries counts copies without the lock: not with --lock (see 'shmbench stat --help')" \
    "$B" stat --pid "$M" --lock --tries 3
expect 2 "shmbench: --pid reads without the lock unless --lock is given: --no-lock does not go with it (see 'shmbench stat --help')" \
    "$B" stat --pid "$M" --no-lock
expect 2 "shmbench: --watch 0 is out of range (1 to 86400) (see 'shmbench stat --help')" \
    "$B" stat --pid "$M" --watch 0

# --- watch (last: it stops nginx) -------------------------------------------
"$B" stat --pid "$M" --watch 1 > "$T/w.txt" 2> "$T/w.err" &
WATCH=$!
sleep 2.5
nginx_real_stop
ends_within "$WATCH" 50 "--watch, when nginx stopped,"
rc=$ended
[ "$rc" = 1 ] || fail "--watch ended with status $rc when nginx stopped, want 1"
[ "$(grep -c '^# nginx pid' "$T/w.txt")" -ge 2 ] || fail "--watch 1 printed $(grep -c '^# nginx pid' "$T/w.txt") times in 2.5 s"
grep -q "^shmbench: stat --pid $M: no such process$\|exited while it was read" "$T/w.err" \
    || fail "--watch's end: $(cat "$T/w.err")"

echo "stat_pid_real: $checks checks, $fails failed"
[ "$fails" = 0 ]
