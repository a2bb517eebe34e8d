#!/usr/bin/env bash
# Run on the device machine (bench/gpu/prepare.sh first; RESULTS.md has the numbers): makes
# random-weight models of Llama-3.2-1B shapes (F16, Q8_0, Q4_K_M) and of Llama-3.1-8B layer
# shapes (Q4_K_M; GPU_8B_LAYERS of the 32 layers, 8 by default: per-layer work is what the
# kernels see, and the file stays small enough to make in the time a lease has), then runs
# engine-bench --gpu on each: prefill and decode tokens/s, and decode as a share of the
# device-copy roofline measured in the same run. JSON lines and a log go to $OUT.
#   GPU_BENCH_SMALL=1: tiny shapes, to rehearse this script anywhere (lavapipe).
set -uo pipefail
cd "$(dirname "$0")/../.."
G=$PWD/.gpubench
OUT=${OUT:-/tmp/gpubench-out}
mkdir -p "$OUT"
exec > >(tee "$OUT/log.txt") 2>&1
if ! ldconfig -p | grep -q libvulkan.so.1; then
  for f in "$G"/deb/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
# Our binaries find their libraries in .gpubench/lib; python3 (the image's) keeps its own.
ours() { LD_LIBRARY_PATH="$G/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$@"; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || true
M=${GPU_BENCH_MODELS:-/tmp/gpubench-models}
mkdir -p "$M"
MAKE="python3 $G/tools/make_tiny_gguf.py --arch llama --vocab $G/tools/ggml-vocab-llama-bpe.gguf --fill tiled --dtype f16 --n-ctx 8192 --rope-base 500000"
if [ "${GPU_BENCH_SMALL:-0}" = 1 ]; then
  ONE="--n-embd 256 --n-layer 2 --n-head 8 --n-head-kv 4 --n-ff 512"
  EIGHT="--n-embd 512 --n-layer 2 --n-head 8 --n-head-kv 4 --n-ff 1024"
  P=32 N=8
else
  ONE="--n-embd 2048 --n-layer 16 --n-head 32 --n-head-kv 8 --n-ff 8192"
  EIGHT="--n-embd 4096 --n-layer ${GPU_8B_LAYERS:-8} --n-head 32 --n-head-kv 8 --n-ff 14336"
  P=512 N=128
fi
step() { echo "== $(date +%T) $*"; }
step "models"
[ -f "$M/1b-f16.gguf" ] || $MAKE $ONE --seed 2024 --name llama32-1b-shape --out "$M/1b-f16.gguf"
for q in Q8_0 Q4_K_M; do
  [ -f "$M/1b-$q.gguf" ] || ours "$G/bin/engine-quantize" "$M/1b-f16.gguf" "$M/1b-$q.gguf" "$q" >/dev/null
done
if [ ! -f "$M/8b-Q4_K_M.gguf" ]; then
  $MAKE $EIGHT --seed 2025 --name llama31-8b-layer-shapes --out "$M/8b-f16.gguf"
  ours "$G/bin/engine-quantize" "$M/8b-f16.gguf" "$M/8b-Q4_K_M.gguf" Q4_K_M >/dev/null
  rm -f "$M/8b-f16.gguf"
fi
ls -la "$M"
for f in 1b-Q4_K_M 1b-Q8_0 1b-f16 8b-Q4_K_M; do
  step "engine-bench --gpu $f"
  timeout 240 env LD_LIBRARY_PATH="$G/lib" "$G/bin/engine-bench" "$M/$f.gguf" -p "$P" -n "$N" -t 8 --gpu --json |
    tee -a "$OUT/results.jsonl"
done
step "done"
