// The 8-row K-quant tiles (Q2_K..Q6_K with Q8_K activations) shared by gemm_k_avx2.cpp and
// gemm_tiles_avx512.cpp. A group of 8 weight rows is unpacked once per call into a buffer with the
// rows in the lanes (per 256-block: register j holds the signed values 4j..4j+3 of row r in int32
// lane r), a token's 4 activation bytes are broadcast, and one multiply-add instruction takes 8
// rows. The activations are the unsigned operand, offset by 128 (a + 128, made once per token
// block), so the weight registers are the memory operand; the offset's share, 128 * sum(scale *
// value) per row, is weight-only and computed at unpack.
// Two builds of the same tiles, chosen by the including file's target flags:
//  - AVX2: maddubs (int16 pairs, kGroup of them added in int16), then madd with the sub-block
//    scales as int16 pairs: per (8 rows, token, 256-block) 64 maddubs, 16-32 madds.
//  - AVX-512 VNNI + VL (still 256-bit registers: Zen 4 runs 512-bit ops as two halves): one
//    vpdpbusd per register into a per-unit int32 sum, then one vpmulld by the unit's scale: 64
//    dpbusd and 8-16 mullo per (8 rows, token, 256-block), no int16 stage.
// Q2_K/Q4_K/Q5_K mins are sum over 16-element sub-blocks of min * bsums, one madd per pair of
// sub-blocks. Integer parts are exact; results differ from the scalar dots only by float
// summation order. Internal linkage: each including file gets its own copy for its ISA.
#pragma once
#include <algorithm>
#include <vector>

#include "ops/x86/k_codes_avx2.h"
#include "ops/x86/simd_avx2.h"
#include "ops/x86/tiles_avx2.h"

// 1 where the including file is compiled for AVX-512 VNNI with 256-bit EVEX forms, or for
// AVX-VNNI (OPS_DPBUSD256 from tiles_avx2.h picks the instruction's form).
#if (defined(__AVX512VNNI__) && defined(__AVX512VL__)) || defined(__AVXVNNI__)
#define OPS_K_TILES_VNNI 1
#else
#define OPS_K_TILES_VNNI 0
#endif

