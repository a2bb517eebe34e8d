// Shared by the AVX2 tile kernels of the 32-element block types with Q8_0 activations
// (gemm_q_avx2.cpp: plain rows; gemm_x8_avx2.cpp: rows packed by 8 at load): the weight
// types' code tricks and the 8-row tiles. Internal linkage: AVX2-compiled files get the maddubs
// build, gemm_tiles_avx512.cpp (AVX-512 VNNI flags) the vpdpbusd build of the same tiles.
#pragma once
#include <algorithm>
#include <array>
#include <cstring>
#include <utility>
#include <vector>

#include "ops/x86/simd_avx2.h"

// 1 where the including file is compiled for AVX-512 VNNI with 256-bit EVEX forms: the 8-row
// tiles then multiply with vpdpbusd (one instruction per register) instead of maddubs + madd.
// The same for AVX-VNNI (gemm_*_avxvnni.cpp: the VEX vpdpbusd of AVX2-only Intel chips).
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
#define OPS_Q_TILES_VNNI 1
#define OPS_DPBUSD256 _mm256_dpbusd_epi32
#elif defined(__AVXVNNI__)
#define OPS_Q_TILES_VNNI 1
#define OPS_DPBUSD256 _mm256_dpbusd_avx_epi32
#else
#define OPS_Q_TILES_VNNI 0
#endif

namespace ops::avx2 {
using namespace ops::x86;

namespace {

// values(): signed weights (for the sign trick). Types with kOffset > 0 also give codes():
// values + kOffset as unsigned bytes small enough that maddubs cannot saturate, so the tiles
// multiply codes by activations directly and subtract kOffset * sum(a) per block afterwards.
struct Q4_0W {
  using Block = BlockQ4_0;
  static constexpr int kOffset = 8;
  static constexpr int kGroup = 8;  // maddubs results summable in int16: 8 * 2 * 15 * 128 < 2^15
  static constexpr bool kF16Scale = true;  // d: an f16 field
  static __m256i codes(const Block& b) { return nibbles32(b.qs); }
  static __m256i map_nibbles(__m256i x) { return x; }  // nibbles -> codes
  static __m256i values(const Block& b) {
    return _mm256_sub_epi8(nibbles32(b.qs), _mm256_set1_epi8(8));
  }
  static float scale(const Block& b) { return h2f(b.d); }
};
struct Q8_0W {
  using Block = BlockQ8_0;
  static constexpr int kOffset = 0;  // signed codes: the sign trick
  static constexpr int kGroup = 1;   // a pair of 127 * 127 products fills int16 already
  static constexpr bool kF16Scale = true;
  static __m256i values(const Block& b) { return load256(b.qs); }
  static float scale(const Block& b) { return h2f(b.d); }
};
// mxfp4_scale of every e8m0 byte, 2^(e-128) (a load instead of the bit assembly per block).
// Built at compile time: no code of this AVX2 file may run before the CPU check.
struct E8m0Table {
  float v[256];
};
constexpr E8m0Table make_e8m0_table() {
  E8m0Table t{};
  for (int e = 0; e < 256; e++) {
    double x = 1.0;
    for (int i = e; i < 128; i++) x /= 2;  // powers of two: exact in double and in float
    for (int i = 128; i < e; i++) x *= 2;
    t.v[e] = static_cast<float>(x);
  }
  return t;
}
constexpr E8m0Table kE8m0 = make_e8m0_table();

// The doubled E2M1 values plus 12: 0..24.
alignas(16) constexpr int8_t kMxfp4Codes[16] = {12, 13, 14, 15, 16, 18, 20, 24,
                                                12, 11, 10, 9,  8,  6,  4,  0};

struct Mxfp4W {
  using Block = BlockMxfp4;
  static constexpr int kOffset = 12;
  static constexpr int kGroup = 4;          // 4 * 2 * 24 * 128 < 2^15
  static constexpr bool kF16Scale = false;  // an e8m0 exponent
  static __m256i codes(const Block& b) { return map_nibbles(nibbles32(b.qs)); }
  static __m256i map_nibbles(__m256i x) {
    return _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(load128(kMxfp4Codes)), x);
  }
  static __m256i values(const Block& b) {
    const __m256i table = _mm256_broadcastsi128_si256(load128(kMxfp4Values));
    return _mm256_shuffle_epi8(table, nibbles32(b.qs));
  }
  static float scale(const Block& b) { return kE8m0.v[b.e]; }
};

constexpr int kTokenBlock = 32;  // tokens per pass over the rows of a call

// ---- 8-row interleaved tiles (prompt batches of >= 8 tokens) ----
// A group of 8 weight rows is unpacked once per call into a buffer that puts the rows in the
// lanes: per block, register j holds the codes of elements 4j..4j+3 of row r in int32 lane r
// (from plain rows an 8x8 transpose of 4-byte groups; from packed rows a nibble split), then
// the 8 rows' scales as floats. A token's 4 bytes
// 4j..4j+3 are broadcast to all lanes, so one maddubs multiplies 8 rows at once, the int16
// results of kGroup registers add before widening, and one FMA scales 8 rows (vs one
// maddubs + madd + convert + 2 float ops per row and token in the 2x4 tile).
constexpr int kG = 8;  // rows per group
template <class W>
constexpr size_t group_block_bytes() {
  return (W::kOffset > 0 ? 256 : 512) + 32;  // codes (+ signed values), 8 scales
}

// Rows[i] of 4-byte groups -> out[j] = group j of every row (lane i = row i).
inline void transpose8x8_i32(const __m256i* rows, __m256i* out) {
  __m256i t[8], u[8];
#pragma GCC unroll 8
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_epi32(rows[i], rows[i + 1]);
    t[i + 1] = _mm256_unpackhi_epi32(rows[i], rows[i + 1]);
  }
#pragma GCC unroll 8
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_unpacklo_epi64(t[i], t[i + 2]);
    u[i + 1] = _mm256_unpackhi_epi64(t[i], t[i + 2]);
    u[i + 2] = _mm256_unpacklo_epi64(t[i + 1], t[i + 3]);
    u[i + 3] = _mm256_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
#pragma GCC unroll 8
  for (int j = 0; j < 4; j++) {
    out[j] = _mm256_permute2x128_si256(u[j], u[j + 4], 0x20);
    out[j + 4] = _mm256_permute2x128_si256(u[j], u[j + 4], 0x31);
  }
}

