"""/api/generate, /api/chat and /api/ps end to end with the real stories260K model: greedy
golden text (streamed and not), stats, context, stop sequences, keep_alive load/unload in
/api/ps, thinking via template tags, logprobs, a client disconnect freeing the slot,
concurrent clients on one model and on two models, and request errors."""

import json
import os
import re
import socket
import threading
import time
import unittest

from ollama_e2e import ServerProcess, require_file, stories260k_path, testdata

OPTS = {"temperature": 0, "num_predict": 20}
CHATML = ("{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n"
          "{{ end }}<|im_start|>assistant\n")
# A template with thinking tags that pre-opens thinking: everything the model writes is
# thinking until </think> (which stories260K never writes).
THINKER = ("{{- range .Messages }}{{ if eq .Role \"user\" }}{{ .Content }}"
           "{{ else if eq .Role \"assistant\" }}<think>{{ .Thinking }}</think>{{ .Content }}"
           "{{ end }}{{ end }}{{ if .Think }}<think>{{ end }}")

# Tool calls start with "," here (§7.5 tag inference): stories260K's answer begins with ","
# but never holds a JSON call, so the withheld text must come back as content at the end.
TOOLER = ("{{ if .Tools }}{{ end }}{{ range .Messages }}{{ .Content }}"
          "{{ if .ToolCalls }}, {\"name\": \"{{ range .ToolCalls }}{{ .Function.Name }}"
          "{{ end }}\"}{{ end }}{{ end }}")


def golden():
    path = require_file(testdata("real", "stories260K.expected.json"))
    with open(path) as f:
        g = json.load(f)["prompted_greedy"][0]
    return g["prompt"], g["full_text"][len(g["prompt"]):], g


def generate(server, body, **kw):
    return server.post("/api/generate", body, **kw)


