"""The clients of the load test (test_load.py): one method per kind of request, each
recording its status, errors and problems in a shared Stats; helpers to read a process's
threads, fds and RSS, and to start a loopback registry."""

import collections
import http.client
import json
import os
import re
import socket
import threading
import time

from ollama_e2e import REGISTRY

HAVE_REGISTRY = os.path.exists(REGISTRY)
# Diagnosis only: kinds to leave out (comma-separated, e.g. "vanish_plain,pull"); their
# clients run the generate/chat mix instead.
SKIP = set(filter(None, os.environ.get("OLLAMA_LOAD_SKIP", "").split(",")))
NUM_PARALLEL = 2
# One well-behaved request, whole response: under this load a generate/chat takes ~2 s at
# p50 and up to ~23 s at worst (~30 generating clients queue for 2 slots on 2 cores).
REQUEST_TIMEOUT = 30.0
PULL_TIMEOUT = 40.0

CHATML = ("{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n"
          "{{ end }}<|im_start|>assistant\n")
PROMPTS = ["Once upon a time", "The little dog", "Lily and Tom went to the park",
           "One day, a cat", "There was a big tree"]
STOPS = [["."], ["\n"], ["the", "a"], ["!"]]

# Well-behaved kinds: every request must get its expected status; no connection errors.
WELL_BEHAVED = {"gen_stream", "gen_plain", "chat_stream", "chat_plain", "embed", "meta", "bad",
                "huge", "slow_send", "slow_read", "coldload", "pull"}
CONN_ERRORS = (ConnectionError, TimeoutError, socket.timeout, http.client.HTTPException)
HUGE = 3 << 20  # bytes in one huge body



class Problem(Exception):
    """A well-formed response that is not what the request should get (status: the HTTP
    status when that is what is wrong)."""

    def __init__(self, msg, status=None):
        super().__init__(msg)
        self.status = status


def proc_stats(pid):
    """Threads, VmRSS (kB) and open fds of a process."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k == "Threads":
                out["threads"] = int(v)
            elif k == "VmRSS":
                out["rss_kb"] = int(v.split()[0])
    if "rss_kb" not in out:
        raise OSError("process %d has exited" % pid)  # a zombie has no VmRSS
    out["fds"] = len(os.listdir("/proc/%d/fd" % pid))
    return out


def thread_waits(pid):
    """Where the process's threads sleep in the kernel (wchan -> count): shows what kind of
    thread is left over (futex waiters, epoll, socket reads) when the count does not return."""
    out = collections.Counter()
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/wchan" % (pid, tid)) as f:
                w = f.read().strip()
            out[w if w not in ("", "0") else "running"] += 1
        except OSError:
            pass
    return dict(out)



def check_ndjson(data, final_key="done"):
    """Parses a streamed body; raises Problem unless every line is JSON without "error" and
    the last (only the last) one is final. Returns the objects."""
    lines = [l for l in data.split(b"\n") if l.strip()]
    if not lines:
        raise Problem("empty stream")
    objs = []
    for l in lines:
        try:
            objs.append(json.loads(l))
        except ValueError:
            raise Problem("not NDJSON: %r" % l[:200])
    for o in objs:
        if "error" in o:
            raise Problem("error in stream: %r" % o)
    if final_key == "done":
        if objs[-1].get("done") is not True:
            raise Problem("stream did not end with done:true (%d lines, last %r)"
                          % (len(objs), objs[-1]))
        if any(o.get("done") for o in objs[:-1]):
            raise Problem("done:true before the last line")
        if objs[-1].get("done_reason") not in ("stop", "length") or "eval_count" not in objs[-1]:
            raise Problem("last line is not a finished answer: %r" % objs[-1])
    elif objs[-1] != {"status": "success"}:
        raise Problem("pull did not end with success: last %r" % objs[-1])
    return objs


class Stats:
    """Per-kind tallies, shared by all client threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.sent = collections.Counter()
        self.statuses = collections.defaultdict(collections.Counter)
        self.errors = collections.defaultdict(collections.Counter)
        self.problems = collections.defaultdict(list)
        self.problem_count = collections.Counter()
        self.incomplete_streams = 0
        self.seconds = collections.defaultdict(list)  # kind -> durations of answered requests
        self.conn_errors = []  # well-behaved clients: refused / reset / timeout

    def record(self, kind, status=None, error=None, problem=None, where="", secs=None):
        with self.lock:
            self.sent[kind] += 1
            if secs is not None and error is None:
                self.seconds[kind].append(secs)
            if status is not None:
                self.statuses[kind][status] += 1
            if error is not None:
                self.errors[kind][type(error).__name__] += 1
                if kind in WELL_BEHAVED and len(self.conn_errors) < 50:
                    self.conn_errors.append("%s %s: %s: %s (%s)" % (
                        kind, where, type(error).__name__, error,
                        getattr(error, "phase", "raw socket")))
            if problem is not None:
                self.problem_count[kind] += 1
                if "done:true" in problem or "empty stream" in problem:
                    self.incomplete_streams += 1
                if len(self.problems[kind]) < 12:
                    self.problems[kind].append("%s: %s" % (where, problem))

    def five_xx(self):
        big = lambda s: isinstance(s, int) and s >= 500  # noqa: E731
        return {k: {s: n for s, n in c.items() if big(s)} for k, c in self.statuses.items()
                if any(big(s) for s in c)}


