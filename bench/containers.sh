#!/usr/bin/env bash
# bench/containers.sh: what --containers costs, in one run, on this machine
# (issue 20). Each figure is the median of RUNS (default 5):
#   cell start, `cell -- true`, without and with --containers
#       goal: the engine's API answers within 0.5 s of a cell without it
#   in one cell, warm (image present, engine up):
#       `podman run --rm IMG true` (the CLI, the cell's network)
#       `docker run --rm IMG true` through the Docker API (default bridge)
#       goal: a warm run under 1 s on 2 cores
# The image is busybox-static's, imported into a scratch store.
# Usage: bench/containers.sh [CELL_BIN]   (default build/launch/cell); as root
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cell=${1:-$here/../build/launch/cell}
runs=${BENCH_RUNS:-5}
for tool in podman busybox python3; do
    command -v "$tool" >/dev/null || { echo "bench/containers.sh: needs $tool (scripts/setup.sh test)" >&2; exit 2; }
done

dir=$(mktemp -d /tmp/containers-bench.XXXXXX)
chmod 755 "$dir"
trap 'rm -rf "$dir"' EXIT
export XDG_RUNTIME_DIR=$dir/run
mkdir -p "$XDG_RUNTIME_DIR" "$dir/rootfs/bin"
cp "$(command -v busybox)" "$dir/rootfs/bin/busybox"
for a in sh true; do ln -sf busybox "$dir/rootfs/bin/$a"; done
tar -C "$dir/rootfs" -cf "$dir/bb.tar" .

base=("$cell" --nix off --container-store "$dir/store")
"${base[@]}" --containers --ro-bind "$dir/bb.tar" /tmp/bb.tar -- \
    podman import -q /tmp/bb.tar bench/bb:1 >/dev/null 2>&1

# median of the numbers on stdin
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
# ms of one run of "$@"
ms() {
    local s e
    s=$(date +%s%N)
    "$@" >/dev/null 2>&1
    e=$(date +%s%N)
    echo $(((e - s) / 1000000))
}

plain=() with=()
for ((i = 0; i < runs; i++)); do # interleaved
    plain+=("$(ms "${base[@]}" -- true)")
    with+=("$(ms "${base[@]}" --containers -- true)")
done
p=$(printf '%s\n' "${plain[@]}" | median)
w=$(printf '%s\n' "${with[@]}" | median)

# Inside one cell: warm runs, the first of each kind not counted.
inner=$("${base[@]}" --containers -- sh -c '
    ms() { s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo $(((e - s) / 1000000)); }
    api() { curl -s --unix-socket ${DOCKER_HOST#unix://} -H "Content-Type: application/json" "$@"; }
    docker_run() { # what `docker run --rm IMG true` asks of the API
        id=$(api -d "{\"Image\":\"bench/bb:1\",\"Cmd\":[\"true\"],\"HostConfig\":{\"AutoRemove\":true}}" \
            http://d/v1.41/containers/create | sed -n "s/.*\"Id\":\"\([0-9a-f]*\)\".*/\1/p")
        api -X POST http://d/v1.41/containers/$id/start
        api -X POST "http://d/v1.41/containers/$id/wait?condition=removed"
    }
    podman run --rm bench/bb:1 true; docker_run
    for i in $(seq '"$runs"'); do
        echo cli $(ms podman run --rm bench/bb:1 true)
        echo api $(ms docker_run)
    done' 2>/dev/null)
cli=$(awk '$1 == "cli" {print $2}' <<<"$inner" | median)
api=$(awk '$1 == "api" {print $2}' <<<"$inner" | median)

echo "bench/containers.sh: median of $runs, $(nproc) cores"
printf '  cell -- true                      %5d ms\n' "$p"
printf '  cell --containers -- true         %5d ms   (+%d ms: engine up and answering; goal <= 500)\n' "$w" $((w - p))
printf '  warm podman run --rm IMG true     %5d ms   (goal < 1000)\n' "$cli"
printf '  warm docker run --rm IMG true     %5d ms   (Docker API, bridge; goal < 1000)\n' "$api"
