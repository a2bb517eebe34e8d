// Building blocks of the AVX-512 VNNI kernels for the 32-element block types (shared by the
// vec_dot and gemm files): scale extraction for 8 blocks (fp16 fields, MXFP4's e8m0 bytes),
// pair unpacking, type policies.
// Internal linkage only; include from *_avx512.cpp files.
#pragma once
#include <type_traits>

#include "ops/x86/simd_avx2.h"

namespace ops::avx512vnni {
namespace {
using namespace ops::x86;

// Words 0..7 of the result = the 16-bit field at byte kOff of blocks 0..7 (kSb bytes apart)
// starting at p. Reads stay inside the 8 blocks (no over-read at the end of a row).
template <int kSb, int kOff>
inline __m128i fields8(const uint8_t* p) {
  static_assert(kSb % 2 == 0 && kOff % 2 == 0 && 3 * kSb + kOff + 2 <= 128 && 8 * kSb >= 128);
  // Blocks 4..7 come from a second 128-byte window that ends at the end of block 7, or starts
  // at block 4 when blocks are large enough for that to fit.
  constexpr int kBase2 = kSb <= 32 ? 8 * kSb - 128 : 4 * kSb;
  static_assert(kBase2 <= 4 * kSb + kOff && 7 * kSb + kOff + 2 - kBase2 <= 128);
  alignas(64) static constexpr int16_t kIdx[32] = {
      (0 * kSb + kOff) / 2,          (1 * kSb + kOff) / 2,          (2 * kSb + kOff) / 2,
      (3 * kSb + kOff) / 2,          (4 * kSb + kOff - kBase2) / 2, (5 * kSb + kOff - kBase2) / 2,
      (6 * kSb + kOff - kBase2) / 2, (7 * kSb + kOff - kBase2) / 2};
  const __m512i ia = _mm512_load_si512(kIdx);
  const __m512i lo =
      _mm512_permutex2var_epi16(_mm512_loadu_si512(p), ia, _mm512_loadu_si512(p + 64));
  const __m512i hi = _mm512_permutex2var_epi16(_mm512_loadu_si512(p + kBase2), ia,
                                               _mm512_loadu_si512(p + kBase2 + 64));
  return _mm512_castsi512_si128(_mm512_mask_mov_epi16(lo, 0xf0, hi));
}

inline __m512i load_act_pair(const BlockQ8_0* a) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(load256(a[0].qs)), load256(a[1].qs), 1);
}

// [q0 q0 q1 q1] in 128-bit lanes: each block's 16 packed bytes twice.
inline __m512i dup_pair(const uint8_t* q0, const uint8_t* q1) {
  return _mm512_mask_broadcast_i32x4(_mm512_broadcast_i32x4(load128(q0)), 0xff00, load128(q1));
}

// Low nibbles in lanes 0/2 (value), high nibbles in lanes 1/3 (16x value).
inline __m512i nib_x16(const uint8_t* q0, const uint8_t* q1) {
  const __m512i m = _mm512_setr_epi64(0x0f0f0f0f0f0f0f0f, 0x0f0f0f0f0f0f0f0f, 0xf0f0f0f0f0f0f0f0,
                                      0xf0f0f0f0f0f0f0f0, 0x0f0f0f0f0f0f0f0f, 0x0f0f0f0f0f0f0f0f,
                                      0xf0f0f0f0f0f0f0f0, 0xf0f0f0f0f0f0f0f0);
  return _mm512_and_si512(dup_pair(q0, q1), m);
}

// 5-bit codes of two Q5 blocks in element order.
inline __m512i q5_pair(const uint8_t* qs0, const uint8_t* qh0, const uint8_t* qs1,
                       const uint8_t* qh1) {
  const __m512i sh = _mm512_setr_epi64(0, 0, 4, 4, 0, 0, 4, 4);
  const __m512i v =
      _mm512_and_si512(_mm512_srlv_epi64(dup_pair(qs0, qs1), sh), _mm512_set1_epi8(0x0f));
  uint32_t h0, h1;
  std::memcpy(&h0, qh0, 4);
  std::memcpy(&h1, qh1, 4);
  const __mmask64 k = _cvtu64_mask64(static_cast<uint64_t>(h0) | (static_cast<uint64_t>(h1) << 32));
  return _mm512_mask_add_epi8(v, k, v, _mm512_set1_epi8(0x10));
}

struct PairIdx {
  __m512i p[4];
};

// vpermps indexes for pair q (blocks 2q, 2q+1): 8 lanes each, or for the x16 layout
// [s, s/16, s', s'/16] x4 lanes from the interleaved (s, s/16) vector.
inline PairIdx pair_idx(bool x16) {
  PairIdx r;
  for (int q = 0; q < 4; q++) {
    alignas(64) int32_t v[16];
    for (int l = 0; l < 16; l++) v[l] = x16 ? 4 * q + l / 4 : 2 * q + l / 8;
    r.p[q] = _mm512_load_si512(v);
  }
  return r;
}

