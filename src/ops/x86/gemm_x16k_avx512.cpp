// AVX-512 VNNI kernels for Q4_K and Q5_K rows packed by 16 at load (Kernels::pack8 with
// pack_rows 16),
// the same idea as gemm_x16_avx512.cpp's Q4_0: the 16 rows of a group in the 16 lanes of a
// zmm, so a super-block is aligned loads, nibble splits and vpdpbusd against broadcast
// activation words, with no per-row shuffles or reductions.
//
// Packed super-block (16 rows x 256 elements, 2304 bytes, the same bytes as the 16 plain
// rows; super-blocks of a group in order, groups of 16 rows in order):
//   bytes    0..31    the rows' fp16 d
//   bytes   32..63    the rows' fp16 dmin
//   bytes   64..255   3 chunks of 64 bytes: chunk c bytes 4r..4r+3 = scale bytes 4c..4c+3 of row r
//   bytes  256..2303  for each 64-element part j (512 bytes): 8 chunks of 64 bytes, chunk i
//                     bytes 4r..4r+3 = qs bytes 32j + 4i .. +3 of row r (low nibbles: elements
//                     64j + 4i.., sub-block 2j; high nibbles: 64j + 32 + 4i.., sub-block 2j + 1)
// Packed Q5_K super-block (16 rows x 256 elements, 2816 bytes): bytes 0..255 as Q4_K's; bytes
// 256..767 8 chunks of 64 bytes, chunk i bytes 4r..4r+3 = qh bytes 4i..4i+3 of row r (bit b
// of qh byte l is the 5th bit of element 32b + l); bytes 768..2815 the qs as Q4_K's 256..2303.
// The 5th bits of part j's chunk i are bits 2j (low nibbles) and 2j + 1 (high nibbles) of qh
// chunk i, moved to bit 4 of each byte.
// The 6-bit scales and mins of all 16 rows come out of the three scale dwords per lane with
// shifts and masks; sub-block dots are scaled with vpmulld and the mins go through vpmaddwd
// against the activation's sub-block sums.
#include "ops/x86/x16_avx512.h"
#include "ops/x86/x86_kernels.h"

namespace ops::avx512vnni {
using namespace ops::x86;

namespace {

constexpr int kRows = kRows16;
constexpr int kMaxT = 8;  // tokens per pass over a group

// The two types: where a packed super-block's qs start, and the unsigned codes of part j's
// chunk i (x: its 64 qs bytes) for the low-nibble and the high-nibble sub-block.
struct Q4K {
  using Block = BlockQ4_K;
  static constexpr size_t kQs = 256;
  static void codes(const uint8_t*, int, int, __m512i x, __m512i low, __m512i& lo, __m512i& hi) {
    lo = _mm512_and_si512(x, low);
    hi = _mm512_and_si512(_mm512_srli_epi16(x, 4), low);
  }
};

// Bit `bit` of every byte of h at bit 4 (16-bit shifts: bit 4 of a byte only ever comes from
// the same byte, 4 - bit or bit - 4 places away). `bit` is a constant once the loops unroll.
inline __m512i fifth_bits(__m512i h, int bit) {
  const __m512i v = bit <= 4 ? _mm512_slli_epi16(h, 4 - bit) : _mm512_srli_epi16(h, bit - 4);
  return _mm512_and_si512(v, _mm512_set1_epi8(0x10));
}

struct Q5K {
  using Block = BlockQ5_K;
  static constexpr size_t kQs = 768;
  static void codes(const uint8_t* pb, int j, int i, __m512i x, __m512i low, __m512i& lo,
                    __m512i& hi) {
    const __m512i h = _mm512_loadu_si512(pb + 256 + 64 * i);
    const __m512i hl = fifth_bits(h, 2 * j), hh = fifth_bits(h, 2 * j + 1);
    lo = _mm512_or_si512(_mm512_and_si512(x, low), hl);
    hi = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(x, 4), low), hh);
  }
};

template <class P>
constexpr size_t kPackedSuper = kRows * sizeof(typename P::Block);  // Q4_K 2304, Q5_K 2816

thread_local ScratchBuf<> t_sums;  // per token and super-block: 4 words of sub-block sum pairs

// Per token and super-block: the sub-block sums (bsums of 16 elements added in pairs) as the
// int16 pairs vpmaddwd takes against the mins: (s0, s2), (s1, s3), (s4, s6), (s5, s7).
void token_sums(const BlockQ8_K* a, int64_t nb, int32_t* out) {
  for (int64_t b = 0; b < nb; b++) {
    int32_t s[8];
    for (int i = 0; i < 8; i++) s[i] = a[b].bsums[2 * i] + a[b].bsums[2 * i + 1];
    auto pair = [&](int lo, int hi) {
      return static_cast<int32_t>(static_cast<uint16_t>(s[lo]) |
                                  (static_cast<uint32_t>(static_cast<uint16_t>(s[hi])) << 16));
    };
    out[4 * b + 0] = pair(0, 2);
    out[4 * b + 1] = pair(1, 3);
    out[4 * b + 2] = pair(4, 6);
    out[4 * b + 3] = pair(5, 7);
  }
}

