#!/usr/bin/env python3
"""What relay does with the path of a Unix listening socket.

A stale socket file (left by a process that died) is replaced; a live socket
and a non-socket file are errors that leave the file alone; --mode sets the
permissions with no chmod window; the file is removed when relay exits. Also:
a TCP listener on an address in use fails with a message naming the endpoint.
An inherited listener (fd:N) is served as it is; an fd that is not a
listening socket is refused with a message naming it.
"""
import os
import socket
import stat
import subprocess

from relaytest import RELAY, UnixServer, check, connect, free_port, recv_all, start_relay, stop, tmpdir


def echo_once(conn):
    conn.sendall(recv_all(conn))


def run_relay_expect_failure(*args):
    p = subprocess.run([RELAY, *args], capture_output=True, text=True, timeout=10)
    return p.returncode, p.stderr


def main():
    d = tmpdir()
    UnixServer(f"{d}/target", echo_once)
    path = f"{d}/listen"

    # Stale: bound, then the owner went away without unlinking.
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()
    check(stat.S_ISSOCK(os.lstat(path).st_mode), "a stale socket file is in place")
    relay = start_relay(f"unix:{path}", f"unix:{d}/target", "--mode", "600")
    s = connect(path)
    s.sendall(b"ping")
    s.shutdown(socket.SHUT_WR)
    check(recv_all(s) == b"ping", "relay replaced the stale socket and serves on it")
    mode = stat.S_IMODE(os.lstat(path).st_mode)
    check(mode == 0o600, f"--mode 600 gives permissions {oct(mode)}")

    # Live: relay is listening there now; a second relay must refuse.
    rc, err = run_relay_expect_failure(f"unix:{path}", f"unix:{d}/target")
    check(rc == 1 and "another process is listening" in err and path in err,
          f"a live socket is refused: {err.strip()}")
    check(connect(path) is not None, "and the live socket still works")
    stop(relay)
    check(not os.path.exists(path), "the socket file is removed on exit")

    # Not a socket: never deleted.
    with open(path, "w") as f:
        f.write("precious")
    rc, err = run_relay_expect_failure(f"UNIX-LISTEN:{path}", f"unix:{d}/target")
    check(rc == 1 and "not a socket" in err, f"a regular file is refused: {err.strip()}")
    check(open(path).read() == "precious", "and left untouched")
    os.unlink(path)

    rc, err = run_relay_expect_failure(f"unix:{d}/missing/dir/sock", f"unix:{d}/target")
    check(rc == 1 and "bind" in err and f"{d}/missing/dir/sock" in err,
          f"a missing directory is reported: {err.strip()}")

    port = free_port()
    holder = socket.socket()
    holder.bind(("127.0.0.1", port))
    holder.listen()
    rc, err = run_relay_expect_failure(f"tcp:127.0.0.1:{port}", f"unix:{d}/target")
    check(rc == 1 and f"tcp:127.0.0.1:{port}" in err and "bind" in err,
          f"a TCP port in use is reported: {err.strip()}")
    holder.close()

    rc, err = run_relay_expect_failure("tcp:localhost:1", f"unix:{d}/target")
    check(rc == 1 and "not an IP address" in err, f"a listen host name is refused: {err.strip()}")

    # Inherited: the caller bound and listens; relay only accepts.
    inherited = socket.socket()
    inherited.bind(("127.0.0.1", 0))
    inherited.listen()
    fd = inherited.fileno()
    inherited_port = inherited.getsockname()[1]
    relay = start_relay(f"fd:{fd}", f"unix:{d}/target", pass_fds=(fd,))
    inherited.close()
    s = socket.create_connection(("127.0.0.1", inherited_port))
    s.sendall(b"handed")
    s.shutdown(socket.SHUT_WR)
    check(recv_all(s) == b"handed", f"relay serves an inherited listener (port {inherited_port})")
    stop(relay)

    unlistening = socket.socket()
    unlistening.bind(("127.0.0.1", 0))
    fd = unlistening.fileno()
    p = subprocess.run([RELAY, f"fd:{fd}", f"unix:{d}/target"], capture_output=True, text=True,
                       timeout=10, pass_fds=(fd,))
    check(p.returncode == 1 and f"'fd:{fd}'" in p.stderr and "not listening" in p.stderr,
          f"a socket that does not listen is refused: {p.stderr.strip()}")
    unlistening.close()
    rc, err = run_relay_expect_failure("fd:9", f"unix:{d}/target")
    check(rc == 1 and "'fd:9'" in err and "not open" in err, f"a closed fd is refused: {err.strip()}")

    rc, err = run_relay_expect_failure(f"unix:{path}", "FOO:bar")
    check(rc == 2 and err.startswith("relay: ") and "'FOO:bar'" in err, f"usage error: {err.strip()}")


if __name__ == "__main__":
    main()
