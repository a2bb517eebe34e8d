"""Shared helpers for end-to-end tests: a real `ollama serve` on a free loopback port
with a temporary store and HOME (Python standard library only).

Typical use:

    class MyTest(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            cls.server = ServerProcess.start()
        @classmethod
        def tearDownClass(cls):
            cls.server.stop()
        def test_version(self):
            status, body = self.server.get_json("/api/version")

Environment (set by CTest): OLLAMA_BIN, OLLAMA_BUILD_DIR, OLLAMA_SHARED_DIR.
"""

import hashlib
import http.client
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def ollama_bin():
    """Path of the `ollama` binary under test."""
    b = os.environ.get("OLLAMA_BIN")
    if b:
        return b
    build = os.environ.get("OLLAMA_BUILD_DIR", os.path.join(HERE, "..", "..", "build"))
    return os.path.join(build, "ollama")


def shared_dir():
    """The read-only shared material (testdata/, docs/)."""
    return os.environ.get("OLLAMA_SHARED_DIR", os.path.join(HERE, "..", "..", "..", "shared"))


def testdata(*parts):
    return os.path.join(shared_dir(), "testdata", *parts)


def stories260k_path():
    return testdata("real", "stories260K.gguf")


def require_file(path):
    """Skips the calling test when a data file is missing."""
    if not os.path.exists(path):
        raise unittest.SkipTest("missing test data: " + path)
    return path


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def file_digest(path):
    """'sha256:<hex>' of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


REGISTRY = "/usr/bin/docker-registry"


def start_registry(env=None, d=None, prefix="oc-e2e-reg-"):
    """Starts Debian's docker-registry on a free loopback port through ../shared/registry
    (data in `d`, a new temporary directory by default); returns (pid, port, dir). A port
    found free can be taken by a test running beside this one before the registry binds it:
    up to 3 ports are tried."""
    d = d or tempfile.mkdtemp(prefix=prefix)
    for attempt in range(3):
        port = free_port()
        out = subprocess.run([os.path.join(shared_dir(), "registry", "start.sh"), d, str(port)],
                             capture_output=True, text=True, timeout=30,
                             env=dict(os.environ, **(env or {})))
        if out.returncode == 0:
            return int(out.stdout.strip()), port, d
    shutil.rmtree(d, ignore_errors=True)
    raise AssertionError("registry did not start: " + out.stdout + out.stderr)


def stop_registry(pid):
    subprocess.run([os.path.join(shared_dir(), "registry", "stop.sh"), str(pid)])


def bytes_digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Response:
    """A finished HTTP response: status, headers (lower-case keys), raw body bytes."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self):
        return self.body.decode("utf-8", errors="replace")

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def ndjson(self):
        """Parses an NDJSON body into a list of objects."""
        return [json.loads(line) for line in self.text.split("\n") if line.strip()]

    def __repr__(self):
        return "Response(%d, %r)" % (self.status, self.body[:500])