namespace ops::avx2 {
using namespace ops::x86;

namespace {

// A K type as the tiles read it (its codes from k_codes_avx2.h; the value is code -
// kCodeOffset: Q3_K and Q6_K store values + 4 / + 32):
//   kMaxAbs: the largest |value|;
//   kMins: the type has mins (then coef below is used, else the second term is zero);
//   scales(b, unit, coef, d, dc): the kUnits scales (unit u covers 256 / kUnits elements) as
//     int32 lanes of kUnits / 8 registers, the 16 int16 coefficients of the 16-element
//     sub-blocks' activation sums in one register, and the float factors of the two terms:
//     dot = d * sum(unit * code * a) - dc * sum(coef * bsum).
// kGroup: maddubs results (|value| max * 255 * 2 each) that add up in int16 before widening.
// Bytes 8..15 (the mins of kscales_vec) each twice: the mins of the 16-element sub-blocks.
// (A byte table, not a vector constant: no code of these files may run before the CPU check.)
alignas(16) constexpr int8_t kDupMins[16] = {8,  8,  9,  9,  10, 10, 11, 11,
                                             12, 12, 13, 13, 14, 14, 15, 15};

// Q4_K and Q5_K: 8 sub-blocks of 32 with 6-bit scales and mins (the same fields).
template <class B>
struct Q45KScales {
  static void scales(const B& b, __m256i* unit, __m256i* coef, float* d, float* dc) {
    const __m128i scm = kscales_vec(b.scales);  // sc[0..7], m[0..7]
    unit[0] = _mm256_cvtepu8_epi32(scm);
    *coef = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(scm, load128(kDupMins)));
    *d = h2f(b.d);
    *dc = h2f(b.dmin);
  }
};

struct Q4KW : Q45KScales<BlockQ4_K> {
  using Block = BlockQ4_K;
  static constexpr int kUnits = 8, kGroup = 4;  // 4 * 2 * 15 * 255 < 2^15
  static constexpr int kCodeOffset = 0, kMaxAbs = 15;
  static constexpr bool kMins = true;
};

struct Q5KW : Q45KScales<BlockQ5_K> {
  using Block = BlockQ5_K;
  static constexpr int kUnits = 8, kGroup = 2;  // 2 * 2 * 31 * 255 < 2^15
  static constexpr int kCodeOffset = 0, kMaxAbs = 31;
  static constexpr bool kMins = true;
};

// Q6_K: codes = value + 32 in 0..63.
struct Q6KW {
  using Block = BlockQ6_K;
  static constexpr int kUnits = 16, kGroup = 2;  // 2 * 2 * 32 * 255 < 2^15
  static constexpr int kCodeOffset = 32, kMaxAbs = 32;
  static constexpr bool kMins = false;
  static void scales(const Block& b, __m256i* unit, __m256i* coef, float* d, float* dc) {
    const __m128i sc = load128(b.scales);
    unit[0] = _mm256_cvtepi8_epi32(sc);
    unit[1] = _mm256_cvtepi8_epi32(_mm_srli_si128(sc, 8));
    *coef = _mm256_setzero_si256();  // no mins
    *d = *dc = h2f(b.d);
  }
};

// Q3_K: codes = value + 4 in 0..7 (the hmask bit is the third bit).
struct Q3KW {
  using Block = BlockQ3_K;
  static constexpr int kUnits = 16, kGroup = 4;
  static constexpr int kCodeOffset = 4, kMaxAbs = 4;
  static constexpr bool kMins = false;
  static void scales(const Block& b, __m256i* unit, __m256i* coef, float* d, float* dc) {
    const __m128i sc = q3k_scales16(b.scales);
    unit[0] = _mm256_cvtepi8_epi32(sc);
    unit[1] = _mm256_cvtepi8_epi32(_mm_srli_si128(sc, 8));
    *coef = _mm256_setzero_si256();  // no mins
    *d = *dc = h2f(b.d);
  }
};

struct Q2KW {
  using Block = BlockQ2_K;
  static constexpr int kUnits = 16, kGroup = 4;
  static constexpr int kCodeOffset = 0, kMaxAbs = 3;
  static constexpr bool kMins = true;
  static void scales(const Block& b, __m256i* unit, __m256i* coef, float* d, float* dc) {
    const __m128i s8 = load128(b.scales), m4 = _mm_set1_epi8(0x0f);
    const __m128i sc = _mm_and_si128(s8, m4);
    unit[0] = _mm256_cvtepu8_epi32(sc);
    unit[1] = _mm256_cvtepu8_epi32(_mm_srli_si128(sc, 8));
    *coef = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(s8, 4), m4));
    *d = h2f(b.d);
    *dc = h2f(b.dmin);
  }
};

// One 256-block of a group of 8 rows, unpacked: 64 value registers, kUnits scale registers
// (lane r: row r's scale twice, as the int16 pair madd multiplies; with VNNI once, as int32),
// 8 min registers (lane r:
// row r's mins of sub-blocks 2p and 2p+1), the rows' d and dc, and the rows' 128 * sum(scale
// * value) (the activation offset's share, as int32).
template <class W>
constexpr size_t kGroupBlock = (64 + W::kUnits + 8 + 3) * 32;

