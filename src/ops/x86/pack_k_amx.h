// Repacking of K-quant weights into AMX B tiles: one 256-code superblock of 16 weight rows at a
// time, as exact integer products sc * q split into a low (unsigned) and high (signed) byte.
// Internal to gemm_k_amx.cpp (included only from *_amx.cpp files; internal linkage).
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <type_traits>

#include "ops/x86/simd_avx2.h"

namespace ops::amx {
namespace {
using ops::x86::h2f;
using ops::x86::kscales_vec;
using ops::x86::load128;
using ops::x86::load256;
using ops::x86::q3k_scales16;

constexpr int kTile = 16;     // weight rows (B columns) and tokens (A rows) per tile
constexpr int kChunks = 4;    // 64-code K steps per superblock (one TDP each)
constexpr int kOrAnd = 0xea;  // vpternlog: (A & B) | C

// One superblock of 16 weight rows. Plane bytes are in the VNNI B layout: for the codes
// k = 64c + 4i + e of row r, byte [c][64i + 4r + e]. P = sc * q is the sub-block's integer
// scale times the code (|P| <= 4096), split exactly so that dot(a, P) = dot(a, lo) +
// 2^s * dot(a, hi), by the decoder's kSplit:
//   0: byte digits, lo = P & 255 (unsigned), hi = P >> 8 (signed), s = 8 (signed q or sc);
//   s > 0: scale digits, lo = q * (sc & (2^s - 1)), hi = q * (sc >> s), both unsigned;
//   -1: P fits an unsigned byte, lo = P, no hi plane.
// mn holds the sub-block's min m (types with mins: w = d * sc * q - dmin * m), so
// dot(a, mn) = sum_j m_j * sum(a over sub-block j).
struct alignas(64) PackedSuper {
  uint8_t lo[kChunks][1024];
  int8_t hi[kChunks][1024];
  uint8_t mn[kChunks][1024];
  float d[kTile];     // superblock scale of each row (0 for padding rows)
  float dmin[kTile];  // min scale (0 for types without mins)
};

// Per-row decoding into the staging area: 256 int8 codes in element order, and one dword per
// sub-block j holding (int16 scale sc_j) | (uint8 min m_j) << 16.
struct alignas(64) PackStaging {
  int8_t codes[kTile][256];
  __m512i sm[kTile];
};

inline __m512i bcast256(const void* p) { return _mm512_broadcast_i64x4(load256(p)); }
inline __m512i halves(int64_t lo, int64_t hi) {
  return _mm512_setr_epi64(lo, lo, lo, lo, hi, hi, hi, hi);
}
inline __m512i sm_dwords(__m128i sc, __m128i m, __mmask16 k, bool sc_signed) {
  const __m512i s =
      sc_signed ? _mm512_maskz_cvtepi8_epi32(k, sc) : _mm512_maskz_cvtepu8_epi32(k, sc);
  return _mm512_or_si512(_mm512_and_si512(s, _mm512_set1_epi32(0xffff)),
                         _mm512_slli_epi32(_mm512_maskz_cvtepu8_epi32(k, m), 16));
}
inline void store512(void* p, __m512i v) { _mm512_storeu_si512(p, v); }

// ---- per-type row decoders (same bit layouts as the scalar unpackers in ops/quant_k.cpp) ----

struct DecodeQ4K {
  using Block = BlockQ4_K;
  static constexpr int kSub = 32;
  static constexpr bool kMins = true;
  static constexpr int kSplit = 4;  // q <= 15: q * (sc & 15) and q * (sc >> 4) fit a byte
  // Codes are transposed straight from qs (pack_super): chunk c's tile row i < 8 holds the low
  // nibbles of qs[32c + 4i .. + 3], row 8 + i their high nibbles.
  static constexpr bool kNibbles = true;
  static void scales(const Block& b, __m512i* sm, float* d, float* dmin) {
    const __m128i scm = kscales_vec(b.scales);  // sc[0..7], m[0..7]
    *sm = sm_dwords(scm, _mm_srli_si128(scm, 8), 0x00ff, false);
    *d = h2f(b.d);
    *dmin = h2f(b.dmin);
  }
  static void row(const Block& b, int8_t* q, __m512i* sm, float* d, float* dmin) {
    scales(b, sm, d, dmin);
    const __m512i m4 = _mm512_set1_epi8(0x0f), sh = halves(0, 4);
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++)
      store512(q + 64 * c, _mm512_and_si512(_mm512_srlv_epi64(bcast256(b.qs + 32 * c), sh), m4));
  }
};

struct DecodeQ5K {
  using Block = BlockQ5_K;
  static constexpr int kSub = 32;
  static constexpr bool kMins = true;
  static constexpr int kSplit = 3;  // q <= 31: q * (sc & 7) and q * (sc >> 3) fit a byte
  static void row(const Block& b, int8_t* q, __m512i* sm, float* d, float* dmin) {
    const __m128i scm = kscales_vec(b.scales);
    *sm = sm_dwords(scm, _mm_srli_si128(scm, 8), 0x00ff, false);
    *d = h2f(b.d);
    *dmin = h2f(b.dmin);
    const __m512i m4 = _mm512_set1_epi8(0x0f), h10 = _mm512_set1_epi8(0x10), sh = halves(0, 4);
    const __m512i qh = bcast256(b.qh);
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
      // Chunk c = sub-blocks 2c, 2c+1: their qh bits rotated to bit 4 of each byte.
      const __m512i hb =
          _mm512_and_si512(_mm512_rolv_epi64(qh, halves((4 - 2 * c) & 63, (3 - 2 * c) & 63)), h10);
      store512(q + 64 * c, _mm512_ternarylogic_epi64(_mm512_srlv_epi64(bcast256(b.qs + 32 * c), sh),
                                                     m4, hb, kOrAnd));
    }
  }
};

