#!/usr/bin/env bash
# Egress beyond HTTP (issue 18), in real cells, as root and as an
# unprivileged user:
#  - SOCKS5 inside: ALL_PROXY is socks5h://127.0.0.1:1080 and curl through
#    it reaches an allowed host; a refused one fails and is summarised;
#  - --allow HOST:PORT opens that port for that host with no
#    --connect-port, for SOCKS and HTTP CONNECT;
#  - --forward PORT=HOST:PORT: 127.0.0.1:PORT inside reaches exactly
#    HOST:PORT for a client that knows no proxy; logged as FORWARD;
#  - a client sent around the proxy (NO_PROXY, 127.0.0.1) fails at once
#    with "connection refused", not a hang;
#  - bad --forward values and clashing in-cell ports are refused at plan
#    time (exit 2 naming the flag), nothing started or left behind.
set -uo pipefail
source "$(dirname -- "$0")/lib.sh"

start_upstream HTTP

run_checks() {
    local who=$1 runas=() wt=$SCRATCH/wt-$1 logs=$SCRATCH/logs-$1 owner cell_bin=$CELL
    mkdir -p "$wt" "$logs"
    if [[ $who == unpriv ]]; then
        owner=$(unpriv_user)
        chown -R "$owner" "$wt" "$logs"
        runas=(runuser -u "$owner" -- env -i PATH=/usr/bin:/bin HOME=/tmp XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR")
        cell_bin=$UNPRIV_CELL
    else
        owner=root
        runas=(env)
    fi
    local cell=("${runas[@]}" "$cell_bin" --worktree "$wt" --log-dir "$logs" --nix off)
    local out rc start

    expect_eq "$who: ALL_PROXY names the in-cell SOCKS5 port" "socks5h://127.0.0.1:1080" \
        "$("${cell[@]}" -- sh -c 'echo "$ALL_PROXY"')"
    out=$("${cell[@]}" --allow "localhost:$HTTP_PORT" --allow-cidr 127.0.0.0/8 -- \
        sh -c 'curl -sS --noproxy "" -x "$ALL_PROXY" "http://localhost:'"$HTTP_PORT"'/hello"' 2>&1)
    expect_eq "$who: curl through SOCKS5 reaches a host allowed on its port" \
        "hello from upstream" "$out"
    check "$who: the SOCKS5 tunnel is in the access log" \
        grep -q '"method":"SOCKS5","host":"localhost","port":'"$HTTP_PORT"',"decision":"allow"' \
        "$logs/proxy-access.log"
    out=$("${cell[@]}" --allow "localhost:$HTTP_PORT" --allow-cidr 127.0.0.0/8 -- \
        curl -sS --noproxy "" -p "http://localhost:$HTTP_PORT/hello" 2>&1)
    expect_eq "$who: HTTP CONNECT to the same HOST:PORT rule, no --connect-port" \
        "hello from upstream" "$out"
    out=$("${cell[@]}" --allow localhost --allow-cidr 127.0.0.0/8 -- \
        sh -c 'curl -sS --noproxy "" -x "$ALL_PROXY" "http://localhost:'"$HTTP_PORT"'/hello"' 2>&1)
    rc=$?
    check "$who: a host allowed without the port is refused there (rc $rc)" test "$rc" -ne 0
    check "$who: the summary names the refusal and the rule to add" \
        grep -q "localhost:$HTTP_PORT (1) .*--allow HOST:PORT" <<<"$out"

    out=$("${cell[@]}" --forward "7000=127.0.0.1:$HTTP_PORT" --allow-cidr 127.0.0.0/8 -- \
        curl -sS --noproxy '*' http://127.0.0.1:7000/hello 2>"$SCRATCH/err")
    expect_eq "$who: --forward: 127.0.0.1:7000 reaches the host service" "hello from upstream" "$out"
    check "$who: the forward is in the access log" \
        grep -q '"method":"FORWARD","host":"127.0.0.1","port":'"$HTTP_PORT"',"decision":"allow"' \
        "$logs/proxy-access.log"
    out=$("${cell[@]}" --forward "7000=127.0.0.1:$HTTP_PORT" -- \
        curl -sS --noproxy '*' --max-time 10 http://127.0.0.1:7000/hello 2>&1)
    rc=$?
    check "$who: --forward to loopback without --allow-cidr is refused (rc $rc)" test "$rc" -ne 0
    check "$who: ... and the summary says which flag allows it" grep -q 'allow-cidr' <<<"$out"

    start=$SECONDS
    out=$("${cell[@]}" --allow-cidr 127.0.0.0/8 -- \
        curl -sS --max-time 20 "http://127.0.0.1:$HTTP_PORT/hello" 2>&1)
    rc=$?
    check "$who: NO_PROXY sends 127.0.0.1 around the proxy: connection refused at once (rc $rc)" \
        test "$rc" -eq 7 -a $((SECONDS - start)) -lt 10
    check "$who: ... with curl's clear message" grep -q "Couldn't connect to server" <<<"$out"

    for bad in "--forward 7000" "--forward 7000=db" "--forward 0=db:1" "--forward 7000=db:99999" \
        "--forward 3128=db:1" "--forward 1080=db:1" "--socks-port 3128" \
        "--forward 7000=a:1 --forward 7000=b:2"; do
        # shellcheck disable=SC2086 # the flags split on purpose
        out=$("${cell[@]}" $bad -- true 2>&1)
        rc=$?
        check "$who: $bad: exit 2 naming the flag (rc $rc: ${out//$'\n'/ })" \
            bash -c '[[ $1 == 2 && $2 == *"--"@(forward|socks-port)* ]]' _ "$rc" "$out"
    done
    expect_eq "$who: nothing left behind" "" "$(leftovers)"
}

run_checks root
run_checks unpriv
tap_done
