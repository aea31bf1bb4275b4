#!/usr/bin/env bash
# The whole unit and integration suite again, built with ASan+UBSan
# (build-asan/, linked dynamically: the sanitizers need their runtime).
# Any sanitizer report aborts the process, so the test fails. Safe to run
# again: configures only once. Extra arguments go to `meson test`.
set -uo pipefail
cd "$(dirname "$0")/.."
dir=build-asan
# -O1 -g1: line tables for the reports at a fraction of -O2 -g's compile
# time (this build is the longest step of CI). No -Werror: under the
# sanitizers GCC 12 warns falsely inside libstdc++ and Asio
# (maybe-uninitialized in <regex>, mismatched-new-delete on coroutine
# frames); the release build keeps -Werror.
if [[ ! -f $dir/build.ninja ]]; then
    meson setup "$dir" -Db_sanitize=address,undefined -Db_lundef=false \
        -Dstatic_helpers=false -Dbuildtype=plain -Dwerror=false \
        "-Dcpp_args=['-O1','-g1','-fno-sanitize-recover=all']" >/dev/null || exit 1
fi
meson compile -C "$dir" >/dev/null || { meson compile -C "$dir"; exit 1; }
# halt_on_error: the first report ends the process with a failing status;
# LeakSanitizer reports leaks when each helper exits.
export ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1:print_stacktrace=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
# Tests that bound memory or time for the release build relax those bounds
# (ASan's shadow memory and slower helpers), and the load suite runs at a
# tenth of its size; everything else is asserted as in the main run.
export CELL_SANITIZED=1
export LOAD_SCALE=${LOAD_SCALE:-0.1}
export CELL_BACK_TO_BACK=${CELL_BACK_TO_BACK:-50}
# With arguments, they pick the tests (e.g. --suite cell). Without, the
# suites whose C++ runs under real traffic and real signals: every unit
# table, relay, proxy, the fuzz corpora, load, faults, and the cells that
# take the launcher through start, escape attempts and every exit path
# (cell-e2e, cell-escape, cell-lifecycle). Left to the main phase, to keep
# CI well under 20 minutes: text checks (docs, style), the Nix glue (nix)
# and the cell tests that drive those same launcher paths again with other
# policy (cell-front, -tools, -nix, -faults, -host_boundary) or check
# the doctor script (cell-doctor); run them
# here by name when a change touches what only they reach.
if (($# == 0)); then
    skip='^(docs|style|nix) / |^cell / cell-(front|tools|nix|faults|host_boundary|doctor)$'
    mapfile -t picked < <(meson test -C "$dir" --list 2>/dev/null |
        sed -n 's/^unsafe-cell:\(.* \/ .*\)$/\1/p' | grep -Ev "$skip" | sed 's/^.* \/ //')
    ((${#picked[@]} > 20)) || { echo "asan.sh: only ${#picked[@]} tests picked" >&2; exit 1; }
    set -- "${picked[@]}"
fi
meson test -C "$dir" --num-processes 2 --print-errorlogs --timeout-multiplier 2 "$@"
