#!/usr/bin/env bash
# Runs a plan rendered by cellgen through the real bwrap, as root and as an
# unprivileged user, and checks from inside: the user is `cell`, HOME is
# /home/cell, the worktree is writable and the write shows on the host owned
# by the caller, /usr is read-only, the network namespace has only `lo`.
# The runtime dir is made by cell-launch --prepare-dir, as a cell's launcher makes it.
set -euo pipefail
: "${CELLGEN:?path to cellgen}" "${CELL_LAUNCH:?path to cell-launch}"
: "${UNPRIV_LIB:?path to tests/lib/unpriv_user.sh}"
# shellcheck source=../lib/unpriv_user.sh
source "$UNPRIV_LIB"

work=$(mktemp -d /tmp/cellgen-bwrap.XXXXXX)
chmod 755 "$work"
trap 'rm -rf -- "$work"' EXIT

failures=0
check() { # check DESCRIPTION CONDITION...
    local what=$1
    shift
    if "$@"; then
        echo "ok - $what"
    else
        echo "not ok - $what"
        failures=$((failures + 1))
    fi
}

# The part run as each user: prints KEY=VALUE lines from inside the jail.
cat >"$work/case.sh" <<'CASE'
set -euo pipefail
cellgen=$1 dir=$2 cell_launch=$3
wt=$dir/worktree rt=$dir/rt
mkdir -p "$wt" "$rt"
printf 'base =\nhost-system =\n' >"$dir/profile.ini"
opts=(--profile "$dir/profile.ini" --worktree "$wt")
"$cellgen" "${opts[@]}" --print plan |
    "$cell_launch" --plan-fd 0 --prepare-dir "$rt" >/dev/null
