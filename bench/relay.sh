#!/usr/bin/env bash
# bench/relay.sh: relay and socat side by side, in one run, on this machine.
#
#   new connections/s  wrk (-H 'Connection: close') through each to nginx
#   throughput         1 GiB pushed through a Unix -> TCP relay to a TCP sink
#   memory             RSS with 1,000 idle connections open through each
#
# Prints a markdown table with the ratios and the targets of issue 3 (>= 8x
# socat's connection rate, >= 2x its throughput, < 20 MiB RSS). Exit status 1
# if a target is missed. Usage: bench/relay.sh [RELAY_BINARY]
# Env: DURATION (wrk seconds, default 5), CONNS (wrk connections, default 64).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
RELAY=${1:-${RELAY:-$here/../build-relay/relay/relay}}
DURATION=${DURATION:-5}
CONNS=${CONNS:-64}
tools=$here/relay_tools.py
for tool in "$RELAY" socat wrk nginx python3; do
    command -v "$tool" >/dev/null || { echo "relay.sh: $tool not found" >&2; exit 2; }
done

source "$here/lib.sh"
bench_setup relay.sh
ratio() { python3 -c "print(f'{$1 / $2:.1f}')"; }
verdict() { python3 -c "print('met' if $1 else 'MISSED')"; }

# --- connection rate: wrk -> (relay | socat) -> nginx ----------------------------
nginx_port=$(free_port)
mkdir -p "$tmp/www"
echo "hello from nginx" >"$tmp/www/index.html"
cat >"$tmp/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log;
events { worker_connections 8192; }
http {
    access_log off;
    client_body_temp_path $tmp/body;
    proxy_temp_path $tmp/proxy;
    server { listen 127.0.0.1:$nginx_port backlog=4096; root $tmp/www; }
}
CONF
start nginx -c "$tmp/nginx.conf" -p "$tmp"
relay_port=$(free_port)
socat_port=$(free_port)
start "$RELAY" --quiet "tcp:127.0.0.1:$relay_port" "tcp:127.0.0.1:$nginx_port"
start socat "TCP-LISTEN:$socat_port,bind=127.0.0.1,fork,reuseaddr,backlog=4096" \
    "TCP:127.0.0.1:$nginx_port"
wait_port "$nginx_port" && wait_port "$relay_port" && wait_port "$socat_port"

rate() {
    wrk -t2 -c"$CONNS" -d"${DURATION}s" -H 'Connection: close' "http://127.0.0.1:$1/" |
        awk '/Requests\/sec/ {print $2}'
}
direct_rate=$(rate "$nginx_port")
relay_rate=$(rate "$relay_port")
socat_rate=$(rate "$socat_port")

# --- throughput: push -> unix -> (relay | socat) -> tcp -> sink ----------------------
start python3 "$tools" sink "$tmp/sink.port"
for _ in $(seq 100); do [[ -s $tmp/sink.port ]] && break; sleep 0.05; done
sink_port=$(cat "$tmp/sink.port")
start "$RELAY" --quiet "unix:$tmp/relay.sock" "tcp:127.0.0.1:$sink_port"
start socat "UNIX-LISTEN:$tmp/socat.sock,fork" "TCP:127.0.0.1:$sink_port"
wait_unix "$tmp/relay.sock" && wait_unix "$tmp/socat.sock"
gib=$((1 << 30))
best() { # best of 3 runs, MB/s
    local i v b=0
    for i in 1 2 3; do
        v=$(python3 "$tools" push "$1" "$gib")
        ((v > b)) && b=$v
    done
    echo "$b"
}
relay_mbs=$(best "$tmp/relay.sock")
socat_mbs=$(best "$tmp/socat.sock")

# --- memory: 1,000 idle connections ---------------------------------------------
# The servers start in this shell (not inside the <(...) below) so that
# cleanup knows their process groups.
start "$RELAY" --quiet "unix:$tmp/idle-relay.sock" "unix:$tmp/t1"
relay_group=${groups[-1]}
start socat "UNIX-LISTEN:$tmp/idle-socat.sock,fork,backlog=4096" "UNIX-CONNECT:$tmp/t2"
socat_group=${groups[-1]}
wait_unix "$tmp/idle-relay.sock" && wait_unix "$tmp/idle-socat.sock"
read -r relay_rss relay_procs relay_conns < <(python3 "$tools" idle "$tmp/t1" \
    "$tmp/idle-relay.sock" 1000 "pgrep -g $relay_group")
read -r socat_rss socat_procs socat_conns < <(python3 "$tools" idle "$tmp/t2" \
    "$tmp/idle-socat.sock" 1000 "pgrep -g $socat_group")

cat <<REPORT
| measure | relay | socat | relay/socat | target |
| --- | ---: | ---: | ---: | --- |
| new connections/s (nginx direct: $direct_rate) | $relay_rate | $socat_rate | $(ratio "$relay_rate" "$socat_rate")x | >= 8x: $(verdict "$relay_rate >= 8 * $socat_rate") |
| 1 GiB Unix -> TCP, MB/s (best of 3) | $relay_mbs | $socat_mbs | $(ratio "$relay_mbs" "$socat_mbs")x | >= 2x: $(verdict "$relay_mbs >= 2 * $socat_mbs") |
| RSS, 1,000 idle connections, MiB | $(ratio "$relay_rss" 1024) ($relay_procs process, $relay_conns conns) | $(ratio "$socat_rss" 1024) ($socat_procs processes, $socat_conns conns) | $(ratio "$relay_rss" "$socat_rss")x | < 20 MiB: $(verdict "$relay_rss < 20 * 1024") |
REPORT
python3 -c "import sys; sys.exit(0 if ($relay_rate >= 8 * $socat_rate and $relay_mbs >= 2 * $socat_mbs and $relay_rss < 20 * 1024) else 1)"
