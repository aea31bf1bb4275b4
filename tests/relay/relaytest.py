"""Shared helpers for relay's Python integration tests.

Starts the real relay binary (path in $RELAY) and real peers on loopback or
Unix sockets in a private temp dir; every process started is killed at exit
(atexit and the `with` blocks), so a failing test leaves nothing behind.
"""
import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from testkit import free_port  # noqa: E402,F401

RELAY = os.environ.get("RELAY", "relay")
_procs = []


def tmpdir():
    d = tempfile.mkdtemp(prefix="relay-test-")
    atexit.register(shutil.rmtree, d, True)
    return d


def _kill_all():
    for p in _procs:
        if p.poll() is None:
            p.kill()
            p.wait()


atexit.register(_kill_all)


def check(cond, what):
    """Fails the test with a message; the non-zero exit is what meson sees."""
    if not cond:
        print(f"FAIL: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def spawn(argv, **kw):
    p = subprocess.Popen(argv, **kw)
    _procs.append(p)
    return p


def wait_connectable(path_or_port, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connect(path_or_port).close()
            return True
        except OSError:
            time.sleep(0.02)
    return False


def connect(target):
    if isinstance(target, int):
        return socket.create_connection(("127.0.0.1", target))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(target)
    return s


def start_relay(*args, ready=True, **kw):
    """Runs relay with --ready-fd and waits for its ready line."""
    if not ready:
        return spawn([RELAY, *args], **kw)
    r, w = os.pipe()
    pass_fds = (w, *kw.pop("pass_fds", ()))
    p = spawn([RELAY, "--ready-fd", str(w), *args], pass_fds=pass_fds, **kw)
    os.close(w)
    with os.fdopen(r) as f:
        line = f.readline()
    if line != "ready\n":
        raise RuntimeError(f"relay {args} did not get ready (exit {p.wait()})")
    return p


def stop(p, sig=signal.SIGTERM, timeout=5.0):
    if p.poll() is None:
        p.send_signal(sig)
    return p.wait(timeout=timeout)


def recv_all(s):
    chunks = []
    while True:
        b = s.recv(65536)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


class UnixServer:
    """A thread that serves each connection with handler(conn) on a Unix socket."""

    def __init__(self, path, handler, backlog=1024):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(backlog)
        self.handler = handler
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        with contextlib.closing(conn):
            try:
                self.handler(conn)
            except OSError:
                pass

    def close(self):
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
