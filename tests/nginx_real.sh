# nginx_real.sh: a private nginx for the tests that compare shmbench with the
# real thing (sourced; the sourcing script sets T, a scratch directory it
# removes, before it calls nginx_real_start).
#
# Debian's own binary (nginx-light or nginx-core, 1.22.1) with Debian's
# lua module (libnginx-mod-http-lua 0.10.23) and its NDK dependency, run as
#     nginx -p $T/nginx -c conf/nginx.conf
# from a configuration written here: its own prefix, pid file and error log,
# `daemon on`, listening on 127.0.0.1 only, on a port that was free.  The
# master is stopped by the PID in its own pid file (QUIT, then KILL after
# 5 s), by nginx_real_stop, which nginx_real_start puts in the EXIT trap, so
# a test that fails or is interrupted leaves no nginx behind.  No file
# outside $T is read or written, and the system's nginx, if one runs, is
# not touched.
#
# nginx_real_have: 0 if the binary and the lua module are installed.
# nginx_real_start WORKERS HTTP_CONF SERVER_CONF: start it; HTTP_CONF goes in
#     the http block (lua_shared_dict, limit_req_zone, lua_package_path, ...),
#     SERVER_CONF in the server block (locations).  Sets NGINX_PORT,
#     NGINX_PID (the master's) and NGINX_URL (http://127.0.0.1:PORT).
#     Returns 1 (with the error log on stderr) if it did not start.
# nginx_real_stop: stop it (safe to call twice).

NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
NGINX_MODULES=${NGINX_MODULES:-/usr/lib/nginx/modules}

nginx_real_have() {
    [ -x "$NGINX_BIN" ] && [ -f "$NGINX_MODULES/ngx_http_lua_module.so" ] \
        && [ -f "$NGINX_MODULES/ndk_http_module.so" ] && command -v curl >/dev/null 2>&1
}

nginx_real_stop() {
    [ -n "${NGINX_PREFIX:-}" ] && [ -s "$NGINX_PREFIX/nginx.pid" ] || return 0
    pid=$(cat "$NGINX_PREFIX/nginx.pid")
    kill -QUIT "$pid" 2>/dev/null
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null
        pkill -KILL -P "$pid" 2>/dev/null
    fi
    rm -f "$NGINX_PREFIX/nginx.pid"
}

nginx_real_start() {
    workers=$1
    http_conf=$2
    server_conf=$3
    NGINX_PREFIX=$T/nginx
    mkdir -p "$NGINX_PREFIX/conf" "$NGINX_PREFIX/logs"
    trap 'nginx_real_stop; rm -rf "$T"' EXIT
    tries=0
    while [ $tries -lt 20 ]; do
        tries=$((tries + 1))
        NGINX_PORT=$(( 20000 + ($$ * 7 + tries * 131 + $(date +%N | sed 's/^0*//;s/^$/0/') % 997) % 20000 ))
        cat > "$NGINX_PREFIX/conf/nginx.conf" <<CONF
load_module $NGINX_MODULES/ndk_http_module.so;
load_module $NGINX_MODULES/ngx_http_lua_module.so;
daemon on;
master_process on;
worker_processes $workers;
pid $NGINX_PREFIX/nginx.pid;
error_log $NGINX_PREFIX/logs/error.log info;
events { worker_connections 128; }
http {
    access_log off;
    client_body_temp_path $NGINX_PREFIX/tmp;
    proxy_temp_path $NGINX_PREFIX/tmp;
    fastcgi_temp_path $NGINX_PREFIX/tmp;
    uwsgi_temp_path $NGINX_PREFIX/tmp;
    scgi_temp_path $NGINX_PREFIX/tmp;
    $http_conf
    server {
        listen 127.0.0.1:$NGINX_PORT;
        $server_conf
    }
}
CONF
        mkdir -p "$NGINX_PREFIX/tmp"
        if "$NGINX_BIN" -p "$NGINX_PREFIX" -c conf/nginx.conf 2>"$NGINX_PREFIX/logs/start.err"; then
            i=0
            while [ ! -s "$NGINX_PREFIX/nginx.pid" ] && [ $i -lt 50 ]; do
                sleep 0.1
                i=$((i + 1))
            done
            NGINX_PID=$(cat "$NGINX_PREFIX/nginx.pid" 2>/dev/null)
            NGINX_URL=http://127.0.0.1:$NGINX_PORT
            i=0
            while [ $i -lt 50 ]; do
                curl -s -o /dev/null "$NGINX_URL/" && return 0
                sleep 0.1
                i=$((i + 1))
            done
            nginx_real_stop
        fi
        grep -q "Address already in use" "$NGINX_PREFIX/logs/start.err" "$NGINX_PREFIX/logs/error.log" 2>/dev/null || break
    done
    echo "nginx_real: nginx did not start:" >&2
    cat "$NGINX_PREFIX/logs/start.err" "$NGINX_PREFIX/logs/error.log" >&2 2>/dev/null
    return 1
}
