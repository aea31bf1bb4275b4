#!/usr/bin/env bash
# Runs one libFuzzer binary for $FUZZ_SECONDS (default 60) and fails on any
# crash, leak, timeout or out-of-memory (libFuzzer exits non-zero for each).
# Usage: run_fuzzer.sh FUZZER WORKDIR SEED_DIR...
# WORKDIR is emptied first and passed as the first corpus, the one libFuzzer
# adds new inputs to, so the committed seed dirs are only read. Crash inputs
# land in WORKDIR.artifacts/; copy one to tests/fuzz/regressions/<target>/.
set -euo pipefail
fuzzer=$1 work=$2
shift 2
secs=${FUZZ_SECONDS:-60}
if [[ ! $secs =~ ^[1-9][0-9]*$ ]]; then
    echo "run_fuzzer: FUZZ_SECONDS='$secs' is not a positive number of seconds" >&2
    exit 2
fi
rm -rf "$work" "$work.artifacts"
mkdir -p "$work" "$work.artifacts"
seeds=()
for d in "$@"; do
    [[ -d $d ]] && seeds+=("$d")
done
# Leaks fail the run; UB aborts even in code built without -fno-sanitize-recover.
export ASAN_OPTIONS=detect_leaks=1:${ASAN_OPTIONS:-}
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}
# libFuzzer's default crash status, 77, means "skipped" to meson: use 1.
"$fuzzer" "$work" "${seeds[@]}" -max_total_time="$secs" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -error_exitcode=1 -timeout_exitcode=70 \
    -artifact_prefix="$work.artifacts/"
