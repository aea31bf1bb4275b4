# ---- unsafe-cell launcher -------------------------------------------------
# The one implementation of "execute a plan". `cellgen --print script` emits a
# `cell_plan` function and then this file verbatim; the `cell` command runs
# exactly that script, so `cell` and a generated wrapper cannot drift apart.
#
# Theory of operation: this script does what only the plan knows how to do
# (check the required dirs and variables, make and fill the runtime dir, pick
# the daemons to run), with bash builtins only; then it execs cell-launch,
# which runs the cell: host daemons in one process group with a lifeline and
# a ready pipe each, bwrap (options through --args FD, never argv) with the
# in-jail gate, the bounded wait for readiness, and cleanup on every exit
# path. Every fork costs milliseconds of start-up, so the script makes none.
# See docs/cell.md and cellgen/launch/launcher.hpp.

set -uo pipefail
shopt -s extglob

CELL_RT=
CELL_LAUNCH_LOG=
CELL_GATE_OPTION=
CELL_READY_TIMEOUT=${CELL_READY_TIMEOUT:-10}

cell_say() {
    printf 'cell: %s\n' "$*" >&2
    cell_note "$*"
}

# Launcher log only (for the log dir), not the terminal.
cell_note() {
    [[ -n $CELL_LAUNCH_LOG ]] || return 0
    printf '%(%FT%T)T %s\n' -1 "$*" 2>/dev/null >>"$CELL_LAUNCH_LOG" || true
}

# Debian's bash-builtins (and other distributions' bash packages) ship mkdir
# and rm as loadable builtins: with them the launcher runs no external
# command at all between cellgen and cell-launch. Only bash's own and the system's
# library dirs are searched; without them the external commands are used.
cell_load_builtins() {
    local dir b
    for dir in "${BASH%/bin/*}/lib/bash" /usr/lib/bash /usr/local/lib/bash; do
        [[ -r $dir/mkdir ]] || continue
        for b in mkdir rm; do
            enable -f "$dir/$b" "$b" 2>/dev/null
        done
        return 0
    done
}

# Picks the private runtime dir's name; cell_plan creates it (cell_mkdirs).
cell_make_runtime_dir() {
    local parent=${XDG_RUNTIME_DIR:-/tmp}
    [[ -d $parent && -w $parent ]] || parent=/tmp
    printf -v CELL_RT '%s/cell-%08x%08x' "$parent" "$SRANDOM" "$SRANDOM"
}

# Called by cell_plan with the plan's dirs: creates the runtime dir (it must
# not exist yet: a name somebody else made is never used) and those dirs,
# all mode 0700, in one mkdir. On a clash, picks a new name and retries.
# The name, cell-<16 hex digits>, says that this dir's cell-launch holds an
# flock on it while the cell lives, so another cell may remove the dir once
# it is old and unlocked (a launcher killed before cell-launch started).
# Older launchers named theirs cell.<hex> and took no lock: those are never
# removed that way.
cell_mkdirs() {
    local tries err
    local -a rel
    for ((tries = 0; tries < 5; tries++)); do
        mkdir -m 0700 -- "$CELL_RT" "$@" 2>/dev/null && return 0
        err=$(mkdir -m 0700 -- "$CELL_RT" 2>&1)
        # Not there at all (parent not writable), or ours from this very
        # call with a subdir failing (disk full): give up.
        [[ -e $CELL_RT || -L $CELL_RT ]] || break
        [[ -O $CELL_RT && ! -L $CELL_RT ]] && { rm -rf -- "$CELL_RT"; break; }
        # Somebody else's: rename every path we were given under a new name.
        rel=("${@#"$CELL_RT"}")
        cell_make_runtime_dir
        set -- "${rel[@]/#/$CELL_RT}"
    done
    printf 'cell: cannot create the runtime dir %s: %s\n' "$CELL_RT" "${err:-name clashes}" >&2
    CELL_RT=
    return 1
}

