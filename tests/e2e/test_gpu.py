"""The server on the GPU backend (OLLAMA_LLM_LIBRARY=vulkan; Mesa's lavapipe in CI): the
stories260K golden continuation through /api/generate streamed and not, /api/ps and `ollama
ps` reporting the model on the GPU, num_gpu 0 keeping a model on the CPU, num_gpu N
splitting it (a different value reloads it, -1 keeps the placement), an OLLAMA_GPU_OVERHEAD
larger than the device keeping it on the CPU, a mixture of experts (gpt-oss) on the GPU,
with no device (GGML_VK_VISIBLE_DEVICES=-1) the models served from the CPU with the
reason in the log, and a device lost mid-stream (the OCPP_TEST_GPU_FAIL_AFTER test hook) ending
that stream with a clear error while the model goes on from the CPU. Skipped only when the binary was built without the gpu part."""

import json
import os
import unittest

from ollama_e2e import ServerProcess, require_file, testdata

OPTS = {"temperature": 0, "num_predict": 20}


def golden():
    with open(require_file(testdata("real", "stories260K.expected.json"))) as f:
        g = json.load(f)["prompted_greedy"][0]
    return g["prompt"], g["full_text"][len(g["prompt"]):]


class GpuServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.prompt, cls.continuation = golden()
        cls.server = ServerProcess.start(extra_env={"OLLAMA_LLM_LIBRARY": "vulkan"})
        cls.server.create_stories("stories:latest", template="{{ .Prompt }}")
        cls.server.create_from_file("moe:latest",
                                    require_file(testdata("models", "tiny-gptoss-e64-f32.gguf")))

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def generate(self, model, **extra):
        body = {"model": model, "prompt": self.prompt, "raw": True, "stream": False,
                "options": dict(OPTS)}
        body.update(extra)
        r = self.server.post("/api/generate", body)
        self.assertEqual(r.status, 200, r.text)
        return r.json()

    def ps(self):
        r = self.server.get("/api/ps")
        self.assertEqual(r.status, 200)
        return {m["name"]: m for m in r.json()["models"]}

    def test_a_golden_text_on_the_gpu_and_ps_says_so(self):
        out = self.generate("stories:latest")
        if "this build has no GPU support" in self.server.log():
            self.skipTest("built without the gpu part")
        text = out["response"]
        self.assertGreater(len(text), 10, text)
        self.assertTrue(self.continuation.startswith(text), "%r\n%r" % (text, self.continuation))
        # streamed: the same text in chunks
        body = {"model": "stories:latest", "prompt": self.prompt, "raw": True,
                "options": dict(OPTS)}
        chunks = [obj for status, obj in self.server.stream_lines("POST", "/api/generate", body)]
        self.assertGreater(len(chunks), 2)
        self.assertEqual("".join(c.get("response", "") for c in chunks), text)
        m = self.ps()["stories:latest"]
        self.assertGreater(m["size"], 0)
        self.assertEqual(m["size_vram"], m["size"])
        r = self.server.run_cli("ps")
        self.assertEqual(r.returncode, 0, r.stderr)
        line = [l for l in r.stdout.splitlines() if l.startswith("stories:latest")][0]
        self.assertIn("100% GPU", line)
        self.assertIn("model runs on the GPU", self.server.log())

    def test_b_num_gpu_zero_runs_on_the_cpu_and_a_moe_on_the_gpu(self):
        # Loaded on the GPU by test_a: num_gpu 0 reloads it on the CPU.
        out = self.generate("stories:latest", options=dict(OPTS, num_gpu=0))
        self.assertTrue(self.continuation.startswith(out["response"]))
        self.assertEqual(self.ps()["stories:latest"]["size_vram"], 0)
        # A mixture of experts runs there too (routing on the host, experts on the device).
        out = self.generate("moe:latest", raw=True,
                            options={"temperature": 0, "num_predict": 4})
        self.assertEqual(out["done_reason"], "length")
        m = self.ps()["moe:latest"]
        self.assertEqual(m["size_vram"], m["size"])

    def test_c_num_gpu_splits_the_layers(self):
        # On the CPU after test_b (num_gpu 0): a different num_gpu reloads it (Ollama's
        # load-time options), -1 or none keeps the placement it has.
        out = self.generate("stories:latest", options=dict(OPTS, num_gpu=2))
        self.assertTrue(self.continuation.startswith(out["response"]), out["response"])
        m = self.ps()["stories:latest"]
        self.assertGreater(m["size_vram"], 0)
        self.assertLess(m["size_vram"], m["size"])
        r = self.server.run_cli("ps")
        line = [l for l in r.stdout.splitlines() if l.startswith("stories:latest")][0]
        self.assertRegex(line, r"\d+%/\d+% CPU/GPU")
        self.assertIn("(2 of 5 layers)", self.server.log())
        vram = m["size_vram"]
        self.generate("stories:latest", options=dict(OPTS, num_gpu=-1))
        self.generate("stories:latest")
        self.assertEqual(self.ps()["stories:latest"]["size_vram"], vram)
        self.generate("stories:latest", options=dict(OPTS, num_gpu=4))
        self.assertGreater(self.ps()["stories:latest"]["size_vram"], vram)
        self.assertIn("(4 of 5 layers)", self.server.log())

    def served_from_the_cpu(self, env, unless_gpu=False):
        """A server started with `env` serves stories260K's golden text with nothing on the
        GPU; returns its log. unless_gpu: skip when a real GPU took the model."""
        server = ServerProcess.start(extra_env=env)
        try:
            server.create_stories("stories:latest", template="{{ .Prompt }}")
            if unless_gpu:
                server.post("/api/generate", {"model": "stories:latest", "prompt": "",
                                              "options": OPTS, "stream": False})
                if "model runs on the GPU" in server.log():
                    self.skipTest("a Vulkan device other than a CPU renderer is present")
            r = server.post("/api/generate", {"model": "stories:latest", "prompt": self.prompt,
                                              "raw": True, "stream": False, "options": OPTS})
            self.assertEqual(r.status, 200, r.text)
            self.assertTrue(self.continuation.startswith(r.json()["response"]))
            self.assertEqual(server.get("/api/ps").json()["models"][0]["size_vram"], 0)
            return server.log()
        finally:
            server.stop()

    def test_d_overhead_larger_than_the_device_keeps_models_on_the_cpu(self):
        # OLLAMA_VULKAN=1 (Ollama's switch) instead of OLLAMA_LLM_LIBRARY; lavapipe named.
        log = self.served_from_the_cpu({"OLLAMA_VULKAN": "1", "GGML_VK_VISIBLE_DEVICES": "0",
                                        "OLLAMA_GPU_OVERHEAD": str(1 << 50)})
        self.assertIn("not enough GPU memory", log)
        self.assertIn("1048576.0 GiB OLLAMA_GPU_OVERHEAD", log)

    def test_d2_a_cpu_renderer_is_not_taken_for_a_gpu_unless_named(self):
        # CI's only Vulkan device is lavapipe: OLLAMA_VULKAN=1 alone leaves the model on the CPU
        # (the CPU path is many times faster than a CPU renderer), saying why.
        log = self.served_from_the_cpu({"OLLAMA_VULKAN": "1"}, unless_gpu=True)
        self.assertIn("GPU not used for this model", log)
        self.assertIn("is a CPU renderer", log)

    def test_e_no_device_keeps_models_on_the_cpu_with_the_reason(self):
        # An invalid device id hides every device (Ollama's -1 forces the CPU).
        log = self.served_from_the_cpu({"OLLAMA_VULKAN": "1", "GGML_VK_VISIBLE_DEVICES": "-1"})
        self.assertIn("GPU not used for this model", log)
        self.assertIn("no compute device", log)

    def test_f_a_device_lost_mid_stream_fails_that_request_and_the_cpu_takes_over(self):
        # The load of stories260K takes well under 200 submissions (uploads and the warm-up
        # token); a 400-token stream then loses the device somewhere in its middle.
        server = ServerProcess.start(extra_env={"OLLAMA_VULKAN": "1",
                                                "GGML_VK_VISIBLE_DEVICES": "0",
                                                "OCPP_TEST_GPU_FAIL_AFTER": "200"})
        try:
            server.create_stories("stories:latest", template="{{ .Prompt }}")
            body = {"model": "stories:latest", "prompt": self.prompt, "raw": True,
                    "options": {"temperature": 0, "num_predict": 400, "num_ctx": 2048}}
            lines = [o for _, o in server.stream_lines("POST", "/api/generate", body)]
            self.assertIn("model runs on the GPU", server.log())
            self.assertGreater(len(lines), 2, lines[-3:])
            self.assertIn("error", lines[-1], lines[-3:])
            self.assertIn("device lost", lines[-1]["error"])
            self.assertFalse(any(o.get("done") for o in lines))
            self.assertIn("the model goes on from the CPU", server.log())
            # The next request is served (from the CPU), the same text as ever.
            r = server.post("/api/generate", {"model": "stories:latest", "prompt": self.prompt,
                                              "raw": True, "stream": False, "options": OPTS})
            self.assertEqual(r.status, 200, r.text)
            self.assertTrue(self.continuation.startswith(r.json()["response"]))
            self.assertEqual(server.get("/api/ps").json()["models"][0]["size_vram"], 0)
        except (AssertionError, OSError) as e:
            raise AssertionError("%s\nserver log:\n%s" % (e, server.log()[-6000:])) from e
        finally:
            server.stop()


if __name__ == "__main__":
    unittest.main()
