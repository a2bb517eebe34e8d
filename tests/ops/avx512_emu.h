// Plain C++ stand-ins for the AVX-512 intrinsics of the 32-element block kernels
// (src/ops/x86/q_pairs_avx512.h, dot_q_avx512.cpp, gemm_q_avx512.cpp), so those kernels can be
// compiled for AVX2 and run against their scalar twins on machines without AVX-512 (see
// avx512_emu_test.cpp). Each stand-in is written from the instruction's definition, lane by
// lane; include after <immintrin.h> and before the kernel sources, which then call these.
#pragma once
#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <cstring>

namespace avx512_emu {

template <class T, int N>
struct Lanes {
  T v[N];
};

template <class T, class V>
inline Lanes<T, sizeof(V) / sizeof(T)> get(V x) {
  Lanes<T, sizeof(V) / sizeof(T)> l;
  std::memcpy(l.v, &x, sizeof(V));
  return l;
}
template <class V, class L>
inline V put(const L& l) {
  static_assert(sizeof(L) == sizeof(V));
  V x;
  std::memcpy(&x, l.v, sizeof(V));
  return x;
}

}  // namespace avx512_emu

#define EMU_L(T, N) avx512_emu::Lanes<T, N>
#define EMU_GET(T, x) avx512_emu::get<T>(x)

static inline __m512i emu_set1_epi8(char c) {
  EMU_L(int8_t, 64) l;
  for (auto& v : l.v) v = c;
  return avx512_emu::put<__m512i>(l);
}
static inline __m512i emu_setzero_si512() { return emu_set1_epi8(0); }
static inline __m512 emu_set1_ps(float f) {
  EMU_L(float, 16) l;
  for (auto& v : l.v) v = f;
  return avx512_emu::put<__m512>(l);
}
static inline __m512 emu_setzero_ps() { return emu_set1_ps(0.0f); }
static inline __m512i emu_setr_epi64(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e,
                                     int64_t f, int64_t g, int64_t h) {
  return avx512_emu::put<__m512i>(EMU_L(int64_t, 8){{a, b, c, d, e, f, g, h}});
}
static inline __m512i emu_setr_epi32(int a0, int a1, int a2, int a3, int a4, int a5, int a6, int a7,
                                     int a8, int a9, int a10, int a11, int a12, int a13, int a14,
                                     int a15) {
  return avx512_emu::put<__m512i>(
      EMU_L(int32_t, 16){{a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15}});
}
static inline __m512 emu_setr_ps(float a0, float a1, float a2, float a3, float a4, float a5,
                                 float a6, float a7, float a8, float a9, float a10, float a11,
                                 float a12, float a13, float a14, float a15) {
  return avx512_emu::put<__m512>(
      EMU_L(float, 16){{a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15}});
}
static inline __m512i emu_loadu_si512(const void* p) {
  __m512i x;
  std::memcpy(&x, p, 64);
  return x;
}
static inline __m512i emu_load_si512(const void* p) {
  if (reinterpret_cast<uintptr_t>(p) % 64 != 0) __builtin_trap();  // vmovdqa64 would fault
  return emu_loadu_si512(p);
}

// Float arithmetic (one rounding per lane, fused for fmadd).
static inline __m512 emu_add_ps(__m512 a, __m512 b) {
  auto x = EMU_GET(float, a), y = EMU_GET(float, b);
  for (int i = 0; i < 16; i++) x.v[i] += y.v[i];
  return avx512_emu::put<__m512>(x);
}
static inline __m512 emu_mul_ps(__m512 a, __m512 b) {
  auto x = EMU_GET(float, a), y = EMU_GET(float, b);
  for (int i = 0; i < 16; i++) x.v[i] *= y.v[i];
  return avx512_emu::put<__m512>(x);
}
static inline __m512 emu_fmadd_ps(__m512 a, __m512 b, __m512 c) {
  auto x = EMU_GET(float, a), y = EMU_GET(float, b), z = EMU_GET(float, c);
  for (int i = 0; i < 16; i++) x.v[i] = std::fma(x.v[i], y.v[i], z.v[i]);
  return avx512_emu::put<__m512>(x);
}
static inline __m512 emu_cvtepi32_ps(__m512i a) {
  auto x = EMU_GET(int32_t, a);
  EMU_L(float, 16) r;
  for (int i = 0; i < 16; i++) r.v[i] = static_cast<float>(x.v[i]);
  return avx512_emu::put<__m512>(r);
}
static inline float emu_reduce_add_ps(__m512 a) {
  auto x = EMU_GET(float, a);
  for (int w = 8; w >= 1; w /= 2) {
    for (int i = 0; i < w; i++) x.v[i] += x.v[i + w];
  }
  return x.v[0];
}

