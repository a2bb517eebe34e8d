"""gpt-oss's harmony format end to end (§7.1, §11.3) through the real server.

The tiny gpt-oss model (random weights, a vocab without harmony's special tokens) cannot
write harmony, so the prompt side is checked exactly (`_debug_render_only`, and the token
count the runner saw), and its answers must be well formed with no marker leaking. The parser
is driven with known text by stories260K created with `parser: harmony`: with an assistant
prefill the parser starts inside a final (analysis) message, so the greedy golden continuation
comes back whole as content (thinking); and copies of stories260K whose vocab respells the
tokens of that greedy answer as harmony's control tokens (`<|channel|>`, `<|message|>`, ...)
and words make the model write a real harmony answer (analysis then final, or a tool call
ended by `<|call|>`), token for token, through runner, parser, every chat API and
`ollama run --think=low` (thinking shown, then the answer)."""

import json
import os
import struct
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


# GGUF value sizes by type id; 8 is a string, 9 an array.
GGUF_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
CONTROL, NORMAL = 3, 1


def _skip_value(b, o, t):
    if t in GGUF_SIZES:
        return o + GGUF_SIZES[t]
    if t == 8:
        return o + 8 + struct.unpack_from("<Q", b, o)[0]
    et, n = struct.unpack_from("<IQ", b, o)
    o += 12
    if et in GGUF_SIZES:
        return o + GGUF_SIZES[et] * n
    for _ in range(n):
        o = _skip_value(b, o, et)
    return o


