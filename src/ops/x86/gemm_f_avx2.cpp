// AVX2 tile kernels (Kernels::gemm) for float weights (F32, F16, BF16) with F32 activations: a
// 4-row x 3-token register tile (12 ymm accumulators, 4 converted weight vectors), so each
// weight conversion feeds 3 FMAs and each activation load 4. Attention runs its Q K^T and P V
// products on these with an F16 KV cache (64-long dots per key, where one call per key and
// query spent more on the call and the reduction than on the FMAs). The 4 sums of a token
// reduce together (two hadds and a lane add). Leftover rows/tokens and one-token calls use
// the vec_dot.
#include "ops/x86/gemm_f_driver.h"
#include "ops/x86/prefetch.h"
#include "ops/x86/simd_avx2.h"
#include "ops/x86/x86_kernels.h"

namespace ops::avx2 {
using namespace ops::x86;

namespace {

struct F32W {
  static constexpr int kBytes = 4;
  static __m256 load(const uint8_t* w, int64_t i) {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(w) + i);
  }
};
struct F16W {
  static constexpr int kBytes = 2;
  static __m256 load(const uint8_t* w, int64_t i) {
    return _mm256_cvtph_ps(load128(reinterpret_cast<const f16_t*>(w) + i));
  }
};
struct BF16W {
  static constexpr int kBytes = 2;
  static __m256 load(const uint8_t* w, int64_t i) {
    const __m128i v = load128(reinterpret_cast<const bf16_t*>(w) + i);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(v), 16));
  }
};

constexpr int kR = 4, kT = 3;

// y[t * ldy + r] for kR rows x kT tokens; n is a multiple of 8.
template <class W, bool kPf>
void tile(int64_t n, const uint8_t* w, size_t ws, const uint8_t* act, size_t as, float* y,
          int64_t ldy) {
  __m256 acc[kT][kR];
#pragma GCC unroll 8
  for (int t = 0; t < kT; t++) {
#pragma GCC unroll 8
    for (int r = 0; r < kR; r++) acc[t][r] = _mm256_setzero_ps();
  }
  for (int64_t i = 0; i < n; i += 8) {
    __m256 wv[kR];
#pragma GCC unroll 8
    for (int r = 0; r < kR; r++) {
      if constexpr (kPf) {
        if (i % (64 / W::kBytes) == 0) prefetch_weights<64>(w + r * ws + i * W::kBytes);
      }
      wv[r] = W::load(w + r * ws, i);
    }
#pragma GCC unroll 8
    for (int t = 0; t < kT; t++) {
      const __m256 a = _mm256_loadu_ps(reinterpret_cast<const float*>(act + t * as) + i);
#pragma GCC unroll 8
      for (int r = 0; r < kR; r++) acc[t][r] = _mm256_fmadd_ps(wv[r], a, acc[t][r]);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < kT; t++) {
    // hadd pairs rows: [r0 r0 r1 r1 | ...] -> [r0 r1 r2 r3] per 128-bit half, halves added.
    const __m256 s01 = _mm256_hadd_ps(acc[t][0], acc[t][1]);
    const __m256 s23 = _mm256_hadd_ps(acc[t][2], acc[t][3]);
    const __m256 s = _mm256_hadd_ps(s01, s23);
    const __m128 sum = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    _mm_storeu_ps(y + t * ldy, sum);
  }
}

template <class W>
void gemm(int64_t n, int nr, int nt, const void* w, size_t ws, const void* act, size_t as, float* y,
          int64_t ldy, DotFn dot) {
  float_gemm<kR, kT, 8>(n, nr, nt, w, ws, act, as, y, ldy, tile<W, true>, tile<W, false>, dot);
}

}  // namespace

void gemm_f32(int64_t n, int nr, int nt, const void* w, size_t ws, const void* a, size_t as,
              float* y, int64_t ldy) {
  gemm<F32W>(n, nr, nt, w, ws, a, as, y, ldy, vec_dot_f32);
}
void gemm_f16_f32(int64_t n, int nr, int nt, const void* w, size_t ws, const void* a, size_t as,
                  float* y, int64_t ldy) {
  gemm<F16W>(n, nr, nt, w, ws, a, as, y, ldy, vec_dot_f16_f32);
}
void gemm_bf16_f32(int64_t n, int nr, int nt, const void* w, size_t ws, const void* a, size_t as,
                   float* y, int64_t ldy) {
  gemm<BF16W>(n, nr, nt, w, ws, a, as, y, ldy, vec_dot_bf16_f32);
}

}  // namespace ops::avx2
