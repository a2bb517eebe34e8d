// AVX2 tile kernels (Kernels::gemm) for float weights (F32, F16, BF16) with F32 activations.
// Prompt-sized batches (>= kPackTokens tokens): the rows of a call are converted to F32 once
// per kKc-long slice into panels of 16 rows stored k-major, and a 16-row x 6-token outer
// product (12 ymm accumulators; per k two weight loads and 6 broadcasts feed 12 FMAs, no
// conversion and no horizontal sum) runs over every token; F16's conversion, once per
// (row, token) in the older tile, was what bounded prefill. Smaller batches use a 4-row x
// 3-token register tile (4 converted weight vectors feed 12 FMAs); attention runs its Q K^T
// and P V products on these with an F16 KV cache. Leftover rows/tokens and one-token calls use
// the vec_dot.
#include <algorithm>
#include <vector>

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

// ---- Packed panels for prompt-sized batches ----
constexpr int kPR = 16;          // rows per panel (two ymm of one k)
constexpr int kPT = 6;           // tokens per outer-product tile
constexpr int64_t kKc = 512;     // k per slice: a 64-row chunk's panels take 128 KiB
constexpr int kPackTokens = 12;  // from here on the conversion once per slice pays

// 8 rows x 8 k of floats (rows[r] = row r's 8 values) -> out[k * kPR + r].
inline void transpose8_store(const __m256* rows, float* out) {
  __m256 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(rows[i], rows[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(rows[i], rows[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xee);
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xee);
  }
  for (int j = 0; j < 4; j++) {
    _mm256_store_ps(out + j * kPR, _mm256_permute2f128_ps(u[j], u[j + 4], 0x20));
    _mm256_store_ps(out + (j + 4) * kPR, _mm256_permute2f128_ps(u[j], u[j + 4], 0x31));
  }
}

// Rows [0, nrow) (nrow <= kPR; missing rows are zero), k in [k0, k0 + kc), into a panel.
template <class W>
void pack_panel(const uint8_t* w, size_t ws, int nrow, int64_t k0, int64_t kc, float* panel) {
  for (int h = 0; h < kPR; h += 8) {
    for (int64_t k = 0; k < kc; k += 8) {
      __m256 rows[8];
      for (int r = 0; r < 8; r++) {
        rows[r] = h + r < nrow ? W::load(w + (h + r) * ws, k0 + k) : _mm256_setzero_ps();
      }
      transpose8_store(rows, panel + k * kPR + h);
    }
  }
}

// y[t * ldy + r] (+)= sum over the slice of panel[k][r] * a[t][k], r < nrow, for T tokens.
template <int T>
void outer_tile(int64_t kc, const float* panel, const float* const* a, float* y, int64_t ldy,
                int nrow, bool add) {
  constexpr int kV = kPR / 8;
  __m256 acc[T][kV];
#pragma GCC unroll 8
  for (int t = 0; t < T; t++) {
#pragma GCC unroll 4
    for (int h = 0; h < kV; h++) acc[t][h] = _mm256_setzero_ps();
  }
  for (int64_t k = 0; k < kc; k++) {
    __m256 wv[kV];
#pragma GCC unroll 4
    for (int h = 0; h < kV; h++) wv[h] = _mm256_load_ps(panel + k * kPR + 8 * h);
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
      const __m256 av = _mm256_broadcast_ss(a[t] + k);
#pragma GCC unroll 4
      for (int h = 0; h < kV; h++) acc[t][h] = _mm256_fmadd_ps(wv[h], av, acc[t][h]);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < T; t++) {
    float* yt = y + t * ldy;
    if (nrow == kPR) {
      for (int h = 0; h < kV; h++) {
        __m256 v = acc[t][h];
        if (add) v = _mm256_add_ps(v, _mm256_loadu_ps(yt + 8 * h));
        _mm256_storeu_ps(yt + 8 * h, v);
      }
    } else {
      alignas(32) float tmp[kPR];
      for (int h = 0; h < kV; h++) _mm256_store_ps(tmp + 8 * h, acc[t][h]);
      for (int r = 0; r < nrow; r++) yt[r] = add ? yt[r] + tmp[r] : tmp[r];
    }
  }
}

using OuterFn = void (*)(int64_t, const float*, const float* const*, float*, int64_t, int, bool);
constexpr OuterFn kOuter[kPT + 1] = {nullptr,       outer_tile<1>, outer_tile<2>, outer_tile<3>,
                                     outer_tile<4>, outer_tile<5>, outer_tile<6>};

template <class W>
void gemm_packed(int64_t n, int nr, int nt, const uint8_t* w, size_t ws, const uint8_t* act,
                 size_t as, float* y, int64_t ldy) {
  thread_local std::vector<float> t_panels;
  const int np = (nr + kPR - 1) / kPR;
  const size_t panel = kKc * kPR;
  if (t_panels.size() < np * panel + 8) t_panels.resize(np * panel + 8);
  auto* panels = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(t_panels.data()) + 31) &
                                          ~uintptr_t{31});
  for (int64_t k0 = 0; k0 < n; k0 += kKc) {
    const int64_t kc = std::min(kKc, n - k0);
    for (int p = 0; p < np; p++) {
      pack_panel<W>(w + p * kPR * ws, ws, std::min(kPR, nr - p * kPR), k0, kc, panels + p * panel);
    }
    for (int t = 0; t < nt; t += kPT) {
      const int m = std::min(kPT, nt - t);
      const float* a[kPT];
      for (int i = 0; i < m; i++) a[i] = reinterpret_cast<const float*>(act + (t + i) * as) + k0;
      for (int p = 0; p < np; p++) {
        kOuter[m](kc, panels + p * panel, a, y + t * ldy + p * kPR, ldy,
                  std::min(kPR, nr - p * kPR), k0 > 0);
      }
    }
  }
}

template <class W>
void gemm(int64_t n, int nr, int nt, const void* w, size_t ws, const void* act, size_t as, float* y,
          int64_t ldy, DotFn dot) {
  if (nt >= kPackTokens && n % 8 == 0) {
    gemm_packed<W>(n, nr, nt, static_cast<const uint8_t*>(w), ws, static_cast<const uint8_t*>(act),
                   as, y, ldy);
    return;
  }
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