struct DecodeQ6K {
  using Block = BlockQ6_K;
  static constexpr int kSub = 16;
  static constexpr bool kMins = false;
  static constexpr int kSplit = 0;  // signed codes and scales: byte digits of the product
  static void row(const Block& b, int8_t* q, __m512i* sm, float* d, float* dmin) {
    *sm = sm_dwords(load128(b.scales), _mm_setzero_si128(), 0xffff, true);
    *d = h2f(b.d);
    *dmin = 0.0f;
    const __m512i m4 = _mm512_set1_epi8(0x0f), m30 = _mm512_set1_epi8(0x30);
    const __m512i k32 = _mm512_set1_epi8(32);
    const __m512i sh_a = halves(4, 2), sh_b = halves(0, 2);
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
      const __m512i ql = _mm512_loadu_si512(b.ql + 64 * h);
      const __m512i qh = bcast256(b.qh + 32 * h);
      const __m512i ua = _mm512_ternarylogic_epi64(
          ql, m4, _mm512_and_si512(_mm512_sllv_epi64(qh, sh_a), m30), kOrAnd);
      const __m512i ub = _mm512_ternarylogic_epi64(
          _mm512_srli_epi16(ql, 4), m4, _mm512_and_si512(_mm512_srlv_epi64(qh, sh_b), m30), kOrAnd);
      store512(q + 128 * h, _mm512_sub_epi8(ua, k32));
      store512(q + 128 * h + 64, _mm512_sub_epi8(ub, k32));
    }
  }
};

// Q2_K and Q3_K: 2-bit codes (Q3_K: plus the hmask bit, offset -4), 16 sub-blocks of 16.
template <bool kQ3>
struct DecodeQ23K {
  using Block = std::conditional_t<kQ3, BlockQ3_K, BlockQ2_K>;
  static constexpr int kSub = 16;
  static constexpr bool kMins = !kQ3;
  static constexpr int kSplit = kQ3 ? 0 : -1;  // Q2_K: q * sc <= 45, one plane
  static void row(const Block& b, int8_t* q, __m512i* sm, float* d, float* dmin) {
    const __m512i m3 = _mm512_set1_epi8(3), m4 = _mm512_set1_epi8(4);
    const __m512i sh0 = halves(0, 2), sh1 = halves(4, 6);
    __m512i hm = _mm512_setzero_si512();
    if constexpr (kQ3) {
      *sm = sm_dwords(q3k_scales16(b.scales), _mm_setzero_si128(), 0xffff, true);
      *d = h2f(b.d);
      *dmin = 0.0f;
      hm = bcast256(b.hmask);
    } else {
      const __m128i s8 = load128(b.scales), m0f = _mm_set1_epi8(0x0f);
      *sm = sm_dwords(_mm_and_si128(s8, m0f), _mm_and_si128(_mm_srli_epi16(s8, 4), m0f), 0xffff,
                      false);
      *d = h2f(b.d);
      *dmin = h2f(b.dmin);
    }
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
      const __m512i v = bcast256(b.qs + 32 * h);
      __m512i u0 = _mm512_and_si512(_mm512_srlv_epi64(v, sh0), m3);
      __m512i u1 = _mm512_and_si512(_mm512_srlv_epi64(v, sh1), m3);
      if constexpr (kQ3) {
        // Chunk c = 2h + s covers hmask bits 2c, 2c+1: rotate them to bit 2, then subtract 4.
        const int c0 = 2 * h, c1 = 2 * h + 1;
        u0 = _mm512_or_si512(
            u0, _mm512_and_si512(
                    _mm512_rolv_epi64(hm, halves((2 - 2 * c0) & 63, (1 - 2 * c0) & 63)), m4));
        u1 = _mm512_or_si512(
            u1, _mm512_and_si512(
                    _mm512_rolv_epi64(hm, halves((2 - 2 * c1) & 63, (1 - 2 * c1) & 63)), m4));
        u0 = _mm512_sub_epi8(u0, m4);
        u1 = _mm512_sub_epi8(u1, m4);
      }
      store512(q + 128 * h, u0);
      store512(q + 128 * h + 64, u1);
    }
  }
};

