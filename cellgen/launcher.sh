# ---- unsafe-cell launcher -------------------------------------------------
# The one implementation of "execute a plan". `cellgen --print script` emits a
# `cell_plan` function and then this file verbatim; the `cell` command runs
# exactly that script, so `cell` and a generated wrapper cannot drift apart.
#
# Theory of operation (each external command costs a fork and an exec, so
# the path from start to command is kept to a handful):
#  1. pick a private runtime dir name; cell_plan creates it (0700) and fills
#     it; one mkfifo makes the lifeline and ready fifos;
#  2. start the host daemons (proxy, nix relay) as ONE job, hence one new
#     process group, each with a ready fifo and a lifeline fifo: the launcher
#     holds the lifeline's only write end, so even a launcher killed with
#     SIGKILL closes it, every daemon exits on EOF, and the job's supervisor
#     removes the runtime dir;
#  3. run bwrap (options through --args FD, never argv) in the background and
#     wait for it, so INT/TERM/HUP traps run at once. When the jail's first
#     process takes a gate (CELL_GATE_OPTION: the in-jail relay), bwrap
#     starts at once, in parallel with the daemons, and the relay holds the
#     command back until the launcher writes "go" on the gate fifo;
#     otherwise bwrap starts after step 4;
#  4. wait, bounded, for each daemon's ready line; a daemon that exits first is
#     reported with its name and the tail of its stderr (and bwrap, if
#     started, is stopped before the command ever ran);
#  5. on every exit path: stop bwrap, TERM then KILL the daemon group, count
#     success as "the processes are gone" (already dead is fine); the
#     supervisor summarises what the proxy refused and removes the runtime dir.

set -uo pipefail
shopt -s extglob

CELL_RT=
CELL_PGID=
CELL_BWRAP_PID=
CELL_CLEANED=
CELL_LAUNCH_LOG=
CELL_LIFELINE_W=
CELL_LIFELINE_R=
CELL_GATE_W=
CELL_GATE_OPTION=
CELL_DEVICES_PID=
declare -A CELL_READY_FD=()
CELL_RM_BUILTIN=
CELL_PROXY_LOG_START=0
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

# Debian's bash-builtins (and other distributions' bash packages) ship mkdir,
# mkfifo and rm as loadable builtins: with them the launcher runs no external
# command at all between cellgen and bwrap. Only bash's own and the system's
# library dirs are searched; without them the external commands are used.
cell_load_builtins() {
    local dir b
    for dir in "${BASH%/bin/*}/lib/bash" /usr/lib/bash /usr/local/lib/bash; do
        [[ -r $dir/mkdir ]] || continue
        for b in mkdir mkfifo rm; do
            enable -f "$dir/$b" "$b" 2>/dev/null || continue
            [[ $b == rm ]] && CELL_RM_BUILTIN=1
        done
        return 0
    done
}

# bwrap hands every inherited fd to the sandbox: an fd the caller left open on
# a host directory would be a way out (/proc/self/fd/N/..). Close all but
# stdio (and 255, where bash reads a script file from), and refuse a
# directory as stdio.
cell_close_inherited_fds() {
    local path fd
    for path in /proc/"$BASHPID"/fd/*; do
        fd=${path##*/}
        [[ $fd == +([0-9]) ]] || continue
        ((fd > 2 && fd != 255)) || continue
        { exec {fd}<&-; } 2>/dev/null
    done
    for fd in 0 1 2; do
        if [[ -d /proc/$BASHPID/fd/$fd ]]; then
            printf 'cell: fd %s is a directory; a cell does not take host directories as stdio\n' "$fd" >&2
            exit 2
        fi
    done
}

# Picks the private runtime dir's name; cell_plan creates it (cell_mkdirs).
cell_make_runtime_dir() {
    local parent=${XDG_RUNTIME_DIR:-/tmp}
    [[ -d $parent && -w $parent ]] || parent=/tmp
    printf -v CELL_RT '%s/cell.%08x%08x' "$parent" "$SRANDOM" "$SRANDOM"
}

# Called by cell_plan with the plan's dirs: creates the runtime dir (it must
# not exist yet: a name somebody else made is never used) and those dirs,
# all mode 0700, in one mkdir. On a clash, picks a new name and retries.
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