// The integer part of one 256-block for T tokens: sum over units of scale * sum(x * value),
// x[t] the tokens' unsigned activation bytes, added to isum[t].
template <class W, int T>
inline void block_isum(const __m256i* c, const __m256i* unit, const uint8_t* const* x,
                       __m256i* isum) {
  constexpr int kRegsPerUnit = 64 / W::kUnits;
#if OPS_K_TILES_VNNI
  // unit[u]: row r's scale u as int32 in lane r. Each value register is loaded once for the T
  // tokens; two partial sums per token keep 2T dpbusd chains in flight.
  for (int u = 0; u < W::kUnits; u++) {
    __m256i p[T][2];
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) p[t][0] = p[t][1] = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int j = 0; j < kRegsPerUnit; j++) {
      const int i = u * kRegsPerUnit + j;  // register i: elements 4i..4i+3
      const __m256i cv = _mm256_load_si256(c + i);
#pragma GCC unroll 8
      for (int t = 0; t < T; t++) {
        const auto* xi = reinterpret_cast<const int8_t*>(x[t] + 4 * i);
        p[t][j & 1] = OPS_DPBUSD256(p[t][j & 1], bcast4(xi), cv);
      }
    }
    const __m256i sc = _mm256_load_si256(unit + u);
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
      isum[t] =
          _mm256_add_epi32(isum[t], _mm256_mullo_epi32(_mm256_add_epi32(p[t][0], p[t][1]), sc));
    }
  }
#else
  static_assert(kRegsPerUnit % W::kGroup == 0);
  for (int k = 0; k < 8; k++) {  // 32 elements: 8 value registers
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
      const auto* xk = reinterpret_cast<const int8_t*>(x[t] + 32 * k);
#pragma GCC unroll 8
      for (int j0 = 0; j0 < 8; j0 += W::kGroup) {
        __m256i s16 = _mm256_maddubs_epi16(bcast4(xk + 4 * j0), _mm256_load_si256(c + 8 * k + j0));
#pragma GCC unroll 8
        for (int j = j0 + 1; j < j0 + W::kGroup; j++) {
          s16 = _mm256_add_epi16(
              s16, _mm256_maddubs_epi16(bcast4(xk + 4 * j), _mm256_load_si256(c + 8 * k + j)));
        }
        const __m256i sc = _mm256_load_si256(unit + (8 * k + j0) / kRegsPerUnit);
        isum[t] = _mm256_add_epi32(isum[t], _mm256_madd_epi16(s16, sc));
      }
    }
  }
#endif
}

