#!/usr/bin/env bash
# --image-cache in real cells (issue 21), hermetic: two Debian
# docker-registry instances on the host loopback sharing one storage, one
# plain HTTP (registry.cache-test) and one TLS with a throwaway certificate
# (tls.cache-test, which the proxy trusts with --upstream-ca), rootless
# podman in the cells; as root and as an unprivileged user, each pull in a
# cell with a fresh image store so the engine must fetch every blob:
#  - a first pull stores the blobs (log: stored), named by their digests;
#  - with those blobs gone from the registry, the next cell's pull is served
#    from the cache (log: hit);
#  - a blob corrupted in the cache is not served: fetched and stored again;
#  - a blob whose bytes in the registry do not match its digest is not
#    stored (the pull fails, as it must);
#  - a TLS registry is intercepted: the engine and curl in the cell trust
#    the user's cache CA through the cell's CA bundle (a copy in the cell's
#    runtime dir); the CA key stays on the host (0600), the cache dir is
#    not in the cell at all;
#  - a registry the policy does not allow is refused as before;
#  - the flags are refused without their companions, and a cache dir inside
#    a bind of the cell (the worktree) is refused.
set -uo pipefail
source "$(dirname -- "$0")/lib.sh"
source "$(dirname -- "$0")/registry.sh"
need_engine_tools openssl

REG=registry.cache-test
TLSREG=tls.cache-test
DENIED=denied.cache-test
registry_hosts "$REG" "$TLSREG" "$DENIED"

flat() { tr '\n' ' ' <<<"$1"; }

# The TLS registry's certificate: self-signed for tls.cache-test, the trust
# anchor the proxy is given (the cell is never given it).
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=$TLSREG" \
    -addext "subjectAltName=DNS:$TLSREG" -keyout "$SCRATCH/reg.key" \
    -out "$SCRATCH/reg.crt" >/dev/null 2>&1
chmod 644 "$SCRATCH/reg.key" "$SCRATCH/reg.crt"

REG_PORT=$(free_port)
TLS_PORT=$(free_port)
storage=$SCRATCH/registry
start_registry plain "$REG_PORT" "$storage"
start_registry tls "$TLS_PORT" "$storage" "$SCRATCH/reg.crt" "$SCRATCH/reg.key"

# The image: busybox plus 4 MiB of random bytes, so a layer is big enough to
# matter and unlike any other test's.
rootfs=$SCRATCH/rootfs
mkdir -p "$rootfs/bin"
cp "$(command -v busybox)" "$rootfs/bin/busybox"
for a in sh cat true; do ln -sf busybox "$rootfs/bin/$a"; done
head -c $((4 << 20)) /dev/urandom >"$rootfs/noise"
tar -C "$rootfs" -cf "$SCRATCH/img.tar" .
chmod 644 "$SCRATCH/img.tar"
mkdir -p "$SCRATCH/stores" "$SCRATCH/caches"
chmod 1777 "$SCRATCH/stores" "$SCRATCH/caches"

policy=(--nix off --insecure-registry "$REG:$REG_PORT" --allow "$REG:$REG_PORT"
    --allow "$TLSREG:$TLS_PORT" --connect-port "$TLS_PORT" --allow-cidr 127.0.0.1/32)
