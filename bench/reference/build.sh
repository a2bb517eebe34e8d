#!/usr/bin/env bash
# Builds the reference the benchmarks compare against: llama.cpp 0.5.0 (ggml 0.25.1), the
# source bundled in the npm package node-llama-cpp@3.22.1 (llama/gitRelease.bundle, a git
# bundle), CPU only, into a cache outside the checkout. Prints the path of llama-bench.
#
#   bench/reference/build.sh [CACHE_DIR]      default: ${XDG_CACHE_HOME:-~/.cache}/ollama-cpp-bench
#
# LLAMA_ISA=native (default): -DGGML_NATIVE=ON with AMX compiled out (its AMX path crashes on
# these machines, performance.md). LLAMA_ISA=avx2: AVX2/FMA/F16C only, no AVX-512, to compare
# with our OLLAMA_CPU_ISA=avx2 tier on any machine. About 5 minutes on 2 cores (AVX2 EPYC); a second
# call finds the binaries and returns at once. Not part of CI.
set -euo pipefail
cache=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/ollama-cpp-bench}
isa=${LLAMA_ISA:-native}
out=$cache/llama.cpp-$isa
if [ -x "$out/build/bin/llama-bench" ]; then
  echo "$out/build/bin/llama-bench"
  exit 0
fi
mkdir -p "$cache"
cd "$cache"
if [ ! -d src ]; then
  [ -f node-llama-cpp-3.22.1.tgz ] || npm pack node-llama-cpp@3.22.1 --silent >&2
  rm -rf package && tar xzf node-llama-cpp-3.22.1.tgz
  git clone -q package/llama/gitRelease.bundle src
fi
common=(-DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF
        -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_EXAMPLES=OFF)
no_amx="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
case "$isa" in
  native) isa_flags=(-DGGML_NATIVE=ON "-DCMAKE_C_FLAGS=$no_amx" "-DCMAKE_CXX_FLAGS=$no_amx") ;;
  avx2) isa_flags=(-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
                   -DGGML_AVX512=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF
                   -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF) ;;
  *) echo "LLAMA_ISA must be native or avx2, not $isa" >&2; exit 2 ;;
esac
cmake -S src -B "$out/build" "${common[@]}" "${isa_flags[@]}" >"$out.configure.log" 2>&1 ||
  { cat "$out.configure.log" >&2; exit 1; }
nice cmake --build "$out/build" -j"$(nproc)" --target llama-bench llama-quantize \
  >"$out.build.log" 2>&1 || { tail -40 "$out.build.log" >&2; exit 1; }
echo "$out/build/bin/llama-bench"
