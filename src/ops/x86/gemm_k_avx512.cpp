// AVX-512 VNNI tile kernels (Kernels::gemm) for the K-quants with Q8_K activations. Same
// arithmetic as the vec_dots in dot_k_avx512.cpp, but each 64-code step is unpacked once and
// multiplied with up to 4 tokens, and the weight-only scale vector is shared by those tokens
// (the activation scale dy is applied once per 256-block and token).
#include "ops/x86/prefetch.h"
#include "ops/x86/simd_avx2.h"
#include "ops/x86/x86_kernels.h"

namespace ops::avx512vnni {
using namespace ops::x86;

namespace {

constexpr int kOrAnd = 0xea;  // vpternlog: (A & B) | C

inline __m512i bcast256(const void* p) { return _mm512_broadcast_i64x4(load256(p)); }
inline __m512i halves(int64_t lo, int64_t hi) {
  return _mm512_setr_epi64(lo, lo, lo, lo, hi, hi, hi, hi);
}
inline __m512i scale_idx(int c, int per) {
  alignas(64) int32_t v[16];
  for (int l = 0; l < 16; l++) v[l] = c * per + l / (16 / per);
  return _mm512_load_si512(v);
}
inline __m512i dot64(__m512i u, const int8_t* a) {
  return _mm512_dpbusd_epi32(_mm512_setzero_si512(), u, _mm512_loadu_si512(a));
}

// Q6_K: out[t] = dot(w row, a[t] row) for T tokens.
template <int T, bool kPf = T == 1>
void q6k_rows(const BlockQ6_K* w, int64_t nb, const BlockQ8_K* const* a, float* out) {
  const __m512i m4 = _mm512_set1_epi8(0x0f), m30 = _mm512_set1_epi8(0x30);
  const __m512i sh_a = halves(4, 2), sh_b = halves(0, 2);
  const __m512i idx[4] = {scale_idx(0, 4), scale_idx(1, 4), scale_idx(2, 4), scale_idx(3, 4)};
  __m512 acc[T], accc[T];
#pragma GCC unroll 8
  for (int t = 0; t < T; t++) acc[t] = accc[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    if constexpr (kPf) prefetch_weights<sizeof(*w)>(w + b);
    const __m512 s = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(load128(w[b].scales))),
                                   _mm512_set1_ps(h2f(w[b].d)));
    __m512 sb[T][2];
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
      const __m512 bs = _mm512_cvtepi32_ps(_mm512_cvtepi16_epi32(load256(a[t][b].bsums)));
      accc[t] = _mm512_fmadd_ps(_mm512_mul_ps(s, _mm512_set1_ps(a[t][b].d)), bs, accc[t]);
      sb[t][0] = sb[t][1] = _mm512_setzero_ps();
    }
#pragma GCC unroll 8
    for (int h = 0; h < 2; h++) {
      const __m512i ql = _mm512_loadu_si512(w[b].ql + 64 * h);
      const __m512i qh = bcast256(w[b].qh + 32 * h);
      const __m512i ua = _mm512_ternarylogic_epi64(
          ql, m4, _mm512_and_si512(_mm512_sllv_epi64(qh, sh_a), m30), kOrAnd);
      const __m512i ub = _mm512_ternarylogic_epi64(
          _mm512_srli_epi16(ql, 4), m4, _mm512_and_si512(_mm512_srlv_epi64(qh, sh_b), m30), kOrAnd);
      const __m512 sa = _mm512_permutexvar_ps(idx[2 * h], s);
      const __m512 sbv = _mm512_permutexvar_ps(idx[2 * h + 1], s);
#pragma GCC unroll 8
      for (int t = 0; t < T; t++) {
        const int8_t* y = a[t][b].qs + 128 * h;
        sb[t][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot64(ua, y)), sa, sb[t][0]);
        sb[t][1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot64(ub, y + 64)), sbv, sb[t][1]);
      }
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
      acc[t] =
          _mm512_fmadd_ps(_mm512_add_ps(sb[t][0], sb[t][1]), _mm512_set1_ps(a[t][b].d), acc[t]);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < T; t++) {
    out[t] = _mm512_reduce_add_ps(acc[t]) - 32.0f * _mm512_reduce_add_ps(accc[t]);
  }
}

