#!/usr/bin/env bash
# bench/image_cache.sh: the proxy's image cache (--image-cache) against a
# rate-limited upstream and against Debian's docker-registry as a
# pull-through mirror, in one run, all on 127.0.0.1 (issue 21). Hermetic:
#   origin     docker-registry (filesystem storage) holding bench/big:1, a
#              config blob and two layers of random bytes (IMAGE_MIB in all,
#              default 105 MiB; incompressible), pushed with the v2 upload API
#   upstream   a token-bucket TCP relay in front of the origin, RATE_MBPS
#              (default 40 MB/s, 10^6 bytes) per direction shared by all its
#              connections: the slow link every path below fetches through
# A "pull" is the same small client for every path (python3 stdlib, not an
# engine: podman would add its own unpacking and noise): GET the manifest by
# tag, then GET the config and every layer on one keep-alive connection,
# one after another, hashing each with SHA-256 against its digest and
# dropping the bytes; timed inside the client (interpreter start excluded).
#   first          through our proxy (absolute-form, HTTP_PROXY style) with
#                  an empty --image-cache, --cache-registry the upstream
#   cached         the same proxy and cache dir again: every blob must be a
#                  "hit" in the access log and the upstream must carry no
#                  blob bytes, else the bench fails
#   mirror first   docker-registry with `proxy: remoteurl:` the upstream,
#                  empty storage (the warm-up pull, reported too)
#   mirror cached  the same mirror again: the figure ours is compared with
# RUNS rounds (default 3), each with fresh cache dirs and a fresh proxy and
# mirror, the order of ours and the mirror alternating between rounds;
# best-of-RUNS seconds and MB/s of each, and the bytes the upstream carried
# for each pull (docker-registry 2.8's mirror fetches a missing blob twice:
# once for the client, once for its storage).
# Goals (the issue's): first/cached >= 10 and mirror-cached/cached >= 1.0
# (ours no slower than the mirror); PASS/FAIL each, exit 1 on a FAIL.
# Usage: bench/image_cache.sh [BUILD_DIR]   (default build); needs
# docker-registry (Debian's, scripts/setup.sh test) and python3.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
PROXY=$build/proxy/proxy
RUNS=${RUNS:-3}
RATE_MBPS=${RATE_MBPS:-40}
IMAGE_MIB=${IMAGE_MIB:-105}
for t in docker-registry python3; do
    command -v "$t" >/dev/null || { echo "image_cache.sh: needs $t (scripts/setup.sh test)" >&2; exit 2; }
done
[[ -x $PROXY ]] || { echo "image_cache.sh: no proxy at $PROXY" >&2; exit 2; }

source "$here/lib.sh"
bench_setup image_cache.sh

# The upstream relay, the pusher and the pull client.
cat >"$tmp/tools.py" <<'PY'
import asyncio, hashlib, http.client, json, os, signal, sys, time

def throttle(listen, target, rate_mbps, ctl):
    """TCP relay 127.0.0.1:listen -> 127.0.0.1:target; each direction is one
    token bucket of rate_mbps * 10^6 bytes/s (64 KiB burst) shared by every
    connection. 127.0.0.1:ctl answers "UP DOWN\n", the bytes relayed."""
    rate = rate_mbps * 1e6
    burst = 64 * 1024
    moved = {"up": 0, "down": 0}
    due = {"up": 0.0, "down": 0.0}   # when the bucket is next empty

    async def pace(way, n):
        loop = asyncio.get_running_loop()
        now = loop.time()
        due[way] = max(due[way], now - burst / rate) + n / rate
        moved[way] += n
        if due[way] > now:
            await asyncio.sleep(due[way] - now)

    async def pipe(way, r, w):
        try:
            while data := await r.read(64 * 1024):
                await pace(way, len(data))
                w.write(data)
                await w.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            try:
                w.write_eof()
            except (OSError, RuntimeError):
                pass

    async def serve(cr, cw):
        try:
            ur, uw = await asyncio.open_connection("127.0.0.1", target)
        except OSError:
            cw.close()
            return
        await asyncio.gather(pipe("up", cr, uw), pipe("down", ur, cw))
        cw.close()
        uw.close()

    async def stats(r, w):
        w.write(f"{moved['up']} {moved['down']}\n".encode())
        await w.drain()
        w.close()

    async def main():
        signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
        a = await asyncio.start_server(serve, "127.0.0.1", listen)
        b = await asyncio.start_server(stats, "127.0.0.1", ctl)
        async with a, b:
            await asyncio.gather(a.serve_forever(), b.serve_forever())
    asyncio.run(main())

