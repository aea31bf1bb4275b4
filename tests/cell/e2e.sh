#!/usr/bin/env bash
# End-to-end: real cells (real bwrap, our proxy and relays, curl/git inside)
# against real loopback upstreams, as root and as an unprivileged user.
set -uo pipefail
source "$(dirname -- "$0")/lib.sh"

make_cert
start_upstream HTTP
start_upstream HTTPS --cert "$SCRATCH/cert.pem" --key "$SCRATCH/key.pem"
# A dumb-HTTP git repository served by a plain static server.
mkdir -p "$SCRATCH/srv" && git init -q --bare "$SCRATCH/srv/repo.git"
git -C "$SCRATCH" clone -q "$SCRATCH/srv/repo.git" seed 2>/dev/null
git -C "$SCRATCH/seed" -c user.name=t -c user.email=t@t commit -q --allow-empty -m "seeded commit"
git -C "$SCRATCH/seed" push -q origin HEAD:master 2>/dev/null
git -C "$SCRATCH/srv/repo.git" update-server-info
(cd "$SCRATCH/srv" && exec python3 -m http.server --bind 127.0.0.1 0 >"$SCRATCH/git.log" 2>&1) &
BG_PIDS+=($!)
for ((i = 0; i < 100; i++)); do
    GIT_PORT=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$SCRATCH/git.log" | head -n1)
    [[ -n $GIT_PORT ]] && break
    sleep 0.05
done

# run_cells WHO: WHO is "root" or "unpriv"; runs the whole list as that user.
run_cells() {
    local who=$1 runas=() wt=$SCRATCH/wt-$1 logs=$SCRATCH/logs-$1 owner cell_bin=$CELL
    mkdir -p "$wt" "$logs"
    cp "$SCRATCH/cert.pem" "$wt/"
    if [[ $who == unpriv ]]; then
        owner=$(unpriv_user)
        chown -R "$owner" "$wt" "$logs"
        runas=(runuser -u "$owner" -- env -i PATH=/usr/bin:/bin HOME=/tmp XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR")
        cell_bin=$UNPRIV_CELL
    else
        owner=root
    fi
    local cell=("${runas[@]}" "$cell_bin" --worktree "$wt" --log-dir "$logs" --nix off
        --allow localhost --allow-cidr 127.0.0.0/8
        --connect-port "$HTTP_PORT" --connect-port "$HTTPS_PORT" --connect-port "$GIT_PORT")

    expect_eq "$who: user, HOME, cwd and PATH inside" \
        "cell /home/cell /home/cell/worktree yes" \
        "$("${cell[@]}" -- sh -c 'echo "$(id -un) $HOME $PWD $(case :$PATH: in *:/usr/bin:*) echo yes;; esac)"')"
    "${cell[@]}" -- sh -c 'echo hi > /home/cell/worktree/made-inside'
    check "$who: worktree writable, the host sees it, owned by the caller" \
        bash -c '[[ $(cat "$1") == hi && $(stat -c %U "$1") == "$2" ]]' _ "$wt/made-inside" "$owner"
    check "$who: /usr, /etc and / are read-only" \
        "${cell[@]}" -- sh -c '! touch /usr/x 2>/dev/null && ! touch /etc/x 2>/dev/null && ! mkdir /x 2>/dev/null'
    expect_eq "$who: HTTP through the proxy to an allowed host" "hello from upstream" \
        "$("${cell[@]}" -- curl -sS --noproxy "" "http://localhost:$HTTP_PORT/hello")"
    expect_eq "$who: HTTPS (CONNECT) through the proxy to an allowed host" "hello from upstream" \
        "$("${cell[@]}" -- curl -sS --noproxy "" --cacert cert.pem "https://localhost:$HTTPS_PORT/hello")"
    local err
    err=$("${cell[@]}" -- curl -s -o /dev/null -w '%{http_code}' http://denied.example/ 2>"$SCRATCH/stderr-$who")
    expect_eq "$who: a host outside the allowlist gets 403" 403 "$err"
    check "$who: the denial is in the access log" grep -q '"decision":"deny"' "$logs/proxy-access.log"
    check "$who: the launcher summarises what was refused" grep -q 'denied.example:80' "$SCRATCH/stderr-$who"
    check "$who: a direct connection that ignores the proxy fails" \
        "${cell[@]}" -- sh -c "! curl -s --noproxy '*' --max-time 5 http://127.0.0.1:$HTTP_PORT/hello"
    check "$who: git clone over HTTP through the proxy" \
        "${cell[@]}" -- sh -c "NO_PROXY= no_proxy= git clone -q http://localhost:$GIT_PORT/repo.git r && git -C r log --format=%s | grep -q 'seeded commit'"
    expect_eq "$who: arguments with spaces, quotes, \$ and UTF-8 arrive intact" \
        "$(printf '%s\n' 'a b' "it's" '"q"' '$HOME' 'ünï' '')" \
        "$("${cell[@]}" -- printf '%s\n' 'a b' "it's" '"q"' '$HOME' 'ünï' '')"
    expect_eq "$who: stdin reaches the command" "from stdin" \
        "$(echo "from stdin" | "${cell[@]}" -- cat)"
    "${cell[@]}" -- sh -c 'exit 7' 2>/dev/null
    expect_eq "$who: the command's exit status is the launcher's" 7 $?
    "${cell[@]}" -- sh -c 'kill -9 $$' 2>/dev/null
    expect_eq "$who: a command killed by SIGKILL gives 137" 137 $?
    expect_eq "$who: a TTY passes through" tty \
        "$(script -qec "$(printf '%q ' "${cell[@]}") -- sh -c 'test -t 0 && test -t 1 && echo tty'" /dev/null | tr -d '\r')"
    expect_eq "$who: nothing left behind" "" "$(leftovers)"
}

run_cells root
run_cells unpriv
tap_done
