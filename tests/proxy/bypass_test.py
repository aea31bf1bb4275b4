"""The bypass corpus: spellings that try to reach something other than what
the policy allows. Every one must be refused (400, 403 or 431) and none may
reach the upstream server. A control request shows the allowed path works.
Names resolving to 127.0.0.1 and 169.254.169.254 come from a private
/etc/hosts given to the proxy with bwrap (no real DNS is touched)."""

import os
import shutil
import subprocess

import harness
from harness import Proxy, Upstream, check, finish, raw, status_of, tmpdir

up = Upstream()
P = up.port
d = tmpdir()
hosts = os.path.join(d, "hosts")
with open(hosts, "w") as f:
    f.write("127.0.0.1 localhost\n169.254.169.254 metadata.test\n127.0.0.1 rebind.test\n")
os.chmod(d, 0o755)

# The proxy runs with the private hosts file when bwrap can provide it.
real = harness.PROXY
have_bwrap = shutil.which("bwrap") and subprocess.run(
    ["bwrap", "--dev-bind", "/", "/", "--bind", hosts, "/etc/hosts", "true"],
    capture_output=True).returncode == 0
if have_bwrap:
    wrapper = os.path.join(d, "proxy-with-hosts")
    with open(wrapper, "w") as f:
        f.write(f'#!/bin/sh\nexec bwrap --dev-bind / / --bind {hosts} /etc/hosts --die-with-parent {real} "$@"\n')
    os.chmod(wrapper, 0o755)
    harness.PROXY = wrapper

# A: only localhost (and **.example.com but never secret.example.com) allowed.
a = Proxy("--allow", "localhost", "--allow", "**.example.com", "--deny", "secret.example.com",
          "--allow-cidr", "127.0.0.0/8", "--connect-port", str(P))
# B: every domain allowed, default destination policy.
b = Proxy("--connect-port", str(P))

ok = raw(a, f"GET http://localhost:{P}/ HTTP/1.1\r\nConnection: close\r\n\r\n".encode())
check(status_of(ok) == 200, "control: the allowed host is reachable")
seen_before = len(up.seen)

