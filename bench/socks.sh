#!/usr/bin/env bash
# bench/socks.sh: 1 GiB through a tunnel, three ways, in one run, on this
# machine, on 127.0.0.1 only (issue 18):
#   our SOCKS5 (--socks-listen)   goal: within 10% of our HTTP CONNECT
#   our HTTP CONNECT (--listen)   the anchor
#   Debian's dante-server         goal: our SOCKS5 >= 2x dante
# Each figure is the best of RUNS (default 3) pushes; prints MB/s and ratios.
# Usage: bench/socks.sh [PROXY_BIN]   (default build/proxy/proxy)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
proxy_bin=${1:-$here/../build/proxy/proxy}
bytes=${BENCH_BYTES:-1073741824}
runs=${BENCH_RUNS:-3}
command -v danted >/dev/null || { echo "bench/socks.sh: needs danted (apt-get install dante-server)" >&2; exit 2; }

dir=$(mktemp -d /tmp/socks-bench.XXXXXX)
chmod 755 "$dir"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    pkill -f "$dir/danted.conf" || true # its forked workers
    rm -rf "$dir"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.05; done; echo "port $1 never opened" >&2; exit 1; }

c++ -O2 -std=c++20 -pthread -o "$dir/blast" "$here/proxy_blast.cpp"
"$dir/blast" sink "$dir/sink.port" & pids+=($!)
for _ in $(seq 100); do [[ -f $dir/sink.port ]] && break; sleep 0.05; done
sink=$(cat "$dir/sink.port")

# Equally open: loopback reachable, the sink's port allowed.
http=$(free_port)
socks=$(free_port)
"$proxy_bin" --listen "tcp:127.0.0.1:$http" --socks-listen "tcp:127.0.0.1:$socks" \
    --allow-cidr 127.0.0.0/8 --connect-port "$sink" 2>"$dir/proxy.err" & pids+=($!)
dante=$(free_port)
cat >"$dir/danted.conf" <<CONF
logoutput: $dir/danted.log
internal: 127.0.0.1 port = $dante
external: 127.0.0.1
clientmethod: none
socksmethod: none
user.privileged: root
user.unprivileged: nobody
client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
socks pass { from: 127.0.0.0/8 to: 127.0.0.0/8 command: connect }
CONF
danted -f "$dir/danted.conf" -p "$dir/danted.pid" & pids+=($!)
wait_port "$http"; wait_port "$socks"; wait_port "$dante"

best() { sort -n | head -1; }
mbps() { python3 -c "print(f'{$bytes / 1e6 / $1:.0f}')"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
echo "socks bench: $(nproc) cores, $(danted -v 2>&1 | head -1), $((bytes >> 20)) MiB, best of $runs, $(date -u +%FT%TZ)"
# Interleaved, so a noisy neighbour hits all three alike.
: >"$dir/t.socks"; : >"$dir/t.http"; : >"$dir/t.dante"
for _ in $(seq "$runs"); do
    "$dir/blast" socks "$socks" "$sink" "$bytes" >>"$dir/t.socks"
    "$dir/blast" push "$http" "$sink" "$bytes" >>"$dir/t.http"
    "$dir/blast" socks "$dante" "$sink" "$bytes" >>"$dir/t.dante"
done
s=$(mbps "$(best <"$dir/t.socks")")
h=$(mbps "$(best <"$dir/t.http")")
d=$(mbps "$(best <"$dir/t.dante")")
echo "tunnel: proxy SOCKS5 ${s} MB/s   proxy CONNECT ${h} MB/s   dante SOCKS5 ${d} MB/s"
echo "SOCKS5/CONNECT $(ratio "$s" "$h")x (goal >= 0.90)   SOCKS5/dante $(ratio "$s" "$d")x (goal >= 2)"
