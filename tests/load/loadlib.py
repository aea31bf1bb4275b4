"""Shared pieces of the load tests (suite 'load').

Everything runs on loopback with the real binaries ($PROXY_BIN, $RELAY) and
real peers started as separate processes, so the peer does not share the
test's CPU time slice:

    python3 loadlib.py echo          asyncio echo server on 127.0.0.1:0
    python3 loadlib.py bulk N1 N2..  connection k: receive everything and
                                     send Nk bytes at the same time, then print
                                     the sha256 of both directions as JSON

The port is printed on the first stdout line. Counts and byte sizes are
multiplied by $LOAD_SCALE (default 1.0; the ASan run uses 0.1). Figures for
the docs are printed as lines starting with "# figure:".
"""

import atexit
import hashlib
import json
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from testkit import FAILURES, check, check_no_sanitizer_report, conclude, fd_count, figure, free_port  # noqa: E402,F401

PROXY = os.environ.get("PROXY_BIN", "proxy")
RELAY = os.environ.get("RELAY", "relay")
SCALE = float(os.environ.get("LOAD_SCALE", "1.0"))
HERE = os.path.dirname(os.path.abspath(__file__))

_procs = []
_watched = []  # (name, Popen, stderr file) checked for sanitizer reports


def scaled(n, minimum=1):
    return max(minimum, int(n * SCALE))


def _cleanup():
    for p in _procs:
        if p.poll() is None:
            p.kill()
            p.wait()


atexit.register(_cleanup)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))


def finish():
    for name, p, err in _watched:
        text = read_stderr(err)
        check_no_sanitizer_report(text, name)
    conclude()
    sys.exit(0)


def read_stderr(f):
    f.seek(0)
    return f.read().decode(errors="replace")


def tmpdir():
    d = tempfile.mkdtemp(prefix="loadtest.")
    atexit.register(lambda: subprocess.run(["rm", "-rf", d]))
    return d


def spawn(argv, **kw):
    # `meson test` sets MALLOC_PERTURB_, which makes glibc fill every malloc
    # with a byte: each tunnel's lazily allocated, normally untouched 2 x 256
    # KiB pump buffers would then be resident (5 GiB for 10,000 tunnels) and
    # the figures would measure the memset. Run the binaries as deployed.
    env = dict(kw.pop("env", None) or os.environ)
    env.pop("MALLOC_PERTURB_", None)
    p = subprocess.Popen(argv, env=env, **kw)
    _procs.append(p)
    return p


def raise_nofile(want):
    """Raises this process's fd limit (children inherit it) to at least
    `want` if it can: the soft limit up to the hard one, and the hard one
    too when we have CAP_SYS_RESOURCE (root). Returns the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
            return want
        except (ValueError, OSError):
            pass
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    new = hard if hard == resource.RLIM_INFINITY else max(soft, min(hard, max(want, soft)))
    resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def proc_status(pid):
    """VmRSS and VmHWM of a process in KiB."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1])
    return out


def sanitized(pid):
    """True when the process runs with ASan (its memory figures mean little)."""
    with open(f"/proc/{pid}/maps") as f:
        return "libasan" in f.read()


def fd_limit(pid):
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[3])
    return -1


