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
doctor_note() { printf '  note  %s\n' "$*"; }

# A sysctl's value: /proc/sys/NAME, or CELL_DOCTOR_PROC_SYS/NAME. Only tests
# set that (tests/cell/doctor.sh): a host whose AppArmor restricts user
# namespaces cannot be made by mounting a value over /proc/sys, since
# anything mounted over /proc keeps bwrap from mounting a new /proc.
doctor_sysctl() { cat "${CELL_DOCTOR_PROC_SYS:-/proc/sys}/$1" 2>/dev/null; }

# Whether we hold CAP_SYS_ADMIN (root on a host, not in most containers):
# AppArmor's restriction of user namespaces spares such callers.
doctor_sys_admin() {
    local caps
    caps=$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status 2>/dev/null)
    [[ -n $caps ]] && (((0x$caps >> 21) & 1))
}

# The kind of container we run in (docker, podman, lxc, ...), or nothing.
doctor_container() {
    local c=''
    if [[ -e /.dockerenv ]]; then
        c=docker
    elif [[ -e /run/.containerenv ]]; then
        c=podman
    else
        c=$(tr '\0' '\n' </proc/1/environ 2>/dev/null | sed -n 's/^container=//p' | head -n 1)
        [[ -n $c ]] || c=$(systemd-detect-virt --container 2>/dev/null)
    fi
    [[ $c == none ]] || printf '%s' "$c"
}