// Q4_K: high nibbles stay in place (16x) and the 1/16 goes into their scale lanes.
template <int T, bool kPf = T == 1>
void q4k_rows(const BlockQ4_K* w, int64_t nb, const BlockQ8_K* const* a, float* out) {
  const __m512i nib = halves(0x0f0f0f0f0f0f0f0f, static_cast<int64_t>(0xf0f0f0f0f0f0f0f0));
  const __m256 x16 = _mm256_setr_ps(1, 1.0f / 16, 1, 1.0f / 16, 1, 1.0f / 16, 1, 1.0f / 16);
  const __m128i dup = _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
  const __m512i idx[4] = {scale_idx(0, 2), scale_idx(1, 2), scale_idx(2, 2), scale_idx(3, 2)};
  __m512 acc[T];
  __m256 accm[T];
#pragma GCC unroll 8
  for (int t = 0; t < T; t++) {
    acc[t] = _mm512_setzero_ps();
    accm[t] = _mm256_setzero_ps();
  }
  for (int64_t b = 0; b < nb; b++) {
    if constexpr (kPf) prefetch_weights<sizeof(*w)>(w + b);
    const __m128i scm = kscales_vec(w[b].scales);  // sc[0..7], m[0..7]
    const __m512 s =
        _mm512_castps256_ps512(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(scm)),
                                             _mm256_mul_ps(_mm256_set1_ps(h2f(w[b].d)), x16)));
    const __m256i mins = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(scm, dup));
    const float dmin = h2f(w[b].dmin);
    __m512 sb[T][2];
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
      const __m256i ms = _mm256_madd_epi16(load256(a[t][b].bsums), mins);
      accm[t] = _mm256_fmadd_ps(_mm256_set1_ps(dmin * a[t][b].d), _mm256_cvtepi32_ps(ms), accm[t]);
      sb[t][0] = sb[t][1] = _mm512_setzero_ps();
    }
#pragma GCC unroll 8
    for (int j = 0; j < 4; j++) {
      const __m512i u = _mm512_and_si512(bcast256(w[b].qs + 32 * j), nib);
      const __m512 sj = _mm512_permutexvar_ps(idx[j], s);
#pragma GCC unroll 8
      for (int t = 0; t < T; t++) {
        __m512& x = sb[t][j & 1];
        x = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot64(u, a[t][b].qs + 64 * j)), sj, x);
      }
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
      acc[t] =
          _mm512_fmadd_ps(_mm512_add_ps(sb[t][0], sb[t][1]), _mm512_set1_ps(a[t][b].d), acc[t]);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < T; t++) out[t] = _mm512_reduce_add_ps(acc[t]) - hsum(accm[t]);
}

// Q5_K: as Q4_K with the 5th bit rotated in from qh (no 16x trick: bit 4 is taken).
template <int T, bool kPf = T == 1>
void q5k_rows(const BlockQ5_K* w, int64_t nb, const BlockQ8_K* const* a, float* out) {
  const __m512i m4 = _mm512_set1_epi8(0x0f), h10 = _mm512_set1_epi8(0x10);
  const __m512i sh = halves(0, 4);
  const __m128i dup = _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
  __m512i idx[4], rot[4];
#pragma GCC unroll 4
  for (int j = 0; j < 4; j++) {
    idx[j] = scale_idx(j, 2);
    rot[j] = halves((4 - 2 * j) & 63, (4 - 2 * j - 1) & 63);
  }
  __m512 acc[T];
  __m256 accm[T];
#pragma GCC unroll 8
  for (int t = 0; t < T; t++) {
    acc[t] = _mm512_setzero_ps();
    accm[t] = _mm256_setzero_ps();
  }
  for (int64_t b = 0; b < nb; b++) {
    if constexpr (kPf) prefetch_weights<sizeof(*w)>(w + b);
    const __m128i scm = kscales_vec(w[b].scales);  // sc[0..7], m[0..7]
    const __m512 s = _mm512_castps256_ps512(
        _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(scm)), _mm256_set1_ps(h2f(w[b].d))));
    const __m256i mins = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(scm, dup));
    const float dmin = h2f(w[b].dmin);
    __m512 sb[T][2];
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
      const __m256i ms = _mm256_madd_epi16(load256(a[t][b].bsums), mins);
      accm[t] = _mm256_fmadd_ps(_mm256_set1_ps(dmin * a[t][b].d), _mm256_cvtepi32_ps(ms), accm[t]);
      sb[t][0] = sb[t][1] = _mm512_setzero_ps();
    }
    const __m512i qh = bcast256(w[b].qh);
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
      const __m512i hb = _mm512_and_si512(_mm512_rolv_epi64(qh, rot[j]), h10);
      const __m512i u = _mm512_ternarylogic_epi64(_mm512_srlv_epi64(bcast256(w[b].qs + 32 * j), sh),
                                                  m4, hb, kOrAnd);
      const __m512 sj = _mm512_permutexvar_ps(idx[j], s);