// Integer and bitwise lane operations.
static inline __m512i emu_and_si512(__m512i a, __m512i b) {
  auto x = EMU_GET(uint64_t, a), y = EMU_GET(uint64_t, b);
  for (int i = 0; i < 8; i++) x.v[i] &= y.v[i];
  return avx512_emu::put<__m512i>(x);
}
static inline __m512i emu_xor_si512(__m512i a, __m512i b) {
  auto x = EMU_GET(uint64_t, a), y = EMU_GET(uint64_t, b);
  for (int i = 0; i < 8; i++) x.v[i] ^= y.v[i];
  return avx512_emu::put<__m512i>(x);
}
static inline __m512i emu_sub_epi32(__m512i a, __m512i b) {
  auto x = EMU_GET(uint32_t, a), y = EMU_GET(uint32_t, b);
  for (int i = 0; i < 16; i++) x.v[i] -= y.v[i];
  return avx512_emu::put<__m512i>(x);
}
static inline __m512i emu_srlv_epi64(__m512i a, __m512i n) {
  auto x = EMU_GET(uint64_t, a), c = EMU_GET(uint64_t, n);
  for (int i = 0; i < 8; i++) x.v[i] = c.v[i] > 63 ? 0 : x.v[i] >> c.v[i];
  return avx512_emu::put<__m512i>(x);
}
static inline __m128i emu_mm_srlv_epi16(__m128i a, __m128i n) {
  auto x = EMU_GET(uint16_t, a), c = EMU_GET(uint16_t, n);
  for (int i = 0; i < 8; i++) x.v[i] = c.v[i] > 15 ? 0 : static_cast<uint16_t>(x.v[i] >> c.v[i]);
  return avx512_emu::put<__m128i>(x);
}
// vpdpbusd: src + sum of 4 (unsigned byte of a) * (signed byte of b) per 32-bit lane.
static inline __m512i emu_dpbusd_epi32(__m512i src, __m512i a, __m512i b) {
  auto s = EMU_GET(uint32_t, src);
  auto u = EMU_GET(uint8_t, a);
  auto v = EMU_GET(int8_t, b);
  for (int i = 0; i < 16; i++) {
    int32_t d = 0;
    for (int k = 0; k < 4; k++) d += int32_t(u.v[4 * i + k]) * int32_t(v.v[4 * i + k]);
    s.v[i] += static_cast<uint32_t>(d);
  }
  return avx512_emu::put<__m512i>(s);
}
// vpshufb: within each 128-bit lane, byte j = a[lane][b[j] & 15], or 0 when b[j] has bit 7.
static inline __m512i emu_shuffle_epi8(__m512i a, __m512i b) {
  auto x = EMU_GET(uint8_t, a), c = EMU_GET(uint8_t, b);
  EMU_L(uint8_t, 64) r;
  for (int j = 0; j < 64; j++) r.v[j] = c.v[j] & 0x80 ? 0 : x.v[(j & ~15) | (c.v[j] & 15)];
  return avx512_emu::put<__m512i>(r);
}
static inline __m512 emu_permutexvar_ps(__m512i idx, __m512 a) {
  auto x = EMU_GET(float, a);
  auto k = EMU_GET(uint32_t, idx);
  EMU_L(float, 16) r;
  for (int i = 0; i < 16; i++) r.v[i] = x.v[k.v[i] & 15];
  return avx512_emu::put<__m512>(r);
}
static inline __m512i emu_permutex2var_epi16(__m512i a, __m512i idx, __m512i b) {
  auto x = EMU_GET(uint16_t, a), y = EMU_GET(uint16_t, b), k = EMU_GET(uint16_t, idx);
  EMU_L(uint16_t, 32) r;
  for (int i = 0; i < 32; i++) r.v[i] = k.v[i] & 32 ? y.v[k.v[i] & 31] : x.v[k.v[i] & 31];
  return avx512_emu::put<__m512i>(r);
}

// Masked forms: lane i from the second source where mask bit i is set.
static inline __m512i emu_mask_mov_epi16(__m512i src, __mmask32 m, __m512i a) {
  auto s = EMU_GET(uint16_t, src), x = EMU_GET(uint16_t, a);
  for (int i = 0; i < 32; i++)
    if ((m >> i) & 1) s.v[i] = x.v[i];
  return avx512_emu::put<__m512i>(s);
}
static inline __m512 emu_mask_blend_ps(__mmask16 m, __m512 a, __m512 b) {
  auto x = EMU_GET(float, a), y = EMU_GET(float, b);
  for (int i = 0; i < 16; i++)
    if ((m >> i) & 1) x.v[i] = y.v[i];
  return avx512_emu::put<__m512>(x);
}
static inline __m512i emu_mask_add_epi8(__m512i src, __mmask64 m, __m512i a, __m512i b) {
  auto s = EMU_GET(uint8_t, src), x = EMU_GET(uint8_t, a), y = EMU_GET(uint8_t, b);
  for (int i = 0; i < 64; i++)
    if ((m >> i) & 1) s.v[i] = static_cast<uint8_t>(x.v[i] + y.v[i]);
  return avx512_emu::put<__m512i>(s);
}
static inline __mmask64 emu_cvtu64_mask64(uint64_t m) { return m; }

