#!/usr/bin/env bash
# The launcher leaves nothing behind — no daemon, socket or runtime dir —
# whichever way a cell ends.
set -uo pipefail
source "$(dirname -- "$0")/lib.sh"

WT=$SCRATCH/wt
mkdir -p "$WT"
cell=("$CELL" --worktree "$WT" --nix off --allow example.com)

# Every command run here carries MARK in its argv, so a leftover bwrap or
# in-jail process shows up too, not only daemons and runtime dirs.
MARK=cell-lifecycle-mark-$$
marked() { pgrep -af -- "$MARK" | grep -v pgrep; }

# wait_gone: the launcher may still be tearing down for a moment.
wait_gone() {
    local i
    for ((i = 0; i < 50; i++)); do
        [[ -z $(leftovers) && -z $(marked) ]] && return 0
        sleep 0.1
    done
    leftovers
    marked
    return 1
}

# start_cell: a long-running cell in the background; sets CELL_PID once the
# command inside runs (it touches a file in the worktree).
start_cell() {
    rm -f "$WT/started"
    # env: background jobs start with SIGINT ignored; the launcher must see it.
    setsid env --default-signal "${cell[@]}" -- sh -c 'touch started; sleep 60' "$MARK" >/dev/null 2>&1 &
    CELL_PID=$!
    local i
    for ((i = 0; i < 100; i++)); do
        [[ -e $WT/started ]] && return 0
        sleep 0.05
    done
    return 1
}

"${cell[@]}" -- sh -c true "$MARK"
check "normal exit leaves nothing" wait_gone

"${cell[@]}" -- sh -c 'kill -9 $$' "$MARK" 2>/dev/null
check "a command killed with SIGKILL leaves nothing" wait_gone

for sig in TERM INT HUP KILL; do
    if start_cell; then
        check "the daemons run while the cell runs ($sig case)" test -n "$(scratch_proxies)"
        kill -"$sig" "$CELL_PID"
        wait "$CELL_PID" 2>/dev/null
        check "the launcher sent SIG$sig leaves nothing" wait_gone
    else
        check "cell started for the SIG$sig case" false
    fi
done

if start_cell; then
    # The proxy itself (its access log, fd 6, is in the runtime dir).
    check "the proxy is found and killed" kill -KILL $(scratch_proxies)
    sleep 0.2
    check "the cell runs on without its proxy" kill -0 "$CELL_PID"
    # Then the command ends (the in-jail sh that carries MARK).
    pkill -KILL -f "^sh -c touch started; sleep 60 $MARK"
    wait "$CELL_PID" 2>/dev/null
    check "the proxy killed mid-run: the cell still ends and leaves nothing" wait_gone
else
    check "cell started for the proxy-killed case" false
fi

printf '(unclosed\n' >"$SCRATCH/bad.filter"
# A filter line the proxy would refuse is refused when the cell is planned,
# with the proxy's own loader (exit 2, FILE:LINE), before anything starts.
# A daemon that fails once started is the failing-proxy case below.
out=$("${cell[@]}" --filter "$SCRATCH/bad.filter" --filter-type ere -- \
    touch "/home/cell/worktree/ran-$MARK" 2>&1)
rc=$?
check "a bad filter line fails the cell at plan time (exit $rc)" test "$rc" -eq 2
check "the failure names the file and line" grep -q 'bad.filter:1' <<<"$out"
check "the command never ran" test ! -e "$WT/ran-$MARK"
check "a refused plan leaves nothing" wait_gone

# A daemon that fails while bwrap is still setting up its sandbox: bwrap's
# sandbox child ties itself to bwrap's life only once its setup is done, and
# before that it outlived a stopped bwrap (found with delays of 2-20 ms, 10
# runs each: 3, 6 and 1 jails left at 2, 4 and 6 ms, none from 8 ms on).
# The launcher must reap and kill what bwrap leaves.
printf '#!/bin/sh\nsleep "$FAIL_AFTER"\necho "failing on purpose" >&2\nexit 1\n' >"$SCRATCH/failing-proxy"
chmod 755 "$SCRATCH/failing-proxy"
early_rcs=""
for delay in 0 0.002 0.004 0.006 0.008 0.012; do
    for ((n = 0; n < 4; n++)); do
        FAIL_AFTER=$delay "${cell[@]}" --proxy-bin "$SCRATCH/failing-proxy" -- \
            touch "/home/cell/worktree/ran-early-$MARK" >/dev/null 2>&1
        early_rcs+="$? "
    done
