// AVX-512 VNNI kernels for Q6_K rows packed by 16 at load (Kernels::pack8 with pack_rows 16),
// as gemm_x16_avx512.cpp does for Q4_0: the 16 rows of a group in the 16 lanes of a zmm.
//
// Packed super-block (16 rows x 256 elements, 3360 bytes, the same bytes as the 16 plain
// rows; super-blocks of a group in order, groups of 16 rows in order):
//   bytes    0..31    the rows' fp16 d
//   bytes   32..287   4 chunks of 64 bytes: chunk c bytes 4r..4r+3 = scales 4c..4c+3 of row r
//   bytes  288..3359  for each half h (1536 bytes) and l = 4i (i = 0..7, 192 bytes): three
//                     chunks of 64 bytes, bytes 4r..4r+3 of row r from ql[64h + l],
//                     ql[64h + 32 + l] and qh[32h + l]
// One ql/ql/qh triple gives the 6-bit codes of elements 128h + l, +32, +64, +96 (4 each) with
// masks and shifts; the 16-element sub-block dots are scaled with vpmulld, and the codes' offset
// of 32 comes off through vpmaddwd of the scales against the activation's bsums.
#include "ops/x86/x16_avx512.h"
#include "ops/x86/x86_kernels.h"

namespace ops::avx512vnni {
using namespace ops::x86;

namespace {

constexpr int kRows = kRows16;
constexpr size_t kPackedSuper = kRows * sizeof(BlockQ6_K);  // 3360
constexpr int kMaxT = 8;                                    // tokens per pass over a group

thread_local ScratchBuf<> t_sums;  // per token and super-block: 8 words of bsum pairs

// Per token and super-block, the bsum pairs vpmaddwd takes against the scale words of chunk
// c: (b[4c], b[4c + 2]) and (b[4c + 1], b[4c + 3]).
void token_sums(const BlockQ8_K* a, int64_t nb, int32_t* out) {
  for (int64_t b = 0; b < nb; b++) {
    const int16_t* s = a[b].bsums;
    auto pair = [&](int lo, int hi) {
      return static_cast<int32_t>(static_cast<uint16_t>(s[lo]) |
                                  (static_cast<uint32_t>(static_cast<uint16_t>(s[hi])) << 16));
    };
    for (int c = 0; c < 4; c++) {
      out[8 * b + 2 * c] = pair(4 * c, 4 * c + 2);
      out[8 * b + 2 * c + 1] = pair(4 * c + 1, 4 * c + 3);
    }
  }
}

// y[t * ldy + r] for the 16 rows of a packed group and T tokens.
template <int T>
void group_tokens(int64_t nb, const uint8_t* g, const BlockQ8_K* const* act,
                  const int32_t* const* sums, float* y, int64_t ldy) {
  const __m512i low = _mm512_set1_epi8(0x0f), m30 = _mm512_set1_epi8(0x30);
  __m512 acc[T];
#pragma GCC unroll 8
  for (int t = 0; t < T; t++) acc[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    const uint8_t* pb = g + b * kPackedSuper;
    prefetch_batch<T, kPackedSuper>(pb);
    const __m512 dw = _mm512_cvtph_ps(load256(pb));
    __m512i sc[4];
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) sc[c] = _mm512_loadu_si512(pb + 32 + 64 * c);
    __m512i sumi[T];
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
      // The offset: 32 * sum over sub-blocks of scale * bsum, by vpmaddwd on the scale bytes
      // sign-extended to words (even bytes, odd bytes).
      const int32_t* s = sums[t] + 8 * b;
      __m512i m = _mm512_setzero_si512();
#pragma GCC unroll 4
      for (int c = 0; c < 4; c++) {
        const __m512i even = _mm512_srai_epi16(_mm512_slli_epi16(sc[c], 8), 8);
        const __m512i odd = _mm512_srai_epi16(sc[c], 8);
        m = _mm512_add_epi32(m, _mm512_madd_epi16(even, _mm512_set1_epi32(s[2 * c])));
        m = _mm512_add_epi32(m, _mm512_madd_epi16(odd, _mm512_set1_epi32(s[2 * c + 1])));
      }
      sumi[t] = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(m, 5));
    }
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
#pragma GCC unroll 2
      for (int hq = 0; hq < 2; hq++) {
        // Elements 128h + 32k + 16hq .. +15: sub-block 8h + 2k + hq.
        __m512i u[4][4];
#pragma GCC unroll 4
        for (int i = 0; i < 4; i++) {
          const uint8_t* p = pb + 288 + 1536 * h + 192 * (4 * hq + i);
          const __m512i a = _mm512_loadu_si512(p);
          const __m512i bq = _mm512_loadu_si512(p + 64);
          const __m512i hb = _mm512_loadu_si512(p + 128);
          u[0][i] = _mm512_or_si512(_mm512_and_si512(a, low),
                                    _mm512_and_si512(_mm512_slli_epi16(hb, 4), m30));
          u[1][i] = _mm512_or_si512(_mm512_and_si512(bq, low),
                                    _mm512_and_si512(_mm512_slli_epi16(hb, 2), m30));
          u[2][i] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(a, 4), low),
                                    _mm512_and_si512(hb, m30));
          u[3][i] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(bq, 4), low),
                                    _mm512_and_si512(_mm512_srli_epi16(hb, 2), m30));
        }
        __m512i scale[4];
