"""gpt-oss's harmony format end to end (§7.1, §11.3) through the real server.

The tiny gpt-oss model (random weights, a vocab without harmony's special tokens) cannot
write harmony, so the prompt side is checked exactly (`_debug_render_only`, and the token
count the runner saw), and its answers must be well formed with no marker leaking. The parser
is driven with known text by stories260K created with `parser: harmony` and an assistant
prefill: the parser then starts inside a final (analysis) message, so the model's greedy
golden continuation must come back whole as content (thinking)."""

import json
import time
import unittest

from ollama_e2e import ServerProcess, require_file, stories260k_path, testdata

GPTOSS = testdata("models", "tiny-gptoss-e64-f32.gguf")
# Any template with <|start|> and <|end|> marks a gpt-oss model as harmony (Ollama's rule);
# the prompt then comes from the harmony renderer.
HARMONY_TMPL = ("{{ range .Messages }}<|start|>{{ .Role }}<|message|>{{ .Content }}<|end|>"
                "{{ end }}<|start|>assistant")
CHATML = ("{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n"
          "{{ end }}<|im_start|>assistant\n")
MARKERS = ("<|start|>", "<|end|>", "<|message|>", "<|channel|>", "<|return|>", "<|call|>",
           "<|constrain|>", "<|", "to=functions")
CHANNELS = ("\n\n# Valid channels: analysis, commentary, final. Channel must be included for "
            "every message.")
TOOLS = [{"type": "function", "function": {
    "name": "get-weather", "description": "Get the weather",
    "parameters": {"type": "object", "required": ["city"], "properties": {
        "city": {"type": "string", "description": "City"},
        "days": {"type": "integer"}}}}}]


def system_msg(reasoning, tools=False):
    dates = {time.strftime("%Y-%m-%d"), time.strftime("%Y-%m-%d", time.localtime(time.time() - 60))}
    out = []
    for d in sorted(dates):
        s = ("<|start|>system<|message|>You are ChatGPT, a large language model trained by "
             "OpenAI.\nKnowledge cutoff: 2024-06\nCurrent date: " + d)
        if reasoning:
            s += "\n\nReasoning: " + reasoning
        s += CHANNELS
        if tools:
            s += "\nCalls to these tools must go to the commentary channel: 'functions'."
        out.append(s + "<|end|>")
    return out


class HarmonyTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        require_file(GPTOSS)
        with open(require_file(testdata("real", "stories260K.expected.json"))) as f:
            g = json.load(f)["prompted_greedy"][0]
        cls.prompt, cls.continuation = g["prompt"], g["full_text"][len(g["prompt"]):]
        cls.server = s = ServerProcess.start()
        params = {"num_predict": 8, "temperature": 0}
        s.create_from_file("oss:latest", GPTOSS, template=HARMONY_TMPL, parameters=params)
        s.create_from_file("oss-bare:latest", GPTOSS, parameters=params)
        s.create_from_file("oss-chatml:latest", GPTOSS, template=CHATML, parameters=params)
        stories = require_file(stories260k_path())
        s.create_from_file("parsed:latest", stories, parser="harmony",
                           template="{{ range .Messages }}{{ .Content }}{{ .Thinking }}{{ end }}")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def post(self, path, body):
        r = self.server.post(path, body)
        self.assertEqual(r.status, 200, r)
        return r

    def rendered(self, path, body):
        j = self.post(path, dict(body, _debug_render_only=True)).json()
        return j["_debug_info"]["rendered_template"]

    def assert_starts_with_one_of(self, text, heads):
        self.assertTrue(any(text.startswith(h) for h in heads), "%r\nnot one of %r" % (text, heads))
        return text[len(next(h for h in heads if text.startswith(h))):]

    def assert_no_markers(self, *texts):
        for t in texts:
            for m in MARKERS:
                self.assertNotIn(m, t or "")

    # --- which models are harmony ----------------------------------------------------------

    def test_capabilities(self):
        for model in ("oss", "oss-bare", "parsed"):
            caps = self.post("/api/show", {"model": model}).json()["capabilities"]
            for c in ("completion", "tools", "thinking"):
                self.assertIn(c, caps, model)
        # A gpt-oss model whose template is not harmony's: its template, thinking by family.
        caps = self.post("/api/show", {"model": "oss-chatml"}).json()["capabilities"]
        self.assertIn("thinking", caps)
        self.assertNotIn("tools", caps)
        p = self.rendered("/api/chat", {"model": "oss-chatml",
                                        "messages": [{"role": "user", "content": "Hi"}]})
        self.assertEqual(p, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")

    # --- the prompt ---------------------------------------------------------------------------

    def test_chat_prompt_system_and_think_levels(self):
        msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
        tail = ("<|start|>developer<|message|>\n\n# Instructions\n\nBe brief.<|end|>"
                "<|start|>user<|message|>Hi<|end|><|start|>assistant")
        for think, reasoning in ((None, "medium"), (True, "medium"), ("low", "low"),
                                 ("medium", "medium"), ("high", "high"), ("max", "high"),
                                 (False, None)):
            body = {"model": "oss", "messages": msgs}
            if think is not None:
                body["think"] = think
            p = self.rendered("/api/chat", body)
            self.assertEqual(self.assert_starts_with_one_of(p, system_msg(reasoning)), tail, think)
        # A gpt-oss GGUF created without a TEMPLATE layer renders the same.
        p = self.rendered("/api/chat", {"model": "oss-bare", "messages": msgs, "think": "low"})
        self.assertEqual(self.assert_starts_with_one_of(p, system_msg("low")), tail)

    def test_chat_prompt_tools_and_round_trip(self):
        msgs = [{"role": "user", "content": "Weather in Paris?"},
                {"role": "assistant", "content": "", "thinking": "Need the weather.",
                 "tool_calls": [{"function": {"name": "get_weather",
                                              "arguments": {"city": "Paris"}}}]},
                {"role": "tool", "tool_name": "get_weather", "content": "{\"temp\": 21}"}]
        p = self.rendered("/api/chat", {"model": "oss", "messages": msgs, "tools": TOOLS})
        rest = self.assert_starts_with_one_of(p, system_msg("medium", tools=True))
        self.assertEqual(rest,
                         "<|start|>developer<|message|># Tools\n\n## functions\n\n"
                         "namespace functions {\n\n// Get the weather\n"
                         "type get_weather = (_: {\n  // City\n  city: string,\n"
                         "  days: number,\n}) => any;\n\n} // namespace functions<|end|>"
                         "<|start|>user<|message|>Weather in Paris?<|end|>"
                         "<|start|>assistant<|channel|>analysis<|message|>Need the weather."
                         "<|end|><|start|>assistant<|channel|>commentary "
                         "to=functions.get_weather <|constrain|>json<|message|>"
                         "{\"city\":\"Paris\"}<|call|><|start|>functions.get_weather "
                         "to=assistant<|message|>{\"temp\": 21}<|end|><|start|>assistant")

    def test_generate_prompt_template_and_raw(self):
        p = self.rendered("/api/generate", {"model": "oss-bare", "prompt": "Hi",
                                            "system": "Be brief.", "think": "high"})
        self.assertEqual(self.assert_starts_with_one_of(p, system_msg("high")),
                         "<|start|>developer<|message|>\n\n# Instructions\n\nBe brief.<|end|>"
                         "<|start|>user<|message|>Hi<|end|><|start|>assistant")
        # A request's own template is executed as given; raw sends the prompt verbatim.
        p = self.rendered("/api/generate", {"model": "oss", "prompt": "Hi",
                                            "template": "[{{ .Prompt }}]"})
        self.assertEqual(p, "[Hi]")
        p = self.rendered("/api/generate", {"model": "oss", "prompt": "<|start|>x", "raw": True})
        self.assertEqual(p, "<|start|>x")

    # --- answers from the tiny gpt-oss model -------------------------------------------------

    def test_answers_are_well_formed(self):
        msgs = [{"role": "user", "content": "Hi"}]
        chat = {"model": "oss", "messages": msgs, "think": "low"}
        j = self.post("/api/chat", dict(chat, stream=False)).json()
        self.assertTrue(j["done"])
        self.assertEqual(j["message"]["role"], "assistant")
        self.assertLessEqual(j["eval_count"], 8)
        # Random text never closes a harmony header: nothing is content or thinking.
        self.assertEqual(j["message"]["content"], "")
        self.assertNotIn("thinking", j["message"])
        self.assertNotIn("tool_calls", j["message"])
        # The runner got exactly the rendered prompt: the same token count as sending it raw.
        rendered = self.rendered("/api/chat", chat)
        raw = self.post("/api/generate", {"model": "oss", "prompt": rendered, "raw": True,
                                          "stream": False}).json()
        self.assertEqual(j["prompt_eval_count"], raw["prompt_eval_count"])
        self.assertGreater(j["prompt_eval_count"], 50)
        chunks = self.post("/api/chat", chat).ndjson()
        self.assertTrue(chunks[-1]["done"])
        self.assert_no_markers(*[c["message"].get("content") for c in chunks],
                               *[c["message"].get("thinking") for c in chunks])
        for body in ({"model": "oss", "prompt": "Hi", "stream": False},
                     {"model": "oss-bare", "prompt": "Hi", "think": "high", "stream": False}):
            g = self.post("/api/generate", body).json()
            self.assertTrue(g["done"])
            self.assert_no_markers(g["response"], g.get("thinking"))
        chunks = self.post("/api/generate", {"model": "oss", "prompt": "Hi"}).ndjson()
        self.assertTrue(chunks[-1]["done"])
        self.assert_no_markers(*[c["response"] for c in chunks])
        o = self.post("/v1/chat/completions", {"model": "oss", "messages": msgs}).json()
        self.assertEqual(o["choices"][0]["message"]["role"], "assistant")
        self.assert_no_markers(o["choices"][0]["message"]["content"])
        r = self.post("/v1/chat/completions", {"model": "oss", "messages": msgs, "stream": True})
        self.assertTrue(r.text.rstrip().endswith("data: [DONE]"), r.text[-200:])
        self.assert_no_markers(*[l for l in r.text.split("\n") if l.startswith("data: {")])

    def test_cli_run_think_level(self):
        r = self.server.run_cli("run", "oss", "--think=low", "Hi", timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_no_markers(r.stdout)

    # --- the parser on known text --------------------------------------------------------

    def test_parser_content_prefill_gives_golden_content(self):
        msgs = [{"role": "user", "content": ""},
                {"role": "assistant", "content": self.prompt}]
        body = {"model": "parsed", "messages": msgs, "options": {"temperature": 0,
                                                                  "num_predict": 20}}
        j = self.post("/api/chat", dict(body, stream=False)).json()
        text = j["message"]["content"]
        self.assertGreater(len(text), 20)
        self.assertTrue(self.continuation.startswith(text), (text, self.continuation))
        self.assertNotIn("thinking", j["message"])
        chunks = self.post("/api/chat", body).ndjson()
        self.assertEqual("".join(c["message"]["content"] for c in chunks), text)
        self.assertGreater(len([c for c in chunks if c["message"]["content"]]), 5)  # streamed

    def test_parser_thinking_prefill_gives_golden_thinking(self):
        msgs = [{"role": "user", "content": ""},
                {"role": "assistant", "content": "", "thinking": self.prompt}]
        body = {"model": "parsed", "messages": msgs, "options": {"temperature": 0,
                                                                  "num_predict": 20}}
        j = self.post("/api/chat", dict(body, stream=False)).json()
        thinking = j["message"]["thinking"]
        self.assertGreater(len(thinking), 20)
        self.assertTrue(self.continuation.startswith(thinking), thinking)
        self.assertEqual(j["message"]["content"], "")
        # OpenAI chat: thinking is `reasoning`, in the request's messages and in the answer,
        # streamed and not.
        msgs = [{"role": "user", "content": ""},
                {"role": "assistant", "content": "", "reasoning": self.prompt}]
        o = self.post("/v1/chat/completions", {"model": "parsed", "messages": msgs,
                                               "temperature": 0, "max_tokens": 20}).json()
        self.assertEqual(o["choices"][0]["message"]["reasoning"], thinking)
        self.assertEqual(o["choices"][0]["message"]["content"], "")
        r = self.post("/v1/chat/completions", {"model": "parsed", "messages": msgs,
                                               "temperature": 0, "max_tokens": 20,
                                               "stream": True})
        deltas = [json.loads(l[6:])["choices"] for l in r.text.split("\n")
                  if l.startswith("data: {")]
        got = "".join(c[0]["delta"].get("reasoning", "") for c in deltas if c)
        self.assertEqual(got, thinking)


if __name__ == "__main__":
    unittest.main()
