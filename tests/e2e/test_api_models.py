"""Model-management API end to end: version, blobs, create, tags, show, copy, delete and
their error handling, against a real `ollama serve` and stories260K (server-level behaviour
such as CORS, Host checks and shutdown is in test_api_server.py)."""

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from ollama_e2e import (ServerProcess, ServerTestCase, bytes_digest, file_digest, free_port,
                        require_file, shared_dir, stories260k_path)

RFC3339_NANO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$")
TEMPLATE = ("{{ if .System }}<|system|>{{ .System }}{{ end }}"
            "{{ if .Tools }}tools: {{ .Tools }}{{ end }}<|user|>{{ .Prompt }}<|assistant|>")


class BasicsTest(ServerTestCase):
    def test_root_and_head(self):
        r = self.server.get("/")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.text, "Ollama is running")
        r = self.server.head("/")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"")

    def test_version(self):
        r = self.server.get("/api/version")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers["content-type"].startswith("application/json"))
        self.assertEqual(r.json(), {"version": "0.13.0"})
        self.assertEqual(self.server.head("/api/version").status, 200)

    def test_unknown_path_and_wrong_method(self):
        r = self.server.get("/api/nope")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.text, "404 page not found")
        r = self.server.post("/api/tags", {})
        self.assertEqual(r.status, 405)
        self.assertEqual(r.text, "405 method not allowed")
        self.assertEqual(self.server.get("/api/show").status, 405)
        self.assertEqual(self.server.request("PUT", "/api/delete", {"model": "x"}).status, 405)

    def test_request_log_and_startup_lines(self):
        self.server.get("/api/tags")
        time.sleep(0.1)
        log = self.server.log()
        self.assertIn("server config env=map[", log)
        self.assertIn("OLLAMA_MODELS:" + self.server.models_dir, log)
        self.assertIn("Listening on 127.0.0.1:%d (version 0.13.0)" % self.server.port, log)
        self.assertRegex(log, r"\[GIN\] \| 200 \|.*GET +/api/tags")

    def test_status(self):
        r = self.server.get("/api/status")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"cloud": {"disabled": False, "source": "none"}})

    def test_ps_empty(self):
        r = self.server.get("/api/ps")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"models": []})

    def test_tags_empty(self):
        r = self.server.get("/api/tags")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"models": []})

    def test_request_body_errors(self):
        for path in ("/api/show", "/api/create", "/api/copy"):
            r = self.server.post(path, b"")
            self.assertEqual(r.status, 400, path)
            self.assertEqual(r.json(), {"error": "missing request body"})
        r = self.server.post("/api/show", b"{\"model\": ")
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json(), {"error": "unexpected EOF"})
        r = self.server.post("/api/show", b"{model}")
        self.assertEqual(r.status, 400)
        self.assertIn("invalid character 'm'", r.json()["error"])
        r = self.server.post("/api/show", {"model": 5})
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["error"], "json: cannot unmarshal number into Go struct "
                                            "field ShowRequest.model of type string")
        r = self.server.post("/api/create", {"model": "x", "files": ["a"]})
        self.assertEqual(r.status, 400)
        self.assertIn("cannot unmarshal array", r.json()["error"])
        r = self.server.delete("/api/delete", b"[1,2]")
        self.assertEqual(r.status, 400)
        self.assertIn("cannot unmarshal array into Go value of type api.DeleteRequest",
                      r.json()["error"])

    def test_bad_names(self):
        r = self.server.post("/api/show", {"model": ""})
        self.assertEqual((r.status, r.json()), (400, {"error": "model is required"}))
        r = self.server.post("/api/show", {"model": "a//b"})
        self.assertEqual((r.status, r.json()), (400, {"error": "invalid model name"}))
        r = self.server.post("/api/show", {"model": "missing"})
        self.assertEqual((r.status, r.json()), (404, {"error": "model 'missing' not found"}))
        r = self.server.post("/api/create", {"model": "bad name!", "from": "x"})
        self.assertEqual((r.status, r.json()), (400, {"error": "invalid model name"}))
        r = self.server.post("/api/copy", {"source": "m:", "destination": "y"})
        self.assertEqual((r.status, r.json()), (400, {"error": 'source "m:" is invalid'}))
        r = self.server.post("/api/copy", {"source": "missing", "destination": "x/y/z/w"})
        self.assertEqual((r.status, r.json()),
                         (400, {"error": 'destination "x/y/z/w" is invalid'}))
        r = self.server.post("/api/copy", {"source": "missing", "destination": "y"})
        self.assertEqual((r.status, r.json()), (404, {"error": 'model "missing" not found'}))
        r = self.server.delete("/api/delete", {"model": "a b"})
        self.assertEqual((r.status, r.json()), (400, {"error": 'name "a b" is invalid'}))
        r = self.server.delete("/api/delete", {"model": "missing"})
        self.assertEqual((r.status, r.json()), (404, {"error": "model 'missing' not found"}))

    def test_create_needs_from_or_files(self):
        r = self.server.create("nothing", stream=False)
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json(), {"error": "neither 'from' or 'files' was specified"})
        r = self.server.create("nothing", stream=False, files={"../x.gguf": "sha256:" + "0" * 64})
        self.assertEqual((r.status, r.json()), (400, {"error": "file path must be relative"}))

    def test_blob_endpoints(self):
        data = b"hello blob\n" * 1000
        digest = bytes_digest(data)
        self.assertEqual(self.server.head("/api/blobs/" + digest).status, 404)
        r = self.server.post("/api/blobs/" + digest, data)
        self.assertEqual(r.status, 201)
        self.assertEqual(self.server.head("/api/blobs/" + digest).status, 200)
        # The file spelling of the digest is accepted too.
        self.assertEqual(self.server.head("/api/blobs/" + digest.replace(":", "-")).status, 200)
        r = self.server.post("/api/blobs/" + digest, data)
        self.assertEqual(r.status, 200)
        path = os.path.join(self.server.models_dir, "blobs", digest.replace(":", "-"))
        with open(path, "rb") as f:
            self.assertEqual(f.read(), data)

        wrong = "sha256:" + "1" * 64
        r = self.server.post("/api/blobs/" + wrong, b"abc")
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json(), {"error": 'digest mismatch, expected "%s", got "%s"'
                                             % (wrong, bytes_digest(b"abc"))})
        self.assertEqual(self.server.head("/api/blobs/" + wrong).status, 404)
        blobs = os.listdir(os.path.join(self.server.models_dir, "blobs"))
        self.assertEqual(blobs, [digest.replace(":", "-")], "no temp or wrong blob left")

        r = self.server.post("/api/blobs/sha256:abc", b"abc")
        self.assertEqual((r.status, r.json()), (400, {"error": "invalid digest format"}))
        self.assertEqual(self.server.head("/api/blobs/md5:abc").status, 400)

    def test_large_streamed_blob(self):
        # 64 MiB through the streaming path; the server must not need it in memory.
        data = os.urandom(1 << 20) * 64
        digest = bytes_digest(data)
        r = self.server.post("/api/blobs/" + digest, data, timeout=300)
        self.assertEqual(r.status, 201)
        path = os.path.join(self.server.models_dir, "blobs", digest.replace(":", "-"))
        self.assertEqual(os.path.getsize(path), len(data))
        os.remove(path)

    def test_client_disconnect_mid_upload_leaves_no_blob(self):
        digest = "sha256:" + "2" * 64
        head = ("POST /api/blobs/%s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10000000\r\n"
                "\r\n" % digest).encode()
        with socket.create_connection(("127.0.0.1", self.server.port)) as s:
            s.sendall(head + b"x" * 100000)
        time.sleep(0.5)
        self.assertEqual(self.server.head("/api/blobs/" + digest).status, 404)
        self.assertEqual(self.server.get("/").status, 200)
        blobs_dir = os.path.join(self.server.models_dir, "blobs")
        leftovers = [b for b in os.listdir(blobs_dir) if not b.startswith("sha256-")]
        self.assertEqual(leftovers, [])

    def test_keypair_generated(self):
        key = os.path.join(self.server.home, ".ollama", "id_ed25519")
        pub = key + ".pub"
        with open(key) as f:
            text = f.read()
        self.assertTrue(text.startswith("-----BEGIN OPENSSH PRIVATE KEY-----\n"))
        self.assertTrue(text.endswith("-----END OPENSSH PRIVATE KEY-----\n"))
        self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
        with open(pub) as f:
            pubtext = f.read()
        self.assertRegex(pubtext, r"^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]+=*\n$")
        log = self.server.log()
        self.assertIn("Couldn't find '%s'. Generating new private key." % key, log)
        self.assertIn("Your new public key is: \n\n" + pubtext, log)


