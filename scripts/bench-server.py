#!/usr/bin/env python3
"""Load test for an Ollama-compatible server: N concurrent streaming /api/generate requests.

Measures, per client and in aggregate, generated tokens/s (from the server's eval_count /
eval_duration and from wall time) and time to first token. Python standard library only.

Against a running server (OLLAMA_HOST or --host):

    scripts/bench-server.py --model llama3.2 --clients 8 --num-predict 128

End to end (starts `BIN serve` on a free port with a temporary store, creates the model from
a GGUF file through /api/blobs + /api/create, runs, stops the server):

    OLLAMA_NUM_PARALLEL=8 scripts/bench-server.py --spawn build/ollama --gguf model.gguf

--json prints one JSON object instead of the table.
"""

import argparse
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

DEFAULT_PROMPT = ("Write a long story about a lighthouse keeper who finds a message in a "
                  "bottle, with many details about the sea, the weather and the town.")


def parse_host(value):
    """(host, port) from an OLLAMA_HOST-style value: [scheme://]host[:port][/path]."""
    v = (value or "").strip().strip("\"'")
    if "://" in v:
        v = v.split("://", 1)[1]
    v = v.split("/", 1)[0]
    host, port = v, 11434
    if v.startswith("["):  # [ipv6]:port
        end = v.find("]")
        host, rest = v[1:end], v[end + 1:]
        if rest.startswith(":"):
            port = int(rest[1:])
    elif ":" in v:
        host, p = v.rsplit(":", 1)
        port = int(p) if p else 11434
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    return host, port


class Api:
    def __init__(self, host, port, timeout=600):
        self.host, self.port, self.timeout = host, port, timeout

    def conn(self):
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def request(self, method, path, body=None, headers=None):
        """Returns (status, body bytes)."""
        c = self.conn()
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
                headers = dict(headers or {}, **{"Content-Type": "application/json"})
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def json(self, method, path, body=None):
        status, data = self.request(method, path, body)
        if status != 200:
            raise RuntimeError("%s %s: HTTP %d: %s" % (method, path, status, data[:300]))
        return json.loads(data) if data.strip() else {}


# ---------------------------------------------------------------------------------------------
# One client: a streamed /api/generate, timed chunk by chunk.

