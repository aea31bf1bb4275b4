"""Fault: the access log cannot be written.

1. Full filesystem (root: a 64 KiB tmpfs we mount and fill while the proxy
   runs). Requests keep being served; the failure is reported ONCE on
   stderr, not once per request; the lines written before it are whole
   (no torn record at the end).
2. Read-only (root: the tmpfs remounted ro before the proxy starts; not
   root: a chmod 0444 file): same, with the open failing.

After the failure the proxy serves on without an access log, as its stderr
line says and docs/proxy.md describes ("keeps serving and says so once"):
it does not reopen the file when space returns. The test pins that: the
file stays as it was, and the one stderr line stays the only one (a retry
per request would bring back the flood this test exists to catch)."""

import atexit
import json
import os
import subprocess

from faultlib import (Proxy, Upstream, check, figure, finish, get_via, skip, tunnel_get,
                      wait_for)
import harness

REQUESTS = 60  # enough to overflow the log file's last page many times
up = Upstream()
url = f"http://127.0.0.1:{up.port}/hello"
d = harness.tmpdir()
root = os.geteuid() == 0
ran = 0


def serve(px, n):
    """n requests, alternating plain GET and CONNECT: how many were served."""
    ok = 0
    for i in range(n):
        if i % 2:
            ok += tunnel_get(px, up.port) == b"hello from upstream\n"
        else:
            ok += get_via(px, url) == (200, b"hello from upstream\n")
    return ok


def complaints(px, path):
    return [ln for ln in px.errors().splitlines() if f"--log {path}" in ln]


def mount_tmpfs(where, size="64k"):
    os.makedirs(where, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "faults-log",
                        where], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"# cannot mount a tmpfs: {r.stderr.strip()}")
        return False
    # Lazy: the proxy may still hold the file when this runs at exit.
    atexit.register(subprocess.run, ["umount", "-l", where], capture_output=True)
    return True


def fill(where):
    """Writes a filler file until the filesystem is full: bytes written."""
    n = 0
    with open(os.path.join(where, "filler"), "wb", buffering=0) as f:
        try:
            while True:
                n += f.write(b"\0" * 4096)
        except OSError:
            pass
    return n


# --- 1. the filesystem fills up under a running proxy ---------------------
full = os.path.join(d, "full")
if root and mount_tmpfs(full):
    ran += 1
    log = os.path.join(full, "access.log")
    ports = ("--connect-port", str(up.port))
    px = Proxy("--allow-cidr", "127.0.0.0/8", *ports, log=log)
    check(serve(px, 2) == 2, "full fs: requests served while there is space")
    check(wait_for(lambda: len(open(log).read().splitlines()) == 2), "full fs: and logged")
    figure(f"full fs: filler took {fill(full)} bytes")
    check(not os.statvfs(full).f_bavail, "full fs: no block left")
    served = serve(px, REQUESTS)
    figure(f"full fs: {served} of {REQUESTS} requests served with the log's filesystem full")
    check(served == REQUESTS, "full fs: every request is still served")
    said = complaints(px, log)
    check(len(said) == 1, f"full fs: reported once on stderr ({len(said)} lines)")
    check(said and "No space left on device" in said[0], f"full fs: says why: {said[:1]}")
    text = open(log, "rb").read()
    lines = text.split(b"\n")
    whole = lines[:-1]
    figure(f"full fs: {len(whole)} whole lines, {len(lines[-1])} bytes of a torn last line, "
           f"{len(text)} bytes in all")
    check(len(whole) < 2 + REQUESTS, "full fs: the log really hit the limit")
    check(lines[-1] == b"", f"full fs: no torn line at the end ({lines[-1][:40]!r})")
    good = 0
    for ln in whole:
        try:
            good += json.loads(ln)["status"] == 200
        except ValueError:
            pass
    check(good == len(whole), f"full fs: every whole line is a valid record ({good}/{len(whole)})")

    os.unlink(os.path.join(full, "filler"))
    check(os.statvfs(full).f_bavail > 0, "full fs: space is back")
    served = serve(px, 10)
    check(served == 10, "full fs: requests served after space returns")
    after = open(log, "rb").read()
    figure(f"full fs: {len(after) - len(text)} bytes logged after space returned (by design none)")
    check(after == text, "full fs: the log stays closed after its failure (as stderr said)")
    check(len(complaints(px, log)) == 1, "full fs: still a single stderr line")
    check(px.proc.poll() is None, "full fs: proxy still running")
    px.stop()

# --- 2. a read-only log ------------------------------------------------------
ro = os.path.join(d, "ro")
log = None
if root:
    if mount_tmpfs(ro):
        log = os.path.join(ro, "access.log")
        open(log, "w").close()  # an existing log, on a filesystem turned read-only
        r = subprocess.run(["mount", "-o", "remount,ro", ro], capture_output=True, text=True)
        if r.returncode != 0:
            print(f"# cannot remount read-only: {r.stderr.strip()}")
            log = None
        why = "Read-only file system"
else:
    os.makedirs(ro)
    log = os.path.join(ro, "access.log")
    open(log, "w").close()
    os.chmod(log, 0o444)
    why = "Permission denied"
if log:
    ran += 1
    px = Proxy("--allow-cidr", "127.0.0.0/8", "--connect-port", str(up.port), log=log)
    served = serve(px, REQUESTS // 2)
    check(served == REQUESTS // 2, f"read-only: every request is served ({served})")
    said = complaints(px, log)
    check(len(said) == 1, f"read-only: reported once on stderr ({len(said)} lines)")
    check(said and why in said[0], f"read-only: says why: {said[:1]}")
    check(os.path.getsize(log) == 0, "read-only: nothing was written")
    if root:
        subprocess.run(["mount", "-o", "remount,rw", ro], check=True)
    else:
        os.chmod(log, 0o644)
    check(serve(px, 4) == 4, "read-only: served once writable again")
    check(len(complaints(px, log)) == 1, "read-only: still a single stderr line")
    check(px.proc.poll() is None, "read-only: proxy still running")
    px.stop()

if not ran:
    skip("could not make an unwritable log here")
finish()
