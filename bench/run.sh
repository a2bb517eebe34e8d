#!/usr/bin/env bash
# Runs the measurements behind bench/RESULTS.md: engine-bench on the four Llama-3.2-1B-shaped
# models (warm-up run for load time and resident memory, then the full run with 8 parallel
# sequences), then the 8-client server load test. Raw outputs go to OUT_DIR.
#
#   bench/run.sh [BUILD_DIR] [MODELS_DIR] [OUT_DIR]
#
# MODELS_DIR holds llama32-1b-shape-{f16,q8_0,q4_0,q4_k_m}.gguf (see bench/RESULTS.md).
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
models=${2:-$here/../bench-models}
out=${3:-$here/bench/out}
threads=${BENCH_THREADS:-2}
mkdir -p "$out"

stamp() { echo "$(date -u +%H:%M:%S) $(cut -d' ' -f1-3 /proc/loadavg)"; }

{
  echo "date: $(date -u)"
  echo "host: $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
  echo "revision: ${BENCH_REV:-$(git -C "$here" rev-parse HEAD)} (BENCH_REV, else this checkout)"
} > "$out/machine.txt"

for t in ${BENCH_TYPES:-f16 q8_0 q4_0 q4_k_m}; do
  f=$models/llama32-1b-shape-$t.gguf
  cat "$f" > /dev/null  # page cache warm: the load times below are warm-cache loads
  echo "$t warm start $(stamp)" >> "$out/load.txt"
  # Run 1: no bandwidth buffer and no parallel contexts, so its peak RSS is the model's own
  # (mapped weights + KV cache + scratch); also a second warm-cache load time.
  /usr/bin/time -v "$build/engine-bench" "$f" -p 512 -n 32 -t "$threads" --no-bw --json \
    > "$out/$t.warm.json" 2> "$out/$t.warm.time"
  echo "$t full start $(stamp)" >> "$out/load.txt"
  # Run 2: the numbers: pp512, tg128, bandwidth roofline, 8 sequences decoding together.
  /usr/bin/time -v "$build/engine-bench" "$f" -p 512 -n 128 -t "$threads" --parallel 8 --json \
    > "$out/$t.json" 2> "$out/$t.time"
  echo "$t end $(stamp)" >> "$out/load.txt"
  cat "$out/$t.json"
done

if [ -z "${BENCH_NO_SERVER:-}" ]; then
  f=$models/llama32-1b-shape-q4_k_m.gguf
  for n in 8 1; do
    echo "server clients=$n start $(stamp)" >> "$out/load.txt"
    OLLAMA_NUM_PARALLEL=8 OLLAMA_NUM_THREADS=$threads python3 "$here/scripts/bench-server.py" \
      --spawn "$build/ollama" --gguf "$f" --clients "$n" --num-predict 128 --json \
      > "$out/server$n.json"
    echo "server clients=$n end $(stamp)" >> "$out/load.txt"
  done
fi
cat "$out/load.txt"