done
check "a daemon failing 0-12 ms into bwrap's set-up fails every cell ($early_rcs)" \
    bash -c '[[ $(tr -s " " "\n" <<<"$1" | sort -u | xargs) == 70 ]]' _ "$early_rcs"
check "... and the command never ran" test ! -e "$WT/ran-early-$MARK"
check "... and no jail is left behind" wait_gone

# The gate is bwrap's --block-fd, which lets the command run on EOF as on a
# byte: the launcher must keep it shut until bwrap and what it left are
# gone, not close it first and race the kill. Every kill(2) of the cell's
# is delayed by 0.5 s here (strace), so a gate closed before the kills would
# let the command run for certain.
if command -v strace >/dev/null; then
    out=$(FAIL_AFTER=1 ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 \
        strace -f -o /dev/null -e trace=kill -e inject=kill:delay_enter=500000 \
        "${cell[@]}" --proxy-bin "$SCRATCH/failing-proxy" -- \
        touch "/home/cell/worktree/ran-gate-$MARK" 2>&1)
    rc=$?
    check "a daemon failing while the command waits at the gate, kills slowed: exit 70 ($rc)" \
        test "$rc" -eq 70
    check "... and the command never ran" test ! -e "$WT/ran-gate-$MARK"
    check "... and it leaves nothing" wait_gone
fi

# The launcher SIGKILLed while bwrap starts: bwrap's --die-with-parent has
# gaps there (its sandbox child and the jail's pid 1 set PR_SET_PDEATHSIG
# late), and about one such kill in 40 left the jail running, command and
# all. cell-launch's keeper (bwrap's parent) must end it. (A runtime dir can still be left when
# the kill lands before cell-launch runs; those are cleared here.)
# Without the keeper about one run in 32 of this spread leaked, so 96 runs
# catch it nineteen times in twenty; the slow sanitizer build starts later
# and gets a wider spread.
spread=$(seq 0.015 0.003 0.06)
[[ -n ${CELL_SANITIZED:-} ]] && spread=$(seq 0.03 0.01 0.18)
for delay in $spread; do
    for ((n = 0; n < 6; n++)); do
        setsid env --default-signal "${cell[@]}" -- sh -c 'sleep 30' "$MARK" >/dev/null 2>&1 &
        kpid=$!
        sleep "$delay"
        kill -KILL "$kpid" 2>/dev/null
        wait "$kpid" 2>/dev/null
    done
done
gone_procs() {
    local i
    for ((i = 0; i < 50; i++)); do
        [[ -z $(marked) && -z $(leftover_procs) ]] && return 0
        sleep 0.1
    done
    marked
    leftover_procs
    return 1
}
check "96 launchers SIGKILLed while their cell starts leave no process" gone_procs

# The launcher and its keeper both SIGKILLed while the command waits at the
# gate: nobody is left to end the jail, so the gate must fail closed. It is
# bwrap's --seccomp FD, whose unwritten pipe gives an empty program that the
# kernel refuses: bwrap ends without running the command. (The runtime dir
# they leave is swept below with the ones the kills above left.)
printf '#!/bin/sh\n# never ready; ends with the lifeline (fd 4)\nexec cat <&4 >/dev/null 2>&1\n' \
    >"$SCRATCH/unready-proxy"
chmod 755 "$SCRATCH/unready-proxy"
setsid env --default-signal "${cell[@]}" --proxy-bin "$SCRATCH/unready-proxy" -- \
    touch "/home/cell/worktree/ran-gate-$MARK" >/dev/null 2>&1 &
gpid=$!
for ((i = 0; i < 100; i++)); do
    pgrep -f "bwrap --args .*ran-gate-$MARK" >/dev/null && break
    sleep 0.05
done
sleep 0.5 # bwrap's set-up is done: its first process waits at the gate
keeper=$(pgrep -P "$gpid" -x cell)
check "the keeper of a cell held at the gate is found" test -n "$keeper"
kill -KILL "$gpid" $keeper
wait "$gpid" 2>/dev/null
check "launcher and keeper SIGKILLed at the gate: no process is left" gone_procs
check "... and the command never ran" test ! -e "$WT/ran-gate-$MARK"

