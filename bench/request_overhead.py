#!/usr/bin/env python3
"""What the serving path costs over the engine alone, per request and per token.

Starts the real `ollama serve` (temporary store), creates a model from a GGUF (stories260K by
default: its engine time is tiny, so what is left is the server's), then sends sequential
streaming requests and compares, per request:

  time to first token at the client  -  the engine's prompt evaluation (prompt_eval_duration)
  time to the last byte at the client - the engine's prompt evaluation and generation

The first difference is the request path (HTTP, JSON, model lookup, template, tokenizing,
scheduling, the hops to the connection); the second adds what the per-token path (parsing,
chunk JSON, thread hand-offs, writes) did not hide behind the engine. Medians over --requests, for /api/generate and
/v1/chat/completions. Not part of CI; run it before and after a change to the serving path.

  python3 bench/request_overhead.py [--model GGUF] [--requests 200] [--tokens 32]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
from ollama_e2e import ServerProcess, stories260k_path  # noqa: E402


def curl_times(server, method, path, body=None):
    """(time to the first byte, time to the last) of one request, in seconds, as curl measures
    them (a C client: this script's own overhead stays out). A streamed answer's headers go
    out with its first chunk, so the first byte is the first token."""
    cmd = ["curl", "-s", "-o", "/dev/null", "-w", "%{time_starttransfer} %{time_total}",
           "-X", method, "http://%s:%d%s" % (server.host, server.port, path)]
    if body is not None:
        cmd += ["-H", "Content-Type: application/json", "--data-binary", json.dumps(body)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1])


def http_floor(server, n=50):
    """Median time to the first byte of GET /api/version: HTTP's own cost."""
    return statistics.median(curl_times(server, "GET", "/api/version")[0] for _ in range(n))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=None, help="GGUF file (default: stories260K)")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--tokens", type=int, default=32, help="tokens generated per request")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    a = ap.parse_args()
    gguf = a.model or stories260k_path()
    server = ServerProcess.start(extra_env={"OLLAMA_KEEP_ALIVE": "-1"})
    try:
        server.create_from_file("m", gguf, template="{{ .Prompt }}")
        prompt = "Once upon a time, there was a little girl named Lily."
        gen = {"model": "m", "prompt": prompt, "raw": True,
               "options": {"num_predict": a.tokens, "temperature": 0}}
        chat = {"model": "m", "stream": True, "max_tokens": a.tokens, "temperature": 0,
                "messages": [{"role": "user", "content": prompt}]}
        server.post("/api/generate", dict(gen, stream=False))  # load
        floor = http_floor(server)
        out = {"model": os.path.basename(gguf), "requests": a.requests, "tokens": a.tokens,
               "http_floor_ms": floor * 1e3}
        for name, path, body in (("generate", "/api/generate", gen),
                                 ("openai_chat", "/v1/chat/completions", chat)):
            ttft, totals = [], []
            for _ in range(a.requests):
                first, total = curl_times(server, "POST", path, body)
                ttft.append(first)
                totals.append(total)
            # The engine's own times, from the native final object of the same request shape.
            prompt_eval, engine_total = [], []
            for _ in range(max(20, a.requests // 10)):
                f = server.post("/api/generate", dict(gen, stream=False)).json()
                prompt_eval.append(f.get("prompt_eval_duration", 0) / 1e9)
                engine_total.append((f.get("prompt_eval_duration", 0) + f.get("eval_duration", 0))
                                    / 1e9)
            r = {
                "ttft_ms": statistics.median(ttft) * 1e3,
                "engine_prompt_ms": statistics.median(prompt_eval) * 1e3,
                "total_ms": statistics.median(totals) * 1e3,
                "engine_total_ms": statistics.median(engine_total) * 1e3,
            }
            # Over the engine and over a trivial request of the same client.
            r["request_overhead_ms"] = r["ttft_ms"] - r["engine_prompt_ms"] - floor * 1e3
            r["total_overhead_ms"] = r["total_ms"] - r["engine_total_ms"]
            out[name] = r
        if a.json:
            print(json.dumps(out))
        else:
            print("model %s, %d requests x %d tokens, sequential (curl); HTTP floor (GET "
                  "/api/version) %.3f ms, subtracted from the overhead" %
                  (out["model"], a.requests, a.tokens, out["http_floor_ms"]))
            print("%-12s %8s %10s %12s %9s %10s %12s" % (
                "route", "ttft ms", "engine ms", "overhead ms", "total ms", "engine ms",
                "overhead ms"))
            for name in ("generate", "openai_chat"):
                r = out[name]
                print("%-12s %8.3f %10.3f %12.3f %9.3f %10.3f %12.3f" % (
                    name, r["ttft_ms"], r["engine_prompt_ms"], r["request_overhead_ms"],
                    r["total_ms"], r["engine_total_ms"], r["total_overhead_ms"]))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
