#!/usr/bin/env bash
# Package managers inside a cell find the proxy through the variables the
# cell sets for them (issue 5): pip through PIP_PROXY, npm through
# npm_config_proxy, with every generic *_PROXY variable removed, so each
# tool's own variable is what is tested. Each request must show in the
# proxy's access log; a host outside the allowlist is refused there too.
# A loopback upstream stands in for the registries (no internet here); it
# answers 404, which is enough: the request went through the proxy or not.
set -uo pipefail
source "$(dirname -- "$0")/lib.sh"

start_upstream REG
wt=$SCRATCH/wt logs=$SCRATCH/logs
mkdir -p "$wt" "$logs"
cell=("$CELL" --worktree "$wt" --log-dir "$logs" --nix off
    --allow 127.0.0.1 --allow-cidr 127.0.0.0/8 --connect-port "$REG_PORT")
# Only the tool's own variable is left (NO_PROXY names 127.0.0.1).
only_own=(env -u HTTP_PROXY -u http_proxy -u HTTPS_PROXY -u https_proxy
    -u ALL_PROXY -u all_proxy -u NO_PROXY -u no_proxy)

# skip REASON N: N TAP results skipped, with the reason.
skip() {
    local i
    for ((i = 0; i < $2; i++)); do
        TAP_N=$((TAP_N + 1))
        echo "ok $TAP_N - skipped # SKIP $1"
    done
}
log_lines() { wc -l <"$logs/proxy-access.log" 2>/dev/null || echo 0; }

if "${cell[@]}" -- python3 -m pip --version >/dev/null 2>&1; then
    expect_eq "the cell sets PIP_PROXY" "http://127.0.0.1:3128" \
        "$("${cell[@]}" -- printenv PIP_PROXY)"
    before=$(log_lines)
    "${cell[@]}" -- "${only_own[@]}" python3 -m pip download --no-deps --no-cache-dir \
        --retries 0 --timeout 5 -d /tmp/dl --index-url "http://127.0.0.1:$REG_PORT/simple/" \
        unsafe-cell-probe >/dev/null 2>&1
    check "pip's index request went through the proxy" \
        bash -c "tail -n +$((before + 1)) '$logs/proxy-access.log' | grep -F '\"port\":$REG_PORT' | grep -q '\"decision\":\"allow\"'"
    before=$(log_lines)
    "${cell[@]}" -- "${only_own[@]}" python3 -m pip download --no-deps --no-cache-dir \
        --retries 0 --timeout 5 -d /tmp/dl --index-url "https://pypi.denied.example/simple/" \
        unsafe-cell-probe >/dev/null 2>&1
    check "pip to a host outside the allowlist is refused by the proxy" \
        bash -c "tail -n +$((before + 1)) '$logs/proxy-access.log' | grep -F 'pypi.denied.example' | grep -q '\"decision\":\"deny\"'"
else
    skip "pip is not installed on this host (python3-pip)" 3
fi

if "${cell[@]}" -- npm --version >/dev/null 2>&1; then
    expect_eq "the cell sets npm_config_proxy" "http://127.0.0.1:3128" \
        "$("${cell[@]}" -- printenv npm_config_proxy)"
    before=$(log_lines)
    "${cell[@]}" -- "${only_own[@]}" npm view unsafe-cell-probe --fetch-retries 0 \
        --registry "http://127.0.0.1:$REG_PORT/" >/dev/null 2>&1
    check "npm's registry request went through the proxy" \
        bash -c "tail -n +$((before + 1)) '$logs/proxy-access.log' | grep -F '\"port\":$REG_PORT' | grep -q '\"decision\":\"allow\"'"
    before=$(log_lines)
    "${cell[@]}" -- "${only_own[@]}" npm view unsafe-cell-probe --fetch-retries 0 \
        --registry "https://registry.denied.example/" >/dev/null 2>&1
    check "npm to a host outside the allowlist is refused by the proxy" \
        bash -c "tail -n +$((before + 1)) '$logs/proxy-access.log' | grep -F 'registry.denied.example' | grep -q '\"decision\":\"deny\"'"
else
    skip "npm is not installed on this host" 3
fi

# Control: with every proxy variable removed, the same request cannot leave
# the cell at all (no route), so the checks above can fail.
check "control: with no proxy variable at all, the upstream is unreachable" \
    "${cell[@]}" -- sh -c "! env -u PIP_PROXY ${only_own[*]} python3 -c \"
import urllib.request, sys
try:
    urllib.request.urlopen('http://127.0.0.1:$REG_PORT/hello', timeout=5)
except Exception:
    sys.exit(1)
\""
no_leftovers() { [[ -z $(leftovers) ]]; }
check "nothing left behind" no_leftovers
tap_done