class ModelsTest(unittest.TestCase):
    """One server for the whole create -> tags -> show -> copy -> delete flow."""

    @classmethod
    def setUpClass(cls):
        require_file(stories260k_path())
        cls.server = ServerProcess.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def create_full(self, name):
        digest = self.server.push_blob(stories260k_path())
        body = {"model": name, "files": {"stories260K.gguf": digest}, "template": TEMPLATE,
                "system": "You are a storyteller.",
                "parameters": {"temperature": 0.7, "stop": ["<|user|>", "<|end|>"],
                               "num_ctx": 256, "top_k": 20},
                "messages": [{"role": "user", "content": "Hi"},
                             {"role": "assistant", "content": "Once upon a time"}],
                "license": ["MIT license text", "second license"]}
        statuses = [obj for _, obj in self.server.stream_lines("POST", "/api/create", body)]
        return digest, statuses

    def test_01_create_streaming(self):
        digest, statuses = self.create_full("stories:latest")
        texts = [s["status"] for s in statuses]
        self.assertEqual(texts[0], "parsing GGUF")
        self.assertEqual(texts[-2:], ["writing manifest", "success"])
        self.assertTrue(any(t.startswith("creating new layer sha256:") or
                            t.startswith("using existing layer sha256:") for t in texts))
        self.assertFalse(any("error" in s for s in statuses), statuses)

    def test_02_tags(self):
        r = self.server.get("/api/tags")
        self.assertEqual(r.status, 200)
        models = r.json()["models"]
        self.assertEqual(len(models), 1)
        m = models[0]
        self.assertEqual(m["name"], "stories:latest")
        self.assertEqual(m["model"], "stories:latest")
        self.assertRegex(m["modified_at"], RFC3339_NANO)
        self.assertRegex(m["digest"], r"^[0-9a-f]{64}$")
        manifest = os.path.join(self.server.models_dir, "manifests", "registry.ollama.ai",
                                "library", "stories", "latest")
        with open(manifest, "rb") as f:
            raw = f.read()
        self.assertEqual(m["digest"], bytes_digest(raw)[7:])
        doc = json.loads(raw)
        self.assertEqual(m["size"], doc["config"]["size"] + sum(l["size"] for l in doc["layers"]))
        d = m["details"]
        self.assertEqual(d["format"], "gguf")
        self.assertEqual(d["family"], "llama")
        self.assertEqual(d["families"], ["llama"])
        self.assertEqual(d["parent_model"], "")
        self.assertTrue(d["parameter_size"])
        self.assertIn("quantization_level", d)

    def test_03_show(self):
        r = self.server.post("/api/show", {"model": "stories"})
        self.assertEqual(r.status, 200, r)
        s = r.json()
        self.assertEqual(s["template"], TEMPLATE)
        self.assertEqual(s["system"], "You are a storyteller.")
        self.assertEqual(s["license"], "MIT license text\nsecond license")
        self.assertEqual(s["messages"], [{"role": "user", "content": "Hi"},
                                         {"role": "assistant", "content": "Once upon a time"}])
        self.assertEqual(s["capabilities"], ["completion", "tools"])
        self.assertRegex(s["modified_at"], RFC3339_NANO)
        self.assertEqual(s["details"]["family"], "llama")
        params = s["parameters"].split("\n")
        self.assertIn('stop                           "<|user|>"', params)
        self.assertIn('stop                           "<|end|>"', params)
        self.assertIn("temperature                    0.7", params)
        self.assertIn("num_ctx                        256", params)
        self.assertIn("top_k                          20", params)

        info = s["model_info"]
        self.assertEqual(info["general.architecture"], "llama")
        self.assertNotIn("general.name", info)
        self.assertNotIn("tokenizer.chat_template", info)
        self.assertEqual(info["tokenizer.ggml.tokens"], [])  # long arrays elided
        self.assertEqual(info["llama.embedding_length"], 64)
        total = 0
        for t in s["tensors"]:
            n = 1
            for d in t["shape"]:
                n *= d
            total += n
        self.assertEqual(info["general.parameter_count"], total)
        self.assertEqual(s["tensors"][0]["name"], "token_embd.weight")
        self.assertIn(s["tensors"][0]["type"], ("F32", "F16", "Q8_0", "Q4_0"))

        mf = s["modelfile"].split("\n")
        self.assertEqual(mf[0], '# Modelfile generated by "ollama show"')
        self.assertEqual(mf[1], "# To build a new Modelfile based on this, replace FROM with:")
        self.assertEqual(mf[2], "# FROM stories:latest")
        self.assertEqual(mf[3], "")
        self.assertTrue(mf[4].startswith("FROM " + os.path.join(self.server.models_dir,
                                                                "blobs", "sha256-")), mf[4])
        self.assertTrue(os.path.isabs(mf[4][5:]) and os.path.exists(mf[4][5:]))
        text = s["modelfile"]
        self.assertIn("TEMPLATE " + TEMPLATE + "\n", text)
        self.assertIn("SYSTEM You are a storyteller.\n", text)
        self.assertIn("PARAMETER stop <|user|>\n", text)
        self.assertIn("PARAMETER temperature 0.7\n", text)
        self.assertIn("LICENSE MIT license text\n", text)
        self.assertIn("MESSAGE user Hi\n", text)
        self.assertIn('MESSAGE assistant Once upon a time\n', text)

    def test_04_show_verbose_and_overrides(self):
        r = self.server.post("/api/show", {"name": "stories:latest", "verbose": True,
                                           "system": "other", "options": {"seed": 42}})
        self.assertEqual(r.status, 200)
        s = r.json()
        self.assertEqual(len(s["model_info"]["tokenizer.ggml.tokens"]), 512)
        self.assertEqual(s["system"], "other")
        self.assertIn("SYSTEM other\n", s["modelfile"])
        self.assertIn("PARAMETER seed 42\n", s["modelfile"])
        self.assertNotIn("seed", s["parameters"])
        # Case-insensitive lookup.
        self.assertEqual(self.server.post("/api/show", {"model": "Stories"}).status, 200)

    def test_05_copy(self):
        r = self.server.post("/api/copy", {"source": "stories", "destination": "me/story:v1"})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"")
        names = [m["name"] for m in self.server.get("/api/tags").json()["models"]]
        self.assertEqual(sorted(names), ["me/story:v1", "stories:latest"])
        src = os.path.join(self.server.models_dir, "manifests", "registry.ollama.ai",
                           "library", "stories", "latest")
        dst = os.path.join(self.server.models_dir, "manifests", "registry.ollama.ai",
                           "me", "story", "v1")
        with open(src, "rb") as a, open(dst, "rb") as b:
            self.assertEqual(a.read(), b.read())
        s = self.server.post("/api/show", {"model": "me/story:v1"}).json()
        self.assertIn("# FROM me/story:v1\n", s["modelfile"])

    def test_06_create_stream_false_and_from(self):
        r = self.server.create("derived", stream=False, **{"from": "stories",
                                                           "system": "derived system"})
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.headers["content-type"].startswith("application/json"))
        self.assertEqual(r.json(), {"status": "success"})
        s = self.server.post("/api/show", {"model": "derived"}).json()
        self.assertEqual(s["system"], "derived system")
        self.assertEqual(s["template"], TEMPLATE)
        self.assertEqual(s["details"]["parent_model"], "stories:latest")

    def test_07_corrupt_gguf_leaves_store_unchanged(self):
        def snapshot():
            out = []
            for root, _, files in os.walk(self.server.models_dir):
                for f in files:
                    out.append(os.path.relpath(os.path.join(root, f), self.server.models_dir))
            return sorted(out)

        with open(stories260k_path(), "rb") as f:
            data = bytearray(f.read(4096))
        data[8:16] = b"\xff" * 8  # absurd tensor count
        digest = bytes_digest(bytes(data))
        self.assertEqual(self.server.post("/api/blobs/" + digest, bytes(data)).status, 201)
        before = snapshot()
        tags_before = self.server.get("/api/tags").json()
        r = self.server.create("broken", stream=False, files={"x.gguf": digest})
        self.assertIn(r.status, (400, 500), r)
        self.assertIn("error", r.json())
        lines = [o for _, o in self.server.stream_lines(
            "POST", "/api/create", {"model": "broken", "files": {"x.gguf": digest}})]
        self.assertIn("error", lines[-1])
        self.assertEqual(snapshot(), before)
        self.assertEqual(self.server.get("/api/tags").json(), tags_before)
        self.assertEqual(self.server.post("/api/show", {"model": "broken"}).status, 404)

    def test_08_delete(self):
        r = self.server.delete("/api/delete", {"model": "me/story:v1"})
        self.assertEqual(r.status, 200)
        self.assertEqual(self.server.post("/api/show", {"model": "me/story:v1"}).status, 404)
        self.assertEqual(self.server.delete("/api/delete", {"model": "me/story:v1"}).status, 404)
        # Blobs still used by stories:latest stay.
        self.assertEqual(self.server.post("/api/show", {"model": "stories"}).status, 200)
        for name in ("derived", "stories"):
            self.assertEqual(self.server.delete("/api/delete", {"name": name}).status, 200)
        self.assertEqual(self.server.get("/api/tags").json(), {"models": []})
        gguf_blob = file_digest(stories260k_path()).replace(":", "-")
        blobs = os.listdir(os.path.join(self.server.models_dir, "blobs"))
        self.assertNotIn(gguf_blob, blobs)


