#!/usr/bin/env bash
# A real host nix-daemon reached from inside real cells through the relay:
# `nix store ping`, `nix-store --add` (the host store sees the path), and the
# store is read-only inside. Also --nix on/auto/off behaviour.
set -uo pipefail
source "$(dirname -- "$0")/lib.sh"
source "$(dirname -- "$0")/../lib/nix_daemon.sh"

mkdir -p "$SCRATCH/nixd"
start_nix_daemon "$SCRATCH/nixd" || { echo "not ok 1 - a private nix-daemon starts"; echo "1..1"; exit 1; }
trap 'stop_nix_daemon; cleanup_scratch' EXIT
# cells take the directory holding `socket`, as on a real host.
SOCKDIR=$SCRATCH/nixsock
mkdir -p "$SOCKDIR" && ln -s "$NIX_DAEMON_SOCKET" "$SOCKDIR/socket"
chmod 755 "$SCRATCH/nixd" "$SOCKDIR"
chmod 666 "$NIX_DAEMON_SOCKET"

WT=$SCRATCH/wt
mkdir -p "$WT" && chmod 777 "$WT"
echo "content made in a cell $$" >"$WT/payload.txt"
chmod 644 "$WT/payload.txt"

for who in root unpriv; do
    runas=() cell_bin=$CELL
    if [[ $who == unpriv ]]; then
        runas=(runuser -u "$(unpriv_user)" -- env -i PATH=/usr/bin:/bin HOME=/tmp XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR")
        cell_bin=$UNPRIV_CELL
    fi
    cell=("${runas[@]}" "$cell_bin" --worktree "$WT" --nix on --nix-daemon-socket "$SOCKDIR")
    check "$who: nix store ping reaches the host daemon" \
        "${cell[@]}" -- nix store ping
    path=$("${cell[@]}" -- nix-store --add payload.txt 2>"$SCRATCH/add.err")
    check "$who: nix-store --add from the cell lands in the host store ($path)" \
        bash -c '[[ $1 == /nix/store/*-payload.txt && $(cat "$1") == "$(cat "$2")" ]]' _ "$path" "$WT/payload.txt"
    check "$who: the store is read-only inside the cell" \
        "${cell[@]}" -- sh -c "! touch /nix/store/x 2>/dev/null && ! rm -f '$path' 2>/dev/null"
done

out=$("$CELL" --worktree "$WT" --nix on --nix-daemon-socket "$SCRATCH/absent" -- true 2>&1)
rc=$?
check "--nix on without a socket fails clearly (exit $rc)" \
    bash -c '(( $1 != 0 )) && grep -q "absent/socket" <<<"$2"' _ "$rc" "$out"
out=$("$CELL" --worktree "$WT" --nix auto --nix-daemon-socket "$SCRATCH/absent" -- echo ran 2>&1)
check "--nix auto without a socket runs and says so in one line" \
    bash -c 'grep -q "^ran$" <<<"$1" && (( $(grep -c "absent/socket" <<<"$1") == 1 ))' _ "$out"
check "--nix off runs no nix relay" \
    bash -c '! "$@" -- sh -c "test -S /nix/var/nix/daemon-socket/socket"' _ "$CELL" --worktree "$WT" --nix off
# A profile without the proxy: a daemon but no jail listener, so the launcher
# does not wait for bwrap's --info-fd (its other path); the gate still holds
# the command until the nix relay is ready.
printf 'base =\nhost-system =\ntry-nix-store =\nnix-daemon =\n' >"$SCRATCH/noproxy.ini"
check "without the proxy (no jail listener) nix store ping still reaches the daemon" \
    "$CELL" --profile "$SCRATCH/noproxy.ini" --worktree "$WT" --nix on \
    --nix-daemon-socket "$SOCKDIR" -- nix store ping
out=$("$CELL" --profile "$SCRATCH/noproxy.ini" --nix on --nix-daemon-socket "$SOCKDIR" -- \
    sh -c 'ls /proc/self/fd' 2>&1)
expect_eq "and the command gets only stdio and its own fd ($(tr '\n' ' ' <<<"$out"))" \
    "0 1 2 3" "$(tr '\n' ' ' <<<"$out" | sed 's/ $//')"
expect_eq "nothing left behind" "" "$(leftovers)"
tap_done
