#!/usr/bin/env python3
"""Idle-tunnel holder for bench/proxy.sh, on 127.0.0.1 (bulk transfer is
proxy_blast.cpp's job: Python would be the bottleneck there):
  idle PROXYPORT PORT N    open N CONNECT tunnels to a discard sink, send one byte
                           through each (so each is an established tunnel, past
                           any first-bytes inspection), print 'open', hold until
                           stdin closes
"""
import socket
import sys


def tunnel(proxy_port, port):
    s = socket.create_connection(("127.0.0.1", proxy_port))
    s.sendall(f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            raise SystemExit(f"proxy closed the CONNECT: {head!r}")
        head += chunk
    if not head.startswith(b"HTTP/1.") or b" 200 " not in head.split(b"\r\n")[0]:
        raise SystemExit(f"CONNECT refused: {head!r}")
    return s


def idle(proxy_port, port, n):
    held = [tunnel(proxy_port, port) for _ in range(n)]
    for s in held:
        s.sendall(b"x")
    print("open", flush=True)
    sys.stdin.read()
    for s in held:
        s.close()


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    if cmd == "idle":
        idle(int(args[0]), int(args[1]), int(args[2]))
