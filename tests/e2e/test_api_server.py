"""Server behaviour end to end: CORS and DNS-rebinding checks, binding forms (IPv6, all
interfaces), start-up (prune, identity key, log lines) and clean shutdown on signals."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from ollama_e2e import ServerProcess, ServerTestCase, bytes_digest, ollama_bin


def raw_request(port, data, timeout=10):
    """Sends raw bytes on a fresh connection; returns the raw response bytes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks)


def raw_request6(port, data, timeout=10):
    with socket.create_connection(("::1", port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                return out
            out += b


class CorsAndHostTest(ServerTestCase):
    server_env = {"OLLAMA_ORIGINS": "https://*.example.com,http://exact.test"}

    def test_allowed_origin(self):
        for origin in ("http://localhost", "http://localhost:3000", "https://127.0.0.1:8080",
                       "app://anything", "vscode-webview://x", "https://a.example.com",
                       "http://exact.test", "chrome-extension://abcdef"):
            r = self.server.get("/api/version", headers={"Origin": origin})
            self.assertEqual(r.status, 200, origin)
            self.assertEqual(r.headers.get("access-control-allow-origin"), origin)

    def test_disallowed_origin(self):
        for origin in ("http://evil.com", "https://example.com", "http://exact.test.evil"):
            r = self.server.get("/api/version", headers={"Origin": origin})
            self.assertEqual(r.status, 403, origin)
            self.assertNotIn("access-control-allow-origin", r.headers)

    def test_preflight(self):
        r = self.server.request("OPTIONS", "/api/chat", headers={
            "Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-stainless-os"})
        self.assertEqual(r.status, 204)
        self.assertEqual(r.headers["access-control-allow-origin"], "http://localhost:5173")
        allowed = r.headers["access-control-allow-headers"].lower().split(",")
        for h in ("authorization", "content-type", "x-stainless-os", "openai-beta"):
            self.assertIn(h, allowed)
        self.assertIn("POST", r.headers["access-control-allow-methods"])

    def test_no_origin_no_cors_headers(self):
        r = self.server.get("/api/version")
        self.assertNotIn("access-control-allow-origin", r.headers)

    def test_host_check(self):
        port = self.server.port
        for host, want in (("evil.com", 403), ("evil.com:%d" % port, 403),
                           ("localhost:%d" % port, 200), ("localhost", 200),
                           ("foo.localhost", 200), ("box.local", 200), ("svc.internal", 200),
                           ("127.0.0.1:%d" % port, 200), ("10.1.2.3", 200),
                           ("192.168.0.5:80", 200), ("[::1]:%d" % port, 200),
                           ("8.8.8.8", 403)):
            resp = raw_request(port, ("GET /api/version HTTP/1.1\r\nHost: %s\r\n"
                                      "Connection: close\r\n\r\n" % host).encode())
            status = int(resp.split(b" ", 2)[1])
            self.assertEqual(status, want, host)


class AllOriginsTest(ServerTestCase):
    server_env = {"OLLAMA_ORIGINS": "*"}

    def test_wildcard_all(self):
        r = self.server.get("/api/version", headers={"Origin": "http://anything.example"})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers["access-control-allow-origin"], "*")


class NonLoopbackHostTest(unittest.TestCase):
    def test_any_host_when_bound_to_all(self):
        server = ServerProcess.start(host="0.0.0.0")
        try:
            resp = raw_request(server.port, b"GET / HTTP/1.1\r\nHost: evil.com\r\n"
                                            b"Connection: close\r\n\r\n")
            self.assertTrue(resp.startswith(b"HTTP/1.1 200"), resp[:100])
        finally:
            server.stop()


class Ipv6Test(unittest.TestCase):
    def test_ipv6_loopback(self):
        try:
            with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
                s.bind(("::1", 0))
                port = s.getsockname()[1]
        except OSError:
            self.skipTest("no IPv6 loopback")
        server = ServerProcess.start(host="::1", port=port)
        try:
            self.assertIn("Listening on [::1]:%d" % port, server.log())
            r = server.get("/api/version")
            self.assertEqual(r.status, 200)
            # Host "[::1]:port" passes the rebinding check; a foreign name does not.
            resp = raw_request6(port, b"GET / HTTP/1.1\r\nHost: evil.com\r\n"
                                      b"Connection: close\r\n\r\n")
            self.assertTrue(resp.startswith(b"HTTP/1.1 403"), resp[:100])
        finally:
            server.stop()


class CloudStatusTest(unittest.TestCase):
    def test_env_and_config_sources(self):
        server = ServerProcess.start(extra_env={"OLLAMA_NO_CLOUD": "1"})
        try:
            self.assertEqual(server.get("/api/status").json(),
                             {"cloud": {"disabled": True, "source": "env"}})
            with open(os.path.join(server.home, ".ollama", "server.json"), "w") as f:
                f.write('{"disable_ollama_cloud": true}')
            self.assertEqual(server.get("/api/status").json(),
                             {"cloud": {"disabled": True, "source": "both"}})
        finally:
            server.stop()


class PruneOnStartTest(unittest.TestCase):
    def start_with_stale_blob(self, extra_env):
        tmp = tempfile.mkdtemp(prefix="ollama-e2e-prune-")
        blobs = os.path.join(tmp, "models", "blobs")
        os.makedirs(blobs)
        stale = os.path.join(blobs, "sha256-" + "3" * 64)
        partial = os.path.join(blobs, "sha256-" + "4" * 64 + "-partial")
        fresh = os.path.join(blobs, "sha256-" + "5" * 64)
        old = time.time() - 2 * 3600
        for p in (stale, partial, fresh):
            with open(p, "wb") as f:
                f.write(b"x")
        os.utime(stale, (old, old))
        os.utime(partial, (old, old))
        server = ServerProcess.start(extra_env=extra_env, tmpdir=tmp)
        server.stop()
        left = sorted(os.listdir(blobs))
        shutil.rmtree(tmp, ignore_errors=True)
        return left

    def test_prunes_unreferenced_old_blobs(self):
        self.assertEqual(self.start_with_stale_blob(None), ["sha256-" + "5" * 64])

    def test_noprune_keeps_them(self):
        self.assertEqual(len(self.start_with_stale_blob({"OLLAMA_NOPRUNE": "1"})), 3)


class ShutdownTest(unittest.TestCase):
    def test_sigterm_exits_zero(self):
        server = ServerProcess.start()
        try:
            self.assertEqual(server.get("/").status, 200)
            t0 = time.time()
            rc = server.stop()
            self.assertEqual(rc, 0, server.log())
            self.assertLess(time.time() - t0, 12)
        finally:
            server.stop()

    def test_in_flight_request_finishes_after_sigterm(self):
        server = ServerProcess.start()
        try:
            data = b"z" * (4 << 20)
            digest = bytes_digest(data)
            head = ("POST /api/blobs/%s HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n"
                    "\r\n" % (digest, len(data))).encode()
            with socket.create_connection(("127.0.0.1", server.port), timeout=20) as s:
                s.sendall(head + data[:1 << 20])
                time.sleep(0.3)
                server.proc.send_signal(signal.SIGTERM)
                time.sleep(0.5)
                self.assertIsNone(server.proc.poll(), "exited with a request in flight")
                s.sendall(data[1 << 20:])
                resp = s.recv(4096)
            self.assertTrue(resp.startswith(b"HTTP/1.1 201"), resp)
            self.assertEqual(server.proc.wait(timeout=15), 0)
            blob = os.path.join(server.models_dir, "blobs", digest.replace(":", "-"))
            self.assertEqual(os.path.getsize(blob), len(data))
        finally:
            server.stop()

    def test_sigterm_drains_a_stream_and_unloads_the_model(self):
        # A long generation in flight: SIGTERM ends the stream at its next token (the client
        # gets its last frames and the connection closes), the model is unloaded and the
        # process exits 0 on its own, well before the test's patience runs out.
        server = ServerProcess.start()
        try:
            server.create_stories()
            body = {"model": "stories", "prompt": "Once upon a time",
                    "options": {"num_predict": 100000, "temperature": 1, "seed": 7}}
            got = 0
            t0 = None
            for status, obj in server.stream_lines("POST", "/api/generate", body, timeout=30):
                self.assertEqual(status, 200)
                got += 1
                if got == 5:
                    server.proc.send_signal(signal.SIGTERM)
                    t0 = time.time()
            self.assertGreaterEqual(got, 5)
            self.assertEqual(server.proc.wait(timeout=15), 0)
            self.assertLess(time.time() - t0, 10)
            log = server.log()
            self.assertIn("unloading models", log)
            self.assertIn("server stopped", log)
        finally:
            server.stop()

    def test_sigint_exits_zero(self):
        server = ServerProcess.start()
        try:
            server.proc.send_signal(signal.SIGINT)
            self.assertEqual(server.proc.wait(timeout=15), 0)
        finally:
            server.stop()

    def test_port_in_use(self):
        server = ServerProcess.start()
        try:
            proc = subprocess.run([ollama_bin(), "serve"], env=server.env, capture_output=True,
                                  text=True, timeout=30)
            self.assertEqual(proc.returncode, 1)
            self.assertIn("address already in use", proc.stderr)
            self.assertEqual(server.get("/").status, 200)
        finally:
            server.stop()

if __name__ == "__main__":
    unittest.main()
