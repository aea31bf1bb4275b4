#!/usr/bin/env bash
# Sourced by integration tests that need a real nix daemon of their own.
#
# start_nix_daemon DIR
#     Starts `nix-daemon` (Debian nix-bin) with its socket at DIR/nix-daemon.sock
#     (through NIX_DAEMON_SOCKET_PATH), serving the host's /nix store, and waits
#     until the socket accepts. Sets:
#       NIX_DAEMON_SOCKET   the socket path
#       NIX_DAEMON_PID      the daemon's pid (also its process group id)
#     The daemon runs in its own session so that stop_nix_daemon can kill the
#     per-connection workers it forks along with it. Its log is DIR/nix-daemon.log.
#     Returns 1 (after printing why) if the socket is not up within 10 s.
# stop_nix_daemon
#     Kills the daemon's process group and waits until it is gone. Safe to call
#     twice and when the daemon already died (a cleanup must not fail then).
# nix_client_env
#     Prints `NIX_REMOTE=unix://SOCKET` for `env` to point nix clients at a
#     socket: `env $(nix_client_env "$sock") nix-store --add FILE`.
#
# Use with a trap:  start_nix_daemon "$tmp"; trap 'stop_nix_daemon; rm -rf "$tmp"' EXIT

start_nix_daemon() {
    local dir=$1
    NIX_DAEMON_SOCKET=$dir/nix-daemon.sock
    rm -f "$NIX_DAEMON_SOCKET"
    # Builds run as root, without build users (a fresh Debian has no nixbld
    # group: nix-bin creates none, and nix refuses to build without it) and
    # without nix's build sandbox: the tests' derivations run host programs
    # (/bin/sh, /bin/sleep), which a sandbox would not have.
    # NIX_REMOTE=local: the daemon serves the host's store itself. Left to
    # "auto", a daemon on a host with no /nix/var/nix yet (a fresh machine)
    # finds its own socket and becomes a client of itself, forking a worker
    # per recursive connection until the machine runs out of processes.
    NIX_CONFIG="build-users-group ="$'\n'"sandbox = false${NIX_CONFIG:+$'\n'$NIX_CONFIG}" \
        NIX_REMOTE=local NIX_DAEMON_SOCKET_PATH=$NIX_DAEMON_SOCKET setsid nix-daemon \
        >"$dir/nix-daemon.log" 2>&1 </dev/null &
    NIX_DAEMON_PID=$!
    local i
    for ((i = 0; i < 200; i++)); do
        if [[ -S $NIX_DAEMON_SOCKET ]] &&
            python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' \
                "$NIX_DAEMON_SOCKET" 2>/dev/null; then
            return 0
        fi
        if ! kill -0 "$NIX_DAEMON_PID" 2>/dev/null; then
            echo "nix-daemon exited early; log:" >&2
            cat "$dir/nix-daemon.log" >&2
            return 1
        fi
        sleep 0.05
    done
    echo "nix-daemon socket $NIX_DAEMON_SOCKET not accepting after 10 s" >&2
    return 1
}

stop_nix_daemon() {
    [[ -n ${NIX_DAEMON_PID:-} ]] || return 0
    kill -TERM -- "-$NIX_DAEMON_PID" 2>/dev/null || true
    local i
    for ((i = 0; i < 100; i++)); do
        kill -0 -- "-$NIX_DAEMON_PID" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL -- "-$NIX_DAEMON_PID" 2>/dev/null || true
    wait "$NIX_DAEMON_PID" 2>/dev/null || true
    NIX_DAEMON_PID=
}

nix_client_env() {
    echo "NIX_REMOTE=unix://$1"
}