inline __m256i bcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// The 8 rows' integer dots with one activation block (aq: its 32 codes) for the codes in
// c[0..8) (register j: elements 4j..4j+3 of row r in lane r; Q8_0 also needs the signed
// values in v). Offset types subtract asum = kOffset * sum(aq).
template <class W>
inline __m256i block_isum8(const __m256i* c, const __m256i* v, const int8_t* aq, int32_t asum) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i isum = _mm256_setzero_si256();
  if constexpr (W::kOffset > 0) {
#pragma GCC unroll 8
    for (int j0 = 0; j0 < kG; j0 += W::kGroup) {
      __m256i s16 = _mm256_maddubs_epi16(_mm256_loadu_si256(c + j0), bcast4(aq + 4 * j0));
#pragma GCC unroll 8
      for (int j = j0 + 1; j < j0 + W::kGroup; j++) {
        s16 = _mm256_add_epi16(s16,
                               _mm256_maddubs_epi16(_mm256_loadu_si256(c + j), bcast4(aq + 4 * j)));
      }
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(s16, ones));
    }
    return _mm256_sub_epi32(isum, _mm256_set1_epi32(asum));
  } else {
#pragma GCC unroll 8
    for (int j = 0; j < kG; j++) {
      const __m256i a = _mm256_sign_epi8(bcast4(aq + 4 * j), _mm256_loadu_si256(v + j));
      const __m256i p = _mm256_maddubs_epi16(_mm256_loadu_si256(c + j), a);
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, ones));
    }
    return isum;
  }
}

// One block of a group as the tiles read it: the 8 rows' scales and the code registers
// (for Q8_0 followed by the signed values, c + kG).
struct Block8 {
  __m256 dw;
  const __m256i* c;
};

