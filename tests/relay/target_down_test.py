#!/usr/bin/env python3
"""A target that is down: each client is closed at once, the reason is
logged (stderr and --log JSON), and relay keeps serving; once the target is
up the next client gets through. Runs over TCP on IPv4 and IPv6 loopback too.
"""
import json
import os
import socket
import time

from relaytest import UnixServer, check, connect, free_port, recv_all, start_relay, stop, tmpdir


def echo(conn):
    conn.sendall(recv_all(conn))


def roundtrip(sock, data=b"hello"):
    """The reply; b"" when relay closed the client (a reset counts: relay
    closes without reading what the client sent; so does ENOTCONN when it
    closed before our shutdown)."""
    try:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        return recv_all(sock)
    except OSError:
        return b""


def main():
    d = tmpdir()
    log = f"{d}/relay.log"
    port = free_port()
    relay = start_relay(f"tcp:127.0.0.1:{port}", f"unix:{d}/target", "--log", log,
                        stderr=open(f"{d}/stderr", "w"))
    for _ in range(3):
        started = time.monotonic()
        got = roundtrip(connect(port))
        took = time.monotonic() - started
        check(got == b"" and took < 0.5, f"target down: the client is closed at once ({took:.3f}s)")
    check(relay.poll() is None, "relay is still running")

    server = UnixServer(f"{d}/target", echo)
    check(roundtrip(connect(port)) == b"hello", "target up: the next client gets through")
    status = stop(relay)

    events = [json.loads(line) for line in open(log)]
    closes = [e for e in events if e["event"] == "close"]
    check(len(closes) == 4, f"4 close events logged ({len(closes)})")
    # By error, not by position: with an event loop per core, a loop may log
    # a close after the client has already been served by another.
    failed = [e for e in closes if e["error"]]
    good = [e for e in closes if not e["error"]]
    check(len(failed) == 3 and all(f"connect unix:{d}/target" in e["error"] for e in failed),
          f"failed connects name the target: {failed[0]['error']}")
    check(len(good) == 1 and good[0]["bytes_to_target"] == 5 and good[0]["bytes_to_client"] == 5,
          f"the good one logs bytes each way: {good}")
    stderr = open(f"{d}/stderr").read()
    check(events[-1]["event"] == "stop" and "SIGTERM" in events[-1]["reason"],
          f"stop is logged last: {events[-1]} (exit status {status}; stderr: {stderr!r})")
    check(stderr.count("No such file or directory") == 3, f"stderr says why: {stderr.splitlines()[0]}")
    server.close()

    # IPv6 loopback both ways, and a TCP target that refuses.
    srv = socket.socket(socket.AF_INET6)
    srv.bind(("::1", 0))
    srv.listen()
    target6 = srv.getsockname()[1]
    port6 = free_port("::1")
    relay = start_relay(f"tcp:[::1]:{port6}", f"tcp:[::1]:{target6}", "--quiet")
    c = socket.create_connection(("::1", port6))
    peer, _ = srv.accept()
    c.sendall(b"v6")
    c.shutdown(socket.SHUT_WR)
    check(recv_all(peer) == b"v6", "IPv6 listen and connect work")
    peer.close()
    srv.close()
    c2 = socket.create_connection(("::1", port6))
    check(recv_all(c2) == b"", "a refused TCP target closes the client")
    stop(relay)


if __name__ == "__main__":
    main()
