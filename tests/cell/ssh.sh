#!/usr/bin/env bash
# ssh and git over ssh in real cells (issue 18 items 4 and 5), against a
# throwaway sshd (Debian's openssh-server) on the host loopback with a
# throwaway host key, user key and bare git repository, as root and as an
# unprivileged user:
#  - with --allow localhost:PORT (and --allow-cidr for the loopback),
#    `git clone` and `git push` over ssh:// work with no setup in the cell
#    but the key: the cell's /etc/ssh/ssh_config sends ssh through the
#    SOCKS5 port with cell-connect; user@host:path remotes too when the
#    test can serve port 22;
#  - a name the cell does not allow fails fast, cell-connect's message and
#    the launcher's summary naming the refusal and the rule to add;
#  - --ssh-agent: `ssh-add -l` in the cell lists the host agent's key and a
#    clone authenticates with it; without the flag there is no agent.
set -uo pipefail
source "$(dirname -- "$0")/lib.sh"

ssh_dir=$SCRATCH/ssh
mkdir -p "$ssh_dir" /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$ssh_dir/host_key"
ssh-keygen -q -t ed25519 -N '' -C cell-test-key -f "$ssh_dir/user_key"
cp "$ssh_dir/user_key.pub" "$ssh_dir/authorized_keys"
chmod 600 "$ssh_dir/authorized_keys"
SSH_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ports="Port $SSH_PORT"
# user@host:path means port 22: served too when 127.0.0.1:22 is free.
port22=no
if ! (exec 3<>/dev/tcp/127.0.0.1/22) 2>/dev/null; then
    ports+=$'\nPort 22'
    port22=yes
fi
cat >"$ssh_dir/sshd_config" <<CONF
$ports
ListenAddress 127.0.0.1
HostKey $ssh_dir/host_key
AuthorizedKeysFile $ssh_dir/authorized_keys
PidFile $ssh_dir/sshd.pid
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
CONF
/usr/sbin/sshd -f "$ssh_dir/sshd_config" -E "$ssh_dir/sshd.log" || {
    echo "Bail out! sshd did not start: $(cat "$ssh_dir/sshd.log")"
    exit 1
}
BG_PIDS+=("$(cat "$ssh_dir/sshd.pid")")
repo=$SCRATCH/srv/repo.git
git init -q --bare "$repo"
git -C "$SCRATCH" clone -q "$repo" seed 2>/dev/null
git -C "$SCRATCH/seed" -c user.name=t -c user.email=t@t commit -q --allow-empty -m "seeded commit"
git -C "$SCRATCH/seed" push -q origin HEAD:master 2>/dev/null
chmod -R a+rwX "$SCRATCH/srv"

# One line of a command's output, for a TAP test name.
flat() { tr '\n' ' ' <<<"$1"; }

skip() {
    TAP_N=$((TAP_N + 1))
    echo "ok $TAP_N - $1 # SKIP $2"
}

