"""Embeddings end to end: /api/embed (normalized, batched, dimensions, truncation) and the
legacy /api/embeddings against the tiny bert / nomic-bert reference models (spec §3.3, §3.4),
with llama.cpp's reference vectors from testdata/models/X.embd.json."""

import json
import math
import unittest

from ollama_e2e import ServerTestCase, require_file, testdata

# max |diff| per component (testdata/models/README.md); the engine measures 8.2e-4 / 1.0e-6.
TOL = {"bert": 2e-3, "nomic": 1e-4}


def load_ref(name):
    with open(require_file(testdata("models", name + ".embd.json"))) as f:
        return json.load(f)


def norm(v):
    return math.sqrt(sum(x * x for x in v))


def max_diff(a, b):
    assert len(a) == len(b), (len(a), len(b))
    return max(abs(x - y) for x, y in zip(a, b))


class EmbedTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ref = {"bert": load_ref("tiny-bert-e64"), "nomic": load_ref("tiny-nomic-bert-e64")}
        cls.server.create_from_file(
            "bert", require_file(testdata("models", "tiny-bert-e64.gguf")))
        cls.server.create_from_file(
            "nomic", require_file(testdata("models", "tiny-nomic-bert-e64.gguf")))

    def embed(self, body, status=200):
        r = self.server.post("/api/embed", body)
        self.assertEqual(r.status, status, r.text)
        return r.json()

    def test_single_input_matches_reference(self):
        for model in ("bert", "nomic"):
            t = self.ref[model]["texts"][0]
            j = self.embed({"model": model, "input": t["text"]})
            self.assertEqual(j["model"], model)
            self.assertEqual(len(j["embeddings"]), 1)
            v = j["embeddings"][0]
            self.assertEqual(len(v), 64)
            self.assertAlmostEqual(norm(v), 1.0, places=5)
            self.assertLess(max_diff(v, t["embedding_normalized"]), TOL[model])
            self.assertEqual(j["prompt_eval_count"], len(t["tokens"]))
            self.assertGreater(j["total_duration"], 0)
            self.assertGreater(j["load_duration"], 0)
            self.assertGreaterEqual(j["total_duration"], j["load_duration"])

    def test_batch_matches_reference_and_is_deterministic(self):
        for model in ("bert", "nomic"):
            texts = self.ref[model]["texts"]
            body = {"model": model, "input": [t["text"] for t in texts]}
            j = self.embed(body)
            self.assertEqual(len(j["embeddings"]), len(texts))
            worst = max(max_diff(v, t["embedding_normalized"])
                        for v, t in zip(j["embeddings"], texts))
            self.assertLess(worst, TOL[model], model)
            self.assertEqual(j["prompt_eval_count"], sum(len(t["tokens"]) for t in texts))
            self.assertEqual(self.embed(body)["embeddings"], j["embeddings"])
            # A text embedded alone gives the same vector as inside the batch.
            alone = self.embed({"model": model, "input": texts[3]["text"]})["embeddings"][0]
            self.assertLess(max_diff(alone, j["embeddings"][3]), 1e-5)

    def test_dimensions_truncates_then_renormalizes(self):
        t = self.ref["nomic"]["texts"][1]
        full = self.embed({"model": "nomic", "input": t["text"]})["embeddings"][0]
        j = self.embed({"model": "nomic", "input": t["text"], "dimensions": 16})
        v = j["embeddings"][0]
        self.assertEqual(len(v), 16)
        self.assertAlmostEqual(norm(v), 1.0, places=5)
        n16 = norm(full[:16])
        self.assertLess(max_diff(v, [x / n16 for x in full[:16]]), 1e-6)
        # Larger than the width: unchanged.
        self.assertEqual(len(self.embed({"model": "nomic", "input": "x", "dimensions": 100})
                             ["embeddings"][0]), 64)

    def test_truncation(self):
        long_text = " ".join(["word"] * 40)  # 40 tokens + [CLS] + [SEP]
        opts = {"num_ctx": 16}
        r = self.server.post("/api/embed", {"model": "bert", "input": long_text,
                                            "truncate": False, "options": opts})
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json(), {"error": "the input length exceeds the context length"})
        j = self.embed({"model": "bert", "input": long_text, "options": opts})
        self.assertEqual(j["prompt_eval_count"], 16)
        cut = self.embed({"model": "bert", "input": " ".join(["word"] * 14), "options": opts})
        self.assertLess(max_diff(j["embeddings"][0], cut["embeddings"][0]), 1e-6)
        # Past the model's own context (512 positions) truncation still applies.
        j = self.embed({"model": "bert", "input": " ".join(["word"] * 600),
                        "options": {"num_ctx": 4096}})
        self.assertEqual(j["prompt_eval_count"], 512)

    def test_empty_input_loads_model(self):
        for body in ({"model": "nomic"}, {"model": "nomic", "input": ""},
                     {"model": "nomic", "input": []}):
            r = self.server.post("/api/embed", body)
            self.assertEqual(r.status, 200, r.text)
            self.assertEqual(r.json(), {"model": "nomic", "embeddings": []})
        ps = self.server.get("/api/ps").json()
        self.assertIn("nomic:latest", [m["name"] for m in ps["models"]])

    def test_errors(self):
        r = self.server.post("/api/embed", {"model": "missing", "input": "x"})
        self.assertEqual(r.status, 404)
        self.assertEqual(r.json()["error"], 'model "missing" not found, try pulling it first')
        r = self.server.post("/api/embed", {"input": "x"})
        self.assertEqual(r.status, 404)
        self.assertEqual(r.json()["error"], "model '' not found")
        for bad in (5, [1, 2], ["a", None], {"a": 1}):
            r = self.server.post("/api/embed", {"model": "nomic", "input": bad})
            self.assertEqual(r.status, 400, bad)
            self.assertEqual(r.json()["error"], "invalid input type")
        r = self.server.post("/api/embed", b"")
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["error"], "missing request body")
        r = self.server.post("/api/embeddings", {"prompt": "x"})
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["error"], "model is required")
        r = self.server.post("/api/embeddings", {"model": "missing", "prompt": "x"})
        self.assertEqual(r.status, 404)
        # An embedding model cannot generate.
        r = self.server.post("/api/generate", {"model": "nomic", "prompt": "hi", "stream": False})
        self.assertEqual(r.status, 400)
        self.assertIn("does not support generate", r.json()["error"])

    def test_legacy_embeddings_are_raw(self):
        for model in ("bert", "nomic"):
            t = self.ref[model]["texts"][2]
            r = self.server.post("/api/embeddings", {"model": model, "prompt": t["text"]})
            self.assertEqual(r.status, 200, r.text)
            v = r.json()["embedding"]
            self.assertEqual(list(r.json().keys()), ["embedding"])
            self.assertLess(max_diff(v, t["embedding"]), TOL[model])
            self.assertAlmostEqual(norm(v), t["embedding_l2norm"], delta=0.02)
        r = self.server.post("/api/embeddings", {"model": "nomic", "prompt": ""})
        self.assertEqual(r.json(), {"embedding": []})

    def test_show_reports_embedding_capability(self):
        r = self.server.post("/api/show", {"model": "nomic"})
        self.assertEqual(r.status, 200)
        self.assertIn("embedding", r.json()["capabilities"])
        self.assertNotIn("completion", r.json()["capabilities"])


if __name__ == "__main__":
    unittest.main()
