#!/usr/bin/env bash
# The MoE benchmark behind bench/RESULTS.md's gpt-oss section: a random gpt-oss model with
# gpt-oss-20b's shapes (24 layers, 2880 wide, 64 heads / 8 KV heads of 64, expert FFN 2880,
# top-4 routing; BENCH_EXPERTS experts, 16 by default to save disk: the bytes a decode step
# reads are the same as with 32) in MXFP4_MOE, then engine-bench (pp512, tg, roofline from
# the bytes actually read per token, 8 sequences) and, when LLAMA_BENCH points at llama.cpp's
# llama-bench, llama.cpp on the same file, alternating runs.
#
#   bench/moe.sh [BUILD_DIR] [MODELS_DIR] [OUT_DIR]
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
models=${2:-$here/../bench-models}
out=${3:-$here/bench/out-moe}
threads=${BENCH_THREADS:-2}
experts=${BENCH_EXPERTS:-16}
passes=${BENCH_PASSES:-2}
mkdir -p "$models" "$out"
f16=$models/gptoss20b-shape-x$experts-f16.gguf
m=$models/gptoss20b-shape-x$experts-mxfp4_moe.gguf

if [ ! -f "$m" ]; then
  [ -f "$f16" ] || python3 "$here/../shared/tools/make_tiny_gguf.py" --arch gpt-oss \
    --vocab "$here/../shared/testdata/vocab/ggml-vocab-llama-bpe.gguf" --out "$f16" \
    --name "gptoss-20b-shape-x$experts" --seed 7 --n-embd 2880 --n-layer 24 --n-head 64 \
    --n-head-kv 8 --head-dim 64 --n-ff 2880 --n-ctx 131072 --rope-base 150000 \
    --rope-scaling yarn --rope-scaling-factor 32 --rope-scaling-orig-ctx 4096 --rms-eps 1e-5 \
    --swa 128 --n-expert "$experts" --n-expert-used 4 --no-tie --dtype f16 --fill tiled
  # Our quantizer writes the same bytes as llama-quantize's MXFP4_MOE (tests/create).
  "$build/engine-quantize" "$f16" "$m" MXFP4_MOE -t "$threads"
fi

{
  echo "date: $(date -u)"
  echo "host: $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)," \
    "flags: $(grep -m1 -o -w 'avx2\|avx512f\|avx512_vnni\|amx_tile' /proc/cpuinfo | sort -u | tr '\n' ' ')"
  echo "revision: $(git -C "$here" rev-parse HEAD)"
} > "$out/machine.txt"

cat "$m" > /dev/null  # page cache warm
for p in $(seq "$passes"); do
  "$build/engine-bench" "$m" -p 512 -n 64 -t "$threads" --parallel 8 --json > "$out/ours.$p.json"
  cat "$out/ours.$p.json"
  if [ -n "${LLAMA_BENCH:-}" ]; then
    "$LLAMA_BENCH" -m "$m" -t "$threads" -p 512 -n 64 -r 2 -o json > "$out/llama.$p.json"
    python3 -c 'import json,sys; [print(r["n_prompt"], r["n_gen"], round(r["avg_ts"], 2)) for r in json.load(open(sys.argv[1]))]' "$out/llama.$p.json"
  fi
done