run_checks() {
    local who=$1 runas=() wt=$SCRATCH/wt-$1 logs=$SCRATCH/logs-$1 owner cell_bin=$CELL
    local agent_sock=$XDG_RUNTIME_DIR/agent-$1.sock
    mkdir -p "$wt" "$logs"
    cp "$ssh_dir/user_key" "$wt/id"
    if [[ $who == unpriv ]]; then
        owner=$(unpriv_user)
        chown -R "$owner" "$wt" "$logs"
        runas=(runuser -u "$owner" -- env -i PATH=/usr/bin:/bin HOME=/tmp
            XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" SSH_AUTH_SOCK="$agent_sock")
        cell_bin=$UNPRIV_CELL
    else
        owner=root
        runas=(env SSH_AUTH_SOCK="$agent_sock")
    fi
    chmod 600 "$wt/id"
    local cell=("${runas[@]}" "$cell_bin" --worktree "$wt" --log-dir "$logs" --nix off
        --allow "localhost:$SSH_PORT" --allow-cidr 127.0.0.0/8)
    local url=ssh://root@localhost:$SSH_PORT$repo out rc start

    out=$("${cell[@]}" -- sh -c "GIT_SSH_COMMAND='ssh -i id' git clone -q $url r 2>&1 &&
        git -C r log --format=%s" 2>&1)
    check "$who: git clone over ssh:// through the cell's SOCKS5 port ($(flat "$out"))" \
        grep -qx 'seeded commit' <<<"$out"
    out=$("${cell[@]}" -- sh -c "cd r && git -c user.name=c -c user.email=c@c commit -q \
        --allow-empty -m 'pushed from $who' && GIT_SSH_COMMAND='ssh -i ../id' git push -q \
        origin HEAD:master" 2>&1)
    rc=$?
    check "$who: git push over ssh reaches the host repository (rc $rc: $(flat "$out"))" \
        bash -c '[[ $(git -C "$1" log -1 --format=%s master) == "pushed from $2" ]]' _ "$repo" "$who"
    check "$who: the ssh tunnel is in the access log as SOCKS5" \
        grep -q '"method":"SOCKS5","host":"localhost","port":'"$SSH_PORT"',"decision":"allow"' \
        "$logs/proxy-access.log"

    if [[ $port22 == yes ]]; then
        out=$("${cell[@]}" --allow localhost:22 -- sh -c "GIT_SSH_COMMAND='ssh -i id' \
            git clone -q root@localhost:$repo r22 2>&1 && git -C r22 log --format=%s | tail -n1" 2>&1)
        check "$who: git clone of a user@host:path remote ($(flat "$out"))" grep -qx 'seeded commit' <<<"$out"
    else
        skip "$who: git clone of a user@host:path remote" "127.0.0.1:22 is taken on this host"
    fi

    start=$SECONDS
    out=$("${cell[@]}" -- sh -c "GIT_SSH_COMMAND='ssh -i id' \
        git clone -q ssh://root@refused.example:$SSH_PORT$repo r2" 2>&1)
    rc=$?
    check "$who: a name the cell does not allow fails fast (rc $rc, $((SECONDS - start)) s)" \
        test "$rc" -ne 0 -a $((SECONDS - start)) -lt 15
    check "$who: cell-connect names the refusal and the rule to add" grep -qF \
        "cell-connect: refused.example:$SSH_PORT: refused by the cell's policy (fix: --allow refused.example:$SSH_PORT" \
        <<<"$out"
    check "$who: the launcher's summary names it too" \
        grep -q "^cell: the proxy refused: refused.example:$SSH_PORT (1)" <<<"$out"

    # The host agent, started as the cell's caller (an agent serves its own uid).
    "${runas[@]}" ssh-agent -a "$agent_sock" >/dev/null
    "${runas[@]}" ssh-add -q "$wt/id" 2>/dev/null
    out=$("${cell[@]}" --ssh-agent -- ssh-add -l 2>&1)
    check "$who: --ssh-agent: ssh-add -l in the cell lists the host agent's key ($(flat "$out"))" \
        grep -q 'cell-test-key' <<<"$out"
    out=$("${cell[@]}" --ssh-agent -- sh -c "rm -f id && git clone -q $url ra 2>&1 &&
        git -C ra log --format=%s | tail -n1" 2>&1)
    check "$who: --ssh-agent: git clone authenticates with the agent's key ($(flat "$out"))" \
        grep -qx 'seeded commit' <<<"$out"
    out=$("${cell[@]}" -- ssh-add -l 2>&1)
    rc=$?
    check "$who: without --ssh-agent the cell has no agent (rc $rc: $(flat "$out"))" test "$rc" -eq 2
    "${runas[@]}" env SSH_AGENT_PID="$(pgrep -f "ssh-agent -a $agent_sock")" ssh-agent -k >/dev/null
    out=$("${cell[@]}" --ssh-agent -- true 2>&1)
    rc=$?
    check "$who: --ssh-agent with the agent gone: the cell does not start (rc $rc: $(flat "$out"))" \
        test "$rc" -ne 0
    out=$(env -u SSH_AUTH_SOCK "$cell_bin" --worktree "$wt" --nix off --ssh-agent -- true 2>&1)
    rc=$?
    check "$who: --ssh-agent without SSH_AUTH_SOCK: exit 2 naming the flag (rc $rc: $(flat "$out"))" \
        bash -c '[[ $1 == 2 && $2 == *ssh-agent*SSH_AUTH_SOCK* ]]' _ "$rc" "$out"
    expect_eq "$who: nothing left behind" "" "$(leftovers)"
}

run_checks root
run_checks unpriv
tap_done
