#!/usr/bin/env bash
# Shared set-up for the launcher's end-to-end tests: a private scratch dir
# (also the XDG_RUNTIME_DIR, so every cell's runtime dir and daemon argv
# carry a marker this test alone owns), loopback upstreams, a throwaway CA.
# Needs: CELL (the launcher), and the binaries it finds next to cellgen.
here=$(dirname -- "${BASH_SOURCE[0]}")
source "$here/../lib/tap.sh"
source "$here/../lib/unpriv_user.sh"

: "${CELL:?CELL must point at the built cell launcher}"
SCRATCH=$(mktemp -d /tmp/cell-e2e.XXXXXX)
chmod 755 "$SCRATCH"
export XDG_RUNTIME_DIR=$SCRATCH/run
mkdir -p "$XDG_RUNTIME_DIR"
chmod 1777 "$XDG_RUNTIME_DIR"
BG_PIDS=()

# The unprivileged user may not be able to reach the build tree (a clone
# under /root): give it world-readable copies, laid out as installed.
UNPRIV_CELL=$SCRATCH/bin/cell
mkdir -p "$SCRATCH/bin"
build_root=$(dirname -- "$(dirname -- "$CELL")")
for b in launch/cell cellgen/cellgen launch/cell-launch launch/cell-engine relay/relay proxy/proxy \
    proxy/cell-connect; do
    [[ -e $build_root/$b ]] && install -m 755 "$build_root/$b" "$SCRATCH/bin/"
done

# Pids of the proxies serving this test's cells: the launcher hands each its
# access log as fd 6 (--log fd:6), and that file is under the scratch dir.
scratch_proxies() {
    local p
    for p in $(pgrep -x proxy); do
        [[ $(readlink "/proc/$p/fd/6" 2>/dev/null) == "$SCRATCH"/* ]] && echo "$p"
    done
}

cleanup_scratch() {
    local p
    for p in "${BG_PIDS[@]}" $(scratch_proxies); do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    pkill -f "$SCRATCH" 2>/dev/null
    rm -rf "$SCRATCH"
}
trap cleanup_scratch EXIT

# start_upstream NAME [--cert C --key K]: sets ${NAME}_PORT
start_upstream() {
    local name=$1 pf=$SCRATCH/$1.port i
    shift
    python3 "$here/../lib/upstream.py" --port-file "$pf" "$@" &
    BG_PIDS+=($!)
    for ((i = 0; i < 100; i++)); do
        [[ -s $pf ]] && break
        sleep 0.05
    done
    printf -v "${name}_PORT" '%s' "$(<"$pf")"
}

# A CA-less self-signed cert for "localhost" the cell's curl trusts via --cacert.
make_cert() {
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
        -addext subjectAltName=DNS:localhost -keyout "$SCRATCH/key.pem" \
        -out "$SCRATCH/cert.pem" >/dev/null 2>&1
    chmod 644 "$SCRATCH/key.pem" "$SCRATCH/cert.pem"
}

# Processes this test's cells left behind (empty = none): anything naming
# the runtime dirs, and proxies whose access log is in the scratch dir.
leftover_procs() {
    pgrep -af "$SCRATCH/run" | grep -v pgrep
    local p
    for p in $(scratch_proxies); do
        echo "$p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
    done
}

# Processes or runtime dirs this test's cells left behind (empty = none).
leftovers() {
    leftover_procs
    ls -d "$XDG_RUNTIME_DIR"/cell-* 2>/dev/null
}

# descendant_named PID NAME: a process called NAME below PID (the newest).
descendant_named() {
    local p q
    for p in $(pgrep -n -x "$2"; pgrep -x "$2"); do
        q=$p
        while [[ -n $q && $q != 0 && $q != 1 ]]; do
            if [[ $q == "$1" ]]; then
                echo "$p"
                return 0
            fi
            q=$(awk '{print $4}' "/proc/$q/stat" 2>/dev/null)
        done
    done
    return 1
}
