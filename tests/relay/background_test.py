#!/usr/bin/env python3
"""--background, the way a cell's first process starts the in-jail relay and
then becomes the user's command with no shell in between:
 - COMMAND runs only once the listener accepts (it connects at once);
 - COMMAND runs in the original process (exec: same pid);
 - the daemon is not COMMAND's child and outlives it;
 - the daemon stops when its lifeline closes, removing the socket;
 - bind errors and daemon start-up failures come back from the original
   process, and COMMAND does not run;
 - --gate-fd: COMMAND waits for "go" on the gate, does not run when the
   gate closes without it, and neither COMMAND nor the daemon keeps the fd.
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

    check_gate(d)


def gate_relay(d, name, gate_r, lifeline_r, command):
    """The caller's stderr goes to a file: the daemon keeps stderr open."""
    err = open(f"{d}/{name}.err", "w+")
    p = subprocess.Popen(
        [RELAY, "--background", "--quiet", "--gate-fd", str(gate_r), "--lifeline-fd",
         str(lifeline_r), f"unix:{d}/{name}", f"unix:{d}/target", "--"] + command,
        pass_fds=(gate_r, lifeline_r), stdout=subprocess.PIPE, stderr=err, text=True)
    p.err_file = err
    return p


def finish(p):
    out, _ = p.communicate(timeout=10)
    p.err_file.seek(0)
    return out, p.err_file.read()


def check_gate(d):
    lr, lw = os.pipe()
    gr, gw = os.pipe()
    caller = gate_relay(d, "gated", gr, lr, ["sh", "-c", f"ls /proc/$$/fd; touch {d}/gated.ran"])
    os.close(gr)
    deadline = time.monotonic() + 5
    while not os.path.exists(f"{d}/gated") and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)
    check(os.path.exists(f"{d}/gated") and caller.poll() is None,
          "--gate-fd: the daemon listens, the caller waits at the gate")
    check(not os.path.exists(f"{d}/gated.ran"), "and COMMAND has not run yet")
    # The waiting caller has the same argv: the daemon is the other one.
    daemon = [p for p, _ in relay_daemons(f"{d}/gated") if p != caller.pid]
    fds = {os.readlink(f"/proc/{daemon[0]}/fd/{fd}") for fd in os.listdir(f"/proc/{daemon[0]}/fd")}
    caller_fds = {os.readlink(f"/proc/{caller.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{caller.pid}/fd")}
    gate_pipe = os.readlink(f"/proc/self/fd/{gw}")
    check(gate_pipe in caller_fds, f"the caller holds the gate ({gate_pipe})")
    check(len(daemon) == 1 and gate_pipe not in fds, "the daemon does not")
    os.write(gw, b"go\n")
    os.close(gw)
    out, err = finish(caller)
    check(caller.returncode == 0 and os.path.exists(f"{d}/gated.ran"),
          f"\"go\" lets COMMAND run ({caller.returncode}, {err.strip()})")
    check(str(gr) not in out.split(), f"COMMAND does not inherit the gate fd {gr}: {out.split()}")
    os.close(lw)

    # The gate closes without "go" (the launcher died, or a daemon failed).
    lr, lw = os.pipe()
    gr, gw = os.pipe()
    caller = gate_relay(d, "shut", gr, lr, ["touch", f"{d}/shut.ran"])
    os.close(gr)
    os.close(gw)
    out, err = finish(caller)
    check(caller.returncode == 1 and "--gate-fd" in err and "closed the gate" in err,
          f"a closed gate: exit 1 and says so ({caller.returncode}, {err.strip()})")
    check(not os.path.exists(f"{d}/shut.ran"), "and COMMAND did not run")
    os.close(lw)
    deadline = time.monotonic() + 3
    while relay_daemons(f"{d}/shut") and time.monotonic() < deadline:
        time.sleep(0.02)
    check(not relay_daemons(f"{d}/shut"), "the daemon ends with its lifeline")

    p = subprocess.run([RELAY, "--background", "--gate-fd", "78", f"unix:{d}/nogate",
                        f"unix:{d}/target", "--", "touch", f"{d}/nogate.ran"],
                       capture_output=True, text=True, timeout=10)
    check(p.returncode == 2 and "--gate-fd 78" in p.stderr,
          f"a gate fd that is not open is a usage error: {p.stderr.strip()}")
    check(not os.path.exists(f"{d}/nogate") and not os.path.exists(f"{d}/nogate.ran"),
          "nothing bound, COMMAND not run")
    p = subprocess.run([RELAY, "--gate-fd", "0", f"unix:{d}/nogate", f"unix:{d}/target"],
                       capture_output=True, text=True, timeout=10)
    check(p.returncode == 2 and "--gate-fd needs --background" in p.stderr,
          f"--gate-fd without --background: {p.stderr.strip()}")


if __name__ == "__main__":
    main()