class Client:
    """Requests of every kind against one server. Each returns (status, where) on success
    and raises Problem / connection errors otherwise."""

    def __init__(self, test, rng):
        self.port = test.server.port
        self.rng = rng

    # --- transport -------------------------------------------------------------------------

    def call(self, method, path, body=None, timeout=REQUEST_TIMEOUT, headers=None):
        """One request on a fresh connection; returns (status, body bytes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            hdrs = dict(headers or {})
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
                hdrs["Content-Type"] = "application/json"
            elif isinstance(body, str):
                body = body.encode()
            phase = "connecting"
            try:
                conn.connect()
                phase = "sending the request"
                conn.request(method, path, body=body, headers=hdrs)
                phase = "waiting for the status line"
                resp = conn.getresponse()
                phase = "reading the %d body" % resp.status
                return resp.status, resp.read()
            except CONN_ERRORS as e:
                e.phase = "%s %s, %s" % (method, path, phase)
                raise
        finally:
            conn.close()

    def raw_request(self, method, path, body=b""):
        return (("%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
                 "Content-Length: %d\r\n\r\n" % (method, path, self.port, len(body))).encode()
                + body)

    def expect(self, status, data, want, what):
        if status != want:
            raise Problem("%s: status %d, want %d: %r" % (what, status, want, data[:300]),
                          status)

    # --- generation ------------------------------------------------------------------------

    def options(self):
        o = {"num_predict": self.rng.randint(4, 24)}
        r = self.rng.random()
        if r < 0.3:
            o["temperature"] = 0
        elif r < 0.6:
            o["temperature"] = round(self.rng.uniform(0.2, 1.2), 2)
            o["seed"] = self.rng.randint(0, 1 << 30)
        if self.rng.random() < 0.3:
            o["stop"] = self.rng.choice(STOPS)
        if self.rng.random() < 0.2:
            o["top_k"] = self.rng.randint(1, 40)
            o["top_p"] = 0.9
        return o

    def generate(self, stream, model="stories", keep_alive=None):
        body = {"model": model, "prompt": self.rng.choice(PROMPTS), "stream": stream,
                "options": self.options()}
        if keep_alive is not None:
            body["keep_alive"] = keep_alive
        return self.finish("/api/generate", body, stream)

    def chat(self, stream):
        msgs = [{"role": "user", "content": self.rng.choice(PROMPTS)}]
        if self.rng.random() < 0.3:
            msgs = [{"role": "system", "content": "Tell a story."}] + msgs
        return self.finish("/api/chat", {"model": "stories", "messages": msgs, "stream": stream,
                                         "options": self.options()}, stream)

    def finish(self, path, body, stream):
        status, data = self.call("POST", path, body)
        what = "%s %s" % (path, json.dumps(body))
        self.expect(status, data, 200, what)
        if stream:
            try:
                check_ndjson(data)
            except Problem as e:
                raise Problem("%s: %s" % (what, e))
        else:
            try:
                j = json.loads(data)
            except ValueError:
                raise Problem("%s: not JSON: %r" % (what, data[:200]))
            if (j.get("done") is not True or "eval_count" not in j
                    or j.get("done_reason") not in ("stop", "length")):
                raise Problem("%s: not a final answer: %r" % (what, data[:400]))
        return status, path

    def embed(self):
        n = self.rng.randint(1, 4)
        inputs = [self.rng.choice(PROMPTS) * self.rng.randint(1, 3) for _ in range(n)]
        status, data = self.call("POST", "/api/embed", {"model": "bert", "input": inputs})
        self.expect(status, data, 200, "embed")
        emb = json.loads(data).get("embeddings")
        if not isinstance(emb, list) or len(emb) != n or any(len(v) != 64 for v in emb):
            raise Problem("embed: bad shape: %r" % data[:200])
        return status, "embed"

    def meta(self):
        what = self.rng.choice(["tags", "ps", "show", "show", "version"])
        if what == "show":
            model = self.rng.choice(["stories", "bert", "teller"])
            status, data = self.call("POST", "/api/show", {"model": model})
            if status == 200 and "capabilities" not in json.loads(data):
                raise Problem("show: no capabilities: %r" % data[:200])
        else:
            status, data = self.call("GET", "/api/" + what)
            if status == 200:
                j = json.loads(data)
                if what == "tags" and not {"stories:latest", "bert:latest"} <= {
                        m["name"] for m in j["models"]}:
                    raise Problem("tags lost a model: %r" % data[:500])
        self.expect(status, data, 200, what)
        return status, what

    # --- bad requests ----------------------------------------------------------------------

    BAD = [
        ("POST", "/api/generate", '{"model": "stories", "prompt": ', 400),
        ("POST", "/api/chat", "{bad", 400),
        ("POST", "/api/generate", "", 400),
        ("POST", "/api/generate", {"model": "stories", "prompt": 5}, 400),
        ("POST", "/api/generate", {"model": "stories", "prompt": "x", "stream": "yes"}, 400),
        ("POST", "/api/generate", {"model": "stories", "prompt": "x",
                                   "options": {"num_predict": "x"}}, 400),
        ("POST", "/api/generate", {"model": "stories", "prompt": "x", "keep_alive": "3600"}, 400),
        ("POST", "/api/chat", {"model": "stories", "messages": "x"}, 400),
        ("POST", "/api/chat", {"model": "stories", "messages": [{"role": 5}]}, 400),
        ("POST", "/api/embed", {"model": "bert", "input": 5}, 400),
        ("POST", "/api/embed", {"model": "stories", "input": "x"}, 400),
        ("POST", "/api/generate", {"model": "nope", "prompt": "x"}, 404),
        ("POST", "/api/chat", {"model": "nope", "messages": []}, 404),
        ("POST", "/api/embed", {"model": "nope", "input": "x"}, 404),
        ("POST", "/api/show", {"model": "nope"}, 404),
        ("POST", "/api/show", {"model": 5}, 400),
        ("POST", "/api/show", {"model": "bad//name"}, 400),
        ("POST", "/api/generate", {"model": "bad//name", "prompt": "x"}, 400),
        ("POST", "/api/pull", {"model": "bad//name"}, 400),
        ("DELETE", "/api/delete", {"model": "bad//name"}, 400),
        ("DELETE", "/api/delete", {"model": "nope"}, 404),
        ("GET", "/api/nope", None, 404),
        ("DELETE", "/api/tags", None, 405),
    ]

    def bad(self, i=None):
        i = self.rng.randrange(len(self.BAD)) if i is None else i
        method, path, body, want = self.BAD[i]
        status, data = self.call(method, path, body)
        self.expect(status, data, want, "bad #%d %s %s %r" % (i, method, path, body))
        return status, "bad #%d" % i

    def huge(self, i=None):
        """Bodies of ~3 MB: malformed, wrong types, unknown models."""
        i = self.rng.randrange(5) if i is None else i
        pad = "a" * HUGE
        if i == 0:
            body, want, path = '{"model": "stories", "prompt": "' + pad, 400, "/api/generate"
        elif i == 1:
            body, want, path = json.dumps({"model": "nope", "prompt": pad}), 404, "/api/generate"
        elif i == 2:
            body, want, path = json.dumps({"model": "nope", "pad": pad}), 404, "/api/show"
        elif i == 3:
            body = json.dumps({"model": "stories", "prompt": 5, "pad": ["x"] * (HUGE // 5)})
            want, path = 400, "/api/generate"
        else:
            body = json.dumps({"model": "nope", "messages": [
                {"role": "user", "content": pad[:HUGE // 8]} for _ in range(8)]})
            want, path = 404, "/api/chat"
        status, data = self.call("POST", path, body, headers={"Content-Type": "application/json"})
        self.expect(status, data, want, "huge #%d %s" % (i, path))
        return status, "huge #%d" % i

    # --- slow and vanishing clients --------------------------------------------------------

    def slow_send(self, quick=False):
        """A whole request (headers and body) one byte at a time with short pauses: a slow
        but well-behaved client (~3 s per request)."""
        if self.rng.random() < 0.5:
            path, body = "/api/show", {"model": "stories"}
        else:
            path, body = "/api/generate", {"model": "stories", "prompt": "Once", "stream": False,
                                           "options": {"num_predict": 6}}
        req = self.raw_request("POST", path, json.dumps(body).encode())
        pause = 0.0 if quick else 3.0 / len(req)
        s = socket.create_connection(("127.0.0.1", self.port), timeout=REQUEST_TIMEOUT)
        try:
            for i in range(len(req)):
                s.sendall(req[i:i + 1])
                if pause:
                    time.sleep(pause)
            resp = http.client.HTTPResponse(s, method="POST")
            resp.begin()
            data = resp.read()
            self.expect(resp.status, data, 200, "slow " + path)
            j = json.loads(data)
            if path == "/api/generate" and (j.get("done") is not True or j.get(
                    "done_reason") not in ("stop", "length")):
                raise Problem("slow generate: not a final answer: %r" % data[:300])
            return resp.status, "slow " + path
        finally:
            s.close()

    def slow_read(self, quick=False):
        """A streamed generate read slowly (a few bytes at a time, 4 KB receive buffer, so
        the server's writes block); must still end with done:true."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(REQUEST_TIMEOUT)
        try:
            s.connect(("127.0.0.1", self.port))
            body = {"model": "stories", "prompt": self.rng.choice(PROMPTS),
                    "options": {"num_predict": 60, "temperature": 0}}
            s.sendall(self.raw_request("POST", "/api/generate", json.dumps(body).encode()))
            resp = http.client.HTTPResponse(s, method="POST")
            resp.begin()
            chunks = []
            while True:
                c = resp.read(64)
                if not c:
                    break
                chunks.append(c)
                if not quick:
                    time.sleep(0.02)
            data = b"".join(chunks)
            self.expect(resp.status, data, 200, "slow read")
            check_ndjson(data)
            return resp.status, "slow read"
        finally:
            s.close()

    def slowloris(self, budget):
        """Opens a request and never finishes it: headers (or the body) dribble one byte per
        0.5 s for up to 15 s, then the client goes. Whatever the server does (wait, 408,
        close) is fine except a 5xx. Returns (status, where); status is the HTTP status when
        the server answered, else "server closed" / "reset" / "left open"."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        try:
            if self.rng.random() < 0.5:
                head = b"POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                drip, where = b"X-Slow: " + b"a" * 100, "slowloris headers"
            else:
                head = self.raw_request("POST", "/api/generate", b"x" * 200)[:-200]
                drip, where = b'{"model": "stories", "prompt": "' + b"a" * 100, "slowloris body"
            s.sendall(head)
            end = time.time() + min(15.0, budget)
            i = 0
            try:
                while time.time() < end and i < len(drip):
                    s.sendall(drip[i:i + 1])
                    i += 1
                    time.sleep(0.5)
            except OSError:
                pass  # the server gave up on us: fine
            s.setblocking(False)
            try:
                got = s.recv(256)
            except BlockingIOError:
                return "left open", where
            except OSError:
                return "reset", where
            m = re.match(rb"HTTP/1\.[01] (\d{3})", got)
            return (int(m.group(1)) if m else "server closed"), where
        finally:
            s.close()

    def vanish_stream(self):
        """A streamed generate with no end; the client closes after the first NDJSON line."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=REQUEST_TIMEOUT)
        try:
            body = {"model": "stories", "prompt": self.rng.choice(PROMPTS),
                    "options": {"num_predict": 100000}}
            s.sendall(self.raw_request("POST", "/api/generate", json.dumps(body).encode()))
            resp = http.client.HTTPResponse(s, method="POST")
            resp.begin()
            line = resp.readline()
            if resp.status != 200:
                raise Problem("vanish stream: status %d %r" % (resp.status, line[:200]),
                              resp.status)
            try:
                json.loads(line)
            except ValueError:
                raise Problem("vanish stream: first line %r" % line[:200])
            s.shutdown(socket.SHUT_RDWR)
            return resp.status, "vanish stream"
        finally:
            s.close()

    def vanish_plain(self):
        """A non-streamed generate of 100000 tokens (minutes of work); the client closes the
        socket after 0.2-1 s. The server must notice and free the slot."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=REQUEST_TIMEOUT)
        try:
            body = {"model": "stories", "prompt": self.rng.choice(PROMPTS), "stream": False,
                    "options": {"num_predict": 100000}}
            s.sendall(self.raw_request("POST", "/api/generate", json.dumps(body).encode()))
            time.sleep(self.rng.uniform(0.2, 1.0))
            s.setblocking(False)
            try:
                got = s.recv(256)
            except BlockingIOError:
                got = b""
            m = re.match(rb"HTTP/1\.[01] (\d{3})", got)
            if got and not m:
                raise Problem("vanish plain: garbage %r" % got[:100])
            return (int(m.group(1)) if m else None), "vanish plain"
        finally:
            s.close()

    # --- registry --------------------------------------------------------------------------

    def pull(self, name, stream):
        status, data = self.call("POST", "/api/pull", {"model": name, "insecure": True,
                                                       "stream": stream}, timeout=PULL_TIMEOUT)
        self.expect(status, data, 200, "pull " + name)
        if stream:
            check_ndjson(data, final_key="status")
        elif json.loads(data) != {"status": "success"}:
            raise Problem("pull %s: %r" % (name, data[:300]))
        return status, "pull %s stream=%s" % (name, stream)