// Widening, narrowing and broadcasts (the upper part of a widened register is zero here;
// the kernels never read it).
static inline __m512 emu_castps256_ps512(__m256 a) {
  EMU_L(float, 16) r{};
  std::memcpy(r.v, &a, 32);
  return avx512_emu::put<__m512>(r);
}
static inline __m512i emu_castsi256_si512(__m256i a) {
  EMU_L(uint8_t, 64) r{};
  std::memcpy(r.v, &a, 32);
  return avx512_emu::put<__m512i>(r);
}
static inline __m128i emu_castsi512_si128(__m512i a) {
  __m128i r;
  std::memcpy(&r, &a, 16);
  return r;
}
static inline __m512i emu_inserti64x4(__m512i a, __m256i b, int hi) {
  auto r = EMU_GET(uint8_t, a);
  std::memcpy(r.v + 32 * (hi & 1), &b, 32);
  return avx512_emu::put<__m512i>(r);
}
static inline __m512i emu_broadcast_i32x4(__m128i a) {
  EMU_L(uint8_t, 64) r;
  for (int q = 0; q < 4; q++) std::memcpy(r.v + 16 * q, &a, 16);
  return avx512_emu::put<__m512i>(r);
}
static inline __m512i emu_mask_broadcast_i32x4(__m512i src, __mmask16 m, __m128i a) {
  auto s = EMU_GET(uint32_t, src);
  auto x = EMU_GET(uint32_t, a);
  for (int i = 0; i < 16; i++)
    if ((m >> i) & 1) s.v[i] = x.v[i % 4];
  return avx512_emu::put<__m512i>(s);
}

#undef EMU_L
#undef EMU_GET

// Some of these are macros in the compiler's headers.
#undef _mm512_set1_epi8
#undef _mm512_setzero_si512
#undef _mm512_set1_ps
#undef _mm512_setzero_ps
#undef _mm512_setr_epi64
#undef _mm512_setr_epi32
#undef _mm512_setr_ps
#undef _mm512_loadu_si512
#undef _mm512_load_si512
#undef _mm512_add_ps
#undef _mm512_mul_ps
#undef _mm512_fmadd_ps
#undef _mm512_cvtepi32_ps
#undef _mm512_reduce_add_ps
#undef _mm512_and_si512
#undef _mm512_xor_si512
#undef _mm512_sub_epi32
#undef _mm512_srlv_epi64
#undef _mm_srlv_epi16
#undef _mm512_dpbusd_epi32
#undef _mm512_shuffle_epi8
#undef _mm512_permutexvar_ps
#undef _mm512_permutex2var_epi16
#undef _mm512_mask_mov_epi16
#undef _mm512_mask_blend_ps
#undef _mm512_mask_add_epi8
#undef _cvtu64_mask64
#undef _mm512_castps256_ps512
#undef _mm512_castsi256_si512
#undef _mm512_castsi512_si128
#undef _mm512_inserti64x4
#undef _mm512_broadcast_i32x4
#undef _mm512_mask_broadcast_i32x4

#define _mm512_set1_epi8 emu_set1_epi8
#define _mm512_setzero_si512 emu_setzero_si512
#define _mm512_set1_ps emu_set1_ps
#define _mm512_setzero_ps emu_setzero_ps
#define _mm512_setr_epi64 emu_setr_epi64
#define _mm512_setr_epi32 emu_setr_epi32
#define _mm512_setr_ps emu_setr_ps
#define _mm512_loadu_si512 emu_loadu_si512
#define _mm512_load_si512 emu_load_si512
#define _mm512_add_ps emu_add_ps
#define _mm512_mul_ps emu_mul_ps
#define _mm512_fmadd_ps emu_fmadd_ps
#define _mm512_cvtepi32_ps emu_cvtepi32_ps
#define _mm512_reduce_add_ps emu_reduce_add_ps
#define _mm512_and_si512 emu_and_si512
#define _mm512_xor_si512 emu_xor_si512
#define _mm512_sub_epi32 emu_sub_epi32
#define _mm512_srlv_epi64 emu_srlv_epi64
#define _mm_srlv_epi16 emu_mm_srlv_epi16
#define _mm512_dpbusd_epi32 emu_dpbusd_epi32
#define _mm512_shuffle_epi8 emu_shuffle_epi8
#define _mm512_permutexvar_ps emu_permutexvar_ps
#define _mm512_permutex2var_epi16 emu_permutex2var_epi16
#define _mm512_mask_mov_epi16 emu_mask_mov_epi16
#define _mm512_mask_blend_ps emu_mask_blend_ps
#define _mm512_mask_add_epi8 emu_mask_add_epi8
#define _cvtu64_mask64 emu_cvtu64_mask64
#define _mm512_castps256_ps512 emu_castps256_ps512
#define _mm512_castsi256_si512 emu_castsi256_si512
#define _mm512_castsi512_si128 emu_castsi512_si128
#define _mm512_inserti64x4 emu_inserti64x4
#define _mm512_broadcast_i32x4 emu_broadcast_i32x4
#define _mm512_mask_broadcast_i32x4 emu_mask_broadcast_i32x4
