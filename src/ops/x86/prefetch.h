// Software prefetch of the weight stream. Decode reads every weight once from DRAM; the
// hardware prefetcher stops at each 4 KiB page (model files are mapped with 4 KiB pages) and
// the cores then stall on every new page. Asking for the lines kPrefetchAhead bytes ahead,
// into L2 (T1: the L1 stays for the activations), lifted 1-token decode by 13-45 % per type
// (F16 7.5 -> 8.5, Q8_0 13.4 -> 17.0, Q4_0 17.3 -> 24.7, Q4_K_M 17.0 -> 22.4 t/s). Prefetches never
// fault, so running past the end of a row is harmless. The AVX-512 kernels on rows packed by
// 16 (2 MiB pages) prefetch only for batches of 2 tokens or more (x16_avx512.h).
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace ops::x86 {
namespace {

inline constexpr int kPrefetchAhead = 4096;

// Tile calls with at most this many tokens (batched decode) still stream the weights from
// DRAM, so their multi-token passes prefetch too; prompt-sized batches do not (it cost them
// ~10 % in the 8-token K-quant tiles).
inline constexpr int kPrefetchMaxTokens = 16;

// Prefetches the kBytes of weights that start kAheadTimes * kPrefetchAhead bytes after p.
// Kernels that walk several rows at once (R interleaved streams) look further ahead: tuned on
// the 1B-shaped models, 4 KiB for one stream and 8 KiB per stream for 4-row tiles were best
// (1-8 KiB and hints T0/T1 tried).
template <int kBytes, int kAheadTimes = 1>
inline void prefetch_weights(const void* p) {
  // Integer arithmetic: the address may lie past the end of the buffer (a prefetch never
  // faults, but a pointer formed there would be undefined).
  const char* q =
      reinterpret_cast<const char*>(reinterpret_cast<uintptr_t>(p) + kAheadTimes * kPrefetchAhead);
#pragma GCC unroll 16
  for (int l = 0; l < kBytes; l += 64) _mm_prefetch(q + l, _MM_HINT_T1);
}

}  // namespace
}  // namespace ops::x86