// y[t * ldy + r] for the 16 rows of a packed group and T tokens.
template <class P, int T>
void group_tokens(int64_t nb, const uint8_t* g, const BlockQ8_K* const* act,
                  const int32_t* const* sums, float* y, int64_t ldy) {
  const __m512i low = _mm512_set1_epi8(0x0f);
  const __m512i m6 = _mm512_set1_epi8(0x3f), m30 = _mm512_set1_epi8(0x30);
  const __m512i byte0 = _mm512_set1_epi32(0xff), word_lo = _mm512_set1_epi32(0x00ff00ff);
  __m512 acc[T], accm[T];
#pragma GCC unroll 8
  for (int t = 0; t < T; t++) acc[t] = accm[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    const uint8_t* pb = g + b * kPackedSuper<P>;
    prefetch_batch<T, kPackedSuper<P>>(pb);
    const __m512 dw = _mm512_cvtph_ps(load256(pb));
    const __m512 dmin = _mm512_cvtph_ps(load256(pb + 32));
    const __m512i q0 = _mm512_loadu_si512(pb + 64), q1 = _mm512_loadu_si512(pb + 128),
                  q2 = _mm512_loadu_si512(pb + 192);
    // Scales 0..3 and 4..7, mins 0..3 and 4..7 of each lane's row, one byte each.
    const __m512i sc03 = _mm512_and_si512(q0, m6);
    const __m512i mn03 = _mm512_and_si512(q1, m6);
    const __m512i sc47 =
        _mm512_or_si512(_mm512_and_si512(q2, low), _mm512_and_si512(_mm512_srli_epi32(q0, 2), m30));
    const __m512i mn47 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(q2, 4), low),
                                         _mm512_and_si512(_mm512_srli_epi32(q1, 2), m30));
    __m512i sc[8];
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
      sc[j] = _mm512_and_si512(_mm512_srli_epi32(sc03, 8 * j), byte0);
      sc[4 + j] = _mm512_and_si512(_mm512_srli_epi32(sc47, 8 * j), byte0);
    }
    // Mins as int16 words (m0, m2), (m1, m3), (m4, m6), (m5, m7) per lane.
    const __m512i me03 = _mm512_and_si512(mn03, word_lo);
    const __m512i mo03 = _mm512_and_si512(_mm512_srli_epi32(mn03, 8), word_lo);
    const __m512i me47 = _mm512_and_si512(mn47, word_lo);
    const __m512i mo47 = _mm512_and_si512(_mm512_srli_epi32(mn47, 8), word_lo);
    __m512i sumi[T];
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) sumi[t] = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
      const uint8_t* pj = pb + P::kQs + 512 * j;
      __m512i lo[8], hi[8];
#pragma GCC unroll 8
      for (int i = 0; i < 8; i++)
        P::codes(pb, j, i, _mm512_loadu_si512(pj + 64 * i), low, lo[i], hi[i]);
#pragma GCC unroll 8
      for (int t = 0; t < T; t++) {
        const int8_t* q = act[t][b].qs + 64 * j;
        __m512i s0 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo[0], act_word(q, 0));
        __m512i s1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), hi[0], act_word(q, 32));
#pragma GCC unroll 8
        for (int i = 1; i < 8; i++) {
          s0 = _mm512_dpbusd_epi32(s0, lo[i], act_word(q, 4 * i));
          s1 = _mm512_dpbusd_epi32(s1, hi[i], act_word(q, 32 + 4 * i));
        }
        sumi[t] = _mm512_add_epi32(sumi[t], _mm512_mullo_epi32(s0, sc[2 * j]));
        sumi[t] = _mm512_add_epi32(sumi[t], _mm512_mullo_epi32(s1, sc[2 * j + 1]));
      }
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
      const int32_t* s = sums[t] + 4 * b;
      __m512i m = _mm512_madd_epi16(me03, _mm512_set1_epi32(s[0]));
      m = _mm512_add_epi32(m, _mm512_madd_epi16(mo03, _mm512_set1_epi32(s[1])));
      m = _mm512_add_epi32(m, _mm512_madd_epi16(me47, _mm512_set1_epi32(s[2])));
      m = _mm512_add_epi32(m, _mm512_madd_epi16(mo47, _mm512_set1_epi32(s[3])));
      const __m512 da = _mm512_set1_ps(act[t][b].d);
      acc[t] = _mm512_fmadd_ps(dw, _mm512_mul_ps(_mm512_cvtepi32_ps(sumi[t]), da), acc[t]);
      accm[t] = _mm512_fmadd_ps(dmin, _mm512_mul_ps(_mm512_cvtepi32_ps(m), da), accm[t]);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < T; t++) _mm512_storeu_ps(y + t * ldy, _mm512_sub_ps(acc[t], accm[t]));
}

}  // namespace