#pragma GCC unroll 4
        for (int k = 0; k < 4; k++) {
          const int s = 8 * h + 2 * k + hq;  // byte s % 4 of chunk s / 4, sign-extended
          scale[k] = _mm512_srai_epi32(_mm512_slli_epi32(sc[s / 4], 24 - 8 * (s % 4)), 24);
        }
#pragma GCC unroll 8
        for (int t = 0; t < T; t++) {
          const int8_t* q = act[t][b].qs + 128 * h + 16 * hq;
#pragma GCC unroll 4
          for (int k = 0; k < 4; k++) {
            __m512i d = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u[k][0], act_word(q, 32 * k));
#pragma GCC unroll 4
            for (int i = 1; i < 4; i++)
              d = _mm512_dpbusd_epi32(d, u[k][i], act_word(q, 32 * k + 4 * i));
            sumi[t] = _mm512_add_epi32(sumi[t], _mm512_mullo_epi32(d, scale[k]));
          }
        }
      }
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
      const __m512 da = _mm512_set1_ps(act[t][b].d);
      acc[t] = _mm512_fmadd_ps(dw, _mm512_mul_ps(_mm512_cvtepi32_ps(sumi[t]), da), acc[t]);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < T; t++) _mm512_storeu_ps(y + t * ldy, acc[t]);
}

}  // namespace

void pack16_q6_k(const void* src, void* dst, int64_t k, int64_t n_rows) {
  pack_groups<BlockQ6_K>(src, dst, k / kQK_K, n_rows, [](const BlockQ6_K& blk, int r, uint8_t* pb) {
    std::memcpy(pb + 2 * r, &blk.d, 2);
    for (int c = 0; c < 4; c++) std::memcpy(pb + 32 + 64 * c + 4 * r, blk.scales + 4 * c, 4);
    for (int h = 0; h < 2; h++) {
      for (int i = 0; i < 8; i++) {
        uint8_t* p = pb + 288 + 1536 * h + 192 * i + 4 * r;
        std::memcpy(p, blk.ql + 64 * h + 4 * i, 4);
        std::memcpy(p + 64, blk.ql + 64 * h + 32 + 4 * i, 4);
        std::memcpy(p + 128, blk.qh + 32 * h + 4 * i, 4);
      }
    }
  });
}

void unpack16_q6_k(const void* group, int r, void* dst, int64_t k) {
  unpack_group_row<BlockQ6_K>(group, r, dst, k / kQK_K,
                              [](const uint8_t* pb, int r, BlockQ6_K& blk) {
                                std::memcpy(&blk.d, pb + 2 * r, 2);
                                for (int c = 0; c < 4; c++)
                                  std::memcpy(blk.scales + 4 * c, pb + 32 + 64 * c + 4 * r, 4);
                                for (int h = 0; h < 2; h++) {
                                  for (int i = 0; i < 8; i++) {
                                    const uint8_t* p = pb + 288 + 1536 * h + 192 * i + 4 * r;
                                    std::memcpy(blk.ql + 64 * h + 4 * i, p, 4);
                                    std::memcpy(blk.ql + 64 * h + 32 + 4 * i, p + 64, 4);
                                    std::memcpy(blk.qh + 32 * h + 4 * i, p + 128, 4);
                                  }
                                }
                              });
}

void gemm16_q6_k_q8_k(int64_t n, int nr, int nt, const void* w, size_t ws, const void* act,
                      size_t as, float* y, int64_t ldy) {
  static constexpr GroupFn<BlockQ8_K, int32_t> kGroup[kMaxT + 1] = {
      nullptr,         group_tokens<1>, group_tokens<2>, group_tokens<3>, group_tokens<4>,
      group_tokens<5>, group_tokens<6>, group_tokens<7>, group_tokens<8>};
  const int64_t nb = n / kQK_K;
  run_groups<kMaxT>(nb, nr, nt, static_cast<const uint8_t*>(w), ws,
                    static_cast<const uint8_t*>(act), as, y, ldy, kGroup, t_sums, 8 * nb,
                    [nb](const BlockQ8_K* a, int32_t* out) { token_sums(a, nb, out); });
}

}  // namespace ops::avx512vnni
