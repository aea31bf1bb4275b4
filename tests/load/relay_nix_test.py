#!/usr/bin/env python3
"""1,000 nix clients at once through one relay to a real nix-daemon.

Each client speaks the nix worker protocol itself (so 1,000 can be held open
from one process): the handshake (magic, versions, the daemon's
end-of-startup STDERR_LAST), then wopIsValidPath on a path the daemon knows
(must answer 1). Once all are open, each asks again, for a path that does
not exist (must answer 0), then all close. The relay must still be running
and answering, hold no more descriptors than before, and log every
connection closed without error. Skipped (exit 77) unless root with
nix-daemon installed. Figures: handshakes per second, relay peak RSS.
"""

import asyncio
import atexit
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

from loadlib import (SCALE, check, fd_count, figure, finish, proc_status, raise_nofile, scaled,
                     spawn, start_relay, tmpdir, wait_for)

N = scaled(1000, minimum=10)
OPENING = 50  # handshakes in flight at once; all N stay open afterwards

if os.geteuid() != 0:
    print("SKIP: needs root to run a nix-daemon of its own")
    sys.exit(77)
if not shutil.which("nix-daemon"):
    print("SKIP: nix-daemon is not installed")
    sys.exit(77)

WORKER_MAGIC_1 = 0x6E697863
WORKER_MAGIC_2 = 0x6478696F
STDERR_NEXT = 0x6F6C6D67
STDERR_LAST = 0x616C7473
STDERR_ERROR = 0x63787470
WOP_IS_VALID_PATH = 1
CLIENT_VERSION = 0x115  # 1.21: no version string or trust flag in the handshake


def u64(n):
    return struct.pack("<Q", n)


def nix_string(b):
    return u64(len(b)) + b + b"\0" * (-len(b) % 8)


async def read_u64(r):
    return struct.unpack("<Q", await r.readexactly(8))[0]


async def read_string(r):
    n = await read_u64(r)
    data = await r.readexactly(n + (-n % 8))
    return data[:n]


async def until_last(r):
    """Skips log lines up to STDERR_LAST; an error or anything else fails."""
    while True:
        msg = await read_u64(r)
        if msg == STDERR_LAST:
            return
        if msg == STDERR_NEXT:
            await read_string(r)
            continue
        raise RuntimeError(f"daemon sent {msg:#x}"
                           + (" (error)" if msg == STDERR_ERROR else ""))


async def handshake(path):
    r, w = await asyncio.open_unix_connection(path)
    w.write(u64(WORKER_MAGIC_1))
    if await read_u64(r) != WORKER_MAGIC_2:
        raise RuntimeError("bad magic from the daemon")
    daemon_version = await read_u64(r)
    if daemon_version >> 8 != 1:
        raise RuntimeError(f"daemon protocol {daemon_version:#x}")
    w.write(u64(CLIENT_VERSION) + u64(0) + u64(0))  # no CPU affinity, reserveSpace 0
    await until_last(r)
    return r, w, daemon_version


async def is_valid(r, w, store_path):
    w.write(u64(WOP_IS_VALID_PATH) + nix_string(store_path.encode()))
    await until_last(r)
    return await read_u64(r)


async def one_client(path, valid, gate):
    async with gate:
        r, w, _ = await handshake(path)
        if await is_valid(r, w, valid) != 1:
            raise RuntimeError(f"{valid} is not valid through the relay")
        return r, w


async def find_valid_path(sock):
    """The first /nix/store entry the daemon (asked directly) says is valid."""
    r, w, version = await handshake(sock)
    try:
        for name in sorted(os.listdir("/nix/store"))[:500]:
            if name.startswith(".") or name.endswith(".lock"):
                continue
            if await is_valid(r, w, f"/nix/store/{name}") == 1:
                return f"/nix/store/{name}", version
        return None, version
    finally:
        w.close()