#pragma GCC unroll 8
      for (int t = 0; t < T; t++) {
        __m512& x = sb[t][j & 1];
        x = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot64(u, a[t][b].qs + 64 * j)), sj, x);
      }
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
      acc[t] =
          _mm512_fmadd_ps(_mm512_add_ps(sb[t][0], sb[t][1]), _mm512_set1_ps(a[t][b].d), acc[t]);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < T; t++) out[t] = _mm512_reduce_add_ps(acc[t]) - hsum(accm[t]);
}

// Q2_K / Q3_K: 16 sub-blocks of 16 with 2-bit codes (+ hmask bit for Q3_K, offset 4 through
// bsums); Q2_K mins through bsums too.
template <bool kQ3, class Block, int T, bool kPf>
void q23k_rows(const Block* w, int64_t nb, const BlockQ8_K* const* a, float* out) {
  const __m512i m3 = _mm512_set1_epi8(3), m4 = _mm512_set1_epi8(4);
  const __m512i sh0 = halves(0, 2), sh1 = halves(4, 6);
  __m512i idx[4], rot[4];
#pragma GCC unroll 4
  for (int c = 0; c < 4; c++) {
    idx[c] = scale_idx(c, 4);
    rot[c] = halves((2 - 2 * c) & 63, (2 - 2 * c - 1) & 63);
  }
  __m512 acc[T], accc[T];
#pragma GCC unroll 8
  for (int t = 0; t < T; t++) acc[t] = accc[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    if constexpr (kPf) prefetch_weights<sizeof(*w)>(w + b);
    __m512 s, m;  // weight scales (and Q2_K mins, or Q3_K's -4 * scales) per 16 codes
    if constexpr (kQ3) {
      s = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q3k_scales16(w[b].scales))),
                        _mm512_set1_ps(h2f(w[b].d)));
      m = _mm512_mul_ps(s, _mm512_set1_ps(4.0f));
    } else {
      const __m128i s8 = load128(w[b].scales);
      s = _mm512_mul_ps(
          _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_and_si128(s8, _mm_set1_epi8(0x0f)))),
          _mm512_set1_ps(h2f(w[b].d)));
      m = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(
                            _mm_and_si128(_mm_srli_epi16(s8, 4), _mm_set1_epi8(0x0f)))),
                        _mm512_set1_ps(h2f(w[b].dmin)));
    }
    __m512 sb[T][2];
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
      const __m512 bs = _mm512_cvtepi32_ps(_mm512_cvtepi16_epi32(load256(a[t][b].bsums)));
      accc[t] = _mm512_fmadd_ps(_mm512_mul_ps(m, _mm512_set1_ps(a[t][b].d)), bs, accc[t]);
      sb[t][0] = sb[t][1] = _mm512_setzero_ps();
    }
    __m512i hm = _mm512_setzero_si512();
    if constexpr (kQ3) hm = bcast256(w[b].hmask);
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
      const __m512i q = bcast256(w[b].qs + 32 * h);
      __m512i u0 = _mm512_and_si512(_mm512_srlv_epi64(q, sh0), m3);
      __m512i u1 = _mm512_and_si512(_mm512_srlv_epi64(q, sh1), m3);
      if constexpr (kQ3) {
        u0 = _mm512_or_si512(u0, _mm512_and_si512(_mm512_rolv_epi64(hm, rot[2 * h]), m4));
        u1 = _mm512_or_si512(u1, _mm512_and_si512(_mm512_rolv_epi64(hm, rot[2 * h + 1]), m4));
      }
      const __m512 s0 = _mm512_permutexvar_ps(idx[2 * h], s);
      const __m512 s1 = _mm512_permutexvar_ps(idx[2 * h + 1], s);
