"""Structured outputs end to end: `format` on /api/generate and /api/chat and
`response_format` on /v1/chat/completions and /v1/completions constrain a model that knows
nothing of JSON (stories260K) to schema-valid JSON, streamed and not, greedy and sampled,
and it stops by itself. Bad formats are 400s. Property order follows the request's."""

import http.client
import json
import threading
import unittest

from ollama_e2e import ServerProcess

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 12},
        "age": {"type": "integer", "minimum": 1, "maximum": 99},
        "mood": {"enum": ["happy", "sad", "sleepy"]},
        "brave": {"type": "boolean"},
        "friends": {"type": "array", "items": {"type": "string", "maxLength": 6},
                    "minItems": 1, "maxItems": 3},
    },
    "required": ["name", "age", "mood", "brave", "friends"],
}


def validate(value, schema, path="$"):
    """The subset of JSON Schema the tests use; raises AssertionError naming the path."""
    if "enum" in schema:
        assert value in schema["enum"], "%s: %r not in enum" % (path, value)
        return
    t = schema.get("type")
    if t == "object":
        assert isinstance(value, dict), "%s: not an object" % path
        props = schema.get("properties", {})
        for k in schema.get("required", []):
            assert k in value, "%s: missing %s" % (path, k)
        for k, v in value.items():
            assert k in props, "%s: unexpected %s" % (path, k)
            validate(v, props[k], path + "." + k)
    elif t == "array":
        assert isinstance(value, list), "%s: not an array" % path
        assert schema.get("minItems", 0) <= len(value) <= schema.get("maxItems", 1 << 30), path
        for i, v in enumerate(value):
            validate(v, schema["items"], "%s[%d]" % (path, i))
    elif t == "string":
        assert isinstance(value, str), "%s: not a string" % path
        assert schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", 1 << 30), \
            "%s: length %d" % (path, len(value))
    elif t == "integer":
        assert isinstance(value, int) and not isinstance(value, bool), "%s: not an int" % path
        assert schema.get("minimum", -1 << 60) <= value <= schema.get("maximum", 1 << 60), path
    elif t == "boolean":
        assert isinstance(value, bool), "%s: not a boolean" % path


class FormatTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.server = ServerProcess.start(extra_env={"OLLAMA_NUM_PARALLEL": "2"})
        cls.server.create_stories("stories:latest", template="{{ .Prompt }}")
        # Thinking tags "time" ... "was": the prompt "Once upon a" + " time" pre-opens the
        # thinking, and stories260K's greedy ", there was" closes it.
        cls.server.create_stories("thinker:latest", template=(
            '{{ range .Messages }}{{ if eq .Role "user" }}{{ .Content }}'
            '{{ else if eq .Role "assistant" }} time{{ .Thinking }}was{{ .Content }}{{ end }}'
            '{{ end }}{{ if .Think }} time{{ end }}'))
        cls.server.create_stories(
            "chatty:latest",
            template="{{ range .Messages }}{{ .Role }}: {{ .Content }}\n{{ end }}assistant:")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def post(self, path, body, status=200):
        r = self.server.post(path, body)
        self.assertEqual(r.status, status, r.text)
        return r

    def check(self, text, schema=SCHEMA):
        try:
            value = json.loads(text)
        except ValueError:
            self.fail("not JSON: %r" % text)
        try:
            validate(value, schema)
        except AssertionError as e:
            self.fail("%s in %r" % (e, text))
        return value

    def options(self, temperature):
        return {"temperature": temperature, "seed": 42, "num_predict": 600}

    def test_generate_follows_the_schema_and_stops(self):
        for temperature in (0, 0.8):
            body = {"model": "stories", "prompt": "Once upon a time", "format": SCHEMA,
                    "stream": False, "options": self.options(temperature)}
            j = self.post("/api/generate", body).json()
            self.check(j["response"])
            self.assertEqual(j["done_reason"], "stop")
            self.assertLess(j["eval_count"], 600)
            # Streamed: the same text (same seed), chunk by chunk.
            chunks = [o for _, o in self.server.stream_lines(
                "POST", "/api/generate", dict(body, stream=True))]
            self.assertTrue(chunks[-1]["done"])
            self.assertEqual(chunks[-1]["done_reason"], "stop")
            text = "".join(c.get("response", "") for c in chunks)
            self.check(text)
            self.assertEqual(text, j["response"], "stream and non-stream differ")

    def test_chat_follows_the_schema(self):
        for temperature in (0, 0.8):
            body = {"model": "chatty", "messages": [{"role": "user", "content": "Tell me"}],
                    "format": SCHEMA, "stream": False, "options": self.options(temperature)}
            j = self.post("/api/chat", body).json()
            self.check(j["message"]["content"])
            self.assertEqual(j["done_reason"], "stop")
            chunks = [o for _, o in self.server.stream_lines("POST", "/api/chat",
                                                             dict(body, stream=True))]
            self.check("".join(c["message"]["content"] for c in chunks))

    def test_thinking_is_free_and_the_answer_follows_the_format(self):
        small = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
        body = {"model": "thinker", "messages": [{"role": "user", "content": "Once upon a"}],
                "think": True, "format": small, "stream": False,
                "options": {"temperature": 0, "num_predict": 100}}
        j = self.post("/api/chat", body).json()
        # Unconstrained, the thinking is the golden text up to "was": not JSON at all.
        self.assertEqual(j["message"]["thinking"], ", there ")
        self.check(j["message"]["content"], small)
        self.assertEqual(j["done_reason"], "stop")
        chunks = [o for _, o in self.server.stream_lines("POST", "/api/chat",
                                                         dict(body, stream=True))]
        self.assertEqual("".join(c["message"].get("thinking", "") for c in chunks), ", there ")
        self.check("".join(c["message"]["content"] for c in chunks), small)

    def test_every_sampler_setting_and_concurrent_sequences(self):
        # Each concurrent request holds its own matcher state: different schemas side by side
        # in one batch (OLLAMA_NUM_PARALLEL=2, four clients), with every sampler knob set.
        small = {"type": "object", "properties": {
            "n": {"type": "integer", "minimum": 0, "maximum": 9},
            "w": {"type": "string", "maxLength": 4}}, "required": ["n", "w"]}
        knobs = [{"temperature": 0.9, "top_k": 5, "seed": 1},
                 {"temperature": 1.2, "top_p": 0.5, "min_p": 0.05, "seed": 2},
                 {"temperature": 0.7, "repeat_penalty": 1.5, "presence_penalty": 1.0,
                  "frequency_penalty": 0.5, "repeat_last_n": 16, "seed": 3},
                 {"temperature": 0.8, "typical_p": 0.7, "seed": 4}]
        results = [None] * 8

        def one(i):
            schema = SCHEMA if i % 2 == 0 else small
            r = self.server.post("/api/generate", {
                "model": "stories", "prompt": "Once upon a time", "format": schema,
                "stream": False, "options": dict(knobs[i % 4], num_predict=600)})
            results[i] = (schema, r)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for schema, r in results:
            self.assertEqual(r.status, 200, r.text)
            self.check(r.json()["response"], schema)
            self.assertEqual(r.json()["done_reason"], "stop")

    def test_format_json_is_an_object(self):
        small = {"type": "object", "properties": {"a": {"type": "boolean"}}, "required": ["a"]}
        j = self.post("/api/generate", {"model": "stories", "prompt": "Once", "format": "json",
                                        "stream": False,
                                        "options": {"temperature": 0, "num_predict": 64}}).json()
        text = j["response"].strip()
        self.assertTrue(text.startswith("{"), text)
        if j["done_reason"] == "stop":
            self.assertIsInstance(json.loads(text), dict)
        j = self.post("/api/generate", {"model": "stories", "prompt": "Once", "format": small,
                                        "stream": False, "options": {"temperature": 0}}).json()
        self.assertIsInstance(self.check(j["response"], small)["a"], bool)

    def test_property_order_is_the_requests(self):
        schema = {"type": "object", "properties": {
            "zeta": {"type": "boolean"}, "alpha": {"type": "boolean"}, "mid": {"type": "null"}},
            "required": ["zeta", "alpha", "mid"]}
        j = self.post("/api/generate", {"model": "stories", "prompt": "Once", "format": schema,
                                        "stream": False, "options": {"temperature": 0}}).json()
        keys = [k for k, _ in json.loads(j["response"], object_pairs_hook=lambda p: p)]
        self.assertEqual(keys, ["zeta", "alpha", "mid"])

    def test_openai_response_format(self):
        rf = {"type": "json_schema", "json_schema": {"name": "person", "schema": SCHEMA,
                                                     "strict": True}}
        for temperature in (0, 0.8):
            body = {"model": "chatty", "messages": [{"role": "user", "content": "Tell me"}],
                    "response_format": rf, "temperature": temperature, "seed": 7,
                    "max_tokens": 600}
            j = self.post("/v1/chat/completions", body).json()
            self.check(j["choices"][0]["message"]["content"])
            self.assertEqual(j["choices"][0]["finish_reason"], "stop")
            text = self.sse_text("/v1/chat/completions", dict(body, stream=True),
                                 lambda c: c["choices"][0]["delta"].get("content", ""))
            self.check(text)
            body = {"model": "stories", "prompt": "Once upon a time", "response_format": rf,
                    "temperature": temperature, "seed": 7, "max_tokens": 600}
            j = self.post("/v1/completions", body).json()
            self.check(j["choices"][0]["text"])
            self.assertEqual(j["choices"][0]["finish_reason"], "stop")
            text = self.sse_text("/v1/completions", dict(body, stream=True),
                                 lambda c: c["choices"][0].get("text", ""))
            self.check(text)
        j = self.post("/v1/chat/completions", {
            "model": "chatty", "messages": [{"role": "user", "content": "Tell me"}],
            "response_format": {"type": "json_object"}, "temperature": 0,
            "max_tokens": 32}).json()
        self.assertTrue(j["choices"][0]["message"]["content"].lstrip().startswith("{"))

    def sse_text(self, path, body, piece):
        conn = http.client.HTTPConnection(self.server.host, self.server.port, timeout=300)
        try:
            conn.request("POST", path, body=json.dumps(body),
                         headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            text = ""
            for event in resp.read().decode("utf-8").split("\n\n"):
                data = event.strip()[len("data: "):]
                if not data or data == "[DONE]":
                    continue
                c = json.loads(data)
                if c.get("choices"):
                    text += piece(c) or ""
            return text
        finally:
            conn.close()

    def test_bad_formats_are_400(self):
        for fmt in ("yaml", [1, 2], {"type": "integer", "minimum": 5, "maximum": 1},
                    {"type": "string", "pattern": "(unclosed"}, {"$ref": "#/$defs/none"}):
            r = self.server.post("/api/generate", {"model": "stories", "prompt": "x",
                                                   "format": fmt, "stream": False})
            self.assertEqual(r.status, 400, r.text)
            self.assertIn("format", r.json()["error"])
            r = self.server.post("/api/chat", {"model": "chatty", "format": fmt, "stream": True,
                                               "messages": [{"role": "user", "content": "x"}]})
            self.assertEqual(r.status, 400, r.text)
        r = self.server.post("/v1/chat/completions", {
            "model": "chatty", "messages": [{"role": "user", "content": "x"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "x"}}})
        self.assertEqual(r.status, 400, r.text)
        self.assertEqual(r.json()["error"]["type"], "invalid_request_error")
        r = self.server.post("/v1/chat/completions", {
            "model": "chatty", "messages": [{"role": "user", "content": "x"}],
            "response_format": {"type": "xml"}})
        self.assertEqual(r.status, 400, r.text)
        # The server lives on.
        self.assertEqual(self.server.get("/api/version").status, 200)


class ToolChoiceTest(unittest.TestCase):
    """tool_choice (which Ollama ignores) enforced through the same grammar, in the template's
    own tool-call syntax (here a <tool_call> tag): "required" and a named function force a
    valid call, "none" forbids one."""

    TEMPLATE = ('{{ if .Tools }}{{ end }}{{ range .Messages }}{{ .Content }}{{ if .ToolCalls }}'
                '<tool_call>{{ range .ToolCalls }}{"name": "{{ .Function.Name }}"}{{ end }}'
                '</tool_call>{{ end }}{{ end }}')
    TOOLS = [
        {"type": "function", "function": {"name": "get_weather", "parameters": {
            "type": "object", "required": ["city", "days"], "properties": {
                "city": {"type": "string", "minLength": 1, "maxLength": 12},
                "days": {"type": "integer", "minimum": 1, "maximum": 7}}}}},
        {"type": "function", "function": {"name": "add", "parameters": {
            "type": "object", "required": ["a", "b"], "properties": {
                "a": {"type": "integer", "minimum": 0, "maximum": 9},
                "b": {"type": "integer", "minimum": 0, "maximum": 9}}}}},
    ]

    @classmethod
    def setUpClass(cls):
        cls.server = ServerProcess.start()
        cls.server.create_stories("tooler:latest", template=cls.TEMPLATE)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def chat(self, tool_choice, temperature=0, status=200):
        r = self.server.post("/api/chat", {
            "model": "tooler", "messages": [{"role": "user", "content": "Once upon a time"}],
            "tools": self.TOOLS, "tool_choice": tool_choice, "stream": False,
            "options": {"temperature": temperature, "seed": 11, "num_predict": 400}})
        self.assertEqual(r.status, status, r.text)
        return r.json()

    def check_call(self, call, name=None):
        fn = call["function"]
        if name:
            self.assertEqual(fn["name"], name)
        params = {t["function"]["name"]: t["function"]["parameters"] for t in self.TOOLS}
        self.assertIn(fn["name"], params)
        validate(fn["arguments"], params[fn["name"]])

    def test_required_and_named_force_a_valid_call(self):
        for temperature in (0, 0.8):
            j = self.chat("required", temperature)
            calls = j["message"].get("tool_calls")
            self.assertTrue(calls, j)
            self.check_call(calls[0])
            self.assertEqual(j["message"]["content"], "")
            j = self.chat({"type": "function", "function": {"name": "add"}}, temperature)
            self.check_call(j["message"]["tool_calls"][0], "add")
        # Unconstrained, the same request tells a story instead.
        j = self.chat("auto")
        self.assertFalse(j["message"].get("tool_calls"))
        self.assertIn("Lily", j["message"]["content"])

    def test_none_forbids_calls(self):
        j = self.chat("none")
        self.assertFalse(j["message"].get("tool_calls"))

    def test_openai_tool_choice(self):
        r = self.server.post("/v1/chat/completions", {
            "model": "tooler", "messages": [{"role": "user", "content": "Once upon a time"}],
            "tools": self.TOOLS, "temperature": 0.8, "seed": 3,
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}}})
        self.assertEqual(r.status, 200, r.text)
        choice = r.json()["choices"][0]
        self.assertEqual(choice["finish_reason"], "tool_calls")
        call = choice["message"]["tool_calls"][0]
        self.assertEqual(call["function"]["name"], "get_weather")
        validate(json.loads(call["function"]["arguments"]), self.TOOLS[0]["function"]["parameters"])

    def test_bad_tool_choice_is_400(self):
        for tc in ({"type": "function", "function": {"name": "nope"}}, "sometimes", 3):
            self.chat(tc, status=400)
        r = self.server.post("/api/chat", {
            "model": "tooler", "messages": [{"role": "user", "content": "x"}],
            "tool_choice": "required", "stream": False})
        self.assertEqual(r.status, 400, r.text)


if __name__ == "__main__":
    unittest.main()