# A cell started by root is uid 0 on the host, so it owns the host's device
# nodes that bwrap's --dev binds in: it could chmod the host's /dev/null.
# Root therefore gets private copies (cp -a makes new nodes) that the plan
# binds over bwrap's. A runtime dir on a nodev filesystem cannot hold usable
# nodes: then the copies go and the host's are used, with a warning.
# The copy runs in the background while the daemons start (their job's
# `wait -n` sees only its own children); it must be done
# before bwrap starts (cell_private_devices_done), or --dev-bind-try would
# silently skip the missing copies.
cell_private_devices() {
    ((EUID == 0 && ${#CELL_PRIVATE_DEVICES[@]})) || return 0
    cp -a -- "${CELL_PRIVATE_DEVICES[@]}" "$CELL_RT/dev/" 2>/dev/null &
    CELL_DEVICES_PID=$!
}

cell_private_devices_done() {
    [[ -n $CELL_DEVICES_PID ]] || return 0
    wait "$CELL_DEVICES_PID"
    CELL_DEVICES_PID=
declare -A CELL_READY_FD=()
    { : >"$CELL_RT/dev/null"; } 2>/dev/null && return 0
    rm -f -- "$CELL_RT"/dev/*
    cell_say "warning: $CELL_RT is on a nodev filesystem; the cell's /dev nodes are the host's" \
        "and, running as root, it could change their modes (set XDG_RUNTIME_DIR elsewhere)"
}

# Opens an anonymous-enough pipe: a fifo in the runtime dir opened by us.
# Lifeline: we keep only the write end; daemons get the read end.
cell_open_lifeline() {
    local fifo=$CELL_RT/lifeline rw name
    local fifos=("$fifo")
    [[ -n $CELL_GATE_OPTION ]] && fifos+=("$CELL_RT/gate")
    # Every fifo in one mkfifo: start-up time is mostly fork+exec.
    for name in "${CELL_DAEMONS[@]}"; do fifos+=("$CELL_RT/ready.$name"); done
    mkfifo -m 600 -- "${fifos[@]}" || return 1
    exec {rw}<>"$fifo"
    exec {CELL_LIFELINE_R}<"$fifo"
    exec {CELL_LIFELINE_W}>"$fifo"
    exec {rw}>&-
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

# Runs in the daemon job's subshell: starts every daemon, then records each
# one's exit status as it ends so the launcher can tell "died at start".
cell_supervise() {
    trap - INT HUP EXIT
    local name argv i pid rc
    local -A by_pid=()
    # Reap our daemons ourselves on TERM: orphaned, they would linger as
    # zombies until the host's init gets round to them, and the launcher
    # waits for the whole group to be gone.
    # Once they are gone the proxy's log is complete: summarise it here, then
    # the runtime dir goes too (exec: no further fork). The launcher waits
    # for this group to be gone anyway.
    trap 'kill -TERM "${!by_pid[@]}" 2>/dev/null; wait; cell_refusal_summary; cell_rm_rt_and_exit' TERM
    # Each daemon opens the lifeline itself: a daemon sets O_NONBLOCK on its
    # fd, and on a shared open file description that would turn our own
    # blocking read below into EAGAIN.
    for i in "${!CELL_DAEMONS[@]}"; do
        name=${CELL_DAEMONS[i]}
        argv="CELL_DAEMON_ARGV_$name[@]"
        "${!argv}" --ready-fd 3 --lifeline-fd 4 \
            3>"$CELL_RT/ready.$name" 4<"$CELL_RT/lifeline" \
            {CELL_LIFELINE_W}>&- 2>>"$CELL_LOG_DIR/$name.log" </dev/null &
        by_pid[$!]=$name
    done
    exec {CELL_LIFELINE_W}>&-
    while ((${#by_pid[@]})); do
        wait -n -p pid
        rc=$?
        [[ -n ${pid:-} && -n ${by_pid[$pid]:-} ]] || continue
        printf '%s\n' "$rc" >"$CELL_RT/exit.${by_pid[$pid]}"
        unset "by_pid[$pid]"
    done
    # A launcher that cleans up TERMs this group before it lets go of the
    # lifeline, so reaching EOF here means it died without cleaning up
    # (SIGKILL): the runtime dir is ours to remove.
    read -r -u "$CELL_LIFELINE_R" _
    cell_rm_rt_and_exit
}

# The supervisor's last act: the builtin rm if loaded, else exec (no fork).
cell_rm_rt_and_exit() {
    [[ -n $CELL_RM_BUILTIN ]] && { rm -rf -- "$CELL_RT"; exit 0; }
    exec rm -rf -- "$CELL_RT"
}

# Opens each daemon's ready fifo (ours: CELL_READY_FD[name]) and starts the
# daemons' job.
cell_start_daemons() {
    local name
    CELL_READY_FD=()
    for name in "${CELL_DAEMONS[@]}"; do
        exec {CELL_READY_FD[$name]}<>"$CELL_RT/ready.$name"
    done
    # Job control only for this one job: it gets a process group of its own.
    set -m
    cell_supervise >/dev/null &
    CELL_PGID=$!
    set +m
    cell_note "daemons ${CELL_DAEMONS[*]} started in process group $CELL_PGID"
}

cell_await_daemons() {
    local name
    for name in "${CELL_DAEMONS[@]}"; do
        cell_await_ready "$name" "${CELL_READY_FD[$name]}" || return 1
        exec {CELL_READY_FD[$name]}<&-
        unset "CELL_READY_FD[$name]" # the number may be reused: never close it again
    done
}

cell_await_ready() {
    local name=$1 fd=$2 line deadline=$((SECONDS + CELL_READY_TIMEOUT))
    while ((SECONDS <= deadline)); do
        if read -r -t 0.1 -u "$fd" line; then
            cell_note "$name ready"
            return 0
        fi
        if [[ -e $CELL_RT/exit.$name ]]; then
            cell_say "$name failed to start (exit $(<"$CELL_RT/exit.$name")); its stderr ends with:"
            tail -n 5 "$CELL_LOG_DIR/$name.log" | sed 's/^/  | /' >&2
            return 1
        fi
    done
    cell_say "$name did not become ready within ${CELL_READY_TIMEOUT}s; its stderr ends with:"
    tail -n 5 "$CELL_LOG_DIR/$name.log" | sed 's/^/  | /' >&2
    return 1
}

# Runs bwrap (options through --args FD) in the background: the launcher
# then waits for it, so INT/TERM/HUP traps run at once. (Not started earlier,
# blocked on --block-fd while the daemons start: bwrap's sandbox init is not
# yet tied to its parent's life then, and would outlive a killed launcher.)
# With a gate, the jail's first process gets the gate fifo's read end as fd
# 8 and waits on it; the launcher keeps the only write end (CELL_GATE_W), so
# a launcher that dies before "go" closes the gate and the command never runs.
cell_start_bwrap() {
    local args_file=$CELL_RT/bwrap.args in gate= fd
    local -a command=("${CELL_COMMAND[@]}")
    printf '%s\0' "${CELL_BWRAP_ARGS[@]}" >"$args_file" || return 70
    # Both ends are opened here, before the fork: "go" may be written before
    # bwrap's side would have opened the fifo, and a fifo keeps data only
    # while a reader holds it.
    if [[ -n $CELL_GATE_OPTION ]]; then
        exec {CELL_GATE_W}<>"$CELL_RT/gate" || return 70
        exec {gate}<"$CELL_RT/gate" || return 70
        command=("${command[0]}" "$CELL_GATE_OPTION" 8 "${command[@]:1}")
    fi
    # A background job's stdin would be /dev/null; hand ours over explicitly.
    # The job's own shell drops the fds bwrap must not carry into the jail,
    # then becomes bwrap (exec: no extra process).
    exec {in}<&0
    {
        [[ -z $CELL_GATE_W ]] || exec {CELL_GATE_W}>&-
        for fd in "${CELL_READY_FD[@]}"; do exec {fd}<&-; done
        exec {CELL_LIFELINE_W}>&- {CELL_LIFELINE_R}<&-
        [[ -z $gate ]] || exec 8<&"$gate" {gate}<&-
        exec "$CELL_BWRAP" --args 9 -- "${command[@]}" "$@" 9<"$args_file" <&"$in" {in}<&-
    } &
    CELL_BWRAP_PID=$!
    exec {in}<&-
    [[ -z $gate ]] || exec {gate}<&-
    cell_note "bwrap started as $CELL_BWRAP_PID"
}

# The daemons are ready: let the jail's command run.
cell_open_gate() {
    [[ -n $CELL_GATE_W ]] || return 0
    printf 'go\n' >&"$CELL_GATE_W"
    exec {CELL_GATE_W}>&-
    CELL_GATE_W=
}

cell_wait_bwrap() {
    local rc
    wait "$CELL_BWRAP_PID"
    rc=$?
    CELL_BWRAP_PID=
    return "$rc"
}

# sleep(1) without a fork: a read that times out on a fifo nobody writes.
cell_sleep() {
    local fd
    { exec {fd}<>"$CELL_RT/lifeline"; } 2>/dev/null || { sleep "$1"; return; }
    read -r -t "$1" -u "$fd" _
    exec {fd}<&-
}

# True while any process of the daemon group exists.
cell_group_alive() {
    [[ -n $CELL_PGID ]] && kill -0 -- "-$CELL_PGID" 2>/dev/null
}

# Reaps the group's leader and polls until no process of the group is left
# (about 2 s at most); true when the group is gone.
cell_wait_group_gone() {
    local i
    for ((i = 0; i < 40; i++)); do
        wait "$CELL_PGID" 2>/dev/null
        cell_group_alive || return 0
        cell_sleep 0.05
    done
    ! cell_group_alive
}

cell_stop_daemons() {
    [[ -n $CELL_PGID ]] || return 0
    kill -TERM -- "-$CELL_PGID" 2>/dev/null
    [[ -n $CELL_LIFELINE_W ]] && exec {CELL_LIFELINE_W}>&-
    CELL_LIFELINE_W=
    if ! cell_wait_group_gone; then
        cell_note "daemons still alive after TERM; sending KILL"
        kill -KILL -- "-$CELL_PGID" 2>/dev/null
        if ! cell_wait_group_gone; then
            cell_say "daemon process group $CELL_PGID is still alive after KILL"
            return 1
        fi
    fi
    cell_note "daemon group $CELL_PGID gone"
    CELL_PGID=
}

# One short line a person or an agent can act on. Plain bash, no pipeline:
# it runs at the end of every cell, and each forked tool costs milliseconds.
cell_refusal_summary() {
    [[ -n ${CELL_PROXY_LOG:-} && -s $CELL_PROXY_LOG ]] || return 0
    local fd line key summary="" LC_ALL=C
    local -A count=()
    local re='"host":"([^"]*)".*"port":([0-9]+).*"decision":"deny"'
    { exec {fd}<"$CELL_PROXY_LOG"; } 2>/dev/null || return 0
    # Only this run's lines: a kept log dir holds earlier cells' denials.
    ((CELL_PROXY_LOG_START == 0)) || read -r -N "$CELL_PROXY_LOG_START" -u "$fd" _
    while IFS= read -r -u "$fd" line; do
        [[ $line =~ $re ]] || continue
        key=${BASH_REMATCH[1]}:${BASH_REMATCH[2]}
        count[$key]=$((${count[$key]:-0} + 1))
    done
    exec {fd}<&-
    ((${#count[@]})) || return 0
    # Most refused first; ties in name order.
    while IFS= read -r line; do
        summary+="${summary:+, }${line#* } (${line%% *})"
    done < <(for key in "${!count[@]}"; do printf '%d %s\n' "${count[$key]}" "$key"; done |
        sort -k1,1nr -k2)
    cell_say "the proxy refused: $summary — allow a host with --allow HOST or a filter line"
}

cell_cleanup() {
    [[ -z $CELL_CLEANED ]] || return 0
    CELL_CLEANED=1
    local ok=0
    if [[ -n $CELL_BWRAP_PID ]]; then
        kill -TERM "$CELL_BWRAP_PID" 2>/dev/null
        wait "$CELL_BWRAP_PID" 2>/dev/null
    fi
    cell_stop_daemons || ok=1
    # A device copy still running would race rm -rf below.
    [[ -z $CELL_DEVICES_PID ]] || wait "$CELL_DEVICES_PID" 2>/dev/null
    if [[ -n $CELL_RT && -d $CELL_RT ]]; then
        rm -rf -- "$CELL_RT" || ok=1
    fi
    return "$ok"
}

cell_on_signal() {
    local sig=$1 num=$2
    cell_note "caught SIG$sig"
    trap - EXIT
    cell_cleanup
    exit $((128 + num))
}

cell_main() {
    cell_close_inherited_fds
    cell_load_builtins
    cell_make_runtime_dir
    trap 'cell_cleanup' EXIT
    trap 'cell_on_signal INT 2' INT
    trap 'cell_on_signal TERM 15' TERM
    trap 'cell_on_signal HUP 1' HUP
    CELL_DAEMONS=()
    # cell_plan returns 2 for a required directory that is missing (bad
    # options, nothing created yet), 1 when it cannot make the runtime dir.
    cell_plan || { (($? == 2)) && exit 2; exit 70; }
    cell_private_devices
    [[ -d $CELL_LOG_DIR ]] || mkdir -p -- "$CELL_LOG_DIR" || exit 70
    CELL_LAUNCH_LOG=$CELL_LOG_DIR/launcher.log
    CELL_PROXY_LOG_START=0
    [[ -n ${CELL_PROXY_LOG:-} && -f $CELL_PROXY_LOG ]] &&
        CELL_PROXY_LOG_START=$(stat -c %s -- "$CELL_PROXY_LOG")
    cell_note "runtime dir $CELL_RT"
    cell_select_daemons || exit 70
    cell_open_lifeline || exit 70
    cell_start_daemons || exit 70
    if [[ -n $CELL_GATE_OPTION ]]; then
        cell_private_devices_done
        cell_start_bwrap "$@" || exit 70
        cell_await_daemons || exit 70
        cell_open_gate
    else
        cell_await_daemons || exit 70
        cell_private_devices_done
        cell_start_bwrap "$@" || exit 70
    fi
    local rc
    cell_wait_bwrap
    rc=$?
    cell_note "command exited with $rc"
    trap - EXIT
    cell_cleanup || { ((rc)) || rc=70; }
    exit "$rc"
}

cell_main "$@"
