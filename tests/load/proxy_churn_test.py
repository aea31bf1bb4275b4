#!/usr/bin/env python3
"""10,000 short CONNECT tunnels through one proxy, as fast as they go:
connect, CONNECT, echo a message unique to the tunnel, close. Clients run
WORKERS at a time. The access log must end up with one allowed, clean
(no error in the reason) line per tunnel with the right byte counts, and the
proxy must be alive, answer a new tunnel and hold no more descriptors than
before. Figures: tunnels per second, proxy peak RSS.
"""

import asyncio
import json
import os
import time

from loadlib import (SCALE, Proxy, check, connect_head, fd_count, figure, finish, proc_status,
                     raise_nofile, scaled, start_peer, tmpdir, tunnel_echo_ok, wait_for)

N = scaled(10_000)
WORKERS = 64

raise_nofile(4096)
d = tmpdir()
log = os.path.join(d, "access.log")
echo, echo_port = start_peer("echo")
px = Proxy([echo_port], log=log)


def tunnel_lines():
    with open(log) as f:
        return [json.loads(line) for line in f if '"CONNECT"' in line]


check(tunnel_echo_ok(px.port, echo_port), "a first tunnel echoes")
# Its line is written once the echo server's EOF is back, which the client
# did not wait for: wait for it, so it is the log's first CONNECT line.
check(wait_for(lambda: len(tunnel_lines()) == 1, 5), "the first tunnel is logged")
wait_for(lambda: False, 0.2)
base_fds = fd_count(px.pid)
head = connect_head("127.0.0.1", echo_port)
MSG_LEN = len(b"tunnel %08d\n" % 0)


async def one(i):
    r, w = await asyncio.open_connection("127.0.0.1", px.port)
    try:
        w.write(head)
        answer = await r.readuntil(b"\r\n\r\n")
        if not answer.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"tunnel {i}: {answer!r}")
        msg = b"tunnel %08d\n" % i
        w.write(msg)
        if await r.readexactly(len(msg)) != msg:
            raise RuntimeError(f"tunnel {i}: wrong echo")
        w.write_eof()  # a clean end: half-close, then the echo server's EOF
        if await r.read() != b"":
            raise RuntimeError(f"tunnel {i}: bytes after the echo")
    finally:
        w.close()
        await w.wait_closed()


async def worker(next_id, errors):
    while True:
        i = next(next_id)
        if i >= N:
            return
        try:
            await one(i)
        except Exception as e:  # noqa: BLE001 - counted and reported below
            errors.append(repr(e))


async def main():
    errors = []
    ids = iter(range(N + WORKERS))
    t0 = time.monotonic()
    await asyncio.gather(*(worker(ids, errors) for _ in range(WORKERS)))
    return time.monotonic() - t0, errors


elapsed, errors = asyncio.run(main())
check(not errors, f"{N - len(errors)}/{N} short tunnels echoed and closed cleanly"
      + (f"; first error: {errors[0]}" if errors else ""))
figure(f"proxy: {N} short CONNECT tunnels (connect, CONNECT, echo, close; {WORKERS} clients "
       f"at a time) in {elapsed:.1f} s: {N / elapsed:.0f} tunnels/s")
st = proc_status(px.pid)
figure(f"proxy: after {N} short tunnels: VmHWM {st['VmHWM'] / 1024:.1f} MiB, "
       f"VmRSS {st['VmRSS'] / 1024:.1f} MiB")
check(px.alive(), "the proxy is still running")
check(wait_for(lambda: fd_count(px.pid) <= base_fds, 20),
      f"the proxy is back to {base_fds} descriptors (has {fd_count(px.pid)})")

# The first line is the warm-up tunnel; a line is written when a tunnel closes.
check(wait_for(lambda: len(tunnel_lines()) >= N + 1, 20),
      f"the access log has a line for each of the {N} tunnels ({len(tunnel_lines()) - 1})")
lines = tunnel_lines()[1:]
clean = [x for x in lines if x["status"] == 200 and x["decision"] == "allow"
         and ";" not in x["reason"] and x["bytes_up"] == MSG_LEN
         and x["bytes_down"] == MSG_LEN + len(b"HTTP/1.1 200 Connection established\r\n\r\n")]
check(len(clean) == N, f"{len(clean)}/{N} log lines are allowed, clean, and count every byte"
      + ("" if len(clean) == len(lines) else
         f"; first other: {next(x for x in lines if x not in clean)}"))
check(tunnel_echo_ok(px.port, echo_port), "a new tunnel works afterwards")
check(px.stop() == 0, "the proxy exits 0 on SIGTERM")
print(f"# scale {SCALE}, {N} tunnels")
finish()