class GenerateChatTest(unittest.TestCase):
    """One server (OLLAMA_NUM_PARALLEL=2) with four models created through the API."""

    @classmethod
    def setUpClass(cls):
        cls.prompt, cls.continuation, cls.golden = golden()
        cls.server = ServerProcess.start(extra_env={"OLLAMA_NUM_PARALLEL": "2"})
        s = cls.server
        s.create_stories("stories:latest", template="{{ .Prompt }}")
        s.create_stories("teller:latest", template="Once upon a {{ .Prompt }}",
                         parameters={"temperature": 0})
        s.create_stories("chatml:latest", template=CHATML, system="You tell stories.")
        s.create_stories("thinker:latest", template=THINKER)
        s.create_stories("tooler:latest", template=TOOLER)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def assert_golden(self, text):
        self.assertGreater(len(text), 10, text)
        self.assertTrue(self.continuation.startswith(text),
                        "not a golden prefix:\n%r\n%r" % (text, self.continuation))

    def assert_final(self, obj, eval_count=20, prompt_tokens=None):
        self.assertTrue(obj["done"])
        self.assertEqual(obj["done_reason"], "length")
        self.assertEqual(obj["eval_count"], eval_count)
        if prompt_tokens is not None:
            self.assertEqual(obj["prompt_eval_count"], prompt_tokens)
        for k in ("total_duration", "load_duration", "prompt_eval_duration", "eval_duration"):
            self.assertIsInstance(obj[k], int, k)
            self.assertGreater(obj[k], 0, k)
        self.assertGreaterEqual(obj["total_duration"], obj["eval_duration"])
        self.assertGreaterEqual(obj["total_duration"], obj["load_duration"])
        self.assertLess(obj["total_duration"], 60e9)
        self.assertRegex(obj["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")

    # --- generate ------------------------------------------------------------------------

    def test_generate_not_streamed_golden_with_context(self):
        r = generate(self.server, {"model": "stories", "prompt": self.prompt, "stream": False,
                                   "options": OPTS})
        self.assertEqual(r.status, 200, r)
        self.assertIn("application/json", r.headers["content-type"])
        j = r.json()
        self.assertEqual(j["model"], "stories")
        self.assert_golden(j["response"])
        self.assert_final(j, prompt_tokens=5)
        # context = prompt tokens + generated tokens, exactly the golden ids.
        want = self.golden["prompt_token_ids"] + self.golden["greedy_generated_ids"][:20]
        self.assertEqual(j["context"], want)

    def test_generate_streamed_matches(self):
        r = generate(self.server, {"model": "stories", "prompt": self.prompt, "options": OPTS})
        self.assertEqual(r.status, 200, r)
        self.assertIn("application/x-ndjson", r.headers["content-type"])
        chunks = r.ndjson()
        self.assertGreaterEqual(len(chunks), 10)
        for c in chunks[:-1]:
            self.assertFalse(c["done"])
            for k in ("done_reason", "eval_count", "total_duration", "context"):
                self.assertNotIn(k, c)
        self.assert_final(chunks[-1], prompt_tokens=5)
        self.assertIn("context", chunks[-1])
        self.assert_golden("".join(c["response"] for c in chunks))

    def test_raw_has_no_context_and_generate_context_continues(self):
        j = generate(self.server, {"model": "stories", "prompt": self.prompt, "raw": True,
                                   "stream": False, "options": OPTS}).json()
        self.assert_golden(j["response"])
        self.assertNotIn("context", j)
        # `context` from a previous answer is prepended (detokenized) to the next prompt.
        first = generate(self.server, {"model": "stories", "prompt": "Once", "stream": False,
                                       "options": {"temperature": 0, "num_predict": 1}}).json()
        nxt = generate(self.server, {"model": "stories", "prompt": " upon a time",
                                     "context": first["context"][:2], "stream": False,
                                     "options": OPTS}).json()
        self.assert_golden(nxt["response"])

    def test_stop_sequences(self):
        cut = self.continuation.index(" girl")
        j = generate(self.server, {"model": "stories", "prompt": self.prompt, "stream": False,
                                   "options": dict(OPTS, stop=[" girl"])}).json()
        self.assertEqual(j["response"], self.continuation[:cut])
        self.assertEqual(j["done_reason"], "stop")
        # Split across tokens (" girl" + " named"), streamed: never emitted, even partly.
        cut = self.continuation.index("irl na")
        chunks = generate(self.server, {"model": "stories", "prompt": self.prompt,
                                        "options": dict(OPTS, stop=["irl na"])}).ndjson()
        self.assertEqual("".join(c["response"] for c in chunks), self.continuation[:cut])
        self.assertEqual(chunks[-1]["done_reason"], "stop")

    def test_logprobs(self):
        j = generate(self.server, {"model": "stories", "prompt": self.prompt, "stream": False,
                                   "logprobs": True, "top_logprobs": 3,
                                   "options": {"temperature": 0, "num_predict": 5}}).json()
        lps = j["logprobs"]
        self.assertEqual(len(lps), 5)
        self.assertEqual("".join(e["token"] for e in lps), j["response"])
        for e in lps:
            self.assertLessEqual(e["logprob"], 0)
            self.assertEqual(bytes(e["bytes"]), e["token"].encode("utf-8"))
            top = e["top_logprobs"]
            self.assertEqual(len(top), 3)
            self.assertEqual(top[0]["token"], e["token"])  # greedy picks the most likely
            self.assertAlmostEqual(top[0]["logprob"], e["logprob"], places=5)
            self.assertEqual([t["logprob"] for t in top],
                             sorted((t["logprob"] for t in top), reverse=True))
        r = generate(self.server, {"model": "stories", "prompt": "x", "top_logprobs": 21})
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["error"], "top_logprobs must be between 0 and 20")

    def test_thinking_from_template_tags(self):
        # Thinking is on by default for a thinking model; the prompt pre-opens <think>.
        j = self.server.post("/api/chat", {"model": "thinker", "stream": False,
                                           "messages": [{"role": "user", "content": "Hi"}],
                                           "options": OPTS}).json()
        self.assertGreater(len(j["message"]["thinking"]), 5, j)
        self.assertEqual(j["message"]["content"], "")
        j = generate(self.server, {"model": "thinker", "prompt": "Hi", "think": False,
                                   "stream": False, "options": OPTS}).json()
        self.assertNotIn("thinking", j)
        self.assertGreater(len(j["response"]), 5)

    def test_tool_parser_returns_unparsed_text_as_content(self):
        tools = [{"type": "function", "function": {"name": "there", "parameters": {
            "type": "object", "properties": {"x": {"type": "string"}}}}}]
        body = {"model": "tooler", "messages": [{"role": "user", "content": self.prompt}],
                "tools": tools, "options": OPTS}
        j = self.server.post("/api/chat", dict(body, stream=False)).json()
        self.assert_golden(j["message"]["content"])
        self.assertNotIn("tool_calls", j["message"])
        self.assertEqual(j["choices"][0]["finish_reason"], "length")
        chunks = self.server.post("/api/chat", body).ndjson()
        self.assertEqual("".join(c["message"]["content"] for c in chunks),
                         j["message"]["content"])
        # Withheld while it could be a call: it all arrives in one chunk at the end.
        self.assertEqual(len([c for c in chunks if c["message"]["content"]]), 1)
        # A history with a tool call renders through the template with its name.
        hist = [{"role": "user", "content": "a"},
                {"role": "assistant", "content": "b", "tool_calls": [
                    {"function": {"name": "there", "arguments": {"x": "y"}}}]},
                {"role": "user", "content": "c"}]
        j = self.server.post("/api/chat", {"model": "tooler", "messages": hist, "tools": tools,
                                           "_debug_render_only": True}).json()
        self.assertEqual(j["_debug_info"]["rendered_template"], 'ab, {"name": "there"}c')

    # --- chat ----------------------------------------------------------------------------

    def test_chat_golden_stream_and_not(self):
        msgs = [{"role": "user", "content": "time"}]
        j = self.server.post("/api/chat", {"model": "teller", "messages": msgs,
                                           "stream": False, "options": OPTS}).json()
        self.assertEqual(j["message"]["role"], "assistant")
        self.assert_golden(j["message"]["content"])
        self.assert_final(j, prompt_tokens=5)
        self.assertNotIn("context", j)
        self.assertEqual(j["choices"], [{"index": 0, "message": j["message"],
                                         "finish_reason": "length"}])
        chunks = self.server.post("/api/chat", {"model": "teller", "messages": msgs,
                                                "options": OPTS}).ndjson()
        for c in chunks[:-1]:
            self.assertFalse(c["done"])
            self.assertEqual(c["message"]["role"], "assistant")
            self.assertNotIn("choices", c)
        self.assert_final(chunks[-1], prompt_tokens=5)
        self.assertEqual("".join(c["message"]["content"] for c in chunks),
                         j["message"]["content"])

    def test_chat_template_with_system_and_history(self):
        msgs = [{"role": "user", "content": "Tell me a story."},
                {"role": "assistant", "content": "Once upon a time"},
                {"role": "USER", "content": "More."}]
        j = self.server.post("/api/chat", {"model": "chatml", "messages": msgs, "stream": False,
                                           "options": OPTS}).json()
        self.assertEqual(j["done_reason"], "length")
        self.assertEqual(j["eval_count"], 20)
        self.assertIsInstance(j["message"]["content"], str)
        # The model SYSTEM is prepended: the prompt is longer than without it.
        j2 = self.server.post("/api/chat", {"model": "chatml", "stream": False,
                                            "messages": [{"role": "system", "content": "S"}] +
                                            msgs, "options": OPTS}).json()
        self.assertGreater(j["prompt_eval_count"], j2["prompt_eval_count"])
        self.assertEqual(j["choices"][0]["message"], j["message"])

    def test_debug_render_only_and_truncation(self):
        msgs = [{"role": "user", "content": "Hi"}]
        j = self.server.post("/api/chat", {"model": "chatml", "messages": msgs,
                                           "_debug_render_only": True}).json()
        self.assertEqual(j["_debug_info"]["rendered_template"],
                         "<|im_start|>system\nYou tell stories.<|im_end|>\n"
                         "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
        self.assertEqual(j["_debug_info"]["image_count"], 0)
        self.assertNotIn("message", j)
        j = generate(self.server, {"model": "stories", "prompt": "Tell", "system": "ignored",
                                   "_debug_render_only": True}).json()
        self.assertEqual(j["_debug_info"]["rendered_template"], "Tell")
        # History beyond num_ctx is dropped oldest first; system and the last turn stay.
        long = [{"role": r, "content": "%s turn %d " % (r, i) + "word " * 30}
                for i in range(8) for r in ("user", "assistant")]
        long.append({"role": "user", "content": "Last question"})
        j = self.server.post("/api/chat", {"model": "chatml", "messages": long,
                                           "_debug_render_only": True,
                                           "options": {"num_ctx": 256}}).json()
        text = j["_debug_info"]["rendered_template"]
        self.assertTrue(text.startswith("<|im_start|>system\nYou tell stories."), text[:80])
        self.assertTrue(text.endswith("Last question<|im_end|>\n<|im_start|>assistant\n"))
        self.assertNotIn("user turn 0 ", text)
        self.assertIn("assistant turn 7 ", text)

    # --- scheduling ----------------------------------------------------------------------

    def ps_names(self):
        return {m["name"]: m for m in self.server.get("/api/ps").json()["models"]}

    def test_keep_alive_load_unload_in_ps(self):
        j = generate(self.server, {"model": "teller", "keep_alive": "10m"}).json()
        self.assertEqual((j["done"], j["done_reason"], j["response"]), (True, "load", ""))
        m = self.ps_names()["teller:latest"]
        self.assertEqual(m["model"], "teller:latest")
        self.assertRegex(m["digest"], "^[0-9a-f]{64}$")
        self.assertGreater(m["size"], 0)
        self.assertEqual(m["size_vram"], 0)
        self.assertEqual(m["details"]["family"], "llama")
        self.assertGreater(m["context_length"], 0)
        year = int(m["expires_at"][:4])
        self.assertLessEqual(year, time.gmtime().tm_year + 1)
        # Negative keep_alive: forever (~292 years ahead).
        j = self.server.post("/api/chat", {"model": "teller", "messages": [],
                                           "keep_alive": -1}).json()
        self.assertEqual(j["done_reason"], "load")
        self.assertEqual(j["message"], {"role": "assistant", "content": ""})
        self.assertGreater(int(self.ps_names()["teller:latest"]["expires_at"][:4]),
                           time.gmtime().tm_year + 250)
        j = generate(self.server, {"model": "teller", "keep_alive": 0}).json()
        self.assertEqual(j["done_reason"], "unload")
        self.assertNotIn("teller:latest", self.ps_names())
        # keep_alive 0 on a real request: unloaded once it finishes.
        generate(self.server, {"model": "teller", "prompt": "time", "stream": False,
                               "keep_alive": 0, "options": {"num_predict": 2}})
        deadline = time.time() + 5
        while "teller:latest" in self.ps_names() and time.time() < deadline:
            time.sleep(0.05)
        self.assertNotIn("teller:latest", self.ps_names())

    def test_disconnect_frees_the_slot(self):
        # Both slots busy with endless generations whose clients then go away; the next
        # request must get a slot at once (an unfreed slot would hold it ~30 s).
        socks = []
        for _ in range(2):
            s = socket.create_connection(("127.0.0.1", self.server.port))
            body = json.dumps({"model": "stories", "prompt": self.prompt,
                               "options": {"num_predict": 100000}}).encode()
            s.sendall(b"POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                      % len(body) + body)
            got = b""
            while got.count(b"\n") < 12:
                got += s.recv(4096)
            socks.append(s)
        for s in socks:
            s.close()
        t = time.time()
        j = generate(self.server, {"model": "stories", "prompt": self.prompt, "stream": False,
                                   "options": OPTS}, timeout=20).json()
        self.assert_golden(j["response"])
        self.assertLess(time.time() - t, 5.0)

    def test_concurrent_clients_one_model_and_two_models(self):
        results = {}

        def run(i, model, prompt):
            r = generate(self.server, {"model": model, "prompt": prompt, "stream": i % 2 == 0,
                                       "options": OPTS})
            if i % 2 == 0:
                results[i] = "".join(c["response"] for c in r.ndjson())
            else:
                results[i] = r.json()["response"]

        jobs = [(i, "stories", self.prompt) for i in range(4)]
        jobs += [(4, "teller", "time"), (5, "stories", self.prompt), (6, "teller", "time")]
        threads = [threading.Thread(target=run, args=j) for j in jobs]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(len(results), 7)
        for i in range(7):
            self.assert_golden(results[i])
        self.assertEqual(len(set(results.values())), 1)
        names = self.ps_names()
        self.assertIn("stories:latest", names)
        self.assertIn("teller:latest", names)

    def test_prompt_longer_than_context(self):
        body = {"model": "chatml", "prompt": "word " * 300, "raw": True, "truncate": False,
                "shift": False, "options": {"num_ctx": 64, "num_predict": 3}}
        for stream in (False, True):
            r = generate(self.server, dict(body, stream=stream))
            self.assertEqual(r.status, 400, r)
            self.assertTrue(r.json()["error"].startswith(
                "the prompt is longer than the context length currently available"))
        # Default truncate/shift: the runner keeps num_keep and the newest tokens.
        j = generate(self.server, dict(body, truncate=True, shift=True, stream=False)).json()
        self.assertEqual(j["eval_count"], 3)
        self.assertLess(j["prompt_eval_count"], 64)

    # --- errors --------------------------------------------------------------------------

    def expect_error(self, path, body, status, message):
        r = self.server.post(path, body)
        self.assertEqual(r.status, status, r)
        if isinstance(message, re.Pattern):
            self.assertRegex(r.json()["error"], message)
        else:
            self.assertEqual(r.json()["error"], message)

    def test_errors(self):
        e = self.expect_error
        e("/api/generate", {"model": "nope", "prompt": "x"}, 404, "model 'nope' not found")
        e("/api/chat", {"model": "nope", "messages": []}, 404, "model 'nope' not found")
        e("/api/generate", {"prompt": "x"}, 404, "model '' not found")
        e("/api/chat", {"messages": []}, 400, "model is required")
        e("/api/generate", '{"model": "stories", "prompt": ', 400, "unexpected EOF")
        e("/api/chat", "{bad", 400, re.compile("^invalid character 'b'"))
        e("/api/generate", "", 400, "missing request body")
        e("/api/generate", {"model": "stories", "prompt": 5}, 400,
          re.compile("cannot unmarshal number into Go struct field GenerateRequest.prompt"))
        e("/api/generate", {"model": "stories", "prompt": "x", "options": {"num_predict": "x"}},
          400, 'option "num_predict" must be of type integer')
        e("/api/chat", {"model": "stories", "messages": [{"role": "user", "content": "x"}],
                        "options": {"temperature": "hot"}}, 400,
          'option "temperature" must be of type float32')
        e("/api/generate", {"model": "stories", "prompt": "x", "options": {"stop": "x"}}, 400,
          'option "stop" must be of type array')
        fmt = 'invalid format: "yaml"; expected "json" or a valid JSON Schema object'
        e("/api/generate", {"model": "stories", "prompt": "x", "format": "yaml"}, 400, fmt)
        e("/api/chat", {"model": "stories", "messages": [], "format": {"type": "strin"}},
          400, 'format: unknown type "strin"')
        e("/api/generate", {"model": "stories", "prompt": "x", "keep_alive": "3600"}, 400,
          'time: missing unit in duration "3600"')
        e("/api/generate", {"model": "stories", "prompt": "x", "keep_alive": True}, 400,
          "Unsupported type: 'bool'")
        e("/api/generate", {"model": "stories", "prompt": "x", "think": "hard"}, 400,
          'invalid think value: "hard" (must be "high", "medium", "low", "max", true, or false)')
        e("/api/generate", {"model": "stories", "prompt": "x", "think": True}, 400,
          '"stories" does not support thinking')
        e("/api/generate", {"model": "stories", "prompt": "x", "raw": True, "system": "s"},
          400, "raw mode does not support template, system, or context")
        e("/api/generate", {"model": "stories", "prompt": "x", "suffix": "y"}, 400,
          "registry.ollama.ai/library/stories:latest does not support insert")
        e("/api/chat", {"model": "stories", "messages": [{"role": "user", "content": "x"}],
                        "tools": [{"type": "function", "function": {"name": "f"}}]}, 400,
          "registry.ollama.ai/library/stories:latest does not support tools")
        e("/api/chat", {"model": "stories", "messages": [{"role": "user", "content": "x",
                                                          "images": ["aGk="]}]}, 400,
          "registry.ollama.ai/library/stories:latest does not support vision")
        # Unknown options are ignored; the server is still fine.
        j = generate(self.server, {"model": "stories", "prompt": self.prompt, "stream": False,
                                   "options": dict(OPTS, bogus=1)}).json()
        self.assert_golden(j["response"])


if __name__ == "__main__":
    unittest.main()
