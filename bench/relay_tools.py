#!/usr/bin/env python3
"""Measuring tools for bench/relay.sh (one file, three subcommands).

  sink PORT_FILE                 accept TCP connections on 127.0.0.1, discard
                                 bytes, print the count and seconds of each
  push SOCKET BYTES              send BYTES (zeros, 1 MiB writes) to a Unix socket
                                 and wait for the sink's EOF; print MB/s
  idle TARGET_SOCKET RELAY_SOCKET N PIDS_CMD
                                 open N connections through a relay, hold them,
                                 print the summed RSS (KiB) of the processes
                                 whose pids PIDS_CMD prints
"""
import os
import socket
import subprocess
import sys
import threading
import time

CHUNK = 1 << 20


def sink(port_file):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(srv.getsockname()[1]))
    os.rename(port_file + ".tmp", port_file)
    buf = bytearray(CHUNK)
    while True:
        conn, _ = srv.accept()
        total = 0
        while n := conn.recv_into(buf):
            total += n
        conn.close()


def push(path, nbytes):
    data = bytes(CHUNK)
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    started = time.monotonic()
    sent = 0
    while sent < nbytes:
        s.sendall(data)
        sent += len(data)
    s.shutdown(socket.SHUT_WR)
    s.recv(1)  # EOF arrives once the sink has read everything and closed
    took = time.monotonic() - started
    print(f"{sent / took / 1e6:.0f}")


def rss_kib(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def idle(target, relay_path, n, pids_cmd):
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(target)
    srv.listen(4096)
    peers = []
    threading.Thread(target=lambda: [peers.append(srv.accept()[0]) for _ in range(n)],
                     daemon=True).start()
    clients = []
    for _ in range(n):
        c = socket.socket(socket.AF_UNIX)
        c.connect(relay_path)
        clients.append(c)
    deadline = time.monotonic() + 30
    while len(peers) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # let forked handlers (socat) settle
    pids = subprocess.run(["sh", "-c", pids_cmd], capture_output=True, text=True).stdout.split()
    print(sum(rss_kib(p) for p in pids), len(pids), len(peers))
    for c in clients + peers:
        c.close()
    srv.close()
    os.unlink(target)


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    if cmd == "sink":
        sink(args[0])
    elif cmd == "push":
        push(args[0], int(args[1]))
    elif cmd == "idle":
        idle(args[0], args[1], int(args[2]), args[3])
    else:
        sys.exit(f"relay_tools.py: unknown subcommand {cmd}")
