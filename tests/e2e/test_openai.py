"""OpenAI-compatible endpoints end to end (spec §5.1-5.3): /v1/chat/completions and
/v1/completions (plain and SSE streaming, usage, ids), /v1/embeddings (float and base64),
/v1/models, and OpenAI-shaped errors."""

import base64
import http.client
import json
import math
import struct
import unittest

from ollama_e2e import ServerTestCase, require_file, stories260k_path, testdata


class OpenAITest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server.create_stories("stories:latest")
        cls.server.create_from_file(
            "nomic", require_file(testdata("models", "tiny-nomic-bert-e64.gguf")))

    def post(self, path, body, status=200):
        r = self.server.post(path, body)
        self.assertEqual(r.status, status, r.text)
        return r.json()

    def sse(self, path, body):
        """POSTs and returns (status, content-type, [payload strings]) of a streamed reply."""
        conn = http.client.HTTPConnection(self.server.host, self.server.port, timeout=120)
        try:
            conn.request("POST", path, body=json.dumps(body),
                         headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            raw = resp.read().decode("utf-8")
            events = [e for e in raw.split("\n\n") if e.strip()]
            payloads = []
            for e in events:
                self.assertTrue(e.startswith("data: "), e)
                payloads.append(e[len("data: "):])
            return resp.status, resp.getheader("Content-Type"), payloads
        finally:
            conn.close()

    def assert_openai_error(self, r, status, substring=None):
        self.assertEqual(r.status, status, r.text)
        err = r.json()["error"]
        self.assertEqual(set(err), {"message", "type", "param", "code"})
        self.assertEqual(err["type"], {400: "invalid_request_error",
                                       404: "not_found_error"}.get(status, "api_error"))
        if substring:
            self.assertIn(substring, err["message"])

    # --- chat ----------------------------------------------------------------------------

    def test_chat_completion(self):
        j = self.post("/v1/chat/completions", {
            "model": "stories", "messages": [{"role": "user", "content": "Once upon a time"}],
            "max_tokens": 8, "temperature": 0})
        self.assertTrue(j["id"].startswith("chatcmpl-"))
        self.assertEqual(j["object"], "chat.completion")
        self.assertEqual(j["model"], "stories")
        self.assertEqual(j["system_fingerprint"], "fp_ollama")
        self.assertIsInstance(j["created"], int)
        self.assertEqual(len(j["choices"]), 1)
        c = j["choices"][0]
        self.assertEqual(c["index"], 0)
        self.assertEqual(c["message"]["role"], "assistant")
        self.assertTrue(c["message"]["content"])
        self.assertEqual(c["finish_reason"], "length")
        u = j["usage"]
        self.assertEqual(u["completion_tokens"], 8)
        self.assertGreater(u["prompt_tokens"], 0)
        self.assertEqual(u["total_tokens"], u["prompt_tokens"] + 8)
        # Content parts give the same prompt as a string; greedy gives the same text.
        j2 = self.post("/v1/chat/completions", {
            "model": "stories", "max_tokens": 8, "temperature": 0,
            "messages": [{"role": "user",
                          "content": [{"type": "text", "text": "Once upon a time"}]}]})
        self.assertEqual(j2["choices"][0]["message"]["content"], c["message"]["content"])
        self.assertNotEqual(j2["id"], j["id"])

    def test_chat_stream(self):
        body = {"model": "stories", "stream": True, "max_tokens": 6, "temperature": 0,
                "stream_options": {"include_usage": True},
                "messages": [{"role": "user", "content": "Once upon a time"}]}
        status, ctype, payloads = self.sse("/v1/chat/completions", body)
        self.assertEqual(status, 200)
        self.assertTrue(ctype.startswith("text/event-stream"))
        self.assertEqual(payloads[-1], "[DONE]")
        chunks = [json.loads(p) for p in payloads[:-1]]
        ids = {c["id"] for c in chunks}
        self.assertEqual(len(ids), 1)
        self.assertEqual(len({c["created"] for c in chunks}), 1)
        for c in chunks:
            self.assertEqual(c["object"], "chat.completion.chunk")
            self.assertEqual(c["system_fingerprint"], "fp_ollama")
        self.assertEqual(chunks[0]["choices"][0]["delta"]["role"], "assistant")
        usage = chunks[-1]
        self.assertEqual(usage["choices"], [])
        self.assertEqual(usage["usage"]["completion_tokens"], 6)
        finish = chunks[-2]
        self.assertEqual(finish["choices"][0]["delta"], {})
        self.assertEqual(finish["choices"][0]["finish_reason"], "length")
        text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks[:-2])
        for c in chunks[:-2]:
            self.assertIsNone(c["choices"][0]["finish_reason"])
        plain = self.post("/v1/chat/completions", dict(body, stream=False))
        self.assertEqual(text, plain["choices"][0]["message"]["content"])
        # Without include_usage: no usage chunk.
        _, _, payloads = self.sse("/v1/chat/completions", dict(body, stream_options=None))
        self.assertEqual(payloads[-1], "[DONE]")
        self.assertNotIn("usage", json.loads(payloads[-2]))
        self.assertEqual(json.loads(payloads[-2])["choices"][0]["finish_reason"], "length")

    def test_chat_stop_and_seed(self):
        base = {"model": "stories", "max_tokens": 30, "temperature": 0,
                "messages": [{"role": "user", "content": "Once upon a time"}]}
        full = self.post("/v1/chat/completions", base)["choices"][0]["message"]["content"]
        words = full.split()
        self.assertGreater(len(words), 3)
        stop = words[2]
        cut = self.post("/v1/chat/completions", dict(base, stop=stop))["choices"][0]
        self.assertNotIn(stop, cut["message"]["content"])
        self.assertEqual(cut["finish_reason"], "stop")
        cut2 = self.post("/v1/chat/completions", dict(base, stop=[stop, "zzz"]))["choices"][0]
        self.assertEqual(cut2["message"]["content"], cut["message"]["content"])
        # Seeded sampling at temperature 1 (the default) repeats.
        seeded = dict(base, seed=42, temperature=None)
        del seeded["temperature"]
        a = self.post("/v1/chat/completions", seeded)["choices"][0]["message"]["content"]
        b = self.post("/v1/chat/completions", seeded)["choices"][0]["message"]["content"]
        self.assertEqual(a, b)

    def test_ids_are_unique(self):
        ids = set()
        for _ in range(200):
            j = self.post("/v1/chat/completions", {
                "model": "stories", "max_tokens": 1,
                "messages": [{"role": "user", "content": "hi"}]})
            ids.add(j["id"])
        self.assertEqual(len(ids), 200)

    def test_chat_errors(self):
        r = self.server.post("/v1/chat/completions", {"model": "stories", "messages": []})
        self.assert_openai_error(r, 400, "[] is too short - 'messages'")
        r = self.server.post("/v1/chat/completions", {
            "model": "missing", "messages": [{"role": "user", "content": "x"}]})
        self.assert_openai_error(r, 404, "not found")
        r = self.server.post("/v1/chat/completions", {
            "model": "stories", "messages": [{"role": "user", "content": "x"}],
            "response_format": {"type": "yaml"}})
        self.assert_openai_error(r, 400, "response_format")
        r = self.server.post("/v1/chat/completions", {
            "model": "stories", "messages": [{"role": "user", "content": "x"}],
            "reasoning_effort": "bogus"})
        self.assert_openai_error(r, 400, "invalid reasoning value")
        r = self.server.post("/v1/chat/completions", {
            "model": "stories", "messages": [{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}]})
        self.assert_openai_error(r, 400, "image URLs are not currently supported")
        r = self.server.post("/v1/chat/completions", b"{bad")
        self.assert_openai_error(r, 400)
        r = self.server.post("/v1/chat/completions", {
            "model": "nomic", "messages": [{"role": "user", "content": "x"}]})
        self.assert_openai_error(r, 400, "does not support chat")

    # --- completions ---------------------------------------------------------------------

    def test_completions(self):
        body = {"model": "stories", "prompt": "Once upon a time", "max_tokens": 5,
                "temperature": 0}
        j = self.post("/v1/completions", body)
        self.assertTrue(j["id"].startswith("cmpl-"))
        self.assertEqual(j["object"], "text_completion")
        c = j["choices"][0]
        self.assertTrue(c["text"])
        self.assertEqual(c["finish_reason"], "length")
        self.assertEqual(j["usage"]["completion_tokens"], 5)
        status, _, payloads = self.sse("/v1/completions", dict(
            body, stream=True, stream_options={"include_usage": True}))
        self.assertEqual(status, 200)
        self.assertEqual(payloads[-1], "[DONE]")
        chunks = [json.loads(p) for p in payloads[:-1]]
        self.assertEqual(chunks[-1]["choices"], [])
        self.assertEqual(chunks[-1]["usage"]["completion_tokens"], 5)
        self.assertEqual(chunks[-2]["choices"][0]["finish_reason"], "length")
        text = "".join(ch["choices"][0]["text"] for ch in chunks[:-1])
        self.assertEqual(text, c["text"])
        r = self.server.post("/v1/completions", dict(body, echo=True))
        self.assert_openai_error(r, 400, "echo")
        r = self.server.post("/v1/completions", dict(body, stop=[1]))
        self.assert_openai_error(r, 400, "stop")

    # --- embeddings and models -----------------------------------------------------------

    def test_embeddings(self):
        with open(testdata("models", "tiny-nomic-bert-e64.embd.json")) as f:
            ref = json.load(f)["texts"]
        j = self.post("/v1/embeddings", {"model": "nomic", "input": [ref[0]["text"],
                                                                     ref[1]["text"]]})
        self.assertEqual(j["object"], "list")
        self.assertEqual(j["model"], "nomic")
        self.assertEqual([d["index"] for d in j["data"]], [0, 1])
        for d, t in zip(j["data"], ref):
            self.assertEqual(d["object"], "embedding")
            self.assertLess(max(abs(a - b) for a, b in
                                zip(d["embedding"], t["embedding_normalized"])), 1e-4)
        n = len(ref[0]["tokens"]) + len(ref[1]["tokens"])
        self.assertEqual(j["usage"], {"prompt_tokens": n, "total_tokens": n})
        # base64 carries the same floats as the JSON list for the same request (a batch of
        # two texts may take other kernels than one text: compare one text with one text).
        b = self.post("/v1/embeddings", {"model": "nomic", "input": ref[0]["text"],
                                         "encoding_format": "base64"})
        f = self.post("/v1/embeddings", {"model": "nomic", "input": ref[0]["text"]})
        raw = base64.b64decode(b["data"][0]["embedding"])
        vals = struct.unpack("<64f", raw)
        self.assertLess(max(abs(a - c) for a, c in zip(vals, f["data"][0]["embedding"])), 1e-7)
        d = self.post("/v1/embeddings", {"model": "nomic", "input": "x", "dimensions": 8})
        v = d["data"][0]["embedding"]
        self.assertEqual(len(v), 8)
        self.assertAlmostEqual(math.sqrt(sum(x * x for x in v)), 1.0, places=5)
        self.assertEqual(len(self.post("/v1/embeddings",
                                       {"model": "nomic", "input": ""})["data"]), 1)
        # A generation model without declared pooling is not an embedding model.
        r = self.server.post("/v1/embeddings", {"model": "stories", "input": "Once"})
        self.assert_openai_error(r, 400, '"stories" does not support embeddings')
        r = self.server.post("/v1/embeddings", {"model": "nomic", "input": []})
        self.assert_openai_error(r, 400, "invalid input")
        r = self.server.post("/v1/embeddings", {"model": "nomic", "input": "x",
                                                "encoding_format": "int8"})
        self.assert_openai_error(r, 400, "Invalid value for 'encoding_format' = int8")
        r = self.server.post("/v1/embeddings", {"model": "missing", "input": "x"})
        self.assert_openai_error(r, 404)

    def test_models(self):
        j = self.server.get("/v1/models").json()
        self.assertEqual(j["object"], "list")
        ids = {m["id"] for m in j["data"]}
        self.assertEqual(ids, {"stories:latest", "nomic:latest"})
        for m in j["data"]:
            self.assertEqual(m["object"], "model")
            self.assertEqual(m["owned_by"], "library")
            self.assertIsInstance(m["created"], int)
        one = self.server.get("/v1/models/stories").json()
        self.assertEqual(one["id"], "stories")  # as asked for
        self.assertEqual(self.server.get("/v1/models/stories:latest").json()["id"],
                         "stories:latest")
        self.assert_openai_error(self.server.get("/v1/models/missing"), 404)


if __name__ == "__main__":
    unittest.main()
