"""Three `ollama serve` replicas behind Debian's nginx with deploy/nginx's config (njs):
models land on every replica, each model keeps to one replica, streams pass through, and
when a replica dies only its in-flight requests fail while the others go on and its models
move to a survivor. Skipped where nginx or its njs module is not installed (CI installs
both: scripts/install-deps.sh)."""

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

from ollama_e2e import (HERE, ServerProcess, free_port, require_file, start_registry,
                        stop_registry, stories260k_path)

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
NJS_MODULE = "/usr/lib/nginx/modules/ngx_http_js_module.so"
DEPLOY = os.path.join(HERE, "..", "..", "deploy", "nginx")
JS_DIR = os.path.join(HERE, "..", "js")
NODE = shutil.which("node")

MAIN_CONF = """load_module {njs};
{user}
worker_processes 2;
error_log {d}/error.log info;
pid {d}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    include {d}/ollama.conf;
}}
"""


def start_nginx(replica_addrs):
    """nginx on a free loopback port in front of the replicas, with the config that
    deploy/nginx/configure writes; returned as a ServerProcess (its client env points the
    `ollama` CLI at the proxy)."""
    d = tempfile.mkdtemp(prefix="oc-e2e-nginx-")
    port = free_port()
    conf = subprocess.run([os.path.join(DEPLOY, "configure"), "--listen", "127.0.0.1:%d" % port,
                           "--njs-dir", os.path.abspath(DEPLOY)] + replica_addrs,
                          capture_output=True, text=True, check=True).stdout
    with open(os.path.join(d, "ollama.conf"), "w") as f:
        f.write(conf)
    user = "user root;" if os.geteuid() == 0 else ""  # workers read the temp dir and ollama.js
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write(MAIN_CONF.format(njs=NJS_MODULE, user=user, d=d))
    proc = subprocess.Popen([NGINX, "-p", d, "-c", os.path.join(d, "nginx.conf"),
                             "-g", "daemon off;"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    home = os.path.join(d, "home")
    os.makedirs(home)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OLLAMA_")}
    env.update(HOME=home, OLLAMA_HOST="127.0.0.1:%d" % port)
    proxy = ServerProcess(proc, "127.0.0.1", port, d, env, os.path.join(d, "error.log"))
    proxy._own_tmp = True
    return proxy.wait_ready(20, "/api/version")


def generated_tokens(server):
    """{model: generated tokens} from a replica's /metrics."""
    out = {}
    for m in re.finditer(r'^ollama_generated_tokens_total\{model="([^"]+)"\} (\d+)',
                         server.get("/metrics").text, re.M):
        out[m.group(1)] = int(m.group(2))
    return out


def loaded(server):
    return {m["name"] for m in server.get("/api/ps").json()["models"]}


def lines_of(resp):
    """The response body's lines as they arrive. Unlike HTTPResponse.readline, which ends
    quietly, a chunked body cut off without its last chunk raises IncompleteRead, as
    fetch-based clients (the official npm ones) fail on it."""
    pending = b""
    while True:
        data = resp.read1(65536)
        if not data:
            break
        pending += data
        *done, pending = pending.split(b"\n")
        yield from done
    if pending:
        yield pending


class Stream(threading.Thread):
    """One streaming request through the proxy, read line by line on its own thread.
    `lines` holds what arrived; `error` what went wrong (status, exception or an error
    line); `done` whether the final chunk (done:true / [DONE]) arrived."""

    def __init__(self, port, path, body):
        super().__init__(daemon=True)
        self.port, self.path, self.body = port, path, body
        self.lines, self.arrived, self.error, self.done = [], [], None, False
        self.first = threading.Event()

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            conn.request("POST", self.path, body=json.dumps(self.body),
                         headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            if resp.status != 200:
                self.error = "HTTP %d %s" % (resp.status, resp.read()[:200])
                return
            for raw in lines_of(resp):
                text = raw.decode().strip()
                if not text:
                    continue
                if text.startswith("data: "):
                    text = text[len("data: "):]
                    if text == "[DONE]":
                        self.done = True
                        continue
                obj = json.loads(text)
                self.lines.append(obj)
                self.arrived.append(time.monotonic())
                self.first.set()
                if "error" in obj:
                    self.error = "error line: %s" % obj["error"]
                elif obj.get("done") is True:
                    self.done = True
        except (OSError, http.client.HTTPException, ValueError) as e:
            self.error = "%s: %s" % (type(e).__name__, e)
        finally:
            self.first.set()
            conn.close()


@unittest.skipUnless(os.path.exists(NGINX) and os.path.exists(NJS_MODULE),
                     "needs nginx and its njs module (libnginx-mod-http-js)")
class ReplicasBehindNginx(unittest.TestCase):
    """The tests run in name order on one set of replicas; test_z kills one of them."""

    @classmethod
    def setUpClass(cls):
        require_file(stories260k_path())
        env = {"OLLAMA_NUM_PARALLEL": "6", "OLLAMA_MAX_LOADED_MODELS": "8"}
        cls.replicas = []
        try:
            for _ in range(3):
                cls.replicas.append(ServerProcess.start(extra_env=env))
            cls.proxy = start_nginx(["127.0.0.1:%d" % s.port for s in cls.replicas])
        except BaseException:
            for s in cls.replicas:
                s.stop()
            raise
        cls.names = []   # models made by test_a, all copies of stories260K
        cls.home = {}    # model -> the replica test_b saw it loaded on

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        for s in cls.replicas:
            s.stop()

    def by_port(self, port):
        return next(s for s in self.replicas if s.port == port)

    def generate(self, model, **options):
        opts = dict({"temperature": 0, "num_predict": 2}, **options)
        return self.proxy.post("/api/generate", {"model": model, "prompt": "Once upon",
                                                 "stream": False, "options": opts})

    def test_a_models_land_on_every_replica(self):
        # The official flow of `ollama create`: HEAD the blob, upload it, create; through
        # the proxy each step reaches every replica.
        d = tempfile.mkdtemp(prefix="oc-e2e-mf-")
        try:
            mf = os.path.join(d, "Modelfile")
            with open(mf, "w") as f:
                f.write("FROM %s\nPARAMETER temperature 0\n" % stories260k_path())
            out = self.proxy.run_cli("create", "tale", "-f", mf)
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        finally:
            shutil.rmtree(d)
        for i in range(8):
            r = self.proxy.post("/api/copy", {"source": "tale", "destination": "tale%d" % i})
            self.assertEqual(r.status, 200, r)
            self.names.append("tale%d:latest" % i)
        for s in self.replicas:
            tags = {m["name"] for m in s.get("/api/tags").json()["models"]}
            self.assertLessEqual(set(self.names) | {"tale:latest"}, tags, s.port)
        listed = self.proxy.run_cli("list")
        self.assertIn("tale7:latest", listed.stdout)

        # A blob counts as present only when every replica has it.
        blob = "sha256:" + "ab" * 32
        only_one = self.replicas[0].post("/api/blobs/" + blob, body=b"")
        self.assertIn(only_one.status, (400, 201), only_one)  # digest mismatch: not stored
        digest = self.replicas[0].push_blob(os.path.join(DEPLOY, "ollama.js"))
        self.assertEqual(self.replicas[0].head("/api/blobs/" + digest).status, 200)
        self.assertEqual(self.proxy.head("/api/blobs/" + digest).status, 404)
        self.proxy.push_blob(os.path.join(DEPLOY, "ollama.js"))
        for s in self.replicas:
            self.assertEqual(s.head("/api/blobs/" + digest).status, 200, s.port)
        self.assertEqual(self.proxy.head("/api/blobs/" + digest).status, 200)

        # Delete reaches every replica; a failure names the replicas it came from.
        r = self.proxy.delete("/api/delete", {"model": "tale"})
        self.assertEqual(r.status, 200, r)
        for s in self.replicas:
            self.assertEqual(s.post("/api/show", {"model": "tale"}).status, 404)
        r = self.proxy.delete("/api/delete", {"model": "tale"})
        self.assertEqual(r.status, 404, r)
        self.assertIn("not found (replicas ", r.json()["error"])

    def served_by(self, model, before, after, replicas=None):
        """Ports of the replicas whose generated-token count for `model` grew."""
        return [s.port for s, b, a in zip(replicas or self.replicas, before, after)
                if a.get(model, 0) > b.get(model, 0)]

    def test_b_each_model_keeps_to_one_replica(self):
        self.assertTrue(self.names, "test_a made no models")
        for name in self.names:
            before = [generated_tokens(s) for s in self.replicas]
            self.assertEqual(self.generate(name).status, 200)
            where = self.served_by(name, before, [generated_tokens(s) for s in self.replicas])
            self.assertEqual(len(where), 1, (name, where))
            self.home[name] = where[0]
        self.assertGreater(len(set(self.home.values())), 1,
                           "8 models hashed onto one replica: %s" % self.home)
        before = [generated_tokens(s) for s in self.replicas]
        for name in self.names:
            # Other spellings of the same model hash alike.
            for spelling in (name, name.split(":")[0], "registry.ollama.ai/library/" + name):
                self.assertEqual(self.generate(spelling).status, 200, spelling)
        after = [generated_tokens(s) for s in self.replicas]
        for name in self.names:
            self.assertEqual(self.served_by(name, before, after), [self.home[name]], name)

        # X-Ollama-Model wins over the body (for bodies too large to read the name from).
        a = self.names[0]
        b = next(n for n in self.names if self.home[n] != self.home[a])
        before = [generated_tokens(s) for s in self.replicas]
        r = self.proxy.post("/api/generate", {"model": a, "prompt": "Once", "stream": False,
                                              "options": {"num_predict": 2}},
                            headers={"X-Ollama-Model": b})
        self.assertEqual(r.status, 200, r)
        after = [generated_tokens(s) for s in self.replicas]
        self.assertEqual(self.served_by(a, before, after), [self.home[b]])

        everywhere = set().union(*(loaded(s) for s in self.replicas))
        merged = [m["name"] for m in self.proxy.get("/api/ps").json()["models"]]
        self.assertEqual(sorted(merged), sorted(everywhere))
        self.assertGreater(len(merged), 1)

    def test_c_streams_pass_through(self):
        name = self.names[0]
        chat = Stream(self.proxy.port, "/v1/chat/completions",
                      {"model": name, "stream": True, "max_tokens": 16, "temperature": 0,
                       "messages": [{"role": "user", "content": "Once upon"}]})
        gen = Stream(self.proxy.port, "/api/generate",
                     {"model": name, "prompt": "Once", "options": {"num_predict": 300}})
        for s in (chat, gen):
            s.start()
        for s in (chat, gen):
            s.join(60)
            self.assertIsNone(s.error)
            self.assertTrue(s.done)
            self.assertGreater(len(s.lines), 8)
        # Tokens reach the client as the replica makes them: the lines arrive spread over
        # the generation, not together at its end (what a buffering proxy does to a body
        # smaller than its buffers).
        eval_s = gen.lines[-1]["eval_duration"] / 1e9
        self.assertGreater(gen.lines[-1]["eval_count"], 100)
        self.assertGreater(gen.arrived[-1] - gen.arrived[0], 0.5 * eval_s,
                           (gen.arrived[0], gen.arrived[-1], eval_s))

    def test_d_pull_and_push_through_the_proxy(self):
        pid, port, regdir = start_registry()
        try:
            name = "127.0.0.1:%d/library/fable:latest" % port
            self.assertEqual(self.proxy.post("/api/copy", {"source": self.names[0],
                                                           "destination": name}).status, 200)
            r = self.proxy.post("/api/push", {"model": name, "insecure": True, "stream": False})
            self.assertEqual(r.status, 200, r)
            self.assertEqual(self.proxy.delete("/api/delete", {"model": name}).status, 200)
            statuses = [o for _, o in self.proxy.stream_lines(
                "POST", "/api/pull", {"model": name, "insecure": True})]
            self.assertEqual(statuses[-1], {"status": "success"}, statuses)
            self.assertEqual(len([o for o in statuses if o.get("status", "").endswith(
                ": success")]), 3, statuses)
            for s in self.replicas:
                self.assertEqual(s.post("/api/show", {"model": name}).status, 200, s.port)
        finally:
            stop_registry(pid)
            shutil.rmtree(regdir, ignore_errors=True)

    def test_z_a_dying_replica_fails_only_its_requests(self):
        self.assertTrue(self.home, "test_b placed no models")
        victim_port = self.home[self.names[0]]
        doomed = [n for n in self.names if self.home[n] == victim_port][:2]
        safe = [n for n in self.names if self.home[n] != victim_port][:2]
        # Doomed streams run until killed (no limit, a context that keeps shifting);
        # the others are short and must all finish.
        long_opts = {"num_predict": -1, "num_ctx": 2048, "temperature": 0}
        doomed_streams = [Stream(self.proxy.port, "/api/generate",
                                 {"model": n, "prompt": "Once", "options": long_opts})
                          for n in doomed for _ in range(2)]
        safe_streams = []
        for n in safe:
            for k in range(3):
                safe_streams.append(Stream(self.proxy.port, "/api/generate",
                                           {"model": n, "prompt": "Once",
                                            "options": {"num_predict": 48, "seed": k}}))
            safe_streams.append(Stream(self.proxy.port, "/v1/chat/completions",
                                       {"model": n, "stream": True, "max_tokens": 48,
                                        "messages": [{"role": "user", "content": "Hi"}]}))
        # And one doomed stream read by the official `ollama` npm client, when installed.
        node = None
        if NODE and os.path.exists(os.path.join(JS_DIR, "node_modules", "ollama")):
            node = subprocess.Popen([NODE, "stream-until-cut.mjs", self.proxy.url, doomed[0]],
                                    cwd=JS_DIR, stdout=subprocess.PIPE, text=True)
        for s in doomed_streams + safe_streams:
            s.start()
        for s in doomed_streams:
            self.assertTrue(s.first.wait(60))
            self.assertIsNone(s.error)
        if node:
            self.assertEqual(node.stdout.readline().strip(), "first")
        victim = self.by_port(victim_port)
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait()
        if node:
            ended = node.communicate(timeout=60)[0].strip()
            self.assertTrue(ended.startswith("error: "), ended)
        for s in doomed_streams + safe_streams:
            s.join(120)
            self.assertFalse(s.is_alive())
        for s in safe_streams:
            self.assertIsNone(s.error, s.body)
            self.assertTrue(s.done, s.body)
        for s in doomed_streams:
            self.assertFalse(s.done, (s.body, len(s.lines), s.lines[-1]))  # cut off: an error, never a clean end
            self.assertIsNotNone(s.error)

        # The dead replica's models move to a survivor; the others stay where they were.
        survivors = [s for s in self.replicas if s is not victim]
        before = [generated_tokens(s) for s in survivors]
        for n in doomed + safe:
            r = self.generate(n)
            self.assertEqual(r.status, 200, (n, r))
        after = [generated_tokens(s) for s in survivors]
        for n in safe:
            self.assertEqual(self.served_by(n, before, after, survivors), [self.home[n]], n)
        for n in doomed:
            self.assertEqual(len(self.served_by(n, before, after, survivors)), 1, n)

        # Model management while a replica is down: the survivors get it, the answer names
        # the one that did not.
        r = self.proxy.post("/api/copy", {"source": safe[0], "destination": "late"})
        self.assertEqual(r.status, 502, r)
        self.assertIn("not reachable (replica 127.0.0.1:%d)" % victim_port, r.json()["error"])
        for s in survivors:
            self.assertEqual(s.post("/api/show", {"model": "late"}).status, 200)
        self.assertEqual(self.proxy.get("/api/version").status, 200)


if __name__ == "__main__":
    unittest.main()
