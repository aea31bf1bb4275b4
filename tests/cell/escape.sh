#!/usr/bin/env bash
# Escape attempts from inside real cells, as root and as an unprivileged
# user; every one must fail. The host side plants bait (loopback listeners
# that record every contact, secrets in /root and /home, a process to
# signal) and then checks the bait is untouched — an attempt "fails" only
# when the host saw nothing, not merely when the command inside said so.
# The default policy is used throughout: no --allow-cidr, except in the
# positive control that proves the bait listener can be reached at all.
set -uo pipefail
here=$(dirname -- "$0")
source "$here/lib.sh"
source "$here/../lib/nix_daemon.sh"

MARK=escape-$$-$RANDOM
HITS=$SCRATCH/hits
: >"$HITS"
chmod 666 "$HITS"

# skip NAME REASON: a TAP skip (the attempt needs root on the host).
skip() {
    TAP_N=$((TAP_N + 1))
    echo "ok $TAP_N - $1 # SKIP $2"
}

# The in-cell prober: one python file, one sub-command per attempt; prints
# what happened and exits 0 only when the attempt got through.
cat >"$SCRATCH/probe.py" <<'EOF'
import errno, fcntl, os, socket, sys, termios

def err(e):
    return errno.errorcode.get(e.errno, str(e.errno)) if e.errno else str(e)

def tcp(host, port):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect((host, int(port)))
    except OSError as e:
        print(err(e)); return 1
    print("connected"); return 0

def udp(host, port):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    try:
        s.sendto(b"udp-escape", (host, int(port)))
    except OSError as e:
        print(err(e)); return 1
    print("sent"); return 0

def raw():
    got = 0
    for name, args in [("inet-raw", (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)),
                       ("inet6-raw", (socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)),
                       ("packet", (socket.AF_PACKET, socket.SOCK_RAW, 0x0300))]:
        try:
            socket.socket(*args).close()
            print(name, "opened"); got = 1
        except OSError as e:
            print(name, err(e))
    return 0 if got else 1

def abstract(name):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect("\0" + name)
    except OSError as e:
        print(err(e)); return 1
    print("connected"); return 0

def proxy(*pairs):
    # proxy METHOD TARGET [METHOD TARGET...]: prints "METHOD TARGET=STATUS"
    for method, target in zip(pairs[::2], pairs[1::2]):
        try:
            code = proxy_one(method, target)
        except OSError as e:
            code = err(e)
        print(f"{method} {target.rsplit(':', 1)[0]}={code}")
    return 0

def proxy_one(method, target):
    s = socket.create_connection(("127.0.0.1", 3128), timeout=5)
    if method == "CONNECT":
        req = f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n"
    else:
        req = f"GET http://{target}/ HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\n\r\n"
    s.sendall(req.encode())
    head = b""
    while b"\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            break
        head += chunk
    return head.split(b" ")[1].decode() if b" " in head else "none"

def raw_proxy(port):
    # Request forms that might slip past a target check: origin-form with a
    # loopback Host, HTTP/1.0 without Host, userinfo, an upper-case scheme,
    # a pipelined second request, Host disagreeing with the URI, CL+TE.
    forms = {
        "origin-form-host": f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n",
        "http10-no-host": f"GET http://127.0.0.1:{port}/ HTTP/1.0\r\n\r\n",
        "userinfo": f"GET http://example.com@127.0.0.1:{port}/ HTTP/1.1\r\nHost: example.com\r\n\r\n",
        "upper-scheme": f"GET HTTP://127.0.0.1:{port}/ HTTP/1.1\r\nHost: x\r\n\r\n",
        "host-mismatch": f"GET http://localhost:9/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n",
        "pipelined": f"GET http://127.0.0.2:9/ HTTP/1.1\r\nHost: 127.0.0.2:9\r\n\r\n"
                     f"GET http://127.0.0.1:{port}/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        "cl-te": f"POST http://127.0.0.1:{port}/ HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                 f"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "connect-userinfo": f"CONNECT example.com@127.0.0.1:{port} HTTP/1.1\r\nHost: x\r\n\r\n",
        "connect-no-port": "CONNECT 127.0.0.1 HTTP/1.1\r\nHost: x\r\n\r\n",
    }
    for name, req in forms.items():
        s = socket.create_connection(("127.0.0.1", 3128), timeout=8)
        s.sendall(req.encode())
        data = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass
        codes = [l.split(b" ")[1].decode() for l in data.split(b"\r\n")
                 if l.startswith(b"HTTP/1.") and b" " in l]
        reached = b"reached" in data
        print(f"{name}={'escaped' if reached or any(c.startswith('2') for c in codes) else 'blocked'} {codes}")
    return 0

