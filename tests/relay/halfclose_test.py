#!/usr/bin/env python3
"""A client that half-closes and then waits longer than 0.5 s for its reply.

This is the nix client's pattern and any request/response protocol that
signals "request done" with shutdown(SHUT_WR). socat -t0.5 (its default)
closes the connection 0.5 s after the client's EOF and the reply is lost;
relay keeps the other direction open until the server finishes. The test
runs both so it shows the difference, not just relay's behaviour.
"""
import os
import socket
import time

from relaytest import UnixServer, check, connect, recv_all, spawn, start_relay, stop, tmpdir, wait_connectable

REPLY = bytes(range(256)) * 4096  # 1 MiB
DELAY = 1.2


def slow_server(conn):
    request = recv_all(conn)  # until the client's half-close
    time.sleep(DELAY)
    conn.sendall(b"%d:" % len(request) + REPLY)
    conn.shutdown(socket.SHUT_WR)


def ask(path):
    s = connect(path)
    s.sendall(b"x" * 1000)
    s.shutdown(socket.SHUT_WR)
    started = time.monotonic()
    reply = recv_all(s)
    s.close()
    return reply, time.monotonic() - started


def main():
    d = tmpdir()
    UnixServer(f"{d}/target", slow_server)

    relay = start_relay(f"unix:{d}/relay", f"unix:{d}/target", "--quiet")
    reply, took = ask(f"{d}/relay")
    check(reply == b"1000:" + REPLY, f"relay delivers the full 1 MiB reply after {took:.1f}s")
    check(took >= DELAY, "the reply really came after the client's half-close")
    stop(relay)

    socat = spawn(["socat", "-t0.5", f"UNIX-LISTEN:{d}/socat,fork", f"UNIX-CONNECT:{d}/target"])
    check(wait_connectable(f"{d}/socat"), "socat is listening")
    time.sleep(0.2)  # let socat's probe child from wait_connectable finish
    reply, took = ask(f"{d}/socat")
    check(len(reply) < len(REPLY), f"socat -t0.5 truncates the reply ({len(reply)} bytes, {took:.1f}s)")
    stop(socat)


if __name__ == "__main__":
    main()
