"""What every Python test helper shares (tests/proxy/harness.py,
tests/load/loadlib.py, tests/faults/faultlib.py, tests/relay/relaytest.py):
recording checks, figures, free ports, a process's fds. One copy, imported
by each, so a rule about how a check or a figure is printed lives here."""
import os
import socket
import sys

# Every failed check's text; `conclude` turns a non-empty list into exit 1.
FAILURES = []


def check(cond, what):
    """Records a failure and goes on, so one run reports every problem."""
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILURES.append(what)
    return cond


def check_no_sanitizer_report(text, who):
    """A sanitizer build reports on the program's stderr: such a report fails."""
    return check("Sanitizer" not in text and "runtime error:" not in text,
                 f"no sanitizer report from {who}")


def conclude():
    """Exit 1 naming the failures, or say all passed (and return)."""
    if FAILURES:
        print(f"{len(FAILURES)} failed: {FAILURES}", flush=True)
        sys.exit(1)
    print("all passed", flush=True)


def figure(text):
    """A measured figure, as `# figure:` lines the docs quote."""
    print(f"# figure: {text}", flush=True)


def free_port(host="127.0.0.1"):
    """A port free on `host` now (IPv6 when it has a colon); racy by nature."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))