def push(port, name, tag, *mibs):
    """Pushes name:tag, a schema2 image: a config and a layer of random
    bytes per MiB count, by POST + PUT ?digest= (monolithic uploads)."""
    c = http.client.HTTPConnection("127.0.0.1", port)
    def blob(data):
        d = "sha256:" + hashlib.sha256(data).hexdigest()
        c.request("POST", f"/v2/{name}/blobs/uploads/", headers={"Content-Length": "0"})
        r = c.getresponse(); r.read()
        assert r.status == 202, r.status
        loc = r.getheader("Location")
        loc = loc[loc.index("/v2/"):] if "://" in loc else loc
        c.request("PUT", f"{loc}{'&' if '?' in loc else '?'}digest={d}", body=data,
                  headers={"Content-Type": "application/octet-stream"})
        r = c.getresponse(); r.read()
        assert r.status == 201, (r.status, d)
        return {"digest": d, "size": len(data)}
    layers = []
    for m in mibs:
        data = os.urandom(int(m) << 20)
        layers.append(dict(blob(data), mediaType="application/vnd.docker.image.rootfs.diff.tar.gzip"))
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [l["digest"] for l in layers]}}).encode()
    cfg = dict(blob(config), mediaType="application/vnd.docker.container.image.v1+json")
    manifest = json.dumps({"schemaVersion": 2,
                           "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                           "config": cfg, "layers": layers}).encode()
    c.request("PUT", f"/v2/{name}/manifests/{tag}", body=manifest,
              headers={"Content-Type": "application/vnd.docker.distribution.manifest.v2+json"})
    r = c.getresponse(); r.read()
    assert r.status == 201, r.status

def pull(proxy, registry, name, tag):
    """Pulls name:tag from registry (HOST:PORT), through the HTTP proxy at
    127.0.0.1:proxy unless it is "-"; prints "SECONDS BYTES BLOBS MANIFEST_SECONDS"."""
    host, port = registry.rsplit(":", 1)
    if proxy == "-":
        c, base = http.client.HTTPConnection(host, int(port)), ""
    else:
        c, base = http.client.HTTPConnection("127.0.0.1", int(proxy)), f"http://{registry}"
    buf = memoryview(bytearray(1 << 20))
    start = time.perf_counter()
    c.request("GET", f"{base}/v2/{name}/manifests/{tag}", headers={"Accept":
              "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"})
    r = c.getresponse()
    m = json.loads(r.read())
    manifest = time.perf_counter() - start
    if r.status != 200:
        sys.exit(f"pull: manifest: {r.status}")
    total = 0
    blobs = [m["config"]] + m["layers"]
    for b in blobs:
        c.request("GET", f"{base}/v2/{name}/blobs/{b['digest']}")
        r = c.getresponse()
        if r.status != 200:
            sys.exit(f"pull: {b['digest']}: {r.status}")
        h, n = hashlib.sha256(), 0
        while k := r.readinto(buf):
            h.update(buf[:k])
            n += k
        if n != b["size"] or "sha256:" + h.hexdigest() != b["digest"]:
            sys.exit(f"pull: {b['digest']}: {n} bytes that do not match")
        total += n
    print(f"{time.perf_counter() - start:.4f} {total} {len(blobs)} {manifest:.4f}")

{"throttle": lambda *a: throttle(*map(int, a[:2]), float(a[2]), int(a[3])),
 "push": lambda p, *a: push(int(p), *a),
 "pull": pull}[sys.argv[1]](*sys.argv[2:])
PY

# A docker-registry on PORT with storage in DIR; REMOTE makes it a
# pull-through mirror of that URL. Its group id is ${groups[-1]}.
registry() { # NAME PORT DIR [REMOTE]
    mkdir -p "$3"
    {
        printf 'version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n'
        printf 'storage:\n  filesystem:\n    rootdirectory: %s\n' "$3"
        printf 'http:\n  addr: 127.0.0.1:%s\n' "$2"
        [[ -n ${4:-} ]] && printf 'proxy:\n  remoteurl: %s\n' "$4"
    } >"$tmp/$1.yml"
    start docker-registry serve "$tmp/$1.yml" >>"$tmp/$1.log" 2>&1
    wait_port "$2"
}
stop() { # GROUP: ends the process group and removes it from cleanup's list
    kill -TERM -- "-$1" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 -- "-$1" 2>/dev/null || break; sleep 0.05; done
    kill -KILL -- "-$1" 2>/dev/null || true
    local g kept=()
    for g in "${groups[@]}"; do [[ $g == "$1" ]] || kept+=("$g"); done
    groups=("${kept[@]}")
}
# Bytes down the upstream relay so far.
upstream_down() {
    local down
    exec 3<>"/dev/tcp/127.0.0.1/$ctl_port"
    read -r _ down <&3
    exec 3<&-
    echo "$down"
}

origin_port=$(free_port)
registry origin "$origin_port" "$tmp/origin"
up_port=$(free_port)
ctl_port=$(free_port)
start python3 "$tmp/tools.py" throttle "$up_port" "$origin_port" "$RATE_MBPS" "$ctl_port"
wait_port "$up_port"
wait_port "$ctl_port"
half=$((IMAGE_MIB / 2))
python3 "$tmp/tools.py" push "$origin_port" bench/big 1 "$((IMAGE_MIB - half))" "$half"
upstream=127.0.0.1:$up_port

declare -A best mb man
for k in first cached mfirst mcached; do best[$k]=; mb[$k]=; man[$k]=; done
# One pull, KEY: records its seconds if best, its upstream MB; prints a line.
pull() { # KEY PROXY_PORT|- REGISTRY
    local before after out s bytes nblobs m
    before=$(upstream_down)
    out=$(python3 "$tmp/tools.py" pull "$2" "$3" bench/big 1) ||
        { echo "image_cache.sh: the $1 pull failed" >&2; exit 1; }
    after=$(upstream_down)
    read -r s bytes nblobs m <<<"$out"
    pulled_bytes=$bytes pulled_blobs=$nblobs
    up_mb=$(python3 -c "print(f'{($after - $before) / 1e6:.1f}')")
    mb[$1]+="$up_mb "
    if [[ -z ${best[$1]} ]] || python3 -c "import sys; sys.exit(not $s < ${best[$1]})"; then
        best[$1]=$s
    fi
    if [[ -z ${man[$1]} ]] || python3 -c "import sys; sys.exit(not $m < ${man[$1]})"; then
        man[$1]=$m
    fi
    printf '  %-14s %7.3f s %7.0f MB/s  manifest %5.1f ms  upstream carried %s MB\n' "$1" "$s" \
        "$(python3 -c "print($bytes / 1e6 / $s)")" "$(python3 -c "print($m * 1000)")" "$up_mb"
}

ours() { # ROUND
    local cache=$tmp/cache-$1 log=$tmp/access-$1.log p lines
    p=$(free_port)
    start "$PROXY" --listen "tcp:127.0.0.1:$p" --allow-cidr 127.0.0.1/32 --connect-port "$up_port" \
        --image-cache "$cache" --cache-registry "$upstream" --log "$log" 2>>"$tmp/proxy.err"
    local g=${groups[-1]}
    wait_port "$p"
    pull first "$p" "$upstream"
    if (($(grep -c '"cache":"stored"' "$log") != pulled_blobs)); then
        echo "image_cache.sh: round $1: the first pull did not store every blob:" >&2
        cat "$log" >&2
        exit 1
    fi
    lines=$(wc -l <"$log")
    pull cached "$p" "$upstream"
    if (($(tail -n +$((lines + 1)) "$log" | grep -c '"cache":"hit"') != pulled_blobs)) ||
        tail -n +$((lines + 1)) "$log" | grep -q '"cache":"\(miss\|stored\)"'; then
        echo "image_cache.sh: round $1: the cached pull was not all hits:" >&2
        tail -n +$((lines + 1)) "$log" >&2
        exit 1
    fi
    if python3 -c "import sys; sys.exit(not ${up_mb} > 1)"; then
        echo "image_cache.sh: round $1: the cached pull moved $up_mb MB upstream" >&2
        exit 1
    fi
    stop "$g"
    rm -rf "$cache"
}
mirror() { # ROUND
    local p
    p=$(free_port)
    registry "mirror-$1" "$p" "$tmp/mirror-$1" "http://$upstream"
    local g=${groups[-1]}
    pull mfirst - "127.0.0.1:$p"
    pull mcached - "127.0.0.1:$p"
    python3 -c "import sys; sys.exit(not ${up_mb} > 1)" &&
        echo "  (the mirror's second pull went upstream for $up_mb MB)"
    stop "$g"
    rm -rf "$tmp/mirror-$1"
}

for ((r = 1; r <= RUNS; r++)); do
    echo "round $r:"
    if ((r % 2)); then ours "$r"; mirror "$r"; else mirror "$r"; ours "$r"; fi
done

ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
mbs() { python3 -c "print(f'{$pulled_bytes / 1e6 / $1:.0f}')"; }
echo
echo "bench/image_cache.sh: bench/big:1 = $pulled_blobs blobs, $pulled_bytes bytes (${IMAGE_MIB} MiB of layers);" \
    "upstream ${RATE_MBPS} MB/s; best of $RUNS; $(nproc) cores"
echo
echo "| pull | seconds | MB/s | manifest by tag, ms | MB from upstream (per round) |"
echo "| --- | ---: | ---: | ---: | --- |"
for k in first cached mfirst mcached; do
    case $k in first) n="first (ours)" ;; cached) n="cached (ours)" ;; mfirst) n="mirror first" ;;
        mcached) n="mirror cached" ;; esac
    printf '| %s | %.3f | %s | %.1f | %s |\n' "$n" "${best[$k]}" "$(mbs "${best[$k]}")" \
        "$(python3 -c "print(${man[$k]} * 1000)")" "${mb[$k]% }"
done
r1=$(ratio "${best[first]}" "${best[cached]}")
r2=$(ratio "${best[mcached]}" "${best[cached]}")
r3=$(ratio "${best[mfirst]}" "${best[first]}")
echo
pass() { if python3 -c "import sys; sys.exit(not $1 >= $2)"; then echo PASS; else echo FAIL; fi; }
echo "first/cached:         ${r1}x  (goal >= 10)   $(pass "$r1" 10)"
echo "mirror-cached/cached: ${r2}x  (goal >= 1.0)  $(pass "$r2" 1.0)"
echo "mirror-first/first:   ${r3}x  (for scale)"
if python3 -c "import sys; sys.exit(not ($r1 >= 10 and $r2 >= 1.0))"; then echo "goals: met"; else
    echo "goals: NOT met"; exit 1; fi
