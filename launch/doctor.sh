#!/usr/bin/env bash
# cell's usage and `cell doctor`. The `cell` program (cell_main.cpp) embeds
# this file and runs it with bash for these two; every other call it serves
# itself, with the launcher that a `cellgen --print script` wrapper runs
# through cell-launch, so a wrapper and `cell` run one implementation.
#
#   cell doctor [--nix-daemon-socket DIR]    check this host, explain fixes
#   cell --help                              usage
set -uo pipefail

# Sets CELLGEN_BIN: $CELLGEN (the cell program sets it to the cellgen beside
# itself, or build/cellgen/cellgen in the build tree), else next to this
# script, else on PATH.
find_cellgen() {
    local c dir=${0%/*}
    [[ $dir == "$0" ]] && dir=.
    for c in "${CELLGEN:-}" "$dir/cellgen"; do
        [[ -n $c && -x $c && ! -d $c ]] && { CELLGEN_BIN=$c; return 0; }
    done
    # Called through a symlink (a profile's bin/): look next to the target.
    c=$(dirname -- "$(readlink -f -- "$0")")/cellgen
    [[ -x $c && ! -d $c ]] && { CELLGEN_BIN=$c; return 0; }
    CELLGEN_BIN=$(command -v cellgen) || {
        echo "cell: cannot find cellgen next to $0 or on PATH" >&2
        return 2
    }
}

usage() {
    cat <<'EOF'
usage: cell [OPTIONS] -- COMMAND [ARGS...]
       cell --print FORMAT [OPTIONS] [-- COMMAND...]
       cell doctor

Runs COMMAND inside a bubblewrap jail ("cell"): the host's /nix/store read-only,
the host nix daemon through a relay, no network except HTTP(S) through a
domain-filtering proxy, the worktree read-write at /home/cell/worktree.

The exit status is COMMAND's (128+N when it died of signal N); 70 when the cell
could not be set up; 2 for bad options.

Every OPTION is a cellgen option; the most used:
  --worktree PATH        bind PATH read-write at /home/cell/worktree
  --allow PATTERN        allow a domain (example.com, *.example.com, **.example.com)
  --filter FILE          tinyproxy-style filter file (allowlist)
  --log-dir PATH         keep the proxy, relay and launcher logs in PATH
  --nix auto|on|off      bridge the host nix daemon (default auto)
  --profile FILE         INI profile with the same option names
  --print FORMAT         argv | shell | json | plan | script: print, do not run

`cell doctor` checks bwrap, user namespaces, loopback, the nix daemon and the
helper binaries, and says how to fix what is missing.
The full list of options and combinators: cellgen --help.
EOF
}

# ---- cell doctor: preflight checks, each with the fix ---------------------
doctor_ok() { printf '  ok    %s\n' "$*"; }
doctor_warn() { printf '  warn  %s\n' "$*"; warned=1; }
doctor_fail() { printf '  FAIL  %s\n' "$*"; failed=1; }

doctor_bwrap() {
    local v
    if ! v=$(bwrap --version 2>/dev/null); then
        doctor_fail "bwrap not found: apt-get install bubblewrap (or nix profile install nixpkgs#bubblewrap)"
        return
    fi
    doctor_ok "$v ($(command -v bwrap))"
    if [[ -u $(command -v bwrap) && $(id -u) != 0 ]]; then
        doctor_fail "bwrap is setuid root: a cell's launcher cannot enter the namespaces it makes (to give the proxy its port in the jail); use a bwrap that is not setuid, with unprivileged user namespaces allowed"
    fi
    if bwrap --unshare-user --unshare-pid --ro-bind / / --proc /proc --dev /dev true 2>/dev/null; then
        doctor_ok "unprivileged user namespaces work"
    else
        local why="bwrap cannot create a user namespace"
        [[ $(cat /proc/sys/kernel/unprivileged_userns_clone 2>/dev/null) == 0 ]] &&
            why+="; fix: sysctl -w kernel.unprivileged_userns_clone=1"
        [[ $(cat /proc/sys/user/max_user_namespaces 2>/dev/null) == 0 ]] &&
            why+="; fix: sysctl -w user.max_user_namespaces=15000"
        [[ $(cat /proc/sys/kernel/apparmor_restrict_unprivileged_userns 2>/dev/null) == 1 ]] &&
            why+="; AppArmor restricts user namespaces (Ubuntu 24.04+): add an AppArmor profile allowing userns for bwrap, or sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"
        doctor_fail "$why"
        return
    fi
    # /dev/tcp to a closed loopback port: "refused" proves lo is up.
    local out
    out=$(bwrap --unshare-user --unshare-net --ro-bind / / --proc /proc --dev /dev \
        bash -c 'exec 3<>/dev/tcp/127.0.0.1/9' 2>&1)
    if [[ $out == *refused* ]]; then
        doctor_ok "loopback is up in a new network namespace"
    else
        doctor_fail "loopback is not usable in a new network namespace: ${out:-no error text}"
    fi
}

doctor_nix() {
    local dir=${1:-/nix/var/nix/daemon-socket}
    if [[ ! -S $dir/socket ]]; then
        doctor_warn "no nix daemon socket at $dir/socket: cells run without nix (--nix auto); start nix-daemon or pass --nix-daemon-socket DIR"
        return
    fi
    doctor_ok "nix daemon socket $dir/socket"
    # The daemon trusts the relay's credentials. An ordinary user's relay
    # runs as that user; root's drops to nobody (--drop-root), keeping only
    # the non-root groups of the socket and its directory.
    local me groups who
    if ((EUID == 0)); then
        me=nobody
        groups=$(stat -c %G "$dir/socket" "$dir" 2>/dev/null | grep -vx root | sort -u)
        who="root's cells reach the daemon as nobody${groups:+ (groups: ${groups//$'\n'/ })}, which"
    else
        me=$(id -un)
        groups=$(id -nG)
        who="$me"
    fi
    local trusted t
    trusted=$(sed -n 's/^[[:space:]]*trusted-users[[:space:]]*=//p' /etc/nix/nix.conf 2>/dev/null | tail -n 1)
    [[ -n $trusted ]] || trusted=root
    for t in $trusted; do
        if [[ $t == "$me" || $t == '*' ]] || { [[ $t == @* ]] && tr ' ' '\n' <<<"$groups" | grep -qx "${t#@}"; }; then
            doctor_warn "$who is a nix trusted-user: a cell inherits that trust through the relay (it can change nix settings, import unsigned paths)"
            return
        fi
    done
    doctor_ok "$who is not a nix trusted-user"
}

doctor_helpers() {
    local cellgen b
    if find_cellgen 2>/dev/null; then cellgen=$CELLGEN_BIN; else
        doctor_fail "cellgen not found next to $0 or on PATH"
        return
    fi
    doctor_ok "cellgen: $cellgen"
    for b in relay proxy; do
        if [[ -x $(dirname "$cellgen")/$b || -x $(dirname "$cellgen")/../$b/$b ]] || command -v "$b" >/dev/null; then
            doctor_ok "$b found"
        else
            doctor_fail "$b not found next to cellgen or on PATH (pass --$b-bin PATH)"
        fi
    done
}

# Which per-cell caps are in force for this caller (docs/security.md).
# Whether a cell can have a cgroup of its own for CONTROLLER (pids,
# memory): a child of the cgroup we run in, made with mkdir (launch/cgroup.hpp).
doctor_can_cgroup() {
    local controller=$1 parent probe
    if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then # v2 only
        parent=/sys/fs/cgroup$(awk -F: '$1 == "0" {print $3}' /proc/self/cgroup)
        grep -qw "$controller" "${parent%/}/cgroup.controllers" 2>/dev/null || return 1
        [[ -w ${parent%/}/cgroup.subtree_control ]] || return 1
    else
        parent=/sys/fs/cgroup/$controller$(awk -F: -v c="$controller" \
            '{n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3}' /proc/self/cgroup)
    fi
    probe=${parent%/}/unsafe-cell-doctor-$$
    mkdir "$probe" 2>/dev/null || return 1
    rmdir "$probe"
}

doctor_limits() {
    doctor_ok "tmpfs caps: each tmpfs in a cell is capped (--tmpfs-size, default 2G)"
    if doctor_can_cgroup pids; then
        doctor_ok "process cap: the cell's own cgroup (pids.max = --max-procs, default 4096)"
    elif ((EUID == 0)); then
        doctor_warn "process cap: not in force for root here (no cgroup can be made, and the kernel does not apply RLIMIT_NPROC to root); run cells as an ordinary user, or wrap cell in systemd-run --scope -p TasksMax=N"
    else
        local procs
        procs=$(pgrep -c -u "$EUID" 2>/dev/null || echo '?')
        doctor_ok "process cap: RLIMIT_NPROC (--max-procs, default 4096; it also counts your $procs processes on this host)"
    fi
    if doctor_can_cgroup memory; then
        doctor_ok "memory cap: available (--memory-max SIZE, in the cell's own cgroup; default none)"
    else
        doctor_warn "memory cap: --memory-max cannot be had here (no cgroup can be made: it needs root or a delegated cgroup); wrap cell in systemd-run --user --scope -p MemoryMax=... if you need it"
    fi
}

doctor() {
    local warned=0 failed=0 sock=/nix/var/nix/daemon-socket
    [[ ${1:-} == --nix-daemon-socket ]] && sock=${2:-$sock}
    echo "cell doctor:"
    doctor_bwrap
    doctor_nix "$sock"
    doctor_helpers
    doctor_limits
    if ((failed)); then
        echo "cells cannot run here until the FAIL lines are fixed"
        return 1
    fi
    if ((warned)); then echo "cells can run here (read the warnings)"; else echo "cells can run here"; fi
}

main() {
    case ${1:-} in
    doctor)
        shift
        doctor "$@"
        exit $?
        ;;
    -h | --help | "")
        usage
        [[ -n ${1:-} ]]
        exit $?
        ;;
    esac
    echo "cell: this script only serves --help and doctor; run the cell program" >&2
    exit 2
}

main "$@"
