#!/usr/bin/env bash
# A CI job that builds the worktree's image and runs its tests in it, run in
# a cell with a container engine of its own:
#
#   cell --worktree . --containers --allow registry-1.docker.io --allow auth.docker.io \
#        --allow production.cloudflare.docker.com -- bash /path/to/examples/ci/containers-job.sh
#
# The engine answers at $DOCKER_HOST before this starts; the base image's
# pull goes through the cell's proxy and its allowlist, and is kept in the
# user's image store for the next job. Every container ends with the cell.
set -euo pipefail

image=ci-job:$(git rev-parse --short HEAD 2>/dev/null || echo local)
docker build -t "$image" .
# The container gets the cell's proxy in HTTP(S)_PROXY; nothing else is reachable.
docker run --rm -v /home/cell/worktree:/src -w /src "$image" make test