def respell_vocab(src, dst, tokens):
    """Copies GGUF `src` to `dst` with the tokens {id: (text, type)} respelled. Token ids, and
    so the model's greedy choices, stay the same: only the text they decode to changes."""
    with open(src, "rb") as f:
        b = f.read()
    _, _, n_tensors, n_kv = struct.unpack_from("<4sIQQ", b, 0)
    out, o = [b[:24]], 24
    for _ in range(n_kv):
        klen = struct.unpack_from("<Q", b, o)[0]
        key = b[o + 8:o + 8 + klen].decode()
        t = struct.unpack_from("<I", b, o + 8 + klen)[0]
        vo = o + 12 + klen
        end = _skip_value(b, vo, t)
        if key == "tokenizer.ggml.tokens":
            n = struct.unpack_from("<IQ", b, vo)[1]
            texts, p = [], vo + 12
            for _ in range(n):
                ln = struct.unpack_from("<Q", b, p)[0]
                texts.append(b[p + 8:p + 8 + ln])
                p += 8 + ln
            for i, (text, _) in tokens.items():
                texts[i] = text.encode()
            body = struct.pack("<IQ", 8, n) + b"".join(struct.pack("<Q", len(x)) + x for x in texts)
            out.append(b[o:vo] + body)
        elif key == "tokenizer.ggml.token_type":
            n = struct.unpack_from("<IQ", b, vo)[1]
            types = list(struct.unpack_from("<%di" % n, b, vo + 12))
            for i, (_, typ) in tokens.items():
                types[i] = typ
            out.append(b[o:vo] + struct.pack("<IQ", 5, n) + struct.pack("<%di" % n, *types))
        else:
            out.append(b[o:end])
        o = end
    info_start = o
    for _ in range(n_tensors):
        o += 8 + struct.unpack_from("<Q", b, o)[0]
        n_dims = struct.unpack_from("<I", b, o)[0]
        o += 4 + 8 * n_dims + 4 + 8
    out.append(b[info_start:o])
    align = 32
    data = (o + align - 1) // align * align
    head = b"".join(out)
    with open(dst, "wb") as f:
        f.write(head + b"\0" * (-len(head) % align) + b[data:])


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
        content_tmpl = "{{ range .Messages }}{{ .Content }}{{ .Thinking }}{{ end }}"
        s.create_from_file("parsed:latest", stories, parser="harmony", template=content_tmpl)
        # stories260K greedy after "Once upon a time" picks ids 432 383 286 261 376 298 315 421
        # 395 317 426 338 ... (261 is in the prompt, kept). Respelled, the same ids say harmony:
        # control tokens that decode to nothing unless the runner preserves them.
        ids = [432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338]
        answer = ["\u2581Let", "\u2581me", "<|end|>", None, "<|start|>", "assistant",
                  "<|channel|>", "final", "<|message|>", "\u2581Hi", "!", "<|return|>"]
        call = ["<|channel|>", "commentary", "\u2581to=functions.get_weather", None,
                "<|constrain|>", "json", "<|message|>", '{"city":', '"Paris"}', "<|call|>"]
        bad_call = call[:8] + ["<|call|>"]  # the arguments end after '{"city":'
        respelled = [(name, dict((i, t) for i, t in zip(ids, texts) if t))
                     for name, texts in (("answer", answer), ("call", call),
                                         ("badcall", bad_call))]
        # Without a prefill: analysis, then a final message whose header has no channel (the
        # greedy answer holds one id twice: 426 at 10 and 26, both <|message|>); the words in
        # between sit in headers and are dropped.
        respelled.append(("reason", {432: "<|channel|>", 383: "analysis", 286: "\u2581x",
                                     426: "<|message|>", 338: "\u2581Thinking", 401: "\u2581it",
                                     396: "\u2581over.", 267: "<|end|>", 337: "<|start|>",
                                     410: "assistant", 385: "\u2581Hi!", 328: "<|return|>"}))
        for name, texts in respelled:
            path = os.path.join(s.tmpdir, name + ".gguf")
            respell_vocab(stories, path, {i: (t, CONTROL if t.startswith("<|") else NORMAL)
                                          for i, t in texts.items()})
            s.create_from_file(name + ":latest", path, parser="harmony", template=content_tmpl,
                               parameters={"temperature": 0})

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

    # --- harmony markers generated as special tokens ---------------------------------------

    def test_generated_markers_thinking_then_content(self):
        # The prompt ends inside the analysis message (a thinking prefill); the model closes it
        # and writes a final message, then <|return|> ends generation.
        msgs = [{"role": "user", "content": ""},
                {"role": "assistant", "content": "", "thinking": self.prompt}]
        body = {"model": "answer", "messages": msgs, "options": {"temperature": 0}}
        j = self.post("/api/chat", dict(body, stream=False)).json()
        self.assertEqual(j["message"]["thinking"], " Let me")
        self.assertEqual(j["message"]["content"], " Hi!")
        self.assertEqual(j["done_reason"], "stop")
        self.assertEqual(j["eval_count"], 11)  # <|return|> ends it, uncounted
        chunks = self.post("/api/chat", body).ndjson()
        self.assertEqual("".join(c["message"].get("thinking", "") for c in chunks), " Let me")
        self.assertEqual("".join(c["message"]["content"] for c in chunks), " Hi!")
        # Thinking streams before content.
        first_content = next(i for i, c in enumerate(chunks) if c["message"]["content"])
        self.assertTrue(all("thinking" not in c["message"] for c in chunks[first_content:]))
        o = self.post("/v1/chat/completions", {
            "model": "answer", "temperature": 0,
            "messages": [{"role": "user", "content": ""},
                         {"role": "assistant", "content": "", "reasoning": self.prompt}]}).json()
        self.assertEqual(o["choices"][0]["message"]["reasoning"], " Let me")
        self.assertEqual(o["choices"][0]["message"]["content"], " Hi!")
        # Raw generate is not parsed: the markers are not preserved either.
        g = self.post("/api/generate", {"model": "answer", "prompt": self.prompt, "raw": True,
                                        "stream": False, "options": {"temperature": 0}}).json()
        self.assertEqual(g["response"], " Let me aassistantfinal Hi!")

    def test_generated_markers_chat_generate_and_cli(self):
        body = {"model": "reason", "messages": [{"role": "user", "content": self.prompt}],
                "think": "low", "stream": False, "options": {"temperature": 0}}
        j = self.post("/api/chat", body).json()
        self.assertEqual((j["message"]["thinking"], j["message"]["content"]),
                         (" Thinking it over.", " Hi!"))
        g = self.post("/api/generate", {"model": "reason", "prompt": self.prompt, "think": "low",
                                        "stream": False, "options": {"temperature": 0}}).json()
        self.assertEqual((g["thinking"], g["response"]), (" Thinking it over.", " Hi!"))
        r = self.server.run_cli("run", "reason", "--think=low", self.prompt, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout
        self.assertIn("Thinking...", out)
        self.assertIn("Thinking it over.", out)
        self.assertIn("...done thinking.", out)
        self.assertTrue(out.rstrip().endswith("Hi!"), out)
        self.assertLess(out.index("...done thinking."), out.index("Hi!"))
        self.assert_no_markers(out)
        r = self.server.run_cli("run", "reason", "--hidethinking", self.prompt, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "Hi!")

    def test_generated_markers_tool_call(self):
        tools = [dict(TOOLS[0])]
        body = {"model": "call", "messages": [{"role": "user", "content": self.prompt}],
                "tools": tools, "options": {"temperature": 0}}
        j = self.post("/api/chat", dict(body, stream=False)).json()
        self.assertEqual(j["message"]["content"], "")
        self.assertNotIn("thinking", j["message"])
        calls = j["message"]["tool_calls"]
        self.assertEqual(len(calls), 1)
        # The prompt's name get_weather maps back to the client's get-weather.
        self.assertEqual(calls[0]["function"]["name"], "get-weather")
        self.assertEqual(calls[0]["function"]["arguments"], {"city": "Paris"})
        self.assertRegex(calls[0]["id"], r"^call_[a-z0-9]{8}$")
        self.assertEqual(j["choices"][0]["finish_reason"], "tool_calls")
        chunks = self.post("/api/chat", body).ndjson()
        self.assertTrue(chunks[-1]["done"])
        self.assertEqual(chunks[-1]["message"]["tool_calls"][0]["function"]["name"], "get-weather")
        self.assertFalse(any(c["message"].get("tool_calls") for c in chunks[:-1]))
        self.assertEqual("".join(c["message"]["content"] for c in chunks), "")
        o = self.post("/v1/chat/completions", {
            "model": "call", "temperature": 0, "tools": tools,
            "messages": [{"role": "user", "content": self.prompt}]}).json()
        choice = o["choices"][0]
        self.assertEqual(choice["finish_reason"], "tool_calls")
        fn = choice["message"]["tool_calls"][0]["function"]
        self.assertEqual((fn["name"], json.loads(fn["arguments"])), ("get-weather", {"city": "Paris"}))
        r = self.post("/v1/chat/completions", {
            "model": "call", "temperature": 0, "tools": tools, "stream": True,
            "messages": [{"role": "user", "content": self.prompt}]})
        deltas = [json.loads(l[6:])["choices"][0] for l in r.text.split("\n")
                  if l.startswith("data: {")]
        streamed = [d["delta"]["tool_calls"] for d in deltas if d["delta"].get("tool_calls")]
        self.assertEqual(len(streamed), 1)
        self.assertEqual(streamed[0][0]["function"]["name"], "get-weather")
        self.assertEqual(deltas[-1]["finish_reason"], "tool_calls")

    def test_tool_choice_forces_a_harmony_call(self):
        # Whatever these models would write (an analysis then a final answer, or a story), a
        # forced call comes out in harmony's syntax: an optional analysis (kept as thinking),
        # then a commentary message to the function with arguments fitting its parameters.
        tools = [{"type": "function", "function": {"name": "get-weather", "parameters": {
            "type": "object", "required": ["city", "days"], "properties": {
                "city": {"type": "string", "maxLength": 8},
                "days": {"type": "integer", "minimum": 1, "maximum": 7}}}}}]
        for model in ("reason", "answer", "call"):
            for choice in ("required", {"type": "function", "function": {"name": "get-weather"}}):
                j = self.post("/api/chat", {
                    "model": model, "messages": [{"role": "user", "content": self.prompt}],
                    "tools": tools, "tool_choice": choice, "stream": False,
                    "options": {"temperature": 0, "num_predict": 400}}).json()
                self.assertEqual(j["done_reason"], "stop", j)
                self.assertEqual(j["message"]["content"], "")
                calls = j["message"]["tool_calls"]
                self.assertEqual(len(calls), 1)
                self.assertEqual(calls[0]["function"]["name"], "get-weather")
                args = calls[0]["function"]["arguments"]
                self.assertLessEqual(len(args["city"]), 8)
                self.assertIn(args["days"], range(1, 8))
                self.assert_no_markers(j["message"].get("thinking", ""))
        j = self.post("/api/chat", {
            "model": "reason", "messages": [{"role": "user", "content": self.prompt}],
            "tools": tools, "tool_choice": "none", "stream": False,
            "options": {"temperature": 0}}).json()
        self.assertFalse(j["message"].get("tool_calls"))

    def test_generated_tool_call_with_bad_json_is_an_error(self):
        body = {"model": "badcall", "messages": [{"role": "user", "content": self.prompt}],
                "tools": TOOLS, "stream": False}
        r = self.server.post("/api/chat", body)
        self.assertEqual(r.status, 500, r)
        self.assertTrue(r.json()["error"].startswith("error parsing tool call: raw='{\"city\":'"),
                        r.json())
        # Streamed: nothing was sent before the error, so it is a 500 too (as Ollama answers
        # a stream whose first message is an error).
        r = self.server.post("/api/chat", dict(body, stream=True))
        self.assertEqual(r.status, 500, r)
        self.assertTrue(r.ndjson()[-1]["error"].startswith("error parsing tool call: raw="), r)


if __name__ == "__main__":
    unittest.main()
