#!/usr/bin/env bash
# `cell doctor` against the conditions that break real hosts, each made for
# real in this test's scratch dir or a private mount namespace (the host is
# left as it was), and the message it must print; and that a healthy host
# prints none of them:
# - nested in a container that forbids namespaces: a seccomp filter like
#   Docker's default profile, and paths under /proc masked by mounts;
# - Ubuntu's AppArmor restriction on unprivileged user namespaces, as root
#   and as an ordinary user (the sysctl's value through CELL_DOCTOR_PROC_SYS:
#   anything mounted over /proc keeps bwrap from mounting a new /proc);
# - a setuid-root bwrap first on PATH;
# - a real nix daemon whose build users group is missing or has no members,
#   and whose build sandbox cannot be made (with and without
#   sandbox-fallback); real builds through it fail as doctor says.
set -uo pipefail
source "$(dirname -- "$0")/lib.sh"

if ((EUID != 0)); then
    echo "1..0 # SKIP needs root (private mount namespaces, a setuid bwrap, a nix daemon)"
    exit 0
fi

# says OUT FRAGMENT...: OUT has every FRAGMENT; never OUT FRAGMENT...: none.
# Either shows OUT when it fails.
says() {
    local out=$1 f
    shift
    for f; do
        grep -qF -- "$f" <<<"$out" || { printf 'no "%s" in:\n%s\n' "$f" "$out"; return 1; }
    done
}
never() {
    local out=$1 f
    shift
    for f; do
        ! grep -qF -- "$f" <<<"$out" || { printf '"%s" in:\n%s\n' "$f" "$out"; return 1; }
    done
}

# confined CMD...: runs CMD under a seccomp filter that forbids new
# namespaces the way Docker's default profile does for a container without
# CAP_SYS_ADMIN: unshare and clone with a namespace flag fail with EPERM,
# clone3 with ENOSYS (so that libc falls back to clone).
cat >"$SCRATCH/seccomp.py" <<'EOF'
import ctypes, os, platform, struct, sys

arch, nr = {
    "x86_64": (0xC000003E, {"unshare": 272, "clone": 56, "clone3": 435}),
    "aarch64": (0xC00000B7, {"unshare": 97, "clone": 220, "clone3": 435}),
}[platform.machine()]
LD, JEQ, JSET, RET = 0x20, 0x15, 0x45, 0x06  # BPF_LD|W|ABS, JMP|JEQ|K, JMP|JSET|K, RET|K
ALLOW, EPERM, ENOSYS = 0x7FFF0000, 0x00050001, 0x00050026
CLONE_NEW_ANY = 0x7E020000  # NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
prog = [  # (code, jt, jf, k); seccomp_data: nr at 0, arch at 4, args[0] at 16
    (LD, 0, 0, 4), (JEQ, 0, 6, arch),
    (LD, 0, 0, 0), (JEQ, 5, 0, nr["unshare"]), (JEQ, 5, 0, nr["clone3"]),
    (JEQ, 0, 2, nr["clone"]), (LD, 0, 0, 16), (JSET, 1, 0, CLONE_NEW_ANY),
    (RET, 0, 0, ALLOW), (RET, 0, 0, EPERM), (RET, 0, 0, ENOSYS),
]
code = b"".join(struct.pack("HBBI", *i) for i in prog)


class Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]


libc = ctypes.CDLL(None, use_errno=True)
fprog = Fprog(len(prog), code)
# PR_SET_NO_NEW_PRIVS, then PR_SET_SECCOMP with SECCOMP_MODE_FILTER.
if libc.prctl(38, 1, 0, 0, 0) or libc.prctl(22, 2, ctypes.byref(fprog), 0, 0):
    sys.exit("seccomp: " + os.strerror(ctypes.get_errno()))
os.execvp(sys.argv[1], sys.argv[1:])
EOF
confined=(python3 "$SCRATCH/seccomp.py")

# in_container [MASK] -- CMD...: runs CMD in a private mount namespace that
# carries podman's container marker (/run/.containerenv, on a tmpfs over
# /run), with /dev/null mounted over MASK (a path under /proc) when given,
# as Docker and podman mask /proc/kcore, /proc/timer_list and others.
in_container() {
    local mask=$1
    shift 2
    unshare --mount --propagation private bash -c '
        mount -t tmpfs tmpfs /run && : >/run/.containerenv || exit 99
        [[ -z $1 ]] || mount --bind /dev/null "$1" || exit 99
        shift
        exec "$@"' _ "$mask" "$@"
}

# ---- a healthy host ------------------------------------------------------
new_lines=("container that does not let" "AppArmor" "setuid" "nix builds will fail"
    "nix builds run unsandboxed")
