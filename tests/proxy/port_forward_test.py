"""--forward ENDPOINT=HOST:PORT (issue 18 item 3): a client that knows no
proxy connects to ENDPOINT and talks to exactly HOST:PORT, bytes both ways
with half-close; the destination meets the address policy (loopback needs
--allow-cidr) but not the domain policy (whoever started the proxy named
it); each connection is one FORWARD line in the access log, a refused one
in the refusal log too, and the client sees its connection closed. Bad
--forward values fail at start with exit 2 naming the flag."""

import json
import os
import socket
import socketserver
import subprocess
import threading

from harness import PROXY, Proxy, check, finish, free_port, tmpdir


class Echo(socketserver.BaseRequestHandler):
    """Echoes until the client half-closes, then says how much it got."""

    def handle(self):
        total = 0
        while True:
            data = self.request.recv(65536)
            if not data:
                break
            total += len(data)
            self.request.sendall(data)
        self.request.sendall(b"total %d\n" % total)


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


echo = Server(("127.0.0.1", 0), Echo)
threading.Thread(target=echo.serve_forever, daemon=True).start()
E = echo.server_address[1]

d = tmpdir()
log = os.path.join(d, "access.log")
refusals = os.path.join(d, "refusals.jsonl")
ok_port, no_port, name_port = free_port(), free_port(), free_port()
# Deny by default with no --allow: the forward still reaches its named
# destination, since the domain policy does not apply to it.
p = Proxy("--default-deny", "--allow-cidr", "127.0.0.0/8",
          "--forward", f"tcp:127.0.0.1:{ok_port}=127.0.0.1:{E}",
          "--forward", f"tcp:127.0.0.1:{name_port}=localhost:{E}",
          "--refusal-log", refusals, log=log)
q = Proxy("--forward", f"tcp:127.0.0.1:{no_port}=127.0.0.1:{E}")  # no --allow-cidr


def exchange(port, payload):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
        return out


payload = os.urandom(3 * 1024 * 1024)
got = exchange(ok_port, payload)
check(got == payload + b"total %d\n" % len(payload),
      f"3 MiB reach the destination and come back, then the half-close ({len(got)} bytes)")
got = exchange(name_port, b"hello")
check(got == b"hellototal 5\n", f"a named destination is resolved by the proxy ({got!r})")
try:
    got = exchange(no_port, b"hello")
except OSError:  # reset, or not connected any more by the time we half-close
    got = b"(reset)"
check(got in (b"", b"(reset)"), f"loopback without --allow-cidr: closed, nothing back ({got!r})")
p.stop()
q.stop()

records = [json.loads(line) for line in open(log)]
check(len(records) == 2 and all(r["method"] == "FORWARD" for r in records),
      f"one FORWARD line per connection ({[r['method'] for r in records]})")
big = [r for r in records if r["bytes_up"] == len(payload)]
check(len(big) == 1 and big[0]["bytes_down"] >= len(payload) and big[0]["host"] == "127.0.0.1"
      and big[0]["port"] == E and big[0]["decision"] == "allow",
      f"the access log counts the bytes and names the destination ({records})")
check(not os.path.exists(refusals) or os.path.getsize(refusals) == 0,
      "nothing refused on the allowed proxy")

# A refusal is logged where the cell's summary reads it.
r2 = os.path.join(d, "refusals2.jsonl")
fp = free_port()
z = Proxy("--forward", f"tcp:127.0.0.1:{fp}=127.0.0.1:{E}", "--refusal-log", r2)
try:
    exchange(fp, b"x")
except OSError:  # reset, or not connected any more by the time we half-close
    pass
z.stop()
denied = [json.loads(line) for line in open(r2)]
check(len(denied) == 1 and denied[0]["method"] == "FORWARD" and denied[0]["port"] == E
      and denied[0]["reason"].startswith("address:"),
      f"a refused forward is in the refusal log ({denied})")

for bad, says in ((f"tcp:127.0.0.1:{free_port()}", "not ENDPOINT=HOST:PORT"),
                  (f"tcp:127.0.0.1:{free_port()}=db", "--forward"),
                  (f"tcp:127.0.0.1:{free_port()}=db:0", "--forward"),
                  (f"tcp:127.0.0.1:{free_port()}=2130706433:80", "--forward"),
                  ("tcp:nohost=db:5432", "--forward")):
    r = subprocess.run([PROXY, "--forward", bad], capture_output=True, timeout=10)
    err = r.stderr.decode()
    check(r.returncode == 2 and err.startswith("proxy: --forward") and says in err,
          f"--forward {bad}: exit 2 naming the flag ({r.returncode}, {err.strip()!r})")
finish()
