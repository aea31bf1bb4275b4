#!/usr/bin/env bash
# `git clone` of a local repository served over HTTP (python http.server,
# git's dumb protocol) through the real proxy; the access log proves every
# request crossed the proxy. Everything listens on 127.0.0.1 and is stopped
# by the trap.
set -euo pipefail
: "${PROXY_BIN:?}"
dir=$(mktemp -d /tmp/proxy-git.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$dir"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

export GIT_CONFIG_NOSYSTEM=1 HOME=$dir GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.org \
    GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.org
unset NO_PROXY no_proxy http_proxy HTTP_PROXY https_proxy HTTPS_PROXY ALL_PROXY all_proxy || true

git init -q "$dir/src"
for i in $(seq 1 20); do head -c 20000 /dev/urandom | base64 >"$dir/src/file$i"; done
git -C "$dir/src" add . && git -C "$dir/src" commit -q -m initial
git clone -q --bare "$dir/src" "$dir/srv/repo.git"
git -C "$dir/srv/repo.git" update-server-info

up=$(free_port)
python3 -m http.server "$up" --bind 127.0.0.1 --directory "$dir/srv" >/dev/null 2>&1 &
pids+=($!)
px=$(free_port)
"$PROXY_BIN" --listen "tcp:127.0.0.1:$px" --allow-cidr 127.0.0.0/8 --log "$dir/access.log" 2>"$dir/proxy.err" &
pids+=($!)
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$up" && exec 4<>"/dev/tcp/127.0.0.1/$px") 2>/dev/null && break
    sleep 0.1
done

git -c http.proxy="http://127.0.0.1:$px" clone -q "http://127.0.0.1:$up/repo.git" "$dir/clone"
if ! diff -r --exclude=.git "$dir/src" "$dir/clone"; then
    echo "FAIL clone differs from the source"; exit 1
fi
echo "ok   git clone through the proxy gives the same tree"
n=$(grep -c '"status":200' "$dir/access.log" || true)
if ((n < 3)); then
    echo "FAIL only $n proxied requests in the access log"; cat "$dir/access.log"; exit 1
fi
echo "ok   $n requests of the clone crossed the proxy"