#pragma GCC unroll 8
      for (int t = 0; t < T; t++) {
        const int8_t* y = a[t][b].qs + 128 * h;
        sb[t][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot64(u0, y)), s0, sb[t][0]);
        sb[t][1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot64(u1, y + 64)), s1, sb[t][1]);
      }
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
      acc[t] =
          _mm512_fmadd_ps(_mm512_add_ps(sb[t][0], sb[t][1]), _mm512_set1_ps(a[t][b].d), acc[t]);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < T; t++) out[t] = _mm512_reduce_add_ps(_mm512_sub_ps(acc[t], accc[t]));
}

template <int T, bool kPf = T == 1>
void q2k_rows(const BlockQ2_K* w, int64_t nb, const BlockQ8_K* const* a, float* out) {
  q23k_rows<false, BlockQ2_K, T, kPf>(w, nb, a, out);
}
template <int T, bool kPf = T == 1>
void q3k_rows(const BlockQ3_K* w, int64_t nb, const BlockQ8_K* const* a, float* out) {
  q23k_rows<true, BlockQ3_K, T, kPf>(w, nb, a, out);
}

constexpr int kTk = 8;  // tokens per pass over a weight row

template <class Block, void (*Rows4)(const Block*, int64_t, const BlockQ8_K* const*, float*),
          void (*Rows4Pf)(const Block*, int64_t, const BlockQ8_K* const*, float*),
          void (*Rows1)(const Block*, int64_t, const BlockQ8_K* const*, float*)>
void gemm_k(int64_t n, int nr, int nt, const void* vw, size_t w_stride, const void* act,
            size_t act_stride, float* y, int64_t ldy) {
  const int64_t nb = n / kQK_K;
  const auto* wb = static_cast<const uint8_t*>(vw);
  const auto* ab = static_cast<const uint8_t*>(act);
  auto arow = [&](int t) { return reinterpret_cast<const BlockQ8_K*>(ab + t * act_stride); };
  int t0 = 0;
  for (; t0 + kTk <= nt; t0 += kTk) {
    const BlockQ8_K* a[kTk];
    for (int i = 0; i < kTk; i++) a[i] = arow(t0 + i);
    for (int r = 0; r < nr; r++) {
      float out[kTk];
      const auto* wr = reinterpret_cast<const Block*>(wb + r * w_stride);
      if (nt <= kPrefetchMaxTokens) {
        Rows4Pf(wr, nb, a, out);
      } else {
        Rows4(wr, nb, a, out);
      }
#pragma GCC unroll 8
      for (int i = 0; i < kTk; i++) y[(t0 + i) * ldy + r] = out[i];
    }
  }
  for (; t0 < nt; t0++) {
    const BlockQ8_K* a[1] = {arow(t0)};
    for (int r = 0; r < nr; r++) {
      Rows1(reinterpret_cast<const Block*>(wb + r * w_stride), nb, a, &y[t0 * ldy + r]);
    }
  }
}

}  // namespace

void gemm_q4_k_q8_k(int64_t n, int nr, int nt, const void* w, size_t ws, const void* a, size_t as,
                    float* y, int64_t ldy) {
  gemm_k<BlockQ4_K, q4k_rows<kTk>, q4k_rows<kTk, true>, q4k_rows<1>>(n, nr, nt, w, ws, a, as, y,
                                                                     ldy);
}

void gemm_q6_k_q8_k(int64_t n, int nr, int nt, const void* w, size_t ws, const void* a, size_t as,
                    float* y, int64_t ldy) {
  gemm_k<BlockQ6_K, q6k_rows<kTk>, q6k_rows<kTk, true>, q6k_rows<1>>(n, nr, nt, w, ws, a, as, y,
                                                                     ldy);
}

#define OPS_GEMM_K(name, Block, rows)                                                      \
  void name(int64_t n, int nr, int nt, const void* w, size_t ws, const void* a, size_t as, \
            float* y, int64_t ldy) {                                                       \
    gemm_k<Block, rows<kTk>, rows<kTk, true>, rows<1>>(n, nr, nt, w, ws, a, as, y, ldy);   \
  }
OPS_GEMM_K(gemm_q2_k_q8_k, BlockQ2_K, q2k_rows)
OPS_GEMM_K(gemm_q3_k_q8_k, BlockQ3_K, q3k_rows)
OPS_GEMM_K(gemm_q5_k_q8_k, BlockQ5_K, q5k_rows)
#undef OPS_GEMM_K

}  // namespace ops::avx512vnni
