// AVX2 dots of the K-quants (Q2_K..Q6_K) with Q8_K activations. Weights are unpacked to
// unsigned codes 32 at a time, multiplied with maddubs, scaled per sub-block with madd into
// int32 (exact), and each 256-block is converted to float once. Code offsets (-4 for Q3_K, -32
// for Q6_K) and Q2_K/Q4_K/Q5_K mins are applied through the activation block sums (bsums).
#include "ops/x86/prefetch.h"
#include "ops/x86/simd_avx2.h"
#include "ops/x86/x86_kernels.h"

namespace ops::avx2 {
using namespace ops::x86;

namespace {

// The scales of elements 32k..32k+31 for the per-16 scaled types, as int16 [s(2k) x8 |
// s(2k+1) x8] (maddubs lane 0 covers elements 0..15, lane 1 covers 16..31), from 16 int16
// scales: each half of the scales in both 128-bit lanes once per block, then one in-lane
// pshufb per 32 elements (a cross-lane permute per 32 elements cost Q6_K's dot ~16 %).
struct ScalePairs {
  __m256i half[2];
  explicit ScalePairs(__m256i s16)
      : half{_mm256_permute2x128_si256(s16, s16, 0x00), _mm256_permute2x128_si256(s16, s16, 0x11)} {
  }
  __m256i operator()(int k) const {
    const char i = static_cast<char>(4 * (k % 4));  // byte offset of s(2k) within its half
    const char j = static_cast<char>(i + 2);
    return _mm256_shuffle_epi8(
        half[k / 4], _mm256_setr_epi8(i, i + 1, i, i + 1, i, i + 1, i, i + 1, i, i + 1, i, i + 1, i,
                                      i + 1, i, i + 1, j, j + 1, j, j + 1, j, j + 1, j, j + 1, j,
                                      j + 1, j, j + 1, j, j + 1, j, j + 1));
  }
};

// sum over 32 elements of sc(elem) * q * a, as int32x8.
inline __m256i scaled_dot(__m256i q, const int8_t* a, __m256i sc) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(q, load256(a)), sc);
}

inline __m256i bsums16(const BlockQ8_K& a) { return load256(a.bsums); }

}  // namespace

void vec_dot_q2_k_q8_k(int64_t n, float* out, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ2_K*>(vw);
  const auto* a = static_cast<const BlockQ8_K*>(va);
  const __m256i m3 = _mm256_set1_epi8(3);
  __m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / kQK_K; b++) {
    prefetch_weights<sizeof(*w)>(w + b);
    const __m128i s8 = load128(w[b].scales);
    const __m256i sc = _mm256_cvtepu8_epi16(_mm_and_si128(s8, _mm_set1_epi8(0x0f)));
    const ScalePairs pair(sc);
    const __m256i mn =
        _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(s8, 4), _mm_set1_epi8(0x0f)));
    __m256i sumi = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int h = 0; h < 2; h++) {
      const __m256i qs = load256(w[b].qs + 32 * h);
      const int8_t* ah = a[b].qs + 128 * h;
      sumi = _mm256_add_epi32(sumi, scaled_dot(_mm256_and_si256(qs, m3), ah, pair(4 * h)));
      sumi = _mm256_add_epi32(sumi, scaled_dot(_mm256_and_si256(_mm256_srli_epi16(qs, 2), m3),
                                               ah + 32, pair(4 * h + 1)));
      sumi = _mm256_add_epi32(sumi, scaled_dot(_mm256_and_si256(_mm256_srli_epi16(qs, 4), m3),
                                               ah + 64, pair(4 * h + 2)));
      sumi = _mm256_add_epi32(sumi, scaled_dot(_mm256_and_si256(_mm256_srli_epi16(qs, 6), m3),
                                               ah + 96, pair(4 * h + 3)));
    }
    const __m256i msum = _mm256_madd_epi16(bsums16(a[b]), mn);
    const float d = a[b].d * h2f(w[b].d), dmin = a[b].d * h2f(w[b].dmin);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    accm = _mm256_fmadd_ps(_mm256_set1_ps(dmin), _mm256_cvtepi32_ps(msum), accm);
  }
  *out = hsum(_mm256_sub_ps(acc, accm));
}

void vec_dot_q3_k_q8_k(int64_t n, float* out, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ3_K*>(vw);
  const auto* a = static_cast<const BlockQ8_K*>(va);
  const __m256i m3 = _mm256_set1_epi8(3), m4 = _mm256_set1_epi8(4);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / kQK_K; b++) {
    prefetch_weights<sizeof(*w)>(w + b);
    const __m256i sc = _mm256_cvtepi8_epi16(q3k_scales16(w[b].scales));
    const ScalePairs pair(sc);
    const __m256i hm = load256(w[b].hmask);
    __m256i sumi = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int h = 0; h < 2; h++) {
      const __m256i qs = load256(w[b].qs + 32 * h);
      const int8_t* ah = a[b].qs + 128 * h;
#pragma GCC unroll 8
      for (int j = 0; j < 4; j++) {
        const __m128i cnt = _mm_cvtsi32_si128(2 * j);
        const __m128i hcnt = _mm_cvtsi32_si128(4 * h + j);
        // Code + 4 in 0..7: the hmask bit is the third bit.
        const __m256i lo = _mm256_and_si256(_mm256_srl_epi16(qs, cnt), m3);
        const __m256i hi = _mm256_and_si256(_mm256_slli_epi16(_mm256_srl_epi16(hm, hcnt), 2), m4);
        sumi = _mm256_add_epi32(sumi,
                                scaled_dot(_mm256_or_si256(lo, hi), ah + 32 * j, pair(4 * h + j)));
      }
    }
    const __m256i corr = _mm256_slli_epi32(_mm256_madd_epi16(bsums16(a[b]), sc), 2);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(a[b].d * h2f(w[b].d)),
                          _mm256_cvtepi32_ps(_mm256_sub_epi32(sumi, corr)), acc);
  }
  *out = hsum(acc);
}