// Type policies: byte size, scale/min field offsets, unpacking to unsigned bytes, offset.
struct Q40 {
  using Block = BlockQ4_0;
  static constexpr int kSb = 18, kMOff = -1;
  static constexpr int kOffset = 8;  // code offset (0: min field instead)
  static constexpr bool kX16 = true;
  static __m512i unpack(const Block* w) { return nib_x16(w[0].qs, w[1].qs); }
  static __m512i offset() {  // 8 per low nibble, 8*16 per high nibble
    return _mm512_setr_epi64(0x0808080808080808, 0x0808080808080808, 0x8080808080808080,
                             0x8080808080808080, 0x0808080808080808, 0x0808080808080808,
                             0x8080808080808080, 0x8080808080808080);
  }
};
struct Q41 {
  using Block = BlockQ4_1;
  static constexpr int kSb = 20, kMOff = 2;
  static constexpr int kOffset = 0;  // code offset (0: min field instead)
  static constexpr bool kX16 = true;
  static __m512i unpack(const Block* w) { return nib_x16(w[0].qs, w[1].qs); }
  static __m512i offset() { return _mm512_setzero_si512(); }
};
struct Q50 {
  using Block = BlockQ5_0;
  static constexpr int kSb = 22, kMOff = -1;
  static constexpr int kOffset = 16;  // code offset (0: min field instead)
  static constexpr bool kX16 = false;
  static __m512i unpack(const Block* w) { return q5_pair(w[0].qs, w[0].qh, w[1].qs, w[1].qh); }
  static __m512i offset() { return _mm512_set1_epi8(16); }
};
struct Q51 {
  using Block = BlockQ5_1;
  static constexpr int kSb = 24, kMOff = 2;
  static constexpr int kOffset = 0;  // code offset (0: min field instead)
  static constexpr bool kX16 = false;
  static __m512i unpack(const Block* w) { return q5_pair(w[0].qs, w[0].qh, w[1].qs, w[1].qh); }
  static __m512i offset() { return _mm512_setzero_si512(); }
};
struct Q80 {
  using Block = BlockQ8_0;
  static constexpr int kSb = 34, kMOff = -1;
  static constexpr int kOffset = 128;  // code offset (0: min field instead)
  static constexpr bool kX16 = false;
  // int8 w -> w + 128 as unsigned; the offset 128 * sum(a) is removed below.
  static __m512i unpack(const Block* w) {
    const __m512i v =
        _mm512_inserti64x4(_mm512_castsi256_si512(load256(w[0].qs)), load256(w[1].qs), 1);
    return _mm512_xor_si512(v, _mm512_set1_epi8(static_cast<char>(0x80)));
  }
  static __m512i offset() { return _mm512_set1_epi8(static_cast<char>(0x80)); }
};

// MXFP4: T[c] + 12 (0..24) as the unsigned code; the offset 12 * sum(a) is removed below. The
// nibbles are shifted down first (pshufb needs the index in the low 4 bits).
struct Mxfp4 {
  using Block = BlockMxfp4;
  static constexpr int kSb = 17, kMOff = -1;
  static constexpr int kOffset = 12;  // code offset (0: min field instead)
  static constexpr bool kX16 = false;
  static __m512i unpack(const Block* w) {
    const __m512i table = _mm512_broadcast_i32x4(
        _mm_setr_epi8(12, 13, 14, 15, 16, 18, 20, 24, 12, 11, 10, 9, 8, 6, 4, 0));
    const __m512i sh = _mm512_setr_epi64(0, 0, 4, 4, 0, 0, 4, 4);
    const __m512i c =
        _mm512_and_si512(_mm512_srlv_epi64(dup_pair(w[0].qs, w[1].qs), sh), _mm512_set1_epi8(0x0f));
    return _mm512_shuffle_epi8(table, c);
  }
  static __m512i offset() { return _mm512_set1_epi8(12); }
};

// The 8 e8m0 bytes of blocks 0..7 (17 bytes apart) as 2^(e-128) floats, exactly as
// mxfp4_scale: byte 17i sits in 16-bit word 17i/2, high half for odd i. Reads 128 bytes of the
// 136 of the 8 blocks.
inline __m256 mxfp4_scales8(const uint8_t* p) {
  alignas(64) static constexpr int16_t kIdx[32] = {0, 8, 17, 25, 34, 42, 51, 59};
  const __m512i words = _mm512_permutex2var_epi16(_mm512_loadu_si512(p), _mm512_load_si512(kIdx),
                                                  _mm512_loadu_si512(p + 64));
  const __m128i sh = _mm_setr_epi16(0, 8, 0, 8, 0, 8, 0, 8);
  const __m128i e16 =
      _mm_and_si128(_mm_srlv_epi16(_mm512_castsi512_si128(words), sh), _mm_set1_epi16(0xff));
  const __m256i e = _mm256_cvtepu16_epi32(e16);
  // e >= 2: (e - 1) << 23; e < 2 is a float subnormal, 0x00200000 << e.
  const __m256i normal = _mm256_slli_epi32(_mm256_sub_epi32(e, _mm256_set1_epi32(1)), 23);
  const __m256i sub = _mm256_sllv_epi32(_mm256_set1_epi32(0x00200000), e);
  const __m256i big = _mm256_cmpgt_epi32(e, _mm256_set1_epi32(1));
  return _mm256_castsi256_ps(_mm256_blendv_epi8(sub, normal, big));
}

template <class P>
inline constexpr bool kIsMxfp4 = std::is_same_v<typename P::Block, BlockMxfp4>;

// Weight scales of 8 consecutive blocks at p.
template <class P>
inline __m256 scales8(const uint8_t* p) {
  if constexpr (kIsMxfp4<P>) {
    return mxfp4_scales8(p);
  } else {
    return _mm256_cvtph_ps(fields8<P::kSb, 0>(p));
  }
}

// One block's weight scale, and the factor of its offset/min term (d, or m for the min types).
template <class P>
inline float scale1(const typename P::Block& w) {
  if constexpr (kIsMxfp4<P>) {
    return mxfp4_scale(w.e);
  } else {
    return h2f(w.d);
  }
}
template <class P>
inline float min_scale1(const typename P::Block& w) {
  if constexpr (P::kOffset == 0) {
    return h2f(w.m);
  } else {
    return scale1<P>(w);
  }
}

}  // namespace
}  // namespace ops::avx512vnni
