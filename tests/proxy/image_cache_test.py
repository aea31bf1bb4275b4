"""The image cache (--image-cache DIR --cache-registry HOST:PORT) through the
real proxy, against a fake registry on loopback (plain HTTP and TLS) and a
fake storage server it redirects to: a blob GET is fetched, streamed,
stored under DIR/sha256/HEX and then served from disk without touching the
registry (also while the registry answers 500); HEAD of a hit; a corrupted
cached file is refetched; bytes that do not hash to the digest, a blob over
--image-cache-size, a Range and a HEAD miss are relayed and not stored; a
redirect is followed without the client's credentials, under the policy
(403 when the storage port is not allowed); manifests and /v2/ pass
untouched, without a "cache" log key; a CONNECT to a TLS registry is
intercepted with a leaf signed by DIR/ca/ca.crt (trusted through
DIR/ca/bundle.crt, refused by a client trusting only the registry's CA);
and the usage errors of the cache's flags."""

import hashlib
import http.server
import json
import os
import socket
import socketserver
import ssl
import subprocess
import threading

from harness import PROXY, Proxy, check, curl, finish, free_port, tmpdir, wait_for


def sha(data):
    return hashlib.sha256(data).hexdigest()


def blob_path(hexd):
    return f"/v2/test/blobs/sha256:{hexd}"


class _RegistryHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else each response waits for a delayed ACK

    def log_message(self, *a):
        pass

    def _send(self, status, body=b"", headers=(), head_only=False):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head_only:
            self.wfile.write(body)

    def _serve(self, head_only):
        srv = self.server
        path = self.path.split("?", 1)[0]
        with srv.lock:
            srv.requests.append({"method": self.command, "path": path, "query": self.path,
                                 "auth": self.headers.get("Authorization"),
                                 "range": self.headers.get("Range")})
        if srv.role == "storage":
            hexd = path.rsplit("/", 1)[-1]
            if not path.startswith("/storage/") or hexd not in srv.blobs:
                return self._send(404, b"no such object\n", head_only=head_only)
            return self._send(200, srv.blobs[hexd], [("Content-Type", "application/octet-stream")],
                              head_only)
        if path == "/v2/":
            return self._send(200, b"{}", [("Content-Type", "application/json"),
                                           ("Docker-Distribution-Api-Version", "registry/2.0")],
                              head_only)
        if path == "/v2/test/manifests/latest":
            return self._send(200, srv.manifest, [("Content-Type",
                                                   "application/vnd.oci.image.manifest.v1+json")],
                              head_only)
        prefix = "/v2/test/blobs/sha256:"
        hexd = path[len(prefix):] if path.startswith(prefix) else None
        if hexd not in srv.blobs:
            return self._send(404, b'{"errors":[{"code":"BLOB_UNKNOWN"}]}', head_only=head_only)
        if srv.broken:
            return self._send(500, b"registry broken\n", head_only=head_only)
        if hexd in srv.redirect:
            to = f"{srv.redirect[hexd]}/storage/{hexd}?sig=x"
            return self._send(307, b"", [("Location", to)], head_only)
        data = srv.wrong.get(hexd, srv.blobs[hexd])
        headers = [("Content-Type", "application/octet-stream"),
                   ("Docker-Content-Digest", f"sha256:{hexd}")]
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes="):
            first, last = rng[len("bytes="):].split("-")
            first, last = int(first), min(int(last), len(data) - 1)
            headers.append(("Content-Range", f"bytes {first}-{last}/{len(data)}"))
            return self._send(206, data[first:last + 1], headers, head_only)
        return self._send(200, data, headers, head_only)

    def do_GET(self):
        self._serve(False)

    def do_HEAD(self):
        self._serve(True)


