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
import sys

from relaytest import RELAY, UnixServer, check, connect, recv_all, start_relay, stop, tmpdir


def report_peer(conn):
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _, uid, gid = struct.unpack("3i", creds)
    conn.sendall(f"{uid} {gid}".encode())


def peer_through(d, name, *flags):
    relay = start_relay(*flags, f"unix:{d}/{name}", f"unix:{d}/target")
    try:
        with connect(f"{d}/{name}") as s:
            return recv_all(s).decode(), os.stat(f"{d}/{name}").st_uid
    finally:
        stop(relay)


def main():
    if os.geteuid() != 0:
        print("skip: needs root")
        sys.exit(77)  # meson's "skipped"
    d = tmpdir()
    os.chmod(d, 0o755)  # nobody may traverse it to reach the target
    UnixServer(f"{d}/target", report_peer)
    os.chmod(f"{d}/target", 0o666)

    seen, owner = peer_through(d, "plain")
    check(seen == "0 0", f"control: without --drop-root the target sees root ({seen})")

    seen, owner = peer_through(d, "dropped", "--drop-root")
    check(seen == "65534 65534", f"with --drop-root the target sees nobody/nogroup ({seen})")
    check(owner == 0, "the listening socket still belongs to root, who started the relay")


main()