def wait_for(cond, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def _start_ready(name, argv, ready_first):
    r, w = os.pipe()
    err = tempfile.TemporaryFile()
    if ready_first:
        argv = [argv[0], "--ready-fd", str(w), *argv[1:]]
    else:
        argv = [*argv, "--ready-fd", str(w)]
    p = spawn(argv, pass_fds=(w,), stderr=err)
    os.close(w)
    with os.fdopen(r) as f:
        line = f.read()  # to EOF: the binary closes the fd after the line,
        # and a baseline descriptor count taken before that would be one high
    if line != "ready\n":
        raise RuntimeError(f"{name} did not start: {read_stderr(err)}")
    _watched.append((name, p, err))
    return p, err


class Proxy:
    """The real proxy on 127.0.0.1:free port, allowed to reach loopback."""

    def __init__(self, connect_ports, *args, log=None):
        self.port = free_port()
        argv = [PROXY, "--listen", f"tcp:127.0.0.1:{self.port}", "--allow-cidr", "127.0.0.0/8"]
        for p in connect_ports:
            argv += ["--connect-port", str(p)]
        if log:
            argv += ["--log", log]
        argv += list(args)
        self.proc, self.stderr = _start_ready("proxy", argv, ready_first=False)
        self.pid = self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.wait(10)


def start_relay(*args):
    p, _ = _start_ready("relay", [RELAY, *args], ready_first=True)
    return p


def start_peer(*args):
    """Runs this file in a peer mode; returns (process, port)."""
    p = spawn([sys.executable, os.path.join(HERE, "loadlib.py"), *args],
              stdout=subprocess.PIPE, text=True)
    port = int(p.stdout.readline())
    return p, port


def connect_head(host, port):
    return f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()


def connect_tunnel(proxy_port, port, timeout=30):
    """A blocking CONNECT to 127.0.0.1:port; returns the socket after the 200."""
    s = socket.create_connection(("127.0.0.1", proxy_port), timeout=timeout)
    s.sendall(connect_head("127.0.0.1", port))
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)
        if not chunk:
            break
        head += chunk
    if not head.startswith(b"HTTP/1.1 200"):
        s.close()
        raise RuntimeError(f"CONNECT refused: {head!r}")
    return s


def tunnel_echo_ok(proxy_port, echo_port):
    """One fresh tunnel through the proxy carries a message both ways."""
    try:
        with connect_tunnel(proxy_port, echo_port, timeout=10) as s:
            msg = b"still alive?\n"
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                chunk = s.recv(100)
                if not chunk:
                    break
                got += chunk
            return got == msg
    except (OSError, RuntimeError):
        return False


# --- bulk data: a deterministic stream, different for every seed -------------

POOL = 16 << 20
CHUNK = 1 << 20
MAGIC = b"BULKDATA"  # plain ASCII first, so the proxy's SNI check sees no TLS


def _chunks(nbytes, seed):
    """Yields memoryviews whose concatenation is the stream for `seed`: slices
    of a random pool at offsets that never repeat in step, so a reordered or
    repeated block changes the sha256."""
    pool = memoryview(random.Random(seed).randbytes(POOL))
    yield memoryview(MAGIC)
    left = nbytes - len(MAGIC)
    i = 0
    while left > 0:
        n = min(CHUNK, left)
        off = (i * 1_000_003 + seed * 4099) % (POOL - CHUNK)
        yield pool[off:off + n]
        left -= n
        i += 1


def bulk_exchange(sock, nbytes, seed):
    """Sends `nbytes` of the `seed` stream while receiving until EOF, both at
    once; half-closes after sending. Returns (sha256 sent, sha256 received,
    bytes received)."""
    sent = hashlib.sha256()
    result = {}

    def sender():
        try:
            for c in _chunks(nbytes, seed):
                sent.update(c)
                sock.sendall(c)
            sock.shutdown(socket.SHUT_WR)
        except OSError as e:
            result["send_error"] = e

    t = threading.Thread(target=sender)
    t.start()
    got = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    total = 0
    try:
        while True:
            n = sock.recv_into(buf)
            if n == 0:
                break
            got.update(view[:n])
            total += n
    except OSError as e:
        result["recv_error"] = e
    t.join()
    if result:
        raise RuntimeError(f"bulk exchange failed: {result}")
    return sent.hexdigest(), got.hexdigest(), total


# --- peer modes ---------------------------------------------------------------


def _echo_main():
    import asyncio

    class Echo(asyncio.Protocol):
        def connection_made(self, transport):
            self.t = transport

        def data_received(self, data):
            self.t.write(data)

        def eof_received(self):
            return False  # close once the client half-closes

    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Echo, "127.0.0.1", 0, backlog=4096)
        print(server.sockets[0].getsockname()[1], flush=True)
        await server.serve_forever()

    asyncio.run(main())


def _bulk_main(sizes):
    """Serves one connection per size, in order, sending that many bytes."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    print(srv.getsockname()[1], flush=True)
    for nbytes in sizes:
        conn, _ = srv.accept()
        with conn:
            try:
                sent, got, total = bulk_exchange(conn, nbytes, seed=2)
                out = {"sent": sent, "received": got, "received_bytes": total}
            except RuntimeError as e:
                out = {"error": str(e)}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "echo":
        _echo_main()
    elif sys.argv[1] == "bulk":
        _bulk_main([int(x) for x in sys.argv[2:]])
