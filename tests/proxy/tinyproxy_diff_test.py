"""Differential test against the real tinyproxy (Debian package): for a
corpus of filter files x host names, our allow/deny decision must equal
tinyproxy's with the same file and FilterType, in allowlist mode
(FilterDefaultDeny Yes).

tinyproxy forwards every request to a loopback "upstream proxy" (its
Upstream directive) that answers 200, so allowed = 200 and denied = 403
without any DNS. Our proxy runs in a bwrap network namespace with only lo
and listens on a Unix socket: an allowed name fails to resolve (502) and
nothing leaves the machine; denied = 403."""

import http.server
import os
import socket
import subprocess
import threading

from harness import PROXY, check, finish, free_port, spawn, stop, tmpdir, wait_for

FILES = {
    "bre": ("bre", """# tinyproxy's own examples and the traps around them
github\\.com
^example\\.org$
.*\\.cnn\\.com$
^adserver
   ^spaced\\.test$   # leading blanks, trailing comment
^tail\\.test$# comment glued on
foo.bar
^[a-c]x\\.test$
^\\(www\\.\\)*dup\\.test$
^x\\{2,3\\}\\.test$
^CASE\\.test$
"""),
    "ere": ("ere", """(^|\\.)github\\.com$
^(www\\.)?example\\.org$
^a+\\.test$
^(foo|bar)\\.test$
x{2}\\.test$

# blank line above
"""),
    "fnmatch": ("fnmatch", """*.example.org
example.com
git?ub.com
[ab]*.test
"""),
    "empty": ("bre", "# nothing allowed\n\n"),
}
HOSTS = """github.com github.com.evil.net notgithub.com api.github.com gitxub.com githubxcom
example.org www.example.org wwwexample.org example.org.evil a.example.org sub.www.example.org
cnn.com www.cnn.com xcnn.com a.b.cnn.com adserver.foo foo.adserver adserver foo.bar fooxbar
foo.bar.baz spaced.test tail.test ax.test cx.test dx.test dup.test www.dup.test www.www.dup.test
xx.test xxx.test xxxx.test a.test aaa.test foo.test bar.test baz.test example.com
www.example.com alpha.test beta.test c.test case.test 10.0.0.1 127.0.0.1""".split()


class AnyOK(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *a):
        pass


upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), AnyOK)
threading.Thread(target=upstream.serve_forever, daemon=True).start()
d = tmpdir()
os.chmod(d, 0o755)


def ask_tcp(port, host):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"GET http://{host}/ HTTP/1.0\r\n\r\n".encode())
        return int(s.recv(64).split(b" ")[1])


def ask_unix(path, host):
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(path)
        s.sendall(f"GET http://{host}/ HTTP/1.0\r\n\r\n".encode())
        return int(s.recv(64).split(b" ")[1])


def start_tinyproxy(name, flt, ftype):
    port = free_port()
    conf = os.path.join(d, f"{name}.conf")
    with open(conf, "w") as f:
        f.write(f'Port {port}\nListen 127.0.0.1\nTimeout 10\nMaxClients 20\n'
                f'Filter "{flt}"\nFilterDefaultDeny Yes\nFilterType {ftype}\n'
                f'Upstream http 127.0.0.1:{upstream.server_address[1]}\n')
    p = spawn(["tinyproxy", "-d", "-c", conf], stdout=subprocess.DEVNULL,
              stderr=subprocess.DEVNULL)
    wait_for(lambda: socket.socket().connect_ex(("127.0.0.1", port)) == 0)
    return p, port


def start_ours(name, flt, ftype):
    sock = os.path.join(d, f"{name}.sock")
    r, w = os.pipe()
    p = spawn(["bwrap", "--dev-bind", "/", "/", "--unshare-net", "--die-with-parent", PROXY,
               "--listen", f"unix:{sock}", "--filter", flt, "--filter-type", ftype,
               "--ready-fd", str(w)], pass_fds=(w,), stderr=subprocess.DEVNULL)
    os.close(w)
    with os.fdopen(r) as ready:
        assert ready.readline() == "ready\n", "proxy did not start"
    return p, sock


compared = 0
for name, (ftype, text) in FILES.items():
    flt = os.path.join(d, f"{name}.filter")
    with open(flt, "w") as f:
        f.write(text)
    tp, tp_port = start_tinyproxy(name, flt, ftype)
    ours, sock = start_ours(name, flt, ftype)
    hosts = HOSTS + (["GitHub.COM", "EXAMPLE.org"] if ftype != "fnmatch" else [])
    for host in hosts:
        theirs_status = ask_tcp(tp_port, host)
        ours_status = ask_unix(sock, host)
        theirs_allow = theirs_status != 403
        ours_allow = ours_status != 403
        check(theirs_allow == ours_allow and theirs_status in (200, 403),
              f"{name:8} {host:22} tinyproxy={'allow' if theirs_allow else 'deny'}"
              f" ({theirs_status}) ours={'allow' if ours_allow else 'deny'} ({ours_status})")
        compared += 1
    stop(tp)
    stop(ours)
check(compared > 150, f"{compared} decisions compared")
finish()
