#!/usr/bin/env bash
# The `cell` program's front end: a plan far larger than one argv string can
# hold reaches bash and bwrap intact (the script goes through a memfd,
# bwrap's options through --args), as root and as an unprivileged user;
# `cell --help`, bare `cell`, `cell --print` and `cell doctor` behave as
# documented; the front end leaves no descriptor in the jail.
set -uo pipefail
source "$(dirname -- "$0")/lib.sh"

# 2,500 read-only binds of files with long names: the rendered script is
# well over 128 KiB, the most one argv string may hold (MAX_ARG_STRLEN), so
# `bash -c SCRIPT` or bwrap's own argv could not carry it.
n=2500
src=$SCRATCH/binds/a-directory-name-long-enough-to-make-every-bind-line-count
mkdir -p "$src" "$SCRATCH/wt"
chmod -R a+rX "$SCRATCH/binds"
binds=()
for ((i = 0; i < n; i++)); do
    echo "$i" >"$src/file-number-$i"
    binds+=(--ro-bind "$src/file-number-$i" "/mnt/binds/bound-file-number-$i")
done
chmod a+r "$src"/*
opts=(--worktree "$SCRATCH/wt" --nix off --allow example.com "${binds[@]}")
size=$("$CELL" --print script "${opts[@]}" -- true | wc -c)
check "the plan's script is over 128 KiB ($size bytes)" test "$size" -gt 131072

probe='ls /mnt/binds | wc -l; cat /mnt/binds/bound-file-number-0 /mnt/binds/bound-file-number-2499'
expect_eq "root: all $n binds reach the jail" "$n 0 2499" \
    "$("$CELL" "${opts[@]}" -- sh -c "$probe" | xargs)"
chown -R "$(unpriv_user)" "$SCRATCH/wt"
expect_eq "unprivileged: all $n binds reach the jail" "$n 0 2499" \
    "$(as_unpriv env XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" "$UNPRIV_CELL" "${opts[@]}" -- \
        sh -c "$probe" | xargs)"

# Only stdio (and ls's own directory fd) inside: neither the script's memfd
# nor any fd of the front end or the launcher reaches the command.
expect_eq "the command gets only stdio" "0 1 2 3" \
    "$("$CELL" --worktree "$SCRATCH/wt" --nix off -- ls /proc/self/fd | xargs)"
# A caller that closed stdin: the script's fd must not take its place.
expect_eq "with stdin closed, nothing of the front end becomes the command's stdin" "" \
    "$("$CELL" --worktree "$SCRATCH/wt" --nix off -- sh -c 'ls -l /proc/self/fd/' <&- |
        grep -e memfd -e cell-script)"
check "the launcher leaves nothing" bash -c '[[ -z $(ls -d "$1"/cell-* 2>/dev/null) ]]' _ \
    "$XDG_RUNTIME_DIR"

out=$("$CELL" --help)
rc=$?
check "cell --help: exit 0 and the usage" bash -c '[[ $1 == 0 && $2 == usage:* ]]' _ "$rc" "$out"
out=$("$CELL" 2>&1)
rc=$?
check "cell with no arguments: the usage, exit 1 ($rc)" \
    bash -c '[[ $1 == 1 && $2 == usage:* ]]' _ "$rc" "$out"
"$CELL" --bogus-option -- true >/dev/null 2>"$SCRATCH/bogus.err"
rc=$?
check "a bad option: exit 2, naming it ($rc: $(<"$SCRATCH/bogus.err"))" \
    bash -c '[[ $1 == 2 ]] && grep -q -- --bogus-option "$2"' _ "$rc" "$SCRATCH/bogus.err"
out=$("$CELL" --nix off --version 2>&1)
rc=$?
check "--version among the options prints the version, runs nothing ($rc: $out)" \
    bash -c '[[ $1 == 0 && $2 == "cellgen "[0-9]* ]]' _ "$rc" "$out"
out=$("$CELL" --worktree "$SCRATCH/wt" --help 2>&1)
rc=$?
check "--help among the options prints cellgen's help ($rc)" \
    bash -c '[[ $1 == 0 && $2 == "usage: cellgen"* ]]' _ "$rc" "$out"
check "cell --print json is cellgen's plan" \
    bash -c '"$1" --print json --worktree "$2" --nix off -- true | python3 -c "import json, sys; assert json.load(sys.stdin)[\"bwrap\"]"' \
    _ "$CELL" "$SCRATCH/wt"

# doctor: real checks on this host, which runs cells (the suite needs it).
out=$("$CELL" doctor 2>&1)
rc=$?
check "cell doctor: exit 0 on a host that runs cells ($rc)" test "$rc" = 0
check "... names bwrap's version and finds the helpers" \
    bash -c '[[ $1 == *"ok    bubblewrap "* && $1 == *"ok    relay found"* && $1 == *"ok    proxy found"* ]]' \
    _ "$out"
check "... and has no FAIL line" bash -c '[[ $1 != *FAIL* ]]' _ "$out"
check "... says which per-cell caps are in force" \
    bash -c '[[ $1 == *"ok    tmpfs caps"* && $1 == *"process cap: "* && $1 == *"memory cap: "* ]]' _ "$out"
# Root's relay drops to nobody: root's own trust must not be reported as the
# cell's (issue 23); the check names whom the daemon sees instead.
if ((EUID == 0)); then
    mkdir -p "$SCRATCH/nixsock"
    python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$SCRATCH/nixsock/socket"
    out=$("$CELL" doctor --nix-daemon-socket "$SCRATCH/nixsock" 2>&1)
    check "cell doctor as root does not call root's trust the cell's" \
        bash -c '[[ $1 != *"root is a nix trusted-user"* && $1 == *"ok    root'"'"'s cells reach the daemon as nobody, which is not a nix trusted-user"* ]]' _ "$out"
fi
out=$(PATH=/nonexistent "$CELL" doctor 2>&1)
rc=$?
check "cell doctor without bwrap: exit 1 and the fix ($rc)" \
    bash -c '[[ $1 == 1 && $2 == *"FAIL  bwrap not found: apt-get install bubblewrap"* ]]' _ "$rc" "$out"

tap_done
