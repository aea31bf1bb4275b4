#!/usr/bin/env bash
# Sets up, builds and runs a demo cell: the embedded default profile plus an
# allowlist of one host. A small web server on the host's loopback stands in
# for the allowed site (the demo must work offline); example.com is not on
# the list, and a connection that ignores the proxy has nowhere to go.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build

demo=$(mktemp -d /tmp/cell-demo.XXXXXX)
chmod 755 "$demo"
server=
trap '[[ -n $server ]] && kill "$server" 2>/dev/null; rm -rf "$demo"' EXIT
mkdir -p "$demo/site" "$demo/logs"
echo "hello from the allowed host" >"$demo/site/hello.txt"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$demo/site" "$port" >/dev/null 2>&1 &
server=$!
for _ in {1..50}; do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

echo "demo: a cell that may reach localhost:$port (through its proxy) and nothing else"
set +e
build/launch/cell --worktree "$PWD" --log-dir "$demo/logs" \
    --allow localhost --allow-cidr 127.0.0.1/32 --connect-port "$port" --connect-port 443 -- \
    bash -c '
  echo "inside the cell as $(id -un) in $PWD, HOME=$HOME"
  echo "network interfaces: $(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | tr "\n" " ")"
  echo "proxy: $HTTPS_PROXY"
  echo "allowed  http://localhost:'"$port"'/hello.txt -> $(curl -sS --noproxy "" http://localhost:'"$port"'/hello.txt)"
  echo "refused  https://example.com/ -> $(curl -s -o /dev/null -w "%{http_connect}" https://example.com/) from the proxy"
  echo "direct   http://127.0.0.1:'"$port"'/ without the proxy -> $(curl -s --noproxy "*" --max-time 3 -o /dev/null -w "%{http_code}" http://127.0.0.1:'"$port"'/ 2>&1; echo " (no route: curl exit $?)")"
  touch /usr/demo 2>/dev/null || echo "read-only  /usr cannot be written"'
rc=$?
echo "demo: the proxy's access log ($demo/logs/proxy-access.log):"
sed 's/^/  /' "$demo/logs/proxy-access.log"
exit "$rc"
