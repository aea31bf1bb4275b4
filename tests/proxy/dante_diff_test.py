"""SOCKS5 conformance against Debian's dante-server (issue 18): the same
clients through our --socks-listen and through danted, both configured to
allow the loopback upstream, must give the same results: curl with
--socks5-hostname (names sent to the proxy) and --socks5 (curl resolves),
a raw RFC 1928 client with IPv4 and domain address types, and cell-connect
(the cell's ssh ProxyCommand) with a request on its stdin. Skipped without
danted or without root (dante needs a privileged user to start)."""

import atexit
import os
import shutil
import socket
import struct
import subprocess
import sys
import time

from harness import PROXY, Proxy, Upstream, check, curl, finish, free_port, spawn, tmpdir

if shutil.which("danted") is None or os.geteuid() != 0:
    print("1..0 # SKIP needs danted (dante-server) and root")
    sys.exit(77)

up = Upstream()
P = up.port
d = tmpdir()
os.chmod(d, 0o755)
ours_port = free_port()
ours = Proxy("--socks-listen", f"tcp:127.0.0.1:{ours_port}", "--allow-cidr", "127.0.0.0/8",
             "--connect-port", str(P))
dante_port = free_port()
conf = os.path.join(d, "danted.conf")
with open(conf, "w") as f:
    f.write(f"""logoutput: {d}/danted.log
internal: 127.0.0.1 port = {dante_port}
external: 127.0.0.1
clientmethod: none
socksmethod: none
user.privileged: root
user.unprivileged: nobody
client pass {{ from: 127.0.0.0/8 to: 0.0.0.0/0 }}
socks pass {{ from: 127.0.0.0/8 to: 127.0.0.0/8 command: connect }}
""")
spawn(["danted", "-f", conf, "-p", os.path.join(d, "danted.pid")])
# danted's mother process forks workers that outlive a plain terminate.
atexit.register(lambda: subprocess.run(["pkill", "-f", conf]))
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", dante_port), timeout=1).close()
        break
    except OSError:
        time.sleep(0.05)
servers = {"proxy": ours_port, "dante": dante_port}


def raw(port, atyp, addr):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"\x05\x01\x00")
        if s.recv(2) != b"\x05\x00":
            return "greeting refused"
        body = bytes([len(addr)]) + addr if atyp == 3 else addr
        s.sendall(bytes([5, 1, 0, atyp]) + body + struct.pack(">H", P))
        head = s.recv(4)
        if len(head) < 4 or head[1] != 0:
            return f"reply {head[1] if len(head) > 1 else None}"
        s.recv(6 if head[3] == 1 else 18)
        s.sendall(b"GET /same HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        out = b""
        while chunk := s.recv(65536):
            out += chunk
        return out.split(b"\r\n", 1)[0].decode()


def via_cell_connect(port):
    connect = os.path.join(os.path.dirname(PROXY), "cell-connect")
    r = subprocess.run([connect, f"127.0.0.1:{port}", "localhost", str(P)],
                       input=b"GET /cc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                       capture_output=True, timeout=20)
    return r.returncode, r.stdout.split(b"\r\n", 1)[0].decode()


clients = {
    "curl --socks5-hostname": lambda port: (lambda r: (r.returncode, r.stdout))(
        curl("--socks5-hostname", f"127.0.0.1:{port}", f"http://localhost:{P}/a")),
    "curl --socks5": lambda port: (lambda r: (r.returncode, r.stdout))(
        curl("--socks5", f"127.0.0.1:{port}", f"http://127.0.0.1:{P}/b")),
    "raw IPv4 address type": lambda port: raw(port, 1, socket.inet_aton("127.0.0.1")),
    "raw domain address type": lambda port: raw(port, 3, b"localhost"),
    "cell-connect (ssh's ProxyCommand in a cell)": via_cell_connect,
}
for name, client in clients.items():
    got = {server: client(port) for server, port in servers.items()}
    check(got["proxy"] == got["dante"] and any(w in str(got["proxy"]) for w in ("200 OK", "hello from upstream")),
          f"{name}: the same result through our SOCKS5 and dante ({got})")
ours.stop()
finish()
