#!/usr/bin/env bash
# The examples people copy: every profile in examples/ renders with the real
# cellgen (`--print json`) into a plan that binds the worktree, keeps the
# log dir and passes the allowlist to the proxy; the filter file's patterns
# are anchored and mean what its comments say under POSIX ERE (grep -E as the
# reference); when the cell's programs are built and bwrap works, the agent
# profile runs a real cell.
set -uo pipefail
SOURCE_ROOT=${SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$SOURCE_ROOT/tests/lib/tap.sh"
ex=$SOURCE_ROOT/examples
T=$(mktemp -d)
trap 'rm -rf -- "$T"' EXIT

# --- the filter file, read as tinyproxy reads it ------------------------------
filter=$ex/filters/allowlist.filter
patterns=$T/patterns
grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$filter" >"$patterns"
unanchored=$(grep -v -e '^\^.*\$$' "$patterns")
expect_eq "every filter pattern is anchored ^...\$" "" "$unanchored"
# Case-insensitive substring search of the host, as tinyproxy does (regexec
# without anchors); grep -E -i is the POSIX ERE reference.
allowed() { printf '%s\n' "$1" | grep -q -E -i -f "$patterns"; }
for host in github.com api.github.com GitHub.COM raw.githubusercontent.com \
    cache.nixos.org registry.npmjs.org pypi.org files.pythonhosted.org static.crates.io; do
    check "filter allows $host" allowed "$host"
done
for host in github.com.evil.example notgithub.com githubXcom evilpypi.org \
    pypi.org.evil.example registry.npmjs.org.evil.example example.com; do
    check "filter refuses $host" bash -c '! printf "%s\n" "$1" | grep -q -E -i -f "$2"' _ "$host" "$patterns"
done
check "as BRE (the default) the ERE lines match nothing, failing closed" \
    bash -c '! printf "%s\n" github.com api.github.com | grep -q -i -f "$1"' _ "$patterns"

if [[ -z ${CELLGEN:-} || ! -x ${CELLGEN:-} ]]; then
    TAP_N=$((TAP_N + 1))
    echo "ok $TAP_N - render the example profiles # SKIP cellgen is not built"
    tap_done
    exit $?
fi

# The proxy's path only appears in the plan; while it is not built, any
# executable stands in so the profile itself can still be checked.
proxy_bin=${PROXY:-/bin/true}
gen=("$CELLGEN" --proxy-bin "$proxy_bin")
[[ -n ${RELAY:-} ]] && gen+=(--relay-bin "$RELAY")

# prepare NAME PROFILE: a copy of PROFILE whose log-dir is a fresh temp dir
# (profiles name real host paths); prints the copy's path.
prepare() {
    local dir=$T/$1
    mkdir -p "$dir/worktree" "$dir/logs"
    sed "s|^log-dir = .*|log-dir = $dir/logs|" "$2" >"$dir/profile.ini"
    printf '%s\n' "$dir/profile.ini"
}

# profile_allows PROFILE: the allow values, in order, as plan_check args.
profile_allows() {
    sed -n 's/^allow = \(.*\)$/--allow\n\1/p' "$1"
}

render_check() {
    local name=$1 profile=$2 copy plan
    shift 2
    copy=$(prepare "$name" "$profile")
    check "$name: the profile has a log-dir line" grep -q '^log-dir = ' "$profile"
    plan=$(cd "$T/$name/worktree" && "${gen[@]}" --print json --profile "$copy" -- true 2>&1)
    check "$name: renders with cellgen --print json" test "${plan:0:1}" = "{"
    mapfile -t allows < <(profile_allows "$profile")
    check "$name: the plan binds the worktree, keeps the logs and the allowlist" \
        python3 "$SOURCE_ROOT/tests/nix/plan_check.py" --worktree "$T/$name/worktree" \
        --log-dir "$T/$name/logs" "${allows[@]}" "$@" <<<"$plan"
}

render_check agent "$ex/agent/agent.ini" --nix-mode auto
render_check ci "$ex/ci/ci.ini" --nix-mode on

expect_eq "the agent allowlist has a model API and the registries" \
    "api.anthropic.com api.openai.com registry.npmjs.org pypi.org files.pythonhosted.org" \
    "$(sed -n 's/^allow = \(api\.\|registry\|pypi\|files\)/\1/p' "$ex/agent/agent.ini" | tr '\n' ' ' | sed 's/ $//')"

mkdir -p "$T/filter-wt"
plan=$(cd "$T/filter-wt" && "${gen[@]}" --print json --worktree . --filter "$filter" --filter-type ere -- true 2>&1)
check "the filter file goes to the proxy as ERE" \
    python3 "$SOURCE_ROOT/tests/nix/plan_check.py" --worktree "$T/filter-wt" \
    --filter "$filter" --filter-type ere <<<"$plan"

# --- a real cell from the agent profile ---------------------------------------
if [[ -z ${CELL:-} || -z ${PROXY:-} || -z ${RELAY:-} ]] ||
    ! bwrap --unshare-user --unshare-net --ro-bind / / true 2>/dev/null; then
    TAP_N=$((TAP_N + 1))
    echo "ok $TAP_N - run the agent profile in a cell # SKIP needs cell, proxy, relay and working bwrap"
    tap_done
    exit $?
fi
out=$(cd "$T/agent/worktree" && CELLGEN=$CELLGEN timeout 60 "$CELL" --profile "$T/agent/profile.ini" \
    --nix off --proxy-bin "$PROXY" --relay-bin "$RELAY" -- \
    sh -c 'echo hi > from-cell
           echo "denied: $(curl -s -o /dev/null -w "%{http_code}" http://not-on-the-list.example/)"
           echo "$(id -un) $PWD $HTTPS_PROXY"' </dev/null 2>&1)
expect_eq "the agent cell runs as cell in the worktree behind the proxy" \
    "cell /home/cell/worktree http://127.0.0.1:3128" "$(grep '^cell ' <<<"$out")"
expect_eq "a host off the agent's allowlist gets 403" "denied: 403" "$(grep '^denied: ' <<<"$out")"
check "the launcher names the refused host at exit" grep -q 'refused: not-on-the-list.example:80' <<<"$out"
check "the file written in the cell is in the host worktree" grep -qx hi "$T/agent/worktree/from-cell"
check "the launcher's log landed in the log dir" test -s "$T/agent/logs/launcher.log"

# --- the CI profile runs its job: git, and a build through a real daemon -------
source "$SOURCE_ROOT/tests/lib/nix_daemon.sh"
mkdir -p "$T/nixd" "$T/nixsock"
# No binary cache here (no network): do not let the daemon try one.
if [[ $EUID == 0 ]] && NIX_CONFIG='substituters =' start_nix_daemon "$T/nixd" >"$T/nixd.err" 2>&1; then
    trap 'stop_nix_daemon; rm -rf -- "$T"' EXIT
    # cellgen wants the directory holding `socket`.
    ln -s "$NIX_DAEMON_SOCKET" "$T/nixsock/socket"
    wt=$T/ci/worktree
    printf '%s\n' 'derivation { name = "cell-ci-example"; system = builtins.currentSystem;' \
        '  builder = "/bin/sh"; args = [ "-c" "echo built in a cell > $out" ]; }' >"$wt/default.nix"
    git -C "$wt" init -q && git -C "$wt" add . &&
        git -C "$wt" -c user.name=ci -c user.email=ci@example.invalid commit -q -m job
    out=$(cd "$wt" && CELLGEN=$CELLGEN timeout 90 "$CELL" --profile "$T/ci/profile.ini" \
        --nix-daemon-socket "$T/nixsock" --proxy-bin "$PROXY" --relay-bin "$RELAY" -- bash -s <"$ex/ci/ci-job.sh" 2>&1)
    expect_eq "ci: the job sees its commit in the worktree as cell" \
        "ci: $(git -C "$wt" rev-parse --short HEAD) in /home/cell/worktree as cell" "$(grep '^ci: ' <<<"$out")"
    built=$(grep -o '/nix/store/[a-z0-9]*-cell-ci-example$' <<<"$out")
    expect_eq "ci: nix-build in the cell built through the host daemon" "built in a cell" \
        "$(cat "${built:-/nonexistent}" 2>&1)"
    stop_nix_daemon
else
    TAP_N=$((TAP_N + 1))
    echo "ok $TAP_N - the CI profile runs its job # SKIP needs root and a nix-daemon: $(tail -n 1 "$T/nixd.err" 2>/dev/null)"
fi

# The same profile as an unprivileged user, who owns the worktree and logs.
source "$SOURCE_ROOT/tests/lib/unpriv_user.sh"
if user=$(unpriv_user) && [[ $user != root ]]; then
    chmod 0755 "$T"
    mkdir -p "$T/unpriv/worktree" "$T/unpriv/logs"
    sed "s|^log-dir = .*|log-dir = $T/unpriv/logs|" "$ex/agent/agent.ini" >"$T/unpriv/profile.ini"
    chown -R "$user:" "$T/unpriv"
    out=$(as_unpriv timeout 60 bash -c 'cd "$1" && CELLGEN=$2 "$3" --profile "$4" --nix off \
        --proxy-bin "$5" --relay-bin "$6" -- sh -c "echo \$(id -un) \$PWD; echo hi > from-cell"' \
        _ "$T/unpriv/worktree" "$CELLGEN" "$CELL" "$T/unpriv/profile.ini" "$PROXY" "$RELAY" </dev/null 2>&1)
    expect_eq "as $user: the agent cell runs as cell in the worktree" \
        "cell /home/cell/worktree" "$(tail -n 1 <<<"$out")"
    expect_eq "as $user: the file it wrote belongs to $user on the host" "$user" \
        "$(stat -c %U "$T/unpriv/worktree/from-cell" 2>&1)"
else
    TAP_N=$((TAP_N + 1))
    echo "ok $TAP_N - the agent cell as an unprivileged user # SKIP no unprivileged user"
fi
tap_done