@unittest.skipUnless(os.path.exists("/usr/bin/docker-registry"), "docker-registry not installed")
class CreateFromRemoteBaseTest(ServerTestCase):
    """create with a `from` that is not local pulls it first (statuses stream through)."""

    def test_create_pulls_missing_base(self):
        require_file(stories260k_path())
        d = tempfile.mkdtemp(prefix="oc-e2e-reg-")
        port = free_port()
        out = subprocess.run([os.path.join(shared_dir(), "registry", "start.sh"), d, str(port)],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        pid = out.stdout.strip()
        try:
            remote = "127.0.0.1:%d/library/stories:latest" % port
            self.server.create_stories(remote, system="base system")
            r = self.server.post("/api/push", {"model": remote, "insecure": True,
                                               "stream": False})
            self.assertEqual(r.json(), {"status": "success"}, r)
            self.assertEqual(self.server.delete("/api/delete", {"model": remote}).status, 200)

            lines = [o for _, o in self.server.stream_lines(
                "POST", "/api/create", {"model": "child", "from": "http://" + remote,
                                        "system": "child system"})]
            texts = [o.get("status") for o in lines]
            self.assertNotIn(None, texts, lines)
            self.assertEqual(texts[0], "pulling manifest")
            self.assertEqual(texts[-1], "success")
            s = self.server.post("/api/show", {"model": "child"}).json()
            self.assertEqual(s["system"], "child system")
            self.assertEqual(self.server.post("/api/show", {"model": remote}).status, 200)
        finally:
            subprocess.run([os.path.join(shared_dir(), "registry", "stop.sh"), pid])
            shutil.rmtree(d, ignore_errors=True)

    def test_unreachable_base_fails_cleanly(self):
        port = free_port()  # nothing listens there
        r = self.server.create("child2", stream=False,
                               **{"from": "http://127.0.0.1:%d/library/none:latest" % port})
        self.assertGreaterEqual(r.status, 400, r)
        self.assertIn("error", r.json())
        self.assertEqual(self.server.post("/api/show", {"model": "child2"}).status, 404)


if __name__ == "__main__":
    unittest.main()