corpus = [
    (a, f"GET http://localhost@evil.test:{P}/ HTTP/1.1\r\n\r\n", "userinfo allowed@evil"),
    (a, f"GET http://evil.test@localhost:{P}/ HTTP/1.1\r\n\r\n", "userinfo evil@allowed"),
    (a, f"GET http://localhost:{P}/ HTTP/1.1\r\nHost: evil.test\r\n\r\n", "Host header differs from URI"),
    (a, f"GET http://localhost:{P}/ HTTP/1.1\r\nHost: localhost:1\r\n\r\n", "Host header port differs"),
    (a, f"GET http://evil.test:{P}/ HTTP/1.1\r\nHost: localhost:{P}\r\n\r\n", "URI host denied, Host allowed"),
    (a, f"GET http://localhost:{P}/ HTTP/1.1\r\nHost: localhost:{P}\r\nHost: evil.test\r\n\r\n", "two Host headers"),
    (a, "GET http://SECRET.example.com/ HTTP/1.1\r\n\r\n", "upper-case denied host"),
    (a, "GET http://secret.example.com./ HTTP/1.1\r\n\r\n", "trailing-dot denied host"),
    (a, "GET http://Secret.Example.COM./ HTTP/1.1\r\n\r\n", "mixed case and trailing dot"),
    (a, "GET http://secret.example.com../ HTTP/1.1\r\n\r\n", "two trailing dots"),
    (a, "CONNECT SECRET.EXAMPLE.COM.:443 HTTP/1.1\r\n\r\n", "CONNECT case/dot variant of a denied host"),
    (a, f"GET http://127.0.0.1:{P}/ HTTP/1.1\r\n\r\n", "IPv4 literal of the allowed host"),
    (a, f"GET http://[::1]:{P}/ HTTP/1.1\r\n\r\n", "IPv6 literal"),
    (a, f"GET http://[::ffff:127.0.0.1]:{P}/ HTTP/1.1\r\n\r\n", "v4-mapped IPv6 literal"),
    (a, f"GET http://2130706433:{P}/ HTTP/1.1\r\n\r\n", "decimal IPv4"),
    (a, f"GET http://0x7f000001:{P}/ HTTP/1.1\r\n\r\n", "hex IPv4"),
    (a, f"GET http://0177.0.0.1:{P}/ HTTP/1.1\r\n\r\n", "octal IPv4"),
    (a, f"GET http://127.1:{P}/ HTTP/1.1\r\n\r\n", "short IPv4"),
    (a, f"CONNECT 2130706433:{P} HTTP/1.1\r\n\r\n", "CONNECT decimal IPv4"),
    (a, f"CONNECT [::1]:{P} HTTP/1.1\r\n\r\n", "CONNECT IPv6 literal"),
    (a, f"GET http://local%68ost:{P}/ HTTP/1.1\r\n\r\n", "percent-encoded host"),
    (a, f"CONNECT local%68ost:{P} HTTP/1.1\r\n\r\n", "CONNECT percent-encoded host"),
    (a, "CONNECT localhost HTTP/1.1\r\n\r\n", "CONNECT without a port"),
    (a, "CONNECT localhost: HTTP/1.1\r\n\r\n", "CONNECT with an empty port"),
    (a, f"GET http://localhost.evil.test:{P}/ HTTP/1.1\r\n\r\n", "allowed name as a prefix"),
    (a, f"GET http://evillocalhost:{P}/ HTTP/1.1\r\n\r\n", "allowed name as a suffix"),
    (a, "GET http://xn--lcalhost-0za:80/ HTTP/1.1\r\n\r\n", "punycode look-alike"),
    (a, "GET http://l\xf6calhost/ HTTP/1.1\r\n\r\n", "raw UTF-8 host"),
    (a, f"GET http://localhost:{P}/ HTTP/1.1\r\nX: {'a' * 70000}\r\n\r\n", "overlong head"),
    (a, f"GET http://localhost:{P}/{'a' * 70000} HTTP/1.1\r\n\r\n", "overlong request line"),
    (b, f"GET http://localhost:{P}/ HTTP/1.1\r\n\r\n", "name resolving to 127.0.0.1"),
    (b, f"CONNECT localhost:{P} HTTP/1.1\r\n\r\n", "CONNECT to a name resolving to 127.0.0.1"),
    (b, f"GET http://127.0.0.1:{P}/ HTTP/1.1\r\n\r\n", "loopback literal"),
    (b, f"GET http://[::ffff:127.0.0.1]:{P}/ HTTP/1.1\r\n\r\n", "v4-mapped loopback literal"),
    (b, "GET http://169.254.169.254/latest/meta-data/ HTTP/1.1\r\n\r\n", "cloud metadata literal"),
    (b, "GET http://[::ffff:169.254.169.254]/latest/ HTTP/1.1\r\n\r\n", "v4-mapped metadata literal"),
    (b, "GET http://2852039166/latest/ HTTP/1.1\r\n\r\n", "decimal metadata address"),
    (b, "GET http://0.0.0.0/ HTTP/1.1\r\n\r\n", "unspecified address"),
    (b, "GET http://10.0.0.1/ HTTP/1.1\r\n\r\n", "RFC 1918 address"),
    (b, "GET http://100.64.0.1/ HTTP/1.1\r\n\r\n", "CGNAT address"),
    (b, "GET http://[fd00::1]/ HTTP/1.1\r\n\r\n", "ULA address"),
    (b, "GET http://[fe80::1]/ HTTP/1.1\r\n\r\n", "IPv6 link-local"),
    (b, "GET http://224.0.0.1/ HTTP/1.1\r\n\r\n", "multicast"),
]
if have_bwrap:
    corpus += [
        (b, "GET http://metadata.test/latest/meta-data/ HTTP/1.1\r\n\r\n", "name resolving to 169.254.169.254"),
        (b, "CONNECT metadata.test:443 HTTP/1.1\r\n\r\n", "CONNECT to a name resolving to 169.254.169.254"),
        (b, f"GET http://rebind.test:{P}/ HTTP/1.1\r\n\r\n", "another name resolving to 127.0.0.1"),
    ]
else:
    print("skip names from a private /etc/hosts: bwrap unavailable")

for proxy, request, what in corpus:
    resp = raw(proxy, request.encode("latin-1"))
    check(status_of(resp) in (400, 403, 431), f"denied ({status_of(resp)}): {what}")

# C: --allow-private opens loopback and the LAN, never cloud metadata
# (issue 17), unless an --allow-cidr names the address itself.
c = Proxy("--allow-private", "--connect-port", str(P), "--connect-port", "443")
ok = raw(c, f"GET http://127.0.0.1:{P}/ HTTP/1.1\r\nConnection: close\r\n\r\n".encode())
check(status_of(ok) == 200, "control: --allow-private reaches loopback")
seen_before = len(up.seen)
for request in ("GET http://169.254.169.254/latest/meta-data/ HTTP/1.1\r\n\r\n",
                "CONNECT 169.254.169.254:443 HTTP/1.1\r\n\r\n",
                "GET http://[::ffff:169.254.169.254]/ HTTP/1.1\r\n\r\n",
                "GET http://[fd00:ec2::254]/ HTTP/1.1\r\n\r\n"):
    resp = raw(c, request.encode())
    check(status_of(resp) == 403 and b"cloud metadata" in resp,
          f"--allow-private still refuses metadata ({status_of(resp)}): {request.split()[1]} {resp[:300]!r}")
check(len(up.seen) == seen_before, "no bypass attempt reached the upstream server")
finish()
