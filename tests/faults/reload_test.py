"""Fault: SIGHUP with a broken filter file.

The filter first allows 127.0.0.1 only (so localhost is denied). Then the
file is broken in turn by an invalid regex (whose valid first line would
allow localhost), by removing it, and by making it unreadable (a directory
in its place as root, mode 000 otherwise), each followed by SIGHUP: every
time the error is logged once, naming the problem, and the old rules stay
in force for plain requests and CONNECT alike, the allowed host still
allowed and the denied one still denied. A fixed file and SIGHUP then swap
the two."""

import os
import signal
import subprocess

from faultlib import (Proxy, Upstream, check, finish, get_via, proxy_connect, status_of, wait_for)
import harness

up = Upstream()
d = harness.tmpdir()
flt = os.path.join(d, "filter")
with open(flt, "w") as f:
    f.write("^127\\.0\\.0\\.1$\n")
px = Proxy("--allow-cidr", "127.0.0.0/8", "--connect-port", str(up.port), "--filter", flt)
KEPT = "SIGHUP: keeping the previous rules"


def decisions(host):
    """(plain GET status, CONNECT status) for host."""
    status, _ = get_via(px, f"http://{host}:{up.port}/hello")
    s, head = proxy_connect(px, f"{host}:{up.port}")
    s.close()
    return status, status_of(head)


def rules(what, allowed, denied):
    check(decisions(allowed) == (200, 200), f"{what}: {allowed} allowed (GET and CONNECT)")
    check(decisions(denied) == (403, 403), f"{what}: {denied} denied (GET and CONNECT)")


def hup_broken(what, expect, hups):
    px.proc.send_signal(signal.SIGHUP)
    check(wait_for(lambda: px.errors().count(KEPT) == hups),
          f"{what}: SIGHUP reports the old rules are kept")
    lines = [ln for ln in px.errors().splitlines() if KEPT in ln]
    check(lines and expect in lines[-1], f"{what}: the error says why: {lines[-1:]}")
    rules(f"{what}: old rules in force", "127.0.0.1", "localhost")
    rules(f"{what}: still, after more requests", "127.0.0.1", "localhost")
    check(px.errors().count(KEPT) == hups, f"{what}: reported once, not per request")
    check(px.proc.poll() is None, f"{what}: proxy still running")


rules("initial filter", "127.0.0.1", "localhost")

# A regex error on line 2; line 1 alone would allow localhost.
with open(flt, "w") as f:
    f.write("^localhost$\n[unclosed\n")
hup_broken("invalid regex", f"{flt}:2", 1)

os.rename(flt, flt + ".away")
hup_broken("missing file", "cannot open", 2)

if os.geteuid() == 0:  # root reads mode 000 files; a directory cannot be read by anyone
    os.mkdir(flt)
    hup_broken("unreadable (a directory)", "cannot read", 3)
    os.rmdir(flt)
else:
    with open(flt, "w") as f:
        f.write("^localhost$\n")
    os.chmod(flt, 0)
    hup_broken("unreadable (mode 000)", "cannot open", 3)
    os.unlink(flt)

# Fixed: the new rules apply.
with open(flt, "w") as f:
    f.write("^localhost$\n")
px.proc.send_signal(signal.SIGHUP)
check(wait_for(lambda: "SIGHUP: policy reloaded" in px.errors()), "fixed file: SIGHUP reloads")
rules("fixed file", "localhost", "127.0.0.1")
check(px.errors().count(KEPT) == 3, "fixed file: no further error")

# The same unreadable filter must also stop a fresh start, not compile to
# an empty allowlist.
os.mkdir(flt + ".dir")
r = subprocess.run([harness.PROXY, "--check", "--filter", flt + ".dir"], capture_output=True,
                   text=True)
check(r.returncode == 1 and "cannot read" in r.stderr,
      f"a directory as --filter is an error at start ({r.returncode}: {r.stderr.strip()[:60]})")
finish()
