// AVX-512 VNNI dots of the K-quants (Q2_K..Q6_K) with Q8_K activations. Each step unpacks 64
// codes to unsigned bytes in element order (so the 64 activation bytes load straight), one
// vpdpbusd sums 4-byte groups, and the int32 lanes are scaled in float by a per-lane vector of
// sub-block scales (d * dy * sc, one vpermps per step). Code offsets and mins go through bsums.
#include "ops/x86/prefetch.h"
#include "ops/x86/simd_avx2.h"
#include "ops/x86/x86_kernels.h"

namespace ops::avx512vnni {
using namespace ops::x86;

namespace {

constexpr int kOrAnd = 0xea;  // vpternlog: (A & B) | C

inline __m512i bcast256(const void* p) { return _mm512_broadcast_i64x4(load256(p)); }
inline __m512i load512(const void* p) { return _mm512_loadu_si512(p); }
inline __m512i dot64(__m512i u, const int8_t* a) {
  return _mm512_dpbusd_epi32(_mm512_setzero_si512(), u, load512(a));
}
// Per-lane shift counts: qwords 0..3 get lo, 4..7 get hi.
inline __m512i halves(int64_t lo, int64_t hi) {
  return _mm512_setr_epi64(lo, lo, lo, lo, hi, hi, hi, hi);
}
// vpermps index: lane l of step c takes scale c * per + l / (16 / per).
inline __m512i scale_idx(int c, int per) {
  alignas(64) int32_t v[16];
  for (int l = 0; l < 16; l++) v[l] = c * per + l / (16 / per);
  return _mm512_load_si512(v);
}
inline __m512 bsums_ps(const BlockQ8_K& a) {
  return _mm512_cvtepi32_ps(_mm512_cvtepi16_epi32(load256(a.bsums)));
}

}  // namespace

void vec_dot_q6_k_q8_k(int64_t n, float* out, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ6_K*>(vw);
  const auto* a = static_cast<const BlockQ8_K*>(va);
  const __m512i m4 = _mm512_set1_epi8(0x0f), m30 = _mm512_set1_epi8(0x30);
  const __m512i sh_a = halves(4, 2), sh_b = halves(0, 2);
  const __m512i i0 = scale_idx(0, 4), i1 = scale_idx(1, 4), i2 = scale_idx(2, 4),
                i3 = scale_idx(3, 4);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps(), accc = _mm512_setzero_ps();
  for (int64_t b = 0; b < n / kQK_K; b++) {
    prefetch_weights<sizeof(*w)>(w + b);
    const __m512 s = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(load128(w[b].scales))),
                                   _mm512_set1_ps(a[b].d * h2f(w[b].d)));
    accc = _mm512_fmadd_ps(s, bsums_ps(a[b]), accc);
#pragma GCC unroll 8
    for (int h = 0; h < 2; h++) {
      const __m512i ql = load512(w[b].ql + 64 * h);
      const __m512i qh = bcast256(w[b].qh + 32 * h);
      // Elements 0..63 of the half: low nibbles of ql + qh bits 0-1 / 2-3.
      const __m512i ua = _mm512_ternarylogic_epi64(
          ql, m4, _mm512_and_si512(_mm512_sllv_epi64(qh, sh_a), m30), kOrAnd);
      // Elements 64..127: high nibbles + qh bits 4-5 / 6-7.
      const __m512i ub = _mm512_ternarylogic_epi64(
          _mm512_srli_epi16(ql, 4), m4, _mm512_and_si512(_mm512_srlv_epi64(qh, sh_b), m30), kOrAnd);
      const __m512i da = dot64(ua, a[b].qs + 128 * h), db = dot64(ub, a[b].qs + 128 * h + 64);
      acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(da), _mm512_permutexvar_ps(h ? i2 : i0, s), acc0);
      acc1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(db), _mm512_permutexvar_ps(h ? i3 : i1, s), acc1);
    }
  }
  *out = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)) - 32.0f * _mm512_reduce_add_ps(accc);
}

