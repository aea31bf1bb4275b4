"""Shared pieces of the fault tests (suite 'faults').

The real proxy and relay run on loopback against peers that misbehave on
purpose: a server that sends part of an answer and then resets (SO_LINGER 0),
clients that vanish halfway through a request. The proxy side reuses
tests/proxy/harness.py (Proxy, Upstream, cleanup), the relay side
tests/relay/relaytest.py (start_relay); meson puts both on PYTHONPATH.

Measured numbers are printed as "# figure: ..." lines.
"""

import os
import socket
import struct
import sys
import threading
import time

import harness
from testkit import fd_count, figure  # noqa: F401 (re-exported; harness put tests/lib on the path)
from harness import Proxy, Upstream, free_port, status_of, wait_for  # noqa: F401 (re-exported)

FAILURES = harness.FAILURES


def check(cond, what):
    """Records a failure and goes on, so one run reports every problem."""
    harness.check(cond, what)


def finish():
    harness.finish()


def skip(why):
    """Exit code 77: meson reports the test as skipped."""
    print(f"SKIP {why}", flush=True)
    sys.exit(77)


# --- process accounting -----------------------------------------------------


def cpu_seconds(pid):
    """User + system CPU time the process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def settle_fds(pid, want, seconds=5.0):
    """Waits until the process holds `want` descriptors; returns the last count."""
    end = time.monotonic() + seconds
    n = fd_count(pid)
    while n != want and time.monotonic() < end:
        time.sleep(0.05)
        n = fd_count(pid)
    return n


def stable_fds(pid, quiet=0.5, seconds=5.0):
    """The descriptor count once it has not changed for `quiet` seconds."""
    end = time.monotonic() + seconds
    last, since = fd_count(pid), time.monotonic()
    while time.monotonic() < end:
        time.sleep(0.05)
        n = fd_count(pid)
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return last


# --- sockets ----------------------------------------------------------------

def reset_close(s):
    """Closes with SO_LINGER 0: the kernel sends RST instead of FIN."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def read_until_end(s, timeout=5.0):
    """Everything the peer sends until it closes. Returns (bytes, how): how is
    'eof', 'reset' or 'hang' (nothing ended the connection within timeout)."""
    s.settimeout(timeout)
    out = b""
    end = time.monotonic() + timeout
    while True:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return out, "hang"
        except ConnectionResetError:
            return out, "reset"
        if not chunk:
            return out, "eof"
        out += chunk
        if time.monotonic() > end:
            return out, "hang"


def recv_head(s, timeout=5.0):
    """Reads byte by byte up to the end of a response head (or EOF)."""
    s.settimeout(timeout)
    head = b""
    while b"\r\n\r\n" not in head:
        try:
            c = s.recv(1)
        except (socket.timeout, ConnectionResetError):
            break
        if not c:
            break
        head += c
    return head


def proxy_connect(px, target, timeout=5.0):
    """A CONNECT tunnel through the proxy: (socket, response head)."""
    s = px.connect()
    s.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    return s, recv_head(s, timeout)


def get_via(px, url, timeout=5.0):
    """One GET through the proxy with Connection: close: (status, body)."""
    host = url.split("/")[2]
    with px.connect() as s:
        s.sendall(f"GET {url} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data, _ = read_until_end(s, timeout)
    head, _, body = data.partition(b"\r\n\r\n")
    return status_of(head), body


def tunnel_get(px, port, timeout=5.0):
    """GET /hello from a harness.Upstream through a CONNECT tunnel: the body."""
    s, head = proxy_connect(px, f"127.0.0.1:{port}", timeout)
    with s:
        if status_of(head) != 200:
            return b""
        s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data, _ = read_until_end(s, timeout)
    return data.partition(b"\r\n\r\n")[2]


class _Server:
    """Accepts on 127.0.0.1 (an ephemeral port) and serves each connection
    in a thread: `_accepted(c)` runs under `lock` and returns the serve
    function's extra arguments; `_serve(c, *args)` does the talking."""

    def __init__(self, backlog):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(backlog)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()

    def _start(self):
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                args = self._accepted(c)
            threading.Thread(target=self._serve, args=(c, *args), daemon=True).start()


class ResetServer(_Server):
    """A TCP server on 127.0.0.1 that, per connection, reads a request head
    (up to CRLF CRLF), sends `reply`, waits `pause` seconds so the bytes are
    on their way, then resets the connection. With `reply=None` it echoes
    instead (a well-behaved peer for the relay's next connection). The
    modes are taken in order from `plan`; when it runs out, `default`."""

    def __init__(self, plan=(), default=None, pause=0.3):
        super().__init__(64)
        self.plan = list(plan)
        self.default = default
        self.pause = pause
        self.served = 0
        self._start()

    def _accepted(self, c):
        self.served += 1
        return (self.plan.pop(0) if self.plan else self.default,)

    def _serve(self, c, reply):
        try:
            c.settimeout(10)
            got = b""
            while b"\r\n\r\n" not in got:
                chunk = c.recv(65536)
                if not chunk:
                    break
                got += chunk
            if reply is None:  # echo what came, then keep echoing until EOF
                c.sendall(got)
                while chunk := c.recv(65536):
                    c.sendall(chunk)
                c.close()
                return
            c.sendall(reply)
            time.sleep(self.pause)
            reset_close(c)
        except OSError:
            c.close()


class Sink(_Server):
    """A TCP server on 127.0.0.1 that accepts, never answers, and reads until
    its peer closes. `live` counts the connections still open from the
    peer's side: the proxy's upstream sockets, seen from the other end."""

    def __init__(self):
        super().__init__(256)
        self.live = 0
        self.accepted = 0
        self._start()

    def _accepted(self, c):
        self.live += 1
        self.accepted += 1
        return ()

    def _serve(self, c):
        try:
            while c.recv(65536):
                pass
        except OSError:
            pass
        finally:
            c.close()
            with self.lock:
                self.live -= 1