async def main(relay_sock, valid):
    gate = asyncio.Semaphore(OPENING)
    t0 = time.monotonic()
    results = await asyncio.gather(*(one_client(relay_sock, valid, gate) for _ in range(N)),
                                   return_exceptions=True)
    elapsed = time.monotonic() - t0
    clients = [x for x in results if not isinstance(x, BaseException)]
    errors = [x for x in results if isinstance(x, BaseException)]
    check(not errors, f"{len(clients)}/{N} clients did the handshake and wopIsValidPath through "
          "relay" + (f"; first error: {errors[0]!r}" if errors else ""))
    figure(f"relay -> nix-daemon: {len(clients)} worker handshakes + wopIsValidPath "
           f"({OPENING} in flight) in {elapsed:.1f} s: {len(clients) / elapsed:.0f}/s")
    missing = "/nix/store/00000000000000000000000000000000-load-test-missing"
    answers = await asyncio.gather(*(is_valid(r, w, missing) for r, w in clients),
                                   return_exceptions=True)
    zeros = sum(1 for a in answers if a == 0)
    check(zeros == len(clients) == N,
          f"all {N} open at once answer a second op correctly ({zeros} did)")
    for r, w in clients:
        w.close()
    await asyncio.gather(*(w.wait_closed() for r, w in clients), return_exceptions=True)


d = tmpdir()
raise_nofile(4 * N + 200)
sock = os.path.join(d, "nix-daemon.sock")
# NIX_REMOTE=local: see tests/lib/nix_daemon.sh (a daemon left on "auto" on
# a host without /nix/var/nix connects to itself, recursively).
daemon = spawn(["setsid", "nix-daemon"],
               env={**os.environ, "NIX_DAEMON_SOCKET_PATH": sock, "NIX_REMOTE": "local"},
               stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "nix-daemon.log"), "w"),
               stdin=subprocess.DEVNULL)


def stop_daemon():
    # setsid made the daemon a group leader; its per-connection workers are in
    # the same group.
    try:
        os.killpg(daemon.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass


atexit.register(stop_daemon)


def connectable():
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(sock)
        return True
    except OSError:
        return False


wait_for(lambda: connectable() or daemon.poll() is not None, 10)
if daemon.poll() is not None or not connectable():
    print(open(os.path.join(d, "nix-daemon.log")).read())
    check(False, "nix-daemon started")
    finish()

valid, version = asyncio.run(find_valid_path(sock))
print(f"# daemon protocol {version >> 8}.{version & 0xff}, valid path {valid}")
if valid is None:
    print("SKIP: the nix store has no valid path to query")
    sys.exit(77)

relay_sock = os.path.join(d, "relay.sock")
log = os.path.join(d, "relay.log")
relay = start_relay("--log", log, f"unix:{relay_sock}", f"unix:{sock}")
base_fds = fd_count(relay.pid)
asyncio.run(main(relay_sock, valid))
st = proc_status(relay.pid)
figure(f"relay: {N} nix connections open at once: VmHWM {st['VmHWM'] / 1024:.1f} MiB")
check(relay.poll() is None, "relay is still running")
check(wait_for(lambda: fd_count(relay.pid) <= base_fds, 20),
      f"relay is back to {base_fds} descriptors ({fd_count(relay.pid)})")
r = subprocess.run(["nix-store", "--query", "--hash", valid], capture_output=True, text=True,
                   env={**os.environ, "NIX_REMOTE": f"unix://{relay_sock}"}, timeout=30)
check(r.returncode == 0 and r.stdout.startswith("sha256:"),
      f"the real nix client still works through relay: {r.stdout.strip() or r.stderr.strip()}")


def closes():
    with open(log) as f:
        return [json.loads(x) for x in f if '"event":"close"' in x]


check(wait_for(lambda: len(closes()) >= N + 1, 10), f"relay logged {len(closes())} closes")
bad = [x for x in closes() if x.get("error")]
check(not bad, f"every connection closed without error ({len(bad)} with one"
      + (f", first: {bad[0]}" if bad else "") + ")")
relay.terminate()
check(relay.wait(10) == 0, "relay exits 0 on SIGTERM")
stop_daemon()
print(f"# scale {SCALE}, {N} clients")
finish()
