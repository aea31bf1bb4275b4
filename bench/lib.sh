# Sourced by the bench scripts that run servers of their own: a scratch dir
# ($tmp, removed on exit), servers started in process groups of their own
# (so forked children, socat's, die with them), free ports and waits.
# Usage: bench_setup NAME   (NAME is the script's, for the scratch dir and
# messages).
bench_setup() {
    bench_name=$1
    tmp=$(mktemp -d "/tmp/$1-bench-XXXXXX")
    chmod 755 "$tmp"
    groups=()
    trap bench_cleanup EXIT
    ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
}

bench_cleanup() {
    local g
    for g in "${groups[@]}"; do kill -TERM -- "-$g" 2>/dev/null || true; done
    sleep 0.2
    for g in "${groups[@]}"; do kill -KILL -- "-$g" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}

# Starts a command in its own process group; its group id is ${groups[-1]}.
start() { setsid "$@" & groups+=($!); }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
    local i
    for i in $(seq 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "$bench_name: nothing listening on port $1" >&2
    return 1
}
wait_unix() {
    local i
    for i in $(seq 200); do [[ -S $1 ]] && return 0; sleep 0.05; done
    echo "$bench_name: no socket at $1" >&2
    return 1
}
