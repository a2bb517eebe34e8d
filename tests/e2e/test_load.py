"""Load test: one real server (OLLAMA_NUM_PARALLEL=2) hammered for OLLAMA_LOAD_SECONDS
(default 45) by 64 concurrent connections mixing streamed and non-streamed generate/chat on
stories260K, embeddings, concurrent pulls of one blob from a real loopback registry, metadata
calls, slow senders and readers, slowloris connections, bad and huge requests, and clients
that vanish mid-stream or mid-generation. Asserts: no 5xx, no refused/reset connection for
a well-behaved client, every stream ends with done, the expected 4xx per bad request, pulled
blobs intact; afterwards the models are idle, two concurrent final requests per loaded model
finish promptly, threads and fds are back to the warm-up baseline, RSS grew less than
RSS_GROWTH_MAX_KB, and the server still answers. The figures are printed to stdout.
OLLAMA_LOAD_KEEP=1 keeps the server's temporary directory (server.log) for a post-mortem."""

import collections
import hashlib
import http.client
import json
import os
import random
import re
import shutil
import tempfile
import threading
import time
import unittest

from ollama_e2e import (ServerProcess, file_digest, require_file, start_registry, stop_registry,
                        stories260k_path, testdata)

from load_clients import *  # noqa: F401,F403 (the kinds, Stats, constants)

CLIENTS = 64
LOAD_SECONDS = float(os.environ.get("OLLAMA_LOAD_SECONDS", "45"))
JOIN_GRACE = REQUEST_TIMEOUT + 10  # clients still running this long after the deadline hang
SETTLE_SECONDS = 12.0  # after the load, time allowed for threads/fds/slots to come back
FINAL_MAX_SECONDS = 5.0  # each of two concurrent final requests on a loaded model
# The baseline is taken after a warm-up that ran every kind of request once (models loaded,
# a pull done, a stream cancelled, a burst of 8 clients) and once threads/fds stood still
# for 6 s; after the load the server gets up to SETTLE_SECONDS to come back to it, so what
# is left is at most noise:
THREAD_MARGIN = 2  # a helper thread finishing its exit
FD_MARGIN = 4  # a registry keep-alive socket or log file reopened
# RSS: the load runs ~100 server threads at once through 3 MB JSON bodies (the one with a
# 600k-element array is tens of MB as a parsed tree); glibc keeps freed memory in per-thread
# malloc arenas and caches thread stacks, and the warm-up burst has already grown some of
# that before the baseline. Measured over four 45 s runs of this test: +23, +36, +75 and
# +106 MB (without the burst in the warm-up: +31..+206 MB; with MALLOC_ARENA_MAX=2 the same
# load grew +55 MB, and a 100 s run grew less than a 50 s one: retention, not a leak). Keeping
# every huge body would be +300..460 MB per run (100-150 bodies of 3 MB). 150 MB lies above
# the retention seen and well below a leak of the bodies.
RSS_GROWTH_MAX_KB = 150 * 1024