void vec_dot_q4_k_q8_k(int64_t n, float* out, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ4_K*>(vw);
  const auto* a = static_cast<const BlockQ8_K*>(va);
  // Low nibbles in the low 256 bits, high nibbles in place (16x) in the high 256 bits.
  const __m512i nib = halves(0x0f0f0f0f0f0f0f0f, static_cast<int64_t>(0xf0f0f0f0f0f0f0f0));
  const __m256 x16 = _mm256_setr_ps(1, 1.0f / 16, 1, 1.0f / 16, 1, 1.0f / 16, 1, 1.0f / 16);
  const __m128i dup = _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
  __m512i idx[4];
#pragma GCC unroll 8
  for (int j = 0; j < 4; j++) idx[j] = scale_idx(j, 2);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  __m256 accm = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / kQK_K; b++) {
    prefetch_weights<sizeof(*w)>(w + b);
    const __m128i scm = kscales_vec(w[b].scales);  // sc[0..7], m[0..7]
    const float d = a[b].d * h2f(w[b].d);
    const __m256 s8 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(scm)),
                                    _mm256_mul_ps(_mm256_set1_ps(d), x16));
    const __m512 s = _mm512_castps256_ps512(s8);
    const __m256i mins = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(scm, dup));
    accm = _mm256_fmadd_ps(_mm256_set1_ps(a[b].d * h2f(w[b].dmin)),
                           _mm256_cvtepi32_ps(_mm256_madd_epi16(load256(a[b].bsums), mins)), accm);
#pragma GCC unroll 8
    for (int j = 0; j < 4; j += 2) {
      const __m512i u0 = _mm512_and_si512(bcast256(w[b].qs + 32 * j), nib);
      const __m512i u1 = _mm512_and_si512(bcast256(w[b].qs + 32 * j + 32), nib);
      const __m512i d0 = dot64(u0, a[b].qs + 64 * j), d1 = dot64(u1, a[b].qs + 64 * j + 64);
      acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d0), _mm512_permutexvar_ps(idx[j], s), acc0);
      acc1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d1), _mm512_permutexvar_ps(idx[j + 1], s), acc1);
    }
  }
  *out = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)) - hsum(accm);
}

void vec_dot_q5_k_q8_k(int64_t n, float* out, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ5_K*>(vw);
  const auto* a = static_cast<const BlockQ8_K*>(va);
  const __m512i m4 = _mm512_set1_epi8(0x0f), h10 = _mm512_set1_epi8(0x10);
  const __m512i sh = halves(0, 4);
  const __m128i dup = _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
  __m512i idx[4], rot[4];
#pragma GCC unroll 8
  for (int j = 0; j < 4; j++) {
    idx[j] = scale_idx(j, 2);
    // Rotate bit 2j (low half) / 2j+1 (high half) of every qh byte to bit 4.
    rot[j] = halves((4 - 2 * j) & 63, (4 - 2 * j - 1) & 63);
  }
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  __m256 accm = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / kQK_K; b++) {
    prefetch_weights<sizeof(*w)>(w + b);
    const __m128i scm = kscales_vec(w[b].scales);  // sc[0..7], m[0..7]
    const __m256 s8 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(scm)),
                                    _mm256_set1_ps(a[b].d * h2f(w[b].d)));
    const __m512 s = _mm512_castps256_ps512(s8);
    const __m256i mins = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(scm, dup));
    accm = _mm256_fmadd_ps(_mm256_set1_ps(a[b].d * h2f(w[b].dmin)),
                           _mm256_cvtepi32_ps(_mm256_madd_epi16(load256(a[b].bsums), mins)), accm);
    const __m512i qh = bcast256(w[b].qh);
#pragma GCC unroll 8
    for (int j = 0; j < 4; j++) {
      const __m512i hb = _mm512_and_si512(_mm512_rolv_epi64(qh, rot[j]), h10);
      const __m512i u = _mm512_ternarylogic_epi64(_mm512_srlv_epi64(bcast256(w[b].qs + 32 * j), sh),
                                                  m4, hb, kOrAnd);
      const __m512 f = _mm512_cvtepi32_ps(dot64(u, a[b].qs + 64 * j));
      if (j & 1) {
        acc1 = _mm512_fmadd_ps(f, _mm512_permutexvar_ps(idx[j], s), acc1);
      } else {
        acc0 = _mm512_fmadd_ps(f, _mm512_permutexvar_ps(idx[j], s), acc0);
      }
    }
  }
  *out = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)) - hsum(accm);
}

