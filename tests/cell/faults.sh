#!/usr/bin/env bash
# Cell-level faults, as root and as an unprivileged user:
# - the host nix-daemon is stopped and started again on the same socket path
#   while a cell keeps talking to it: pings fail while it is down (so the
#   restart is real), work again after it, and the cell ends cleanly;
# - the daemon is frozen (SIGSTOP) and thawed: pings time out, then work;
# - the host side of the nix relay is killed mid-run: nix calls inside fail
#   fast instead of hanging, and the cell still ends and leaves nothing;
# - the log dir fills up mid-run (root only: a tiny tmpfs): the proxy keeps
#   serving, the cell ends with the command's status and leaves nothing.
# (The proxy killed mid-run is in lifecycle.sh.)
set -uo pipefail
source "$(dirname -- "$0")/lib.sh"
source "$(dirname -- "$0")/../lib/nix_daemon.sh"

NIXD=$SCRATCH/nixd
mkdir -p "$NIXD" && chmod 755 "$NIXD"
start_nix_daemon "$NIXD" || { echo "not ok 1 - a private nix-daemon starts"; echo "1..1"; exit 1; }
trap 'stop_nix_daemon; cleanup_scratch' EXIT
chmod 666 "$NIX_DAEMON_SOCKET"
# Cells take the directory holding `socket`, as on a real host.
SOCKDIR=$SCRATCH/nixsock
mkdir -p "$SOCKDIR" && ln -s "$NIX_DAEMON_SOCKET" "$SOCKDIR/socket"
chmod 755 "$SOCKDIR"

# The cell's loop: one `nix store ping` (bounded) per round, one line per
# result in the worktree, until the host drops a `stop` file.
PINGER='while [ ! -e stop ]; do
    if timeout 5 nix store ping >/dev/null 2>&1; then echo ok; else echo fail; fi >>pings
    sleep 0.1
done
echo done >>pings'

# count WORD FILE: lines equal to WORD.
count() {
    local n
    n=$(grep -cx "$1" "$2" 2>/dev/null)
    echo "${n:-0}"
}

# wait_for WORD N FILE [SECONDS]: until FILE has N more WORD lines than now.
wait_for() {
    local word=$1 want=$(($(count "$1" "$3") + $2)) deadline=$((SECONDS + ${4:-20}))
    while ((SECONDS < deadline)); do
        (($(count "$word" "$3") >= want)) && return 0
        sleep 0.1
    done
    return 1
}

wait_gone() {
    local i
    for ((i = 0; i < 50; i++)); do
        [[ -z $(leftovers) ]] && return 0
        sleep 0.1
    done
    leftovers
    return 1
}