class FakeServer:
    """A threaded HTTP/1.1 keep-alive registry (role "registry") or storage
    server (role "storage") on 127.0.0.1, optionally TLS, that records every
    request's method, path, Authorization and Range."""

    def __init__(self, blobs, role="registry", tls=None):
        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

            def finish_request(self, request, client_address):
                if tls is not None:
                    request = tls.wrap_socket(request, server_side=True)
                super().finish_request(request, client_address)

            def handle_error(self, request, client_address):
                pass  # handshakes a test refuses on purpose, clients gone

        self.server = Server(("127.0.0.1", 0), _RegistryHandler)
        s = self.server
        s.role, s.blobs, s.lock = role, blobs, threading.Lock()
        s.requests, s.wrong, s.redirect, s.broken = [], {}, {}, False
        s.manifest = b'{"schemaVersion":2}'
        self.port = s.server_address[1]
        threading.Thread(target=s.serve_forever, daemon=True).start()

    def __getattr__(self, name):
        return getattr(self.server, name)

    def count(self, method, path):
        with self.server.lock:
            return sum(1 for r in self.server.requests
                       if r["method"] == method and r["path"] == path)

    def seen(self, path):
        with self.server.lock:
            return [r for r in self.server.requests if r["path"] == path]

    def set_broken(self, on):
        self.server.broken = on


class LogTail:
    """The access log's lines since the last mark (each curl request is one
    line; an intercepted CONNECT adds a CONNECT line, left out here)."""

    def __init__(self, path):
        self.path = path
        self.seen = 0

    def _lines(self):
        try:
            with open(self.path) as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def mark(self):
        self.seen = len(self._lines())

    def take(self, n=1):
        """Waits for n new non-CONNECT lines; returns the new ones (maybe fewer)."""
        got = []

        def ready():
            nonlocal got
            got = [x for x in self._lines()[self.seen:] if x["method"] != "CONNECT"]
            return len(got) >= n

        wait_for(ready, 5)
        self.seen = len(self._lines())
        return got


def expect(cond, what, detail):
    """check() that adds what was seen to the message only when it failed."""
    return check(cond, what if cond else f"{what} ({detail})")


def one(lines, what):
    """The single line a request wrote, or {} (after a failed check)."""
    expect(len(lines) == 1, f"{what}: one access-log line", lines)
    return lines[0] if lines else {}


def fetch(px, url, *extra):
    return curl("-x", px.url, *extra, url)


def status_and_body(px, url, *extra):
    r = curl("-x", px.url, "-o", "-", "-w", "\n%{http_code}", *extra, url)
    body, _, code = r.stdout.rpartition(b"\n")
    return int(code or b"0"), body


d = tmpdir()

# Certificates for the TLS registry: a test CA and a leaf for 127.0.0.1 and
# localhost, as a real registry's would be under a public CA.
test_ca, test_ca_key = os.path.join(d, "test-ca.crt"), os.path.join(d, "test-ca.key")
srv_crt, srv_key, srv_csr = (os.path.join(d, n) for n in ("srv.crt", "srv.key", "srv.csr"))
ext = os.path.join(d, "srv.ext")
with open(ext, "w") as f:
    f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
            "extendedKeyUsage=serverAuth\n")
for argv in (["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
              "-nodes", "-days", "2", "-subj", "/CN=image cache test registry CA",
              "-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign",
              "-keyout", test_ca_key, "-out", test_ca],
             ["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
              "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", srv_key, "-out", srv_csr],
             ["openssl", "x509", "-req", "-in", srv_csr, "-CA", test_ca, "-CAkey", test_ca_key,
              "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", srv_crt]):
    subprocess.run(argv, check=True, capture_output=True)
tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
tls_ctx.load_cert_chain(srv_crt, srv_key)

blobs = {}


def new_blob(size):
    data = os.urandom(size)
    blobs[sha(data)] = data
    return sha(data), data


reg = FakeServer(blobs)
storage = FakeServer(blobs, role="storage")
tls_reg = FakeServer(blobs, tls=tls_ctx)
base = f"http://127.0.0.1:{reg.port}"
tls_base = f"https://127.0.0.1:{tls_reg.port}"