namespace {

// Shared body of Q4_K / Q5_K: 8 sub-blocks of 32 with 6-bit scales and mins.
template <bool kQ5, class Block>
float dot_q45k(const Block* w, const BlockQ8_K* a, int64_t nb) {
  const __m256i m4 = _mm256_set1_epi8(0x0f);
  const __m128i dup = _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
  __m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    prefetch_weights<sizeof(*w)>(w + b);
    alignas(16) uint8_t sc[16], mn[16];
    unpack_kscales(w[b].scales, sc, mn);
    const __m256i mins =
        _mm256_cvtepu8_epi16(_mm_shuffle_epi8(_mm_loadl_epi64((const __m128i*)mn), dup));
    const __m256i msum = _mm256_madd_epi16(bsums16(a[b]), mins);
    __m256i qh;
    if constexpr (kQ5) qh = load256(w[b].qh);
    __m256i sumi = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int j = 0; j < 4; j++) {
      const __m256i q = load256(w[b].qs + 32 * j);
      __m256i lo = _mm256_and_si256(q, m4);
      __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
      if constexpr (kQ5) {
        const __m256i b0 = _mm256_set1_epi8(static_cast<char>(1 << (2 * j)));
        const __m256i b1 = _mm256_set1_epi8(static_cast<char>(1 << (2 * j + 1)));
        const __m256i h16 = _mm256_set1_epi8(0x10);
        lo = _mm256_or_si256(
            lo, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, b0), b0), h16));
        hi = _mm256_or_si256(
            hi, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, b1), b1), h16));
      }
      const int8_t* aj = a[b].qs + 64 * j;
      sumi = _mm256_add_epi32(sumi, scaled_dot(lo, aj, _mm256_set1_epi16(sc[2 * j])));
      sumi = _mm256_add_epi32(sumi, scaled_dot(hi, aj + 32, _mm256_set1_epi16(sc[2 * j + 1])));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(a[b].d * h2f(w[b].d)), _mm256_cvtepi32_ps(sumi), acc);
    accm = _mm256_fmadd_ps(_mm256_set1_ps(a[b].d * h2f(w[b].dmin)), _mm256_cvtepi32_ps(msum), accm);
  }
  return hsum(_mm256_sub_ps(acc, accm));
}

}  // namespace

void vec_dot_q4_k_q8_k(int64_t n, float* out, const void* vw, const void* va) {
  *out = dot_q45k<false>(static_cast<const BlockQ4_K*>(vw), static_cast<const BlockQ8_K*>(va),
                         n / kQK_K);
}

void vec_dot_q5_k_q8_k(int64_t n, float* out, const void* vw, const void* va) {
  *out = dot_q45k<true>(static_cast<const BlockQ5_K*>(vw), static_cast<const BlockQ8_K*>(va),
                        n / kQK_K);
}

void vec_dot_q6_k_q8_k(int64_t n, float* out, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ6_K*>(vw);
  const auto* a = static_cast<const BlockQ8_K*>(va);
  const __m256i m4 = _mm256_set1_epi8(0x0f), m30 = _mm256_set1_epi8(0x30);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / kQK_K; b++) {
    prefetch_weights<sizeof(*w)>(w + b);
    const __m256i sc = _mm256_cvtepi8_epi16(load128(w[b].scales));
    const ScalePairs pair(sc);
    __m256i sumi = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int h = 0; h < 2; h++) {
      const __m256i ql0 = load256(w[b].ql + 64 * h), ql1 = load256(w[b].ql + 64 * h + 32);
      const __m256i qh = load256(w[b].qh + 32 * h);
      const int8_t* ah = a[b].qs + 128 * h;
      // Codes + 32 in 0..63: 4 low bits from ql, 2 high bits from qh.
      const __m256i q1 = _mm256_or_si256(_mm256_and_si256(ql0, m4),
                                         _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30));
      const __m256i q2 = _mm256_or_si256(_mm256_and_si256(ql1, m4),
                                         _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30));
      const __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4),
                                         _mm256_and_si256(qh, m30));
      const __m256i q4 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                                         _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30));
      sumi = _mm256_add_epi32(sumi, scaled_dot(q1, ah, pair(4 * h)));
      sumi = _mm256_add_epi32(sumi, scaled_dot(q2, ah + 32, pair(4 * h + 1)));
      sumi = _mm256_add_epi32(sumi, scaled_dot(q3, ah + 64, pair(4 * h + 2)));
      sumi = _mm256_add_epi32(sumi, scaled_dot(q4, ah + 96, pair(4 * h + 3)));
    }
    const __m256i corr = _mm256_slli_epi32(_mm256_madd_epi16(bsums16(a[b]), sc), 5);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(a[b].d * h2f(w[b].d)),
                          _mm256_cvtepi32_ps(_mm256_sub_epi32(sumi, corr)), acc);
  }
  *out = hsum(acc);
}

}  // namespace ops::avx2
