"""Fault: the upstream sends part of its answer, then resets (SO_LINGER 0).

Through a CONNECT tunnel, through plain HTTP forwarding (in the body and in
the middle of the response head) and through relay: the client gets the
bytes sent before the reset and then the end of its connection (never a
hang: a keep-alive client must not be left waiting for the rest of a
Content-Length), the access log names the reset, and the proxy / relay
stays up and serves the next request."""

import json
import os
import socket
import time

from faultlib import (Proxy, ResetServer, Upstream, check, figure, finish, get_via, proxy_connect,
                      read_until_end, status_of, tunnel_get)
import harness
import relaytest

ROUNDS = 3
BODY = b"x" * 3000
PARTIAL = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + BODY
HALF_HEAD = b"HTTP/1.1 200 OK\r\nContent-Le"

d = harness.tmpdir()
log = os.path.join(d, "access.log")
up = Upstream()
rst = ResetServer(default=PARTIAL)
half = ResetServer(default=HALF_HEAD)
ports = [a for p in (rst.port, half.port, up.port) for a in ("--connect-port", str(p))]
px = Proxy("--allow-cidr", "127.0.0.0/8", *ports, "--idle-timeout", "60", log=log)

# CONNECT: the pump meets ECONNRESET reading upstream and closes both sides.
for i in range(ROUNDS):
    s, head = proxy_connect(px, f"127.0.0.1:{rst.port}")
    with s:
        check(status_of(head) == 200, f"CONNECT #{i}: tunnel established")
        s.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        started = time.monotonic()
        data, how = read_until_end(s, timeout=5)
        took = time.monotonic() - started
    figure(f"CONNECT #{i}: {len(data)} of {len(PARTIAL)} bytes, then {how} after {took:.2f}s")
    check(data == PARTIAL, f"CONNECT #{i}: the bytes sent before the reset arrive intact")
    check(how != "hang", f"CONNECT #{i}: the client sees its connection end ({how})")
check(px.proc.poll() is None, "proxy still running after tunnel resets")

# Plain HTTP, reset in the body. The client asks for keep-alive: a proxy that
# kept its connection open would leave it waiting for 97000 more bytes.
for i in range(ROUNDS):
    with px.connect() as s:
        s.sendall(f"GET http://127.0.0.1:{rst.port}/big HTTP/1.1\r\n"
                  f"Host: 127.0.0.1:{rst.port}\r\n\r\n".encode())
        data, how = read_until_end(s, timeout=5)
    head, _, body = data.partition(b"\r\n\r\n")
    figure(f"HTTP body reset #{i}: {len(body)} body bytes, then {how}")
    check(status_of(head) == 200 and body == BODY,
          f"HTTP #{i}: head and the partial body are passed on ({status_of(head)}, {len(body)})")
    check(how != "hang", f"HTTP #{i}: the client sees its connection end ({how})")

# Plain HTTP, reset inside the response head: nothing was sent yet, so 502.
for i in range(ROUNDS):
    with px.connect() as s:
        s.sendall(f"GET http://127.0.0.1:{half.port}/ HTTP/1.1\r\n"
                  f"Host: 127.0.0.1:{half.port}\r\n\r\n".encode())
        data, how = read_until_end(s, timeout=5)
    check(status_of(data) == 502 and b"connection_terminated" in data,
          f"HTTP head reset #{i}: answered 502 connection_terminated ({data[:40]!r})")
    check(how != "hang", f"HTTP head reset #{i}: the client sees its connection end ({how})")

check(px.proc.poll() is None, "proxy still running after forwarding resets")
status, body = get_via(px, f"http://127.0.0.1:{up.port}/hello")
check(status == 200 and body == b"hello from upstream\n", "the next plain request is served")
check(tunnel_get(px, up.port) == b"hello from upstream\n", "the next CONNECT tunnel is served")

records = [json.loads(line) for line in open(log)]
tunnels = [r for r in records if r["method"] == "CONNECT" and r["port"] == rst.port]
gets = [r for r in records if r["method"] == "GET" and r["port"] == rst.port]
heads = [r for r in records if r["port"] == half.port]
check(len(tunnels) == ROUNDS and all("reset" in r["reason"].lower() for r in tunnels),
      f"access log: each tunnel's reset is recorded ({[r['reason'] for r in tunnels][:1]})")
check(len(gets) == ROUNDS and all(r["status"] == 200 and "reset" in r["reason"].lower()
                                  for r in gets),
      f"access log: each truncated response is recorded ({[r['reason'] for r in gets][:1]})")
check(len(heads) == ROUNDS and all(r["status"] == 502 for r in heads),
      "access log: the 502s are recorded")
check(all(r["bytes_down"] >= len(BODY) for r in tunnels + gets),
      "access log: bytes passed before the reset are counted")

# relay: the same pump, its own accept loop and log; with and without its
# idle watchdog (the pump races the two directions against it).
for extra in ([], ["--idle-timeout", "60"]):
    name = " ".join(["relay"] + extra)
    rrst = ResetServer(plan=[PARTIAL] * ROUNDS, default=None)
    lport = relaytest.free_port()
    errf = open(os.path.join(d, f"relay{len(extra)}.err"), "w+")
    relay = relaytest.start_relay(f"tcp:127.0.0.1:{lport}", f"tcp:127.0.0.1:{rrst.port}", *extra,
                                  stderr=errf)
    for i in range(ROUNDS):
        with socket.create_connection(("127.0.0.1", lport), timeout=5) as s:
            s.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
            data, how = read_until_end(s, timeout=5)
        figure(f"{name} #{i}: {len(data)} of {len(PARTIAL)} bytes, then {how}")
        check(data == PARTIAL, f"{name} #{i}: the bytes sent before the reset arrive intact")
        check(how != "hang", f"{name} #{i}: the client sees its connection end ({how})")
    check(relay.poll() is None, f"{name}: still running after upstream resets")
    with socket.create_connection(("127.0.0.1", lport), timeout=5) as s:
        s.sendall(b"ping\r\n\r\n")
        s.shutdown(socket.SHUT_WR)
        data, how = read_until_end(s, timeout=5)
    check(data == b"ping\r\n\r\n" and how == "eof",
          f"{name}: serves the next connection ({data!r})")
    relaytest.stop(relay)
    errf.seek(0)
    err = errf.read()
    check(err.lower().count("reset") == ROUNDS,
          f"{name}: reports each reset on stderr ({err.strip()[:60]!r})")
finish()