def unmask_sysctl():
    # Detach whatever covers /proc/sys (in a nested user+mount ns), then try
    # to write a host sysctl with its current value.
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    for path in (b"/proc/sys", b"/proc"):
        libc.umount2(path, 2)
    f = "/proc/sys/kernel/core_pattern"
    try:
        value = open(f).read()
        with open(f, "w") as out:
            out.write(value)
    except OSError as e:
        print(err(e)); return 1
    print("wrote"); return 0

def tiocsti(text):
    print("stdin-is-tty", os.isatty(0))
    got = 0
    fds = [0, 1, 2]
    try:
        fds.append(os.open("/dev/tty", os.O_RDWR))
    except OSError as e:
        print("/dev/tty", err(e))
    for fd in fds:
        try:
            for ch in text:
                fcntl.ioctl(fd, termios.TIOCSTI, ch.encode())
            print("fd", fd, "injected"); got = 1
        except OSError as e:
            print("fd", fd, err(e))
    return 0 if got else 1

def take_proxy_port():
    # The proxy's port in the jail belongs to a socket held outside it: no
    # program may bind its own server there, reuse options or not. Only
    # EADDRINUSE counts as blocked: any other outcome (bound, or a probe
    # that failed for another reason) is reported as an escape.
    from urllib.parse import urlsplit
    try:
        port = urlsplit(os.environ["HTTP_PROXY"]).port
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind(("127.0.0.1", port))
        s.listen()
    except OSError as e:
        print(err(e)); return 1 if e.errno == errno.EADDRINUSE else 0
    except Exception as e:
        print("probe failed:", e); return 0
    print("bound"); return 0

def stat_fields(pid):
    # (ppid, pgrp) from /proc/PID/stat; the name may hold spaces and ')'.
    text = open(f"/proc/{pid}/stat").read()
    rest = text[text.rindex(")") + 2:].split()
    return int(rest[1]), int(rest[2])

def kill_proxy_take_port(log_dir):
    # In the host's pid namespace (share-ns pid) the jail can signal its own
    # proxy (same user). Ours is the one in the process group of the keeper,
    # an ancestor of this process, so other cells' proxies are left alone.
    # Killing it must not hand the jail the port.
    import signal, time
    ancestors, pid = set(), os.getpid()
    while pid > 1:
        ancestors.add(pid)
        pid = stat_fields(pid)[0]
    killed = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            args = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
            group = stat_fields(pid)[1]
        except (OSError, ValueError):
            continue
        if (len(args) > 3 and args[0].endswith(b"/proxy") and args[1:3] == [b"--listen", b"fd:5"]
                and group in ancestors):
            try:
                os.kill(int(pid), signal.SIGKILL)
                killed.append(pid)
            except OSError as e:
                print("kill", pid, err(e))
    if not killed:
        print("no proxy found"); return 0
    for pid in killed:
        for _ in range(100):
            try:
                if open(f"/proc/{pid}/stat").read().rsplit(") ", 1)[1][0] == "Z":
                    break
            except OSError:
                break
            time.sleep(0.02)
    print("killed proxy", *killed)
    return take_proxy_port()

def daemon(tag):
    # Double fork, new session, TERM and HUP ignored: the classic survivor.
    if os.fork():
        return 0
    os.setsid()
    if os.fork():
        os._exit(0)
    import signal
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    os.execvp("bash", ["bash", "-c", "exec -a " + tag + " sleep 60"])

sys.exit(globals()[sys.argv[1]](*sys.argv[2:]))
EOF
chmod 644 "$SCRATCH/probe.py"

# Bait on the host: TCP on 127.0.0.1 and ::1 (one port), UDP on 127.0.0.1,
# an abstract unix socket. Every contact appends a line to $HITS; TCP
# contacts get an HTTP answer so the positive control can see it.
cat >"$SCRATCH/bait.py" <<'EOF'
import socket, sys, threading
hits, portfile, abstract = sys.argv[1:4]
def note(what):
    with open(hits, "a") as f:
        f.write(what + "\n")
def serve(s, what):
    while True:
        c, _ = s.accept()
        note(what)
        try:
            c.settimeout(2); c.recv(4096)
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nreached\n")
        except OSError:
            pass
        c.close()
t4 = socket.socket(socket.AF_INET); t4.bind(("127.0.0.1", 0)); t4.listen(16)
port = t4.getsockname()[1]
t6 = socket.socket(socket.AF_INET6); t6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
t6.bind(("::1", port)); t6.listen(16)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", port))
a = socket.socket(socket.AF_UNIX); a.bind("\0" + abstract); a.listen(4)
for s, what in [(t4, "tcp4"), (t6, "tcp6"), (a, "abstract")]:
    threading.Thread(target=serve, args=(s, what), daemon=True).start()
