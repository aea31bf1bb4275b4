#!/usr/bin/env python3
"""relay to a Unix target whose listen backlog is full (nix-daemon listens
with a backlog of 5 and forks per connection, so a burst of clients fills it).

A non-blocking connect to such a socket fails at once with EAGAIN; relay used
to take that for success (Asio reads it as "in progress", then SO_ERROR 0)
and dropped the client with "pump: Invalid argument". A blocking client
would have waited for room, so relay must too: every client's bytes must
reach the target once it starts accepting, and every connection must close
without error in the log.
"""

import json
import socket
import time

from loadlib import SCALE, check, finish, scaled, start_relay, tmpdir, wait_for

N = scaled(40, minimum=10)
d = tmpdir()
target = socket.socket(socket.AF_UNIX)
target.bind(f"{d}/target")
target.listen(1)  # and nothing accepted yet: the backlog fills at once
log = f"{d}/relay.log"
relay = start_relay("--log", log, f"unix:{d}/relay", f"unix:{d}/target")

clients = []
for i in range(N):
    c = socket.socket(socket.AF_UNIX)
    c.connect(f"{d}/relay")
    c.sendall(b"client %04d\n" % i)
    clients.append(c)
time.sleep(0.5)  # relay meets the full backlog, more than once per client

got = set()
target.settimeout(5)
try:
    while len(got) < N:
        conn, _ = target.accept()
        conn.settimeout(5)
        data = b""
        while not data.endswith(b"\n"):
            chunk = conn.recv(100)
            if not chunk:
                break
            data += chunk
        got.add(data)
        conn.sendall(data.upper())
        conn.close()
except OSError as e:
    print(f"accept/recv stopped: {e!r}")
check(got == {b"client %04d\n" % i for i in range(N)},
      f"all {N} clients reached the target after waiting for its backlog ({len(got)} did)")
answers = [c.recv(100) for c in clients]
check(all(a == b"CLIENT %04d\n" % i for i, a in enumerate(answers)),
      "every client got its own answer back")
for c in clients:
    c.close()


def closes():
    with open(log) as f:
        return [json.loads(x) for x in f if '"event":"close"' in x]


check(wait_for(lambda: len(closes()) >= N, 5), f"relay logged {len(closes())} of {N} closes")
bad = [x["error"] for x in closes() if x["error"]]
check(not bad, f"no connection ended with an error ({bad[:3]})")
check(relay.poll() is None, "relay is still running")
relay.terminate()
check(relay.wait(10) == 0, "relay exits 0 on SIGTERM")
print(f"# scale {SCALE}, {N} clients")
finish()
