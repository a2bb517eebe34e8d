"""Hostile and careless request bodies against the real server: each case once crashed it,
hung it, or answered 500/garbage (issue 11). Every request must get a clear 4xx (or a correct
answer), and the server must keep serving with a bounded thread count."""

import json
import os
import time
import unittest

from ollama_e2e import ServerTestCase, require_file, stories260k_path


def deep(depth, inner="1"):
    return "[" * depth + inner + "]" * depth


def proc_status(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s in /proc/%d/status" % (key, pid))


class HostileInputTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server.create_stories("stories")

    def assert_alive(self):
        self.assertEqual(self.server.get("/api/version").status, 200)
        self.assertIsNone(self.server.proc.poll(), "server exited")

    def gen(self, **fields):
        body = {"model": "stories", "prompt": "Once", "stream": False}
        body.update(fields)
        return self.server.post("/api/generate", body)

    # --- 1. threads ------------------------------------------------------------------------

    def test_absurd_num_thread_is_clamped(self):
        r = self.gen(options={"num_thread": 1000000000, "num_predict": 4})
        self.assertEqual(r.status, 200, r.text)
        self.assertTrue(r.json()["done"])
        r = self.gen(options={"num_thread": -7, "num_predict": 2})
        self.assertEqual(r.status, 200, r.text)
        threads = proc_status(self.server.proc.pid, "Threads")
        self.assertLess(threads, 200, "threads after num_thread=1e9: %d" % threads)
        self.assert_alive()

    # --- 2. templates ----------------------------------------------------------------------

    def test_recursive_template_in_generate_is_400(self):
        rec = '{{define "x"}}{{template "x" .}}{{end}}{{template "x" .}}'
        r = self.gen(template=rec)
        self.assertEqual(r.status, 400, r.text)
        self.assertIn("exceeded maximum template depth", r.json()["error"])
        # Mutual recursion that prints on the way down, streamed.
        mutual = ('{{define "a"}}a{{template "b" .}}{{end}}{{define "b"}}b{{template "a" .}}'
                  '{{end}}{{template "a" .}}')
        r = self.gen(template=mutual, stream=True)
        self.assertEqual(r.status, 400, r.text)
        self.assert_alive()

    def test_recursive_template_saved_by_create_fails_each_request_cleanly(self):
        rec = '{{define "x"}}{{template "x" .}}{{end}}{{template "x" .}}'
        r = self.server.create("recursive", template=rec)
        if r.status == 200:
            for stream in (False, True):
                r = self.server.post("/api/chat", {
                    "model": "recursive", "stream": stream,
                    "messages": [{"role": "user", "content": "hi"}]})
                self.assertEqual(r.status, 400, r.text)
        else:
            self.assertEqual(r.status, 400, r.text)
        self.assert_alive()

    def test_deeply_nested_template_is_refused_at_create(self):
        nested = "{{if 1}}" * 20000 + "x" + "{{end}}" * 20000
        r = self.server.create("nested", template=nested)
        self.assertEqual(r.status, 400, r.text)
        self.assertIn("nesting", r.json()["error"])
        r = self.gen(template="{{" + "(" * 50000 + "1" + ")" * 50000 + "}}")
        self.assertEqual(r.status, 400, r.text)
        self.assert_alive()

    def test_exponential_template_output_is_bounded(self):
        t = '{{define "l0"}}' + "x" * 1024 + "{{end}}"
        for i in range(1, 41):
            t += '{{define "l%d"}}{{template "l%d"}}{{template "l%d"}}{{end}}' % (i, i - 1, i - 1)
        t += '{{template "l40"}}'
        started = time.time()
        r = self.gen(template=t)
        self.assertEqual(r.status, 400, r.text)
        self.assertLess(time.time() - started, 30)
        self.assert_alive()

    # --- 3. nesting depth ------------------------------------------------------------------

    def test_deep_json_in_every_field_is_400(self):
        d = deep(60000)
        cases = [
            ("/api/generate", '{"model":"stories","prompt":"x","options":{"stop":%s}}' % d),
            ("/api/generate", '{"model":"stories","prompt":"x","format":%s}' % d),
            ("/api/chat", '{"model":"stories","messages":[],"tools":%s}' % d),
            ("/api/chat", '{"model":"stories","messages":[{"role":"assistant","content":"",'
                          '"tool_calls":[{"function":{"name":"f","arguments":{"a":%s}}}]}]}' % d),
            ("/v1/chat/completions", '{"model":"stories","messages":[{"role":"user",'
                                     '"content":"x"}],"tools":%s}' % d),
            ("/v1/chat/completions", '{"model":"stories","messages":[{"role":"user",'
                                     '"content":%s}]}' % d),
            ("/v1/embeddings", '{"model":"stories","input":%s}' % d),
            ("/v1/messages", '{"model":"stories","max_tokens":1,"messages":[{"role":"user",'
                             '"content":%s}]}' % d),
            ("/v1/messages/count_tokens", '{"model":"stories","messages":[],"tools":%s}' % d),
            ("/v1/responses", '{"model":"stories","input":%s}' % d),
            ("/api/create", '{"model":"m","from":"stories","parameters":{"stop":%s}}' % d),
            ("/api/show", '{"model":"stories","options":{"x":%s}}' % d),
            ("/api/embed", '{"model":"stories","input":%s}' % d),
        ]
        for path, body in cases:
            r = self.server.post(path, body, headers={"Content-Type": "application/json"})
            self.assertEqual(r.status, 400, "%s: %r" % (path, r))
            self.assertIn("exceeded max depth", r.text, path)
        self.assert_alive()

    def test_depth_at_the_limit_does_not_crash(self):
        # Go's limit is inclusive: a body nested exactly 10,000 deep parses; whatever a handler
        # then answers, walking the deepest accepted value must not exhaust a stack, on a
        # request worker (stream false) or a streaming producer thread (stream true).
        tmpl = ("{{range .Tools}}{{json .}}{{.Function.Parameters.Properties}}{{end}}"
                "{{range .Messages}}{{.Content}}{{range .ToolCalls}}{{json .}}"
                "{{.Function.Arguments}}{{end}}{{end}}")
        self.assertEqual(self.server.create("tooler", **{"from": "stories",
                                                        "template": tmpl}).status, 200)

        def at_limit(body):  # body with X where the deepest value goes
            wrapper = max_depth(body.replace("X", "1"))
            return body.replace("X", deep(10000 - wrapper))

        def max_depth(text):
            d = best = 0
            in_str = esc = False
            for ch in text:
                if in_str:
                    esc, in_str = (not esc and ch == "\\"), in_str and (esc or ch != '"')
                    continue
                if ch == '"':
                    in_str = True
                elif ch in "[{":
                    d += 1
                    best = max(best, d)
                elif ch in "]}":
                    d -= 1
            return best

        bodies = [
            ("/api/chat", '{"model":"tooler","stream":false,"messages":[{"role":"assistant",'
                          '"content":"","tool_calls":[{"function":{"name":"f","arguments":'
                          '{"a":X}}}]},{"role":"user","content":"x"}],'
                          '"options":{"num_predict":1}}'),
            ("/api/chat", '{"model":"tooler","stream":false,"options":{"num_predict":1},'
                          '"messages":[{"role":"user","content":"x"}],"tools":[{"type":'
                          '"function","function":{"name":"f","parameters":{"type":"object",'
                          '"properties":{"a":{"anyOf":X}}}}}]}'),
            ("/api/generate", '{"model":"stories","prompt":"x","options":{"stop":X}}'),
            ("/api/show", '{"model":"stories","options":{"x":X}}'),
            ("/v1/chat/completions", '{"model":"tooler","stream":false,"max_tokens":1,'
                                     '"messages":[{"role":"user","content":"x"}],"tools":'
                                     '[{"type":"function","function":{"name":"f",'
                                     '"parameters":{"type":"object","properties":'
                                     '{"a":{"anyOf":X}}}}}]}'),
            ("/v1/messages", '{"model":"tooler","stream":false,"max_tokens":1,'
                             '"messages":[{"role":"user","content":"x"}],"tools":[{"name":"f",'
                             '"input_schema":{"type":"object","properties":{"a":{"anyOf":X}}}}]}'),
            ("/v1/messages", '{"model":"tooler","stream":false,"max_tokens":1,'
                             '"messages":[{"role":"assistant","content":[{"type":"tool_use",'
                             '"id":"t","name":"f","input":{"a":X}}]},'
                             '{"role":"user","content":"x"}]}'),
            ("/v1/responses", '{"model":"tooler","stream":false,"max_output_tokens":1,'
                              '"input":"x","tools":[{"type":"function","name":"f",'
                              '"parameters":{"type":"object","properties":{"a":{"anyOf":X}}}}]}'),
        ]
        for path, body in bodies:
            body = at_limit(body)
            self.assertEqual(max_depth(body), 10000)
            variants = [body]
            if '"stream":false' in body:
                variants.append(body.replace('"stream":false', '"stream":true'))
            for b in variants:
                r = self.server.post(path, b, headers={"Content-Type": "application/json"})
                self.assertLess(r.status, 500, "%s: %r" % (path, r))
                self.assertNotIn("exceeded max depth", r.text, path)
                self.assert_alive()
            # One level deeper is refused.
            r = self.server.post(path, body.replace("[1]", "[[1]]", 1),
                                 headers={"Content-Type": "application/json"})
            self.assertEqual(r.status, 400, path)

    # --- 6. sizes --------------------------------------------------------------------------

    def test_oversized_bodies_and_lists_are_refused_without_keeping_memory(self):
        rss_before = proc_status(self.server.proc.pid, "VmRSS")
        big = b'{"model":"stories","prompt":"x","options":{"stop":[' + b'"a",' * 25_000_000 + \
            b'"a"]}}'
        started = time.time()
        r = self.server.post("/api/generate", big, headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 413, r.text)
        self.assertLess(time.time() - started, 20)
        # Within the byte cap but with too many values for a tree.
        many = '{"model":"stories","context":[' + "0," * 1_500_000 + "0]}"
        r = self.server.post("/api/generate", many, headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 413, r.text)
        r = self.gen(options={"stop": ["s%d" % i for i in range(5000)]})
        self.assertEqual(r.status, 400, r.text)
        self.assertIn("too many stop sequences", r.json()["error"])
        r = self.server.post("/api/chat", {"model": "stories", "messages":
                                           [{"role": "user", "content": ""}] * 150_000})
        self.assertEqual(r.status, 400, r.text)
        r = self.server.post("/api/embed", {"model": "stories", "input": ["x"] * 150_000})
        self.assertEqual(r.status, 400, r.text)
        time.sleep(1.5)  # the server trims freed memory once it is idle
        rss_after = proc_status(self.server.proc.pid, "VmRSS")
        self.assertLess(rss_after - rss_before, 300 * 1024,
                        "RSS %d kB -> %d kB" % (rss_before, rss_after))
        self.assert_alive()

    def test_long_stop_strings_do_not_stall_generation(self):
        stops = ["a" * 200000 + "b"] * 64
        started = time.time()
        r = self.gen(options={"stop": stops, "num_predict": 64, "temperature": 0})
        self.assertEqual(r.status, 200, r.text)
        self.assertLess(time.time() - started, 20)

    # --- 9. types and numbers --------------------------------------------------------------

    def test_malformed_numbers_and_types_are_400_in_each_api_shape(self):
        r = self.server.post("/api/generate",
                             '{"model":"stories","prompt":"x","options":{"temperature":1e99999}}')
        self.assertEqual(r.status, 400, r.text)
        self.assertIn("error", r.json())
        v1 = [
            {"stream": "yes"}, {"logprobs": "yes"}, {"stream_options": 3},
            {"messages": [{"role": 123, "content": "x"}]},
            {"messages": [{"role": "user", "content": "x", "name": 5}]},
            {"tools": 123}, {"tools": [1]}, {"top_logprobs": "3"},
        ]
        for extra in v1:
            body = {"model": "stories", "messages": [{"role": "user", "content": "x"}]}
            body.update(extra)
            r = self.server.post("/v1/chat/completions", body)
            self.assertEqual(r.status, 400, "%s: %r" % (extra, r))
            err = r.json()["error"]
            self.assertIsInstance(err, dict, r.text)
            self.assertEqual(err["type"], "invalid_request_error")
            self.assertNotIn("json.exception", err["message"])
        r = self.server.post("/v1/completions", {"model": "stories", "prompt": "x", "echo": 1})
        self.assertEqual(r.status, 400, r.text)

    def test_huge_num_predict_saturates_instead_of_wrapping(self):
        r = self.server.post("/api/generate", '{"model":"stories","prompt":"Once","stream":false,'
                             '"options":{"num_predict":18446744073709551616,"num_ctx":64,'
                             '"temperature":0}}')
        self.assertEqual(r.status, 200, r.text)
        self.assertGreater(r.json()["eval_count"], 1)

    def test_create_refuses_parameters_that_break_the_model(self):
        r = self.server.create("badparams", **{"from": "stories",
                                              "parameters": {"num_ctx": "abc"}})
        self.assertEqual(r.status, 400, r.text)
        self.assertIn("num_ctx", r.json()["error"])
        r = self.server.post("/api/show", {"model": "badparams"})
        self.assertEqual(r.status, 404, r.text)


class CorruptBlobTest(ServerTestCase):
    """A model whose weights change on disk is refused with a clear error naming the model,
    and uploading the same file again repairs it."""

    def test_corrupt_weights_are_detected_and_repaired_by_upload(self):
        src = require_file(stories260k_path())
        digest = self.server.create_stories("stories")
        r = self.server.post("/api/generate", {"model": "stories", "prompt": "Once",
                                               "stream": False, "options": {"num_predict": 2}})
        self.assertEqual(r.status, 200, r.text)
        blob = os.path.join(self.server.models_dir, "blobs", digest.replace(":", "-"))
        with open(blob, "r+b") as f:  # same size, different bytes
            f.seek(os.path.getsize(blob) // 2)
            f.write(b"\xff" * 4096)
        r = self.server.post("/api/generate", {"model": "stories", "prompt": "Once",
                                               "stream": False})
        self.assertEqual(r.status, 500, r.text)
        msg = r.json()["error"]
        self.assertIn("corrupt", msg)
        self.assertIn("stories", msg)
        self.assertNotIn(self.server.models_dir, msg)
        # HEAD reports it missing, so a client uploads it again; the upload replaces it.
        self.assertEqual(self.server.head("/api/blobs/" + digest).status, 404)
        self.server.create_from_file("stories", src)
        r = self.server.post("/api/generate", {"model": "stories", "prompt": "Once",
                                               "stream": False, "options": {"num_predict": 2}})
        self.assertEqual(r.status, 200, r.text)

    def test_failed_create_leaves_no_blob_behind(self):
        self.server.create_stories("base", parameters={"temperature": 0.5})
        show = self.server.post("/api/show", {"model": "base"}).json()
        self.assertIn("temperature", show.get("parameters", ""))
        manifest_dir = os.path.join(self.server.models_dir, "manifests", "registry.ollama.ai",
                                    "library", "base")
        with open(os.path.join(manifest_dir, "latest")) as f:
            layers = json.load(f)["layers"]
        params = [l["digest"] for l in layers if l["mediaType"].endswith(".params")][0]
        with open(os.path.join(self.server.models_dir, "blobs", params.replace(":", "-")),
                  "w") as f:
            f.write("[]")  # no longer an object: the derived create fails after its writes
        before = set(os.listdir(os.path.join(self.server.models_dir, "blobs")))
        r = self.server.create("derived", **{"from": "base",
                                            "template": "UNIQUE {{ .Prompt }} 42",
                                            "system": "a system prompt seen nowhere else"})
        self.assertEqual(r.status, 500, r.text)
        after = set(os.listdir(os.path.join(self.server.models_dir, "blobs")))
        self.assertEqual(after - before, set(), "a failed create left blobs behind")

    def test_truncated_weights_error_names_the_model_not_the_path(self):
        digest = self.server.create_stories("short")
        blob = os.path.join(self.server.models_dir, "blobs", digest.replace(":", "-"))
        with open(blob, "r+b") as f:
            f.truncate(1000)
        r = self.server.post("/api/generate", {"model": "short", "prompt": "x", "stream": False})
        self.assertGreaterEqual(r.status, 400, r.text)
        self.assertNotIn(self.server.models_dir, r.text)
        self.assertNotIn("/blobs/", r.text)


if __name__ == "__main__":
    unittest.main()