void vec_dot_q2_k_q8_k(int64_t n, float* out, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ2_K*>(vw);
  const auto* a = static_cast<const BlockQ8_K*>(va);
  const __m512i m3 = _mm512_set1_epi8(3);
  const __m512i sh0 = halves(0, 2), sh1 = halves(4, 6);
  __m512i idx[4];
#pragma GCC unroll 8
  for (int c = 0; c < 4; c++) idx[c] = scale_idx(c, 4);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps(), accm = _mm512_setzero_ps();
  for (int64_t b = 0; b < n / kQK_K; b++) {
    prefetch_weights<sizeof(*w)>(w + b);
    const __m128i s8 = load128(w[b].scales);
    const __m512 s = _mm512_mul_ps(
        _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_and_si128(s8, _mm_set1_epi8(0x0f)))),
        _mm512_set1_ps(a[b].d * h2f(w[b].d)));
    const __m512 m = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(
                                       _mm_and_si128(_mm_srli_epi16(s8, 4), _mm_set1_epi8(0x0f)))),
                                   _mm512_set1_ps(a[b].d * h2f(w[b].dmin)));
    accm = _mm512_fmadd_ps(m, bsums_ps(a[b]), accm);
#pragma GCC unroll 8
    for (int h = 0; h < 2; h++) {
      const __m512i q = bcast256(w[b].qs + 32 * h);
      const __m512i u0 = _mm512_and_si512(_mm512_srlv_epi64(q, sh0), m3);
      const __m512i u1 = _mm512_and_si512(_mm512_srlv_epi64(q, sh1), m3);
      const __m512i d0 = dot64(u0, a[b].qs + 128 * h), d1 = dot64(u1, a[b].qs + 128 * h + 64);
      acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d0), _mm512_permutexvar_ps(idx[2 * h], s), acc0);
      acc1 =
          _mm512_fmadd_ps(_mm512_cvtepi32_ps(d1), _mm512_permutexvar_ps(idx[2 * h + 1], s), acc1);
    }
  }
  *out = _mm512_reduce_add_ps(_mm512_sub_ps(_mm512_add_ps(acc0, acc1), accm));
}

void vec_dot_q3_k_q8_k(int64_t n, float* out, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ3_K*>(vw);
  const auto* a = static_cast<const BlockQ8_K*>(va);
  const __m512i m3 = _mm512_set1_epi8(3), m4 = _mm512_set1_epi8(4);
  const __m512i sh0 = halves(0, 2), sh1 = halves(4, 6);
  __m512i idx[4], rot[4];
#pragma GCC unroll 8
  for (int c = 0; c < 4; c++) {
    idx[c] = scale_idx(c, 4);
    // Step c covers 32-element groups 2c, 2c+1: their hmask bit to bit 2.
    rot[c] = halves((2 - 2 * c) & 63, (2 - 2 * c - 1) & 63);
  }
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps(), accc = _mm512_setzero_ps();
  for (int64_t b = 0; b < n / kQK_K; b++) {
    prefetch_weights<sizeof(*w)>(w + b);
    const __m512 s =
        _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q3k_scales16(w[b].scales))),
                      _mm512_set1_ps(a[b].d * h2f(w[b].d)));
    accc = _mm512_fmadd_ps(s, bsums_ps(a[b]), accc);
    const __m512i hm = bcast256(w[b].hmask);
#pragma GCC unroll 8
    for (int h = 0; h < 2; h++) {
      const __m512i q = bcast256(w[b].qs + 32 * h);
      const int c0 = 2 * h, c1 = 2 * h + 1;
      const __m512i u0 =
          _mm512_ternarylogic_epi64(_mm512_srlv_epi64(q, sh0), m3,
                                    _mm512_and_si512(_mm512_rolv_epi64(hm, rot[c0]), m4), kOrAnd);
      const __m512i u1 =
          _mm512_ternarylogic_epi64(_mm512_srlv_epi64(q, sh1), m3,
                                    _mm512_and_si512(_mm512_rolv_epi64(hm, rot[c1]), m4), kOrAnd);
      const __m512i d0 = dot64(u0, a[b].qs + 128 * h), d1 = dot64(u1, a[b].qs + 128 * h + 64);
      acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d0), _mm512_permutexvar_ps(idx[c0], s), acc0);
      acc1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d1), _mm512_permutexvar_ps(idx[c1], s), acc1);
    }
  }
  *out = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)) - 4.0f * _mm512_reduce_add_ps(accc);
}

}  // namespace ops::avx512vnni