template <class W>
void unpack_group(int64_t nb, const uint8_t* w, size_t ws, uint8_t* dst) {
  using B = typename W::Block;
  for (int64_t b = 0; b < nb; b++) {
    auto* out = reinterpret_cast<__m256i*>(dst + b * kGroupBlock<W>);
    constexpr int kU8 = W::kUnits / 8;
    // int32 lane x -> its low int16 twice (madd's pair).
    const __m256i twice = _mm256_setr_epi8(0, 1, 0, 1, 4, 5, 4, 5, 8, 9, 8, 9, 12, 13, 12, 13,  //
                                           0, 1, 0, 1, 4, 5, 4, 5, 8, 9, 8, 9, 12, 13, 12, 13);
    __m256i c[kG][8], unit[kU8][kG], coef[kG];
    alignas(32) float d[kG], dc[kG];
    for (int r = 0; r < kG; r++) {
      const B& blk = reinterpret_cast<const B*>(w + r * ws)[b];
      // The rows come from DRAM once per call: fetch the next group's (every cache line of
      // a block: K blocks are 84-210 bytes).
      const char* next = reinterpret_cast<const char*>(&blk) + kG * ws;
      for (size_t off = 0; off < sizeof(B); off += 64) _mm_prefetch(next + off, _MM_HINT_T1);
      k_codes(blk, c[r]);
      if constexpr (W::kCodeOffset > 0) {
#pragma GCC unroll 8
        for (int k = 0; k < 8; k++)
          c[r][k] = _mm256_sub_epi8(c[r][k], _mm256_set1_epi8(W::kCodeOffset));
      }
      __m256i u[kU8];
      W::scales(blk, u, &coef[r], &d[r], &dc[r]);
#pragma GCC unroll 8
      for (int i = 0; i < kU8; i++)
        unit[i][r] = OPS_K_TILES_VNNI ? u[i] : _mm256_shuffle_epi8(u[i], twice);
    }
#pragma GCC unroll 8
    for (int k = 0; k < 8; k++) {
      __m256i rows[kG];
#pragma GCC unroll 8
      for (int r = 0; r < kG; r++) rows[r] = c[r][k];
      transpose8x8_i32(rows, out + 8 * k);
    }
#pragma GCC unroll 8
    for (int i = 0; i < kU8; i++) transpose8x8_i32(unit[i], out + 64 + 8 * i);
    if constexpr (W::kMins) transpose8x8_i32(coef, out + 64 + W::kUnits);
    _mm256_store_ps(reinterpret_cast<float*>(out + 72 + W::kUnits), _mm256_load_ps(d));
    _mm256_store_ps(reinterpret_cast<float*>(out + 73 + W::kUnits), _mm256_load_ps(dc));
    // 128 * sum(scale * value) per row: the block's integer part for activations of all
    // zeros. A unit's values add up in int8 first (|sum| <= 8 * 15 or 4 * 32), then one
    // maddubs by 1 and one madd by the scales.
    constexpr int kRegsPerUnit = 64 / W::kUnits;
    const __m256i one8 = _mm256_set1_epi8(1);
    __m256i ksum = _mm256_setzero_si256();
    // Registers per int8 sum: kSum * kMaxAbs <= 128 (the positive values stop at 127 below it).
    constexpr int kSum = std::min(kRegsPerUnit, 128 / W::kMaxAbs);
    static_assert(kRegsPerUnit % kSum == 0);
    for (int u = 0; u < W::kUnits; u++) {
      __m256i s16 = _mm256_setzero_si256();
      for (int j0 = 0; j0 < kRegsPerUnit; j0 += kSum) {
        __m256i v = out[u * kRegsPerUnit + j0];
        for (int j = j0 + 1; j < j0 + kSum; j++) v = _mm256_add_epi8(v, out[u * kRegsPerUnit + j]);
        s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(one8, v));
      }
#if OPS_K_TILES_VNNI
      ksum = _mm256_add_epi32(
          ksum, _mm256_mullo_epi32(_mm256_madd_epi16(s16, _mm256_set1_epi16(1)), out[64 + u]));
#else
      ksum = _mm256_add_epi32(ksum, _mm256_madd_epi16(s16, out[64 + u]));
#endif
    }
    _mm256_store_si256(out + 74 + W::kUnits, _mm256_slli_epi32(ksum, 7));
  }
}

// y[t * ldy + r] for the 8 rows of an unpacked group g and T tokens: x[t] their activation
// bytes + 128 (nb * 256), a[t] their Q8_K rows (scales, bsums).
template <class W, int T>
void ktile(int64_t nb, const uint8_t* g, const uint8_t* const* x, const BlockQ8_K* const* a,
           float* y, int64_t ldy) {
  __m256 acc[T];
#pragma GCC unroll 8
  for (int t = 0; t < T; t++) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    const auto* c = reinterpret_cast<const __m256i*>(g + b * kGroupBlock<W>);
    const __m256i* unit = c + 64;
    const __m256i* coef = unit + W::kUnits;
    const __m256 dw = _mm256_load_ps(reinterpret_cast<const float*>(coef + 8));
    const __m256 dc = _mm256_load_ps(reinterpret_cast<const float*>(coef + 9));
    const __m256i k128 = _mm256_load_si256(coef + 10);
    __m256i isum[T];
    const uint8_t* xb[T];
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
      isum[t] = _mm256_sub_epi32(_mm256_setzero_si256(), k128);
      xb[t] = x[t] + b * kQK_K;
    }
    block_isum<W, T>(c, unit, xb, isum);
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
      const __m256 da = _mm256_set1_ps(a[t][b].d);
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t]), _mm256_mul_ps(dw, da), acc[t]);
      if constexpr (W::kMins) {
        const int8_t* bs = reinterpret_cast<const int8_t*>(a[t][b].bsums);
        __m256i corr = _mm256_madd_epi16(_mm256_load_si256(coef), bcast4(bs));
#pragma GCC unroll 8
        for (int p = 1; p < 8; p++) {
          corr = _mm256_add_epi32(
              corr, _mm256_madd_epi16(_mm256_load_si256(coef + p), bcast4(bs + 4 * p)));
        }
        acc[t] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(corr), _mm256_mul_ps(dc, da), acc[t]);
      }
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < T; t++) _mm256_storeu_ps(y + t * ldy, acc[t]);
}