# The kind of container doctor names, from the markers it reads first.
kind=podman
[[ -e /.dockerenv ]] && kind=docker
for who in root unprivileged; do
    if [[ $who == root ]]; then
        out=$("$CELL" doctor 2>&1)
    else
        out=$(as_unpriv "$UNPRIV_CELL" doctor 2>&1)
    fi
    rc=$?
    check "$who: cell doctor passes on this host ($rc)" says "$out" "cells can run here"
    check "$who: ... and says none of the new checks' complaints" never "$out" FAIL "${new_lines[@]}"
    if [[ -e /.dockerenv || -e /run/.containerenv ]]; then
        check "$who: ... in a $kind container that allows namespaces, it says so" says "$out" \
            "ok    unprivileged user namespaces work (in a $kind container that allows them)"
    fi
done

# ---- nested in a container without the privileges ------------------------
# A seccomp filter: bwrap cannot make its namespaces; doctor fails closed and
# names the filter and the options that lift it.
out=$(in_container "" -- "${confined[@]}" "$CELL" doctor 2>&1)
rc=$?
check "container with a seccomp filter: exit 1 ($rc)" test "$rc" = 1
check "... bwrap's own error, and the container that forbids namespaces" says "$out" \
    "FAIL  bwrap cannot make its namespaces (bwrap: " \
    "FAIL  this runs in a $kind container that does not let bwrap make namespaces (a seccomp filter forbids new namespaces): cells refuse to start in it (nothing runs unjailed)"
check "... the fix: seccomp=unconfined, --privileged, or the host" says "$out" \
    "fix: start the container with docker run --security-opt seccomp=unconfined (or --privileged), or podman run --security-opt seccomp=unconfined (or --privileged); or run cells on the host"

# Masked /proc: the kernel refuses bwrap a new /proc in its user namespace.
mask=/proc/timer_list
[[ -e $mask ]] || mask=/proc/version
out=$(in_container "$mask" -- "$CELL" doctor 2>&1)
rc=$?
check "container with a masked /proc: exit 1 ($rc)" test "$rc" = 1
check "... names the masked path and the fix (systempaths=unconfined, unmask=ALL)" says "$out" \
    "FAIL  this runs in a $kind container that does not let bwrap make namespaces (paths under /proc are masked ($mask), so no new /proc can be mounted)" \
    "docker run --security-opt systempaths=unconfined (or --privileged), or podman run --security-opt unmask=ALL (or --privileged)"

# ---- Ubuntu's AppArmor restriction ----------------------------------------
mkdir -p "$SCRATCH/sys-aa/kernel" "$SCRATCH/sys-aa0/kernel"
echo 1 >"$SCRATCH/sys-aa/kernel/apparmor_restrict_unprivileged_userns"
echo 0 >"$SCRATCH/sys-aa0/kernel/apparmor_restrict_unprivileged_userns"
aa="AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1, Ubuntu 23.10 and later)"
aa_fix=("fix: give bwrap an AppArmor profile that allows userns"
    "or sysctl -w kernel.apparmor_restrict_unprivileged_userns=0")
# An ordinary user whose bwrap is refused its namespaces: FAIL with the fix.
out=$(as_unpriv env CELL_DOCTOR_PROC_SYS="$SCRATCH/sys-aa" "${confined[@]}" "$UNPRIV_CELL" doctor 2>&1)
rc=$?
check "AppArmor, an ordinary user's bwrap refused: exit 1 ($rc)" test "$rc" = 1
check "... FAIL naming the restriction, whom it stops, and the fixes" says "$out" \
    "FAIL  $aa, and bwrap is not allowed them: your cells cannot run (it restricts callers without CAP_SYS_ADMIN: ordinary users; root on a host is spared)" \
    "${aa_fix[@]}"
# An ordinary user whose bwrap makes its namespaces (a profile allows them).
out=$(as_unpriv env CELL_DOCTOR_PROC_SYS="$SCRATCH/sys-aa" "$UNPRIV_CELL" doctor 2>&1)
check "AppArmor, an ordinary user's bwrap allowed: ok" says "$out" \
    "ok    $aa, and bwrap is allowed them here"
check "... and no FAIL" never "$out" FAIL
# Root is not restricted: a warning that it matters for ordinary users.
out=$(CELL_DOCTOR_PROC_SYS="$SCRATCH/sys-aa" "$CELL" doctor 2>&1)
rc=$?
check "AppArmor, root: exit 0 ($rc)" test "$rc" = 0
check "... a warning that only ordinary users are refused, with the fixes" says "$out" \
    "warn  $aa: it only matters for ordinary users (callers with CAP_SYS_ADMIN, as root on a host, are spared): your cells are not affected" \
    "${aa_fix[@]}"
out=$(CELL_DOCTOR_PROC_SYS="$SCRATCH/sys-aa0" "$CELL" doctor 2>&1)
check "AppArmor's sysctl at 0: nothing said" never "$out" AppArmor