# In a container that keeps bwrap from making its namespaces: what of the
# container's confinement is in the way, and the options that lift it.
doctor_container_fail() {
    local kind=$1 causes=() docker=() podman=() masked
    if grep -q '^Seccomp:[[:space:]]*2' /proc/self/status 2>/dev/null; then
        causes+=("a seccomp filter forbids new namespaces")
        docker+=(--security-opt seccomp=unconfined)
        podman+=(--security-opt seccomp=unconfined)
    fi
    # Paths the container masks by mounting over them (docker: /proc/kcore,
    # /proc/timer_list, ...): the kernel then refuses a new /proc to a user
    # namespace. binfmt_misc sits on a permanently empty directory: harmless.
    masked=$(awk '$5 ~ /^\/proc\// && $5 != "/proc/sys/fs/binfmt_misc" {print $5}' \
        /proc/self/mountinfo 2>/dev/null | head -n 3 | tr '\n' ' ')
    if [[ -n $masked ]]; then
        causes+=("paths under /proc are masked (${masked% }), so no new /proc can be mounted")
        docker+=(--security-opt systempaths=unconfined)
        podman+=(--security-opt unmask=ALL)
    fi
    if grep -qs -e docker-default -e containers-default /proc/self/attr/current; then
        causes+=("the container's AppArmor profile ($(tr -d '\0' </proc/self/attr/current)) forbids mounts")
        docker+=(--security-opt apparmor=unconfined)
        podman+=(--security-opt apparmor=unconfined)
    fi
    if ((${#docker[@]} == 0)); then
        docker=(--security-opt seccomp=unconfined --security-opt apparmor=unconfined
            --security-opt systempaths=unconfined)
        podman=(--security-opt seccomp=unconfined --security-opt unmask=ALL)
    fi
    local because='' c
    for c in "${causes[@]}"; do because+="${because:+; }$c"; done
    [[ -n $because ]] && because=" ($because)"
    doctor_fail "this runs in a $kind container that does not let bwrap make namespaces$because: cells refuse to start in it (nothing runs unjailed); fix: start the container with docker run ${docker[*]} (or --privileged), or podman run ${podman[*]} (or --privileged); or run cells on the host"
}

# The setuid bit on the bwrap cells use (the first bwrap on PATH).
doctor_setuid() {
    local bin=$1
    [[ -u $bin ]] || return 0
    local fix="use a bwrap that is not setuid: chmod u-s $bin where your distribution allows it (bwrap then needs unprivileged user namespaces, checked below), or put a bwrap that is not setuid (Debian's, nixpkgs#bubblewrap) first on PATH"
    if ((EUID == 0)); then
        doctor_warn "bwrap is setuid root: root's cells are not affected, but an ordinary user's cannot run with it (a cell's launcher cannot enter the namespaces a setuid bwrap makes, and setuid bwrap refuses --size, the cap on each tmpfs in a cell); $fix"
    else
        doctor_fail "bwrap is setuid root: a cell's launcher cannot enter the namespaces it makes (to give the proxy its port in the jail), and setuid bwrap refuses --size, the cap on each tmpfs in a cell; $fix"
    fi
}

doctor_bwrap() {
    local v bin
    if ! v=$(bwrap --version 2>/dev/null); then
        doctor_fail "bwrap not found: apt-get install bubblewrap (or nix profile install nixpkgs#bubblewrap)"
        return
    fi
    bin=$(command -v bwrap)
    doctor_ok "$v ($bin)"
    doctor_setuid "$bin"
    local container err
    container=$(doctor_container)
    if err=$(bwrap --unshare-user --unshare-pid --ro-bind / / --proc /proc --dev /dev true 2>&1); then
        userns_ok=1
        doctor_ok "unprivileged user namespaces work${container:+ (in a $container container that allows them)}"
    else
        local why="bwrap cannot make its namespaces (${err%%$'\n'*})"
        [[ $(doctor_sysctl kernel/unprivileged_userns_clone) == 0 ]] &&
            why+="; fix: sysctl -w kernel.unprivileged_userns_clone=1"
        [[ $(doctor_sysctl user/max_user_namespaces) == 0 ]] &&
            why+="; fix: sysctl -w user.max_user_namespaces=15000"
        doctor_fail "$why"
        [[ -n $container ]] && doctor_container_fail "$container"
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
        [[ -n $container ]] && doctor_container_fail "$container"
    fi
}

# Ubuntu 23.10 and later (kernel.apparmor_restrict_unprivileged_userns = 1):
# a user namespace made without CAP_SYS_ADMIN gets no capabilities in it,
# unless the program's AppArmor profile grants `userns`.
doctor_apparmor() {
    [[ $(doctor_sysctl kernel/apparmor_restrict_unprivileged_userns) == 1 ]] || return 0
    local what="AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1, Ubuntu 23.10 and later)"
    local fix="fix: give bwrap an AppArmor profile that allows userns (docs/troubleshooting.md: /etc/apparmor.d/bwrap, then apparmor_parser -r /etc/apparmor.d/bwrap), or sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (lifts it for every program)"
    if doctor_sys_admin; then
        doctor_warn "$what: it only matters for ordinary users (callers with CAP_SYS_ADMIN, as root on a host, are spared): your cells are not affected, an ordinary user's fail unless bwrap has a profile that allows them; $fix"
    elif ((userns_ok)); then
        doctor_ok "$what, and bwrap is allowed them here (an AppArmor profile)"
    else
        doctor_fail "$what, and bwrap is not allowed them: your cells cannot run (it restricts callers without CAP_SYS_ADMIN: ordinary users; root on a host is spared); $fix"
    fi
}

# nix.conf as the daemon reads it: NIX_CONF_DIR/nix.conf, else /etc/nix's.
# doctor_nix_setting NAME: prints the last value of NAME (comments cut,
# blanks trimmed); fails when the file does not set NAME.
doctor_nix_conf() { printf '%s/nix.conf' "${NIX_CONF_DIR:-/etc/nix}"; }
doctor_nix_setting() {
    local line
    line=$(grep -E "^[[:space:]]*$1[[:space:]]*=" "$(doctor_nix_conf)" 2>/dev/null | tail -n 1)
    [[ -n $line ]] || return 1
    line=${line#*=}
    line=${line%%#*}
    line=${line#"${line%%[![:space:]]*}"}
    printf '%s' "${line%"${line##*[![:space:]]}"}"
}

# The daemon's trust in the relay's credentials. An ordinary user's relay
# runs as that user; root's drops to nobody (--drop-root), keeping only the
# non-root groups of the socket and its directory.
doctor_nix_trust() {
    local dir=$1 me groups who
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
    trusted=$(doctor_nix_setting trusted-users) || trusted=root
    for t in $trusted; do
        if [[ $t == "$me" || $t == '*' ]] || { [[ $t == @* ]] && tr ' ' '\n' <<<"$groups" | grep -qx "${t#@}"; }; then
            doctor_warn "$who is a nix trusted-user: a cell inherits that trust through the relay (it can change nix settings, import unsigned paths)"
            return
        fi
    done
    doctor_ok "$who is not a nix trusted-user"
}

# The daemon (as root) builds as the members of build-users-group (default
# nixbld), and refuses every build when the group is missing or empty.
doctor_nix_build_users() {
    local conf group entry members
    conf=$(doctor_nix_conf)
    if [[ $(doctor_nix_setting auto-allocate-uids) == true ]]; then
        doctor_ok "nix builds run as auto-allocated uids (auto-allocate-uids in $conf)"
        return
    fi
    group=$(doctor_nix_setting build-users-group) || group=nixbld
    if [[ -z $group ]]; then
        doctor_ok "nix builds run as the daemon's user (build-users-group is empty in $conf)"
        return
    fi
    entry=$(getent group "$group" 2>/dev/null || grep "^$group:" /etc/group 2>/dev/null)
    members=$(cut -d: -f4 <<<"$entry")
    local from="nix's default build-users-group; $conf does not set it"
    doctor_nix_setting build-users-group >/dev/null && from="build-users-group in $conf"
    local fix=
    [[ $group == nixbld ]] && fix="on Debian apt-get install nix-setup-systemd (it makes the group nixbld and the users nixbld1..nixbld10); elsewhere "
    [[ -z $entry ]] && fix+="groupadd --system $group, then "
    fix+="add build users to the group (useradd --system --no-create-home --home-dir /var/empty --shell /usr/sbin/nologin --gid $group --groups $group ${group}1, and so on to ${group}10); or set build-users-group = (empty: builds run as root) in $conf; then restart the daemon"
    if [[ -z $entry ]]; then
        doctor_warn "nix builds will fail: the build users group '$group' ($from) does not exist; fix: $fix"
    elif [[ -z $members ]]; then
        doctor_warn "nix builds will fail: the build users group '$group' ($from) has no members (the daemon runs each build as one of them); fix: $fix"
    else
        doctor_ok "nix build users: group $group ($(tr ',' '\n' <<<"$members" | wc -l) members)"
    fi
}

# The daemon's build sandbox (sandbox = true, nix's default on Linux) needs
# what nix probes for (libutil/namespaces.cc): a user namespace where one can
# be made, then new mount and PID namespaces with a new /proc. The daemon
# runs as root, so only root can probe for it.
doctor_nix_sandbox() {
    local conf mode fallback
    conf=$(doctor_nix_conf)
    mode=$(doctor_nix_setting sandbox) || mode=true
    [[ $mode == false ]] && return
    if ((EUID != 0)); then
        doctor_ok "nix sandbox = $mode: not checked (the daemon runs as root; run cell doctor as root to check it can make its sandbox)"
        return
    fi
    command -v unshare >/dev/null || return
    local userns=() err
    unshare --user true 2>/dev/null && userns=(--user --map-root-user)
    if err=$(unshare "${userns[@]}" --mount --pid --fork --mount-proc true 2>&1); then
        doctor_ok "nix sandbox = $mode: the daemon can make its build sandbox here"
        return
    fi
    err=${err%%$'\n'*}
    fallback=$(doctor_nix_setting sandbox-fallback) || fallback=true
    if [[ $fallback == false ]]; then
        doctor_warn "nix builds will fail: sandbox = $mode and sandbox-fallback = false in $conf, but no build sandbox can be made here (${err:-unshare failed}); fix: sandbox = false in $conf (or give the daemon namespaces; sandbox = relaxed does not help), then restart the daemon"
    else
        doctor_warn "nix builds run unsandboxed: sandbox = $mode, but no build sandbox can be made here (${err:-unshare failed}), so the daemon falls back to none (sandbox-fallback); fix: give the daemon namespaces, or say sandbox = false in $conf so that nobody counts on it"
    fi
}

doctor_nix() {
    local dir=${1:-/nix/var/nix/daemon-socket}
    if [[ ! -S $dir/socket ]]; then
        doctor_warn "no nix daemon socket at $dir/socket: cells run without nix (--nix auto); start nix-daemon or pass --nix-daemon-socket DIR"
        return
    fi
    doctor_ok "nix daemon socket $dir/socket"
    doctor_nix_trust "$dir"
    doctor_nix_build_users
    doctor_nix_sandbox
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

# --containers (optional): the engine's packages, cell-engine, and the
# tun device slirp4netns opens for bridged containers (docs/containers.md).
doctor_containers() {
    local pkgs="podman crun conmon slirp4netns catatonit containernetworking-plugins" b missing=()
    for b in podman crun conmon slirp4netns catatonit; do
        command -v "$b" >/dev/null || [[ -x /usr/libexec/podman/$b || -x /usr/lib/podman/$b ]] ||
            missing+=("$b")
    done
    if ! command -v podman >/dev/null; then
        doctor_note "--containers is not available: podman is not installed (apt-get install $pkgs)"
        return
    fi
    if ((${#missing[@]})); then
        doctor_warn "--containers: ${missing[*]} not found; fix: apt-get install $pkgs"
        return
    fi
    if find_cellgen 2>/dev/null && ! [[ -x $(dirname "$CELLGEN_BIN")/cell-engine ||
        -x $(dirname "$CELLGEN_BIN")/../launch/cell-engine ]]; then
        doctor_warn "--containers: cell-engine not found next to cellgen (reinstall unsafe-cell)"
        return
    fi
    if [[ ! -c /dev/net/tun ]]; then
        doctor_note "--containers: no /dev/net/tun: containers work on --network host and none only; fix: modprobe tun"
    elif ((EUID != 0)) && ! [[ -r /dev/net/tun && -w /dev/net/tun ]]; then
        doctor_note "--containers: /dev/net/tun is mode $(stat -c %a /dev/net/tun) and not yours: your containers work on --network host and none only (a bridge needs slirp4netns, which opens it); fix: sudo chmod 0666 /dev/net/tun (the udev default on Debian, Ubuntu and Fedora; opening it grants nothing without a network namespace of your own)"
    else
        doctor_ok "--containers: podman $(podman --version 2>/dev/null | awk '{print $3}'), crun, conmon, slirp4netns and /dev/net/tun usable"
    fi
}

doctor() {
    local warned=0 failed=0 userns_ok=0 sock=/nix/var/nix/daemon-socket
    [[ ${1:-} == --nix-daemon-socket ]] && sock=${2:-$sock}
    echo "cell doctor:"
    doctor_bwrap
    doctor_apparmor
    doctor_nix "$sock"
    doctor_helpers
    doctor_limits
    doctor_containers
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
