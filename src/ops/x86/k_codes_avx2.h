// The 256 codes of a K-quant block as unsigned bytes in element order, 32 per register
// (chunk k: elements 32k..32k+31), shared by the AVX2 dots (dot_k_avx2.cpp) and the 8-row tiles'
// unpack (gemm_k_avx2.cpp). Q3_K codes are value + 4 (the hmask bit is the third bit), Q6_K
// codes value + 32; Q2_K/Q4_K/Q5_K codes are the values their mins offset. AVX2-compiled
// files only (internal linkage).
#pragma once
#include "ops/x86/simd_avx2.h"

namespace ops::x86 {
namespace {

// Chunk k (elements 32k..32k+31) of each type; k is a constant once the callers' loops over
// the 8 chunks unroll, and the loads the chunks share fold together.
inline __m256i k_code(const BlockQ2_K& b, int k) {
  const __m256i qs = load256(b.qs + 32 * (k / 4));
  return _mm256_and_si256(_mm256_srl_epi16(qs, _mm_cvtsi32_si128(2 * (k % 4))),
                          _mm256_set1_epi8(3));
}

inline __m256i k_code(const BlockQ3_K& b, int k) {
  const __m256i qs = load256(b.qs + 32 * (k / 4)), hm = load256(b.hmask);
  const __m256i lo =
      _mm256_and_si256(_mm256_srl_epi16(qs, _mm_cvtsi32_si128(2 * (k % 4))), _mm256_set1_epi8(3));
  const __m256i hi = _mm256_and_si256(
      _mm256_slli_epi16(_mm256_srl_epi16(hm, _mm_cvtsi32_si128(k)), 2), _mm256_set1_epi8(4));
  return _mm256_or_si256(lo, hi);
}

inline __m256i k_code(const BlockQ4_K& b, int k) {
  const __m256i q = load256(b.qs + 32 * (k / 2));
  return _mm256_and_si256(k % 2 ? _mm256_srli_epi16(q, 4) : q, _mm256_set1_epi8(0x0f));
}

inline __m256i k_code(const BlockQ5_K& b, int k) {
  const __m256i q = load256(b.qs + 32 * (k / 2)), qh = load256(b.qh);
  const __m256i bit = _mm256_set1_epi8(static_cast<char>(1 << k));
  return _mm256_or_si256(
      _mm256_and_si256(k % 2 ? _mm256_srli_epi16(q, 4) : q, _mm256_set1_epi8(0x0f)),
      _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, bit), bit), _mm256_set1_epi8(0x10)));
}

// 4 low bits from ql (bytes 64h + 32(c % 2).., high nibbles for c >= 2), 2 high bits from qh
// (bits 2c..2c+1 of bytes 32h..), chunk k = 4h + c.
inline __m256i k_code(const BlockQ6_K& b, int k) {
  const int h = k / 4, c = k % 4;
  const __m256i ql = load256(b.ql + 64 * h + 32 * (c % 2)), qh = load256(b.qh + 32 * h);
  const __m256i lo =
      _mm256_and_si256(c >= 2 ? _mm256_srli_epi16(ql, 4) : ql, _mm256_set1_epi8(0x0f));
  const __m256i hi = c == 0   ? _mm256_slli_epi16(qh, 4)
                     : c == 1 ? _mm256_slli_epi16(qh, 2)
                     : c == 2 ? qh
                              : _mm256_srli_epi16(qh, 2);
  return _mm256_or_si256(lo, _mm256_and_si256(hi, _mm256_set1_epi8(0x30)));
}

// All 8 chunks of a block.
template <class Block>
inline void k_codes(const Block& b, __m256i* c) {
#pragma GCC unroll 8
  for (int k = 0; k < 8; k++) c[k] = k_code(b, k);
}

}  // namespace
}  // namespace ops::x86
