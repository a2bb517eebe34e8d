// AVX-512 VNNI kernel for IQ4_XS rows packed by 16 at load (Kernels::pack8 with pack_rows 16),
// the same idea as gemm_x16k_avx512.cpp's Q4_K: the 16 rows of a group in the 16 lanes of a
// zmm, a sub-block is 4 loads, a nibble split, one vpshufb per operand to the IQ4_NL values
// + 128 (unsigned for vpdpbusd) and 8 vpdpbusd against broadcast activation words. The
// sub-block sums are scaled by the rows' 6-bit scales (vpmulld) in exact int32; the + 128 comes
// back out as 128 * sum over sub-blocks of scale * (the activation's sub-block sum), by
// vpmaddwd on scale pairs against the activation's bsum pairs.
//
// Packed super-block (16 rows x 256 elements, 2176 bytes, the same bytes as the 16 plain rows;
// super-blocks of a group in order, groups of 16 rows in order):
//   bytes    0..31    the rows' fp16 d
//   bytes   32..63    the rows' scales_h (16 bits each)
//   bytes   64..127   the rows' scales_l (4 bytes each: one dword per lane)
//   bytes  128..2175  for each sub-block ib (256 bytes): 4 chunks of 64 bytes, chunk q bytes
//                     4r..4r+3 = qs bytes 16ib + 4q .. +3 of row r (low nibbles: elements
//                     32ib + 4q.., high nibbles: 32ib + 16 + 4q..)
#include "ops/x86/x16_avx512.h"
#include "ops/x86/x86_kernels.h"

namespace ops::avx512vnni {
using namespace ops::x86;

namespace {

constexpr int kRows = kRows16;
constexpr size_t kPackedSuper = kRows * sizeof(BlockIq4Xs);  // 2176
constexpr size_t kQs = 128;
constexpr int kMaxT = 8;  // tokens per pass over a group

thread_local ScratchBuf<> t_sums;  // per token and super-block: 4 words of sub-block sum pairs

constexpr OffsetCodes kCodes = offset_codes(kIq4nlValues, 128);  // 1..241

// Per token and super-block: the sub-block sums S_ib (two bsums each) as the int16 pairs
// (S0, S1), (S2, S3), (S4, S5), (S6, S7) vpmaddwd takes against the scale pairs.
void token_sums(const BlockQ8_K* a, int64_t nb, int32_t* out) {
  for (int64_t b = 0; b < nb; b++) {
    for (int p = 0; p < 4; p++) {
      const int s0 = a[b].bsums[4 * p] + a[b].bsums[4 * p + 1];
      const int s1 = a[b].bsums[4 * p + 2] + a[b].bsums[4 * p + 3];
      out[4 * b + p] = static_cast<int32_t>(
          static_cast<uint16_t>(s0) | (static_cast<uint32_t>(static_cast<uint16_t>(s1)) << 16));
    }
  }
}

// Sub-block ib's 6-bit scale minus 32 of each lane's row, from its scales_l dword and
// scales_h (zero-extended to 32 bits).
inline __m512i sub_scale(__m512i l, __m512i h, int ib) {
  const __m512i lo4 = _mm512_and_si512(_mm512_srli_epi32(l, 4 * ib), _mm512_set1_epi32(0xf));
  const __m512i hi2 = _mm512_and_si512(_mm512_srli_epi32(h, 2 * ib), _mm512_set1_epi32(3));
  return _mm512_sub_epi32(_mm512_or_si512(lo4, _mm512_slli_epi32(hi2, 4)), _mm512_set1_epi32(32));
}

// y[t * ldy + r] for the 16 rows of a packed group and T tokens.
template <int T>
void group_tokens(int64_t nb, const uint8_t* g, const BlockQ8_K* const* act,
                  const int32_t* const* sums, float* y, int64_t ldy) {
  const __m512i low = _mm512_set1_epi8(0x0f);
  const __m512i table = _mm512_broadcast_i32x4(load128(kCodes.v));
  const __m512i word_lo = _mm512_set1_epi32(0xffff);
  __m512 acc[T];
#pragma GCC unroll 8
  for (int t = 0; t < T; t++) acc[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    const uint8_t* pb = g + b * kPackedSuper;
    prefetch_batch<T, kPackedSuper>(pb);
    const __m512 dw = _mm512_cvtph_ps(load256(pb));
    const __m512i h = _mm512_cvtepu16_epi32(load256(pb + 32));
    const __m512i l = _mm512_loadu_si512(pb + 64);
    __m512i sumi[T];
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) sumi[t] = _mm512_setzero_si512();
#pragma GCC unroll 8
    for (int ib = 0; ib < 8; ib++) {
      const uint8_t* pc = pb + kQs + 256 * ib;
      __m512i lo[4], hi[4];
#pragma GCC unroll 4
      for (int q = 0; q < 4; q++) {
        const __m512i x = _mm512_loadu_si512(pc + 64 * q);
        lo[q] = _mm512_shuffle_epi8(table, _mm512_and_si512(x, low));
        hi[q] = _mm512_shuffle_epi8(table, _mm512_and_si512(_mm512_srli_epi16(x, 4), low));
      }
      const __m512i scale = sub_scale(l, h, ib);
#pragma GCC unroll 8
      for (int t = 0; t < T; t++) {
        const int8_t* q8 = act[t][b].qs + 32 * ib;
        __m512i d0 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo[0], act_word(q8, 0));
        __m512i d1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), hi[0], act_word(q8, 16));
#pragma GCC unroll 4
        for (int q = 1; q < 4; q++) {
          d0 = _mm512_dpbusd_epi32(d0, lo[q], act_word(q8, 4 * q));
          d1 = _mm512_dpbusd_epi32(d1, hi[q], act_word(q8, 16 + 4 * q));
        }
        sumi[t] = _mm512_add_epi32(sumi[t], _mm512_mullo_epi32(_mm512_add_epi32(d0, d1), scale));
      }
    }
    // The + 128 of the codes: 128 * sum over ib of scale_ib * S_ib, scale pairs as int16 words.
    __m512i pairs[4];
