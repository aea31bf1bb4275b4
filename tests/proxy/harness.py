"""Shared pieces of the proxy integration tests: start the real proxy (ready
via --ready-fd), real upstream servers on 127.0.0.1 port 0, raw sockets for
requests curl will not send, and cleanup of every process started."""

import atexit
import http.server
import os
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from testkit import FAILURES, check, check_no_sanitizer_report, conclude, free_port  # noqa: E402,F401

PROXY = os.environ.get("PROXY_BIN", "proxy")
_procs = []
_proxies = []


def _cleanup():
    for p in _procs:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(3)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


atexit.register(_cleanup)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))


def finish():
    # A sanitizer build (meson -Db_sanitize=address,undefined) reports on the
    # proxy's stderr; make such a report fail the test. Stop each proxy first:
    # leaks are reported only as it exits.
    for p in _proxies:
        p.stop()
        text = p.errors()
        check_no_sanitizer_report(text, f"proxy on port {p.port}")
    conclude()


def tmpdir():
    d = tempfile.mkdtemp(prefix="proxytest.")
    atexit.register(lambda: subprocess.run(["rm", "-rf", d]))
    return d


def spawn(argv, **kw):
    p = subprocess.Popen(argv, **kw)
    _procs.append(p)
    return p


def stop(p):
    if p.poll() is None:
        p.terminate()
        p.wait(5)


class Proxy:
    """The real proxy on tcp:127.0.0.1:0-like free port; waits for --ready-fd."""

    def __init__(self, *args, log=None):
        self.port = free_port()
        self.log = log
        r, w = os.pipe()
        argv = [PROXY, "--listen", f"tcp:127.0.0.1:{self.port}", "--ready-fd", str(w)]
        if log:
            argv += ["--log", log]
        argv += list(args)
        self.stderr = tempfile.TemporaryFile()
        self.proc = spawn(argv, pass_fds=(w,), stderr=self.stderr)
        os.close(w)
        with os.fdopen(r) as ready:
            line = ready.readline()
        if line != "ready\n":
            self.stderr.seek(0)
            raise RuntimeError(f"proxy did not start: {self.stderr.read().decode()}")
        self.url = f"http://127.0.0.1:{self.port}"
        _proxies.append(self)

    def errors(self):
        self.stderr.seek(0)
        return self.stderr.read().decode()

    def stop(self):
        stop(self.proc)

    def connect(self):
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)


def raw(proxy, data, read_until_close=True, timeout=10):
    """Sends bytes to the proxy and returns everything it answers."""
    with proxy.connect() as s:
        s.settimeout(timeout)
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the proxy may answer and close before reading it all
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not chunk:
                break
            out += chunk
            if not read_until_close and b"\r\n\r\n" in out:
                break
        return out


def status_of(response):
    try:
        return int(response.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(n)

    def do_GET(self):
        self.server.seen.append((self.command, self.path, dict(self.headers), self.client_address))
        if self.path.startswith("/chunked"):
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(50):
                part = (f"part{i}-" * 100).encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        body = b"hello from upstream\n"
        if self.path.startswith("/headers"):
            body = repr(sorted(self.headers.items())).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        data = self._body()
        self.server.seen.append((self.command, self.path, dict(self.headers), self.client_address))
        reply = b"got %d bytes, sum %d\n" % (len(data), sum(data) % 65536)
        self.send_response(200)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


class Upstream:
    """A threaded HTTP/1.1 keep-alive server on 127.0.0.1 that records requests."""

    def __init__(self):
        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True
            # socketserver's default backlog of 5 drops the SYNs of a burst
            # (a proxy with several loops connects many at once); each drop
            # costs the proxy a 1 s, 3 s, ... retransmission, and a loaded
            # machine then runs past --connect-timeout.
            request_queue_size = 512

        self.server = Server(("127.0.0.1", 0), _Handler)
        self.server.seen = []
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        atexit.register(self.server.shutdown)

    @property
    def seen(self):
        return self.server.seen


def curl(*args, timeout=20):
    r = subprocess.run(["curl", "-sS", "--max-time", str(timeout), *args],
                       capture_output=True, timeout=timeout + 5)
    return r


def wait_for(cond, seconds=5):
    end = time.time() + seconds
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.05)
    return False


def echo_server(backlog=16):
    """A TCP echo server on 127.0.0.1, a thread per connection; its port."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(backlog)

    def serve(c):
        with c:
            while data := c.recv(65536):
                c.sendall(data)

    def loop():
        while True:
            c, _ = srv.accept()
            threading.Thread(target=serve, args=(c,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    return srv.getsockname()[1]


def read_head(s):
    """Reads a response head byte by byte, so nothing past it is consumed."""
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)
        if not chunk:
            break
        head += chunk
    return head
