#!/usr/bin/env bash
# What of the host crosses into a cell, and where the host writes for it
# (issue 23), as root and as an unprivileged user:
#  - the caller's environment: nothing of it is readable anywhere in the cell
#    (/proc/1/environ is bwrap's first process, which keeps the environment
#    bwrap was started with; /proc/*/environ; ps eww);
#  - a log dir the cell can write (inside the worktree): swapped for a link
#    (to a dir, or on an inner component), or with a link or fifo planted
#    for a log, it makes the next cell fail at once, naming the culprit, and
#    the host writes nothing through it;
#  - --worktree / --log-dir that are the whole host (/, /etc, $HOME, a link
#    to /, "$UNSET/") are refused with exit 2 unless --unsafe-allow-system-dir.
set -uo pipefail
here=$(dirname -- "$0")
source "$here/lib.sh"

MARK=boundary-$$-$RANDOM

# A fork loop of 200 sleepers: prints started=N and, when a cap stops it,
# the fork error (the --max-procs and cgroup checks).
FORK_LOOP='import os, signal, time
pids = []
try:
    for _ in range(200):
        pid = os.fork()
        if pid == 0:
            time.sleep(5)
            os._exit(0)
        pids.append(pid)
except OSError as e:
    print("fork failed:", e.strerror)
print("started=%d" % len(pids))
for pid in pids:
    os.kill(pid, signal.SIGKILL)'