with open(portfile + ".tmp", "w") as f:
    f.write(str(port))
import os; os.rename(portfile + ".tmp", portfile)
while True:
    u.recvfrom(4096); note("udp")
EOF
python3 "$SCRATCH/bait.py" "$HITS" "$SCRATCH/bait.port" "$MARK" &
BG_PIDS+=($!)
for ((i = 0; i < 100; i++)); do
    [[ -s $SCRATCH/bait.port ]] && break
    sleep 0.05
done
PORT=$(<"$SCRATCH/bait.port")

# The host's own non-loopback addresses (no listener there: the proxy must
# say 403, not 502, which would mean it tried to connect).
mapfile -t HOST_ADDRS < <(ip -o addr show | awk '$2 != "lo" {sub(/\/.*/, "", $4); print $4}')

# A target process on the host, owned by the same user as the cell.
start_target() {
    local owner=$1
    runuser -u "$owner" -- bash -c "exec -a escape-target-$MARK sleep 120" </dev/null >/dev/null 2>&1 &
    BG_PIDS+=($!)
    for ((i = 0; i < 50; i++)); do
        TARGET_PID=$(pgrep -f "^escape-target-$MARK") && return 0
        sleep 0.05
    done
    return 1
}

# Secrets in /root, /home and the unprivileged user's home, world-readable,
# so only the jail (not file modes) keeps them from the cell.
SECRETS=()
plant_secrets() {
    local uhome
    uhome=$(getent passwd "$(unpriv_user)" | cut -d: -f6)
    SECRETS=("/root/escape-secret-$MARK" "/home/escape-secret-$MARK" "$uhome/escape-secret-$MARK")
    local s
    for s in "${SECRETS[@]}"; do
        echo "secret $MARK" >"$s" && chmod 644 "$s"
    done
}
remove_secrets() {
    local s
    for s in "${SECRETS[@]}"; do rm -f -- "$s"; done
    rm -f -- "/tmp/escape-host-$MARK" "/tmp/escape-fd-$MARK"
}
trap 'stop_nix_daemon; remove_secrets; cleanup_scratch' EXIT

# A private nix daemon: builds run OUTSIDE the jail (that is what the nix
# relay is for), so a build is the one way a process could outlive a cell.
mkdir -p "$SCRATCH/nixd" "$SCRATCH/nixsock" && chmod 755 "$SCRATCH/nixd" "$SCRATCH/nixsock"
if start_nix_daemon "$SCRATCH/nixd"; then
    chmod 666 "$NIX_DAEMON_SOCKET"
    ln -s "$NIX_DAEMON_SOCKET" "$SCRATCH/nixsock/socket"
fi

# nix_drv NAME SCRIPT: a derivation whose builder runs SCRIPT with bash.
nix_drv() {
    printf 'derivation { name = "%s"; system = builtins.currentSystem; builder = "/bin/bash"; args = [ "-c" %s ]; }' \
        "$1" "$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$2")"
}
if ((EUID == 0)); then plant_secrets; fi
echo "host tmp $MARK" >"/tmp/escape-host-$MARK"

# wait_hits N: until the bait has recorded N contacts (5 s at most).
wait_hits() {
    local i
    for ((i = 0; i < 100; i++)); do
        (($(wc -l <"$HITS") >= $1)) && return 0
        sleep 0.05
    done
    return 1
}

# Each attempt in a list runs in one cell; the cell prints NAME=escaped or
# NAME=blocked per attempt, and each line becomes one TAP result.
expect_blocked() {
    local who=$1 out=$2 name line
    shift 2
    for name in "$@"; do
        line=$(grep -m1 "^$name=" <<<"$out")
        expect_eq "$who: $name is blocked" "$name=blocked" "${line:-$name=(no answer)}"
    done
}

# Defined inside each cell's script (the cell clears the environment):
# attempt_lines NAME CMD... prints NAME=escaped when CMD succeeds.
ATTEMPT_FN='attempt_lines() { local n=$1; shift; if "$@" >/dev/null 2>&1; then echo "$n=escaped"; else echo "$n=blocked"; fi; };'