# ---- a setuid bwrap first on PATH -----------------------------------------
# In a directory only root and the test's ordinary user can enter.
suid=$SCRATCH/suid
mkdir -m 750 "$suid"
chgrp "$(id -gn "$(unpriv_user)")" "$suid"
cp "$(command -v bwrap)" "$suid/bwrap"
chmod 4755 "$suid/bwrap"
out=$(PATH=$suid:$PATH "$CELL" doctor 2>&1)
rc=$?
check "setuid bwrap, root: exit 0 ($rc)" test "$rc" = 0
check "... a warning that ordinary users cannot use it, with the fix" says "$out" \
    "warn  bwrap is setuid root: root's cells are not affected, but an ordinary user's cannot run with it" \
    "use a bwrap that is not setuid: chmod u-s $suid/bwrap"
out=$(as_unpriv env PATH="$suid:/usr/local/bin:/usr/bin:/bin" "$UNPRIV_CELL" doctor 2>&1)
rc=$?
check "setuid bwrap, an ordinary user: exit 1 ($rc)" test "$rc" = 1
check "... FAIL with the fix" says "$out" \
    "FAIL  bwrap is setuid root: a cell's launcher cannot enter the namespaces it makes" \
    "use a bwrap that is not setuid: chmod u-s $suid/bwrap"
