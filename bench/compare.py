#!/usr/bin/env python3
"""Our engine against llama.cpp on the same files in one run: for each pass and each model,
engine-bench then llama-bench (alternating, so a burst of other load on a shared machine hits
both sides alike), best of the passes per measure, and a markdown table of the ratios.

The roofline is the larger of two measured bandwidths: engine-bench's read loop (each pass)
and llama.cpp's F16 decode (tokens/s x the bytes a token reads), divided by the bytes one
decoded token reads from each model.

    bench/compare.py MODEL.gguf... [--llama-bench PATH] [--passes N] [--threads N]
                     [--build DIR] [-p 512] [-n 64] [--isa avx2]

--llama-bench defaults to what bench/reference/build.sh prints (it builds llama.cpp 0.5.0
once into a cache). --isa avx2 runs our engine with OLLAMA_CPU_ISA=avx2 (compare with
LLAMA_ISA=avx2 bench/reference/build.sh). Not part of CI.
"""

import argparse
import json
import os
import re
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))


def run_json(cmd, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), r.stderr[-2000:]))
    return json.loads(r.stdout[r.stdout.index("{") if cmd[0].endswith("engine-bench") else
                              r.stdout.index("["):])


def cpu():
    with open("/proc/cpuinfo") as f:
        info = f.read()
    name = re.search(r"model name\s*:\s*(.*)", info).group(1).strip()
    flags = set(re.search(r"flags\s*:\s*(.*)", info).group(1).split())
    tier = ("amx" if "amx_int8" in flags else "avx512-vnni" if "avx512_vnni" in flags
            else "avx512" if "avx512f" in flags else "avx2" if "avx2" in flags else "scalar")
    return name, tier


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="+")
    ap.add_argument("--llama-bench")
    ap.add_argument("--build", default=os.path.join(here, "..", "build"))
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("-p", type=int, default=512)
    ap.add_argument("-n", type=int, default=64)
    ap.add_argument("--parallel", type=int, default=8)
    ap.add_argument("--isa", default="")
    a = ap.parse_args()
    lb = a.llama_bench or subprocess.run(
        [os.path.join(here, "reference", "build.sh")], capture_output=True, text=True,
        check=True, env=dict(os.environ, LLAMA_ISA="avx2" if a.isa == "avx2" else "native")
    ).stdout.strip()
    eb = os.path.join(a.build, "engine-bench")
    env = dict(os.environ)
    if a.isa:
        env["OLLAMA_CPU_ISA"] = a.isa
    best = {}  # model -> measure -> best value

    def keep(m, k, v):
        best.setdefault(m, {})
        best[m][k] = max(best[m].get(k, 0.0), v)

    for p in range(a.passes):
        for m in a.models:
            with open(m, "rb") as f:  # page cache warm
                while f.read(1 << 24):
                    pass
            o = run_json([eb, m, "-p", str(a.p), "-n", str(a.n), "-t", str(a.threads),
                          "--parallel", str(a.parallel), "--json"], env)
            keep(m, "pp", o["prefill_tps"])
            keep(m, "tg", o["decode_tps"])
            keep(m, "par", o.get("parallel_decode_tps", 0.0))
            keep(m, "bw", o["bandwidth_gbs"] * 1e9)
            best[m]["active"] = o["active_bytes"]
            best[m]["isa"] = o.get("isa", a.isa or "auto")
            for r in run_json([lb, "-m", m, "-t", str(a.threads), "-p", str(a.p), "-n", str(a.n),
                               "-r", "1", "-o", "json"]):
                keep(m, "lpp" if r["n_prompt"] else "ltg", r["avg_ts"])
                best[m]["lsize"] = r["model_size"]
            print("pass %d %s: ours pp %.1f tg %.2f | llama.cpp pp %.1f tg %.2f" % (
                p + 1, os.path.basename(m), o["prefill_tps"], o["decode_tps"],
                best[m].get("lpp", 0), best[m].get("ltg", 0)), file=sys.stderr)

    print(json.dumps(best), file=sys.stderr)  # the raw bests, in case the table is not enough
    read_bw = max(v["bw"] for v in best.values())
    f16 = [m for m in a.models if "f16" in os.path.basename(m).lower()]
    llama_bw = best[f16[0]]["ltg"] * best[f16[0]]["lsize"] if f16 else 0.0
    bw = max(read_bw, llama_bw)
    name, tier = cpu()
    print("CPU: %s (tier %s; ours run as %s), %d threads, best of %d alternating passes" % (
        name, tier, a.isa or tier, a.threads, a.passes))
    print("bandwidth: read loop %.1f GB/s, llama.cpp F16 decode %.1f GB/s -> roofline from %.1f"
          " GB/s\n" % (read_bw / 1e9, llama_bw / 1e9, bw / 1e9))
    print("| model | ours pp%d | llama.cpp | ratio | ours tg%d | llama.cpp | ratio | roofline |"
          " ours %% | llama.cpp %% | %d seqs | x one |" % (a.p, a.n, a.parallel))
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for m in a.models:
        b = best[m]
        roof = bw / b["active"]
        print("| %s | %.1f | %.1f | %.2fx | %.2f | %.2f | %.2fx | %.2f | %.0f %% | %.0f %% | %.1f |"
              " %.1fx |" % (os.path.basename(m), b["pp"], b.get("lpp", 0),
                            b["pp"] / max(b.get("lpp", 0), 1e-9), b["tg"], b.get("ltg", 0),
                            b["tg"] / max(b.get("ltg", 0), 1e-9), roof, 100 * b["tg"] / roof,
                            100 * b.get("ltg", 0) / roof, b["par"], b["par"] / b["tg"]))


if __name__ == "__main__":
    main()