out=$("$CELL" "${policy[@]}" --containers --container-store "$SCRATCH/pusher-store" \
    --ro-bind "$SCRATCH/img.tar" /tmp/img.tar -- sh -c \
    "podman import -q /tmp/img.tar $REG:$REG_PORT/cached:1 >/dev/null &&
     podman push -q $REG:$REG_PORT/cached:1 2>&1" 2>&1)
check "the test image is pushed ($(flat "$out"))" \
    curl -sf "http://127.0.0.1:$REG_PORT/v2/cached/tags/list"

# The registry's copy of a blob (docker-registry's filesystem layout).
reg_blob() { echo "$storage/docker/registry/v2/blobs/sha256/${1:0:2}/$1/data"; }
# Digests in a cache dir, one a line.
cached() { ls "$1/sha256" 2>/dev/null; }
# Access-log lines of blob requests with this cache word.
said() { grep -c "\"cache\":\"$2\"" "$1/proxy-access.log" 2>/dev/null; }

run_checks() {
    local who=$1 runas=() cell_bin=$CELL owner n=0
    local cache=$SCRATCH/caches/$who
    if [[ $who == unpriv ]]; then
        owner=$(unpriv_user)
        runas=(runuser -u "$owner" -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/tmp
            XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR")
        cell_bin=$UNPRIV_CELL
    else
        owner=root
    fi
    # A cell with a fresh image store and log dir each time: NAME.
    pull_in_cell() { # NAME IMAGE [more cell flags]
        local name=$1 image=$2
        shift 2
        local logs=$SCRATCH/logs-$who-$name
        mkdir -p "$logs"
        chown "$owner" "$logs"
        "${runas[@]}" "$cell_bin" "${policy[@]}" --log-dir "$logs" --containers \
            --container-store "$SCRATCH/stores/$who-$name" --image-cache \
            --image-cache-dir "$cache" --cache-registry "$REG:$REG_PORT" \
            --cache-registry "$TLSREG:$TLS_PORT" --upstream-ca "$SCRATCH/reg.crt" "$@" \
            -- podman pull -q "$image" 2>&1
    }
    local img=$REG:$REG_PORT/cached:1 tls_img=$TLSREG:$TLS_PORT/cached:1 out rc d

    out=$(pull_in_cell first "$img")
    rc=$?
    check "$who: a first pull through the cache works (rc $rc: $(flat "$out"))" test "$rc" -eq 0
    check "$who: its blobs are logged as stored" test "$(said "$SCRATCH/logs-$who-first" stored)" -ge 2
    check "$who: the cache holds them under their digests" test "$(cached "$cache" | wc -l)" -ge 2
    local bad=0
    for d in $(cached "$cache"); do
        [[ $(sha256sum <"$cache/sha256/$d") == "$d "* ]] || bad=1
    done
    check "$who: every cached file hashes to its name" test "$bad" -eq 0
    check "$who: the cache dir is the caller's and 0700" \
        test "$(stat -c %U:%a "$cache")" == "$owner:700"
    check "$who: the CA key is the caller's and 0600" \
        test "$(stat -c %U:%a "$cache/ca/ca.key")" == "$owner:600"

    # The registry loses the blobs: only the cache can answer now.
    mkdir -p "$SCRATCH/aside"
    for d in $(cached "$cache"); do mv "$(reg_blob "$d")" "$SCRATCH/aside/$d"; done
    out=$(pull_in_cell second "$img")
    rc=$?
    check "$who: a second cell pulls with the registry's blobs gone (rc $rc: $(flat "$out"))" \
        test "$rc" -eq 0
    check "$who: ... served from the cache (hit)" test "$(said "$SCRATCH/logs-$who-second" hit)" -ge 2
    check "$who: ... nothing fetched" test "$(said "$SCRATCH/logs-$who-second" stored)" -eq 0
    for d in $(ls "$SCRATCH/aside"); do mv "$SCRATCH/aside/$d" "$(reg_blob "$d")"; done

    # A cached blob corrupted on disk: never served, fetched and kept again.
    local victim
    victim=$(cached "$cache" | head -1)
    printf 'X' | dd of="$cache/sha256/$victim" bs=1 seek=100 conv=notrunc status=none
    out=$(pull_in_cell corrupt "$img")
    rc=$?
    check "$who: a pull with a corrupt cached blob works (rc $rc: $(flat "$out"))" test "$rc" -eq 0
    check "$who: ... the proxy said the blob is corrupt" \
        grep -q "is corrupt" "$SCRATCH/logs-$who-corrupt/proxy.log"
    check "$who: ... and stored it again, whole" \
        bash -c '[[ $(sha256sum <"$1") == "$2 "* ]]' _ "$cache/sha256/$victim" "$victim"

    # The registry serves bytes that do not match the digest: not stored.
    cp "$(reg_blob "$victim")" "$SCRATCH/victim.orig"
    printf 'Y' | dd of="$(reg_blob "$victim")" bs=1 seek=100 conv=notrunc status=none
    rm -f "$cache/sha256/$victim"
    out=$(pull_in_cell mismatch "$img")
    check "$who: a blob whose bytes do not match its digest is not stored" \
        test ! -e "$cache/sha256/$victim"
    check "$who: ... the log says why" grep -q "not stored" "$SCRATCH/logs-$who-mismatch/proxy-access.log"
    check "$who: ... and no temporary file is left" test -z "$(ls "$cache/tmp" 2>/dev/null)"
    cp "$SCRATCH/victim.orig" "$(reg_blob "$victim")"

    # TLS: an empty cache, a pull from the TLS registry stores, the next hits.
    rm -f "$cache"/sha256/*
    out=$(pull_in_cell tls1 "$tls_img")
    rc=$?
    check "$who: a pull from a TLS registry, intercepted, works (rc $rc: $(flat "$out"))" \
        test "$rc" -eq 0
    check "$who: ... and stores" test "$(said "$SCRATCH/logs-$who-tls1" stored)" -ge 2
    check "$who: ... the CONNECT says it was intercepted" \
        grep -q 'intercepted for the image cache' "$SCRATCH/logs-$who-tls1/proxy-access.log"
    out=$(pull_in_cell tls2 "$tls_img")
    check "$who: the next TLS pull hits ($(flat "$out"))" \
        test "$(said "$SCRATCH/logs-$who-tls2" hit)" -ge 2

    # In the cell: curl trusts the cache CA; the cache dir is not there.
    out=$("${runas[@]}" "$cell_bin" "${policy[@]}" --image-cache --image-cache-dir "$cache" \
        --cache-registry "$TLSREG:$TLS_PORT" --upstream-ca "$SCRATCH/reg.crt" -- sh -c "
        curl -sS https://$TLSREG:$TLS_PORT/v2/ -o /dev/null -w 'curl:%{http_code}\n' 2>&1
        grep -c BEGIN /etc/ssl/certs/ca-certificates.crt | sed 's/^/certs:/'
        grep -F '$cache' /proc/self/mountinfo | sed 's/^/mount:/'
        ls '$cache' 2>&1 | sed 's/^/ls:/'" 2>&1)
    check "$who: curl in the cell trusts the intercepting proxy ($(flat "$out"))" \
        grep -qx curl:200 <<<"$out"
    check "$who: the cell trusts the system's CAs too" \
        bash -c '[[ $(sed -n "s/^certs://p" <<<"$1") -gt 2 ]]' _ "$out"
    check "$who: nothing of the cache dir is mounted in the cell" \
        bash -c '! grep -q "^mount:" <<<"$1"' _ "$out"
    check "$who: the cache dir itself is not in the cell" grep -q '^ls:.*No such file' <<<"$out"

    out=$(pull_in_cell denied "$DENIED:$REG_PORT/cached:1")
    rc=$?
    check "$who: a registry the policy does not allow is refused (rc $rc)" test "$rc" -ne 0
    check "$who: ... and the summary names it" grep -q "the proxy refused: $DENIED:$REG_PORT" <<<"$out"
    expect_eq "$who: nothing left behind" "" "$(leftovers)"
}

run_checks root
run_checks unpriv

out=$("$CELL" --nix off --image-cache -- true 2>&1)
check "--image-cache without --cache-registry is refused, naming it ($(flat "$out"))" \
    grep -q -- '--cache-registry' <<<"$out"
out=$("$build_root/cellgen/cellgen" --print script --nix off --image-cache \
    --cache-registry "$REG:$REG_PORT" -- true 2>&1)
check "a wrapper without --image-cache-dir is refused, naming it ($(flat "$out"))" \
    grep -q 'needs --image-cache-dir DIR' <<<"$out"
mkdir -p "$SCRATCH/wt-overlap"
out=$("$CELL" --nix off --worktree "$SCRATCH/wt-overlap" --image-cache \
    --image-cache-dir "$SCRATCH/wt-overlap/.cache" --cache-registry "$REG:$REG_PORT" -- true 2>&1)
check "a cache dir inside the worktree is refused: the cell could read the CA key ($(flat "$out"))" \
    grep -q 'inside .*wt-overlap, which is bound into the cell' <<<"$out"
check "... and nothing was made there" test ! -e "$SCRATCH/wt-overlap/.cache"
tap_done
