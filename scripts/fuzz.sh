#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) in build-fuzz and runs each
# for $FUZZ_SECONDS (default 60), two at a time. Fails on any crash, leak,
# timeout or broken property; meson's build-fuzz/meson-logs/testlog.json
# records the results. Safe to run again: configures only once.
# Usage: [FUZZ_SECONDS=N] scripts/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build-fuzz
targets=(fuzz_http_head fuzz_chunked fuzz_filter fuzz_tls_sni fuzz_socks5 fuzz_endpoint fuzz_profile)

secs=${FUZZ_SECONDS:-60}
if [[ ! $secs =~ ^[1-9][0-9]*$ ]]; then
    echo "fuzz.sh: FUZZ_SECONDS='$secs' is not a positive number of seconds" >&2
    exit 2
fi
export FUZZ_SECONDS=$secs

if [[ ! -f $dir/build.ninja ]]; then
    CC=clang CXX=clang++ meson setup "$dir" -Dfuzz=true -Db_sanitize=address,undefined \
        -Db_lundef=false -Dstatic_helpers=false -Dbuildtype=debugoptimized >/dev/null
fi
# Only the fuzzers: the rest of the project is not needed here.
meson compile -C "$dir" "${targets[@]}" >&2

# Each test's timeout is 300 s, enough for 60 s of fuzzing; scale it up for
# longer runs (a run ends at FUZZ_SECONDS plus at most one input's -timeout).
multiplier=$(((secs + 240 + 299) / 300))
status=0
meson test -C "$dir" --suite fuzz --no-rebuild --num-processes 2 --print-errorlogs \
    --timeout-multiplier "$multiplier" || status=$?
exit "$status"
