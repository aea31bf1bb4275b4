#!/usr/bin/env python3
"""--threads N: N event loops accept from one listening socket. 300
connections at once through --threads 3, each with its own bytes both ways,
all get their own bytes back; the relay runs 3 threads; the connection log
has 300 distinct ids (each loop numbers its own residue) and one "stop" line,
the last; a bad --threads is a usage error naming it. The default (auto) runs a
loop per CPU of the affinity mask, at most 8. --max-connections is one cap
for all loops: with 4 loops and a cap of 2, the target never sees more
than 2 connections, waiting clients are held, and a slot freed on any loop
serves the next one.
"""
import json
import os
import socket
import subprocess
import threading
import time

from relaytest import RELAY, check, connect, recv_all, start_relay, stop, tmpdir

N = 300


def main():
    d = tmpdir()
    target = socket.socket(socket.AF_UNIX)
    target.bind(f"{d}/target")
    target.listen(1024)

    def echo_all():
        for _ in range(N):
            conn, _ = target.accept()
            threading.Thread(target=lambda c=conn: (c.sendall(recv_all(c)), c.close()),
                             daemon=True).start()

    threading.Thread(target=echo_all, daemon=True).start()
    log = f"{d}/conn.log"
    relay = start_relay(f"unix:{d}/relay", f"unix:{d}/target",
                        "--quiet", "--threads", "3", "--log", log)
    tasks = len(os.listdir(f"/proc/{relay.pid}/task"))
    check(tasks == 3, f"--threads 3 runs 3 threads ({tasks})")
    clients = [connect(f"{d}/relay") for _ in range(N)]
    for i, c in enumerate(clients):
        c.sendall(b"%06d" % i)
        c.shutdown(socket.SHUT_WR)
    bad = [i for i, c in enumerate(clients) if recv_all(c) != b"%06d" % i]
    check(not bad, f"all {N} clients got their own bytes back ({len(bad)} wrong)")
    for c in clients:
        c.close()
    stop(relay)
    events = [json.loads(line) for line in open(log)]
    opened = [e["id"] for e in events if e.get("event") == "open"]
    check(len(opened) == N and len(set(opened)) == N,
          f"{N} open lines with distinct ids ({len(opened)} lines, {len(set(opened))} ids)")
    stopped = [e for e in events if e.get("event") == "stop"]
    check(len(stopped) == 1 and events[-1]["event"] == "stop",
          f"one stop line, the last ({len(stopped)}; last: {events[-1]['event']})")

    bad = subprocess.run([RELAY, "--threads", "0", f"unix:{d}/x", f"unix:{d}/target"],
                         capture_output=True, text=True)
    check(bad.returncode == 2 and "--threads 0" in bad.stderr,
          f"--threads 0 is a usage error naming it (exit {bad.returncode}: {bad.stderr.strip()})")
    bad = subprocess.run([RELAY, "--threads", "many", f"unix:{d}/x", f"unix:{d}/target"],
                         capture_output=True, text=True)
    check(bad.returncode == 2 and "--threads many" in bad.stderr and "auto" in bad.stderr,
          f"--threads many is a usage error naming it and auto ({bad.stderr.strip()})")
    target.close()
    os.unlink(f"{d}/target")

    auto = min(len(os.sched_getaffinity(0)), 8)
    relay = start_relay(f"unix:{d}/relay", f"unix:{d}/target", "--quiet")
    tasks = len(os.listdir(f"/proc/{relay.pid}/task"))
    check(tasks == auto, f"by default a loop per CPU, at most 8: {tasks} threads, {auto} CPUs")
    stop(relay)
    relay = start_relay(f"unix:{d}/relay", f"unix:{d}/target", "--quiet", "--threads", "auto")
    tasks = len(os.listdir(f"/proc/{relay.pid}/task"))
    check(tasks == auto, f"--threads auto: {tasks} threads")
    stop(relay)

    capped(d)
    print("ok: threads")


def capped(d):
    """--threads 4 --max-connections 2: one cap across the loops."""
    target = socket.socket(socket.AF_UNIX)
    target.bind(f"{d}/target")
    target.listen(64)
    lock = threading.Lock()
    now = [0, 0]  # open now, most at once

    def serve(conn):
        with lock:
            now[0] += 1
            now[1] = max(now[1], now[0])
        data = recv_all(conn)  # until the client's half-close
        with lock:
            now[0] -= 1
        try:
            conn.sendall(data)
        except OSError:
            pass
        conn.close()

    def accept_all():
        while True:
            try:
                conn, _ = target.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept_all, daemon=True).start()
    relay = start_relay(f"unix:{d}/relay", f"unix:{d}/target", "--quiet",
                        "--threads", "4", "--max-connections", "2")
    holders = [connect(f"{d}/relay") for _ in range(2)]
    time.sleep(0.2)
    waiting = [connect(f"{d}/relay") for _ in range(4)]
    for i, c in enumerate(waiting):
        c.sendall(b"w%d" % i)
        c.shutdown(socket.SHUT_WR)
        c.settimeout(0.05)

    def answered():
        got = []
        for i, c in enumerate(waiting):
            try:
                if c.recv(1, socket.MSG_PEEK):
                    got.append(i)
            except (socket.timeout, BlockingIOError):
                pass
        return got

    time.sleep(0.3)
    check(answered() == [], "with 2 held open, 4 more clients are held (cap 2 over 4 loops)")
    # Each freed slot serves the waiting clients one after another; with the
    # holders open, only one slot turns over at a time.
    holders[0].close()
    deadline = time.monotonic() + 10
    while len(answered()) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    check(len(answered()) == 4, f"one freed slot serves all 4, in turn ({answered()})")
    with lock:
        most = now[1]
    check(most == 2, f"the target never saw more than 2 connections at once ({most})")
    for i, c in enumerate(waiting):
        c.settimeout(5)
        check(recv_all(c) == b"w%d" % i, f"waiting client {i} got its own bytes")
        c.close()
    holders[1].close()
    stop(relay)
    target.close()
    os.unlink(f"{d}/target")


if __name__ == "__main__":
    main()
