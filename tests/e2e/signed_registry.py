"""A registry front that behaves as registry.ollama.ai does, for pull/push tests: every /v2/
request needs a Bearer token; the token realm on the same host hands one out only for a
request signed with the expected Ed25519 key (spec section 8.7), checked with Debian's
python3-cryptography, an implementation independent of ours; blob GETs answer 307 to a
separate "CDN" host that must never see the registry's token. Everything else is proxied to a
real docker-registry behind it."""

import base64
import hashlib
import http.client
import http.server
import json
import secrets
import socketserver
import threading
import time
import urllib.parse

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def ssh_wire_to_raw(b64):
    """The 32 raw key bytes of a base64 SSH wire-format ssh-ed25519 public key."""
    blob = base64.b64decode(b64)
    n = int.from_bytes(blob[:4], "big")
    if blob[4:4 + n] != b"ssh-ed25519":
        raise ValueError("not ssh-ed25519")
    rest = blob[4 + n:]
    m = int.from_bytes(rest[:4], "big")
    return rest[4:4 + m]


EMPTY_BODY = base64.b64encode(hashlib.sha256(b"").hexdigest().encode()).decode()


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


class SignedRegistry:
    """Front on its own port (`port`), CDN on another (`cdn_port`), docker-registry at
    `backend_port`. `expected_pub` is the base64 wire key whose signatures are accepted."""

    def __init__(self, backend_port, expected_pub):
        self.backend_port = backend_port
        self.expected_pub = expected_pub
        self.accepted = 0          # token requests signed correctly
        self.rejected = []         # reasons for refused token requests
        self.cdn_hits = 0
        self.cdn_auth_seen = []    # Authorization headers that reached the CDN (must stay empty)
        self.tokens = set()
        self.nonces = set()
        self.lock = threading.Lock()
        self.front = _Server(("127.0.0.1", 0), self._front_handler())
        self.cdn = _Server(("127.0.0.1", 0), self._cdn_handler())
        self.port = self.front.server_address[1]
        self.cdn_port = self.cdn.server_address[1]
        for srv in (self.front, self.cdn):
            threading.Thread(target=srv.serve_forever, daemon=True).start()

    def stop(self):
        for srv in (self.front, self.cdn):
            srv.shutdown()
            srv.server_close()

    # --- token realm ---------------------------------------------------------------------

    def check_token_request(self, host, path, auth):
        """None when the request is signed by the expected key, else why not."""
        url = "http://%s%s" % (host, path)
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
        if not auth or ":" not in auth:
            return "unsigned"
        pub, sig = auth.split(":", 1)
        if pub != self.expected_pub:
            return "unknown key"
        try:
            ts = int(query["ts"][0])
            nonce = query["nonce"][0]
        except (KeyError, ValueError):
            return "no ts or nonce"
        if abs(time.time() - ts) > 300:
            return "stale ts"
        try:
            key = Ed25519PublicKey.from_public_bytes(ssh_wire_to_raw(pub))
            key.verify(base64.b64decode(sig), ("GET,%s,%s" % (url, EMPTY_BODY)).encode())
        except (InvalidSignature, ValueError):
            return "bad signature"
        with self.lock:
            if nonce in self.nonces:
                return "replayed nonce"
            self.nonces.add(nonce)
        return None

    # --- handlers ------------------------------------------------------------------------

    def _front_handler(self):
        reg = self

        class Front(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def reply(self, status, body=b"", headers=(), length=None):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body) if length is None else length))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if self.path.startswith("/token"):
                    why = reg.check_token_request(self.headers.get("Host"), self.path,
                                                  self.headers.get("Authorization"))
                    if why:
                        with reg.lock:
                            reg.rejected.append(why)
                        return self.reply(401, json.dumps({"error": why}).encode())
                    token = secrets.token_hex(16)
                    with reg.lock:
                        reg.accepted += 1
                        reg.tokens.add(token)
                    return self.reply(200, json.dumps({"token": token}).encode(),
                                      [("Content-Type", "application/json")])
                auth = self.headers.get("Authorization") or ""
                if not (auth.startswith("Bearer ") and auth[7:] in reg.tokens):
                    repo = self.path.split("/")[2:4]
                    challenge = ('Bearer realm="http://127.0.0.1:%d/token",service="test",'
                                 'scope="repository:%s:pull,push"' % (reg.port, "/".join(repo)))
                    return self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}',
                                      [("WWW-Authenticate", challenge)])
                parts = urllib.parse.urlsplit(self.path).path.split("/")
                if self.command == "GET" and len(parts) == 6 and parts[4] == "blobs":
                    loc = "http://127.0.0.1:%d/cdn/%s/%s/%s" % (reg.cdn_port, parts[2], parts[3],
                                                              parts[5])
                    return self.reply(307, b"", [("Location", loc)])
                self.proxy(body)

            def proxy(self, body):
                conn = http.client.HTTPConnection("127.0.0.1", reg.backend_port, timeout=60)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("authorization", "connection")}
                conn.request(self.command, self.path, body=body, headers=headers)
                r = conn.getresponse()
                data = r.read()
                out = [(k, v) for k, v in r.getheaders()
                       if k.lower() not in ("content-length", "transfer-encoding", "connection")]
                conn.close()
                # A HEAD answer has no body but the length of the one a GET would get.
                length = r.getheader("Content-Length") if self.command == "HEAD" else None
                self.reply(r.status, data, out, length)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

        return Front

    def _cdn_handler(self):
        reg = self

        class Cdn(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                with reg.lock:
                    reg.cdn_hits += 1
                    if self.headers.get("Authorization"):
                        reg.cdn_auth_seen.append(self.headers.get("Authorization"))
                _, _, ns, model, digest = self.path.split("/")
                headers = {}
                if self.headers.get("Range"):
                    headers["Range"] = self.headers.get("Range")
                conn = http.client.HTTPConnection("127.0.0.1", reg.backend_port, timeout=60)
                conn.request("GET", "/v2/%s/%s/blobs/%s" % (ns, model, digest), headers=headers)
                r = conn.getresponse()
                data = r.read()
                conn.close()
                self.send_response(r.status)
                for k in ("Content-Range", "Content-Type"):
                    if r.getheader(k):
                        self.send_header(k, r.getheader(k))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Cdn
