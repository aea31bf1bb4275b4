#!/usr/bin/env bash
# bench/forwarders.sh: our relay and proxy against the forwarders people run,
# in one run, on this machine, all on 127.0.0.1 in front of one nginx
# (issue 19):
#   direct         the client to nginx (the ceiling)
#   relay          our relay, tcp -> tcp (its default: a loop per CPU)
#   relay1         the same with --threads 1
#   proxy          our proxy, a CONNECT tunnel per connection (default loops)
#   proxy1         the same with --threads 1
#   haproxy        Debian's haproxy, mode tcp, splice-request/-response on
#   socat          fork per connection
#   tinyproxy      a CONNECT tunnel per connection
# Each forwarder reaches nginx on a port of its own (direct too): a conn/s
# run leaves tens of thousands of TIME_WAIT sockets on the nginx side of the
# port it used, for a minute, and no forwarder's connects should land on
# another's.
# Figures (bench/fwd_load.cpp, CONNS connections, SECONDS each, the best of
# RUNS rounds, the forwarders interleaved within a round, each round in
# another order):
#   MB/s           keep-alive GETs of a 64 MiB file
#   conn/s         a new connection (and tunnel) per GET of a small file
#   req/s          keep-alive GETs of the small file on CONNS connections
#   idle RSS       MiB of the forwarder's processes holding IDLE connections
#   CPU/GB, CPU/conn  the forwarder's own CPU time (user + system, all its
#                  threads and reaped children) per GB moved in the MB/s
#                  runs and per connection in the conn/s runs, over all
#                  rounds: what each costs, apart from the share of the two
#                  cores the scheduler happened to give it
# Prints a table, the ratios to haproxy and each round's conn/s; exit 1 if
# relay or proxy is below haproxy on MB/s, or relay on conn/s or req/s (the
# issue's goals).
# Usage: bench/forwarders.sh [BUILD_DIR]   (default build); installs haproxy,
# tinyproxy, socat, nginx from Debian when missing (as root).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
RELAY=$build/relay/relay
PROXY=$build/proxy/proxy
CONNS=${CONNS:-10}
SECONDS_EACH=${SECONDS_EACH:-3}
RUNS=${RUNS:-3}
IDLE=${IDLE:-1000}

need=()
for t in haproxy tinyproxy socat nginx; do
    command -v "$t" >/dev/null || [[ -x /usr/sbin/$t ]] || need+=("$t")
