#!/usr/bin/env bash
# Run on the device machine (bench/gpu/prepare.sh first; RESULTS.md has the numbers): makes
# random-weight models of Llama-3.2-1B shapes (F16, Q8_0, Q4_K_M) and of Llama-3.1-8B layer
# shapes (Q4_K_M; GPU_8B_LAYERS of the 32 layers, 8 by default: per-layer work is what the
# kernels see, and the file stays small enough to make in the time a lease has), then runs
# engine-bench --gpu on each: prefill and decode tokens/s, and decode as a share of the
# device-copy roofline measured in the same run; and a gpt-oss-20b-shaped MoE (MXFP4_MOE,
# GPU_MOE_LAYERS layers, 2 by default), also with 8 sequences. JSON lines and a log go to $OUT.
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
  MOE="--n-embd 256 --n-layer 2 --n-head 8 --n-head-kv 4 --head-dim 32 --n-ff 256 --n-expert 8"
  P=32 N=8
else
  ONE="--n-embd 2048 --n-layer 16 --n-head 32 --n-head-kv 8 --n-ff 8192"
  EIGHT="--n-embd 4096 --n-layer ${GPU_8B_LAYERS:-8} --n-head 32 --n-head-kv 8 --n-ff 14336"
  # gpt-oss-20b's layer shapes, GPU_MOE_LAYERS of its 24 layers, 16 of its 32 experts (a
  # decode step reads the same bytes: 4 experts per token)
  MOE="--n-embd 2880 --n-layer ${GPU_MOE_LAYERS:-2} --n-head 64 --n-head-kv 8 --head-dim 64
       --n-ff 2880 --n-expert 16"
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
if [ ! -f "$M/moe-MXFP4_MOE.gguf" ]; then
  python3 "$G/tools/make_tiny_gguf.py" --arch gpt-oss --vocab "$G/tools/ggml-vocab-llama-bpe.gguf" \
    --fill tiled --dtype f16 --n-ctx 8192 --rope-base 150000 --swa 128 --n-expert-used 4 \
    --no-tie $MOE --seed 2026 --name gptoss-20b-layer-shapes --out "$M/moe-f16.gguf"
  ours "$G/bin/engine-quantize" "$M/moe-f16.gguf" "$M/moe-MXFP4_MOE.gguf" MXFP4_MOE >/dev/null
  rm -f "$M/moe-f16.gguf"
fi
ls -la "$M"
# The MoE model also decodes 8 sequences at once: each step routes on the device.
for f in 1b-Q4_K_M 1b-Q8_0 1b-f16 8b-Q4_K_M moe-MXFP4_MOE; do
  step "engine-bench --gpu $f"
  extra=""
  [ "$f" = moe-MXFP4_MOE ] && extra="--parallel 8"
  timeout 240 env LD_LIBRARY_PATH="$G/lib" "$G/bin/engine-bench" "$M/$f.gguf" -p "$P" -n "$N" -t 8 --gpu --json $extra |
    tee -a "$OUT/results.jsonl"
done
step "done"
