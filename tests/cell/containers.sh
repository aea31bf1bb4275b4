#!/usr/bin/env bash
# --containers in real cells (issue 20), hermetic: a busybox image made from
# Debian's busybox-static, a docker-registry on the host loopback named
# registry.cell-test in /etc/hosts (restored on exit), rootless podman in
# the cell; as root and as an unprivileged user:
#  - the engine answers when the command starts (DOCKER_HOST), its store is
#    the user's (persists across cells, not shared between users);
#  - pulls go through the cell's proxy: allowed ones are in the access log,
#    a refused registry fails and the launcher's summary names it;
#  - containers on the default (bridge), host and none networks reach the
#    proxy at one address, get 403 for a denied host, and have no route out;
#  - the Docker API (curl: create, start, wait), -v of the worktree (files
#    land owned by the caller), a build with a RUN step, a published port;
#  - the launcher SIGKILLed with a detached container, a published port
#    and the service running: nothing is left 3 s later;
#  - protections: a --privileged container and the cell itself cannot write
#    a read-only bind (also after remount in a user namespace), a global
#    sysctl, /sys, the cell's own net sysctls or links.
set -uo pipefail
source "$(dirname -- "$0")/lib.sh"
source "$(dirname -- "$0")/registry.sh"
need_engine_tools

REG=registry.cell-test
DENIED=denied.cell-test
registry_hosts "$REG" "$DENIED"
REG_PORT=$(free_port)
start_registry plain "$REG_PORT" "$SCRATCH/registry"
IMG=$REG:$REG_PORT/bb:1

# The image: busybox and its applets, and a file of another owner.
rootfs=$SCRATCH/rootfs
mkdir -p "$rootfs/bin" "$rootfs/srv"
cp "$(command -v busybox)" "$rootfs/bin/busybox"
for a in sh ls cat echo wget nc true sleep id httpd env touch mount; do
    ln -sf busybox "$rootfs/bin/$a"
done
echo hi >"$rootfs/srv/f"
chown 1234:1234 "$rootfs/srv/f"
tar -C "$rootfs" -cf "$SCRATCH/bb.tar" .
chmod 644 "$SCRATCH/bb.tar"

upstream_dir=$SCRATCH/www
mkdir -p "$upstream_dir"
echo allowed-upstream >"$upstream_dir/index.html"
WWW_PORT=$(free_port)
python3 -m http.server "$WWW_PORT" --bind 127.0.0.1 --directory "$upstream_dir" >/dev/null 2>&1 &
BG_PIDS+=($!)

mkdir -p "$SCRATCH/stores" "$SCRATCH/ro"
chmod 1777 "$SCRATCH/stores"
chmod 755 "$SCRATCH/ro"
echo original >"$SCRATCH/ro/file"

flat() { tr '\n' ' ' <<<"$1"; }

# The image pushed once, from a root cell: podman import + push through the
# cell's proxy (the plain-HTTP registry is an --insecure-registry).
common=(--nix off --insecure-registry "$REG:$REG_PORT" --allow "$REG:$REG_PORT"
    --allow "$REG:$WWW_PORT" --allow-cidr 127.0.0.1/32)
out=$("$CELL" "${common[@]}" --containers --container-store "$SCRATCH/pusher-store" \
    --ro-bind "$SCRATCH/bb.tar" /tmp/bb.tar -- sh -c \
    "podman import -q /tmp/bb.tar $IMG >/dev/null && podman push -q $IMG 2>&1" 2>&1)
check "the test image is pushed to the registry through a cell's proxy ($(flat "$out"))" \
    curl -sf "http://127.0.0.1:$REG_PORT/v2/bb/tags/list"

# Processes of a container engine in any cell (empty = none).
engine_procs() {
    pgrep -a -f 'podman system service|conmon|slirp4netns|rootlessport|catatonit|busybox httpd' |
        grep -v pgrep
}

