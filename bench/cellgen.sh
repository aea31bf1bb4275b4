#!/usr/bin/env bash
# Times `cellgen --print json` for a full cell (nix-daemon + proxy + worktree),
# process start included, over many runs; prints the mean and max in ms.
# Usage: bench/cellgen.sh [BUILD_DIR] [RUNS]   (default build, 300)
set -euo pipefail
build=${1:-build}
runs=${2:-300}
cellgen=$build/cellgen/cellgen
[[ -x $cellgen ]] || { echo "bench/cellgen.sh: no $cellgen (build first)" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
mkdir "$work/worktree" "$work/logs"
# Real helpers when built, else stand-ins: only their paths are rendered.
relay=$build/relay/relay proxy=$build/proxy/proxy
[[ -x $relay ]] || relay=/bin/true
[[ -x $proxy ]] || proxy=/bin/true
args=(--print json --nix on --worktree "$work/worktree" --log-dir "$work/logs"
    --allow example.com --allow '*.github.com' --connect-port 443
    --relay-bin "$relay" --proxy-bin "$proxy" -- opencode run)

"$cellgen" "${args[@]}" >"$work/plan.json" # warm the page cache; fail loudly
python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); assert [d["name"] for d in p["daemons"]] == ["proxy","nix"]' "$work/plan.json"

# Rounds of 10 runs each, interleaved, so that load from other processes hits
# both alike; no subshell per run, so only the exec itself is counted.
batch_us() { # batch_us CMD...: wall time of 10 runs, in microseconds
    local start=${EPOCHREALTIME/./} j
    for ((j = 0; j < 10; j++)); do "$@" >/dev/null; done
    batch=$((${EPOCHREALTIME/./} - start))
}
ms() { printf '%d.%03d ms' $(($1 / 1000)) $(($1 % 1000)); }

total=0 base=0 batch=0 rounds=$(((runs + 9) / 10))
for ((i = 0; i < rounds; i++)); do
    batch_us /bin/true
    base=$((base + batch))
    batch_us "$cellgen" "${args[@]}"
    total=$((total + batch))
done
n=$((rounds * 10))
took=$((total / n)) base=$((base / n))
own=$((took > base ? took - base : 0))
echo "cellgen --print json (nix-daemon + proxy + worktree), $n runs:"
echo "  cellgen    mean $(ms "$took")"
echo "  /bin/true  mean $(ms "$base")   (process start alone, for scale)"
echo "  cellgen's own work: about $(ms "$own") per run"
