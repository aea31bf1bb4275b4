#!/usr/bin/env bash
# Sets up, builds and runs a demo cell on the embedded default profile.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
exec build/cellgen/cell --worktree "$PWD" -- sh -c '
  echo "inside the cell as $(id -un) in $PWD, HOME=$HOME"
  echo "network interfaces: $(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | tr "\n" " ")"
  echo "proxy: $HTTPS_PROXY"
  ls -la /home/cell/worktree | head -5'