class ServerProcess:
    """A running `ollama serve`. Use start(); always stop() (tearDown/tearDownClass)."""

    def __init__(self, proc, host, port, tmpdir, env, log_path):
        self.proc = proc
        self.host = host
        self.port = port
        self.tmpdir = tmpdir
        self.env = env
        self.log_path = log_path
        self.default_headers = {}  # sent with every request (an API key, say)

    @property
    def home(self):
        return self.env["HOME"]

    @property
    def models_dir(self):
        return self.env["OLLAMA_MODELS"]

    @property
    def url(self):
        return "http://%s:%d" % (self.host, self.port)

    @classmethod
    def start(cls, extra_env=None, host="127.0.0.1", port=None, timeout=30.0, tmpdir=None):
        """Starts the server with HOME and OLLAMA_MODELS in a fresh temporary directory
        (or `tmpdir`, kept on stop), waits until `GET /` answers, and returns it."""
        own_tmp = tmpdir is None
        tmpdir = tmpdir or tempfile.mkdtemp(prefix="ollama-e2e-")
        port = port or free_port()
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("OLLAMA_") and k not in ("OLLAMA_BIN", "OLLAMA_BUILD_DIR",
                                                      "OLLAMA_SHARED_DIR"):
                del env[k]
        env["HOME"] = os.path.join(tmpdir, "home")
        env["OLLAMA_MODELS"] = os.path.join(tmpdir, "models")
        os.makedirs(env["HOME"], exist_ok=True)
        bind = "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)
        env["OLLAMA_HOST"] = bind
        if extra_env:
            env.update(extra_env)
        log_path = os.path.join(tmpdir, "server.log")
        log = open(log_path, "wb")
        proc = subprocess.Popen([ollama_bin(), "serve"], env=env, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        server = cls(proc, host, port, tmpdir, env, log_path)
        server._own_tmp = own_tmp
        return server.wait_ready(timeout)

    def wait_ready(self, timeout=30.0, path="/"):
        """Returns self once GET `path` answers 200; stops the process and raises
        RuntimeError (with its log) when it exits or does not answer in time."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %s:\n%s" %
                                   (self.proc.args[0], self.proc.returncode, self.log()))
            try:
                if self.request("GET", path, timeout=2).status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("%s did not answer in %.0fs:\n%s" %
                           (self.proc.args[0], timeout, self.log()))

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def stop(self, sig_timeout=15.0):
        """Sends SIGTERM, waits, returns the exit code; removes the temp dir if ours."""
        rc = self.proc.poll()
        if rc is None:
            self.proc.terminate()
            try:
                rc = self.proc.wait(timeout=sig_timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
        if getattr(self, "_own_tmp", False):
            shutil.rmtree(self.tmpdir, ignore_errors=True)
        return rc

    def env_for_client(self):
        """Environment for running `ollama <cmd>` as a client of this server."""
        env = dict(self.env)
        return env

    def run_cli(self, *args, input=None, timeout=120, extra_env=None):
        """Runs `ollama <args>` against this server; returns CompletedProcess (text)."""
        env = self.env_for_client()
        if extra_env:
            env.update(extra_env)
        return subprocess.run([ollama_bin()] + list(args), env=env, input=input,
                              capture_output=True, text=True, timeout=timeout)

    # --- HTTP ---------------------------------------------------------------------------

    def request(self, method, path, body=None, headers=None, timeout=120):
        """Sends one request. body: bytes, str, dict/list (sent as JSON) or a file object
        (streamed). Returns a Response."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            hdrs = dict(self.default_headers)
            hdrs.update(headers or {})
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode("utf-8")
                hdrs.setdefault("Content-Type", "application/json")
            elif isinstance(body, str):
                body = body.encode("utf-8")
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            headers_out = {k.lower(): v for k, v in resp.getheaders()}
            return Response(resp.status, headers_out, data)
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def delete(self, path, body=None, **kw):
        return self.request("DELETE", path, body=body, **kw)

    def head(self, path, **kw):
        return self.request("HEAD", path, **kw)

    def stream_lines(self, method, path, body=None, timeout=300):
        """Generator over NDJSON objects as they arrive (for streaming endpoints).
        Yields (status, obj); obj is None for a non-NDJSON error body."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            data = json.dumps(body).encode("utf-8") if body is not None else None
            conn.request(method, path, body=data,
                         headers=dict(self.default_headers, **{"Content-Type": "application/json"}))
            resp = conn.getresponse()
            while True:
                line = resp.readline()
                if not line:
                    break
                if line.strip():
                    yield resp.status, json.loads(line)
        finally:
            conn.close()

    # --- model helpers ------------------------------------------------------------------

    def push_blob(self, path):
        """Uploads a file to /api/blobs/<digest> (streamed); returns the digest."""
        digest = file_digest(path)
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            r = self.request("POST", "/api/blobs/" + digest, body=f,
                             headers={"Content-Length": str(size)})
        if r.status not in (200, 201):
            raise AssertionError("blob upload failed: %r" % r)
        return digest

    def create(self, model, stream=False, **fields):
        """POST /api/create. Returns the Response (NDJSON when stream=True)."""
        body = {"model": model, "stream": stream}
        body.update(fields)
        return self.post("/api/create", body)

    def create_from_file(self, model, gguf_path, **fields):
        """Uploads a GGUF and creates `model` from it; asserts success; returns the digest."""
        digest = self.push_blob(gguf_path)
        files = {os.path.basename(gguf_path): digest}
        r = self.create(model, files=files, **fields)
        if r.status != 200 or r.json().get("status") != "success":
            raise AssertionError("create %s failed: %r" % (model, r))
        return digest

    def create_stories(self, model="stories:latest", **fields):
        """Creates `model` from the real stories260K GGUF (skips if missing)."""
        return self.create_from_file(model, require_file(stories260k_path()), **fields)


class ServerTestCase(unittest.TestCase):
    """Base class: one server per test class, at cls.server."""

    server_env = None

    @classmethod
    def setUpClass(cls):
        cls.server = ServerProcess.start(extra_env=cls.server_env)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
