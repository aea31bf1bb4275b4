#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite (unit + integration).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
meson test -C build --print-errorlogs --num-processes 2 "$@"
