#!/usr/bin/env bash
# Shared by the tests that run container engines in cells (containers.sh,
# image_cache.sh), sourced after lib.sh: the tools they need, host names on
# 127.0.0.1 in /etc/hosts and /dev/net/tun opened up (both restored on
# exit), free ports, and Debian's docker-registry on loopback.

# need_engine_tools TOOL...: bail out unless podman and friends and TOOLs are here.
need_engine_tools() {
    local tool
    for tool in podman crun conmon slirp4netns docker-registry busybox "$@"; do
        if ! command -v "$tool" >/dev/null; then
            echo "Bail out! $tool is not installed (scripts/setup.sh test installs it)"
            exit 1
        fi
    done
}

# registry_hosts NAME...: each NAME resolves to 127.0.0.1 until the test
# ends; the exit trap also stops the registries and cleans the scratch dir.
registry_hosts() {
    hosts_backup=$SCRATCH/hosts.orig
    cp /etc/hosts "$hosts_backup"
    tun_mode=$(stat -c %a /dev/net/tun 2>/dev/null)
    trap restore_registry_host EXIT
    local name
    for name in "$@"; do printf '127.0.0.1 %s\n' "$name" >>/etc/hosts; done
    # slirp4netns needs /dev/net/tun; Debian's udev makes it 0666, these VMs 0600.
    chmod 0666 /dev/net/tun
}

restore_registry_host() {
    cat "$hosts_backup" >/etc/hosts
    [[ -n $tun_mode ]] && chmod "$tun_mode" /dev/net/tun
    # The registries started by this test, and nothing of the cells (checked
    # by the tests).
    pkill -f "$SCRATCH/registry-" 2>/dev/null
    cleanup_scratch
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_registry NAME PORT STORAGE [CERT KEY]: docker-registry on
# 127.0.0.1:PORT keeping images in STORAGE, over TLS when given CERT and
# KEY; returns once it answers /v2/.
start_registry() {
    local conf=$SCRATCH/registry-$1.yml i
    mkdir -p "$3"
    {
        printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n'
        printf '    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' "$3" "$2"
        [[ -n ${4:-} ]] && printf '  tls:\n    certificate: %s\n    key: %s\n' "$4" "$5"
    } >"$conf"
    docker-registry serve "$conf" >"$SCRATCH/registry-$1.log" 2>&1 &
    BG_PIDS+=($!)
    for ((i = 0; i < 100; i++)); do
        curl -sfk "http${4:+s}://127.0.0.1:$2/v2/" >/dev/null && return
        sleep 0.05
    done
}