// y[t * ldy + r] for the 8 rows of a group and T tokens. block(b, scratch) gives block b,
// decoding into scratch[kG] when the codes are not already laid out in memory.
// da[t * nb + b]: token block scales; asum[t * nb + b]: kOffset * the block's sum of codes.
template <class W, int T, class BlockFn>
inline void tile8_over(int64_t nb, const uint8_t* act, size_t as, const float* da,
                       const int32_t* asum, float* y, int64_t ldy, BlockFn block) {
  const BlockQ8_0* ar[T];
  for (int t = 0; t < T; t++) ar[t] = reinterpret_cast<const BlockQ8_0*>(act + t * as);
  __m256 acc[T];
#pragma GCC unroll 8
  for (int t = 0; t < T; t++) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    __m256i scratch[kG];
    const Block8 k = block(b, scratch);
#if OPS_Q_TILES_VNNI
    // The 8 code registers loaded once for the T tokens (32 registers hold them, T sums and T
    // accumulators); one dpbusd chain per token, the offset's correction as its start value.
    __m256i c[kG], isum[T];
#pragma GCC unroll 8
    for (int j = 0; j < kG; j++) c[j] = _mm256_loadu_si256(k.c + j);
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
      isum[t] = W::kOffset > 0 ? _mm256_set1_epi32(-asum[t * nb + b]) : _mm256_setzero_si256();
    }
#pragma GCC unroll 8
    for (int j = 0; j < kG; j++) {
#pragma GCC unroll 8
      for (int t = 0; t < T; t++) {
        __m256i a = bcast4(ar[t][b].qs + 4 * j);
        if constexpr (W::kOffset == 0) a = _mm256_sign_epi8(a, _mm256_loadu_si256(k.c + kG + j));
        isum[t] = OPS_DPBUSD256(isum[t], c[j], a);
      }
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t]),
                               _mm256_mul_ps(k.dw, _mm256_broadcast_ss(da + t * nb + b)), acc[t]);
    }
#else
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
      const __m256i isum = block_isum8<W>(k.c, k.c + kG, ar[t][b].qs, asum[t * nb + b]);
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum),
                               _mm256_mul_ps(k.dw, _mm256_broadcast_ss(da + t * nb + b)), acc[t]);
    }
#endif
  }
#pragma GCC unroll 8
  for (int t = 0; t < T; t++) _mm256_storeu_ps(y + t * ldy, acc[t]);
}

// tile8_over an unpacked group buffer g (group_block_bytes<W>() per block).
template <class W, int T>
void tile8(int64_t nb, const uint8_t* g, const uint8_t* act, size_t as, const float* da,
           const int32_t* asum, float* y, int64_t ldy) {
  constexpr size_t kBytes = group_block_bytes<W>();
  tile8_over<W, T>(nb, act, as, da, asum, y, ldy, [g](int64_t b, __m256i*) {
    const uint8_t* p = g + b * kBytes;
    return Block8{_mm256_loadu_ps(reinterpret_cast<const float*>(p + kBytes - 32)),
                  reinterpret_cast<const __m256i*>(p)};
  });
}

template <class W>
using Tile8Fn = void (*)(int64_t, const uint8_t*, const uint8_t*, size_t, const float*,
                         const int32_t*, float*, int64_t);
constexpr int kT8 = 4;  // tokens per 8-row tile
// Tokens per 8-row tile over unpacked groups: 4 in the AVX2 build (16 registers); in the VNNI
// build (32 registers) 8 for Q8_0, whose sign trick adds work per code register that 8 tokens
// share (pp256 on Zen 4: 144-156 -> 162-167 t/s), 4 for the offset types (8 measured slower
// for Q4_0: 202-208 -> 183-193).
template <class W>
constexpr int kTq = OPS_Q_TILES_VNNI&& W::kOffset == 0 ? 8 : kT8;
// kTile8<W>[m]: the tile for m = 1..kTq<W> tokens (only the widths a build uses are made).
template <class W, size_t... I>
constexpr std::array<Tile8Fn<W>, sizeof...(I) + 1> tile8_table(std::index_sequence<I...>) {
  return {nullptr, tile8<W, static_cast<int>(I) + 1>...};
}
template <class W>
constexpr auto kTile8 = tile8_table<W>(std::make_index_sequence<kTq<W>>());

