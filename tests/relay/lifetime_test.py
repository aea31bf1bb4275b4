#!/usr/bin/env python3
"""Readiness and lifetime: --ready-fd, SIGTERM/SIGINT, --lifeline-fd.

Each way of stopping must end the process quickly with the socket file gone,
including while connections are open.
"""
import os
import signal
import subprocess
import time

from relaytest import RELAY, UnixServer, check, connect, recv_all, spawn, start_relay, stop, tmpdir


def hold(conn):
    recv_all(conn)


def main():
    d = tmpdir()
    UnixServer(f"{d}/target", hold)
    path = f"{d}/listen"

    for sig in (signal.SIGTERM, signal.SIGINT):
        relay = start_relay(f"unix:{path}", f"unix:{d}/target")
        check(os.path.exists(path), f"ready line came after the socket existed ({sig.name})")
        c = connect(path)  # an open connection must not delay the exit
        time.sleep(0.1)
        started = time.monotonic()
        rc = stop(relay, sig)
        took = time.monotonic() - started
        check(rc == 0 and took < 1, f"{sig.name}: exit {rc} in {took:.2f}s")
        check(not os.path.exists(path), f"{sig.name}: socket file removed")
        c.close()

    # Lifeline: relay holds the read end; we drop the write end.
    r, w = os.pipe()
    relay = start_relay(f"unix:{path}", f"unix:{d}/target", "--lifeline-fd", str(r),
                        pass_fds=(r,))
    os.close(r)
    os.write(w, b"bytes on the lifeline are ignored")
    time.sleep(0.2)
    check(relay.poll() is None, "relay keeps running while the lifeline is open")
    started = time.monotonic()
    os.close(w)
    rc = relay.wait(timeout=5)
    took = time.monotonic() - started
    check(rc == 0 and took < 1, f"lifeline EOF: exit {rc} in {took:.2f}s")
    check(not os.path.exists(path), "lifeline EOF: socket file removed")

    # Lifeline that was killed by SIGKILL: the holder process dies, relay follows.
    r, w = os.pipe()
    holder = spawn(["sleep", "60"], pass_fds=(w,))
    os.close(w)
    relay = start_relay(f"unix:{path}", f"unix:{d}/target", "--lifeline-fd", str(r),
                        pass_fds=(r,))
    os.close(r)
    holder.kill()
    holder.wait()
    rc = relay.wait(timeout=5)
    check(rc == 0 and not os.path.exists(path), "a SIGKILLed lifeline holder takes relay down")

    p = subprocess.run([RELAY, "--lifeline-fd", "77", f"unix:{path}", f"unix:{d}/target"],
                       capture_output=True, text=True, timeout=10)
    check(p.returncode == 1 and "--lifeline-fd 77" in p.stderr, f"a bad lifeline fd: {p.stderr.strip()}")
    check(not os.path.exists(path), "and no socket file is left behind")


if __name__ == "__main__":
    main()
