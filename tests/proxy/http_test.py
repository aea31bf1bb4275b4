"""Forwarding absolute-form HTTP through the real proxy with curl and raw
sockets: bodies both ways, keep-alive, the rewrite, and the access log."""

import json
import os
import socket

from harness import Proxy, Upstream, check, curl, finish, raw, status_of, tmpdir

up = Upstream()
base = f"http://127.0.0.1:{up.port}"
d = tmpdir()
log = os.path.join(d, "access.log")
px = Proxy("--allow-cidr", "127.0.0.0/8", log=log)

# A plain GET with curl.
r = curl("-x", px.url, "-D", "-", f"{base}/hello")
out = r.stdout.decode()
check(r.returncode == 0 and "hello from upstream" in out, "curl GET through the proxy")
check("Via: 1.1 unsafe-cell" in out, "response carries Via")

# Keep-alive: two requests, one client connection, one upstream connection.
before = len(up.seen)
r = curl("-v", "-x", px.url, f"{base}/a", f"{base}/b")
check(r.returncode == 0 and b"Re-using existing connection" in r.stderr,
      "curl reuses its connection to the proxy")
ports = {s[3][1] for s in up.seen[before:]}
check(len(up.seen) - before == 2 and len(ports) == 1, "proxy reuses its upstream connection")

# Chunked download and chunked upload.
r = curl("-x", px.url, f"{base}/chunked")
want = "".join(f"part{i}-" * 100 for i in range(50)).encode()
check(r.stdout == want, "chunked response body arrives intact")
payload = os.path.join(d, "payload")
with open(payload, "wb") as f:
    f.write(bytes(range(256)) * 4000)
r = curl("-x", px.url, "-H", "Transfer-Encoding: chunked", "--data-binary", f"@{payload}",
         f"{base}/upload")
check(r.stdout == b"got 1024000 bytes, sum %d\n" % (sum(bytes(range(256)) * 4000) % 65536),
      "chunked request body arrives intact")
r = curl("-v", "-x", px.url, "-H", "Expect: 100-continue", "--data-binary", f"@{payload}",
         f"{base}/cl")
check(r.stdout.startswith(b"got 1024000 bytes"), "Content-Length body (with Expect: 100-continue)")
check(b"Expect: 100-continue" in r.stderr and b"HTTP/1.1 100 Continue" in r.stderr,
      "the server's 100 Continue is relayed to the client")

# The rewrite: Host from the URI, hop-by-hop fields gone, Via added.
resp = raw(px, (f"GET {base}/headers HTTP/1.1\r\nHost: 127.0.0.1:{up.port}\r\n"
                "Connection: close, X-Secret\r\nX-Secret: 1\r\nProxy-Connection: keep-alive\r\n"
                "Proxy-Authorization: Basic eDp5\r\nTE: trailers\r\nUpgrade: h2c\r\n"
                "X-Kept: yes\r\n\r\n").encode())
body = resp.split(b"\r\n\r\n", 1)[-1].decode().lower()
check(status_of(resp) == 200, "raw request with hop-by-hop fields is forwarded")
for gone in ["x-secret", "proxy-connection", "proxy-authorization", "'te'", "upgrade"]:
    check(gone not in body, f"hop-by-hop {gone} is stripped")
check("x-kept" in body and "1.1 unsafe-cell" in body, "end-to-end fields kept, Via added")
check(b"Connection: close" in resp, "client asked to close: told so")

# Pipelined requests on one connection are answered in order.
two = (f"GET {base}/p1 HTTP/1.1\r\nHost: 127.0.0.1:{up.port}\r\n\r\n"
       f"GET {base}/p2 HTTP/1.1\r\nHost: 127.0.0.1:{up.port}\r\nConnection: close\r\n\r\n")
resp = raw(px, two.encode())
check(resp.count(b"HTTP/1.1 200") == 2, "pipelined requests both answered")

# HTTP/1.0 client without keep-alive: answered and closed.
resp = raw(px, f"GET {base}/old HTTP/1.0\r\n\r\n".encode())
check(status_of(resp) == 200 and b"hello from upstream" in resp, "HTTP/1.0 client served")

# Unix listener: same service on a socket file.
sock = os.path.join(d, "proxy.sock")
px2 = Proxy("--allow-cidr", "127.0.0.0/8", "--listen", f"unix:{sock}")
with socket.socket(socket.AF_UNIX) as s:
    s.settimeout(10)
    s.connect(sock)
    s.sendall(f"GET {base}/u HTTP/1.1\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while chunk := s.recv(65536):
        data += chunk
check(status_of(data) == 200, "--listen unix: serves requests")
px2.stop()
check(not os.path.exists(sock), "unix socket file removed on SIGTERM")

# The access log: exactly the agreed keys on every line.
keys = {"time", "client", "method", "host", "port", "decision", "reason", "status", "bytes_up",
        "bytes_down", "duration_ms"}
px.stop()
lines = [json.loads(line) for line in open(log)]
check(len(lines) >= 8 and all(set(l) == keys for l in lines), "access log lines have exactly the keys")
check(any(l["method"] == "POST" and l["bytes_up"] > 1024000 and l["status"] == 200
          for l in lines), "access log counts upload bytes")
finish()
