"""Every status the proxy generates itself, each with a Proxy-Status field:
400 403 408 431 501 502 503 504, plus the slowloris and connection-cap
behaviour behind 408 and 503."""

import json
import os
import socket
import time

from harness import Proxy, Upstream, check, finish, free_port, raw, status_of, tmpdir

up = Upstream()
base = f"http://127.0.0.1:{up.port}"
d = tmpdir()
log = os.path.join(d, "access.log")
px = Proxy("--allow-cidr", "127.0.0.0/8", "--allow", "127.0.0.1", "--head-timeout", "1",
           "--connect-timeout", "1", log=log)


def expect(status, request, what, error_type=None):
    resp = raw(px, request)
    ok = status_of(resp) == status and b"\r\nProxy-Status: unsafe-cell; error=" in resp
    if error_type:
        ok = ok and f"error={error_type};".encode() in resp
    check(ok, f"{status} {what}")
    return resp


host = f"Host: 127.0.0.1:{up.port}\r\n"
expect(400, b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n", "origin-form explains it is a proxy")
expect(400, f"POST {base}/ HTTP/1.1\r\n{host}Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n".encode(), "CL and TE together")
expect(400, f"POST {base}/ HTTP/1.1\r\n{host}Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc".encode(), "duplicate Content-Length")
expect(400, f"POST {base}/ HTTP/1.1\r\n{host}Content-Length: 3\r\nContent-Length: 4\r\n\r\nabc".encode(), "conflicting Content-Length")
expect(400, f"POST {base}/ HTTP/1.1\r\n{host}Transfer-Encoding: gzip\r\n\r\n".encode(), "TE not ending in chunked")
expect(400, f"POST {base}/ HTTP/1.1\r\n{host}Transfer-Encoding: chunked\r\n\r\nzz\r\n".encode(), "malformed chunk size")
expect(400, b"GET http://a b/ HTTP/1.1\r\n\r\n", "malformed request line")
expect(400, b"CONNECT 127.0.0.1 HTTP/1.1\r\n\r\n", "CONNECT without a port")
expect(501, f"BREW {base}/ HTTP/1.1\r\n\r\n".encode(), "unknown method")
expect(431, f"GET {base}/ HTTP/1.1\r\nX: {'a' * 70000}\r\n\r\n".encode(), "head over 64 KiB")

resp = expect(403, b"GET http://denied.example/ HTTP/1.1\r\nHost: denied.example\r\n\r\n",
              "host outside the allowlist", "http_request_denied")
body = resp.split(b"\r\n\r\n", 1)[1].decode()
check("denied.example" in body and "deliberate" in body and "--allow denied.example" in body,
      "403 body names the host, says it is deliberate and how to allow it")

closed = free_port()
expect(502, f"GET http://127.0.0.1:{closed}/ HTTP/1.1\r\n\r\n".encode(), "connection refused",
       "connection_refused")
px_dns = Proxy("--head-timeout", "2")
resp = raw(px_dns, b"GET http://no-such-host.invalid/ HTTP/1.1\r\n\r\n")
check(status_of(resp) == 502 and b"error=dns_error" in resp, "502 DNS failure")
px_dns.stop()

# 504: a listener whose accept queue is full drops SYNs, so connect hangs.
full = socket.socket()
full.bind(("127.0.0.1", 0))
full.listen(0)
filler = []
for _ in range(3):  # non-blocking: once the queue is full their SYNs are dropped too
    f = socket.socket()
    f.setblocking(False)
    f.connect_ex(full.getsockname())
    filler.append(f)
time.sleep(0.2)
t0 = time.time()
expect(504, f"GET http://127.0.0.1:{full.getsockname()[1]}/ HTTP/1.1\r\n\r\n".encode(),
       "connect timeout", "connection_timeout")
check(time.time() - t0 < 5, "504 comes after --connect-timeout, not the OS timeout")

# 408 slowloris: a head dribbled one byte at a time never completes.
with px.connect() as s:
    s.settimeout(5)
    t0 = time.time()
    answer = b""
    try:
        for c in f"GET {base}/ HTTP/1.1\r\nX-Slow: ".encode() + b"a" * 50:
            s.send(bytes([c]))
            time.sleep(0.1)
            if time.time() - t0 > 4:
                break
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        while chunk := s.recv(4096):
            answer += chunk
    except (ConnectionResetError, socket.timeout):
        pass
check(status_of(answer) == 408 and time.time() - t0 < 3, "408 for a slowloris head within the head timeout")

# The same on a kept-alive connection, after a request that was answered:
# the head deadline must apply to the second head too.
with px.connect() as s:
    s.settimeout(5)
    s.sendall(f"GET {base}/first HTTP/1.1\r\n{host}\r\n".encode())
    # The whole first response (head and body may arrive apart), so that
    # what follows is the answer to the second head alone.
    first = s.recv(65536)
    while b"\r\n\r\n" in first and len(first.split(b"\r\n\r\n", 1)[1]) < int(
            first.split(b"Content-Length: ", 1)[1].split(b"\r\n", 1)[0]):
        first += s.recv(65536)
    t0 = time.time()
    answer = b""
    try:
        for c in f"GET {base}/ HTTP/1.1\r\nX-Slow: ".encode() + b"a" * 50:
            s.send(bytes([c]))
            time.sleep(0.1)
            if time.time() - t0 > 4:
                break
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        while chunk := s.recv(4096):
            answer += chunk
    except (ConnectionResetError, socket.timeout):
        pass
check(status_of(first) == 200 and status_of(answer) == 408 and time.time() - t0 < 3,
      "408 for a slowloris second head on a keep-alive connection")

# An idle connection that never sends a byte is closed silently.
with px.connect() as s:
    s.settimeout(5)
    t0 = time.time()
    data = s.recv(100)
    check(data == b"" and time.time() - t0 < 3, "silent idle client closed after the head timeout")

# 503: past --max-connections an answer comes at once, never a stall.
px_cap = Proxy("--max-connections", "2", "--head-timeout", "5")
held = [px_cap.connect() for _ in range(2)]
time.sleep(0.2)
t0 = time.time()
resp = raw(px_cap, b"", timeout=3)
check(status_of(resp) == 503 and b"error=connection_limit_reached" in resp and time.time() - t0 < 1,
      "503 past --max-connections")
for s in held:
    s.close()
time.sleep(0.3)
resp = raw(px_cap, b"GET http://x.example/ HTTP/1.1\r\n\r\n" , timeout=3)
check(status_of(resp) != 503, "slots free again once clients leave")
px_cap.stop()

px.stop()
lines = [json.loads(l) for l in open(log)]
statuses = {l["status"] for l in lines}
check({400, 403, 408, 431, 501, 502, 504} <= statuses, f"every refusal is logged (saw {sorted(statuses)})")
check(all(l["decision"] == "deny" for l in lines if l["status"] in (400, 403, 408, 431, 501)),
      "refusals are logged as deny")
finish()