fault_run() {
    local who=$1 runas=() cell_bin=$CELL wt=$SCRATCH/wt-$1
    mkdir -p "$wt"
    if [[ $who == unpriv ]]; then
        chown "$(unpriv_user)" "$wt"
        runas=(runuser -u "$(unpriv_user)" -- env -i PATH=/usr/bin:/bin HOME=/tmp XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR")
        cell_bin=$UNPRIV_CELL
    fi
    local cell=("${runas[@]}" "$cell_bin" --worktree "$wt" --nix on --nix-daemon-socket "$SOCKDIR")

    # --- the daemon restarted under a running cell ---
    rm -f "$wt/pings" "$wt/stop"
    "${cell[@]}" -- sh -c "$PINGER" >"$SCRATCH/cell-$who.out" 2>&1 &
    local cell_pid=$!
    check "$who: the cell's pings reach the daemon" wait_for ok 3 "$wt/pings"
    local old_pid=$NIX_DAEMON_PID
    stop_nix_daemon
    check "$who: while the daemon is down the pings fail (the restart is real)" \
        wait_for fail 2 "$wt/pings"
    start_nix_daemon "$NIXD" && chmod 666 "$NIX_DAEMON_SOCKET"
    check "$who: the daemon came back on the same socket path (pid $old_pid -> $NIX_DAEMON_PID)" \
        test "$old_pid" != "$NIX_DAEMON_PID" -a -S "$SOCKDIR/socket"
    check "$who: new connections from the same cell work again after the restart" \
        wait_for ok 3 "$wt/pings"
    touch "$wt/stop"
    local rc
    wait "$cell_pid"
    rc=$?
    expect_eq "$who: the cell ends cleanly after the restart" "0 done" "$rc $(tail -n1 "$wt/pings")"
    check "$who: the restart left nothing behind" wait_gone

    # --- the daemon frozen (SIGSTOP) and thawed under a running cell ---
    rm -f "$wt/pings" "$wt/stop"
    "${cell[@]}" -- sh -c "$PINGER" >"$SCRATCH/cell-$who.out" 2>&1 &
    cell_pid=$!
    if wait_for ok 2 "$wt/pings"; then
        kill -STOP -- "-$NIX_DAEMON_PID"
        check "$who: a frozen daemon makes pings time out, not wedge the cell" \
            wait_for fail 1 "$wt/pings" 15
        kill -CONT -- "-$NIX_DAEMON_PID"
        check "$who: after the daemon thaws, pings through the same relay work again" \
            wait_for ok 2 "$wt/pings"
    else
        check "$who: the cell's pings reach the daemon (freeze case)" false
    fi
    touch "$wt/stop"
    wait "$cell_pid"
    expect_eq "$who: the cell ends cleanly after the freeze" "0" "$?"
    check "$who: the freeze left nothing behind" wait_gone

    # --- the host side of the nix relay killed mid-run ---
    rm -f "$wt/pings" "$wt/stop"
    "${cell[@]}" -- sh -c "$PINGER" >"$SCRATCH/cell-$who.out" 2>&1 &
    cell_pid=$!
    if wait_for ok 2 "$wt/pings"; then
        # The nix relay is the one listening on the runtime dir's nix socket
        # (whatever flags precede it).
        check "$who: the host nix relay is found and killed" \
            pkill -KILL -f "relay .*unix:$XDG_RUNTIME_DIR/cell-[^ ]*/nix/socket"
        check "$who: with the nix relay gone, nix calls fail fast instead of hanging" \
            wait_for fail 2 "$wt/pings" 15
        touch "$wt/stop"
        timeout 20 tail --pid="$cell_pid" -f /dev/null
        check "$who: the cell still ends" bash -c '! kill -0 "$1" 2>/dev/null' _ "$cell_pid"
        wait "$cell_pid" 2>/dev/null
        check "$who: the killed relay left nothing behind" wait_gone
    else
        check "$who: the cell's pings reach the daemon (relay-kill case)" false
        touch "$wt/stop"
        wait "$cell_pid"
    fi
}

fault_run root
fault_run unpriv

# --- the log dir fills up while a cell uses the proxy ---
FULL=$SCRATCH/fulllog
mkdir -p "$FULL"
if ((EUID == 0)) && mount -t tmpfs -o size=256k,mode=0777 cell-faults-log "$FULL"; then
    trap 'umount "$FULL"; stop_nix_daemon; cleanup_scratch' EXIT
    start_upstream HTTP
    wt=$SCRATCH/wt-full
    mkdir -p "$wt"
    rm -f "$wt/go" "$wt/started"
    "$CELL" --worktree "$wt" --log-dir "$FULL" --nix off --allow localhost --allow-cidr 127.0.0.0/8 \
        -- sh -c "touch started; while [ ! -e go ]; do sleep 0.05; done
            ok=0; for i in \$(seq 300); do
                curl -s --noproxy '' --max-time 5 http://localhost:$HTTP_PORT/hello | grep -q 'hello from upstream' && ok=\$((ok + 1))
            done; echo \$ok > served" >/dev/null 2>"$SCRATCH/full.err" &
    cell_pid=$!
    for ((i = 0; i < 100; i++)); do
        [[ -e $wt/started ]] && break
        sleep 0.05
    done
    dd if=/dev/zero of="$FULL/filler" bs=4k >/dev/null 2>&1
    check "the log dir is full before the requests start" \
        bash -c '! echo x >"$1/probe" 2>/dev/null' _ "$FULL"
    touch "$wt/go"
    wait "$cell_pid"
    rc=$?
    expect_eq "log dir full: every request is still served and the cell exits 0" "0 300" \
        "$rc $(cat "$wt/served" 2>/dev/null)"
    check "log dir full: nothing left behind" wait_gone
else
    TAP_N=$((TAP_N + 1))
    echo "ok $TAP_N - log dir full mid-run # SKIP needs root to mount a small tmpfs"
fi
check "the daemon serves the host after all this" \
    env "$(nix_client_env "$NIX_DAEMON_SOCKET")" nix --extra-experimental-features nix-command store ping
tap_done
