// Small AVX2/F16C helpers shared by the *_avx2.cpp and *_avx512.cpp kernel files.
// Everything here has internal linkage: each ISA file gets its own copy compiled with its own
// flags, so no AVX-512-compiled body can be picked by the linker for an AVX2 caller.
#pragma once
#if !defined(__AVX2__) || !defined(__FMA__) || !defined(__F16C__)
#error "simd_avx2.h is only for files built with -mavx2 -mfma -mf16c (*_avx2.cpp, *_avx512.cpp)"
#endif
#if defined(__AVX512F__)
// GCC 12's AVX-512 headers trip -W(maybe-)uninitialized on their own _undefined() helpers.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "ops/blocks.h"

namespace ops::x86 {
namespace {

// Conversions used by the kernels. Deliberately not the inline ops::fp16_to_fp32 & co. of
// blocks.h: those have external linkage, and an out-of-line copy compiled here with AVX-512
// flags could be the one the linker keeps for baseline callers. F16C converts exactly (and
// rounds to nearest even), so results are bit-identical to the scalar helpers for non-NaN.
inline float h2f(f16_t h) { return _cvtsh_ss(h); }
inline f16_t f2h(float f) { return static_cast<f16_t>(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT)); }
inline float bf2f(bf16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline int hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }

// 16 packed nibbles -> 32 bytes 0..15 in element order (low nibbles, then high nibbles).
inline __m256i nibbles32(const uint8_t* qs) {
  const __m128i q = load128(qs);
  const __m256i v = _mm256_set_m128i(_mm_srli_epi16(q, 4), q);
  return _mm256_and_si256(v, _mm256_set1_epi8(0x0f));
}

// Bit j of a little-endian u32 -> byte j = 0xff when set, 0 otherwise.
inline __m256i bits_to_bytes(const uint8_t* qh) {
  uint32_t bits;
  std::memcpy(&bits, qh, 4);
  const __m256i shuf = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,  //
                                        2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  const __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)), shuf);
  const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ULL));
  return _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
}

// 16-bit pair sums of a maddubs result -> 8 int32.
inline __m256i pairs_i32(__m256i p16) { return _mm256_madd_epi16(p16, _mm256_set1_epi16(1)); }

// Exact lround (ties away from zero) of 8 floats, clamped to [-127, 127], as int32.
inline __m256i lround_clamp127(__m256 v) {
  const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256 frac = _mm256_sub_ps(v, t);  // exact
  const __m256 sign = _mm256_and_ps(v, _mm256_set1_ps(-0.0f));
  const __m256 absf = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), frac);
  const __m256 up = _mm256_and_ps(_mm256_cmp_ps(absf, _mm256_set1_ps(0.5f), _CMP_GE_OQ),
                                  _mm256_or_ps(_mm256_set1_ps(1.0f), sign));
  __m256 r = _mm256_add_ps(t, up);
  r = _mm256_min_ps(_mm256_max_ps(r, _mm256_set1_ps(-127.0f)), _mm256_set1_ps(127.0f));
  return _mm256_cvttps_epi32(r);
}

inline __m256 abs_ps(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

inline float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

// Q4_K/Q5_K packed 6-bit scales and mins: sc[0..7], m[0..7].
inline void unpack_kscales(const uint8_t* s, uint8_t* sc, uint8_t* m) {
  uint32_t u[3];
  std::memcpy(u, s, 12);
  const uint32_t s_lo = u[0] & 0x3f3f3f3fu, m_lo = u[1] & 0x3f3f3f3fu;
  const uint32_t s_hi = (u[2] & 0x0f0f0f0fu) | (((u[0] >> 6) & 0x03030303u) << 4);
  const uint32_t m_hi = ((u[2] >> 4) & 0x0f0f0f0fu) | (((u[1] >> 6) & 0x03030303u) << 4);
  std::memcpy(sc, &s_lo, 4);
  std::memcpy(sc + 4, &s_hi, 4);
  std::memcpy(m, &m_lo, 4);
  std::memcpy(m + 4, &m_hi, 4);
}

// Q4_K/Q5_K packed scales and mins in one register: bytes 0..7 = sc[0..7], 8..15 = m[0..7].
// Reads 16 bytes at s (the 12 scale bytes and the first 4 code bytes; stays inside the block).
inline __m128i kscales_vec(const uint8_t* s) {
  const __m128i v = load128(s);
  const __m128i a =
      _mm_shuffle_epi8(v, _mm_setr_epi8(0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11));
  const __m128i b =
      _mm_shuffle_epi8(v, _mm_setr_epi8(-1, -1, -1, -1, 0, 1, 2, 3, -1, -1, -1, -1, 4, 5, 6, 7));
  const __m128i x =
      _mm_and_si128(a, _mm_setr_epi8(63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 0, 0, 0, 0));
  const __m128i y = _mm_and_si128(
      _mm_srli_epi16(a, 4), _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 15, 15, 15, 15));
  const __m128i h = _mm_and_si128(
      _mm_srli_epi16(b, 2),
      _mm_setr_epi8(0, 0, 0, 0, 0x30, 0x30, 0x30, 0x30, 0, 0, 0, 0, 0x30, 0x30, 0x30, 0x30));
  return _mm_or_si128(_mm_or_si128(x, y), h);
}

// The 16 signed 6-bit scales of a Q3_K block (low 4 bits in bytes 0..7, high 2 bits in bytes
// 8..11), minus 32, as int8 lanes.
inline __m128i q3k_scales16(const uint8_t* s) {
  uint32_t a[3];
  std::memcpy(a, s, 12);
  const uint32_t m4 = 0x0f0f0f0fu, m2 = 0x03030303u;
  const __m128i v =
      _mm_setr_epi32(static_cast<int>((a[0] & m4) | ((a[2] & m2) << 4)),
                     static_cast<int>((a[1] & m4) | (((a[2] >> 2) & m2) << 4)),
                     static_cast<int>(((a[0] >> 4) & m4) | (((a[2] >> 4) & m2) << 4)),
                     static_cast<int>(((a[1] >> 4) & m4) | (((a[2] >> 6) & m2) << 4)));
  return _mm_sub_epi8(v, _mm_set1_epi8(32));
}

}  // namespace
}  // namespace ops::x86