# Names of daemons that will actually start (auto ones with a missing
# socket are skipped with one line; `on` ones fail).
cell_select_daemons() {
    local name mode needs kept=()
    for name in "${CELL_DAEMONS[@]}"; do
        mode=CELL_DAEMON_MODE_$name needs=CELL_DAEMON_NEEDS_$name
        mode=${!mode:-on} needs=${!needs:-}
        if [[ -n $needs && ! -S $needs ]]; then
            if [[ $mode == auto ]]; then
                cell_say "$name: $needs is not a socket; running without it (use --nix off to silence, --nix on to require it)"
                continue
            fi
            cell_say "$name: required socket $needs is missing (is the daemon running?)"
            return 1
        fi
        kept+=("$name")
    done
    CELL_DAEMONS=("${kept[@]}")
}

# Hands the plan's lists to cell-launch as files it reads (NUL-separated,
# like bwrap's --args): bwrap's options and each daemon's argv.
cell_write_lists() {
    local name argv
    printf '%s\0' "${CELL_BWRAP_ARGS[@]}" >"$CELL_RT/bwrap.args" || return 1
    for name in "${CELL_DAEMONS[@]}"; do
        argv="CELL_DAEMON_ARGV_$name[@]"
        printf '%s\0' "${!argv}" >"$CELL_RT/daemon.$name.args" || return 1
    done
}

# Before cell-launch takes over (or on a failed exec): only the runtime dir
# exists.
cell_cleanup() {
    [[ -n $CELL_RT && -d $CELL_RT ]] && rm -rf -- "$CELL_RT"
}

cell_on_signal() {
    trap - EXIT
    cell_cleanup
    exit $((128 + $1))
}

cell_main() {
    cell_load_builtins
    if [[ $CELL_READY_TIMEOUT != +([0-9]) || ${#CELL_READY_TIMEOUT} -gt 5 ]] ||
        ((10#$CELL_READY_TIMEOUT < 1 || 10#$CELL_READY_TIMEOUT > 86400)); then
        cell_say "CELL_READY_TIMEOUT=$CELL_READY_TIMEOUT: not a whole number of seconds from 1 to 86400"
        exit 2
    fi
    cell_make_runtime_dir
    trap 'cell_cleanup' EXIT
    trap 'cell_on_signal 2' INT
    trap 'cell_on_signal 15' TERM
    trap 'cell_on_signal 1' HUP
    CELL_DAEMONS=()
    # cell_plan returns 2 for a required directory that is missing (bad
    # options, nothing created yet), 1 when it cannot make the runtime dir.
    cell_plan || { (($? == 2)) && exit 2; exit 70; }
    [[ -d $CELL_LOG_DIR ]] || mkdir -p -- "$CELL_LOG_DIR" || exit 70
    CELL_LAUNCH_LOG=$CELL_LOG_DIR/launcher.log
    cell_select_daemons || exit 70
    cell_write_lists || exit 70
    local -a opts=(--runtime-dir "$CELL_RT" --log-dir "$CELL_LOG_DIR" --bwrap "$CELL_BWRAP"
        --ready-timeout "$((10#$CELL_READY_TIMEOUT))")
    local x
    [[ -z $CELL_GATE_OPTION ]] || opts+=(--gate-option "$CELL_GATE_OPTION")
    [[ -z ${CELL_PROXY_LOG:-} ]] || opts+=(--proxy-log "$CELL_PROXY_LOG")
    for x in "${CELL_DAEMONS[@]}"; do opts+=(--daemon "$x"); done
    for x in "${CELL_PRIVATE_DEVICES[@]}"; do opts+=(--private-device "$x"); done
    # exec: cell-launch takes over this process, its signals and the runtime
    # dir; the traps above do not survive it. On a failed exec they still
    # clean up.
    shopt -s execfail
    exec "$CELL_LAUNCH" "${opts[@]}" -- "${CELL_COMMAND[@]}" "$@"
    cell_say "cannot run $CELL_LAUNCH"
    exit 70
}

cell_main "$@"