run_checks() {
    local who=$1 runas=() wt=$SCRATCH/wt-$1 logs=$SCRATCH/logs-$1 owner cell_bin=$CELL
    local store=$SCRATCH/stores/$1
    mkdir -p "$wt/ctx" "$logs"
    if [[ $who == unpriv ]]; then
        owner=$(unpriv_user)
        runas=(runuser -u "$owner" -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/tmp
            XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR")
        cell_bin=$UNPRIV_CELL
    else
        owner=root
    fi
    cat >"$wt/ctx/Dockerfile" <<DF
FROM $IMG
RUN echo built-by-run >/built
DF
    echo from-the-worktree >"$wt/x"
    chown -R "$owner" "$wt" "$logs"
    local cell=("${runas[@]}" "$cell_bin" "${common[@]}" --worktree "$wt" --log-dir "$logs"
        --containers --container-store "$store")
    local out rc

    out=$("${cell[@]}" -- sh -c 'curl -s --unix-socket ${DOCKER_HOST#unix://} http://d/_ping;
        echo; podman info --format "{{.Store.GraphRoot}}"' 2>&1)
    check "$who: the engine answers /_ping when the command starts ($(flat "$out"))" \
        grep -qx OK <<<"$out"
    check "$who: its store is the bound one" \
        grep -qx /home/cell/.cache/containers/storage <<<"$out"
    check "$who: the launcher made the store, the caller's and 0700" \
        test "$(stat -c %U:%a "$store")" == "$owner:700"

    out=$("${cell[@]}" -- podman pull -q "$IMG" 2>&1)
    check "$who: podman pull through the cell's proxy ($(flat "$out"))" \
        grep -q "\"host\":\"$REG\",\"port\":$REG_PORT,\"decision\":\"allow\"" "$logs/proxy-access.log"
    out=$("${cell[@]}" -- podman pull "$DENIED:$REG_PORT/bb:1" 2>&1)
    rc=$?
    check "$who: a pull from a registry the policy does not allow fails (rc $rc)" test "$rc" -ne 0
    check "$who: the launcher's summary names the refused registry" \
        grep -q "^cell: the proxy refused: $DENIED:$REG_PORT" <<<"$out"

    out=$("${cell[@]}" -- sh -c "podman image exists $IMG && echo present" 2>&1)
    check "$who: the next cell has the image without a pull ($(flat "$out"))" \
        grep -qx present <<<"$out"
    if [[ $who == unpriv ]]; then
        out=$("${cell[@]}" -- sh -c "podman image exists $REG:$REG_PORT/only-root:1 && echo seen" 2>&1)
        check "$who: another user's image is not in this user's store ($(flat "$out"))" \
            bash -c '! grep -q seen <<<"$1"' _ "$out"
    else
        "${cell[@]}" -- podman tag "$IMG" "$REG:$REG_PORT/only-root:1" >/dev/null 2>&1
    fi

    # A second cell of the same user while one holds the store: it says so
    # and keeps its images in its own /var/tmp.
    "${cell[@]}" -- sh -c 'touch /home/cell/worktree/holding; sleep 30' >/dev/null 2>&1 &
    local holder=$! i
    for ((i = 0; i < 100; i++)); do [[ -e $wt/holding ]] && break; sleep 0.1; done
    out=$("${cell[@]}" -- podman info --format '{{.Store.GraphRoot}}' 2>&1)
    check "$who: a second cell on a store in use says so ($(flat "$out"))" \
        grep -q 'image store is in use by another of your cells' <<<"$out"
    check "$who: ... and uses a private store" grep -qx /var/tmp/containers-storage <<<"$out"
    kill "$(pgrep -P "$holder" -x cell || echo "$holder")" 2>/dev/null
    wait "$holder" 2>/dev/null
    rm -f "$wt/holding"

    local get="wget -q -O - http://$REG:$WWW_PORT/"
    out=$("${cell[@]}" -- sh -c "
        for net in bridge host none; do
            echo \$net: \$(podman run --rm --network \$net $IMG sh -c '$get 2>&1; echo \$HTTP_PROXY' 2>&1)
        done
        echo denied: \$(podman run --rm $IMG sh -c 'wget -q -O - http://$DENIED:$WWW_PORT/ 2>&1')
        echo direct: \$(podman run --rm --network bridge $IMG sh -c 'nc -w 3 1.1.1.1 80 </dev/null 2>&1')
    " 2>&1)
    check "$who: a bridged container reaches an allowed host through the proxy ($(flat "$out"))" \
        grep -q '^bridge: allowed-upstream http://10.0.2.2:3128' <<<"$out"
    check "$who: a container on the cell's network does too, with the same variable" \
        grep -q '^host: allowed-upstream http://10.0.2.2:3128' <<<"$out"
    check "$who: a container with no network has nothing" \
        bash -c '[[ $1 == *"none: "* && $1 != *"none: allowed-upstream"* ]]' _ "$out"
    check "$who: a denied host gets the proxy's 403" grep -q '^denied: .*403' <<<"$out"
    check "$who: no direct route out" grep -q '^direct: .*unreachable' <<<"$out"

    out=$("${cell[@]}" -- sh -c '
        api() { curl -s --unix-socket ${DOCKER_HOST#unix://} -H "Content-Type: application/json" "$@"; }
        id=$(api -d "{\"Image\":\"'"$IMG"'\",\"Cmd\":[\"sh\",\"-c\",\"exit 7\"]}" \
            http://d/v1.41/containers/create | sed -n "s/.*\"Id\":\"\([0-9a-f]*\)\".*/\1/p")
        api -X POST http://d/v1.41/containers/$id/start
        api -X POST http://d/v1.41/containers/$id/wait
        api -X DELETE http://d/v1.41/containers/$id' 2>&1)
    check "$who: the Docker API creates, starts and waits for a container ($(flat "$out"))" \
        grep -q '"StatusCode":7' <<<"$out"

    if command -v docker >/dev/null; then
        out=$("${cell[@]}" -- docker run --rm "$IMG" cat /srv/f 2>&1)
        check "$who: docker run ($(command -v docker)) ($(flat "$out"))" grep -qx hi <<<"$out"
    fi

    out=$("${cell[@]}" -- podman run --rm -v /home/cell/worktree:/src "$IMG" \
        sh -c 'cat /src/x; echo y >/src/y' 2>&1)
    check "$who: -v of the worktree reads the cell's files ($(flat "$out"))" \
        grep -qx from-the-worktree <<<"$out"
    check "$who: a file a container writes there is the caller's on the host" \
        test "$(stat -c %U "$wt/y" 2>&1)" == "$owner"

    out=$("${cell[@]}" -- sh -c 'podman build -q -t built:1 /home/cell/worktree/ctx >/dev/null &&
        podman run --rm built:1 cat /built' 2>&1)
    check "$who: a build with a RUN step, then its image runs ($(flat "$out"))" \
        grep -qx built-by-run <<<"$out"

    local port
    port=$(free_port)
    out=$("${cell[@]}" -- sh -c "podman run -d --rm --network bridge -p $port:8080 $IMG \
        httpd -f -p 8080 -h /srv >/dev/null && for i in 1 2 3 4 5 6 7 8 9 10; do
        curl -sf http://127.0.0.1:$port/f && break; sleep 0.3; done" 2>&1)
    check "$who: a published port answers inside the cell ($(flat "$out"))" grep -qx hi <<<"$out"

    # SIGKILL the launcher while the engine runs a detached container with
    # a published port; the cell's pid namespace takes everything with it.
    "${cell[@]}" -- sh -c "podman run -d --network bridge -p $port:8080 $IMG httpd -f -p 8080 \
        -h /srv >/dev/null; touch /home/cell/worktree/started; sleep 300" >/dev/null 2>&1 &
    local launcher=$! i
    for ((i = 0; i < 100; i++)); do
        [[ -e $wt/started ]] && break
        sleep 0.1
    done
    check "$who: a detached container runs before the kill" bash -c "pgrep -f 'busybox httpd|conmon' >/dev/null"
    # The launcher itself (under runuser for the unprivileged user), not
    # its keeper: the keeper's cleanup is what is under test.
    local target
    target=$(pgrep -P "$launcher" -x cell || echo "$launcher")
    kill -KILL $target 2>/dev/null
    sleep 3
    expect_eq "$who: 3 s after the launcher's SIGKILL no engine process is left" "" "$(engine_procs)"

    # Protections: nothing inside, a --privileged container included, gets
    # more than the cell.
    local swappiness
    swappiness=$(cat /proc/sys/vm/swappiness)
    out=$("${cell[@]}" --ro-bind "$SCRATCH/ro" /home/cell/ro -- sh -c "
        echo priv-touch: \$(podman run --rm --privileged -v /home/cell/ro:/ro $IMG \
            sh -c 'touch /ro/new && echo WROTE' 2>&1)
        echo priv-remount: \$(podman run --rm --privileged -v /home/cell/ro:/ro $IMG \
            sh -c 'mount -o remount,rw /ro && touch /ro/new2 && echo WROTE' 2>&1)
        echo unshare-remount: \$(unshare -Urm sh -c 'mount -o remount,bind,rw /home/cell/ro &&
            touch /home/cell/ro/new3 && echo WROTE' 2>&1)
        echo priv-sysctl: \$(podman run --rm --privileged $IMG \
            sh -c 'echo 61 >/proc/sys/vm/swappiness && echo WROTE' 2>&1)
        echo cell-sysctl: \$( (echo 61 >/proc/sys/vm/swappiness && echo WROTE) 2>&1)
        echo cell-ip-forward: \$( (echo 1 >/proc/sys/net/ipv4/ip_forward && echo WROTE) 2>&1)
        echo cell-sys: \$( (echo 1 >/sys/kernel/mm/ksm/run && echo WROTE) 2>&1)
        echo cell-link: \$(ip link add cellprobe0 type dummy 2>&1 && echo WROTE)
        echo cell-addr: \$(ip addr add 10.9.9.9/32 dev lo 2>&1 && echo WROTE)
    " 2>&1)
    check "$who: no probe wrote anything ($(flat "$out"))" bash -c '! grep -q WROTE <<<"$1"' _ "$out"
    check "$who: every probe ran" test "$(grep -c '^[a-z-]*: ' <<<"$out")" -eq 9
    check "$who: the read-only bind is untouched on the host" \
        test "$(ls "$SCRATCH/ro")" == file
    expect_eq "$who: the host's vm.swappiness is unchanged" "$swappiness" "$(cat /proc/sys/vm/swappiness)"
    expect_eq "$who: nothing left behind" "" "$(leftovers; engine_procs)"
}

# A wrapper script (what a Nix build renders) carries the engine's start too;
# rendered elsewhere, it cannot guess whose store to use.
"$build_root/cellgen/cellgen" --print script --nix off --containers \
    --container-store "$SCRATCH/stores/wrapper" -- sh -c \
    'curl -s --unix-socket ${DOCKER_HOST#unix://} http://d/_ping' >"$SCRATCH/wrapper.sh" 2>/dev/null
out=$(bash "$SCRATCH/wrapper.sh" 2>&1)
check "a --print script wrapper with --containers starts the engine ($(flat "$out"))" \
    grep -q 'OK$' <<<"$out"
out=$("$build_root/cellgen/cellgen" --print script --nix off --containers -- true 2>&1)
check "a wrapper without --container-store is refused, naming it ($(flat "$out"))" \
    grep -q 'needs --container-store DIR' <<<"$out"

run_checks root
run_checks unpriv
tap_done