namespace {

// Q4_K's and Q5_K's common part of a packed super-block: d, dmin, the scale chunks, and the qs
// from byte qs on (put: from block b's row r; get: back into it).
template <class Block>
void put_k_common(const Block& blk, int r, uint8_t* pb, size_t qs) {
  std::memcpy(pb + 2 * r, &blk.d, 2);
  std::memcpy(pb + 32 + 2 * r, &blk.dmin, 2);
  for (int c = 0; c < 3; c++) std::memcpy(pb + 64 + 64 * c + 4 * r, blk.scales + 4 * c, 4);
  for (int j = 0; j < 4; j++) {
    for (int i = 0; i < 8; i++)
      std::memcpy(pb + qs + 512 * j + 64 * i + 4 * r, blk.qs + 32 * j + 4 * i, 4);
  }
}
template <class Block>
void get_k_common(const uint8_t* pb, int r, Block& blk, size_t qs) {
  std::memcpy(&blk.d, pb + 2 * r, 2);
  std::memcpy(&blk.dmin, pb + 32 + 2 * r, 2);
  for (int c = 0; c < 3; c++) std::memcpy(blk.scales + 4 * c, pb + 64 + 64 * c + 4 * r, 4);
  for (int j = 0; j < 4; j++) {
    for (int i = 0; i < 8; i++)
      std::memcpy(blk.qs + 32 * j + 4 * i, pb + qs + 512 * j + 64 * i + 4 * r, 4);
  }
}

template <class P>
void gemm16_k(int64_t n, int nr, int nt, const void* w, size_t ws, const void* act, size_t as,
              float* y, int64_t ldy) {
  static constexpr GroupFn<BlockQ8_K, int32_t> kGroup[kMaxT + 1] = {nullptr,
                                                                    group_tokens<P, 1>,
                                                                    group_tokens<P, 2>,
                                                                    group_tokens<P, 3>,
                                                                    group_tokens<P, 4>,
                                                                    group_tokens<P, 5>,
                                                                    group_tokens<P, 6>,
                                                                    group_tokens<P, 7>,
                                                                    group_tokens<P, 8>};
  const int64_t nb = n / kQK_K;
  run_groups<kMaxT>(nb, nr, nt, static_cast<const uint8_t*>(w), ws,
                    static_cast<const uint8_t*>(act), as, y, ldy, kGroup, t_sums, 4 * nb,
                    [nb](const BlockQ8_K* a, int32_t* out) { token_sums(a, nb, out); });
}

}  // namespace

void pack16_q4_k(const void* src, void* dst, int64_t k, int64_t n_rows) {
  pack_groups<BlockQ4_K>(src, dst, k / kQK_K, n_rows, [](const BlockQ4_K& blk, int r, uint8_t* pb) {
    put_k_common(blk, r, pb, Q4K::kQs);
  });
}

void unpack16_q4_k(const void* group, int r, void* dst, int64_t k) {
  unpack_group_row<BlockQ4_K>(
      group, r, dst, k / kQK_K,
      [](const uint8_t* pb, int r, BlockQ4_K& blk) { get_k_common(pb, r, blk, Q4K::kQs); });
}

void pack16_q5_k(const void* src, void* dst, int64_t k, int64_t n_rows) {
  pack_groups<BlockQ5_K>(src, dst, k / kQK_K, n_rows, [](const BlockQ5_K& blk, int r, uint8_t* pb) {
    put_k_common(blk, r, pb, Q5K::kQs);
    for (int i = 0; i < 8; i++) std::memcpy(pb + 256 + 64 * i + 4 * r, blk.qh + 4 * i, 4);
  });
}

void unpack16_q5_k(const void* group, int r, void* dst, int64_t k) {
  unpack_group_row<BlockQ5_K>(group, r, dst, k / kQK_K,
                              [](const uint8_t* pb, int r, BlockQ5_K& blk) {
                                get_k_common(pb, r, blk, Q5K::kQs);
                                for (int i = 0; i < 8; i++)
                                  std::memcpy(blk.qh + 4 * i, pb + 256 + 64 * i + 4 * r, 4);
                              });
}

void gemm16_q4_k_q8_k(int64_t n, int nr, int nt, const void* w, size_t ws, const void* act,
                      size_t as, float* y, int64_t ldy) {
  gemm16_k<Q4K>(n, nr, nt, w, ws, act, as, y, ldy);
}

void gemm16_q5_k_q8_k(int64_t n, int nr, int nt, const void* w, size_t ws, const void* act,
                      size_t as, float* y, int64_t ldy) {
  gemm16_k<Q5K>(n, nr, nt, w, ws, act, as, y, ldy);
}

}  // namespace ops::avx512vnni
