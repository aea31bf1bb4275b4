#!/usr/bin/env python3
"""--threads N: N event loops accept from one listening socket. 300
connections at once through --threads 3, each with its own bytes both ways,
all get their own bytes back; the relay runs 3 threads; the connection log
has 300 distinct ids (each loop numbers its own residue) and one "stop"
line; a bad --threads is a usage error naming it.
"""
import json
import os
import socket
import subprocess
import threading

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
    check(len(stopped) == 1, f"one stop line ({len(stopped)})")

    bad = subprocess.run([RELAY, "--threads", "0", f"unix:{d}/x", f"unix:{d}/target"],
                         capture_output=True, text=True)
    check(bad.returncode == 2 and "--threads 0" in bad.stderr,
          f"--threads 0 is a usage error naming it (exit {bad.returncode}: {bad.stderr.strip()})")
    print("ok: threads")


if __name__ == "__main__":
    main()
