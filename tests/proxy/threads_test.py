"""--threads N: the proxy's event loops share one policy, one connection
count and one access log. With --threads 3 the proxy runs 3 threads; 100
CONNECT tunnels and 100 absolute-form GETs at once all get their own bytes,
and the access log has one whole JSON line for each; --max-connections is
one cap across the loops (the next client gets 503, and a freed slot serves
again); a SIGHUP reload reaches every loop; SIGTERM ends all loops with one
"stopping" line, exit 0, the Unix socket file removed; the default (auto) is
a loop per CPU, at most 8; a bad --threads is a usage error naming it."""

import json
import os
import signal
import socket
import subprocess
import threading

from harness import (PROXY, Proxy, Upstream, check, echo_server, finish, read_head, status_of,
                     tmpdir, wait_for)

N = 100
d = tmpdir()


def tunnel(px, port):
    s = px.connect()
    s.sendall(f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    return s, read_head(s)


def tasks(pid):
    return len(os.listdir(f"/proc/{pid}/task"))


echo = echo_server(backlog=512)
up = Upstream()
ports = ["--connect-port", str(echo), "--connect-port", str(up.port)]
log = os.path.join(d, "access.log")
px = Proxy("--allow-cidr", "127.0.0.0/8", *ports, "--threads", "3", log=log)
check(tasks(px.proc.pid) == 3, f"--threads 3 runs 3 threads ({tasks(px.proc.pid)})")

# Tunnels and plain requests at once, from many client threads.
results = {}


def one_tunnel(i):
    try:
        s, head = tunnel(px, echo)
        payload = b"tunnel %04d " % i * 50
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        got = b""
        while chunk := s.recv(65536):
            got += chunk
        s.close()
        results[("t", i)] = (status_of(head) == 200 and got == payload) or \
            f"tunnel {i}: {head[:40]!r}, {len(got)} of {len(payload)} bytes back"
    except OSError as e:
        results[("t", i)] = f"tunnel {i}: {e}"


def one_get(i):
    try:
        with px.connect() as s:
            s.sendall(f"GET http://127.0.0.1:{up.port}/get{i} HTTP/1.1\r\n"
                      f"Host: 127.0.0.1:{up.port}\r\nConnection: close\r\n\r\n".encode())
            got = b""
            while chunk := s.recv(65536):
                got += chunk
        results[("g", i)] = (status_of(got) == 200 and got.endswith(b"hello from upstream\n")) \
            or f"GET {i}: {got[:60]!r}"
    except OSError as e:
        results[("g", i)] = f"GET {i}: {e}"


workers = [threading.Thread(target=one_tunnel, args=(i,)) for i in range(N)]
workers += [threading.Thread(target=one_get, args=(i,)) for i in range(N)]
for w in workers:
    w.start()
for w in workers:
    w.join(30)
bad = [ok for ok in results.values() if ok is not True]
check(len(results) == 2 * N and not bad,
      f"{N} tunnels and {N} GETs at once all got their own bytes ({len(bad)} wrong: {bad[:3]})")
gets = {p for (_, p, _, _) in up.seen}
check(all(f"/get{i}" in gets for i in range(N)), "the upstream saw every GET")


def log_lines():
    with open(log) as f:
        return f.read().splitlines()


check(wait_for(lambda: len(log_lines()) >= 2 * N), "the access log caught up")
records = []
torn = 0
for line in log_lines():
    try:
        records.append(json.loads(line))
    except ValueError:
        torn += 1
check(torn == 0 and len(records) == 2 * N,
      f"one whole JSON line per request from every loop ({len(records)} lines, {torn} torn)")
check(sum(r["method"] == "CONNECT" for r in records) == N
      and sum(r["method"] == "GET" for r in records) == N, "N CONNECT and N GET lines")
px.stop()

# --max-connections is one count for all loops.
capped = Proxy("--allow-cidr", "127.0.0.0/8", *ports, "--threads", "4",
               "--max-connections", "5")
held = []
for _ in range(5):
    s, head = tunnel(capped, echo)
    held.append(s)
    check(status_of(head) == 200, "a tunnel under the cap is opened")
over = []
for _ in range(4):
    s, head = tunnel(capped, echo)
    over.append(status_of(head))
    s.close()
check(over == [503] * 4, f"past 5 at once, on any of 4 loops, the answer is 503 ({over})")
held.pop().close()


def reopened():
    s, head = tunnel(capped, echo)
    if status_of(head) == 200:
        held.append(s)
        return True
    s.close()
    return False


check(wait_for(reopened), "a freed slot serves the next client")
for s in held:
    s.close()
capped.stop()

# SIGHUP reaches every loop: many new requests after the reload, all refused.
flt = os.path.join(d, "filter")
with open(flt, "w") as f:
    f.write("^127\\.0\\.0\\.1$\n")
hup = Proxy("--allow-cidr", "127.0.0.0/8", *ports, "--threads", "3", "--filter", flt)
s, head = tunnel(hup, echo)
check(status_of(head) == 200, "the filter allows 127.0.0.1 before the reload")
s.close()
with open(flt, "w") as f:
    f.write("^elsewhere\\.example$\n")
hup.proc.send_signal(signal.SIGHUP)
check(wait_for(lambda: "reloaded" in hup.errors()), "SIGHUP reload announced")
check(hup.errors().count("reloaded") == 1, "one reload, not one per loop")
statuses = []
for _ in range(30):
    s, head = tunnel(hup, echo)
    statuses.append(status_of(head))
    s.close()
check(statuses == [403] * 30, f"30 new tunnels after the reload, on every loop, refused "
      f"({sorted(set(statuses))})")
hup.stop()

# A Unix listener with 3 loops: one stop line, exit 0, the file removed.
sock = os.path.join(d, "proxy.sock")
r, w = os.pipe()
p = subprocess.Popen([PROXY, "--listen", f"unix:{sock}", "--threads", "3", "--ready-fd", str(w)],
                     pass_fds=(w,), stderr=subprocess.PIPE, text=True)
os.close(w)
with os.fdopen(r) as ready:
    check(ready.readline() == "ready\n", "unix listener with 3 loops ready")
c = socket.socket(socket.AF_UNIX)
c.connect(sock)
c.close()
p.send_signal(signal.SIGTERM)
_, err = p.communicate(timeout=10)
check(p.returncode == 0 and err.count("stopping") == 1,
      f"SIGTERM: exit 0, one stopping line (exit {p.returncode}: {err.strip()!r})")
check(not os.path.exists(sock), "the socket file is removed")

# The default: a loop per CPU, at most 8.
auto = Proxy("--allow-cidr", "127.0.0.0/8")
want = min(len(os.sched_getaffinity(0)), 8)
check(tasks(auto.proc.pid) == want, f"by default a loop per CPU: {tasks(auto.proc.pid)} for {want}")
auto.stop()
one = Proxy("--threads", "1")
check(tasks(one.proc.pid) == 1, "--threads 1 runs one thread")
one.stop()

for arg in ["0", "65", "two"]:
    r = subprocess.run([PROXY, "--listen", "tcp:127.0.0.1:1", "--threads", arg],
                       capture_output=True, text=True)
    check(r.returncode == 2 and f"--threads {arg}" in r.stderr and "auto" in r.stderr,
          f"--threads {arg}: usage error naming it ({r.returncode}: {r.stderr.strip()})")

finish()