// The sum of an activation block's 32 codes (for the offset types' correction).
inline int32_t code_sum(const BlockQ8_0& a) {
  const __m256i s16 = _mm256_maddubs_epi16(_mm256_set1_epi8(1), load256(a.qs));
  return hsum_i32(_mm256_madd_epi16(s16, _mm256_set1_epi16(1)));
}

// The 8-row tiles' view of an activation row: da[b] = block scale, asum[b] = kOffset * the
// sum of the block's codes (offset types).
template <class W>
void token_sums(const BlockQ8_0* ab, int64_t nb, float* da, int32_t* asum) {
  for (int64_t b = 0; b < nb; b++) {
    da[b] = h2f(ab[b].d);
    if constexpr (W::kOffset > 0) asum[b] = W::kOffset * code_sum(ab[b]);
  }
}

// The 8 rows' scales of block b as floats (one register: scalar stores read back as a
// vector stalled store forwarding once per block).
template <class W>
inline __m256 row_scales8(const uint8_t* w, size_t ws, int64_t b) {
  using B = typename W::Block;
  auto blk = [&](int r) -> const B& { return reinterpret_cast<const B*>(w + r * ws)[b]; };
  if constexpr (W::kF16Scale) {
    __m128i d16 = _mm_setzero_si128();
#pragma GCC unroll 8
    for (int r = 0; r < kG; r++) d16 = _mm_insert_epi16(d16, blk(r).d, r);
    return _mm256_cvtph_ps(d16);
  } else {
    return _mm256_setr_ps(W::scale(blk(0)), W::scale(blk(1)), W::scale(blk(2)), W::scale(blk(3)),
                          W::scale(blk(4)), W::scale(blk(5)), W::scale(blk(6)), W::scale(blk(7)));
  }
}

// Unpacks rows [0, 8) of w (rows ws bytes apart, nb blocks) into dst (nb group blocks).
// Nibble types (Q4_0, MXFP4): register j < 4 holds the low nibbles of code bytes 4j..4j+3 of
// each row (elements 4j..4j+3), j >= 4 their high nibbles (elements 16 + 4(j - 4)..), so the
// 8 rows' 16 code bytes need only a 4x4 transpose of 32-bit words per 128-bit lane (rows r and
// r + 4 share a register) before the split. Q8_0 transposes 8x8 words.
template <class W>
void unpack_q_group(int64_t nb, const uint8_t* w, size_t ws, uint8_t* dst) {
  using B = typename W::Block;
  constexpr size_t kBytes = group_block_bytes<W>();
  for (int64_t b = 0; b < nb; b++) {
    uint8_t* g = dst + b * kBytes;
    auto blk = [&](int r) -> const B& { return reinterpret_cast<const B*>(w + r * ws)[b]; };
    for (int r = 0; r < kG; r++) {
      // The rows come from DRAM once per call: fetch the next group's (groups are unpacked
      // back to back, a row is shorter than the hardware prefetcher's reach of a page).
      _mm_prefetch(reinterpret_cast<const char*>(&blk(r)) + kG * ws, _MM_HINT_T1);
    }
    if constexpr (W::kOffset > 0) {
      __m256i y[4];
      for (int r = 0; r < 4; r++) {
        y[r] = _mm256_loadu2_m128i(reinterpret_cast<const __m128i*>(blk(r + 4).qs),
                                   reinterpret_cast<const __m128i*>(blk(r).qs));
      }
      const __m256i t0 = _mm256_unpacklo_epi32(y[0], y[1]), t1 = _mm256_unpackhi_epi32(y[0], y[1]);
      const __m256i t2 = _mm256_unpacklo_epi32(y[2], y[3]), t3 = _mm256_unpackhi_epi32(y[2], y[3]);
      const __m256i words[4] = {_mm256_unpacklo_epi64(t0, t2), _mm256_unpackhi_epi64(t0, t2),
                                _mm256_unpacklo_epi64(t1, t3), _mm256_unpackhi_epi64(t1, t3)};
      const __m256i m4 = _mm256_set1_epi8(0x0f);
      for (int j = 0; j < 4; j++) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(g + 32 * j),
                            W::map_nibbles(_mm256_and_si256(words[j], m4)));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(g + 32 * (j + 4)),
                            W::map_nibbles(_mm256_and_si256(_mm256_srli_epi16(words[j], 4), m4)));
      }
    } else {
      __m256i rows[kG], cols[kG];
      for (int r = 0; r < kG; r++) rows[r] = W::values(blk(r));
      transpose8x8_i32(rows, cols);
      for (int j = 0; j < kG; j++) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(g + 32 * j),
                            _mm256_sign_epi8(cols[j], cols[j]));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(g + 256 + 32 * j), cols[j]);
      }
    }
    _mm256_storeu_ps(reinterpret_cast<float*>(g + kBytes - 32), row_scales8<W>(w, ws, b));
  }
}