mapfile -d '' argv < <("$cellgen" "${opts[@]}" --runtime-dir "$rt" --print argv -0 -- bash -c '
    echo "user=$(id -un)"
    echo "uid=$(id -u)"
    echo "home=$HOME"
    echo "pwd=$PWD"
    echo inside >made-inside && echo "wt_write=ok"
    touch "$HOME/.probe" /tmp/probe && echo "home_tmp_write=ok"
    echo "hosts=$(head -n 1 /etc/hosts)"
    echo "hostname=$(cat /proc/sys/kernel/hostname)"
    if touch /usr/cell-probe 2>/dev/null; then echo usr=writable; else echo usr=readonly; fi
    if touch /etc/probe 2>/dev/null || mkdir /probe 2>/dev/null; then echo root=writable; else echo root=readonly; fi
    echo "links=$(ip -o link show | awk -F": " "{print \$2}" | tr "\n" " ")"
    echo "netdev=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | tr "\n" " ")"
    echo "arg=$0"
' 'a b $c')
"${argv[@]}"
CASE

run_as() { # run_as LABEL RUNNER...
    local label=$1
    shift
    local dir=$work/$label
    mkdir -p "$dir"
    [[ $label == root ]] || chown "$(unpriv_user)" "$dir"
    local out
    if ! out=$("$@" bash "$work/case.sh" "$CELLGEN" "$dir" "$CELL_LAUNCH" 2>&1); then
        echo "not ok - $label: cell failed to run:"
        sed 's/^/#   /' <<<"$out"
        failures=$((failures + 1))
        return
    fi
    sed 's/^/#   /' <<<"$out"
    local caller
    caller=$("$@" id -u)
    check "$label: id -un is cell" grep -qx 'user=cell' <<<"$out"
    check "$label: uid is 1000 inside" grep -qx 'uid=1000' <<<"$out"
    check "$label: HOME is /home/cell" grep -qx 'home=/home/cell' <<<"$out"
    check "$label: starts in the worktree" grep -qx 'pwd=/home/cell/worktree' <<<"$out"
    check "$label: worktree writable" grep -qx 'wt_write=ok' <<<"$out"
    check "$label: HOME and /tmp writable" grep -qx 'home_tmp_write=ok' <<<"$out"
    check "$label: generated /etc/hosts" grep -qx 'hosts=127.0.0.1 localhost' <<<"$out"
    check "$label: hostname is cell" grep -qx 'hostname=cell' <<<"$out"
    check "$label: write visible on the host" grep -qx inside "$dir/worktree/made-inside"
    check "$label: host file owned by the caller" test "$(stat -c %u "$dir/worktree/made-inside")" = "$caller"
    check "$label: /usr read-only" grep -qx 'usr=readonly' <<<"$out"
    check "$label: / and /etc read-only" grep -qx 'root=readonly' <<<"$out"
    check "$label: ip link shows only lo" grep -qx 'links=lo ' <<<"$out"
    check "$label: /proc/net/dev shows only lo" grep -qx 'netdev=lo ' <<<"$out"
    check "$label: arguments intact" grep -qxF 'arg=a b $c' <<<"$out"
    check "$label: no probe file left in /usr" test ! -e /usr/cell-probe
}

run_as root env
if unpriv_user >/dev/null; then
    run_as unpriv as_unpriv
else
    echo "not ok - no unprivileged user available"
    failures=$((failures + 1))
fi

# The whole generated script (plan + embedded launcher) runs a cell by itself.
mkdir -p "$work/script-wt" "$work/xdg"
printf 'base =\nhost-system =\nlog-dir =\n' >"$work/script.ini"
"$CELLGEN" --profile "$work/script.ini" --worktree "$work/script-wt" --print script \
    -- sh -c 'echo "$(id -un) $PWD $1" >out' sh >"$work/cell.sh"
set +e
XDG_RUNTIME_DIR=$work/xdg timeout 30 bash "$work/cell.sh" 'it works' </dev/null
rc=$?
set -e
check "generated script exits 0" test "$rc" = 0
check "generated script ran the command with its arguments" \
    grep -qx 'cell /home/cell/worktree it works' "$work/script-wt/out"
check "generated script removed its runtime dir" \
    test -z "$(ls -A "$work/xdg")"

# A missing worktree renders (it may exist by the time the wrapper runs) and
# the generated script refuses it at start: exit 2, one line naming the
# flag, nothing created, no runtime dir left.
set +e
printf 'base =\n' >"$work/base.ini"
"$CELLGEN" --profile "$work/base.ini" --worktree "$work/missing" --print script -- true \
    >"$work/missing.sh" 2>"$work/missing.err"
rc_render=$?
err=$(XDG_RUNTIME_DIR=$work/xdg timeout 30 bash "$work/missing.sh" 2>&1 </dev/null)
rc=$?
set -e
check "missing worktree still renders" test "$rc_render" = 0
check "missing worktree: the script exits 2" test "$rc" = 2
check "missing worktree names the flag" \
    test "$err" = "cell: --worktree: '$work/missing': no such directory"
check "missing worktree is not created" test ! -e "$work/missing"
check "missing worktree: no runtime dir left" test -z "$(ls -A "$work/xdg")"

# fwd-env in a script is the wrapper caller's, not cellgen's: rendered with
# the variable unset, it reaches the cell when set at run time; unset then,
# --fwd-env stops the script with exit 2 and --try-fwd-env leaves it out.
mkdir -p "$work/fwd-wt"
env -u CELLGEN_FWD_A -u CELLGEN_FWD_B "$CELLGEN" --profile "$work/script.ini" --worktree "$work/fwd-wt" \
    --fwd-env CELLGEN_FWD_A --try-fwd-env CELLGEN_FWD_B --print script \
    -- sh -c 'echo "A=$CELLGEN_FWD_A B=${CELLGEN_FWD_B-unset}" >out' >"$work/fwd.sh"
set +e
CELLGEN_FWD_A='x y$z' XDG_RUNTIME_DIR=$work/xdg timeout 30 bash "$work/fwd.sh" </dev/null
rc_set=$?
err=$(env -u CELLGEN_FWD_A CELLGEN_FWD_B=b XDG_RUNTIME_DIR=$work/xdg timeout 30 bash "$work/fwd.sh" 2>&1 </dev/null)
rc_unset=$?
set -e
check "fwd-env: a script rendered without the variable forwards it at run time" \
    test "$rc_set $(cat "$work/fwd-wt/out" 2>/dev/null)" = '0 A=x y$z B=unset'
check "fwd-env: unset at run time, the script exits 2 naming it" \
    test "$rc_unset $err" = "2 cell: --fwd-env: CELLGEN_FWD_A is not set in the caller's environment"
check "fwd-env: that failure leaves no runtime dir" test -z "$(ls -A "$work/xdg")"

# cell-launch refuses what it cannot run, before anything is made: exit 2
# and one line naming the fault (the fd, the field).
launch=$CELL_LAUNCH
set +e
err=$(XDG_RUNTIME_DIR=$work/xdg "$launch" 2>&1)
rc_usage=$?
err_json=$(XDG_RUNTIME_DIR=$work/xdg "$launch" --plan-fd 3 3<<<'{"cell_launch_plan":1' 2>&1)
rc_json=$?
"$CELLGEN" --profile "$work/script.ini" --worktree "$work/script-wt" --print plan >"$work/plan.json"
sed 's/"bwrap_args":\[/"bwrap_args":[7,/' "$work/plan.json" >"$work/bad-plan.json"
err_field=$(XDG_RUNTIME_DIR=$work/xdg "$launch" --plan-fd 4 4<"$work/bad-plan.json" 2>&1)
rc_field=$?
"$CELLGEN" --profile "$work/script.ini" --worktree "$work/script-wt" --print script >"$work/nocmd.sh"
err_nocmd=$(XDG_RUNTIME_DIR=$work/xdg timeout 30 sh "$work/nocmd.sh" 2>&1 </dev/null)
rc_nocmd=$?
set -e
check "cell-launch without --plan-fd: exit 2, naming it" \
    bash -c '[[ $1 == 2 && $2 == *"--plan-fd"* ]]' _ "$rc_usage" "$err"
check "cell-launch: a plan that is not JSON: exit 2, naming the fd" \
    bash -c '[[ $1 == 2 && $2 == "cell-launch: the plan on fd 3: plan: not JSON"* ]]' _ "$rc_json" "$err_json"
check "cell-launch: a wrong field: exit 2, naming it" \
    test "$rc_field $err_field" = "2 cell-launch: the plan on fd 4: plan.bwrap_args[0]: expected a string or {\"rt\": PATH}"
check "a wrapper with no command in its plan and no arguments: exit 2" \
    test "$rc_nocmd $err_nocmd" = "2 cell: no command to run (give it after --, or as the wrapper's arguments)"
check "those failures leave no runtime dir" test -z "$(ls -A "$work/xdg")"

# The plan on stdin (--plan-fd 0): once read, stdin is /dev/null for the
# command, never closed (a later open would take fd 0). CELL_READY_TIMEOUT
# set but empty means the default, as it did in the bash launcher.
"$CELLGEN" --profile "$work/script.ini" --worktree "$work/script-wt" --print plan -- \
    sh -c 'if [ -e /proc/self/fd/0 ]; then readlink /proc/self/fd/0; else echo closed; fi' \
    >"$work/stdin-plan.json"
set +e
out_stdin=$(CELL_READY_TIMEOUT= XDG_RUNTIME_DIR=$work/xdg timeout 30 "$launch" --plan-fd 0 \
    <"$work/stdin-plan.json" 2>&1)
rc_stdin=$?
set -e
check "--plan-fd 0: the command's stdin is /dev/null; an empty CELL_READY_TIMEOUT is the default" \
    test "$rc_stdin $out_stdin" = "0 /dev/null"

((failures == 0)) || { echo "$failures check(s) failed"; exit 1; }
echo "all checks passed"