# Network without the proxy.
attempts_network() {
    local out
    expect_eq "$who: the jail has only lo" "lo" \
        "$("${cell[@]}" -- sh -c "ip -o link | awk '{print \$2}' | tr -d :" | tr '\n' ' ' | sed 's/ $//')"
    check "$who: positive control: the host reaches the bait on 127.0.0.1 and ::1" \
        bash -c 'python3 "$1" tcp 127.0.0.1 "$2" && python3 "$1" tcp ::1 "$2"' _ "$SCRATCH/probe.py" "$PORT"
    check "$who: positive control: the bait records contacts" wait_hits 2
    : >"$HITS"
    local attempts=(
        "attempt_lines tcp-127.0.0.1 python3 probe.py tcp 127.0.0.1 $PORT"
        "attempt_lines tcp-::1 python3 probe.py tcp ::1 $PORT"
        "attempt_lines abstract-unix python3 probe.py abstract $MARK"
        "attempt_lines raw-packet-sockets python3 probe.py raw"
        "attempt_lines raw-in-nested-userns unshare -Ur python3 probe.py raw"
        "attempt_lines route-add ip route add 10.77.0.0/16 dev lo"
        "attempt_lines addr-add ip addr add 10.77.0.1/32 dev lo"
        "attempt_lines link-add ip link add escdummy type dummy"
        "attempt_lines route-add-nested-userns unshare -Ur ip route add 10.77.0.0/16 dev lo"
    )
    local a names=(tcp-127.0.0.1 tcp-::1 abstract-unix raw-packet-sockets raw-in-nested-userns
        route-add addr-add link-add route-add-nested-userns)
    for a in "${HOST_ADDRS[@]}"; do
        attempts+=("attempt_lines tcp-$a python3 probe.py tcp $a $PORT")
        attempts+=("attempt_lines udp-$a python3 probe.py udp $a $PORT")
        names+=("tcp-$a" "udp-$a")
    done
    out=$("${cell[@]}" -- bash -c "$ATTEMPT_FN$(printf '%s;\n' "${attempts[@]}")
        python3 probe.py udp 127.0.0.1 $PORT; python3 probe.py udp ::1 $PORT" 2>&1)
    expect_blocked "$who" "$out" "${names[@]}"
    sleep 0.3
    expect_eq "$who: the host's loopback bait saw no direct contact (TCP, UDP, abstract)" "" "$(cat "$HITS")"
}

# The host's loopback and own addresses through the proxy.
attempts_proxy() {
    local out
    local ok_body
    ok_body=$("${base[@]}" --log-dir "$logs" --connect-port "$PORT" --allow-all --allow-cidr 127.0.0.0/8 \
        -- python3 probe.py proxy GET "127.0.0.1:$PORT" 2>/dev/null)
    expect_eq "$who: positive control: with --allow-cidr 127.0.0.0/8 the proxy reaches the bait" \
        "GET 127.0.0.1=200" "$ok_body"
    check "$who: positive control: the bait recorded the proxied contact" wait_hits 1
    : >"$HITS"
    local targets=(127.0.0.1 "[::1]" localhost LOCALHOST localhost. 0.0.0.0 127.1 2130706433
        0x7f000001 0177.0.0.1 127.000.000.001 "[::ffff:127.0.0.1]" "[::ffff:7f00:1]"
        "[::127.0.0.1]" "[0:0:0:0:0:0:0:1]" "[::]" "$(hostname)")
    for a in "${HOST_ADDRS[@]}"; do
        [[ $a == *:* ]] && targets+=("[$a]") || targets+=("$a")
    done
    local t pairs=()
    for t in "${targets[@]}"; do
        pairs+=(GET "$t:$PORT" CONNECT "$t:$PORT")
    done
    out=$("${cell[@]}" -- python3 probe.py proxy "${pairs[@]}" 2>/dev/null)
    # 403: the address policy; 400: the proxy rejects a non-canonical
    # numeric host (127.1, 0x7f000001...) outright. Both are refusals; the
    # bait, checked below, is what proves nothing got through.
    local got
    for t in "${targets[@]}"; do
        for m in GET CONNECT; do
            got=$(grep -m1 -F "$m $t=" <<<"$out")
            check "$who: $m $t:PORT through the proxy is refused (${got#*=})" \
                bash -c '[[ $1 =~ =(400|403)$ ]]' _ "$got"
        done
    done
    out=$("${cell[@]}" -- python3 probe.py raw_proxy "$PORT" 2>&1)
    local form
    for form in origin-form-host http10-no-host userinfo upper-scheme host-mismatch pipelined \
        cl-te connect-userinfo connect-no-port; do
        got=$(grep -m1 "^$form=" <<<"$out")
        check "$who: proxy request form $form does not reach the host (${got#*=})" \
            bash -c '[[ $1 == *=blocked* ]]' _ "$got"
    done
    sleep 0.3
    expect_eq "$who: the bait saw nothing through the proxy" "" "$(cat "$HITS")"
}

# Writes outside the worktree and the log dir.
attempts_writes() {
    local out
    local w=(
        "attempt_lines root-dir mkdir /escape-$MARK"
        "attempt_lines usr touch /usr/escape-$MARK"
        "attempt_lines etc touch /etc/escape-$MARK"
        "attempt_lines etc-hosts sh -c 'echo 127.0.0.1 evil >> /etc/hosts'"
        "attempt_lines etc-passwd sh -c 'echo x >> /etc/passwd'"
        "attempt_lines nix-store touch /nix/store/escape-$MARK"
        "attempt_lines proxy-port-takeover python3 probe.py take_proxy_port"
        "attempt_lines nix-socket-dir touch /nix/var/nix/daemon-socket/escape-$MARK"
        "attempt_lines proc-sys-core-pattern sh -c 'cat /proc/sys/kernel/core_pattern > /proc/sys/kernel/core_pattern'"
        "attempt_lines proc-sys-unmasked-nested unshare -Urm python3 probe.py unmask_sysctl"
        "attempt_lines proc-sys-fresh-procfs unshare -Urmpf --mount-proc sh -c 'cat /proc/sys/kernel/core_pattern > /proc/sys/kernel/core_pattern'"
        "attempt_lines proc-sys-modprobe sh -c 'cat /proc/sys/kernel/modprobe > /proc/sys/kernel/modprobe'"
        "attempt_lines proc-sys-legacy-tiocsti sh -c 'cat /proc/sys/dev/tty/legacy_tiocsti > /proc/sys/dev/tty/legacy_tiocsti'"
        "attempt_lines read-host-tls-keys sh -c 'ls /etc/ssl/private || ls /etc/pki/tls/private'"
        "attempt_lines proc-sys-drop-caches sh -c 'echo 1 > /proc/sys/vm/drop_caches'"
        "attempt_lines proc-sys-ip-forward sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'"
        "attempt_lines sysrq-trigger sh -c 'echo h > /proc/sysrq-trigger'"
        "attempt_lines block-devices sh -c 'test -n \"\$(find /dev -type b 2>/dev/null)\"'"
        "attempt_lines sethostname hostname escape-host"
        "attempt_lines sethostname-nested-userns unshare -Ur hostname escape-host"
        "attempt_lines settime date -s @0"
        "attempt_lines cgroupfs sh -c 'test -e /sys/fs/cgroup/cgroup.procs'"
        "attempt_lines host-run-sockets sh -c 'test -n \"\$(ls -A /run | grep -vx cell)\"'"
        "attempt_lines mount-tmpfs sh -c 'mkdir -p /tmp/m && mount -t tmpfs none /tmp/m'"
        "attempt_lines remount-usr-rw mount -o remount,rw /usr"
        "attempt_lines bind-over-usr mount --bind /home/cell/worktree /usr/local"
        "attempt_lines nested-remount-usr-rw unshare -Urm sh -c 'mount -o remount,rw /usr && touch /usr/escape-$MARK'"
        "attempt_lines nested-remount-store-rw unshare -Urm sh -c 'mount -o remount,rw,bind /nix/store && touch /nix/store/escape-$MARK'"
        "attempt_lines nested-remount-root-rw unshare -Urm sh -c 'mount -o remount,rw / && mkdir /escape-$MARK && test -e /usr/escape-$MARK'"
    )
    names=(root-dir usr etc etc-hosts etc-passwd nix-store proxy-port-takeover nix-socket-dir proc-sys-core-pattern proc-sys-unmasked-nested
        proc-sys-fresh-procfs proc-sys-modprobe proc-sys-legacy-tiocsti
        read-host-tls-keys proc-sys-drop-caches proc-sys-ip-forward
        sysrq-trigger block-devices sethostname sethostname-nested-userns settime cgroupfs
        host-run-sockets mount-tmpfs remount-usr-rw bind-over-usr nested-remount-usr-rw
        nested-remount-store-rw nested-remount-root-rw)
    local core_before devs_before
    core_before=$(cat /proc/sys/kernel/core_pattern)
    devs_before=$(stat -c '%n %a %u %Y' /dev/null /dev/zero /dev/tty /dev/urandom)
    out=$("${cell[@]}" -- bash -c "$ATTEMPT_FN$(printf '%s;\n' "${w[@]}")
        chmod 600 /dev/null /dev/zero /dev/urandom; touch -d @0 /dev/tty
        echo private > /tmp/escape-$MARK
        mkdir -p '$XDG_RUNTIME_DIR/escape-$MARK' && touch '$XDG_RUNTIME_DIR/escape-$MARK/x'
        unshare -Urm sh -c 'mount --bind /home/cell/worktree /usr/local && touch /usr/local/escape-$MARK'
        " 2>&1)
    expect_blocked "$who" "$out" "${names[@]}"
    local p leaked=()
    for p in "/escape-$MARK" "/usr/escape-$MARK" "/usr/local/escape-$MARK" "/etc/escape-$MARK" \
        "/nix/store/escape-$MARK" "/tmp/escape-$MARK" "$XDG_RUNTIME_DIR/escape-$MARK"; do
        [[ -e $p ]] && leaked+=("$p")
    done
    expect_eq "$who: no write reached the host (/, /usr, /etc, store, /tmp, runtime dir, bind tricks)" \
        "" "${leaked[*]}"
    expect_eq "$who: the host's core_pattern is unchanged" "$core_before" "$(cat /proc/sys/kernel/core_pattern)"
    # A root cell may change its /dev nodes (they are its private copies);
    # the host's keep their modes and times.
    expect_eq "$who: chmod/touch of /dev nodes in the cell leave the host's unchanged" \
        "$devs_before" "$(stat -c '%n %a %u %Y' /dev/null /dev/zero /dev/tty /dev/urandom)"
    check "$who: the host's hostname is unchanged" test "$(hostname)" != escape-host
    check "$who: the host's /etc/hosts and /etc/passwd carry nothing from the cell" \
        bash -c '! grep -q evil /etc/hosts && ! grep -qx x /etc/passwd'
    expect_eq "$who: the cell's /tmp is private (the host's /tmp file is not visible)" "absent" \
        "$("${cell[@]}" -- sh -c "test -e /tmp/escape-host-$MARK && echo present || echo absent")"

    # The log dir is the jail's to write, but the host must never write
    # through a symlink the jail planted there (launcher, proxy, relays).
    local victim=$SCRATCH/victim-$who
    : >"$victim"
    chmod 666 "$victim"
    "${cell[@]}" -- sh -c "for f in launcher proxy proxy-access nix relay; do ln -sfn '$victim' /var/log/cell/\$f.log.tmp && mv -fT /var/log/cell/\$f.log.tmp /var/log/cell/\$f.log; done" 2>/dev/null
    "${cell[@]}" -- curl -s -o /dev/null http://127.0.0.1:9/ 2>/dev/null
    expect_eq "$who: the host writes nothing through a symlink planted in the log dir" "" \
        "$(cat "$victim")"
    : >"$victim"
    "${base[@]}" -- sh -c "ln -sfn '$victim' /var/log/cell/launcher.log.tmp && mv -fT /var/log/cell/launcher.log.tmp /var/log/cell/launcher.log" 2>/dev/null
    expect_eq "$who: ... nor through one planted in the default (runtime) log dir" "" "$(cat "$victim")"
    rm -f "$logs"/*.log
}

# The caller's environment (tokens, agent sockets).
attempts_environment() {
    local out
    expect_eq "$who: the caller's secrets in the environment do not reach the cell" "" \
        "$("${runas[@]}" env ESCAPE_TOKEN="$MARK" SSH_AUTH_SOCK="/tmp/agent-$MARK" GITHUB_TOKEN="$MARK" \
            "$cell_bin" --worktree "$wt" --nix off -- env 2>/dev/null | grep -F "$MARK")"
}

# Signals, the pid and ipc namespaces.
attempts_signals() {
    local out
    local SHM_ID
    SHM_ID=$(runuser -u "$owner" -- ipcmk -M 4096 -p 0666 | grep -o '[0-9]*$')
    if start_target "$owner"; then
        out=$("${cell[@]}" -- bash -c "$ATTEMPT_FN
            attempt_lines kill-0 kill -0 $TARGET_PID
            attempt_lines kill-term kill -TERM $TARGET_PID
            attempt_lines proc-entry test -e /proc/$TARGET_PID/cmdline
            attempt_lines ps-sees-host sh -c 'ps -eo args | grep -q ^escape-target-$MARK'
            attempt_lines sysv-shm-visible sh -c 'awk \"NR > 1 && \\\$2 == $SHM_ID\" /proc/sysvipc/shm | grep -q .'
            echo nprocs=\$(ls /proc | grep -c '^[0-9]')
            kill -KILL -1" 2>&1)
        expect_blocked "$who" "$out" kill-0 kill-term proc-entry ps-sees-host sysv-shm-visible
        check "$who: the cell sees only its own few processes ($(grep -o 'nprocs=[0-9]*' <<<"$out"))" \
            bash -c '[[ $1 =~ nprocs=([0-9]+) ]] && ((BASH_REMATCH[1] <= 8))' _ "$out"
        check "$who: the host process survived kill -0/-TERM and kill -KILL -1 from the cell" \
            kill -0 "$TARGET_PID"
        kill "$TARGET_PID" 2>/dev/null
        check "$who: positive control: the host sees its SysV segment" \
            bash -c 'awk -v id="$1" "NR > 1 && \$2 == id" /proc/sysvipc/shm | grep -q .' _ "$SHM_ID"
    else
        check "$who: a host target process starts" false
    fi
    [[ -n $SHM_ID ]] && ipcrm -m "$SHM_ID"
    # The proxy's port outlives the proxy: the launcher holds the socket too.
    out=$("${cell[@]}" --share-ns pid -- python3 probe.py kill_proxy_take_port "$logs" 2>&1)
    check "$who: share-ns pid: the jail kills its proxy, the port stays taken ($(tr '\n' ' ' <<<"$out"))" \
        bash -c '[[ $1 == *"killed proxy"*EADDRINUSE* ]]' _ "$out"
}

# /root and /home.
attempts_secrets() {
    local out
    if ((EUID == 0)); then
        out=$("${cell[@]}" -- bash -c "$ATTEMPT_FN
            attempt_lines read-root-secret cat '${SECRETS[0]}'
            attempt_lines read-home-secret cat '${SECRETS[1]}'
            attempt_lines read-user-home-secret cat '${SECRETS[2]}'
            attempt_lines list-root ls -A /root
            attempt_lines find-secret sh -c 'find / \\( -path /proc -o -path /usr -o -path /nix/store \\) -prune -o -name \"escape-secret-*\" -print 2>/dev/null | grep -q .'
            echo home=\$(ls -A /home | tr '\n' ' ')" 2>&1)
        expect_blocked "$who" "$out" read-root-secret read-home-secret read-user-home-secret list-root find-secret
        expect_eq "$who: /home holds only the cell's home" "home=cell" "$(grep -m1 '^home=' <<<"$out")"
        # A caller that leaks a descriptor (a CI runner, an editor) must not
        # hand the cell the host filesystem: fd 7 is the host's /.
        local fd_secret=${SECRETS[0]}
        [[ $who == unpriv ]] && fd_secret=${SECRETS[2]}
        out=$("${cell[@]}" -- bash -c "$ATTEMPT_FN
            attempt_lines inherited-dir-fd-read cat '/proc/self/fd/7$fd_secret'
            attempt_lines inherited-dir-fd-write sh -c 'echo x > /proc/self/fd/7/tmp/escape-fd-$MARK'
            attempt_lines inherited-dir-fd-via-pid1 cat '/proc/1/fd/7$fd_secret'" 7</ 2>&1)
        expect_blocked "$who" "$out" inherited-dir-fd-read inherited-dir-fd-write inherited-dir-fd-via-pid1
        check "$who: nothing written through an inherited fd" test ! -e "/tmp/escape-fd-$MARK"
        rm -f "/tmp/escape-fd-$MARK"
    else
        skip "$who: secrets in /root and /home" "needs root to plant them"
    fi
}

# TIOCSTI into the terminal the cell runs on.
attempts_tiocsti() {
    local out
    local fifo=$SCRATCH/tty-in-$who hold
    mkfifo "$fifo" && chmod 666 "$fifo"
    exec {hold}<>"$fifo"
    out=$("${runas[@]}" script -qec "$(printf '%q ' "$cell_bin" --worktree "$wt" --nix off) -- python3 probe.py tiocsti 'echo INJECTED-$MARK
'; read -r -t 1 line; echo \"host-read:\$line\"" /dev/null <"$fifo" 2>&1 | tr -d '\r')
    exec {hold}>&-
    check "$who: the cell's stdin is a real TTY (the attempt is meaningful)" grep -q "stdin-is-tty True" <<<"$out"
    check "$who: TIOCSTI fails on every terminal fd inside" \
        bash -c '! grep -q injected <<<"$1" && (( $(grep -cE "^fd [0-9]+ (EPERM|EIO|ENOTTY|EBADF)" <<<"$1") >= 3 ))' _ "$out"
    expect_eq "$who: nothing was injected into the host terminal" "host-read:" \
        "$(grep -m1 '^host-read:' <<<"$out")"
}

# Processes that try to outlive the cell.
attempts_persistence() {
    local out
    "${cell[@]}" -- bash -c "
        setsid nohup bash -c 'exec -a escape-persist-a-$MARK sleep 60' >/dev/null 2>&1 &
        ( ( exec -a escape-persist-b-$MARK sleep 60 ) & ) &
        bash -c 'trap \"\" TERM HUP; exec -a escape-persist-c-$MARK sleep 60' &
        python3 probe.py daemon escape-persist-d-$MARK
        sleep 0.3" >/dev/null 2>&1
    local left=""
    for ((i = 0; i < 30; i++)); do
        left=$(pgrep -af "escape-persist-.-$MARK")
        [[ -z $left ]] && break
        sleep 0.1
    done
    expect_eq "$who: no process outlives the cell (setsid nohup, double fork, TERM/HUP ignored, daemon)" \
        "" "$left"
}

# A nix build (outside the jail) that tries to outlive the cell.
attempts_nix_builds() {
    local out left
    if [[ -S $SCRATCH/nixsock/socket ]]; then
        local tag=escape-build-$who-$MARK
        local nixcell=("${runas[@]}" "$cell_bin" --worktree "$wt" --nix on --nix-daemon-socket "$SCRATCH/nixsock")
        local detached long
        detached=$(nix_drv "detached-$tag" "(/usr/bin/setsid /bin/bash -c 'exec -a $tag-detached /bin/sleep 60' </dev/null >/dev/null 2>&1 &); echo > \$out")
        long=$(nix_drv "long-$tag" "exec -a $tag-long /bin/sleep 60")
        "${nixcell[@]}" -- sh -c "nix-build --option substituters '' --no-out-link -E '$detached' >/dev/null 2>&1
            nix-build --option substituters '' --no-out-link -E '$long' >/dev/null 2>&1 &
            for i in \$(seq 300); do test -e stop-$MARK && break; sleep 0.1; done" &
        local nix_cell=$! seen=no
        for ((i = 0; i < 250; i++)); do
            pgrep -f "^$tag-long" >/dev/null && { seen=yes; break; }
            sleep 0.1
        done
        touch "$wt/stop-$MARK"
        wait "$nix_cell"
        expect_eq "$who: the cell's long build was running on the host (the attempt is real)" yes "$seen"
        left=""
        for ((i = 0; i < 50; i++)); do
            left=$(pgrep -af "^$tag-")
            [[ -z $left ]] && break
            sleep 0.1
        done
        expect_eq "$who: no build process outlives the cell (running build, detached child)" "" "$left"
        # A trusted daemon client may set post-build-hook, which the daemon
        # (root) runs on the host; the hook's host path is in mountinfo.
        local proof=$SCRATCH/hook-proof-$who
        printf '#!/bin/sh\n/usr/bin/id -u > %s\n' "$proof" >"$wt/hook.sh"
        chmod 755 "$wt/hook.sh"
        "${nixcell[@]}" -- sh -c "host_wt=\$(awk '\$5 == \"/home/cell/worktree\" {print \$4}' /proc/self/mountinfo)
            nix-build --option substituters '' --option post-build-hook \"\$host_wt/hook.sh\" --no-out-link \
                -E '$(nix_drv "hook-$tag" 'echo > $out')'" >/dev/null 2>&1
        expect_eq "$who: the cell cannot make the nix daemon run a host command (post-build-hook)" \
            "" "$(cat "$proof" 2>/dev/null)"
        rm -f "$wt/hook.sh"
    else
        skip "$who: builds outliving the cell" "no private nix-daemon"
    fi
    expect_eq "$who: nothing left behind" "" "$(leftovers)"
}

# Runs every attempt as WHO ("root" or "unpriv"); the attempts read the
# locals set here (bash scoping is dynamic).
run_attempts() {
    local who=$1 runas=() wt=$SCRATCH/wt-$1 logs=$SCRATCH/logs-$1 owner cell_bin=$CELL out
    mkdir -p "$wt" "$logs"
    cp "$SCRATCH/probe.py" "$wt/"
    if [[ $who == unpriv ]]; then
        owner=$(unpriv_user)
        chown -R "$owner" "$wt" "$logs"
        runas=(runuser -u "$owner" -- env -i PATH=/usr/bin:/bin HOME=/tmp XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR")
        cell_bin=$UNPRIV_CELL
    else
        owner=root
    fi
    local base=("${runas[@]}" "$cell_bin" --worktree "$wt" --nix off)
    # --allow-all: the attempts below are aimed at the address policy, which
    # must hold even when every domain is admitted.
    local cell=("${base[@]}" --log-dir "$logs" --connect-port "$PORT" --allow-all)
    : >"$HITS"
    attempts_network
    attempts_proxy
    attempts_writes
    attempts_environment
    attempts_signals
    attempts_secrets
    attempts_tiocsti
    attempts_persistence
    attempts_nix_builds
}

# A root cell's private /dev nodes need a runtime dir that allows devices;
# on a nodev one the launcher says so and the cell still works.
nodev_runtime_dir() {
    local d=$SCRATCH/nodev out
    mkdir -p "$d"
    if ! mount -t tmpfs -o nodev,mode=0700 cell-nodev-test "$d" 2>/dev/null; then
        skip "root: a nodev runtime dir is reported" "cannot mount a tmpfs here"
        return
    fi
    out=$(XDG_RUNTIME_DIR=$d "$CELL" --worktree "$SCRATCH/wt-root" --nix off -- \
        sh -c 'echo x >/dev/null && echo works' 2>&1)
    umount "$d"
    check "root: a nodev runtime dir: the launcher warns that the host's nodes are used" \
        grep -q 'nodev filesystem' <<<"$out"
    check "root: a nodev runtime dir: the cell still has a working /dev/null" grep -qx works <<<"$out"
}

run_attempts root
nodev_runtime_dir
run_attempts unpriv
tap_done