@unittest.skipUnless(os.path.exists(stories260k_path()), "missing stories260K.gguf")
class LoadTest(unittest.TestCase):
    """Everything runs once in setUpClass (setup, warm-up, load, settle, final checks); the
    tests assert on what it recorded, so each failing property shows separately."""

    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.reg_pid = None
        cls.server = None
        cls.tmpdir = tempfile.mkdtemp(prefix="ollama-e2e-load-")
        try:
            cls.server = ServerProcess.start(tmpdir=cls.tmpdir, extra_env={
                "OLLAMA_NUM_PARALLEL": str(NUM_PARALLEL), "OLLAMA_MAX_LOADED_MODELS": "4",
                "OLLAMA_KEEP_ALIVE": "10m"})
            cls.setup_models()
            cls.run_all()
        except BaseException:
            cls.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.cleanup()

    @classmethod
    def cleanup(cls):
        if cls.reg_pid:
            stop_registry(cls.reg_pid)
            shutil.rmtree(cls.reg_dir, ignore_errors=True)
            cls.reg_pid = None
        if cls.server:
            cls.server.stop()
            cls.server = None
        if os.environ.get("OLLAMA_LOAD_KEEP"):
            print("kept server temp dir (log: server.log):", cls.tmpdir, flush=True)
        else:
            shutil.rmtree(cls.tmpdir, ignore_errors=True)

    # --- setup -----------------------------------------------------------------------------

    @classmethod
    def setup_models(cls):
        s = cls.server
        s.create_stories("stories:latest", template=CHATML)
        s.create_stories("teller:latest", template="Once upon a {{ .Prompt }}")
        s.create_from_file("bert", require_file(testdata("models", "tiny-bert-e64.gguf")))
        cls.nomic_gguf = require_file(testdata("models", "tiny-nomic-bert-e64.gguf"))
        cls.nomic_blob = os.path.join(s.models_dir, "blobs",
                                      file_digest(cls.nomic_gguf).replace(":", "-"))
        with open(require_file(testdata("models", "tiny-nomic-bert-e64.embd.json"))) as f:
            cls.nomic_ref = json.load(f)["texts"][0]
        if not HAVE_REGISTRY:
            return
        cls.reg_pid, cls.reg_port, cls.reg_dir = start_registry(prefix="oc-e2e-load-reg-")
        base = "127.0.0.1:%d/library/nomic" % cls.reg_port
        cls.reg_names = [base + ":latest", base + ":v2"]
        s.create_from_file(cls.reg_names[0], cls.nomic_gguf)
        r = s.post("/api/copy", {"source": cls.reg_names[0], "destination": cls.reg_names[1]})
        assert r.status == 200, r
        for name in cls.reg_names:
            r = s.post("/api/push", {"model": name, "insecure": True, "stream": False},
                       timeout=PULL_TIMEOUT)
            assert r.status == 200 and r.json() == {"status": "success"}, r
        for name in cls.reg_names:
            r = s.delete("/api/delete", {"model": name})
            assert r.status == 200, r
        assert not os.path.exists(cls.nomic_blob), "pushed blob left after delete"

    # --- the run ---------------------------------------------------------------------------

    @classmethod
    def run_all(cls):
        pid = cls.server.proc.pid
        cls.stats = Stats()
        cls.pull_checks = []  # failed per-round verifications of pulled models
        cls.pull_rounds = 0
        t0 = time.time()
        cls.warm_up()
        # Steady for longer than a spare worker's idle exit (5 s in this server).
        cls.before = cls.quiet_stats(pid, steady=6.0, limit=15.0)
        cls.waits_before = thread_waits(pid)
        cls.warm_seconds = time.time() - t0

        # The load.
        cls.peak = dict(cls.before)
        sampling = threading.Event()

        def sampler():
            while not sampling.is_set():
                try:
                    st = proc_stats(pid)
                except OSError:
                    cls.deadline = min(cls.deadline, time.time())  # the server died: stop
                    return
                for k in ("threads", "rss_kb", "fds"):
                    cls.peak[k] = max(cls.peak[k], st[k])
                sampling.wait(0.1)

        samp = threading.Thread(target=sampler, daemon=True)
        samp.start()
        cls.deadline = time.time() + LOAD_SECONDS
        roles = ["pull"] * 4 + \
            ["slowloris"] * 2 + ["slow_send"] * 3 + ["slow_read"] * 3 + \
            ["vanish_stream"] * 2 + ["vanish_plain"] + ["coldload"] * 3 + ["bad"] * 4 + \
            ["huge"] * 2 + ["meta"] * 4 + ["embed"] * 6
        mixed = ["gen_stream", "gen_plain", "chat_stream", "chat_plain"]
        roles += [mixed[i % 4] for i in range(CLIENTS - len(roles))]
        skip = SKIP | (set() if HAVE_REGISTRY else {"pull"})
        roles = [mixed[i % 4] if r in skip else r for i, r in enumerate(roles)]
        assert len(roles) == CLIENTS
        cls.pull_go = True
        cls.round_ok = [False] * 4
        cls.barrier = threading.Barrier(4, timeout=PULL_TIMEOUT + 10)
        threads = [threading.Thread(target=cls.worker, args=(i, role), daemon=True)
                   for i, role in enumerate(roles)]
        t_load = time.time()
        for t in threads:
            t.start()
        join_end = cls.deadline + JOIN_GRACE
        for t in threads:
            t.join(max(0.1, join_end - time.time()))
        cls.hung = [roles[i] for i, t in enumerate(threads) if t.is_alive()]
        cls.load_seconds = time.time() - t_load
        sampling.set()
        samp.join(2)
        rc = cls.server.proc.poll()
        if rc is not None:
            cls.print_requests()
            log = cls.server.log()
            raise AssertionError("server died during the load (exit %s) after %.1f s; log tail:\n%s"
                                 % (rc, cls.load_seconds, log[-3000:]))

        # Settle: wait for the server to be idle and its threads/fds back (bounded).
        t_settle = time.time()
        settle_end = t_settle + SETTLE_SECONDS
        while True:
            cls.idle_problem = cls.idle_check()
            cls.after = proc_stats(pid)
            back = (cls.after["threads"] <= cls.before["threads"] + THREAD_MARGIN
                    and cls.after["fds"] <= cls.before["fds"] + FD_MARGIN)
            if (back and cls.idle_problem is None) or time.time() >= settle_end:
                break
            time.sleep(0.5)
        cls.settle_seconds = time.time() - t_settle
        cls.waits_after = thread_waits(pid)

        cls.final = cls.final_requests()
        cls.alive = cls.alive_check()
        cls.blob_problems = cls.blob_check() if HAVE_REGISTRY else []
        try:
            cls.final_tags = [m["name"] for m in cls.server.get("/api/tags", timeout=10).json()[
                "models"]]
        except (OSError, ValueError, http.client.HTTPException) as e:
            cls.final_tags = [repr(e)]
        cls.log_summary = cls.scan_log()
        cls.total_seconds = time.time() - t0
        cls.print_figures()

    @classmethod
    def quiet_stats(cls, pid, steady, limit):
        """The baseline: proc_stats once threads and fds have not changed for `steady` s (a
        server may keep spare workers a few seconds after a burst), or after `limit` s."""
        end = time.time() + limit
        last, since = proc_stats(pid), time.time()
        while time.time() < end and time.time() - since < steady:
            time.sleep(0.25)
            st = proc_stats(pid)
            if (st["threads"], st["fds"]) != (last["threads"], last["fds"]):
                since = time.time()
            last = st
        return last

    @classmethod
    def worker(cls, i, role):
        rng = random.Random(1000 + i)
        client = Client(cls, rng)
        st = cls.stats
        if role == "pull":
            return cls.puller(i % 4, client)
        while time.time() < cls.deadline:
            where = role
            t0 = time.time()
            try:
                if role == "gen_stream":
                    status, where = client.generate(True)
                elif role == "gen_plain":
                    status, where = client.generate(False)
                elif role == "chat_stream":
                    status, where = client.chat(True)
                elif role == "chat_plain":
                    status, where = client.chat(False)
                elif role == "coldload":
                    # keep_alive 0: the model unloads when its last request ends, so three
                    # clients keep cold-loading it while others are in flight.
                    status, where = client.generate(rng.random() < 0.5, "teller", keep_alive=0)
                elif role == "embed":
                    status, where = client.embed()
                elif role == "meta":
                    status, where = client.meta()
                elif role == "bad":
                    status, where = client.bad()
                elif role == "huge":
                    status, where = client.huge()
                elif role == "slow_send":
                    status, where = client.slow_send()
                elif role == "slow_read":
                    status, where = client.slow_read()
                elif role == "slowloris":
                    status, where = client.slowloris(cls.deadline - time.time())
                elif role == "vanish_stream":
                    status, where = client.vanish_stream()
                elif role == "vanish_plain":
                    status, where = client.vanish_plain()
                    time.sleep(2.0)  # ~15 abandoned generations per 45 s
                st.record(role, status=status, secs=time.time() - t0)
            except Problem as e:
                st.record(role, status=e.status, problem=str(e), where=where,
                          secs=time.time() - t0)
            except CONN_ERRORS as e:
                st.record(role, error=e, where=where)
                if isinstance(e, ConnectionRefusedError) and role not in WELL_BEHAVED:
                    st.record(role, problem="connection refused", where=where)
                if role in WELL_BEHAVED or isinstance(e, ConnectionRefusedError):
                    time.sleep(0.2)  # don't spin on a dead server
            except Exception as e:  # noqa: BLE001 - a client-side bug must show, not hang
                st.record(role, problem="%s: %s" % (type(e).__name__, e), where=where)

    @classmethod
    def puller(cls, idx, client):
        """Four clients pull the same model at once (two by :latest, two by :v2, so the same
        blob is downloaded up to four times concurrently); then the first checks the blob and
        the model and deletes both names, and the next round starts, until the deadline.
        The last round leaves the model in place."""
        try:
            while cls.pull_round(idx, client):
                pass
        except threading.BrokenBarrierError:
            pass
        except Exception as e:  # noqa: BLE001 - a client-side bug must show, not hang others
            cls.stats.record("pull", problem="%s: %s" % (type(e).__name__, e), where="puller")
            cls.barrier.abort()

    @classmethod
    def pull_round(cls, idx, client):
        st = cls.stats
        name = cls.reg_names[idx // 2]
        cls.barrier.wait()
        if not cls.pull_go:
            return False
        ok = False
        t0 = time.time()
        try:
            status, where = client.pull(name, stream=idx != 3)
            st.record("pull", status=status, secs=time.time() - t0)
            ok = True
        except Problem as e:
            st.record("pull", status=e.status, problem=str(e), where="pull " + name)
        except CONN_ERRORS as e:
            st.record("pull", error=e, where="pull " + name)
        cls.round_ok[idx] = ok
        cls.barrier.wait()
        if idx != 0:
            return True
        cls.pull_rounds += 1
        # Only names whose pulls all said success must be there.
        good = [n for i, n in enumerate(cls.reg_names)
                if cls.round_ok[2 * i] and cls.round_ok[2 * i + 1]]
        try:
            problem = cls.verify_pulled(client, good)
        except CONN_ERRORS as e:
            st.record("pull", error=e, where="verify")
            problem = None
        if problem:
            cls.pull_checks.append("round %d: %s" % (cls.pull_rounds, problem))
        # Rounds go on after a failure too (how often it fails is worth knowing).
        cls.pull_go = time.time() + 3 < cls.deadline
        if cls.pull_go:
            for n in cls.reg_names:
                try:
                    status, data = client.call("DELETE", "/api/delete", {"model": n})
                    st.record("delete", status=status)
                    if status != 200 and n in good:
                        cls.pull_checks.append("round %d: delete %s after its pulls said "
                                               "success: %d %r"
                                               % (cls.pull_rounds, n, status, data))
                except CONN_ERRORS as e:
                    st.record("pull", error=e, where="delete " + n)
        return True

    @classmethod
    def verify_pulled(cls, client, names):
        """After pulls of `names` said success: the blob is byte-exact, the models exist and
        embed like the reference."""
        if not names:
            return None
        try:
            with open(cls.nomic_blob, "rb") as f:
                got = "sha256:" + hashlib.sha256(f.read()).hexdigest()
        except OSError as e:
            return "pulled blob missing: %s" % e
        if got != file_digest(cls.nomic_gguf):
            return "pulled blob corrupt: %s has %s" % (cls.nomic_blob, got)
        for n in names:
            status, data = client.call("POST", "/api/show", {"model": n})
            if status != 200:
                return "pull of %s said success, then show: %d %r" % (n, status, data[:200])
        status, data = client.call("POST", "/api/embed", {"model": names[0],
                                                          "input": cls.nomic_ref["text"]})
        if status != 200:
            return "embed on pulled model: %d %r" % (status, data[:200])
        v = json.loads(data)["embeddings"][0]
        diff = max(abs(a - b) for a, b in zip(v, cls.nomic_ref["embedding_normalized"]))
        if diff > 1e-4:
            return "pulled model embeds wrong: max diff %g" % diff
        return None

    @classmethod
    def warm_up(cls):
        """Every kind once, single-threaded: models loaded, a pull, a cancelled stream; then
        a burst of 8 concurrent clients (a server may keep a few idle workers once it has
        started them), so the baseline holds what a steady server holds. (No vanishing
        non-streamed generate: if the server leaks that slot the warm-up itself would stall.)"""
        c = Client(cls, random.Random(7))
        for f in (lambda: c.generate(True), lambda: c.generate(False), lambda: c.chat(True),
                  lambda: c.chat(False), lambda: c.generate(False, "teller", keep_alive=0),
                  c.embed, c.meta, lambda: c.slow_send(quick=True),
                  lambda: c.slow_read(quick=True), c.vanish_stream):
            f()
        for i in range(len(Client.BAD)):
            c.bad(i)
        for i in range(5):
            c.huge(i)
        if HAVE_REGISTRY:
            for n in cls.reg_names:
                c.pull(n, stream=True)
            problem = cls.verify_pulled(c, cls.reg_names)
            assert problem is None, problem
            for n in cls.reg_names:
                assert c.call("DELETE", "/api/delete", {"model": n})[0] == 200
        errors = []

        def burst(k):
            b = Client(cls, random.Random(100 + k))
            try:
                for f in (lambda: b.generate(k % 2 == 0), b.embed, b.meta, b.slow_send):
                    f()
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))

        ts = [threading.Thread(target=burst, args=(k,)) for k in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(REQUEST_TIMEOUT * 4)
        assert not errors, errors

    # --- after the load ---------------------------------------------------------------------

    @classmethod
    def ps(cls):
        return {m["name"]: m for m in cls.server.get("/api/ps", timeout=10).json()["models"]}

    @classmethod
    def idle_check(cls):
        """None when every loaded model is idle: its expires_at stands still (a model with a
        request in flight reports now + keep_alive, which moves), and teller (keep_alive 0)
        has been unloaded. Otherwise a description."""
        try:
            a = cls.ps()
            time.sleep(1.2)
            b = cls.ps()
        except (OSError, ValueError, http.client.HTTPException) as e:
            return "/api/ps failed: %r" % e
        busy = [n for n in b if n in a and a[n]["expires_at"] != b[n]["expires_at"]]
        out = []
        if busy:
            out.append("busy after the load (expires_at moving): %s %s"
                       % (busy, [(a[n]["expires_at"], b[n]["expires_at"]) for n in busy]))
        if "teller:latest" in b:
            out.append("teller (keep_alive 0) still loaded")
        if "stories:latest" not in b:
            out.append("stories not loaded: %s" % sorted(b))
        return "; ".join(out) or None

    @classmethod
    def final_requests(cls):
        """Two concurrent requests on every loaded model still in the store (a pulled model
        may have been deleted while loaded): (name, seconds, outcome) each."""
        try:
            tags = {m["name"] for m in cls.server.get("/api/tags", timeout=10).json()["models"]}
            models = [n for n in cls.ps() if n in tags]
        except (OSError, ValueError, http.client.HTTPException) as e:
            return [("ps", None, repr(e))]
        out = []
        lock = threading.Lock()

        def one(name, k):
            c = Client(cls, random.Random(k))
            t = time.time()
            try:
                caps = json.loads(c.call("POST", "/api/show", {"model": name})[1]).get(
                    "capabilities", [])
                t = time.time()
                if "embedding" in caps:
                    status, data = c.call("POST", "/api/embed", {"model": name, "input": "hi"})
                    ok = status == 200 and len(json.loads(data)["embeddings"]) == 1
                else:
                    status, data = c.call("POST", "/api/generate", {
                        "model": name, "prompt": "Once upon a time", "stream": False,
                        "options": {"num_predict": 20, "temperature": 0}})
                    ok = status == 200 and json.loads(data).get("done") is True
                res = "ok" if ok else "status %d %r" % (status, data[:200])
            except Exception as e:  # noqa: BLE001
                res = "%s: %s" % (type(e).__name__, e)
            with lock:
                out.append((name, time.time() - t, res))

        ts = [threading.Thread(target=one, args=(n, k)) for n in models for k in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(REQUEST_TIMEOUT + 5)
        with lock:
            out += [(n, None, "no answer") for n in models
                    if sum(1 for x in out if x[0] == n) < 2]
        return sorted(out)

    @classmethod
    def alive_check(cls):
        out = {"alive": cls.server.proc.poll() is None}
        for path in ("/", "/api/version"):
            try:
                r = cls.server.get(path, timeout=10)
                out[path] = (r.status, r.text[:100])
            except OSError as e:
                out[path] = (None, repr(e))
        return out

    @classmethod
    def blob_check(cls):
        """No partial download left, and every blob's content matches its name."""
        d = os.path.join(cls.server.models_dir, "blobs")
        out = []
        for f in sorted(os.listdir(d)):
            p = os.path.join(d, f)
            if not re.fullmatch(r"sha256-[0-9a-f]{64}", f):
                out.append("stray file in blobs/: %s (%d bytes)" % (f, os.path.getsize(p)))
                continue
            if file_digest(p) != f.replace("-", ":"):
                out.append("blob %s does not match its digest" % f)
        return out

    @classmethod
    def scan_log(cls):
        log = cls.server.log()
        gin = collections.Counter(int(m) for m in re.findall(r"\[GIN\] \| (\d{3}) \|", log))
        # Warnings and errors, each distinct message once with its count.
        odd = collections.Counter(
            re.sub(r"^time=\S+ ", "", l) for l in log.splitlines()
            if re.match(r"time=\S+ level=(warn|error|crit|fatal)", l))
        return {"gin": gin, "odd": odd}

    @classmethod
    def print_figures(cls):
        p = lambda *a: print(*a, flush=True)  # noqa: E731
        p("\n=== load test: %d clients, %.0f s load (%.1f s incl. stragglers), warm-up %.1f s, "
          "settle %.1f s, total %.1f s ===" % (CLIENTS, LOAD_SECONDS, cls.load_seconds,
                                               cls.warm_seconds, cls.settle_seconds,
                                               cls.total_seconds))
        cls.print_requests()
        cls.print_health()

    @classmethod
    def print_requests(cls):
        st = cls.stats
        p = lambda *a: print(*a, flush=True)  # noqa: E731
        p("%-14s %6s  %-40s %-30s %-8s %s" % ("kind", "sent", "statuses", "conn errors",
                                               "problems", "seconds p50/max"))
        for kind in sorted(st.sent):
            secs = sorted(st.seconds[kind])
            lat = "%.2f/%.2f" % (secs[len(secs) // 2], secs[-1]) if secs else "-"
            p("%-14s %6d  %-40s %-30s %-8d %s" % (kind, st.sent[kind], dict(st.statuses[kind]),
                                                  dict(st.errors[kind]), st.problem_count[kind],
                                                  lat))
        p("total requests: %d; 5xx: %s; incomplete streams: %d; pull rounds: %d"
          % (sum(st.sent.values()), st.five_xx(), st.incomplete_streams, cls.pull_rounds))
        for kind, probs in sorted(st.problems.items()):
            for x in probs[:5]:
                p("  problem %s: %s" % (kind, x))
        for x in st.conn_errors[:10]:
            p("  connection error: %s" % x)
        for x in cls.pull_checks:
            p("  pull check: %s" % x)

    @classmethod
    def print_health(cls):
        p = lambda *a: print(*a, flush=True)  # noqa: E731
        p("threads: baseline %d, peak %d, after %d" % (cls.before["threads"],
                                                      cls.peak["threads"], cls.after["threads"]))
        p("thread waits: baseline %s, after %s" % (cls.waits_before, cls.waits_after))
        p("VmRSS:   baseline %.1f MB, peak %.1f MB, after %.1f MB (growth %+.1f MB)" % (
            cls.before["rss_kb"] / 1024, cls.peak["rss_kb"] / 1024, cls.after["rss_kb"] / 1024,
            (cls.after["rss_kb"] - cls.before["rss_kb"]) / 1024))
        p("fds:     baseline %d, peak %d, after %d" % (cls.before["fds"], cls.peak["fds"],
                                                      cls.after["fds"]))
        p("idle after load: %s" % (cls.idle_problem or "yes"))
        for name, secs, res in cls.final:
            p("final request on %s: %s in %s s" % (name, res,
                                                   "%.2f" % secs if secs is not None else "-"))
        p("alive: %s" % cls.alive)
        p("models at the end: %s" % cls.final_tags)
        if SKIP:
            p("left out (OLLAMA_LOAD_SKIP): %s" % sorted(SKIP))
        if cls.hung:
            p("clients still running %.0f s after the deadline: %s" % (JOIN_GRACE, cls.hung))
        p("server log statuses: %s" % dict(sorted(cls.log_summary["gin"].items())))
        for x in cls.blob_problems:
            p("  blob check: %s" % x)
        odd = cls.log_summary["odd"]
        if odd:
            p("server log warnings/errors (distinct messages, first 30):")
            for l, n in odd.most_common(30):
                p("  %5d x %s" % (n, l[:400]))

    # --- assertions ------------------------------------------------------------------------

    def test_no_5xx(self):
        self.assertEqual(self.stats.five_xx(), {})

    def test_expected_status_per_kind(self):
        probs = {k: v for k, v in self.stats.problems.items() if k != "pull"}
        self.assertEqual(probs, {}, "counts: %s" % dict(self.stats.problem_count))
        for kind in ("bad", "huge"):
            self.assertGreater(self.stats.sent[kind], 10, kind)

    def test_streams_end_with_done(self):
        self.assertEqual(self.stats.incomplete_streams, 0)
        for kind in ("gen_stream", "chat_stream", "slow_read"):
            self.assertGreater(self.stats.statuses[kind][200], 0, kind)

    def test_well_behaved_clients_never_refused_or_reset(self):
        self.assertEqual(self.stats.conn_errors[:20], [])
        self.assertEqual(self.hung, [])

    def test_every_kind_ran(self):
        kinds = {"gen_stream", "gen_plain", "chat_stream", "chat_plain", "embed", "meta", "bad",
                 "huge", "slow_send", "slow_read", "slowloris", "vanish_stream", "vanish_plain",
                 "coldload"} - SKIP
        self.assertEqual(sorted(kinds - {k for k, n in self.stats.sent.items() if n}), [])
        self.assertGreater(sum(self.stats.sent.values()), 500)

    @unittest.skipUnless(HAVE_REGISTRY, "docker-registry not installed")
    def test_concurrent_pulls_of_one_blob(self):
        if "pull" in SKIP:
            self.skipTest("OLLAMA_LOAD_SKIP has pull")
        self.assertEqual(self.stats.problems.get("pull", []), [])
        self.assertEqual(self.stats.errors.get("pull", {}), {})
        self.assertEqual(self.pull_checks, [])
        self.assertEqual(self.blob_problems, [])
        self.assertGreaterEqual(self.pull_rounds, 2)
        self.assertEqual(self.stats.statuses["pull"][200], 4 * self.pull_rounds)
        for n in self.reg_names:  # the last round leaves the model in place
            self.assertIn(n, self.final_tags)

    def test_idle_after_load(self):
        self.assertIsNone(self.idle_problem)

    def test_final_requests_on_every_loaded_model_are_prompt(self):
        names = {n for n, _, _ in self.final}
        self.assertIn("stories:latest", names)
        self.assertIn("bert:latest", names)
        for name, secs, res in self.final:
            self.assertEqual(res, "ok", name)
            self.assertLess(secs, FINAL_MAX_SECONDS, name)
        self.assertEqual(len(self.final), 2 * len(names))

    def test_threads_fds_and_rss_flat(self):
        b, a = self.before, self.after
        bad = []
        if a["threads"] > b["threads"] + THREAD_MARGIN:
            bad.append("threads %d -> %d (margin %d); waits %s -> %s" % (
                b["threads"], a["threads"], THREAD_MARGIN, self.waits_before, self.waits_after))
        if a["fds"] > b["fds"] + FD_MARGIN:
            bad.append("fds %d -> %d (margin %d)" % (b["fds"], a["fds"], FD_MARGIN))
        if a["rss_kb"] - b["rss_kb"] >= RSS_GROWTH_MAX_KB:
            bad.append("VmRSS %.1f MB -> %.1f MB (bound +%d MB)" % (
                b["rss_kb"] / 1024, a["rss_kb"] / 1024, RSS_GROWTH_MAX_KB // 1024))
        self.assertEqual(bad, [])

    def test_server_alive_and_answering(self):
        self.assertTrue(self.alive["alive"])
        self.assertEqual(self.alive["/"], (200, "Ollama is running"))
        self.assertEqual(self.alive["/api/version"][0], 200)
        self.assertIn('"version"', self.alive["/api/version"][1])


if __name__ == "__main__":
    unittest.main()