// Rows [0, nr) (a multiple of 8) through the 8-row tiles: every group unpacked once (nr / 8
// groups of nb blocks: 26 KB per group for a 2880-wide MXFP4 row), then tokens in blocks of
// kTokenBlock over all groups, so the unpacked rows and the block's activations stay in L2.
// unpack(nb, w, ws, dst) writes the group of 8 rows at w into dst (nb group blocks).
template <class W, class Unpack>
void gemm_groups(int64_t nb, int nr, int nt, const uint8_t* w, size_t ws, const uint8_t* act,
                 size_t as, float* y, int64_t ldy, Unpack unpack) {
  thread_local std::vector<uint8_t> t_groups;
  thread_local std::vector<float> t_da;
  thread_local std::vector<int32_t> t_isums;
  const size_t group = nb * group_block_bytes<W>();
  const int ng = nr / kG;
  if (t_groups.size() < ng * group) t_groups.resize(ng * group);
  if (t_isums.size() < static_cast<size_t>(kTokenBlock * nb)) {
    t_isums.resize(kTokenBlock * nb);
    t_da.resize(kTokenBlock * nb);
  }
  uint8_t* groups = t_groups.data();
  float* da = t_da.data();
  int32_t* asum = t_isums.data();
  for (int g = 0; g < ng; g++) unpack(nb, w + g * kG * ws, ws, groups + g * group);
  for (int t0 = 0; t0 < nt; t0 += kTokenBlock) {
    const int t1 = std::min(nt, t0 + kTokenBlock);
    for (int t = t0; t < t1; t++) {
      token_sums<W>(reinterpret_cast<const BlockQ8_0*>(act + t * as), nb, da + (t - t0) * nb,
                    asum + (t - t0) * nb);
    }
    for (int g = 0; g < ng; g++) {
      for (int t = t0; t < t1; t += kTq<W>) {
        const int m = std::min(kTq<W>, t1 - t);
        kTile8<W>[m](nb, groups + g * group, act + t * as, as, da + (t - t0) * nb,
                     asum + (t - t0) * nb, y + t * ldy + g * kG, ldy);
      }
    }
  }
}

// Rows [0, nr) against nt >= 8 tokens: whole groups of 8 rows through the 8-row tiles, the rest
// of the rows through dot (the tiles' entry point for a kernel table that keeps its own kernels
// for smaller batches).
template <class W>
void gemm_rows8(int64_t n, int nr, int nt, const uint8_t* w, size_t ws, const uint8_t* act,
                size_t as, float* y, int64_t ldy,
                void (*dot)(int64_t, float*, const void*, const void*)) {
  const int r8 = nr / kG * kG;
  if (r8 > 0) gemm_groups<W>(n / 32, r8, nt, w, ws, act, as, y, ldy, unpack_q_group<W>);
  for (int r = r8; r < nr; r++) {
    for (int t = 0; t < nt; t++) dot(n, &y[t * ldy + r], w + r * ws, act + t * as);
  }
}

}  // namespace
}  // namespace ops::avx2
