#!/usr/bin/env bash
#
# fetch-nginx.sh [DESTDIR]: get nginx 1.22.1's source from Debian's source
# package, for the `nginx` reference allocator.
#
# nginx's code is never committed to shmbench: it is a build-time dependency.
# This script runs as root on Debian 12 (as CI does).  It makes sure apt has a
# deb-src entry for the system's own Debian archives (derived from the
# existing `deb` entries: same URIs, suites, components and keys; no other
# host is named here), installs dpkg-dev if missing, runs `apt-get source
# nginx` in a temporary directory and moves the unpacked tree to DESTDIR
# (default: third_party/nginx-1.22.1 under the repository root).  It then
# checks that the tree is nginx 1.22.1 with src/core/ngx_slab.c, and prints
# DESTDIR on stdout.  Run again, it finds the tree there and does nothing.
#
# Then: cmake -S . -B build -DSHMBENCH_NGINX_SRC=third_party/nginx-1.22.1
set -euo pipefail

want_version=1.22.1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest=${1:-$here/third_party/nginx-$want_version}

die() {
    echo "fetch-nginx: $*" >&2
    exit 1
}

log() {
    echo "fetch-nginx: $*" >&2
}

# Is $1 an nginx tree of the wanted version?  Prints the reason if not.
check_tree() {
    local dir=$1 version
    if [ ! -f "$dir/src/core/ngx_slab.c" ] || [ ! -f "$dir/src/core/ngx_shmtx.c" ]; then
        echo "$dir has no src/core/ngx_slab.c and ngx_shmtx.c"
        return 1
    fi
    version=$(sed -n 's/^#define[[:space:]]\{1,\}NGINX_VERSION[[:space:]]\{1,\}"\([^"]*\)".*/\1/p' \
              "$dir/src/core/nginx.h" 2>/dev/null || true)
    if [ "$version" != "$want_version" ]; then
        echo "$dir is nginx '${version:-unknown}', not $want_version"
        return 1
    fi
    return 0
}

if why=$(check_tree "$dest"); then
    echo "$dest"
    exit 0
fi
if [ -e "$dest" ]; then
    die "$why; remove it or give another DESTDIR"
fi

[ "$(id -u)" -eq 0 ] || die "must run as root (it adds an apt source and may install dpkg-dev)"
command -v apt-get >/dev/null || die "apt-get not found: this script needs Debian (12)"

codename=
if [ -r /etc/os-release ]; then
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
fi
[ -n "$codename" ] || die "cannot tell the Debian release (no VERSION_CODENAME in /etc/os-release)"

src_deb822=/etc/apt/sources.list.d/shmbench-src.sources
src_classic=/etc/apt/sources.list.d/shmbench-src.list

# Print, from deb822 files, every stanza of enabled `deb` entries for this
# release (suite = codename or codename-*) rewritten as `deb-src`; with
# -v has_src=1, print "yes" if an enabled deb-src entry for it exists.
deb822_scan() {
    awk -v codename="$codename" -v mode="$1" '
        function flush(   i, ok, n, s, w, types) {
            if (nf == 0) { return }
            ok = 0
            n = split(suites, s, /[ \t]+/)
            for (i = 1; i <= n; i++) {
                if (s[i] == codename || index(s[i], codename "-") == 1) { ok = 1 }
            }
            if (tolower(enabled) == "no") { ok = 0 }
            if (ok) {
                n = split(typesv, w, /[ \t]+/)
                for (i = 1; i <= n; i++) {
                    if (w[i] == "deb-src") { has_src = 1 }
                    if (w[i] == "deb") { types = 1 }
                }
                if (mode == "emit" && types) {
                    printf "Types: deb-src\n"
                    for (i = 1; i <= nf; i++) { print f[i] }
                    printf "\n"
                }
            }
            nf = 0; suites = ""; typesv = ""; enabled = ""; cur = ""
        }
        /^[ \t]*#/ { next }
        /^[ \t]*$/ { flush(); next }
        /^[ \t]/ {                          # continuation of the last field
            if (cur != "" && cur != "types" && cur != "enabled") { f[++nf] = $0 }
            next
        }
        {
            name = tolower(substr($0, 1, index($0, ":") - 1))
            value = substr($0, index($0, ":") + 1)
            gsub(/^[ \t]+|[ \t]+$/, "", value)
            cur = name
            if (name == "types") { typesv = value; next }
            if (name == "enabled") { enabled = value; next }
            if (name == "suites") { suites = value }
            f[++nf] = $0
        }
        END {
            flush()
            if (mode == "has_src" && has_src) { print "yes" }
        }
    ' "${@:2}"
}