cache = os.path.join(d, "cache")
log = os.path.join(d, "access.log")
px = Proxy("--allow-private", "--image-cache", cache,
           "--cache-registry", f"127.0.0.1:{reg.port}",
           "--cache-registry", f"127.0.0.1:{tls_reg.port}", "--connect-port", str(tls_reg.port),
           "--upstream-ca", test_ca, log=log)
tail = LogTail(log)


def stored(hexd, where=cache):
    return os.path.join(where, "sha256", hexd)


def file_bytes(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


# 1. A miss is fetched, streamed and stored; then served from disk.
h1, b1 = new_blob(300 * 1024 + 7)
tail.mark()
r = fetch(px, f"{base}{blob_path(h1)}")
expect(r.returncode == 0 and r.stdout == b1, "first GET returns the blob's bytes", r.stderr)
rec = one(tail.take(), "first GET")
expect(rec.get("cache") == "stored", "first GET is logged cache=stored", rec)
check(file_bytes(stored(h1)) == b1, "the blob is in DIR/sha256/HEX with its bytes")
check(reg.count("GET", blob_path(h1)) == 1, "the registry served the first GET")
r = fetch(px, f"{base}{blob_path(h1)}")
check(r.returncode == 0 and r.stdout == b1, "second GET returns the same bytes")
rec = one(tail.take(), "second GET")
expect(rec.get("cache") == "hit" and rec.get("status") == 200, "second GET is logged cache=hit",
       rec)
check(reg.count("GET", blob_path(h1)) == 1, "a hit does not reach the registry")
reg.set_broken(True)
r = fetch(px, f"{base}{blob_path(h1)}")
check(r.returncode == 0 and r.stdout == b1, "a hit is served while the registry answers 500")
rec = one(tail.take(), "GET while the registry is broken")
expect(rec.get("cache") == "hit", "GET while the registry is broken is a hit", rec)
check(reg.count("GET", blob_path(h1)) == 1, "the broken registry saw no second GET of the blob")
reg.set_broken(False)

# 2. HEAD of a hit: answered from the store.
r = curl("-x", px.url, "-I", f"{base}{blob_path(h1)}")
head = r.stdout.decode(errors="replace").lower()
expect(head.startswith("http/1.1 200"), "HEAD of a cached blob is 200", head[:40])
check(f"content-length: {len(b1)}\r\n" in head, "HEAD of a hit has Content-Length = blob size")
check(f"docker-content-digest: sha256:{h1}\r\n" in head, "HEAD of a hit has Docker-Content-Digest")
rec = one(tail.take(), "HEAD of a hit")
expect(rec.get("cache") == "hit", "HEAD of a cached blob is logged cache=hit", rec)
check(reg.count("HEAD", blob_path(h1)) == 0, "HEAD of a hit does not reach the registry")

# 3. A corrupted cached file is not served: removed, fetched again, stored.
path1 = stored(h1)
mode = os.stat(path1).st_mode & 0o7777
os.chmod(path1, 0o600)
with open(path1, "r+b") as f:
    f.seek(1000)
    byte = f.read(1)
    f.seek(1000)
    f.write(bytes([byte[0] ^ 0xFF]))
os.chmod(path1, mode)
r = fetch(px, f"{base}{blob_path(h1)}")
check(r.returncode == 0 and r.stdout == b1, "a corrupt cached blob is not served: the real bytes")
rec = one(tail.take(), "GET of a corrupt cached blob")
expect(rec.get("cache") == "stored", "the corrupt blob is refetched and stored again", rec)
check(reg.count("GET", blob_path(h1)) == 2, "the registry served the refetch")
check("is corrupt" in px.errors(), "stderr says the cached blob is corrupt")
check(file_bytes(path1) == b1, "the cached file is valid again afterwards")

# 4. Bytes that do not hash to the digest: relayed, not stored.
h2, b2 = new_blob(100 * 1024)
wrong = bytes(len(b2))
reg.wrong[h2] = wrong
r = fetch(px, f"{base}{blob_path(h2)}")
check(r.returncode == 0 and r.stdout == wrong, "a mismatching blob is streamed to the client")
rec = one(tail.take(), "GET of a mismatching blob")
expect(rec.get("cache") == "miss", "a mismatching blob is logged cache=miss", rec)
expect("not stored" in rec.get("reason", ""), "its reason says not stored", rec.get("reason"))
check(not os.path.exists(stored(h2)), "nothing is stored under the mismatching digest")
tmp = os.path.join(cache, "tmp")
left = os.listdir(tmp) if os.path.isdir(tmp) else []
expect(left == [], "no leftover in DIR/tmp", left)
del reg.wrong[h2]

# 5. Over --image-cache-size: served, not stored.
small_cache = os.path.join(d, "small")
small_log = os.path.join(d, "small.log")
px_small = Proxy("--allow-private", "--image-cache", small_cache, "--image-cache-size", "1K",
                 "--cache-registry", f"127.0.0.1:{reg.port}", log=small_log)
small_tail = LogTail(small_log)
h5, b5 = new_blob(2048)
r = fetch(px_small, f"{base}{blob_path(h5)}")
check(r.returncode == 0 and r.stdout == b5, "a blob over --image-cache-size is served")
rec = one(small_tail.take(), "GET of a blob over the size limit")
expect("not stored" in rec.get("reason", "") and rec.get("cache") != "stored",
       "a blob over the size limit is not stored, reason says so", rec)
check(not os.path.exists(stored(h5, small_cache)), "the blob over the size limit is not on disk")
px_small.stop()

# 6. A redirect to storage: followed by the proxy, without the credentials.
h6, b6 = new_blob(64 * 1024)
reg.redirect[h6] = f"http://127.0.0.1:{storage.port}"
r = fetch(px, f"{base}{blob_path(h6)}", "-H", "Authorization: Bearer secret")
check(r.returncode == 0 and r.stdout == b6, "a redirected blob arrives (the proxy follows the 307)")
rec = one(tail.take(), "GET of a redirected blob")
expect(rec.get("cache") == "stored" and rec.get("status") == 200,
       "a redirected blob is logged 200, cache=stored", rec)
check(file_bytes(stored(h6)) == b6, "the redirected blob is stored")
reg_saw = [x["auth"] for x in reg.seen(blob_path(h6))]
store_saw = [x["auth"] for x in storage.seen(f"/storage/{h6}")]
expect(reg_saw == ["Bearer secret"], "the registry got the client's Authorization", reg_saw)
expect(store_saw == [None], "the storage server got no Authorization", store_saw)
check(all(x["query"].endswith("?sig=x") for x in storage.seen(f"/storage/{h6}")),
      "the storage request keeps the signed query")

# The same redirect where the policy does not allow the storage port: 403.
strict_cache = os.path.join(d, "strict")
strict_log = os.path.join(d, "strict.log")
px_strict = Proxy("--allow-cidr", "127.0.0.1/32", "--allow", f"127.0.0.1:{reg.port}",
                  "--image-cache", strict_cache, "--cache-registry", f"127.0.0.1:{reg.port}",
                  log=strict_log)
strict_tail = LogTail(strict_log)
h6b, b6b = new_blob(4096)
reg.redirect[h6b] = f"http://127.0.0.1:{storage.port}"
code, body = status_and_body(px_strict, f"{base}{blob_path(h6b)}")
expect(code == 403, "a redirect to a port the policy refuses gets 403", (code, body[:200]))
check(storage.seen(f"/storage/{h6b}") == [], "the refused storage server was not reached")
check(not os.path.exists(stored(h6b, strict_cache)), "nothing stored after a refused redirect")
rec = one(strict_tail.take(), "refused redirect")
expect(rec.get("decision") == "deny" and rec.get("status") == 403, "the refusal is logged", rec)
expect(rec.get("port") == storage.port and "redirected to" in rec.get("reason", ""),
       "the refusal names the storage host:port the redirect went to, not the registry", rec)
px_strict.stop()

# 7. A Range of an uncached blob, and a HEAD miss: forwarded, not stored.
h7, b7 = new_blob(50 * 1024)
r = fetch(px, f"{base}{blob_path(h7)}", "-H", "Range: bytes=0-9")
expect(r.returncode == 0 and r.stdout == b7[:10], "a Range GET gets the range", r.stdout[:20])
ranges = [x["range"] for x in reg.seen(blob_path(h7)) if x["method"] == "GET"]
expect(ranges == ["bytes=0-9"], "the registry saw the Range request", ranges)
rec = one(tail.take(), "Range GET")
expect(rec.get("cache") == "miss" and rec.get("status") == 206, "a Range GET is logged miss, 206",
       rec)
check(not os.path.exists(stored(h7)), "a Range GET stores nothing")
r = curl("-x", px.url, "-I", f"{base}{blob_path(h7)}")
head = r.stdout.decode(errors="replace").lower()
expect(head.startswith("http/1.1 200") and f"content-length: {len(b7)}\r\n" in head,
       "a HEAD miss is answered by the registry", head)
check(reg.count("HEAD", blob_path(h7)) == 1, "the registry saw the HEAD miss")
rec = one(tail.take(), "HEAD miss")
expect(rec.get("cache") == "miss", "a HEAD miss is logged cache=miss", rec)
check(not os.path.exists(stored(h7)), "a HEAD miss stores nothing")

# 8. Not blobs: forwarded untouched, no "cache" key.
r = fetch(px, f"{base}/v2/")
check(r.returncode == 0 and r.stdout == b"{}", "/v2/ is forwarded")
r2 = fetch(px, f"{base}/v2/test/manifests/latest")
check(r2.returncode == 0 and r2.stdout == reg.manifest, "a manifest is forwarded")
check(len(reg.seen("/v2/")) == 1 and len(reg.seen("/v2/test/manifests/latest")) == 1,
      "the registry saw /v2/ and the manifest")
lines = tail.take(2)
expect(len(lines) == 2 and all("cache" not in x for x in lines),
       "non-blob requests have no cache key in the log", lines)

# 9. TLS: a CONNECT to the cache registry is intercepted.
bundle = os.path.join(cache, "ca", "bundle.crt")
cache_ca = os.path.join(cache, "ca", "ca.crt")
h9, b9 = new_blob(200 * 1024)
r = fetch(px, f"{tls_base}{blob_path(h9)}", "--cacert", bundle)
expect(r.returncode == 0 and r.stdout == b9,
       "an intercepted HTTPS GET trusting DIR/ca/bundle.crt returns the blob", r.stderr)
rec = one(tail.take(), "first intercepted GET")
expect(rec.get("cache") == "stored", "the first intercepted GET is logged cache=stored", rec)
check(file_bytes(stored(h9)) == b9, "the intercepted blob is stored")
r = fetch(px, f"{tls_base}{blob_path(h9)}", "--cacert", bundle)
check(r.returncode == 0 and r.stdout == b9, "the second intercepted GET returns the blob")
rec = one(tail.take(), "second intercepted GET")
expect(rec.get("cache") == "hit", "the second intercepted GET is logged cache=hit", rec)
check(tls_reg.count("GET", blob_path(h9)) == 1, "the TLS registry saw one GET of the blob")
r = fetch(px, f"{tls_base}{blob_path(h9)}", "--cacert", test_ca)
expect(r.returncode == 60 and b"certificate" in r.stderr,
       "a client trusting only the registry's CA fails certificate verification",
       (r.returncode, r.stderr))


def subject(pem_path):
    out = subprocess.run(["openssl", "x509", "-in", pem_path, "-noout", "-subject",
                          "-nameopt", "RFC2253"], capture_output=True, text=True).stdout
    return out.strip().removeprefix("subject=")


def leaf_issuer():
    """The issuer of the certificate the client sees after CONNECT."""
    with socket.create_connection(("127.0.0.1", px.port), timeout=10) as s:
        s.sendall(f"CONNECT 127.0.0.1:{tls_reg.port} HTTP/1.1\r\n"
                  f"Host: 127.0.0.1:{tls_reg.port}\r\n\r\n".encode())
        got = b""
        while b"\r\n\r\n" not in got:
            chunk = s.recv(4096)
            if not chunk:
                return f"no answer to CONNECT: {got!r}"
            got += chunk
        if not got.startswith(b"HTTP/1.1 200"):
            return f"CONNECT answered {got!r}"
        ctx = ssl.create_default_context(cafile=cache_ca)
        with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
            der = t.getpeercert(binary_form=True)
    pem = os.path.join(d, "leaf.pem")
    with open(pem, "w") as f:
        f.write(ssl.DER_cert_to_PEM_cert(der))
    out = subprocess.run(["openssl", "x509", "-in", pem, "-noout", "-issuer",
                          "-nameopt", "RFC2253"], capture_output=True, text=True).stdout
    return out.strip().removeprefix("issuer=")


try:
    issuer = leaf_issuer()
except (OSError, ssl.SSLError) as e:
    issuer = f"handshake failed: {e}"
expect(issuer == subject(cache_ca) and issuer != subject(test_ca),
       "the client sees the proxy's leaf, issued by DIR/ca/ca.crt", (issuer, subject(cache_ca)))
key_mode = os.stat(os.path.join(cache, "ca", "ca.key")).st_mode & 0o777
expect(key_mode == 0o600, "DIR/ca/ca.key has mode 0600", oct(key_mode))


# 9b. A client that stops reading inside an intercepted connection does not
# hold the proxy's descriptors past --idle-timeout (the TLS bridge has a
# deadline of its own).
idle_cache = os.path.join(d, "idle")
px_idle = Proxy("--allow-private", "--image-cache", idle_cache, "--idle-timeout", "1",
                "--cache-registry", f"127.0.0.1:{tls_reg.port}", "--connect-port", str(tls_reg.port),
                "--upstream-ca", test_ca)
h9b, b9b = new_blob(16 << 20)
fds = lambda: len(os.listdir(f"/proc/{px_idle.proc.pid}/fd"))  # noqa: E731
baseline = fds()
stuck = socket.create_connection(("127.0.0.1", px_idle.port), timeout=10)
stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
stuck.sendall(f"CONNECT 127.0.0.1:{tls_reg.port} HTTP/1.1\r\n\r\n".encode())
answer = b""
while b"\r\n\r\n" not in answer:
    answer += stuck.recv(1)
tls_stuck = ssl.create_default_context(cafile=os.path.join(idle_cache, "ca", "ca.crt")).wrap_socket(
    stuck, server_hostname="127.0.0.1")
tls_stuck.sendall(f"GET {blob_path(h9b)} HTTP/1.1\r\nHost: 127.0.0.1:{tls_reg.port}\r\n\r\n"
                  .encode())
busy = wait_for(lambda: fds() > baseline, 5)
released = wait_for(lambda: fds() <= baseline, 8)
expect(busy and released,
       "a stalled intercepted client's descriptors are released after --idle-timeout",
       (baseline, fds()))
tls_stuck.close()
px_idle.stop()


# 10. The flags.
def usage(*args):
    argv = [PROXY, "--listen", f"tcp:127.0.0.1:{free_port()}", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=10)


flag_dir = os.path.join(d, "flags")
u = usage("--cache-registry", "127.0.0.1:5000")
expect(u.returncode == 2 and "--cache-registry" in u.stderr and "--image-cache" in u.stderr,
       "--cache-registry without --image-cache exits 2 naming the flags", (u.returncode, u.stderr))
u = usage("--image-cache", flag_dir)
expect(u.returncode == 2 and "--cache-registry" in u.stderr,
       "--image-cache without --cache-registry exits 2 naming the flag", (u.returncode, u.stderr))
for size in ("0", "abc"):
    u = usage("--image-cache", flag_dir, "--cache-registry", "127.0.0.1:5000",
              "--image-cache-size", size)
    expect(u.returncode == 2 and "--image-cache-size" in u.stderr,
           f"--image-cache-size {size} exits 2 naming the flag", (u.returncode, u.stderr))
check(not os.path.exists(flag_dir), "a usage error creates no cache directory")

px.stop()
finish()
