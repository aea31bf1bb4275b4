#!/usr/bin/env python3
"""1 GiB each way at the same time through one connection, checked by sha256
of what each side sent against what the other side received: first through a
proxy CONNECT tunnel (tcp -> tcp), then through relay (unix -> tcp).

The far end is a separate process (loadlib.py bulk) that receives until EOF
while it sends its own stream; both sides half-close after sending, so equal
byte counts and hashes also show the half-close was passed on. Afterwards the
proxy / relay must still be running, carry a second (1 MiB) exchange, and be
back to the descriptors it had before. Figures: MiB/s each way, peak RSS.
"""

import json
import os
import socket
import time

from loadlib import (SCALE, Proxy, bulk_exchange, check, connect_tunnel, fd_count, figure,
                     finish, proc_status, scaled, start_peer, start_relay, tmpdir, wait_for)

MIB = 1 << 20
NBYTES = scaled(1 << 30, minimum=MIB)
SIZES = [NBYTES, MIB]  # the bulk exchange, then one more to show it still answers


def exchange(name, peer, open_conn, nbytes, seed):
    t0 = time.monotonic()
    try:
        with open_conn() as s:
            s.settimeout(120)
            sent, got, total = bulk_exchange(s, nbytes, seed=seed)
    except (OSError, RuntimeError) as e:
        check(False, f"{name}: exchange failed: {e}")
        return None
    elapsed = time.monotonic() - t0
    far = json.loads(peer.stdout.readline() or "{}")
    ok = check(total == nbytes and far.get("received_bytes") == nbytes,
               f"{name}: {nbytes} bytes arrived each way "
               f"(client got {total}, far end got {far.get('received_bytes')})")
    ok &= check(far.get("received") == sent, f"{name}: sha256 client -> far end matches")
    ok &= check(far.get("sent") == got, f"{name}: sha256 far end -> client matches")
    return elapsed if ok else None


def run(name, pid, alive, open_conn, peer):
    base_fds = fd_count(pid)
    elapsed = exchange(name, peer, open_conn, NBYTES, seed=1)
    if elapsed:
        figure(f"{name}: {NBYTES / MIB:.0f} MiB each way at once in {elapsed:.1f} s: "
               f"{NBYTES / MIB / elapsed:.0f} MiB/s each way")
    st = proc_status(pid)
    figure(f"{name}: peak RSS {st['VmHWM'] / 1024:.1f} MiB")
    check(alive(), f"{name}: still running after the bulk exchange")
    check(wait_for(lambda: fd_count(pid) <= base_fds, 10),
          f"{name}: back to {base_fds} descriptors ({fd_count(pid)})")
    check(exchange(f"{name} (again)", peer, open_conn, MIB, seed=3) is not None,
          f"{name}: a new connection carries 1 MiB each way afterwards")
    check(peer.wait(10) == 0, f"{name}: far end exited 0")


d = tmpdir()

peer, port = start_peer("bulk", *map(str, SIZES))
px = Proxy([port])
run("proxy CONNECT tunnel", px.pid, px.alive, lambda: connect_tunnel(px.port, port), peer)
check(px.stop() == 0, "proxy exits 0 on SIGTERM")

peer, port = start_peer("bulk", *map(str, SIZES))
relay_sock = os.path.join(d, "relay.sock")
rl = start_relay(f"unix:{relay_sock}", f"tcp:127.0.0.1:{port}")


def via_relay():
    s = socket.socket(socket.AF_UNIX)
    s.connect(relay_sock)
    return s


run("relay unix->tcp", rl.pid, lambda: rl.poll() is None, via_relay, peer)
rl.terminate()
check(rl.wait(10) == 0, "relay exits 0 on SIGTERM")
print(f"# scale {SCALE}, {NBYTES} bytes each way")
finish()
