"""Operator features beyond Ollama, against the real server: /api/tokenize and
/api/detokenize, /api/rerank and /v1/rerank with a reranker made from the tiny bert model
(scores checked against its head applied by hand to the CLS state the same server returns), OLLAMA_API_KEY (every route but GET/HEAD / needs a key, 401 in each API's
error shape, the CLI sends it), /metrics in the Prometheus text format (checked by a strict
parser written from the exposition format's rules)."""

import json
import os
import re
import unittest

import math
import subprocess
import tempfile

from ollama_e2e import ServerProcess, ServerTestCase, require_file, testdata


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


def build_dir():
    return os.environ.get("OLLAMA_BUILD_DIR",
                          os.path.join(os.path.dirname(__file__), "..", "..", "build"))


class RerankTest(ServerTestCase):
    """A cross-encoder made by build/make-reranker: tiny-bert-e64 + a random classification
    head. The same bert without the head (CLS pooling) gives the state the head reads."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        bert = require_file(testdata("models", "tiny-bert-e64.gguf"))
        cls.tmp = tempfile.mkdtemp(prefix="oc-rerank-")
        path = os.path.join(cls.tmp, "rr.gguf")
        tool = os.path.join(build_dir(), "make-reranker")
        if not os.path.exists(tool):
            raise unittest.SkipTest("make-reranker not built")
        subprocess.run([tool, bert, path, "--seed", "5"], check=True)
        with open(path + ".head.json") as f:
            cls.head = json.load(f)
        cls.server.create_from_file("rr", path)
        cls.server.create_from_file("bert", bert)

    @classmethod
    def tearDownClass(cls):
        import shutil
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    def by_hand(self, query, doc):
        # The CLS state of "[CLS] q [SEP] d [SEP]": the bert embeds "q [SEP] d" with its own
        # [CLS] and [SEP] around it (special tokens in the text are parsed).
        r = self.server.post("/api/embeddings", {"model": "bert", "prompt": query + " [SEP] " + doc})
        x = r.json()["embedding"]
        h = [math.tanh(sum(w * v for w, v in zip(row, x)) + b)
             for row, b in zip(self.head["cls"], self.head["cls_b"])]
        return sum(w * v for w, v in zip(self.head["out"][0], h)) + self.head["out_b"][0]

    def test_scores_sorted_and_equal_to_the_head_by_hand(self):
        query = "what do cats drink"
        docs = ["cats like to drink milk", "the stock market fell today", "a cat is an animal",
                "paris is the capital of france"]
        for path in ("/api/rerank", "/v1/rerank"):
            r = self.server.post(path, {"model": "rr", "query": query, "documents": docs,
                                        "return_documents": True})
            self.assertEqual(r.status, 200, r.text)
            j = r.json()
            self.assertEqual(j["model"], "rr")
            results = j["results"]
            self.assertEqual(sorted(x["index"] for x in results), [0, 1, 2, 3])
            scores = [x["relevance_score"] for x in results]
            self.assertEqual(scores, sorted(scores, reverse=True))
            self.assertGreater(len(set(scores)), 1)
            for x in results:
                self.assertEqual(x["document"], {"text": docs[x["index"]]})
                self.assertAlmostEqual(x["relevance_score"], self.by_hand(query, docs[x["index"]]),
                                       delta=1e-3)
            self.assertGreater(j["usage"]["total_tokens"], 4 * 5)
        top = self.server.post("/api/rerank", {"model": "rr", "query": query, "documents": docs,
                                               "top_n": 2}).json()["results"]
        self.assertEqual([x["index"] for x in top], [x["index"] for x in results[:2]])
        self.assertNotIn("document", top[0])

    def test_errors(self):
        e = lambda body, status, path="/api/rerank": self.assertEqual(
            self.server.post(path, body).status, status, body)
        e({"model": "rr", "query": "x"}, 400)
        e({"model": "rr", "documents": ["a"]}, 400)
        e({"model": "rr", "query": "x", "documents": [1]}, 400)
        e({"model": "missing", "query": "x", "documents": ["a"]}, 404)
        e({"model": "bert", "query": "x", "documents": ["a"]}, 400)  # not a reranker
        r = self.server.post("/v1/rerank", {"model": "bert", "query": "x", "documents": ["a"]})
        self.assertEqual(r.json()["error"]["type"], "invalid_request_error")
        r = self.server.post("/api/embed", {"model": "rr", "input": "x"})
        self.assertEqual(r.status, 400)
        self.assertIn("reranker", r.json()["error"])
        r = self.server.post("/api/rerank", {"model": "rr", "query": "x", "documents": []})
        self.assertEqual(r.json()["results"], [])


# --- a strict reader of the Prometheus text exposition format (0.0.4) ----------------------

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


def parse_value(text):
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text):
        raise ValueError("bad value %r" % text)
    return float(text)


def parse_labels(text, line):
    """`a="x",b="y"` (the braces' contents) -> dict, escapes \\ \" \n only."""
    labels, i = {}, 0
    while i < len(text):
        m = re.match(r"([a-zA-Z_][a-zA-Z0-9_]*)=\"", text[i:])
        if not m:
            raise ValueError("bad label at %r in %r" % (text[i:], line))
        name, i = m.group(1), i + m.end()
        value = ""
        while True:
            if i >= len(text):
                raise ValueError("unterminated label value in %r" % line)
            c = text[i]
            if c == "\\":
                esc = text[i + 1:i + 2]
                if esc not in ("\\", '"', "n"):
                    raise ValueError("bad escape in %r" % line)
                value += {"n": "\n"}.get(esc, esc)
                i += 2
            elif c == '"':
                i += 1
                break
            else:
                value += c
                i += 1
        if name in labels:
            raise ValueError("repeated label %s in %r" % (name, line))
        labels[name] = value
        if i < len(text):
            if text[i] != ",":
                raise ValueError("expected ',' in %r" % line)
            i += 1
    return labels


def parse_exposition(text):
    """{family: {"type", "help", "samples": [(name, labels, value)]}}; raises ValueError on
    anything the format does not allow."""
    if text and not text.endswith("\n"):
        raise ValueError("the last line must end with a line feed")
    families, order, seen, current = {}, [], set(), None
    for line in text.split("\n")[:-1]:
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not METRIC_NAME.match(name):
                    raise ValueError("bad metric name %r" % name)
                fam = families.setdefault(name, {"type": None, "help": None, "samples": []})
                if name not in order:
                    order.append(name)
                key = parts[1].lower()
                if fam[key] is not None:
                    raise ValueError("second %s for %s" % (parts[1], name))
                if fam["samples"]:
                    raise ValueError("%s after samples of %s" % (parts[1], name))
                if parts[1] == "TYPE":
                    if len(parts) != 4 or parts[3] not in TYPES:
                        raise ValueError("bad TYPE line %r" % line)
                    fam["type"] = parts[3]
                else:
                    fam["help"] = parts[3] if len(parts) == 4 else ""
                current = name
            continue
        if not line.strip():
            raise ValueError("blank line")
        m = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?", line)
        if not m:
            raise ValueError("bad sample line %r" % line)
        name, labels = m.group(1), parse_labels(m.group(3) or "", line)
        value = parse_value(m.group(4))
        fam_name = name
        if current and families[current]["type"] in ("histogram", "summary"):
            for suffix in ("_bucket", "_sum", "_count"):
                if name == current + suffix:
                    fam_name = current
        if fam_name != current:
            if fam_name in families:
                raise ValueError("samples of %s are not together" % fam_name)
            families[fam_name] = {"type": "untyped", "help": None, "samples": []}
            order.append(fam_name)
            current = fam_name
        key = (name, tuple(sorted(labels.items())))
        if key in seen:
            raise ValueError("duplicate series %r" % (key,))
        seen.add(key)
        families[fam_name]["samples"].append((name, labels, value))
    for name, fam in families.items():
        if fam["type"] == "counter":
            for _, _, v in fam["samples"]:
                if v < 0:
                    raise ValueError("negative counter %s" % name)
        if fam["type"] == "histogram":
            check_histogram(name, fam["samples"])
    return families


def check_histogram(name, samples):
    series = {}
    for sname, labels, v in samples:
        base = tuple(sorted((k, x) for k, x in labels.items() if k != "le"))
        s = series.setdefault(base, {"buckets": [], "sum": None, "count": None})
        if sname == name + "_bucket":
            s["buckets"].append((parse_value(labels["le"]), v))
        elif sname == name + "_sum":
            s["sum"] = v
        elif sname == name + "_count":
            s["count"] = v
        else:
            raise ValueError("%s in histogram %s" % (sname, name))
    for base, s in series.items():
        bounds = [b for b, _ in s["buckets"]]
        counts = [c for _, c in s["buckets"]]
        if bounds != sorted(bounds) or not bounds or bounds[-1] != float("inf"):
            raise ValueError("%s%r: buckets out of order or no +Inf" % (name, base))
        if counts != sorted(counts):
            raise ValueError("%s%r: buckets not cumulative" % (name, base))
        if s["count"] != counts[-1] or s["sum"] is None:
            raise ValueError("%s%r: _count differs from the +Inf bucket" % (name, base))


class ExpositionParserTest(unittest.TestCase):
    """The parser refuses what the format forbids (so the check below can fail)."""

    def test_refuses_malformed_text(self):
        good = "# TYPE a counter\na_total 1\n"
        parse_exposition(good)
        for bad in ("a 1",                                # no final line feed
                    "# TYPE a counter\n# TYPE a gauge\na 1\n",
                    "a{b=\"x\"} 1\na{b=\"x\"} 2\n",          # duplicate series
                    "a 1\nb 1\na 2\n",                     # family not together
                    "a{b=x} 1\n", "a{b=\"\\t\"} 1\n", "1a 1\n", "a one\n",
                    "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
                    "h_sum 1\nh_count 1\n",
                    "# TYPE c counter\nc -1\n"):
            with self.assertRaises(ValueError, msg=bad):
                parse_exposition(bad)


class MetricsTest(ServerTestCase):
    server_env = {"OLLAMA_NUM_PARALLEL": "2"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server.create_stories("stories")

    def scrape(self):
        r = self.server.get("/metrics")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers["content-type"].startswith("text/plain; version=0.0.4"))
        return parse_exposition(r.text)

    def value(self, fams, family, name=None, **labels):
        for n, l, v in fams[family]["samples"]:
            if n == (name or family) and all(l.get(k) == x for k, x in labels.items()):
                return v
        return None

    def test_scrape_is_valid_and_counts_what_happened(self):
        prompt_tokens = generated = 0
        gen = {"model": "stories", "prompt": "Once upon a time", "raw": True,
               "options": {"num_predict": 8, "temperature": 0}}
        for stream in (False, False, True):
            if stream:
                lines = [o for _, o in self.server.stream_lines("POST", "/api/generate", gen)]
                final = lines[-1]
            else:
                final = self.server.post("/api/generate", dict(gen, stream=False)).json()
            prompt_tokens += final["prompt_eval_count"]
            generated += final["eval_count"]
        self.assertEqual(self.server.post("/api/generate", {"model": "nope", "prompt": "x"}).status,
                         404)
        self.assertEqual(self.server.get("/no/such/path").status, 404)
        fams = self.scrape()
        req = lambda route, status: self.value(fams, "ollama_http_requests_total",
                                               route=route, status=str(status))
        self.assertEqual(req("/api/generate", 200), 3)
        self.assertEqual(req("/api/generate", 404), 1)
        self.assertEqual(req("(unmatched)", 404), 1)
        self.assertGreaterEqual(req("/api/create", 200), 1)
        m = {"model": "stories:latest"}
        self.assertEqual(self.value(fams, "ollama_prompt_tokens_total", **m), prompt_tokens)
        self.assertEqual(self.value(fams, "ollama_generated_tokens_total", **m), generated)
        ttft = "ollama_time_to_first_token_seconds"
        self.assertEqual(self.value(fams, ttft, ttft + "_count", **m), 3)
        self.assertGreater(self.value(fams, ttft, ttft + "_sum", **m), 0)
        tpot = "ollama_time_per_output_token_seconds"
        self.assertGreaterEqual(self.value(fams, tpot, tpot + "_count", **m), generated - 3 - 3)
        self.assertEqual(fams[ttft]["type"], "histogram")
        self.assertEqual(self.value(fams, "ollama_loaded_models"), 1)
        self.assertEqual(self.value(fams, "ollama_queue_depth"), 0)
        self.assertEqual(self.value(fams, "ollama_sequence_slots", **m), 2)
        ps = self.server.get("/api/ps").json()["models"][0]
        self.assertEqual(self.value(fams, "ollama_model_memory_bytes", **m), ps["size"])
        total = self.value(fams, "ollama_kv_cells_total", **m)
        self.assertEqual(total, 2 * ps["context_length"])
        self.assertGreater(self.value(fams, "ollama_kv_cells_used", **m), 0)
        # The same prompt again started from the cache.
        self.assertGreaterEqual(self.value(fams, "ollama_prefix_cache_hits_total", **m), 1)
        self.assertGreater(self.value(fams, "ollama_prefix_cache_tokens_total", **m), 0)
        for name, fam in fams.items():
            self.assertTrue(name.startswith("ollama_"), name)
            self.assertIsNotNone(fam["help"], name)


if __name__ == "__main__":
    unittest.main()
