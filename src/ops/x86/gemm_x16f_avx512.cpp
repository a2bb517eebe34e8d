// AVX-512 kernels for F16 and BF16 rows packed by 16 at load (Kernels::pack8 with pack_rows
// 16). The plain-row dot read 64 bytes of float activations for every 64 bytes of weights and
// ended each row with a horizontal sum: F16 decode on Zen 4 ran at 0.73x llama.cpp. Packed, the
// 16 rows of a group sit in the lanes of a zmm: one element of all 16 rows is 32 bytes, widened
// to floats and multiplied by one broadcast activation, so activations cost 4 bytes per 32 bytes
// of weights and no row is reduced.
//
// F16 decode, Zen 4, 2 threads: 15.0 -> 19.8 t/s (no software prefetch for one token, a
// prefetch ahead into L2 for more: see gemm_x16_avx512.cpp).
//
// Packed layout: for each group of 16 rows (groups in order), element e of the 16 rows as 16
// consecutive 16-bit values at byte 32e of the group (the same bytes as the 16 plain rows).
#include <algorithm>

#include "ops/x86/x16_avx512.h"
#include "ops/x86/x86_kernels.h"

namespace ops::avx512 {
using namespace ops::x86;

namespace {

constexpr int kRows = kRows16;
constexpr int kMaxT = 8;  // tokens per pass over a group

struct F16 {
  static __m512 load(const uint8_t* p) { return _mm512_cvtph_ps(load256(p)); }
};
struct BF16 {
  static __m512 load(const uint8_t* p) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(load256(p)), 16));
  }
};

// y[t * ldy + r] for the 16 rows of a packed group and T tokens (x[t]: token t's k floats).
template <class W, int T>
void group_tokens(int64_t k, const uint8_t* g, const float* const* x, float* y, int64_t ldy) {
  // One token alone needs several chains to hide the FMA latency; more tokens bring their own.
  constexpr int kA = T == 1 ? 4 : (T < 4 ? 2 : 1);
  __m512 acc[T][kA];
#pragma GCC unroll 8
  for (int t = 0; t < T; t++) {
#pragma GCC unroll 4
    for (int a = 0; a < kA; a++) acc[t][a] = _mm512_setzero_ps();
  }
  int64_t e = 0;
  for (; e + 4 <= k; e += 4) {
    const uint8_t* p = g + 32 * e;
    prefetch_batch<T, 128>(p);
    __m512 w[4];
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) w[i] = W::load(p + 32 * i);
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
#pragma GCC unroll 8
      for (int t = 0; t < T; t++)
        acc[t][i % kA] = _mm512_fmadd_ps(w[i], _mm512_set1_ps(x[t][e + i]), acc[t][i % kA]);
    }
  }
  for (; e < k; e++) {
    const __m512 w = W::load(g + 32 * e);
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) acc[t][0] = _mm512_fmadd_ps(w, _mm512_set1_ps(x[t][e]), acc[t][0]);
  }
#pragma GCC unroll 8
  for (int t = 0; t < T; t++) {
    __m512 s = acc[t][0];
#pragma GCC unroll 4
    for (int a = 1; a < kA; a++) s = _mm512_add_ps(s, acc[t][a]);
    _mm512_storeu_ps(y + t * ldy, s);
  }
}

template <class W>
void gemm16(int64_t n, int nr, int nt, const void* vw, size_t ws, const void* vact, size_t as,
            float* y, int64_t ldy) {
  using GroupFn = void (*)(int64_t, const uint8_t*, const float* const*, float*, int64_t);
  static constexpr GroupFn kGroup[kMaxT + 1] = {nullptr,
                                                group_tokens<W, 1>,
                                                group_tokens<W, 2>,
                                                group_tokens<W, 3>,
                                                group_tokens<W, 4>,
                                                group_tokens<W, 5>,
                                                group_tokens<W, 6>,
                                                group_tokens<W, 7>,
                                                group_tokens<W, 8>};
  const auto* w = static_cast<const uint8_t*>(vw);
  const auto* act = static_cast<const uint8_t*>(vact);
  for (int t0 = 0; t0 < nt; t0 += kMaxT) {
    const int tn = std::min(kMaxT, nt - t0);
    const float* x[kMaxT];
    for (int t = 0; t < tn; t++) x[t] = reinterpret_cast<const float*>(act + (t0 + t) * as);
    for (int g = 0; g < nr / kRows; g++) {
      kGroup[tn](n, w + static_cast<size_t>(g) * kRows * ws, x, y + t0 * ldy + g * kRows, ldy);
    }
  }
}

}  // namespace

void pack16_16bit(const void* src, void* dst, int64_t k, int64_t n_rows) {
  const auto* s = static_cast<const uint16_t*>(src);
  auto* d = static_cast<uint16_t*>(dst);
  // Two elements of the 16 rows per step: one gather of a dword per row, then the words
  // sorted into element e of the 16 rows followed by element e + 1.
  const __m512i rows =
      _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                         _mm512_set1_epi32(static_cast<int>(k / 2)));
  alignas(64) int16_t order[32];
  for (int j = 0; j < 16; j++) {
    order[j] = static_cast<int16_t>(2 * j);
    order[16 + j] = static_cast<int16_t>(2 * j + 1);
  }
  const __m512i perm = _mm512_load_si512(order);
  for (int64_t g = 0; g < n_rows / kRows; g++) {
    const uint16_t* sg = s + g * kRows * k;
    uint16_t* dg = d + g * kRows * k;
    int64_t e = 0;
    if (k % 2 == 0) {
      for (; e + 2 <= k; e += 2) {
        const __m512i v = _mm512_i32gather_epi32(rows, sg + e, 4);
        _mm512_storeu_si512(dg + kRows * e, _mm512_permutexvar_epi16(perm, v));
      }
    }
    for (; e < k; e++) {
      for (int r = 0; r < kRows; r++) dg[kRows * e + r] = sg[r * k + e];
    }
  }
}

void unpack16_16bit(const void* group, int r, void* dst, int64_t k) {
  const auto* g = static_cast<const uint16_t*>(group);
  auto* d = static_cast<uint16_t*>(dst);
  for (int64_t e = 0; e < k; e++) d[e] = g[kRows * e + r];
}

void gemm16_f16_f32(int64_t n, int nr, int nt, const void* w, size_t ws, const void* act, size_t as,
                    float* y, int64_t ldy) {
  gemm16<F16>(n, nr, nt, w, ws, act, as, y, ldy);
}

void gemm16_bf16_f32(int64_t n, int nr, int nt, const void* w, size_t ws, const void* act,
                     size_t as, float* y, int64_t ldy) {
  gemm16<BF16>(n, nr, nt, w, ws, act, as, y, ldy);
}

}  // namespace ops::avx512
