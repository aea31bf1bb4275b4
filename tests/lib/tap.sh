#!/usr/bin/env bash
# Minimal TAP producer for bash integration tests (meson protocol: 'tap').
# check NAME CMD...  runs CMD, prints ok/not ok, and on failure the output.
TAP_N=0
TAP_FAILED=0

check() {
    local name=$1 out rc
    shift
    TAP_N=$((TAP_N + 1))
    out=$("$@" 2>&1)
    rc=$?
    if ((rc == 0)); then
        echo "ok $TAP_N - $name"
    else
        echo "not ok $TAP_N - $name (exit $rc)"
        printf '%s\n' "$out" | tail -n 20 | sed 's/^/# /'
        TAP_FAILED=$((TAP_FAILED + 1))
    fi
}

# expect_eq NAME WANT GOT
expect_eq() {
    TAP_N=$((TAP_N + 1))
    if [[ $2 == "$3" ]]; then
        echo "ok $TAP_N - $1"
    else
        echo "not ok $TAP_N - $1"
        printf '# want: %q\n#  got: %q\n' "$2" "$3"
        TAP_FAILED=$((TAP_FAILED + 1))
    fi
}

tap_done() {
    echo "1..$TAP_N"
    ((TAP_FAILED == 0))
}
