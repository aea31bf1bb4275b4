"""SOCKS5 (issue 18): the real proxy's --socks-listen with curl and raw
bytes. Allowed names reach the upstream; refused ones get reply 0x02 ("not
allowed by ruleset") and are logged with method SOCKS5 in the same access
and refusal logs as HTTP; the HTTP CONNECT bypass spellings (IP literals in
every form, names of private addresses, a port not allowed) are refused the
same way; BIND, UDP ASSOCIATE, an unknown address type, truncated and
oversized greetings get their RFC answers (or a close) and never reach the
upstream; username/password auth is accepted and ignored."""

import json
import os
import socket
import struct

from harness import Proxy, Upstream, check, curl, finish, free_port, raw, tmpdir

up = Upstream()
P = up.port
d = tmpdir()
log = os.path.join(d, "access.log")
refusals = os.path.join(d, "refusals.jsonl")
sp = free_port()
a = Proxy("--socks-listen", f"tcp:127.0.0.1:{sp}", "--default-deny", "--allow", "localhost",
          "--allow-cidr", "127.0.0.0/8", "--connect-port", str(P), "--refusal-log", refusals,
          log=log)
# No --allow-cidr: loopback refused whatever the name.
bp = free_port()
b = Proxy("--socks-listen", f"tcp:127.0.0.1:{bp}", "--connect-port", str(P))