# A kill before cell-launch locks the runtime dir leaves that dir. The next
# cell's cleanup removes every such dir beside its own that is 30 s old and
# that nobody locks; nothing else. Baits: an abandoned dir (aged), a live
# one (locked), a young one, one not named like a runtime dir, an older
# launcher's (named cell.<hex>: it took no lock, so it may be live though
# unlocked) and, as root, somebody else's.
shopt -s nullglob
killed_left=("$XDG_RUNTIME_DIR"/cell-????????????????)
shopt -u nullglob
stale=$XDG_RUNTIME_DIR/cell-00000000000000dd
locked=$XDG_RUNTIME_DIR/cell-00000000000000aa
young=$XDG_RUNTIME_DIR/cell-00000000000000bb
misnamed=$XDG_RUNTIME_DIR/cell-0000000000000xyz
unmarked=$XDG_RUNTIME_DIR/cell.00000000000000ee
mkdir -m 700 -p "$stale/proxy" "$locked" "$young" "$misnamed" "$unmarked"
echo x >"$stale/bwrap.args"
others=()
if (($(id -u) == 0)); then
    others=("$XDG_RUNTIME_DIR/cell-00000000000000cc")
    mkdir -m 700 "${others[0]}" && chown nobody "${others[0]}"
fi
for d in "${killed_left[@]}" "$stale" "$locked" "$misnamed" "$unmarked" "${others[@]}"; do
    touch -c -d '-1 min' "$d"
done
flock "$locked" sleep 60 &
lock_pid=$!
sleep 0.2
"${cell[@]}" -- sh -c true "$MARK"
sweeper_rc=$?
check "the next cell removes an abandoned runtime dir (it exits $sweeper_rc)" \
    bash -c '[[ $1 == 0 && ! -e $2 ]]' _ "$sweeper_rc" "$stale"
