"""CONNECT tunnels through the real proxy: curl over HTTPS to a local TLS
server (throwaway certificate), early bytes after the head, the SNI check,
the destination policy for loopback, idle timeout, SIGHUP reloads that keep
tunnels open, --check, lifeline and an unwritable log."""

import os
import signal
import socket
import ssl
import subprocess
import time

from harness import (PROXY, Proxy, check, curl, echo_server, finish, free_port, read_head, spawn,
                     status_of, stop, tmpdir, wait_for)

d = tmpdir()
cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                "-keyout", key, "-out", cert], check=True, capture_output=True)
tls_port = free_port()
tls = spawn(["openssl", "s_server", "-quiet", "-accept", f"127.0.0.1:{tls_port}", "-cert", cert,
             "-key", key, "-www"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


echo = echo_server()
wait_for(lambda: socket.socket().connect_ex(("127.0.0.1", tls_port)) == 0)
ports = ["--connect-port", str(tls_port), "--connect-port", str(echo)]
log = os.path.join(d, "access.log")
px = Proxy("--allow-cidr", "127.0.0.0/8", *ports, "--idle-timeout", "2", log=log)

r = curl("-x", px.url, "--cacert", cert, f"https://localhost:{tls_port}/")
check(r.returncode == 0 and b"s_server" in r.stdout, "curl https through a CONNECT tunnel")


def connect(proxy, target, extra=b""):
    s = proxy.connect()
    s.settimeout(5)
    s.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode() + extra)
    return s, read_head(s)


def recv_all(s):
    out = b""
    try:
        while chunk := s.recv(65536):
            out += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    return out


s, head = connect(px, f"localhost:{echo}", b"early bytes\n")
check(status_of(head) == 200 and head.startswith(b"HTTP/1.1 200 Connection established"),
      "CONNECT answered 200 Connection established")
check(s.recv(100) == b"early bytes\n", "bytes sent with the CONNECT head reach the target (non-TLS passes)")
s.sendall(b"more\n")
check(s.recv(100) == b"more\n", "tunnel carries bytes both ways")
s.shutdown(socket.SHUT_WR)
check(s.recv(100) == b"", "half-close propagates and the tunnel ends")
s.close()


def client_hello(name):
    ctx = ssl.create_default_context()
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=name)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


s, head = connect(px, f"localhost:{tls_port}")
s.sendall(client_hello("evil.example"))
check(status_of(head) == 200 and recv_all(s) == b"", "SNI differing from the CONNECT host: closed")
s, head = connect(px, f"localhost:{tls_port}")
s.sendall(client_hello("localhost"))
check(s.recv(5)[:1] == b"\x16", "SNI equal to the CONNECT host: the server answers")
s.close()

s, head = connect(px, f"localhost:{echo}")
s.sendall(b"x")
s.recv(1)
time.sleep(3)
check(recv_all(s) == b"", "idle tunnel closed after --idle-timeout")

s, head = connect(px, "localhost:22")
check(status_of(head) == 403 and b"--connect-port 22" in recv_all(s), "403 for a port outside --connect-port, naming the flag")

# Loopback is refused unless allowed on purpose.
plain = Proxy(*ports)
s, head = connect(plain, f"localhost:{tls_port}")
body = recv_all(s)
check(status_of(head) == 403 and b"destination_ip_prohibited" in head and b"127.0.0.1" in body
      and b"--allow-cidr" in body, "loopback destination refused by default, naming --allow-cidr")
plain.stop()

# SIGHUP: a broken filter keeps the old rules; a new one applies to new
# requests only; open tunnels stay up throughout.
flt = os.path.join(d, "filter")
with open(flt, "w") as f:
    f.write("^localhost$\n")
hup = Proxy("--allow-cidr", "127.0.0.0/8", *ports, "--filter", flt)
tunnel, head = connect(hup, f"localhost:{echo}")
with open(flt, "w") as f:
    f.write("^ok$\n\\(broken\n")
hup.proc.send_signal(signal.SIGHUP)
check(wait_for(lambda: f"{flt}:2" in hup.errors()), "broken filter on SIGHUP reported with FILE:LINE")
s, head = connect(hup, f"localhost:{echo}")
check(status_of(head) == 200, "old rules kept after a broken reload")
s.close()
with open(flt, "w") as f:
    f.write("^elsewhere\\.example$\n")
hup.proc.send_signal(signal.SIGHUP)
check(wait_for(lambda: "reloaded" in hup.errors()), "SIGHUP reload announced")
s, head = connect(hup, f"localhost:{echo}")
check(status_of(head) == 403, "new rules apply to new requests")
tunnel.sendall(b"still here\n")
check(tunnel.recv(100) == b"still here\n", "tunnel opened before the reload still works")
tunnel.close()
hup.stop()

# --check prints rules and warnings, fails with FILE:LINE.
with open(flt, "w") as f:
    f.write("# comment\ngithub\\.com\n^example\\.org$\n")
r = subprocess.run([PROXY, "--check", "--filter", flt, "--allow", "**.example.net"],
                   capture_output=True, text=True)
check(r.returncode == 0 and f"{flt}:2" in r.stdout and "warning" in r.stdout
      and "github.com.evil.net" in r.stdout and "**.example.net" in r.stdout,
      "--check lists compiled rules and warns about unanchored ones")
with open(flt, "w") as f:
    f.write("ok\n[broken\n")
r = subprocess.run([PROXY, "--check", "--filter", flt], capture_output=True, text=True)
check(r.returncode == 1 and r.stderr.startswith(f"proxy: {flt}:2:"), "--check fails with FILE:LINE")
r = subprocess.run([PROXY, "--check", "--allow", "*.com"], capture_output=True, text=True)
check(r.returncode != 0 and "--allow *.com" in r.stderr, "--allow *.com refused")
r = subprocess.run([PROXY, "--bogus"], capture_output=True, text=True)
check(r.returncode == 2 and r.stderr.startswith("proxy: ") and r.stderr.count("\n") == 1,
      "usage error: exit 2, one line")

# Lifeline: the proxy leaves when the launcher's pipe closes.
lr, lw = os.pipe()
life = spawn([PROXY, "--listen", f"tcp:127.0.0.1:{free_port()}", "--lifeline-fd", str(lr)],
             pass_fds=(lr,), stderr=subprocess.DEVNULL)
os.close(lr)
time.sleep(0.3)
os.close(lw)
check(wait_for(lambda: life.poll() is not None), "exits when the lifeline closes")

# An unwritable log does not stop the service; it is reported once.
nolog = Proxy("--allow-cidr", "127.0.0.0/8", *ports, log="/nonexistent/dir/access.log")
s, head = connect(nolog, f"localhost:{echo}")
check(status_of(head) == 200, "serves with an unwritable log")
s.close()
s, head = connect(nolog, f"localhost:{echo}")
s.close()
nolog.stop()
check(nolog.errors().count("--log /nonexistent/dir/access.log") == 1, "unwritable log reported once")
px.stop()
reasons = open(log).read()
check("sni_mismatch: evil.example" in reasons, "sni_mismatch logged")
stop(tls)
finish()
