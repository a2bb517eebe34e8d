#!/usr/bin/env python3
"""What constrained decoding costs per generated token: the same model and prompt through
/api/generate with and without a JSON schema `format`, alternating runs, best of N of the
per-token decode time (eval_duration / eval_count). A random-weight model's favourite token is
almost never valid JSON, so nearly every step is the slow path (mask the vocabulary, draw
again): the worst case for the constraint. The first constrained request is reported on its
own (cold: the matcher learns its states and masks then).

    bench/format_overhead.py MODEL.gguf [--runs N] [--tokens N] [--threads N]
"""

import argparse
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "e2e"))
from ollama_e2e import ServerProcess  # noqa: E402

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 24},
        "age": {"type": "integer", "minimum": 0, "maximum": 120},
        "mood": {"enum": ["happy", "sad", "sleepy"]},
        "brave": {"type": "boolean"},
        "friends": {"type": "array", "items": {"type": "string", "maxLength": 12},
                    "maxItems": 4},
    },
    "required": ["name", "age", "mood", "brave", "friends"],
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    server = ServerProcess.start()
    try:
        server.create_from_file("bench", a.model)

        def run(fmt, temperature, seed):
            body = {"model": "bench", "prompt": "Once upon a time", "stream": False,
                    "options": {"temperature": temperature, "seed": seed,
                                "num_predict": a.tokens, "num_thread": a.threads}}
            if fmt is not None:
                body["format"] = fmt
            r = server.post("/api/generate", body, timeout=600)
            assert r.status == 200, r.text
            j = r.json()
            return j["eval_duration"] / 1e6 / max(1, j["eval_count"]), j["eval_count"], j

        run(None, 0, 1)  # load + warm
        for temperature in (0, 0.8):
            cold, n_cold, _ = run(SCHEMA, temperature, 100)
            plain, constrained = [], []
            counts = []
            for i in range(a.runs):
                plain.append(run(None, temperature, 10 + i)[0])
                ms, n, j = run(SCHEMA, temperature, 10 + i)
                constrained.append(ms)
                counts.append(n)
            p, c = min(plain), min(constrained)
            print("temperature %.1f: plain %.2f ms/token, constrained %.2f ms/token "
                  "(%+.1f %%; %s tokens per answer), first constrained request %.2f ms/token "
                  "over %d tokens" % (temperature, p, c, 100 * (c - p) / p,
                                      "/".join(map(str, counts)), cold, n_cold))
            print("  sample answer:", j["response"][:160].replace("\n", " "))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