# Runs the checks as WHO ("root" or "unpriv"); they read these locals.
run_checks() {
    local who=$1 runas=() wt=$SCRATCH/wt-$1 owner cell_bin=$CELL
    mkdir -p "$wt"
    if [[ $who == unpriv ]]; then
        owner=$(unpriv_user)
        chown -R "$owner" "$wt"
        runas=(runuser -u "$owner" -- env -i PATH=/usr/bin:/bin HOME=/tmp XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR")
        cell_bin=$UNPRIV_CELL
    else
        owner=root
        runas=(env)
    fi
    env_leaks
    log_dir_swapped
    log_files_planted
    whole_system_dirs
    expect_eq "$who: nothing left behind" "" "$(leftovers)"
}

env_leaks() {
    local out
    out=$("${runas[@]}" "BOUNDARY_TOKEN=$MARK" "GITHUB_TOKEN=$MARK" \
        "$cell_bin" --worktree "$wt" --nix off -- sh -c '
            t="[B]OUNDARY_TOKEN" # matches neither this script nor grep in ps
            echo "pid1=$(tr "\0" "\n" </proc/1/environ | grep -c .)"
            cat /proc/[0-9]*/environ 2>/dev/null | tr "\0" "\n" | grep -c "$t" | sed "s/^/procs=/"
            ps eww -e 2>&1 | grep -c "$t" | sed "s/^/ps=/"
            ps eww -e >/dev/null 2>&1 && echo ps-ran' 2>&1)
    expect_eq "$who: the jail's pid 1 (bwrap's) has an empty environment" "pid1=0" \
        "$(grep -m1 '^pid1=' <<<"$out")"
    expect_eq "$who: no process in the cell holds the caller's variables (/proc/*/environ)" \
        "procs=0" "$(grep -m1 '^procs=' <<<"$out")"
    check "$who: ps eww runs in the cell (the next check is meaningful)" grep -qx ps-ran <<<"$out"
    expect_eq "$who: ps eww in the cell shows none of the caller's variables" "ps=0" \
        "$(grep -m1 '^ps=' <<<"$out")"
    # The host daemons start with nothing of the caller's either (a cell
    # that shares the host's pid namespace sees them).
    "${runas[@]}" "BOUNDARY_TOKEN=$MARK" "$cell_bin" --worktree "$wt" --nix off -- sleep 3 &
    local bg=$! pid="" i
    # This cell's proxy: a descendant of the launcher started above (the
    # host may run other proxies of the same user).
    for ((i = 0; i < 50; i++)); do
        pid=$(descendant_named "$bg" proxy) && break
        sleep 0.05
    done
    out=$(tr '\0' '\n' <"/proc/$pid/environ" 2>&1 | grep -c .)
    wait "$bg"
    check "$who: the host proxy runs (the next check is meaningful)" test -n "$pid"
    expect_eq "$who: the host proxy's environment is empty" "0" "$out"
}

log_dir_swapped() {
    local logs=$wt/logs victim=$SCRATCH/victim-dir-$who out rc start
    mkdir -p "$logs" "$victim"
    chown "$owner" "$logs" "$victim"
    "${runas[@]}" "$cell_bin" --worktree "$wt" --log-dir "$logs" --nix off -- \
        sh -c "rm -rf logs && ln -s '$victim' logs" >/dev/null 2>&1
    check "$who: the cell swapped its log dir for a link (the attempt is real)" test -L "$logs"
    out=$("${runas[@]}" "$cell_bin" --worktree "$wt" --log-dir "$logs" --nix off -- \
        sh -c 'ls /var/log/cell' 2>&1)
    rc=$?
    expect_eq "$who: a log dir swapped for a link is refused (exit 2)" 2 "$rc"
    check "$who: ... naming the flag and the link ($out)" \
        grep -q -- "--log-dir: $logs is a symbolic link" <<<"$out"
    expect_eq "$who: ... and the host wrote nothing where the link points" "" "$(ls -A "$victim")"
    # A link on an inner component of the path is refused the same way.
    rm -f "$logs"
    mkdir -p "$wt/a/logs" && chown -R "$owner" "$wt/a"
    "${runas[@]}" "$cell_bin" --worktree "$wt" --log-dir "$wt/a/logs" --nix off -- \
        sh -c "rm -rf a && mkdir -p '$victim/logs' 2>/dev/null; ln -s '$victim' a" >/dev/null 2>&1
    mkdir -p "$victim/logs" && chown "$owner" "$victim/logs"
    out=$("${runas[@]}" "$cell_bin" --worktree "$wt" --log-dir "$wt/a/logs" --nix off -- true 2>&1)
    rc=$?
    expect_eq "$who: a link on an inner component of the log dir is refused (exit 2)" 2 "$rc"
    check "$who: ... naming that component ($out)" grep -q -- "$wt/a is a symbolic link" <<<"$out"
    expect_eq "$who: ... and nothing was written through it" "" "$(ls -A "$victim/logs")"
    rm -rf "$wt/a" "$victim"
}

# plant NAME KIND: a link to a victim file, or a fifo, as the log NAME in a
# log dir inside the worktree, planted from inside a cell.
log_files_planted() {
    local logs=$wt/logs victim=$SCRATCH/victim-$who name out rc t0
    mkdir -p "$logs" && chown "$owner" "$logs"
    : >"$victim" && chmod 666 "$victim"
    for name in proxy-access.log launcher.log proxy.log; do
        rm -f "$logs"/*
        "${runas[@]}" "$cell_bin" --worktree "$wt" --nix off -- \
            sh -c "ln -s '$victim' 'logs/$name'" >/dev/null 2>&1
        out=$("${runas[@]}" "$cell_bin" --worktree "$wt" --log-dir "$logs" --nix off -- \
            sh -c 'echo ran' 2>&1)
        rc=$?
        expect_eq "$who: a link planted as $name fails the cell (exit 70)" 70 "$rc"
        check "$who: ... naming the file ($out)" grep -qF "$logs/$name: it is a symbolic link" <<<"$out"
        check "$who: ... before the command ran" bash -c '! grep -qx ran <<<"$1"' _ "$out"
        expect_eq "$who: ... and the host wrote nothing through it" "" "$(cat "$victim")"
    done
    rm -f "$logs"/*
    "${runas[@]}" "$cell_bin" --worktree "$wt" --nix off -- sh -c "mkfifo logs/proxy-access.log" \
        >/dev/null 2>&1
    check "$who: the cell planted a fifo (the attempt is real)" test -p "$logs/proxy-access.log"
    t0=$SECONDS
    out=$(timeout 20 "${runas[@]}" "$cell_bin" --worktree "$wt" --log-dir "$logs" --nix off -- true 2>&1)
    rc=$?
    expect_eq "$who: a fifo planted as proxy-access.log fails the cell (exit 70)" 70 "$rc"
    check "$who: ... at once, not after the ready timeout ($((SECONDS - t0)) s)" \
        test $((SECONDS - t0)) -lt 5
    check "$who: ... naming the file ($out)" grep -qF "$logs/proxy-access.log: it is not a regular file" <<<"$out"
    rm -rf "$logs" "$victim"
}

whole_system_dirs() {
    local out rc path
    ln -sfn / "$SCRATCH/root-link-$who"
    for path in / /etc /usr /nix /proc /sys /dev /boot /var "$SCRATCH/root-link-$who"; do
        out=$("${runas[@]}" "$cell_bin" --worktree "$path" --nix off -- true 2>&1)
        rc=$?
        expect_eq "$who: --worktree $path is refused (exit 2)" 2 "$rc"
        check "$who: ... naming the flag and the path ($out)" \
            bash -c '[[ $1 == *"--worktree: '\''$2'\''"* && $1 == *"--unsafe-allow-system-dir"* ]]' \
            _ "$out" "$path"
    done
    out=$("${runas[@]}" UNSET_DIR= "$cell_bin" --worktree "${UNSET_DIR:-}/" --nix off -- true 2>&1)
    expect_eq "$who: --worktree \"\$UNSET/\" is refused" 2 "$?"
    out=$("${runas[@]}" "$cell_bin" --worktree "$wt" --log-dir /etc --nix off -- true 2>&1)
    rc=$?
    expect_eq "$who: --log-dir /etc is refused (exit 2)" 2 "$rc"
    check "$who: ... naming the flag ($out)" grep -q -- "--log-dir: '/etc'" <<<"$out"
    out=$("${runas[@]}" HOME="$wt" "$cell_bin" --worktree "$wt" --nix off -- true 2>&1)
    rc=$?
    expect_eq "$who: --worktree \$HOME is refused (exit 2)" 2 "$rc"
    check "$who: ... saying it is the home directory ($out)" grep -q 'your home directory' <<<"$out"
    out=$("${runas[@]}" HOME="$wt/sub" "$cell_bin" --worktree "$wt" --nix off -- true 2>&1)
    expect_eq "$who: a parent of \$HOME is refused (exit 2)" 2 "$?"
    # A wrapper's plan is checked again when it starts, resolved: the plan
    # names a link, the launcher sees /.
    local plan
    plan=$("${runas[@]}" "$SCRATCH/bin/cellgen" --print plan --worktree "$SCRATCH/root-link-$who" \
        --nix off -- true 2>&1)
    out=$("${runas[@]}" "$SCRATCH/bin/cell-launch" --plan-fd 3 3<<<"$plan" 2>&1)
    rc=$?
    expect_eq "$who: cell-launch refuses a plan whose worktree resolves to / (exit 2)" 2 "$rc"
    check "$who: ... saying what it resolves to ($out)" grep -q "resolves to '/'" <<<"$out"
    out=$("${runas[@]}" HOME="$wt" "$cell_bin" --worktree "$wt" --unsafe-allow-system-dir --nix off \
        -- sh -c 'echo allowed' 2>/dev/null)
    expect_eq "$who: --unsafe-allow-system-dir lets it through" allowed "$out"
    rm -f "$SCRATCH/root-link-$who"
}

# A proxy that dies while the command runs is reported at once, not only
# when the command's requests time out.
proxy_dies() {
    local wt=$SCRATCH/wt-root err=$SCRATCH/proxy-dies.err t0 i
    rm -f "$wt/started"
    "$CELL" --worktree "$wt" --nix off -- sh -c 'touch started; sleep 4' 2>"$err" &
    local cell_pid=$!
    for ((i = 0; i < 100; i++)); do
        [[ -e $wt/started ]] && break
        sleep 0.05
    done
    t0=$SECONDS
    kill -KILL $(scratch_proxies) 2>/dev/null
    for ((i = 0; i < 40; i++)); do
        grep -q 'proxy exited' "$err" && break
        sleep 0.05
    done
    check "the launcher says at once that the proxy died ($(head -n1 "$err"))" \
        grep -q 'cell: proxy exited with 137 while the cell runs' "$err"
    check "... within 2 s, while the command still runs" test $((SECONDS - t0)) -lt 2
    wait "$cell_pid"
}

# Per-cell limits: every tmpfs is capped; a fork loop hits the process cap
# (RLIMIT_NPROC, which the kernel applies to everyone but root).
limits() {
    local who=$1 runas=() wt=$SCRATCH/wt-$1 cell_bin=$CELL out
    if [[ $who == unpriv ]]; then
        runas=(runuser -u "$(unpriv_user)" -- env -i PATH=/usr/bin:/bin HOME=/tmp XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR")
        cell_bin=$UNPRIV_CELL
    fi
    out=$("${runas[@]}" "$cell_bin" --worktree "$wt" --nix off -- \
        sh -c 'df -k /tmp /home/cell | awk "NR > 1 {print \$2}" | tr "\n" " "' 2>/dev/null)
    expect_eq "$who: /tmp and /home/cell are capped at 2 GiB by default" "2097152 2097152 " "$out"
    out=$("${runas[@]}" "$cell_bin" --worktree "$wt" --nix off --tmpfs-size 8M --tmpfs /scratch -- \
        sh -c 'for d in /tmp /home/cell /scratch; do
                   dd if=/dev/zero of=$d/fill bs=1M count=64 2>/dev/null && echo "$d=unbounded" || echo "$d=full"
               done; du -sk /tmp/fill | cut -f1' 2>&1)
    check "$who: --tmpfs-size 8M: filling /tmp, /home/cell and a --tmpfs ends in ENOSPC ($(tr '\n' ' ' <<<"$out"))" \
        bash -c '[[ $1 == *"/tmp=full"*"/home/cell=full"*"/scratch=full"* ]] && (( $(tail -n1 <<<"$1") <= 8192 ))' _ "$out"
    if [[ $who == unpriv ]]; then
        out=$("${runas[@]}" "$cell_bin" --worktree "$wt" --nix off --max-procs 40 -- python3 -c "$FORK_LOOP" 2>&1)
        check "$who: --max-procs 40: a fork loop is stopped in the cell ($(tr '\n' ' ' <<<"$out"))" \
            bash -c '[[ $1 =~ started=([0-9]+) ]] && ((BASH_REMATCH[1] < 40))' _ "$out"
        check "$who: ... with EAGAIN in the cell" grep -q 'fork failed: Resource temporarily unavailable' <<<"$out"
    fi
}

# Deny by default (issue 17): no --allow admits no domain and says so at
# start; --allow-all admits every one and says so; an allowlist with no
# proxy to enforce it is refused.
policy_default() {
    local wt=$SCRATCH/wt-root out rc
    out=$("$CELL" --worktree "$wt" --nix off -- \
        curl -s -o /dev/null -w 'status=%{http_code}\n' http://unlisted.example/ 2>&1)
    check "no --allow: the proxy refuses every domain (403) ($(tr '\n' ' ' <<<"$out"))" \
        grep -qx 'status=403' <<<"$out"
    check "... and the cell said so at start" \
        grep -q '^cell: the proxy admits no domain (deny by default)' <<<"$out"
    # The refusal is readable in the cell, live, with the flag that allows it.
    out=$("$CELL" --worktree "$wt" --nix off --allow a.example -- sh -c \
        'curl -s -o /dev/null http://unlisted.example:8080/x; cat "$CELL_REFUSALS"' 2>/dev/null)
    check "\$CELL_REFUSALS holds the refusal before the command ends ($out)" \
        bash -c '[[ $1 == *"\"host\":\"unlisted.example\",\"port\":8080"*"\"fix\":\"--allow unlisted.example\""* ]]' _ "$out"
    out=$("$CELL" --worktree "$wt" --nix off --allow a.example -- sh -c 'wc -l <"$CELL_REFUSALS"' 2>/dev/null)
    expect_eq "... and the next cell starts with an empty one" 0 "$out"
    check "... which the cell cannot write" \
        bash -c '! "$1" --worktree "$2" --nix off --allow a.example -- sh -c "echo x >>\$CELL_REFUSALS" 2>/dev/null' _ "$CELL" "$wt"
    out=$("$CELL" --worktree "$wt" --nix off --allow-all -- \
        curl -s -o /dev/null -w 'status=%{http_code}\n' http://unlisted.invalid/ 2>&1)
    check "--allow-all: the domain is admitted (the lookup fails: 502, not 403) ($(tr '\n' ' ' <<<"$out"))" \
        grep -qx 'status=502' <<<"$out"
    check "... and the cell said so at start" grep -q '^cell: the proxy admits every domain' <<<"$out"
    out=$("$CELL" --worktree "$wt" --nix off --allow-all --allow a.example -- true 2>&1)
    rc=$?
    expect_eq "--allow-all beside --allow is refused (exit 2)" 2 "$rc"
    : >"$SCRATCH/a-file"
    out=$("$CELL" --worktree "$wt" --log-dir "$SCRATCH/a-file" --nix off -- true 2>&1)
    rc=$?
    check "--log-dir naming a file says so (exit $rc: $out)" \
        bash -c '(($1 == 2)) && [[ $2 == *"is a file, not a directory"* ]]' _ "$rc" "$out"
    out=$("$CELL" --worktre "$wt" -- true 2>&1)
    check "an unknown option says cell: and suggests the nearest ($out)" \
        grep -qx "cell: unrecognised option '--worktre' (did you mean --worktree?)" <<<"$out"
    printf 'base =\nhost-system =\n' >"$SCRATCH/noproxy.ini"
    out=$("$CELL" --profile "$SCRATCH/noproxy.ini" --worktree "$wt" --allow a.example -- true 2>&1)
    rc=$?
    expect_eq "an allowlist in a cell without the proxy is refused (exit 2)" 2 "$rc"
    check "... naming --allow ($out)" grep -q -- '^cell: --allow: this cell has no proxy' <<<"$out"
}

# The cell's own cgroup (issue 23), where the host lets us make one (root
# here): pids.max stops root's fork loop, which RLIMIT_NPROC does not;
# --memory-max caps what the cell can take; no cgroup is left after the
# cell, even one whose launcher was SIGKILLed. An ordinary user without a
# delegated cgroup gets a refusal that says so for --memory-max.
cgroup_caps() {
    local wt=$SCRATCH/wt-root out rc parent probe left
    parent=/sys/fs/cgroup/pids$(awk -F: '$2 ~ /(^|,)pids(,|$)/ {print $3}' /proc/self/cgroup)
    parent=${parent%/}
    probe=$parent/unsafe-cell-probe-$$
    if ! mkdir "$probe" 2>/dev/null; then
        echo "# no pids cgroup can be made under $parent: the cgroup checks do not apply here"
        return
    fi
    rmdir "$probe"
    left() { find /sys/fs/cgroup -maxdepth 6 -name 'unsafe-cell-*' 2>/dev/null | tr '\n' ' '; }
    out=$("$CELL" --worktree "$wt" --nix off --max-procs 40 -- python3 -c "$FORK_LOOP" 2>&1)
    check "root: --max-procs 40: the cell's cgroup stops a fork loop ($(tr '\n' ' ' <<<"$out"))" \
        bash -c '[[ $1 =~ started=([0-9]+) ]] && ((BASH_REMATCH[1] < 40))' _ "$out"
    check "... with EAGAIN in the cell" grep -q 'fork failed: Resource temporarily unavailable' <<<"$out"
    out=$("$CELL" --worktree "$wt" --nix off --memory-max 64M -- python3 -c '
x = b"x" * (32 << 20)
print("32M ok", flush=True)
y = b"y" * (256 << 20)
print("256M ok", flush=True)' 2>&1)
    rc=$?
    check "root: --memory-max 64M: 32 MiB fits ($(tr '\n' ' ' <<<"$out"))" grep -q '^32M ok' <<<"$out"
    check "... 256 MiB does not (killed: exit $rc)" \
        bash -c '(($1 == 137)) && ! grep -q "256M ok" <<<"$2"' _ "$rc" "$out"
    expect_eq "... and no cgroup of a cell is left" "" "$(left)"
    "$CELL" --worktree "$wt" --nix off -- sleep 30 &
    local pid=$! i
    for ((i = 0; i < 100; i++)); do
        [[ -n $(left) ]] && break
        sleep 0.1
    done
    check "a running cell has its cgroup ($(left))" test -n "$(left)"
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null
    for ((i = 0; i < 50; i++)); do
        [[ -z $(left) ]] && break
        sleep 0.1
    done
    expect_eq "... which its keeper removes when the launcher is SIGKILLed" "" "$(left)"
    if ! runuser -u "$(unpriv_user)" -- mkdir "$parent/unsafe-cell-probe-$$" 2>/dev/null; then
        out=$(runuser -u "$(unpriv_user)" -- env -i PATH=/usr/bin:/bin HOME=/tmp \
            XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" "$CELL" --worktree "$SCRATCH/wt-unpriv" --nix off \
            --memory-max 64M -- true 2>&1)
        rc=$?
        expect_eq "unpriv: --memory-max without a delegated cgroup is refused (exit 70)" 70 "$rc"
        check "... saying why and that nothing was started ($(tr "\n" " " <<<"$out"))" \
            grep -q -- '--memory-max 64M: cannot make a cgroup for the cell here.*nothing was started' <<<"$out"
    else
        rmdir "$parent/unsafe-cell-probe-$$"
    fi
}

run_checks root
policy_default
limits root
proxy_dies
run_checks unpriv
limits unpriv
cgroup_caps
tap_done
