"""Pull and push through the real server against a real docker-registry on loopback:
round trip byte-identical, nothing transferred when present, clear errors when the model or
the registry is missing, statuses as Ollama's; behind a front that signs like
registry.ollama.ai: the server's Ed25519 identity, signed token requests, 307 redirects to a
blob host that never sees the token."""

import base64
import os
import shutil
import stat
import time
import unittest
import urllib.request

from ollama_e2e import REGISTRY, ServerTestCase, free_port, start_registry, stop_registry

try:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from signed_registry import SignedRegistry
    HAVE_CRYPTOGRAPHY = True
except ImportError:
    HAVE_CRYPTOGRAPHY = False


@unittest.skipUnless(os.path.exists(REGISTRY), "docker-registry not installed")
class RegistryRoundTrip(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.reg_pid, cls.reg_port, cls.reg_dir = start_registry()

    @classmethod
    def tearDownClass(cls):
        stop_registry(cls.reg_pid)
        shutil.rmtree(cls.reg_dir, ignore_errors=True)
        super().tearDownClass()

    def statuses(self, path, body):
        out = []
        for status, obj in self.server.stream_lines("POST", path, body):
            self.assertEqual(status, 200)
            self.assertNotIn("error", obj, obj)
            if not out or out[-1] != obj["status"]:
                out.append(obj["status"])
        return out

    def test_push_delete_pull_is_byte_identical(self):
        name = "127.0.0.1:%d/library/stories:latest" % self.reg_port
        self.server.create_stories(name, template="{{ .Prompt }}", system="Tell a story.")
        before = self.server.post("/api/show", {"model": name}).json()
        gen = {"model": name, "prompt": "Once upon a time", "stream": False,
               "options": {"temperature": 0, "num_predict": 12}}
        text_before = self.server.post("/api/generate", gen).json().get("response")
        tags_before = {m["name"]: m["digest"] for m in self.server.get("/api/tags").json()["models"]}

        pushed = self.statuses("/api/push", {"model": name, "insecure": True})
        self.assertEqual(pushed[0], "retrieving manifest")
        self.assertTrue(any(s.startswith("pushing ") for s in pushed), pushed)
        self.assertEqual(pushed[-2:], ["pushing manifest", "success"])

        self.assertEqual(self.server.delete("/api/delete", {"model": name}).status, 200)
        blobs = os.listdir(os.path.join(self.server.models_dir, "blobs"))
        self.assertEqual([b for b in blobs if b.startswith("sha256-")], [])

        pulled = self.statuses("/api/pull", {"model": name, "insecure": True})
        self.assertEqual(pulled[0], "pulling manifest")
        self.assertIn("verifying sha256 digest", pulled)
        self.assertEqual(pulled[-2:], ["writing manifest", "success"])
        after = self.server.post("/api/show", {"model": name}).json()
        for k in ("template", "system", "details", "model_info"):
            self.assertEqual(after.get(k), before.get(k), k)
        tags_after = {m["name"]: m["digest"] for m in self.server.get("/api/tags").json()["models"]}
        self.assertEqual(tags_after, tags_before)  # same manifest bytes, same digest
        text_after = self.server.post("/api/generate", gen).json().get("response")
        self.assertTrue(text_before)
        self.assertEqual(text_after, text_before)  # the pulled model generates the same text

        # Already present: every layer reports complete at once, nothing is downloaded.
        for status, obj in self.server.stream_lines("POST", "/api/pull", {"model": name, "insecure": True}):
            if obj.get("digest"):
                self.assertEqual(obj["completed"], obj["total"], obj)

        # stream:false returns only the last object.
        r = self.server.post("/api/pull", {"model": name, "insecure": True, "stream": False})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"status": "success"})

    def test_missing_model_and_down_registry(self):
        r = self.server.post("/api/pull", {"model": "127.0.0.1:%d/library/nope" % self.reg_port,
                                           "insecure": True, "stream": False})
        self.assertEqual(r.status, 404)
        self.assertEqual(r.json()["error"], "pull model manifest: file does not exist")
        t0 = time.time()
        r = self.server.post("/api/pull", {"model": "127.0.0.1:%d/library/x" % free_port(),
                                           "insecure": True, "stream": False})
        self.assertGreaterEqual(r.status, 400)
        self.assertIn("pull model manifest", r.json()["error"])
        self.assertLess(time.time() - t0, 5)
        r = self.server.post("/api/pull", {"model": "bad//name", "stream": False})
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["error"], "invalid model name")
        r = self.server.post("/api/push", {"model": "127.0.0.1:%d/library/absent" % self.reg_port,
                                           "insecure": True, "stream": False})
        self.assertEqual(r.status, 404)
        self.assertIn("couldn't retrieve manifest", r.json()["error"])