done
[[ ${need[*]} == *nginx* ]] && need=("${need[@]/nginx/nginx-light}")
if ((${#need[@]})); then
    echo "forwarders.sh: installing ${need[*]}" >&2
    DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -q --no-install-recommends \
        "${need[@]}" >/dev/null
fi
PATH=$PATH:/usr/sbin

source "$here/lib.sh"
bench_setup forwarders.sh

c++ -O2 -std=c++20 -pthread -o "$tmp/load" "$here/fwd_load.cpp"

names=(direct relay relay1 proxy proxy1 haproxy socat tinyproxy)
declare -A port target group up
listen=""
for n in "${names[@]}"; do
    up[$n]=$(free_port)
    listen+="listen 127.0.0.1:${up[$n]} backlog=4096 reuseport; "
done
mkdir -p "$tmp/www"
echo "hello from nginx" >"$tmp/www/small"
head -c $((64 << 20)) /dev/urandom >"$tmp/www/big"
cat >"$tmp/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log;
events { worker_connections 16384; }
http {
    access_log off;
    sendfile on;
    keepalive_requests 1000000;
    client_body_temp_path $tmp/body;
    proxy_temp_path $tmp/proxy;
    server { ${listen}root $tmp/www; }
}
CONF
start nginx -c "$tmp/nginx.conf" -p "$tmp"

port[direct]=${up[direct]}
target[direct]=0

port[relay]=$(free_port)
target[relay]=0
start "$RELAY" --quiet "tcp:127.0.0.1:${port[relay]}" "tcp:127.0.0.1:${up[relay]}"
group[relay]=${groups[-1]}

# The same relay with one event loop (--threads 1), what a cell's relays run.
port[relay1]=$(free_port)
target[relay1]=0
start "$RELAY" --quiet --threads 1 "tcp:127.0.0.1:${port[relay1]}" "tcp:127.0.0.1:${up[relay1]}"
group[relay1]=${groups[-1]}

port[proxy]=$(free_port)
target[proxy]=${up[proxy]}
start "$PROXY" --listen "tcp:127.0.0.1:${port[proxy]}" --allow-cidr 127.0.0.0/8 \
    --connect-port "${up[proxy]}"
group[proxy]=${groups[-1]}

port[proxy1]=$(free_port)
target[proxy1]=${up[proxy1]}
start "$PROXY" --listen "tcp:127.0.0.1:${port[proxy1]}" --allow-cidr 127.0.0.0/8 \
    --connect-port "${up[proxy1]}" --threads 1
group[proxy1]=${groups[-1]}

port[haproxy]=$(free_port)
target[haproxy]=0
cat >"$tmp/haproxy.cfg" <<CONF
global
    maxconn 4096
defaults
    mode tcp
    timeout connect 5s
    timeout client 300s
    timeout server 300s
    option splice-request
    option splice-response
frontend in
    bind 127.0.0.1:${port[haproxy]}
    default_backend out
backend out
    server nginx 127.0.0.1:${up[haproxy]}
CONF
start haproxy -db -f "$tmp/haproxy.cfg"
group[haproxy]=${groups[-1]}

port[socat]=$(free_port)
target[socat]=0
start socat "TCP-LISTEN:${port[socat]},bind=127.0.0.1,fork,reuseaddr,backlog=4096" \
    "TCP:127.0.0.1:${up[socat]}"
group[socat]=${groups[-1]}

port[tinyproxy]=$(free_port)
target[tinyproxy]=${up[tinyproxy]}
cat >"$tmp/tinyproxy.conf" <<CONF
Port ${port[tinyproxy]}
Listen 127.0.0.1
Timeout 600
MaxClients 4096
Allow 127.0.0.1
ConnectPort ${up[tinyproxy]}
LogLevel Critical
CONF
start tinyproxy -d -c "$tmp/tinyproxy.conf"
group[tinyproxy]=${groups[-1]}

for n in "${names[@]}"; do wait_port "${port[$n]}"; done

declare -A mbs cps rps cpu_bulk work_bulk cpu_close work_close rounds
for n in "${names[@]}"; do
    mbs[$n]=0 cps[$n]=0 rps[$n]=0 cpu_bulk[$n]=0 work_bulk[$n]=0 cpu_close[$n]=0 work_close[$n]=0
    rounds[$n]=""
done
one() { "$tmp/load" "$1" "${port[$2]}" "${target[$2]}" "$CONNS" "$SECONDS_EACH" "$3" | awk '{print $1}'; }
# CPU clock ticks (utime + stime + cutime + cstime) of process group $1.
# Processes come and go while /proc is read (socat's children): cat skips
# the vanished ones, where awk given the file names would stop with an error.
ticks() {
    [[ -n ${1:-} ]] || { echo 0; return; }
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } |
        awk -v g="$1" '$5 == g { t += $14 + $15 + $16 + $17 } END { print t + 0 }'
}
# Each round starts at another forwarder, so that none is always first or
# last in a round.
for ((r = 1; r <= RUNS; r++)); do
    shift_by=$(((r - 1) * ${#names[@]} / RUNS))
    order=("${names[@]:shift_by}" "${names[@]:0:shift_by}")
    for n in "${order[@]}"; do
        t0=$(ticks "${group[$n]:-}")
        v=$(one bulk "$n" /big) && ((v > mbs[$n])) && mbs[$n]=$v
        t1=$(ticks "${group[$n]:-}")
        cpu_bulk[$n]=$((cpu_bulk[$n] + t1 - t0)) work_bulk[$n]=$((work_bulk[$n] + v * SECONDS_EACH))
        v=$(one close "$n" /small) && ((v > cps[$n])) && cps[$n]=$v
        rounds[$n]+=" $v"
        t2=$(ticks "${group[$n]:-}")
        cpu_close[$n]=$((cpu_close[$n] + t2 - t1)) work_close[$n]=$((work_close[$n] + v * SECONDS_EACH))
        v=$(one keep "$n" /small) && ((v > rps[$n])) && rps[$n]=$v
    done
done

# RSS (MiB) of a forwarder's process group holding IDLE connections.
idle_rss() {
    local n=$1 fifo=$tmp/idle-$1 kib
    mkfifo "$fifo"
    "$tmp/load" idle "${port[$n]}" "${target[$n]}" "$IDLE" <"$fifo" >"$tmp/idle-$n.out" &
    local loader=$!
    exec 7>"$fifo"
    for _ in $(seq 200); do grep -q ready "$tmp/idle-$n.out" 2>/dev/null && break; sleep 0.05; done
    sleep 0.5
    kib=$(ps -o rss= -g "${group[$n]}" | awk '{s += $1} END {print s}')
    exec 7>&-
    wait "$loader" 2>/dev/null || true
    python3 -c "print(f'{$kib / 1024:.1f}')"
}
declare -A rss
for n in relay relay1 proxy proxy1 haproxy socat tinyproxy; do rss[$n]=$(idle_rss "$n"); done
rss[direct]=-

ratio() { python3 -c "print(f'{$1 / $2:.2f}' if $2 else '-')"; }
hz=$(getconf CLK_TCK)
# CPU seconds per GB moved, CPU microseconds per connection.
declare -A per_gb per_conn
for n in "${names[@]}"; do
    if [[ $n == direct ]]; then per_gb[$n]=- per_conn[$n]=-; continue; fi
    per_gb[$n]=$(python3 -c "print(f'{${cpu_bulk[$n]} / $hz / (${work_bulk[$n]} / 1000):.2f}' if ${work_bulk[$n]} else '-')")
    per_conn[$n]=$(python3 -c "print(f'{${cpu_close[$n]} / $hz * 1e6 / ${work_close[$n]}:.0f}' if ${work_close[$n]} else '-')")
done
echo "bench/forwarders.sh: $CONNS connections, ${SECONDS_EACH}s each, best of $RUNS, $(nproc) cores"
echo
echo "| forwarder | MB/s | conn/s | keep-alive req/s | idle RSS, MiB ($IDLE conns) | MB/s vs haproxy | conn/s vs haproxy | req/s vs haproxy | CPU s/GB | CPU us/conn |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for n in "${names[@]}"; do
    echo "| $n | ${mbs[$n]} | ${cps[$n]} | ${rps[$n]} | ${rss[$n]} | $(ratio "${mbs[$n]}" "${mbs[haproxy]}")x | $(ratio "${cps[$n]}" "${cps[haproxy]}")x | $(ratio "${rps[$n]}" "${rps[haproxy]}")x | ${per_gb[$n]} | ${per_conn[$n]} |"
done
# Every round's conn/s, in the order taken: the best of three hides how far
# apart they were.
echo
echo "conn/s per round (round 1, 2, ...):"
for n in "${names[@]}"; do echo "  $n:${rounds[$n]}"; done
ok=1
((mbs[relay] >= mbs[haproxy] && mbs[proxy] >= mbs[haproxy])) || ok=0
((cps[relay] >= cps[haproxy] && rps[relay] >= rps[haproxy])) || ok=0
echo
if ((ok)); then echo "goals (relay, proxy MB/s; relay conn/s, req/s >= haproxy): met"; else
    echo "goals (relay, proxy MB/s; relay conn/s, req/s >= haproxy): NOT met"; exit 1; fi