def run_client(api, body, start_barrier, out):
    out.update(error=None, ttft_s=None, chunks=0, text_len=0, chunk_times=[])
    c = api.conn()
    try:
        payload = json.dumps(body).encode()
        start_barrier.wait()
        t0 = time.perf_counter()
        out["t_start"] = t0
        c.request("POST", "/api/generate", body=payload,
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        if r.status != 200:
            out["error"] = "HTTP %d: %s" % (r.status, r.read()[:300].decode("utf-8", "replace"))
            return
        final = None
        for line in r:
            if not line.strip():
                continue
            chunk = json.loads(line)
            if "error" in chunk:
                out["error"] = chunk["error"]
                return
            now = time.perf_counter()
            out["chunks"] += 1
            if out["ttft_s"] is None and (chunk.get("response") or chunk.get("thinking")
                                          or chunk.get("done")):
                out["ttft_s"] = now - t0
            out["text_len"] += len(chunk.get("response", ""))
            if not chunk.get("done"):
                out["chunk_times"].append(now)
            if chunk.get("done"):
                final = chunk
        out["t_end"] = time.perf_counter()
        out["wall_s"] = out["t_end"] - t0
        if final is None:
            out["error"] = "stream ended without done"
            return
        for k in ("eval_count", "eval_duration", "prompt_eval_count", "prompt_eval_duration",
                  "load_duration", "total_duration", "done_reason"):
            out[k] = final.get(k, 0)
        ed = out["eval_duration"] or 0
        out["eval_tps"] = out["eval_count"] / (ed / 1e9) if ed > 0 else 0.0
        ped = out["prompt_eval_duration"] or 0
        out["prompt_tps"] = out["prompt_eval_count"] / (ped / 1e9) if ped > 0 else 0.0
        # Time to first token not explained by the engine's own load + prefill time: the
        # server's overhead (HTTP, templating, scheduling, queueing behind other clients).
        out["ttft_overhead_ms"] = (out["ttft_s"] - (out["load_duration"] + ped) / 1e9) * 1e3
    except Exception as e:  # reported per client; the run goes on
        out["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        c.close()


def run_load(api, args):
    options = {"temperature": 0, "num_predict": args.num_predict, "top_k": 1}
    if args.num_ctx:
        options["num_ctx"] = args.num_ctx
    if args.num_thread:
        options["num_thread"] = args.num_thread
    results = [dict(client=i) for i in range(args.clients)]
    barrier = threading.Barrier(args.clients)
    threads = []
    for i in range(args.clients):
        body = {"model": args.model, "prompt": args.prompt, "stream": True, "raw": args.raw,
                "keep_alive": args.keep_alive,
                "options": dict(options, seed=args.seed + i)}
        t = threading.Thread(target=run_client, args=(api, body, barrier, results[i]))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    return results


def summarize(results):
    ok = [r for r in results if not r.get("error")]
    s = {"clients": len(results), "ok": len(ok), "errors": len(results) - len(ok)}
    if not ok:
        return s
    t0 = min(r["t_start"] for r in ok)
    t1 = max(r["t_end"] for r in ok)
    tokens = sum(r["eval_count"] for r in ok)
    s["generated_tokens"] = tokens
    s["wall_s"] = t1 - t0
    # Every generated token over the whole run's wall time (includes prefills and queueing).
    s["aggregate_wall_tps"] = tokens / (t1 - t0) if t1 > t0 else 0.0
    # Steady-state decode throughput: streamed chunks (one per token) that arrive while every
    # client is between its first token and its end, over the length of that window.
    w0 = max(r["t_start"] + r["ttft_s"] for r in ok)
    w1 = min(r["t_end"] for r in ok)
    in_window = sum(1 for r in ok for t in r["chunk_times"] if w0 < t <= w1)
    s["all_streaming_s"] = max(w1 - w0, 0.0)
    s["aggregate_decode_tps"] = in_window / (w1 - w0) if w1 > w0 and in_window else 0.0
    # Sum of the per-client rates the server reports (eval_count / eval_duration).
    s["sum_eval_tps"] = sum(r["eval_tps"] for r in ok)
    s["mean_eval_tps"] = s["sum_eval_tps"] / len(ok)
    ttfts = sorted(r["ttft_s"] for r in ok)
    s["ttft_min_ms"] = ttfts[0] * 1e3
    s["ttft_median_ms"] = ttfts[len(ttfts) // 2] * 1e3
    s["ttft_max_ms"] = ttfts[-1] * 1e3
    s["ttft_overhead_min_ms"] = min(r["ttft_overhead_ms"] for r in ok)
    return s


def print_table(meta, results, summary):
    print("server %s  model %s  clients %d  num_predict %d" %
          (meta["host"], meta["model"], summary["clients"], meta["num_predict"]))
    if meta.get("load_s") is not None:
        print("model load (warm-up request): %.3f s" % meta["load_s"])
    hdr = "%6s %8s %10s %9s %9s %10s %10s %9s  %s" % (
        "client", "prompt", "prompt t/s", "gen", "gen t/s", "ttft ms", "ovh ms", "wall s",
        "done/error")
    print(hdr)
    print("-" * len(hdr))
    for r in results:
        if r.get("error"):
            print("%6d %s" % (r["client"], "error: " + str(r["error"])))
            continue
        print("%6d %8d %10.1f %9d %9.2f %10.1f %10.1f %9.2f  %s" % (
            r["client"], r["prompt_eval_count"], r["prompt_tps"], r["eval_count"],
            r["eval_tps"], r["ttft_s"] * 1e3, r["ttft_overhead_ms"], r["wall_s"],
            r.get("done_reason", "")))
    print("-" * len(hdr))
    mem = meta.get("server_memory")
    if mem:
        print("server resident memory: VmRSS %.1f MB, peak VmHWM %.1f MB" % (
            mem.get("vmrss_kb", 0) / 1024, mem.get("vmhwm_kb", 0) / 1024))
    if not summary.get("ok"):
        print("no client succeeded")
        return
    print("generated %d tokens in %.2f s wall" % (summary["generated_tokens"], summary["wall_s"]))
    print("aggregate: %.2f t/s over wall time; %.2f t/s while all %d stream (%.2f s)" % (
        summary["aggregate_wall_tps"], summary["aggregate_decode_tps"], summary["ok"],
        summary["all_streaming_s"]))
    print("per-client eval rate (eval_count/eval_duration): sum %.2f, mean %.2f t/s" % (
        summary["sum_eval_tps"], summary["mean_eval_tps"]))
    print("time to first token: min %.1f / median %.1f / max %.1f ms "
          "(min overhead beyond load+prefill %.1f ms)" % (
              summary["ttft_min_ms"], summary["ttft_median_ms"], summary["ttft_max_ms"],
              summary["ttft_overhead_min_ms"]))


# ---------------------------------------------------------------------------------------------
# --spawn: a private server with a temporary store.

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def file_digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


class Spawned:
    def __init__(self, binary, extra_env):
        self.tmp = tempfile.mkdtemp(prefix="bench-server-")
        self.port = free_port()
        env = dict(os.environ)
        env.update(extra_env)
        env.update(HOME=os.path.join(self.tmp, "home"),
                   OLLAMA_MODELS=os.path.join(self.tmp, "models"),
                   OLLAMA_HOST="127.0.0.1:%d" % self.port)
        os.makedirs(env["HOME"])
        self.log_path = os.path.join(self.tmp, "serve.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([binary, "serve"], env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.api = Api("127.0.0.1", self.port)
        deadline = time.time() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited (%d): %s" % (self.proc.returncode, self.tail()))
            try:
                if self.api.request("GET", "/api/version")[0] == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError("server did not start in 30 s: " + self.tail())
            time.sleep(0.05)

    def tail(self, n=2000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def create_from_gguf(self, name, gguf):
        digest = file_digest(gguf)
        status, _ = self.api.request("HEAD", "/api/blobs/" + digest)
        if status != 200:
            size = os.path.getsize(gguf)
            with open(gguf, "rb") as f:
                status, data = self.api.request("POST", "/api/blobs/" + digest, body=f,
                                                headers={"Content-Length": str(size)})
            if status not in (200, 201):
                raise RuntimeError("blob upload: HTTP %d: %s" % (status, data[:300]))
        self.api.json("POST", "/api/create", {"model": name, "stream": False,
                                               "files": {os.path.basename(gguf): digest}})

    def memory(self):
        """VmRSS / VmHWM of the server process in kB (Linux), or {}."""
        out = {}
        try:
            with open("/proc/%d/status" % self.proc.pid) as f:
                for line in f:
                    k = line.split(":")[0]
                    if k in ("VmRSS", "VmHWM"):
                        out[k.lower() + "_kb"] = int(line.split()[1])
        except (OSError, ValueError):
            pass
        return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default=os.environ.get("OLLAMA_HOST") or "127.0.0.1:11434",
                    help="server address (default OLLAMA_HOST or 127.0.0.1:11434)")
    ap.add_argument("--model", help="model name (default: bench-model with --spawn)")
    ap.add_argument("--clients", type=int, default=8, help="concurrent requests (default 8)")
    ap.add_argument("--num-predict", type=int, default=128, help="tokens to generate each")
    ap.add_argument("--prompt", default=DEFAULT_PROMPT)
    ap.add_argument("--raw", action="store_true", help="send the prompt without the template")
    ap.add_argument("--seed", type=int, default=42, help="client i uses seed+i")
    ap.add_argument("--num-ctx", type=int, default=0, help="options.num_ctx (default: server's)")
    ap.add_argument("--num-thread", type=int, default=0, help="options.num_thread")
    ap.add_argument("--keep-alive", default="5m")
    ap.add_argument("--no-warmup", action="store_true",
                    help="skip the load request before the timed run")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--spawn", metavar="BIN", help="start `BIN serve` on a free port first")
    ap.add_argument("--gguf", help="with --spawn: create the model from this GGUF file")
    ap.add_argument("--num-parallel", type=int, default=0,
                    help="with --spawn: OLLAMA_NUM_PARALLEL (default: env, else --clients)")
    args = ap.parse_args()
    if args.clients < 1:
        ap.error("--clients must be >= 1")

    spawned = None
    try:
        if args.spawn:
            if not args.gguf and not args.model:
                ap.error("--spawn needs --gguf (or --model already in OLLAMA_MODELS)")
            extra = {"OLLAMA_NUM_PARALLEL": str(args.num_parallel or
                                                os.environ.get("OLLAMA_NUM_PARALLEL") or
                                                args.clients)}
            spawned = Spawned(args.spawn, extra)
            api = spawned.api
            args.model = args.model or "bench-model"
            if args.gguf:
                t = time.perf_counter()
                spawned.create_from_gguf(args.model, args.gguf)
                if not args.json:
                    print("created %s from %s in %.1f s" %
                          (args.model, args.gguf, time.perf_counter() - t))
            host_desc = "spawned %s on 127.0.0.1:%d (OLLAMA_NUM_PARALLEL=%s)" % (
                args.spawn, spawned.port, extra["OLLAMA_NUM_PARALLEL"])
        else:
            if not args.model:
                ap.error("--model is required without --spawn")
            host, port = parse_host(args.host)
            api = Api(host, port)
            host_desc = "%s:%d" % (host, port)

        meta = {"host": host_desc, "model": args.model, "num_predict": args.num_predict,
                "prompt": args.prompt, "raw": args.raw, "load_s": None}
        if not args.no_warmup:
            body = {"model": args.model, "keep_alive": args.keep_alive}
            opts = {}
            if args.num_ctx:
                opts["num_ctx"] = args.num_ctx
            if args.num_thread:
                opts["num_thread"] = args.num_thread
            if opts:
                body["options"] = opts
            t = time.perf_counter()
            api.json("POST", "/api/generate", body)
            meta["load_s"] = time.perf_counter() - t
        results = run_load(api, args)
        summary = summarize(results)
        if spawned:
            meta["server_memory"] = spawned.memory()
        if args.json:
            clean = [{k: v for k, v in r.items() if k not in ("t_start", "t_end", "chunk_times")}
                     for r in results]
            print(json.dumps({"meta": meta, "summary": summary, "clients": clean}, indent=1))
        else:
            print_table(meta, results, summary)
        return 0 if summary.get("errors") == 0 else 1
    except (RuntimeError, OSError) as e:
        print("error: %s" % e, file=sys.stderr)
        if spawned:
            print("server log tail:\n" + spawned.tail(), file=sys.stderr)
        return 1
    finally:
        if spawned:
            spawned.stop()


if __name__ == "__main__":
    sys.exit(main())