template <class D>
constexpr bool nibble_codes() {
  if constexpr (requires { D::kNibbles; }) {
    return D::kNibbles;
  } else {
    return false;
  }
}

// In-register transpose of a 16x16 matrix of dwords: r[i] lane j <- r[j] lane i.
inline void transpose16(__m512i* r) {
  __m512i t[16], u[16];
#pragma GCC unroll 8
  for (int i = 0; i < 8; i++) {
    t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  // u[4g + e], 128-bit lane k: rows 4g..4g+3 of column 4k + e.
#pragma GCC unroll 4
  for (int g = 0; g < 4; g++) {
    u[4 * g + 0] = _mm512_unpacklo_epi64(t[4 * g], t[4 * g + 2]);
    u[4 * g + 1] = _mm512_unpackhi_epi64(t[4 * g], t[4 * g + 2]);
    u[4 * g + 2] = _mm512_unpacklo_epi64(t[4 * g + 1], t[4 * g + 3]);
    u[4 * g + 3] = _mm512_unpackhi_epi64(t[4 * g + 1], t[4 * g + 3]);
  }
#pragma GCC unroll 4
  for (int e = 0; e < 4; e++) {
    const __m512i x01 = _mm512_shuffle_i32x4(u[e], u[4 + e], 0x44);
    const __m512i x23 = _mm512_shuffle_i32x4(u[e], u[4 + e], 0xee);
    const __m512i y01 = _mm512_shuffle_i32x4(u[8 + e], u[12 + e], 0x44);
    const __m512i y23 = _mm512_shuffle_i32x4(u[8 + e], u[12 + e], 0xee);
    r[e] = _mm512_shuffle_i32x4(x01, y01, 0x88);
    r[4 + e] = _mm512_shuffle_i32x4(x01, y01, 0xdd);
    r[8 + e] = _mm512_shuffle_i32x4(x23, y23, 0x88);
    r[12 + e] = _mm512_shuffle_i32x4(x23, y23, 0xdd);
  }
}

// Packs superblock `b` of rows [0, n_rows) (n_rows <= 16; the rest are zero) into ps.
template <class D>
void pack_super(const uint8_t* w, size_t w_stride, int n_rows, int64_t b, PackStaging& st,
                PackedSuper& ps) {
  using Block = typename D::Block;
  auto block = [&](int r) { return reinterpret_cast<const Block*>(w + r * w_stride) + b; };
  for (int r = 0; r < kTile; r++) {
    if (r < n_rows) {
      if constexpr (nibble_codes<D>()) {
        D::scales(*block(r), &st.sm[r], &ps.d[r], &ps.dmin[r]);
      } else {
        D::row(*block(r), st.codes[r], &st.sm[r], &ps.d[r], &ps.dmin[r]);
      }
    } else {
      if constexpr (!nibble_codes<D>()) {
#pragma GCC unroll 4
        for (int c = 0; c < 4; c++) store512(st.codes[r] + 64 * c, _mm512_setzero_si512());
      }
      st.sm[r] = _mm512_setzero_si512();
      ps.d[r] = ps.dmin[r] = 0.0f;
    }
  }
  // sm[j] becomes sub-block j across the 16 rows; per-row scale words repeated in both halves
  // of each dword (for the even/odd byte products) and mins repeated in all four bytes.
  __m512i sm[kTile];
#pragma GCC unroll 16
  for (int r = 0; r < kTile; r++) sm[r] = st.sm[r];
  transpose16(sm);
  constexpr int kNumSub = 256 / D::kSub;
  __m512i sw[kNumSub], sh[kNumSub], mv[kNumSub];
  const __m512i lo16 = _mm512_set1_epi32(0xffff);
#pragma GCC unroll 16
  for (int j = 0; j < kNumSub; j++) {
    const __m512i x = _mm512_and_si512(sm[j], lo16);
    if constexpr (D::kSplit > 0) {
      const __m512i l = _mm512_and_si512(x, _mm512_set1_epi32((1 << D::kSplit) - 1));
      const __m512i h = _mm512_srli_epi32(x, D::kSplit);
      sw[j] = _mm512_or_si512(l, _mm512_slli_epi32(l, 16));
      sh[j] = _mm512_or_si512(h, _mm512_slli_epi32(h, 16));
    } else {
      sw[j] = _mm512_or_si512(x, _mm512_slli_epi32(x, 16));
    }
    if constexpr (D::kMins) {
      const __m512i m = _mm512_srli_epi32(sm[j], 16);
      const __m512i m2 = _mm512_or_si512(m, _mm512_slli_epi32(m, 8));
      mv[j] = _mm512_or_si512(m2, _mm512_slli_epi32(m2, 16));
    }
  }
  const __m512i lo_mask = _mm512_set1_epi16(0x00ff), hi_mask = _mm512_set1_epi16(-256);
  // Tile row i of chunk c from the codes t (dword r = codes 64c + 4i .. + 3 of row r).
  auto emit = [&](int c, int i, __m512i t) {
    const int j = (64 * c + 4 * i) / D::kSub;
    if constexpr (D::kSplit != 0) {
      // Unsigned byte products below 256 never carry into the neighbouring byte.
      store512(ps.lo[c] + 64 * i, _mm512_mullo_epi16(t, sw[j]));
      if constexpr (D::kSplit > 0) store512(ps.hi[c] + 64 * i, _mm512_mullo_epi16(t, sh[j]));
    } else {
      // Signed byte products in 16-bit lanes, even and odd bytes separately.
      const __m512i even = _mm512_srai_epi16(_mm512_slli_epi16(t, 8), 8);
      const __m512i odd = _mm512_srai_epi16(t, 8);
      const __m512i pe = _mm512_mullo_epi16(even, sw[j]);
      const __m512i po = _mm512_mullo_epi16(odd, sw[j]);
      store512(ps.lo[c] + 64 * i,
               _mm512_ternarylogic_epi64(pe, lo_mask, _mm512_slli_epi16(po, 8), kOrAnd));
      store512(ps.hi[c] + 64 * i,
               _mm512_ternarylogic_epi64(po, hi_mask, _mm512_srli_epi16(pe, 8), kOrAnd));
    }
    if constexpr (D::kMins) store512(ps.mn[c] + 64 * i, mv[j]);
  };
  if constexpr (nibble_codes<D>()) {
    const __m512i m4 = _mm512_set1_epi8(0x0f);
#pragma GCC unroll 1
    for (int h = 0; h < 2; h++) {  // qs bytes 64h .. 64h + 63 = chunks 2h, 2h + 1
      __m512i t[kTile];
#pragma GCC unroll 16
      for (int r = 0; r < kTile; r++) {
        t[r] = r < n_rows ? _mm512_loadu_si512(block(r)->qs + 64 * h) : _mm512_setzero_si512();
      }
      transpose16(t);  // t[k]: qs bytes 64h + 4k .. + 3 of each row r in dword r
#pragma GCC unroll 16
      for (int k = 0; k < kTile; k++) {
        const int c = 2 * h + k / 8, i = k % 8;
        emit(c, i, _mm512_and_si512(t[k], m4));
        emit(c, i + 8, _mm512_and_si512(_mm512_srli_epi16(t[k], 4), m4));
      }
    }
  } else {
#pragma GCC unroll 1
    for (int c = 0; c < kChunks; c++) {
      __m512i t[kTile];
#pragma GCC unroll 16
      for (int r = 0; r < kTile; r++) t[r] = _mm512_load_si512(st.codes[r] + 64 * c);
      transpose16(t);  // t[i]: codes 64c + 4i .. + 3 of each row r in dword r
#pragma GCC unroll 16
      for (int i = 0; i < kTile; i++) emit(c, i, t[i]);
    }
  }
}

}  // namespace
}  // namespace ops::amx
