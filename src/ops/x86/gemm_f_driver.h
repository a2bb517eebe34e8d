// The driver shared by the float-weight tile kernels (gemm_f_avx2.cpp, gemm_f_avx512.cpp):
// kR-row x kT-token tiles over the whole tiles when the row length is a multiple of the
// vector width kVec (prefetching weights for decode-sized batches), the vec_dot for leftover
// rows, leftover tokens and other row lengths. Internal linkage: each ISA file gets its own.
#pragma once
#include <cstddef>
#include <cstdint>

#include "ops/x86/prefetch.h"

namespace ops::x86 {
namespace {

using FloatTileFn = void (*)(int64_t n, const uint8_t* w, size_t ws, const uint8_t* act, size_t as,
                             float* y, int64_t ldy);
using DotFn = void (*)(int64_t, float*, const void*, const void*);

template <int kR, int kT, int kVec>
void float_gemm(int64_t n, int nr, int nt, const void* vw, size_t ws, const void* vact, size_t as,
                float* y, int64_t ldy, FloatTileFn tile_prefetch, FloatTileFn tile, DotFn dot) {
  const auto* w = static_cast<const uint8_t*>(vw);
  const auto* act = static_cast<const uint8_t*>(vact);
  const FloatTileFn f = nt <= kPrefetchMaxTokens ? tile_prefetch : tile;
  int t0 = 0;
  if (n % kVec == 0) {
    for (; t0 + kT <= nt; t0 += kT) {
      int r0 = 0;
      for (; r0 + kR <= nr; r0 += kR)
        f(n, w + r0 * ws, ws, act + t0 * as, as, y + t0 * ldy + r0, ldy);
      for (int r = r0; r < nr; r++) {
        for (int t = t0; t < t0 + kT; t++) dot(n, &y[t * ldy + r], w + r * ws, act + t * as);
      }
    }
  }
  for (int t = t0; t < nt; t++) {
    for (int r = 0; r < nr; r++) dot(n, &y[t * ldy + r], w + r * ws, act + t * as);
  }
}

}  // namespace
}  // namespace ops::x86
