#!/usr/bin/env bash
# The job the CI cell runs (inside the cell, in /home/cell/worktree): report
# what is being built, then build it through the host's nix daemon. Any
# fetch goes through the cell's proxy and its allowlist.
set -euo pipefail

echo "ci: $(git rev-parse --short HEAD 2>/dev/null || echo 'not a git checkout') in $PWD as $(id -un)"
git status --short | head -n 20

if [[ -f flake.nix ]]; then
    nix build --print-build-logs --no-link .
elif [[ -f default.nix ]]; then
    nix-build --no-out-link
else
    echo "ci: no flake.nix or default.nix; nothing to build" >&2
fi