# None of the paths is left (a moment is allowed for a removal in flight);
# else prints what is still there, with its entries, for the report.
survivors() {
    local d i left
    for ((i = 0; i < 50; i++)); do
        left=()
        for d; do [[ -e $d ]] && left+=("$d"); done
        ((${#left[@]} == 0)) && return 0
        sleep 0.1
    done
    for d in "${left[@]}"; do
        stat -c "%n: %F, owner %U, mtime %y" "$d"
        ls -la "$d"
    done
    return 1
}
check "... and the ${#killed_left[@]} the kills above left" survivors "${killed_left[@]}"
check "... but not a locked (live) one, a young one, one named otherwise, an older launcher's or somebody else's" \
    bash -c 'for d; do [[ -d $d ]] || exit 1; done' _ "$locked" "$young" "$misnamed" "$unmarked" \
    "${others[@]}"
kill "$lock_pid" 2>/dev/null
wait "$lock_pid" 2>/dev/null
rm -rf "$locked" "$young" "$misnamed" "$unmarked" "${others[@]}" "$XDG_RUNTIME_DIR"/cell-*

# A caller that ignores SIGINT (a background job of a script) keeps ignoring
# it in the cell, as a shell would: the cell runs to its end.
bash -c 'trap "" INT; exec "$@"' _ "${cell[@]}" -- sh -c 'touch started-int; sleep 1' "$MARK" \
    >/dev/null 2>&1 &
ign_pid=$!
for ((i = 0; i < 100; i++)); do [[ -e $WT/started-int ]] && break; sleep 0.05; done
kill -INT "$ign_pid" 2>/dev/null
wait "$ign_pid"
rc=$?
expect_eq "a launcher whose caller ignores SIGINT is not stopped by it" 0 "$rc"
check "... and leaves nothing" wait_gone

# The log dir may be the jail's to write (here inside the worktree): a fifo
# planted in place of a log must not hang the launcher's cleanup.
mkdir -p "$WT/logs"
out=$(timeout -k 5 20 "${cell[@]}" --log-dir "$WT/logs" -- sh -c \
    'cd /home/cell/worktree/logs && for f in proxy-access launcher proxy; do rm -f $f.log; mkfifo $f.log; done' \
    "$MARK" 2>&1)
rc=$?
expect_eq "fifos planted in the log dir do not hang the launcher ($(tr '\n' ' ' <<<"$out"))" 0 "$rc"
check "... and it leaves nothing" wait_gone
out=$(timeout -k 5 20 "${cell[@]}" --log-dir "$WT/logs" -- true 2>&1)
rc=$?
check "the next cell with that log dir fails clearly, naming the fifo ($rc: $(tr '\n' ' ' <<<"$out"))" \
    bash -c '(( $1 == 70 )) && grep -qE "logs/(launcher|proxy|proxy-access).log: it is not a regular file" <<<"$2"' _ "$rc" "$out"
check "... and leaves nothing" wait_gone
rm -rf "$WT/logs"

# A setuid-root bwrap makes namespaces an ordinary user cannot enter, so the
# proxy's port cannot be made in the jail: refused up front, naming it.
if (($(id -u) == 0)); then
    install -m 4755 "$(command -v bwrap)" "$SCRATCH/suid-bwrap"
    out=$(runuser -u "$(unpriv_user)" -- env -i PATH=/usr/bin:/bin HOME=/tmp \
        XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" "$UNPRIV_CELL" --worktree "$SCRATCH" --nix off \
        --bwrap-bin "$SCRATCH/suid-bwrap" -- true 2>&1)
    rc=$?
    check "a setuid bwrap, not root: exit 70 naming it ($rc: $out)" \
        bash -c '(( $1 == 70 )) && [[ $2 == *suid-bwrap*"setuid root"* ]]' _ "$rc" "$out"
    check "... and nothing is made or left" wait_gone
    rm -f "$SCRATCH/suid-bwrap"
fi

# A bad CELL_READY_TIMEOUT is a usage error, found before anything starts.
out=$(CELL_READY_TIMEOUT=99999999999 "${cell[@]}" -- true 2>&1)
rc=$?
check "CELL_READY_TIMEOUT out of range: exit 2, naming it ($rc: $(tr '\n' ' ' <<<"$out"))" \
    bash -c '(( $1 == 2 )) && grep -q CELL_READY_TIMEOUT <<<"$2"' _ "$rc" "$out"
check "... and leaves nothing" wait_gone

# close_range(2) refused (kernels before 5.9, some seccomp profiles): the
# launcher closes the caller's fds one by one instead, so a host directory
# left open by the caller never reaches the jail.
if command -v strace >/dev/null; then
    # (LeakSanitizer cannot run under ptrace: off for this one run.)
    out=$(ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 strace -f -o /dev/null \
        -e trace=close_range -e inject=close_range:error=ENOSYS \
        "${cell[@]}" -- sh -c 'ls /proc/self/fd' 5</ 7<"$WT" 2>"$SCRATCH/no-close-range.err")
    expect_eq "without close_range the command still gets only stdio and its own fd" \
        "0 1 2 3" "$(tr '\n' ' ' <<<"$out" | sed 's/ $//')"
    check "... and nothing is left" wait_gone
else
    TAP_N=$((TAP_N + 1))
    echo "ok $TAP_N - without close_range the command gets only stdio # SKIP strace is not installed"
fi

# Root without CAP_MKNOD (here: root of a user namespace) cannot copy the
# device nodes; the cell runs on the host's, with a warning.
if ((EUID == 0)) && unshare -r true 2>/dev/null; then
    out=$(unshare -r "${cell[@]}" -- sh -c 'echo x >/dev/null && echo ran' 2>&1)
    check "root in a user namespace (no mknod) still runs a cell ($(tr '\n' ' ' <<<"$out"))" \
        grep -q '^ran$' <<<"$out"
    check "... says the /dev nodes are the host's" grep -q "/dev nodes are the host's" <<<"$out"
    check "... and leaves nothing" wait_gone
fi

# On a terminal with `stty tostop`, the keeper (a background process group
# that holds the terminal until bwrap starts) reports a bwrap it cannot run
# and the cell fails at once; it used to stop on SIGTTOU with the proxy,
# and the cell waited out the readiness timeout (17 s).
printf '#!/bin/sh\n' >"$SCRATCH/not-bwrap" # executable, not runnable
chmod 644 "$SCRATCH/not-bwrap"
start=$SECONDS
out=$(timeout -k 2 25 script -qec "stty tostop; $(printf '%q ' "${cell[@]}") --bwrap-bin $SCRATCH/not-bwrap -- true; echo rc=\$?" /dev/null | tr -d '\r')
check "tostop: a bwrap that cannot run fails the cell at once ($((SECONDS - start)) s: $(tr '\n' ' ' <<<"$out"))" \
    bash -c '[[ $1 == *"cannot run"*"rc=70"* ]] && (($2 <= 5))' _ "$out" "$((SECONDS - start))"
check "... and leaves nothing" wait_gone

# CELL_BACK_TO_BACK lowers the count for slow builds (the sanitizer run);
# the normal suite runs the full 200.
runs=${CELL_BACK_TO_BACK:-200}
start=$SECONDS
failures=0
for ((n = 0; n < runs; n++)); do
    "${cell[@]}" -- true 2>/dev/null || failures=$((failures + 1))
done
expect_eq "$runs back-to-back cells all succeed ($((SECONDS - start)) s)" 0 "$failures"
check "$runs back-to-back cells leave nothing" wait_gone
tap_done
