#!/usr/bin/env bash
# Installs what unsafe-cell needs from Debian 12's packages (only what is
# missing, so a second run changes nothing), then configures and builds.
# Usage: scripts/setup.sh [build|test]   (test adds the test-only peers)
set -euo pipefail
cd "$(dirname "$0")/.."

want=(g++ pkg-config meson ninja-build libboost1.81-dev
      libboost-program-options1.81-dev libboost-url1.81-dev libboost-json1.81-dev
      libfmt-dev libssl-dev catch2 bubblewrap ca-certificates curl git iproute2 python3
      bash-builtins) # mkdir/rm as bash builtins: the launcher script forks less
if [[ ${1:-build} == test ]]; then
    # Real peers the integration tests run: a nix daemon and client, the
    # reference tools for differential checks, TLS material, load tools.
    want+=(nix-bin tinyproxy socat openssl wrk nginx-light publicsuffix procps psmisc util-linux strace
           python3-pip openssh-server openssh-client dante-server clang libclang-rt-14-dev # clang: the libFuzzer build (scripts/fuzz.sh)
           # --containers: rootless podman in cells, a loopback registry, a busybox image
           podman crun conmon slirp4netns catatonit containernetworking-plugins
           golang-github-containers-common docker-registry busybox-static
           haproxy) # bench/forwarders.sh's reference
    # A `docker` command for cells: podman's front end, unless the host has one.
    command -v docker >/dev/null || want+=(podman-docker)
fi

missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
        || missing+=("$p")
done
if ((${#missing[@]})); then
    sudo=(); ((EUID == 0)) || sudo=(sudo)
    echo "setup: installing ${missing[*]}" >&2
    "${sudo[@]}" apt-get update -q
    # Packaged daemons (tinyproxy) must not start on install: tests run their own.
    DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 "${sudo[@]}" apt-get install -y -q \
        --no-install-recommends "${missing[@]}"
fi

if [[ ! -f build/build.ninja ]]; then
    meson setup build >/dev/null
fi
meson compile -C build >&2
