#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite, in three phases:
#   main   unit + integration tests of the release build (build/)
#   asan   the same suite under ASan+UBSan (scripts/asan.sh, build-asan/)
#   fuzz   each libFuzzer target for FUZZ_SECONDS (scripts/fuzz.sh, build-fuzz/)
# CELL_TEST_PHASES picks phases (default "main asan fuzz"); extra arguments go
# to the main phase's `meson test` (e.g. --suite cell). Every phase runs even
# when an earlier one failed; the exit status is non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
echo "test.sh: phase setup (packages, release build) starting" >&2
scripts/setup.sh test || exit 1
echo "test.sh: phase setup done after $((SECONDS - start)) s" >&2
phases=${CELL_TEST_PHASES:-main asan fuzz}
status=0
n=0
for phase in $phases; do
    start=$SECONDS
    n=$((n + 1))
    echo "test.sh: phase $phase ($n of $(wc -w <<<"$phases")) starting" >&2
    case $phase in
    main) meson test -C build --print-errorlogs --num-processes 2 "$@" ;;
    asan) bash scripts/asan.sh ;;
    fuzz) bash scripts/fuzz.sh ;;
    *)
        echo "test.sh: unknown phase '$phase' in CELL_TEST_PHASES (main, asan, fuzz)" >&2
        exit 2
        ;;
    esac
    rc=$?
    echo "test.sh: phase $phase exited $rc after $((SECONDS - start)) s" >&2
    ((rc == 0)) || status=1
done
exit "$status"