def socks_request(port, atyp, addr, dport, cmd=1, methods=b"\x00", auth=None):
    """Greeting, optional RFC 1929 auth, one request: returns (method, reply code, rest)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"\x05" + bytes([len(methods)]) + methods)
        choice = s.recv(2)
        if len(choice) < 2 or choice[1] == 0xFF:
            return (choice[1] if len(choice) == 2 else None), None, b""
        if choice[1] == 2:
            user, pw = auth or (b"u", b"p")
            s.sendall(b"\x01" + bytes([len(user)]) + user + bytes([len(pw)]) + pw)
            if s.recv(2) != b"\x01\x00":
                return 2, None, b""
        if atyp == 3:
            body = bytes([len(addr)]) + addr
        else:
            body = addr
        s.sendall(bytes([5, cmd, 0, atyp]) + body + struct.pack(">H", dport))
        head = s.recv(4)
        if len(head) < 2:
            return choice[1], None, b""
        rest = b""
        if head[1] == 0:
            s.recv(6 if head[3] == 1 else 18)
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                rest += chunk
        return choice[1], head[1], rest


# curl, socks5h (names sent to the proxy) and socks5 (curl resolves).
r = curl("--socks5-hostname", f"127.0.0.1:{sp}", f"http://localhost:{P}/")
check(r.returncode == 0 and b"GET /" in r.stdout or r.returncode == 0,
      f"curl --socks5-hostname reaches an allowed name (rc {r.returncode}, {r.stderr[:200]!r})")
r = curl("--socks5-hostname", f"127.0.0.1:{sp}", f"http://not-allowed.example:{P}/")
check(r.returncode == 97, f"curl --socks5-hostname to a refused name fails (rc {r.returncode})")
r = curl("--socks5-hostname", f"bob:secret@127.0.0.1:{sp}", f"http://localhost:{P}/")
check(r.returncode == 0, f"username/password auth is accepted (rc {r.returncode})")

method, code, body = socks_request(sp, 3, b"localhost", P)
check(code == 0 and b"200 OK" in body, f"raw: an allowed name is tunnelled (code {code})")
seen_before = len(up.seen)

loopback_spellings = [
    (1, socket.inet_aton("127.0.0.1"), "IPv4 address type"),
    (4, socket.inet_pton(socket.AF_INET6, "::1"), "IPv6 loopback"),
    (4, socket.inet_pton(socket.AF_INET6, "::ffff:127.0.0.1"), "v4-mapped IPv6"),
    (3, b"127.0.0.1", "IPv4 literal as a name"),
    (3, b"2130706433", "decimal IPv4 as a name"),
    (3, b"0x7f000001", "hex IPv4 as a name"),
    (3, b"0177.0.0.1", "octal IPv4 as a name"),
    (3, b"127.1", "short IPv4 as a name"),
    (3, b"[::1]", "bracketed IPv6 as a name"),
]
for atyp, addr, what in loopback_spellings:
    _, code, _ = socks_request(sp, atyp, addr, P)
    check(code == 2, f"policy A (only localhost): {what} refused with 0x02 (got {code})")
    _, code, _ = socks_request(bp, atyp, addr, P)
    check(code == 2, f"policy B (no --allow-cidr): {what} refused with 0x02 (got {code})")
_, code, _ = socks_request(bp, 3, b"localhost", P)
check(code == 2, f"policy B: a name resolving to loopback is refused (got {code})")
for addr, what in ((b"169.254.169.254", "metadata"), (b"10.0.0.1", "RFC 1918")):
    _, code, _ = socks_request(bp, 1, socket.inet_aton(addr.decode()), 80)
    check(code == 2, f"policy B: {what} address refused (got {code})")
_, code, _ = socks_request(sp, 3, b"localhost", 22)
check(code == 2, f"a port not allowed is refused (got {code})")
_, code, _ = socks_request(sp, 3, b"evil.test", P)
check(code == 2, f"a name not on the list is refused (got {code})")
_, code, _ = socks_request(sp, 3, b"localhost.evil.test", P)
check(code == 2, f"the allowed name as a prefix is refused (got {code})")
_, code, _ = socks_request(sp, 3, b"localhost", P, cmd=2)
check(code == 7, f"BIND: command not supported (got {code})")
_, code, _ = socks_request(sp, 3, b"localhost", P, cmd=3)
check(code == 7, f"UDP ASSOCIATE: command not supported (got {code})")
with socket.create_connection(("127.0.0.1", sp), timeout=10) as s:
    s.sendall(b"\x05\x01\x00")
    s.recv(2)
    s.sendall(b"\x05\x01\x00\x09\x01\x02")
    check(s.recv(2)[1:2] == b"\x08", "an unknown address type: 0x08")
method, code, _ = socks_request(sp, 3, b"localhost", P, methods=b"\x01")
check(method == 0xFF, f"only GSSAPI offered: no acceptable method (got {method})")
# A refused request ends the connection: no second request rides on it.
with socket.create_connection(("127.0.0.1", sp), timeout=10) as s:
    s.sendall(b"\x05\x01\x00")
    s.recv(2)
    s.sendall(b"\x05\x01\x00\x03\x08evil.test" + struct.pack(">H", P) +
              b"\x05\x01\x00\x03\x09localhost" + struct.pack(">H", P))
    answer = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        answer += chunk
    check(answer[:2] == b"\x05\x02" and len(answer) == 10,
          f"after a refusal the connection closes without a second reply ({answer!r})")
# Not SOCKS5, truncated, oversized: closed, no reply in kind, no hang.
for data, what in ((b"\x04\x01\x00\x50\x7f\x00\x00\x01\x00", "SOCKS4"),
                   (b"GET / HTTP/1.1\r\n\r\n", "HTTP on the SOCKS port"),
                   (b"\x05", "truncated greeting")):
    with socket.create_connection(("127.0.0.1", sp), timeout=15) as s:
        s.sendall(data)
        if what == "truncated greeting":
            s.shutdown(socket.SHUT_WR)
        check(s.recv(64) == b"", f"{what}: closed with no reply")
with socket.create_connection(("127.0.0.1", sp), timeout=10) as s:
    s.sendall(b"\x05\xff" + bytes(range(255)) + b"\x05\x01\x00\x03\xff" + b"a" * 255 + b"\x00\x50")
    reply = s.recv(4096)
    check(reply[:2] == b"\x05\x00", "a greeting with 255 methods is read")

check(len(up.seen) == seen_before, "no refused request reached the upstream server")

# A rule with a port (--allow HOST:PORT) opens that port for its host alone,
# on SOCKS and HTTP CONNECT alike, with no --connect-port.
cp = free_port()
c = Proxy("--socks-listen", f"tcp:127.0.0.1:{cp}", "--default-deny", "--allow", f"localhost:{P}",
          "--allow", "localhost.localdomain", "--allow-cidr", "127.0.0.0/8")
_, code, body = socks_request(cp, 3, b"localhost", P)
check(code == 0 and b"200 OK" in body, f"--allow localhost:{P}: SOCKS reaches it (code {code})")
r = curl("-p", "-x", c.url, f"http://localhost:{P}/")
check(r.returncode == 0, f"--allow localhost:{P}: HTTP CONNECT reaches it (rc {r.returncode})")
seen_before = len(up.seen)
_, code, _ = socks_request(cp, 3, b"localhost.localdomain", P)
check(code == 2, f"port {P} stays closed for a host allowed without it (got {code})")
answer = raw(c, f"CONNECT localhost.localdomain:{P} HTTP/1.1\r\n\r\n".encode())
check(answer.startswith(b"HTTP/1.1 403") and
      f"add --allow localhost.localdomain:{P} (this host only)".encode() in answer,
      f"... and HTTP CONNECT is refused, saying which rule to add ({answer[:300]!r})")
check(len(up.seen) == seen_before, "the refused port rule reached nothing")
c.stop()
a.stop()
b.stop()
records = [json.loads(line) for line in open(log)]
check(all(r["method"] == "SOCKS5" for r in records), "the access log names the protocol")
check(any(r["decision"] == "deny" and r["host"] == "evil.test" for r in records),
      "a refusal is in the access log")
check(any(r["decision"] == "allow" and r["status"] == 200 for r in records),
      "an allowed tunnel is in the access log")
denied = [json.loads(line) for line in open(refusals)]
check(any(r["host"] == "evil.test" and r["method"] == "SOCKS5" for r in denied),
      "a refusal is in the refusal log (what a cell's summary and CELL_REFUSALS read)")
finish()
