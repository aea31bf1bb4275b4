#!/usr/bin/env python3
"""--drop-root: a relay started by root connects to its target as nobody.

The nix daemon decides whom to trust by the uid on the socket (SO_PEERCRED):
a root relay would make every cell a trusted nix client. The target here
reports the peer uid/gid it sees; the listening socket must still belong to
the caller (root) so a root-run cell can connect to it. Without the flag the
target sees root (control), and as a non-root user the flag changes nothing.
"""
import os
import socket
import struct
import subprocess
import sys

from relaytest import RELAY, UnixServer, check, connect, recv_all, start_relay, stop, tmpdir


def report_peer(conn):
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _, uid, gid = struct.unpack("3i", creds)
    conn.sendall(f"{uid} {gid}".encode())


def peer_through(listen_dir, target, name, *flags):
    relay = start_relay(*flags, f"unix:{listen_dir}/{name}", f"unix:{target}")
    try:
        with connect(f"{listen_dir}/{name}") as s:
            return recv_all(s).decode(), os.stat(f"{listen_dir}/{name}").st_uid
    finally:
        stop(relay)


def target_in(parent, sub, mode, gid=0):
    """A peer-reporting socket (0660, like a daemon's) in parent/sub."""
    d = os.path.join(parent, sub)
    os.mkdir(d)
    os.chown(d, 0, gid)
    os.chmod(d, mode)
    UnixServer(f"{d}/target", report_peer)
    os.chown(f"{d}/target", 0, gid)
    os.chmod(f"{d}/target", 0o660 if gid else 0o666)
    return f"{d}/target"


def main():
    if os.geteuid() != 0:
        print("skip: needs root")
        sys.exit(77)  # meson's "skipped"
    d = tmpdir()  # 0700 root, like mktemp -d: nobody may not search it

    open_target = target_in(d, "open", 0o755)
    seen, owner = peer_through(d, open_target, "plain")
    check(seen == "0 0", f"control: without --drop-root the target sees root ({seen})")

    seen, owner = peer_through(d, open_target, "dropped", "--drop-root")
    check(seen == "65534 65534", f"with --drop-root the target sees nobody/nogroup ({seen})")
    check(owner == 0, "the listening socket still belongs to root, who started the relay")

    # Debian's /nix/var/nix/daemon-socket: 0770 root:nix-users.
    group_target = target_in(d, "group", 0o770, gid=4242)
    seen, _ = peer_through(d, group_target, "grouped", "--drop-root")
    check(seen == "65534 65534",
          f"a 0770 root:group socket dir is still reached, as nobody ({seen})")

    closed_target = target_in(d, "closed", 0o700)
    p = start_relay("--drop-root", f"unix:{d}/closed-relay", f"unix:{closed_target}",
                    ready=False, stderr=subprocess.PIPE, text=True)
    try:
        _, err = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        stop(p)
        check(False, "a target nobody cannot reach stops the relay at start")
    check(p.returncode == 1 and closed_target in err and "--drop-root" in err,
          f"a target nobody cannot reach stops the relay at start, naming it ({err.strip()})")


main()
