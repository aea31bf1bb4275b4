#!/usr/bin/env bash
# bench/proxy.sh: our proxy and tinyproxy side by side, in one run, on this
# machine, on 127.0.0.1 only. Prints each figure and the ratio:
#   1. 1 GiB through a CONNECT tunnel (MB/s)              target >= 3x tinyproxy
#   2. small keep-alive GETs, absolute form, wrk (req/s)  target >= 5x tinyproxy
#   3. RSS with 2,000 idle CONNECT tunnels (MiB)          target < 32 MiB
# Usage: bench/proxy.sh [PROXY_BIN]   (default build/proxy/proxy)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
proxy_bin=${1:-$here/../build/proxy/proxy}
bytes=${BENCH_BYTES:-1073741824}
duration=${BENCH_SECONDS:-8}
tunnels=${BENCH_TUNNELS:-2000}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

dir=$(mktemp -d /tmp/proxy-bench.XXXXXX)
chmod 755 "$dir"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$dir"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.05; done; echo "port $1 never opened" >&2; exit 1; }

# Upstreams: nginx for small responses, a discard sink for bulk bytes.
web=$(free_port)
cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
daemon off;
error_log $dir/nginx.err;
pid $dir/nginx.pid;
events { worker_connections 8192; }
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    client_header_timeout 300s;
    server { listen 127.0.0.1:$web; location / { return 200 "hello\n"; } }
}
CONF
nginx -c "$dir/nginx.conf" -p "$dir" & pids+=($!)
c++ -O2 -std=c++20 -pthread -o "$dir/blast" "$here/proxy_blast.cpp"
"$dir/blast" sink "$dir/sink.port" & pids+=($!)
wait_port "$web"
for _ in $(seq 100); do [[ -f $dir/sink.port ]] && break; sleep 0.05; done
sink=$(cat "$dir/sink.port")

# The two proxies, equally open: no filter, loopback reachable, the bench ports allowed.
ours=$(free_port)
"$proxy_bin" --listen "tcp:127.0.0.1:$ours" --allow-cidr 127.0.0.0/8 --connect-port "$sink" \
    --connect-port "$web" --max-connections 10000 2>"$dir/proxy.err" & ours_pid=$!; pids+=($ours_pid)
theirs=$(free_port)
cat >"$dir/tinyproxy.conf" <<CONF
Port $theirs
Listen 127.0.0.1
Timeout 600
MaxClients 10000
LogLevel Critical
LogFile "$dir/tinyproxy.log"
ConnectPort $sink
ConnectPort $web
CONF
tinyproxy -d -c "$dir/tinyproxy.conf" & theirs_pid=$!; pids+=($theirs_pid)
wait_port "$ours"; wait_port "$theirs"

ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
echo "proxy bench: $(nproc) cores, $(tinyproxy -v), $(date -u +%FT%TZ)"

# 1. Bulk bytes through a tunnel (best of 3 each).
best() { sort -n | head -1; }
t_ours=$(for _ in 1 2 3; do "$dir/blast" push "$ours" "$sink" "$bytes"; done | best)
t_theirs=$(for _ in 1 2 3; do "$dir/blast" push "$theirs" "$sink" "$bytes"; done | best)
mb_ours=$(python3 -c "print(f'{$bytes / 1e6 / $t_ours:.0f}')")
mb_theirs=$(python3 -c "print(f'{$bytes / 1e6 / $t_theirs:.0f}')")
echo "tunnel 1 GiB:  proxy ${mb_ours} MB/s   tinyproxy ${mb_theirs} MB/s   ratio $(ratio "$mb_ours" "$mb_theirs")x (target >= 3x)"

# 2. Small keep-alive requests per second.
export PROXY_BENCH_URL="http://127.0.0.1:$web/small"
rps() { wrk -t1 -c32 -d"${duration}s" -s "$here/proxy_wrk.lua" "http://127.0.0.1:$1/" | awk '/Requests\/sec/ {print $2}'; }
r_ours=$(rps "$ours")
r_theirs=$(rps "$theirs")
echo "keep-alive GET: proxy ${r_ours} req/s   tinyproxy ${r_theirs} req/s   ratio $(ratio "$r_ours" "$r_theirs")x (target >= 5x)"

# 3. RSS with established idle tunnels (one byte sent through each) to the sink.
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
rss_of() {
    local pid=$1 port=$2 before after
    before=$(rss "$pid")
    coproc HOLD { python3 "$here/proxy_tunnel.py" idle "$port" "$sink" "$tunnels"; }
    read -r _ <&"${HOLD[0]}"
    sleep 0.5
    after=$(rss "$pid")
    exec {HOLD[1]}>&-
    wait "$HOLD_PID" 2>/dev/null || true
    echo "$before $after"
}
read -r ob oa < <(rss_of "$ours_pid" "$ours")
read -r tb ta < <(rss_of "$theirs_pid" "$theirs")
mib() { python3 -c "print(f'{$1 / 1024:.1f}')"; }
echo "RSS, $tunnels idle tunnels: proxy $(mib "$oa") MiB (idle before: $(mib "$ob"))   tinyproxy $(mib "$ta") MiB (before: $(mib "$tb"))   (target < 32 MiB)"
