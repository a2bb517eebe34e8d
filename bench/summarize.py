#!/usr/bin/env python3
"""Markdown tables for bench/RESULTS.md from the raw outputs of bench/run.sh.

    bench/summarize.py [OUT_DIR]
"""
import json
import os
import re
import sys

# docs/performance.md: llama.cpp 0.5.0, llama-bench -t 2 -p 512 -n 128 on this machine kind.
REFERENCE = {  # type: (weight GB, pp512 t/s, tg128 t/s, % of roofline at 32 GB/s)
    "f16": (2.472, 100.2, 10.32, 80),
    "q8_0": (1.313, 102.4, 11.88, 49),
    "q4_0": (0.763, 125.5, 14.53, 35),
    "q4_k_m": (0.800, 128.9, 20.25, 51),
}
NAMES = {"f16": "F16", "q8_0": "Q8_0", "q4_0": "Q4_0", "q4_k_m": "Q4_K_M"}


def load_json(path):
    with open(path) as f:
        return json.loads(f.read().strip().splitlines()[-1])


def max_rss_kb(path):
    with open(path) as f:
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", f.read())
    return int(m.group(1)) if m else 0


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "out")
    rows, extra = [], []
    for t in REFERENCE:
        p = os.path.join(out, t + ".json")
        if not os.path.exists(p):
            continue
        r = load_json(p)
        w = load_json(os.path.join(out, t + ".warm.json"))
        ref_gb, ref_pp, ref_tg, ref_pct = REFERENCE[t]
        gb = r["weight_bytes"] / 1e9
        rows.append("| %s | %.3f GB | %.1f | **%.1f** (%.2fx) | %.2f | **%.2f** (%.2fx) | "
                    "%.1f GB/s -> %.1f t/s | **%.0f %%** (llama.cpp %d %%) |" % (
                        NAMES[t], gb, ref_pp, r["prefill_tps"], r["prefill_tps"] / ref_pp,
                        ref_tg, r["decode_tps"], r["decode_tps"] / ref_tg, r["bandwidth_gbs"],
                        r["roofline_tps"], 100 * r["decode_roofline"], ref_pct))
        rss = max_rss_kb(os.path.join(out, t + ".warm.time")) / 1024
        par = r.get("parallel_decode_tps", 0)
        extra.append("| %s | %.2f | %.2f (%.1fx) | %.3f s / %.3f s | %.0f MB | %.0f MB |" % (
            NAMES[t], r["decode_tps"], par, par / r["decode_tps"] if r["decode_tps"] else 0,
            w["load_s"], r["load_s"], rss, rss - r["weight_bytes"] / 2**20))
    print("| weights | weight bytes | llama.cpp pp512 | ours pp512 t/s (ratio) | llama.cpp tg128 "
          "| ours tg128 t/s (ratio) | measured bandwidth -> roofline | decode % of roofline |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    print()
    print("| weights | 1 sequence tg t/s | 8 sequences aggregate t/s (x 1-seq) "
          "| load (warm cache), run 1 / run 2 | peak RSS (run 1) | RSS - weights |")
    print("|---|---:|---:|---:|---:|---:|")
    print("\n".join(extra))
    for n in (8, 1):
        p = os.path.join(out, "server%d.json" % n)
        if not os.path.exists(p):
            continue
        with open(p) as f:
            j = json.load(f)
        s, m = j["summary"], j["meta"]
        print()
        print("server, %d client(s): %d/%d ok, %d tokens in %.2f s; aggregate %.2f t/s over wall, "
              "%.2f t/s while all stream (%.1f s); per-client eval t/s mean %.2f; TTFT min/median/max "
              "%.0f/%.0f/%.0f ms; TTFT beyond load+prefill min %.1f ms; warm-up load %.3f s; "
              "server VmHWM %.0f MB" % (
                  n, s["ok"], s["clients"], s.get("generated_tokens", 0), s.get("wall_s", 0),
                  s.get("aggregate_wall_tps", 0), s.get("aggregate_decode_tps", 0), s.get("all_streaming_s", 0),
                  s.get("mean_eval_tps", 0), s.get("ttft_min_ms", 0), s.get("ttft_median_ms", 0),
                  s.get("ttft_max_ms", 0), s.get("ttft_overhead_min_ms", 0), m.get("load_s") or 0,
                  m.get("server_memory", {}).get("vmhwm_kb", 0) / 1024))
    p = os.path.join(out, "load.txt")
    if os.path.exists(p):
        print("\nmachine load (UTC time, 1/5/15-min load average) at each step:\n")
        with open(p) as f:
            for line in f:
                print("    " + line.rstrip())


if __name__ == "__main__":
    main()
