#!/usr/bin/env python3
"""--background, the way a cell's first process starts the in-jail relay and
then becomes the user's command with no shell in between:
 - COMMAND runs only once the listener accepts (it connects at once);
 - COMMAND runs in the original process (exec: same pid);
 - the daemon is not COMMAND's child and outlives it;
 - the daemon stops when its lifeline closes, removing the socket;
 - bind errors and daemon start-up failures come back from the original
   process, and COMMAND does not run.
"""
import os
import subprocess
import sys
import time

from relaytest import RELAY, UnixServer, check, connect, recv_all, tmpdir

PROBE = """
import os, socket, sys
print(os.getpid(), flush=True)
c = socket.socket(socket.AF_UNIX); c.connect(sys.argv[1])
c.sendall(b"through"); c.shutdown(socket.SHUT_WR)
print(c.recv(100).decode(), flush=True)
"""


def echo(conn):
    conn.sendall(recv_all(conn))


def relay_daemons(path):
    """Pids of relay processes serving `path`, with their parent pids."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
            status = open(f"/proc/{pid}/status").read()
        except OSError:
            continue
        if f"unix:{path}".encode() in argv and "\nState:\tZ" not in status:
            ppid = int(status.split("PPid:")[1].split()[0])
            found.append((int(pid), ppid))
    return found


def main():
    d = tmpdir()
    UnixServer(f"{d}/target", echo)
    path = f"{d}/listen"
    r, w = os.pipe()
    caller = subprocess.Popen(
        [RELAY, "--background", "--quiet", "--lifeline-fd", str(r), f"unix:{path}",
         f"unix:{d}/target", "--", sys.executable, "-c", PROBE, path],
        pass_fds=(r,), stdout=subprocess.PIPE, text=True)
    os.close(r)
    out, _ = caller.communicate(timeout=10)
    lines = out.split()
    check(caller.returncode == 0, f"COMMAND exited 0 ({caller.returncode})")
    check(lines[1:] == ["through"], f"COMMAND connected through the relay at once: {lines[1:]}")
    check(int(lines[0]) == caller.pid, "COMMAND ran in the original process (exec)")

    daemons = relay_daemons(path)
    check(len(daemons) == 1, f"one relay daemon is serving ({daemons})")
    check(daemons[0][1] not in (caller.pid, os.getpid()), "it is nobody's child we must reap")
    c = connect(path)
    c.sendall(b"again")
    c.shutdown(1)
    check(recv_all(c) == b"again", "the daemon outlives COMMAND and keeps serving")

    os.close(w)
    deadline = time.monotonic() + 3
    while relay_daemons(path) and time.monotonic() < deadline:
        time.sleep(0.02)
    check(not relay_daemons(path), "closing the lifeline stops the daemon")
    check(not os.path.exists(path), "and removes its socket")

    # Without COMMAND the caller just exits 0 once the daemon is ready.
    r, w = os.pipe()
    p = subprocess.run([RELAY, "--background", "--lifeline-fd", str(r), f"unix:{path}",
                        f"unix:{d}/target"], pass_fds=(r,), timeout=10)
    os.close(r)
    check(p.returncode == 0 and connect(path) is not None, "no COMMAND: exit 0, daemon serving")

    # Bind error (that daemon is still live on the path): reported by the caller.
    p = subprocess.run([RELAY, "--background", f"unix:{path}", f"unix:{d}/target", "--",
                        "touch", f"{d}/ran"], capture_output=True, text=True, timeout=10)
    check(p.returncode == 1 and "another process is listening" in p.stderr,
          f"a bind error comes back: {p.stderr.strip()}")
    check(not os.path.exists(f"{d}/ran"), "and COMMAND did not run")
    os.close(w)

    # A failure inside the daemon (its lifeline fd is not open) also comes back.
    time.sleep(0.2)
    p = subprocess.run([RELAY, "--background", "--lifeline-fd", "77", f"unix:{d}/other",
                        f"unix:{d}/target", "--", "touch", f"{d}/ran"],
                       capture_output=True, text=True, timeout=10)
    check(p.returncode == 1 and "--lifeline-fd 77" in p.stderr,
          f"a daemon start-up failure comes back: {p.stderr.strip()}")
    check(not os.path.exists(f"{d}/ran") and not os.path.exists(f"{d}/other"),
          "COMMAND did not run and no socket is left")


if __name__ == "__main__":
    main()
