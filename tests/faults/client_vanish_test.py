"""Fault: the client vanishes mid-request (half a head, half a body, half a
TLS ClientHello in a fresh tunnel, or in the middle of a tunnel), by closing
(FIN) or resetting (RST).

The proxy must free each session at once: its descriptor count in
/proc/PID/fd goes back to the baseline within a few seconds. The head and
idle timeouts are set to 20 s, so a session that missed the client's
departure would still hold its descriptors when we look. The upstream end
(a sink that never answers) must see its connections closed too. Then the
proxy must still serve."""

import struct
import time

from faultlib import (Proxy, Sink, Upstream, check, fd_count, figure, finish, get_via,
                      proxy_connect, reset_close, settle_fds, stable_fds, status_of, tunnel_get,
                      wait_for)

N = 10  # clients per case, all open at once

up = Upstream()
sink = Sink()
px = Proxy("--allow-cidr", "127.0.0.0/8", "--connect-port", str(up.port), "--connect-port",
           str(sink.port), "--head-timeout", "20", "--idle-timeout", "20")
pid = px.proc.pid
target = f"127.0.0.1:{sink.port}"
url = f"http://{target}"

# Warm up (one request each way), then take the baseline.
check(get_via(px, f"http://127.0.0.1:{up.port}/hello")[0] == 200, "warm-up request served")
check(tunnel_get(px, up.port) == b"hello from upstream\n", "warm-up tunnel served")
baseline = stable_fds(pid)
figure(f"proxy descriptors at rest: {baseline}")


def half_head():
    return [f"GET {url}/hello HTTP/1.1\r\nHost: {target}\r\nUser-Ag".encode()]


def half_body():
    return [f"POST {url}/upload HTTP/1.1\r\nHost: {target}\r\nContent-Length: 100000\r\n\r\n"
            .encode() + b"b" * 5000]


def half_chunked():
    return [f"POST {url}/upload HTTP/1.1\r\nHost: {target}\r\nTransfer-Encoding: chunked\r\n\r\n"
            .encode() + b"1000\r\n" + b"c" * 2000]


def half_connect_head():
    return [f"CONNECT {target} HTTP/1.1\r\nHo".encode()]


# A TLS record header announcing 512 bytes of handshake, and 100 of them.
HALF_HELLO = struct.pack("!BHH", 22, 0x0301, 512) + b"\x01" + b"\x00" * 99

# (what, bytes to send (a function, or the tunnel's first bytes), in a
# tunnel, reaches the upstream)
cases = [
    ("half a request head", half_head, False, False),
    ("half a request body", half_body, False, True),
    ("half a chunked body", half_chunked, False, True),
    ("half a CONNECT head", half_connect_head, False, False),
    ("half a ClientHello in a tunnel", HALF_HELLO, True, True),
    ("an open tunnel (not TLS)", b"plain bytes\n", True, True),
]

for name, payload, tunnel, upstream in cases:
    for how in ("close", "reset"):
        socks = []
        for _ in range(N):
            if tunnel:
                s, head = proxy_connect(px, target)
                if status_of(head) != 200:
                    check(False, f"{name}: tunnel established ({head[:30]!r})")
                s.sendall(payload)
            else:
                s = px.connect()
                for part in payload():
                    s.sendall(part)
            socks.append(s)
        # Let the proxy read the bytes (and connect upstream, for bodies).
        if upstream:
            wait_for(lambda: sink.live == N)
        time.sleep(0.2)
        peak = fd_count(pid)
        reached = sink.live
        for s in socks:
            if how == "reset":
                reset_close(s)
            else:
                s.close()
        started = time.monotonic()
        after = settle_fds(pid, baseline, seconds=5)
        took = time.monotonic() - started
        figure(f"{name}, {how}: {peak} descriptors with {N} clients, {after} after "
               f"{took:.2f}s (baseline {baseline})")
        want = baseline + (2 * N if upstream else N)
        check(peak == want, f"{name}, {how}: the sessions were open ({peak} == {want})")
        check(reached == (N if upstream else 0), f"{name}, {how}: upstream reached ({reached})")
        check(after == baseline, f"{name}, {how}: every session freed ({after} == {baseline})")
        check(wait_for(lambda: sink.live == 0, 1),
              f"{name}, {how}: upstream ends closed ({sink.live})")
        check(px.proc.poll() is None, f"{name}, {how}: proxy still running")

status, body = get_via(px, f"http://127.0.0.1:{up.port}/hello")
check(status == 200 and body == b"hello from upstream\n", "the proxy serves the next request")
check(tunnel_get(px, up.port) == b"hello from upstream\n", "and the next tunnel")
check(stable_fds(pid) == baseline, "and is back at the baseline after them")
finish()
