"""Pull and push through the real server against a real docker-registry on loopback:
round trip byte-identical, nothing transferred when present, clear errors when the model or
the registry is missing, statuses as Ollama's."""

import os
import shutil
import time
import unittest

from ollama_e2e import REGISTRY, ServerTestCase, free_port, start_registry, stop_registry




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


if __name__ == "__main__":
    unittest.main()