mkdir -p "$SCRATCH/wt"
chown "$(unpriv_user)" "$SCRATCH/wt"
out=$(as_unpriv env PATH="$suid:/usr/local/bin:/usr/bin:/bin" XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" \
    "$UNPRIV_CELL" --nix off --worktree "$SCRATCH/wt" -- true 2>&1)
rc=$?
check "... as the launcher, which refuses it (exit 70: $rc)" test "$rc" = 70
check "... saying why" says "$out" "$suid/bwrap is setuid root"

# ---- the nix daemon ---------------------------------------------------------
# start_daemon DIR CONF [WRAPPER...]: a real nix-daemon reading CONF/nix.conf,
# its socket DIR/socket (what --nix-daemon-socket DIR names).
DAEMONS=()
start_daemon() {
    local dir=$1 conf=$2 i
    shift 2
    mkdir -p "$dir"
    NIX_CONF_DIR=$conf NIX_DAEMON_SOCKET_PATH=$dir/socket setsid "$@" nix-daemon \
        >"$dir/log" 2>&1 </dev/null &
    DAEMONS+=($!)
    for ((i = 0; i < 200; i++)); do
        [[ -S $dir/socket ]] && return 0
        sleep 0.05
    done
    cat "$dir/log" >&2
    return 1
}
stop_daemons() {
    local p
    for p in "${DAEMONS[@]}"; do kill -- "-$p" 2>/dev/null; done
}
trap 'stop_daemons; cleanup_scratch' EXIT
# nix_build DIR CONF NAME: builds a trivial derivation through DIR's daemon.
# Each NAME is one that must never build (the daemon refuses it), so that
# no output of it is in the store and the next run builds it again.
nix_build() {
    NIX_CONF_DIR=$2 NIX_REMOTE=unix://$1/socket nix-build --no-out-link -E \
        "derivation { name = \"$3\"; system = builtins.currentSystem;
          builder = \"/bin/sh\"; args = [ \"-c\" \"echo > \$out\" ]; }" 2>&1
}
# nixconf NAME LINE...: $SCRATCH/NAME/nix.conf
nixconf() { mkdir -p "$SCRATCH/$1" && printf '%s\n' "${@:2}" >"$SCRATCH/$1/nix.conf"; }

if ! command -v nix-daemon >/dev/null; then
    echo "# no nix-daemon: the nix checks are skipped"
    tap_done
    exit
fi
nixconf conf-nogroup "build-users-group = cell-doctor-nobld" "sandbox = false" "substituters ="
nixconf conf-ok "build-users-group =" "sandbox = true" "substituters ="
nixconf conf-nofallback "build-users-group =" "sandbox = true" "sandbox-fallback = false" \
    "substituters ="
nixconf conf-fallback "build-users-group =" "sandbox = true" "substituters ="
mkdir -p "$SCRATCH/conf-default" # no nix.conf: nix's defaults
chmod -R a+rX "$SCRATCH"/conf-*
start_daemon "$SCRATCH/nixd" "$SCRATCH/conf-nogroup"
check "a private nix-daemon starts" test -S "$SCRATCH/nixd/socket"

# A build users group that does not exist.
out=$(NIX_CONF_DIR=$SCRATCH/conf-nogroup "$CELL" doctor --nix-daemon-socket "$SCRATCH/nixd" 2>&1)
rc=$?
check "nix, a missing build users group: exit 0 ($rc)" test "$rc" = 0
check "... the warning and the fix" says "$out" \
    "warn  nix builds will fail: the build users group 'cell-doctor-nobld' (build-users-group in $SCRATCH/conf-nogroup/nix.conf) does not exist; fix: groupadd --system cell-doctor-nobld, then add build users to the group"
check "... and a real build through that daemon fails so" says \
    "$(nix_build "$SCRATCH/nixd" "$SCRATCH/conf-nogroup" cell-doctor-no-build-users)" \
    "the group 'cell-doctor-nobld' specified in 'build-users-group' does not exist"

# nix's default group, nixbld, missing, without members, with members: an
# /etc/group of each kind over the host's, in a private mount namespace.
grep -v '^nixbld:' /etc/group >"$SCRATCH/group-none"
{ cat "$SCRATCH/group-none"; echo 'nixbld:x:30000:'; } >"$SCRATCH/group-empty"
{ cat "$SCRATCH/group-none"; echo 'nixbld:x:30000:nixbld1,nixbld2'; } >"$SCRATCH/group-ok"
with_group() {
    unshare --mount --propagation private bash -c 'mount --bind "$1" /etc/group && shift && exec "$@"' \
        _ "$SCRATCH/group-$1" env NIX_CONF_DIR="$SCRATCH/conf-default" "${@:2}"
}
default="nix's default build-users-group; $SCRATCH/conf-default/nix.conf does not set it"
out=$(with_group none "$CELL" doctor --nix-daemon-socket "$SCRATCH/nixd" 2>&1)
check "nix, no nixbld group: the warning with Debian's fix" says "$out" \
    "warn  nix builds will fail: the build users group 'nixbld' ($default) does not exist" \
    "fix: on Debian apt-get install nix-setup-systemd"
out=$(with_group empty "$CELL" doctor --nix-daemon-socket "$SCRATCH/nixd" 2>&1)
check "nix, nixbld without members: the warning" says "$out" \
    "warn  nix builds will fail: the build users group 'nixbld' ($default) has no members"
out=$(with_group ok "$CELL" doctor --nix-daemon-socket "$SCRATCH/nixd" 2>&1)
check "nix, nixbld with members: ok" says "$out" "ok    nix build users: group nixbld (2 members)"
check "... and no warning" never "$out" "nix builds will fail"
out=$(NIX_CONF_DIR=$SCRATCH/conf-ok "$CELL" doctor --nix-daemon-socket "$SCRATCH/nixd" 2>&1)
check "nix, builds as root and a sandbox that can be made: ok" says "$out" \
    "ok    nix builds run as the daemon's user (build-users-group is empty" \
    "ok    nix sandbox = true: the daemon can make its build sandbox here"
check "... and no warning" never "$out" "nix builds will fail" "unsandboxed"
out=$(as_unpriv env NIX_CONF_DIR="$SCRATCH/conf-ok" "$UNPRIV_CELL" doctor \
    --nix-daemon-socket "$SCRATCH/nixd" 2>&1)
check "nix, an ordinary user: the sandbox is not checked (the daemon is root's)" says "$out" \
    "ok    nix sandbox = true: not checked (the daemon runs as root; run cell doctor as root"

# sandbox = true where no namespaces can be made (the seccomp filter).
out=$(NIX_CONF_DIR=$SCRATCH/conf-nofallback "${confined[@]}" "$CELL" doctor \
    --nix-daemon-socket "$SCRATCH/nixd" 2>&1)
check "nix, sandbox = true, sandbox-fallback = false, no namespaces: the warning and the fix" \
    says "$out" \
    "warn  nix builds will fail: sandbox = true and sandbox-fallback = false in $SCRATCH/conf-nofallback/nix.conf, but no build sandbox can be made here (unshare: " \
    "fix: sandbox = false in $SCRATCH/conf-nofallback/nix.conf"
start_daemon "$SCRATCH/nixd-confined" "$SCRATCH/conf-nofallback" "${confined[@]}"
check "a nix-daemon under the seccomp filter starts" test -S "$SCRATCH/nixd-confined/socket"
build=$(nix_build "$SCRATCH/nixd-confined" "$SCRATCH/conf-nofallback" cell-doctor-no-sandbox)
rc=$?
check "... and a real build through it fails ($rc)" \
    bash -c '[[ $1 != 0 && $2 == *"error: "* ]] || { echo "$2"; exit 1; }' _ "$rc" "$build"
out=$(NIX_CONF_DIR=$SCRATCH/conf-fallback "${confined[@]}" "$CELL" doctor \
    --nix-daemon-socket "$SCRATCH/nixd" 2>&1)
check "nix, sandbox = true with the default fallback, no namespaces: builds run unsandboxed" \
    says "$out" \
    "warn  nix builds run unsandboxed: sandbox = true, but no build sandbox can be made here" \
    "fix: give the daemon namespaces, or say sandbox = false"

tap_done