#pragma GCC unroll 4
    for (int p = 0; p < 4; p++) {
      pairs[p] = _mm512_or_si512(_mm512_and_si512(sub_scale(l, h, 2 * p), word_lo),
                                 _mm512_slli_epi32(sub_scale(l, h, 2 * p + 1), 16));
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
      const int32_t* s = sums[t] + 4 * b;
      __m512i m = _mm512_madd_epi16(pairs[0], _mm512_set1_epi32(s[0]));
#pragma GCC unroll 4
      for (int p = 1; p < 4; p++)
        m = _mm512_add_epi32(m, _mm512_madd_epi16(pairs[p], _mm512_set1_epi32(s[p])));
      const __m512i total = _mm512_sub_epi32(sumi[t], _mm512_slli_epi32(m, 7));
      const __m512 da = _mm512_set1_ps(act[t][b].d);
      acc[t] = _mm512_fmadd_ps(dw, _mm512_mul_ps(_mm512_cvtepi32_ps(total), da), acc[t]);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < T; t++) _mm512_storeu_ps(y + t * ldy, acc[t]);
}

}  // namespace

void pack16_iq4_xs(const void* src, void* dst, int64_t k, int64_t n_rows) {
  pack_groups<BlockIq4Xs>(
      src, dst, k / kQK_K, n_rows, [](const BlockIq4Xs& blk, int r, uint8_t* pb) {
        std::memcpy(pb + 2 * r, &blk.d, 2);
        std::memcpy(pb + 32 + 2 * r, &blk.scales_h, 2);
        std::memcpy(pb + 64 + 4 * r, blk.scales_l, 4);
        for (int ib = 0; ib < 8; ib++) {
          for (int q = 0; q < 4; q++)
            std::memcpy(pb + kQs + 256 * ib + 64 * q + 4 * r, blk.qs + 16 * ib + 4 * q, 4);
        }
      });
}

void unpack16_iq4_xs(const void* group, int r, void* dst, int64_t k) {
  unpack_group_row<BlockIq4Xs>(
      group, r, dst, k / kQK_K, [](const uint8_t* pb, int r, BlockIq4Xs& blk) {
        std::memcpy(&blk.d, pb + 2 * r, 2);
        std::memcpy(&blk.scales_h, pb + 32 + 2 * r, 2);
        std::memcpy(blk.scales_l, pb + 64 + 4 * r, 4);
        for (int ib = 0; ib < 8; ib++) {
          for (int q = 0; q < 4; q++)
            std::memcpy(blk.qs + 16 * ib + 4 * q, pb + kQs + 256 * ib + 64 * q + 4 * r, 4);
        }
      });
}

void gemm16_iq4_xs_q8_k(int64_t n, int nr, int nt, const void* w, size_t ws, const void* act,
                        size_t as, float* y, int64_t ldy) {
  static constexpr GroupFn<BlockQ8_K, int32_t> kGroup[kMaxT + 1] = {
      nullptr,         group_tokens<1>, group_tokens<2>, group_tokens<3>, group_tokens<4>,
      group_tokens<5>, group_tokens<6>, group_tokens<7>, group_tokens<8>};
  const int64_t nb = n / kQK_K;
  run_groups<kMaxT>(nb, nr, nt, static_cast<const uint8_t*>(w), ws,
                    static_cast<const uint8_t*>(act), as, y, ldy, kGroup, t_sums, 4 * nb,
                    [nb](const BlockQ8_K* a, int32_t* out) { token_sums(a, nb, out); });
}

}  // namespace ops::avx512vnni