template <class W>
using KTileFn = void (*)(int64_t, const uint8_t*, const uint8_t* const*, const BlockQ8_K* const*,
                         float*, int64_t);
template <class W>
constexpr KTileFn<W> kKTile[kT8 + 1] = {nullptr, ktile<W, 1>, ktile<W, 2>, ktile<W, 3>,
                                        ktile<W, 4>};

// From 8 tokens on (the unpack of a group costs about 2 tokens' tiles), whole groups of 8 rows
// through the tiles: all groups of the call unpacked once, then tokens in blocks of
// kTokenBlock over all groups so the unpacked rows and the block's activations stay in L2.
template <class W>
void gemm(int64_t n, int nr, int nt, const void* vw, size_t ws, const void* vact, size_t as,
          float* y, int64_t ldy, void (*dot)(int64_t, float*, const void*, const void*)) {
  const auto* w = static_cast<const uint8_t*>(vw);
  const auto* act = static_cast<const uint8_t*>(vact);
  const int64_t nb = n / kQK_K;
  const int r8 = nt >= 2 * kT8 ? nr / kG * kG : 0;
  if (r8 > 0) {
    thread_local std::vector<uint8_t> t_groups;
    const size_t group = nb * kGroupBlock<W>;
    const int ng = r8 / kG;
    if (t_groups.size() < ng * group + 32) t_groups.resize(ng * group + 32);
    // unpack_group stores whole registers: 32-byte aligned.
    auto* groups = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(t_groups.data()) + 31) &
                                              ~uintptr_t{31});
    for (int gi = 0; gi < ng; gi++) unpack_group<W>(nb, w + gi * kG * ws, ws, groups + gi * group);
    thread_local std::vector<uint8_t> t_x;
    const size_t xrow = nb * kQK_K;
    if (t_x.size() < kTokenBlock * xrow + 32) t_x.resize(kTokenBlock * xrow + 32);
    auto* xs =
        reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(t_x.data()) + 31) & ~uintptr_t{31});
    const __m256i bias = _mm256_set1_epi8(static_cast<char>(0x80));
    for (int t0 = 0; t0 < nt; t0 += kTokenBlock) {
      const int t1 = std::min(nt, t0 + kTokenBlock);
      for (int t = t0; t < t1; t++) {  // the activations + 128, as unsigned bytes
        const auto* ab = reinterpret_cast<const BlockQ8_K*>(act + t * as);
        uint8_t* xt = xs + (t - t0) * xrow;
        for (int64_t b = 0; b < nb; b++) {
          for (int i = 0; i < kQK_K; i += 32) {
            _mm256_store_si256(reinterpret_cast<__m256i*>(xt + b * kQK_K + i),
                               _mm256_xor_si256(load256(ab[b].qs + i), bias));
          }
        }
      }
      for (int gi = 0; gi < ng; gi++) {
        for (int t = t0; t < t1; t += kT8) {
          const int m = std::min(kT8, t1 - t);
          const BlockQ8_K* a[kT8];
          const uint8_t* x[kT8];
          for (int i = 0; i < m; i++) {
            a[i] = reinterpret_cast<const BlockQ8_K*>(act + (t + i) * as);
            x[i] = xs + (t + i - t0) * xrow;
          }
          kKTile<W>[m](nb, groups + gi * group, x, a, y + t * ldy + gi * kG, ldy);
        }
      }
    }
  }
  if (r8 == nr) return;
  // Each row against the tokens while it is hot.
  for (int r = r8; r < nr; r++) {
    for (int t = 0; t < nt; t++) dot(n, &y[t * ldy + r], w + r * ws, act + t * as);
  }
}

}  // namespace
}  // namespace ops::avx2