@unittest.skipUnless(os.path.exists(REGISTRY), "docker-registry not installed")
@unittest.skipUnless(HAVE_CRYPTOGRAPHY, "python3-cryptography not installed")
class SignedRegistryTest(ServerTestCase):
    """Token requests signed with ~/.ollama/id_ed25519 (spec 8.7), verified independently."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.reg_pid, cls.reg_port, cls.reg_dir = start_registry()
        cls.key_dir = os.path.join(cls.server.home, ".ollama")
        with open(os.path.join(cls.key_dir, "id_ed25519.pub")) as f:
            cls.pub_line = f.read()
        cls.front = SignedRegistry(cls.reg_port, cls.pub_line.split()[1])

    @classmethod
    def tearDownClass(cls):
        cls.front.stop()
        stop_registry(cls.reg_pid)
        shutil.rmtree(cls.reg_dir, ignore_errors=True)
        super().tearDownClass()

    def transfer(self, path, name):
        r = self.server.post(path, {"model": name, "insecure": True, "stream": False},
                             timeout=120)
        return r.status, r.json()

    def test_identity_key_is_an_openssh_ed25519_key(self):
        priv = os.path.join(self.key_dir, "id_ed25519")
        self.assertEqual(stat.S_IMODE(os.stat(priv).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(priv + ".pub").st_mode), 0o644)
        with open(priv, "rb") as f:
            key = serialization.load_ssh_private_key(f.read(), password=None)
        pub = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                            serialization.PublicFormat.OpenSSH).decode()
        self.assertEqual(pub, self.pub_line.strip())
        self.assertTrue(self.pub_line.startswith("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5"))

    def test_realm_refuses_unsigned_and_wrongly_signed_requests(self):
        base = "http://127.0.0.1:%d/token?service=test&scope=x&ts=%d&nonce=" % (
            self.front.port, int(time.time()))
        other = Ed25519PrivateKey.generate()
        bad_sig = base64.b64encode(other.sign(b"GET," + base.encode())).decode()
        for auth in (None, self.front.expected_pub + ":" + bad_sig, "garbage"):
            req = urllib.request.Request(base + "abc")
            if auth:
                req.add_header("Authorization", auth)
            with self.assertRaises(urllib.error.HTTPError) as cm:
                urllib.request.urlopen(req, timeout=10)
            self.assertEqual(cm.exception.code, 401)

    def test_push_and_pull_with_signed_tokens_and_a_blob_host(self):
        name = "127.0.0.1:%d/library/stories:latest" % self.front.port
        self.server.create_stories(name, template="{{ .Prompt }}")
        gen = {"model": name, "prompt": "Once upon a time", "stream": False,
               "options": {"temperature": 0, "num_predict": 12}}
        text_before = self.server.post("/api/generate", gen).json().get("response")
        rejected_before = len(self.front.rejected)
        status, body = self.transfer("/api/push", name)
        self.assertEqual((status, body), (200, {"status": "success"}))
        self.assertGreaterEqual(self.front.accepted, 1)
        self.assertEqual(self.front.rejected[rejected_before:], [])
        self.assertEqual(self.server.delete("/api/delete", {"model": name}).status, 200)
        accepted = self.front.accepted
        status, body = self.transfer("/api/pull", name)
        self.assertEqual((status, body), (200, {"status": "success"}))
        self.assertGreater(self.front.accepted, accepted)  # a new session, a new signed token
        self.assertGreaterEqual(self.front.cdn_hits, 2)  # blobs came from the blob host
        self.assertEqual(self.front.cdn_auth_seen, [])   # without the registry's token
        self.assertEqual(self.server.post("/api/generate", gen).json().get("response"),
                         text_before)

        # Another key than the one the realm knows: refused, and the pull says so.
        self.assertEqual(self.server.delete("/api/delete", {"model": name}).status, 200)
        priv = os.path.join(self.key_dir, "id_ed25519")
        with open(priv, "rb") as f:
            saved = f.read()
        try:
            other = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                serialization.NoEncryption())
            with open(priv, "wb") as f:
                f.write(other)
            status, body = self.transfer("/api/pull", name)
            self.assertEqual(status, 401, body)
            self.assertIn("unauthorized", body["error"])
            self.assertIn("unknown key", self.front.rejected)
        finally:
            with open(priv, "wb") as f:
                f.write(saved)

    def test_push_to_an_unreachable_registry_fails_fast(self):
        name = "127.0.0.1:%d/library/gone:latest" % free_port()
        self.server.create_stories(name)
        t0 = time.time()
        status, body = self.transfer("/api/push", name)
        self.assertGreaterEqual(status, 400)
        self.assertIn("127.0.0.1", body["error"])
        self.assertLess(time.time() - t0, 5)


if __name__ == "__main__":
    unittest.main()