# The same for one-line sources.list files.
classic_scan() {
    awk -v codename="$codename" -v mode="$1" '
        /^[ \t]*(#|$)/ { next }
        {
            line = $0
            type = $1
            # fields: type [ options ] uri suite components...
            rest = line
            sub(/^[ \t]*[^ \t]+[ \t]+/, "", rest)
            opts = ""
            if (substr(rest, 1, 1) == "[") {
                opts = substr(rest, 1, index(rest, "]"))
                rest = substr(rest, index(rest, "]") + 1)
                sub(/^[ \t]+/, "", rest)
            }
            split(rest, w, /[ \t]+/)
            suite = w[2]
            if (suite != codename && index(suite, codename "-") != 1) { next }
            if (type == "deb-src") { has_src = 1 }
            if (type == "deb" && mode == "emit") {
                print "deb-src " (opts != "" ? opts " " : "") rest
            }
        }
        END { if (mode == "has_src" && has_src) { print "yes" } }
    ' "${@:2}"
}

# Our own files are left out of the scans (they are rewritten below).
deb822_files=()
classic_files=()
for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && [ "$f" != "$src_deb822" ] && deb822_files+=("$f")
done
[ -f /etc/apt/sources.list ] && classic_files+=(/etc/apt/sources.list)
for f in /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] && [ "$f" != "$src_classic" ] && classic_files+=("$f")
done

have_src=
if [ ${#deb822_files[@]} -gt 0 ] && [ -n "$(deb822_scan has_src "${deb822_files[@]}")" ]; then
    have_src=yes
fi
if [ ${#classic_files[@]} -gt 0 ] && [ -n "$(classic_scan has_src "${classic_files[@]}")" ]; then
    have_src=yes
fi

if [ -n "$have_src" ]; then
    log "apt already has a deb-src entry for $codename"
else
    new822=
    newclassic=
    if [ ${#deb822_files[@]} -gt 0 ]; then
        new822=$(deb822_scan emit "${deb822_files[@]}")
    fi
    if [ ${#classic_files[@]} -gt 0 ]; then
        newclassic=$(classic_scan emit "${classic_files[@]}")
    fi
    if [ -z "$new822" ] && [ -z "$newclassic" ]; then
        die "no enabled 'deb' entry for $codename in /etc/apt: cannot derive a deb-src entry"
    fi
    if [ -n "$new822" ]; then
        { echo "# Added by shmbench scripts/fetch-nginx.sh: sources of the deb entries above."
          printf '%s\n' "$new822"; } >"$src_deb822"
        log "added $src_deb822"
    fi
    if [ -n "$newclassic" ]; then
        { echo "# Added by shmbench scripts/fetch-nginx.sh: sources of the deb entries."
          printf '%s\n' "$newclassic"; } >"$src_classic"
        log "added $src_classic"
    fi
fi

export DEBIAN_FRONTEND=noninteractive
log "apt-get update"
apt-get update -qq >&2 || die "apt-get update failed"

if ! command -v dpkg-source >/dev/null; then
    log "installing dpkg-dev (for dpkg-source)"
    apt-get install -y -qq --no-install-recommends dpkg-dev >&2 || die "cannot install dpkg-dev"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/fetch-nginx.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Every source version apt knows, newest first: when the newest one cannot
# be downloaded (a mirror without the security archive's sources), an older
# 1.22.1 revision will do (Debian's patches do not touch the slab or shmtx).
versions=$(apt-cache showsrc nginx 2>/dev/null | sed -n 's/^Version: //p' | sort -urV)
[ -n "$versions" ] || die "apt knows no source package nginx (is the deb-src entry right?)"
got=
for v in $versions; do
    case $v in
    "$want_version"-*) ;;
    *) log "skipping nginx source $v (not $want_version)"; continue ;;
    esac
    log "apt-get source nginx=$v (in $work)"
    rm -rf "${work:?}"/*
    if (cd "$work" && apt-get source -qq -o APT::Sandbox::User=root "nginx=$v" >&2); then
        got=$v
        break
    fi
    log "nginx source $v could not be fetched; trying an older one"
done
[ -n "$got" ] || die "apt-get source nginx failed for every $want_version version apt knows ($(echo $versions))"

tree=
for d in "$work"/nginx-*/; do
    [ -d "$d" ] && tree=${d%/}
done
[ -n "$tree" ] || die "apt-get source unpacked no nginx-* directory"
if ! why=$(check_tree "$tree"); then
    die "the source package is not what shmbench needs: $why"
fi

mkdir -p "$(dirname "$dest")"
mv "$tree" "$dest" || die "cannot move the tree to $dest"
why=$(check_tree "$dest") || die "$why"
log "nginx $want_version source is in $dest"
echo "$dest"
