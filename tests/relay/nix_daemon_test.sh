#!/usr/bin/env bash
# The real nix client talking to a real nix-daemon through relay, the way a
# cell uses it: `nix store ping`, `nix-store --add` (client -> daemon bulk),
# `nix-store --export` and `nix-store --query --requisites` (daemon -> client
# streams), each compared with the same command run against the daemon
# directly. The relay log must show every connection closed without error.
set -euo pipefail
here=$(dirname "$0")
# shellcheck source=../lib/nix_daemon.sh
source "$here/../lib/nix_daemon.sh"
RELAY=${RELAY:?path to the relay binary}

tmp=$(mktemp -d /tmp/relay-nix-XXXXXX)
relay_pid=
path=
cleanup() {
    [[ -n $relay_pid ]] && kill "$relay_pid" 2>/dev/null && wait "$relay_pid" 2>/dev/null
    # The uploaded tree is unique to this run; do not leave 20 MiB in the store.
    [[ -n $path ]] && env "$(nix_client_env "$NIX_DAEMON_SOCKET")" nix-store --delete "$path" >/dev/null 2>&1
    stop_nix_daemon
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

start_nix_daemon "$tmp"
"$RELAY" --log "$tmp/relay.log" "unix:$tmp/relay.sock" "unix:$NIX_DAEMON_SOCKET" \
    --ready-fd 3 3>"$tmp/ready" &
relay_pid=$!
for _ in $(seq 100); do [[ -s $tmp/ready ]] && break; sleep 0.05; done
[[ $(cat "$tmp/ready") == ready ]] || fail "relay did not get ready"

direct=(env "$(nix_client_env "$NIX_DAEMON_SOCKET")")
relayed=(env "$(nix_client_env "$tmp/relay.sock")")
nixcmd=(--extra-experimental-features nix-command)

out=$("${relayed[@]}" nix "${nixcmd[@]}" store ping 2>&1) || fail "nix store ping: $out"
[[ $out == *"unix://$tmp/relay.sock"* ]] || fail "store ping talked to: $out"
ok "nix store ping through relay"

# A 20 MiB tree with a unique file so the add really uploads.
mkdir -p "$tmp/tree/sub"
head -c $((20 << 20)) /dev/urandom >"$tmp/tree/big"
echo "relay test $$ $RANDOM$RANDOM" >"$tmp/tree/sub/unique"
path=$("${relayed[@]}" nix-store --add "$tmp/tree") || fail "nix-store --add"
[[ $path == /nix/store/*-tree ]] || fail "nix-store --add printed '$path'"
cmp "$tmp/tree/big" "$path/big" || fail "the added file differs"
ok "nix-store --add of 20 MiB through relay: $path"

"${relayed[@]}" nix-store --export "$path" >"$tmp/export.relayed"
"${direct[@]}" nix-store --export "$path" >"$tmp/export.direct"
cmp "$tmp/export.relayed" "$tmp/export.direct" || fail "--export differs through relay"
size=$(stat -c %s "$tmp/export.relayed")
((size > 20 << 20)) || fail "--export is only $size bytes"
ok "nix-store --export streams $size bytes, identical to the direct one"

mapfile -t all < <(find /nix/store -mindepth 1 -maxdepth 1 ! -name '*.lock' ! -name '.links' | head -200)
q_relayed=$("${relayed[@]}" nix-store --query --requisites "$path" "${all[@]}" 2>&1 | sort) || true
q_direct=$("${direct[@]}" nix-store --query --requisites "$path" "${all[@]}" 2>&1 | sort) || true
[[ -n $q_relayed && $q_relayed == "$q_direct" ]] || fail "--query --requisites differs"
ok "nix-store --query --requisites over $(wc -l <<<"$q_relayed") paths matches the direct answer"

kill "$relay_pid"
wait "$relay_pid" || fail "relay exited $?"
relay_pid=
[[ ! -e $tmp/relay.sock ]] || fail "relay left its socket behind"
closes=$(grep -c '"event":"close"' "$tmp/relay.log")
errors=$(grep '"event":"close"' "$tmp/relay.log" | grep -vc '"error":""' || true)
((closes >= 4)) || fail "only $closes connections logged"
((errors == 0)) || fail "$errors connections ended with an error: $(grep -v '"error":""' "$tmp/relay.log")"
ok "$closes nix connections through relay, all closed cleanly"
