"""Mixture-of-experts models through the real server: the llama.cpp reference gpt-oss models
(F32 and MXFP4) give the reference greedy tokens through /api/generate, eight concurrent
requests on one MoE model give the same text as one alone, and bad MoE files (expert count
that disagrees with the tensors, top-k larger than the expert count, a missing expert
tensor) are clear JSON errors without a store path while the server lives on."""

import json
import os
import struct
import tempfile
import threading
import unittest

from ollama_e2e import ServerProcess, require_file, testdata

MODELS = ("tiny-gptoss-e64-f32", "tiny-gptoss-e64-mxfp4_moe", "tiny-gptoss-e64-mxfp4_experts_only")


def ref(name):
    with open(require_file(testdata("models", name + ".ref.json"))) as f:
        return json.load(f)


def patched(src, dst, edits):
    """Copies a GGUF, applying in-place byte edits: ("u32", key, value) rewrites a UINT32
    metadata value, ("rename", old, new) a tensor name of the same length."""
    with open(src, "rb") as f:
        data = bytearray(f.read())
    for kind, a, b in edits:
        if kind == "u32":
            k = a.encode()
            needle = struct.pack("<Q", len(k)) + k + struct.pack("<I", 4)  # type 4 = UINT32
            at = data.find(needle)
            assert at >= 0, a
            struct.pack_into("<I", data, at + len(needle), b)
        else:
            assert len(a) == len(b)
            at = data.find(a.encode())
            assert at >= 0, a
            data[at:at + len(a)] = b.encode()
    with open(dst, "wb") as f:
        f.write(data)


class MoeServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = ServerProcess.start(extra_env={"OLLAMA_NUM_PARALLEL": "8"})
        for name in MODELS:
            cls.server.create_from_file(name + ":latest",
                                        require_file(testdata("models", name + ".gguf")),
                                        template="{{ .Prompt }}")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def generate(self, model, prompt, n=32, **kw):
        body = {"model": model, "prompt": prompt, "stream": False,
                "options": {"temperature": 0, "num_predict": n}}
        body.update(kw)
        r = self.server.post("/api/generate", body)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def test_reference_greedy_tokens(self):
        for name in MODELS:
            with self.subTest(model=name):
                want = ref(name)
                g = self.generate(name + ":latest", want["prompt_text"])
                ctx = g["context"]
                n_prompt = len(want["prompt_tokens"])
                self.assertEqual(ctx[:n_prompt], want["prompt_tokens"])
                got = ctx[n_prompt:]
                self.assertEqual(g["eval_count"], 32)
                # The server's KV cache is F16 (the reference's is F32): tokens must agree up to
                # the first step where the reference's top-1/top-2 margin is small.
                steps = want["greedy_steps"]
                for i, tok in enumerate(want["greedy_tokens"]):
                    if steps[i]["margin_top1_top2"] < 0.1:
                        break
                    self.assertEqual(got[i], tok, "step %d" % i)
                if name.endswith("f32"):
                    self.assertEqual(got, want["greedy_tokens"])

    def test_eight_concurrent_requests_match_one(self):
        prompt = ref(MODELS[0])["prompt_text"]
        alone = self.generate("tiny-gptoss-e64-f32:latest", prompt, n=24)["response"]
        results = [None] * 8
        prompts = [prompt if i % 2 == 0 else "Once upon a time" for i in range(8)]

        def run(i):
            results[i] = self.generate("tiny-gptoss-e64-f32:latest", prompts[i], n=24)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        other = self.generate("tiny-gptoss-e64-f32:latest", "Once upon a time", n=24)["response"]
        for i, r in enumerate(results):
            self.assertEqual(r["response"], alone if i % 2 == 0 else other, i)

    def test_bad_moe_files(self):
        src = require_file(testdata("models", "tiny-gptoss-e64-f32.gguf"))
        cases = {
            "bad-count": [("u32", "gpt-oss.expert_count", 8)],
            "bad-topk": [("u32", "gpt-oss.expert_used_count", 5)],
            "no-experts": [("u32", "gpt-oss.expert_count", 0)],
            "missing-expert": [("rename", "blk.2.ffn_up_exps.weight",
                                "blk.2.ffn_up_exps.weighz")],
        }
        store = self.server.models_dir
        with tempfile.TemporaryDirectory() as d:
            for name, edits in cases.items():
                with self.subTest(case=name):
                    path = os.path.join(d, name + ".gguf")
                    patched(src, path, edits)
                    digest = self.server.push_blob(path)
                    r = self.server.create(name, files={"m.gguf": digest})
                    if r.status == 200:  # create copies the file; loading it fails
                        r = self.server.post("/api/generate", {"model": name, "prompt": "hi",
                                                               "stream": False})
                    self.assertIn(r.status, (400, 500), r)
                    err = r.json()["error"]
                    self.assertNotIn(store, err)
                    self.assertNotIn("/blobs/", err)
                    self.assertRegex(err, "expert|ffn_up_exps|ffn_gate_inp")
                    self.assertEqual(self.server.get("/api/version").status, 200)
        # The server still serves the good model.
        self.generate("tiny-gptoss-e64-f32:latest", "Once", n=4)


if __name__ == "__main__":
    unittest.main()
