// AVX-512 VNNI kernels for Q4_0, IQ4_NL, MXFP4 and Q8_0 rows packed by 16 at load (Kernels::pack8
// with pack_rows 16). Q8_0 packs its codes + 128 four to a lane word, so the same kernel serves
// it with 8 plain loads where Q4_0 splits 4 loads into nibbles (Q8_0, Zen 4, 2 threads: pp256
// 173 -> 277 t/s, decode 21.6 -> 25.0 t/s). MXFP4 (the experts of gpt-oss) splits nibbles as
// Q4_0 does and maps them through one vpshufb to its doubled E2M1 values + 12; its rows' scales
// are e8m0 bytes.
// Decode reads every weight once, and the plain-row kernels spent ~18 instructions per 64-byte
// line on it (pair unpacking from 18-byte blocks, a scale permute per pair, a reduction per
// row); Zen 4 then ran short of loads in flight and decoded at ~0.9x llama.cpp. Packed, the 16
// rows of a group sit in the 16 lanes of a zmm: a block is 4 loads (aligned for Q4_0's 288-byte
// blocks, not for MXFP4's 272), a nibble split, and 8 vpdpbusd against broadcast activation
// words (~6 instructions per line), one convert gives the 16 rows' scales, and no row needs a
// horizontal sum.
//
// Packed block (16 rows x 32 elements; blocks of a group in order, groups of 16 rows in order,
// the same bytes as the 16 plain rows): the rows' scales (Q4_0: 16 fp16, 32 bytes; MXFP4: 16
// e8m0 bytes); then 4 chunks of 64 bytes, chunk i bytes 4r..4r+3 holding elements 8i..8i+3 of
// row r in their low nibbles and elements 8i+4..8i+7 in their high nibbles.
//
// Packed rows live in 2 MiB pages (util::PageBuffer), where the hardware prefetcher follows
// the one stream a group is: one token (decode) issues no software prefetch (it cost 7-8 % of
// decode here, Q4_0 42.7 -> 45.8 t/s and Q4_K_M 40.3 -> 43.7 without it; ops/x86/prefetch.h
// is for the file's 4 KiB pages). Batches of 2 tokens or more, which compute for longer per
// line, pull the bytes ahead into L2 (prefetch_batch, x16_avx512.h).
//
// Prompts run on the same layout, 4 tokens per pass over a group: the unpacked nibbles
// serve every token, and each token costs 8 vpdpbusd per block of 16 rows (Zen 4, 2 threads:
// pp512 203 -> 273 t/s against the plain rows' 8-row tiles; decode 34.4 -> 38.6 t/s).
#include "ops/x86/x16_avx512.h"
#include "ops/x86/x86_kernels.h"

namespace ops::avx512vnni {
using namespace ops::x86;

namespace {

constexpr int kRows = kRows16;
// Tokens per pass over a group: 8 spilled registers (Zen 4, 8 sequences Q4_0 120 -> 129 t/s,
// Q8_0 102 -> 119 with 4; prompts the same).
constexpr int kMaxT = 4;

thread_local ScratchBuf<> t_terms;  // per token and block: activation scale, offset term

// The packed types, each: its Block, the bytes of its 16 rows' scales (kHead) and how they
// become floats, the offset its unsigned codes carry, and its 8 vpdpbusd operands (operand j
// against the activation codes 4j..4j+3).

// The nibbles of 4 chunks as 8 operands, each nibble mapped by map(): chunk i holds codes 8i..
// (low nibbles) and 8i+4.. (high nibbles).
template <class Map>
inline void nibble_operands(const uint8_t* p, __m512i* u, const Map& map) {
  const __m512i low = _mm512_set1_epi8(0x0f);
#pragma GCC unroll 4
  for (int i = 0; i < 4; i++) {
    const __m512i x = _mm512_loadu_si512(p + 64 * i);
    u[2 * i] = map(_mm512_and_si512(x, low));
    u[2 * i + 1] = map(_mm512_and_si512(_mm512_srli_epi16(x, 4), low));
  }
}

// The nibbles mapped through a 16-entry table of codes (MXFP4, IQ4_NL).
inline void table_operands(const uint8_t* p, __m512i* u, const OffsetCodes& codes) {
  const __m512i table = _mm512_broadcast_i32x4(load128(codes.v));
  nibble_operands(p, u, [&](__m512i x) { return _mm512_shuffle_epi8(table, x); });
}

// The rows' scales of Q4_0, IQ4_NL and Q8_0: 16 fp16.
struct F16Scales {
  static constexpr size_t kHead = 32;
  static __m512 scales(const uint8_t* p) { return _mm512_cvtph_ps(load256(p)); }
};

struct Q40 : F16Scales {
  using Block = BlockQ4_0;
  static constexpr int kOffset = 8;
  static void operands(const uint8_t* p, __m512i* u) {
    nibble_operands(p, u, [](__m512i x) { return x; });
  }
};

constexpr OffsetCodes kMxfp4Codes16 = offset_codes(kMxfp4Values, 12);   // 0..24
constexpr OffsetCodes kIq4nlCodes16 = offset_codes(kIq4nlValues, 128);  // 1..241

// IQ4_NL: Q4_0's bytes (fp16 d, the same nibble order), so Q4_0's pack and unpack serve it;
// its nibbles map to the IQ4_NL values + 128.
struct Iq4Nl : F16Scales {
  using Block = BlockIq4Nl;
  static constexpr int kOffset = 128;
  static void operands(const uint8_t* p, __m512i* u) { table_operands(p, u, kIq4nlCodes16); }
};
static_assert(sizeof(BlockIq4Nl) == sizeof(BlockQ4_0));

struct Mxfp4 {
  using Block = BlockMxfp4;
  static constexpr size_t kHead = 16;  // e8m0
  static constexpr int kOffset = 12;
  // 2^(e - 128) of 16 e8m0 bytes, as the scalar table has them (denormal below e = 2).
  static __m512 scales(const uint8_t* p) {
    const __m512i e = _mm512_cvtepu8_epi32(load128(p));
    const __m512i one = _mm512_set1_epi32(1);
    const __m512i normal = _mm512_slli_epi32(_mm512_sub_epi32(e, one), 23);
    const __m512i tiny = _mm512_srlv_epi32(_mm512_set1_epi32(0x00400000), _mm512_sub_epi32(one, e));
    const __mmask16 small = _mm512_cmplt_epi32_mask(e, _mm512_set1_epi32(2));
    return _mm512_castsi512_ps(_mm512_mask_blend_epi32(small, normal, tiny));
  }
  static void operands(const uint8_t* p, __m512i* u) { table_operands(p, u, kMxfp4Codes16); }
};

struct Q80 : F16Scales {  // bytes stored as code + 128; chunk i: codes 4i..4i+3
  using Block = BlockQ8_0;
  static constexpr int kOffset = 128;
  static void operands(const uint8_t* p, __m512i* u) {
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) u[i] = _mm512_loadu_si512(p + 64 * i);
  }
};

// y[t * ldy + r] for the 16 rows of a packed group and T tokens. terms[t] holds token t's
// block scales fa[b], then its offset terms c[b] = -kOffset * fa * sum(codes).
template <class P, int T>
void group_tokens(int64_t nb, const uint8_t* g, const BlockQ8_0* const* act,
                  const float* const* terms, float* y, int64_t ldy) {
  constexpr size_t kPacked = kRows * sizeof(typename P::Block);
  __m512 acc[T];
#pragma GCC unroll 8
  for (int t = 0; t < T; t++) acc[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    const uint8_t* pb = g + b * kPacked;
    prefetch_batch<T, kPacked>(pb);
    const __m512 dw = P::scales(pb);
    __m512i u[8];
    P::operands(pb + P::kHead, u);
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
      const int8_t* q = act[t][b].qs;
      __m512i s0 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u[0], act_word(q, 0));
      __m512i s1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u[1], act_word(q, 4));
#pragma GCC unroll 4
      for (int i = 1; i < 4; i++) {
        s0 = _mm512_dpbusd_epi32(s0, u[2 * i], act_word(q, 8 * i));
        s1 = _mm512_dpbusd_epi32(s1, u[2 * i + 1], act_word(q, 8 * i + 4));
      }
      const __m512 f =
          _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(s0, s1)), _mm512_set1_ps(terms[t][b]),
                          _mm512_set1_ps(terms[t][nb + b]));
      acc[t] = _mm512_fmadd_ps(dw, f, acc[t]);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < T; t++) _mm512_storeu_ps(y + t * ldy, acc[t]);
}

// One token's scales and offset terms (sum of the codes through vpsadbw on codes + 128).
void token_terms(const BlockQ8_0* a, int64_t nb, float offset, float* fa, float* c) {
  const __m256i bias = _mm256_set1_epi8(static_cast<char>(0x80));
  for (int64_t b = 0; b < nb; b++) {
    const __m256i sad =
        _mm256_sad_epu8(_mm256_xor_si256(load256(a[b].qs), bias), _mm256_setzero_si256());
    const __m128i s2 = _mm_add_epi64(_mm256_castsi256_si128(sad), _mm256_extracti128_si256(sad, 1));
    const int sum =
        static_cast<int>(_mm_cvtsi128_si64(_mm_add_epi64(s2, _mm_unpackhi_epi64(s2, s2)))) -
        32 * 128;
    fa[b] = h2f(a[b].d);
    c[b] = -offset * fa[b] * static_cast<float>(sum);
  }
}

// A block's 16 nibble bytes (codes 0..15 in the low nibbles, 16..31 in the high ones, as Q4_0
// and MXFP4 store them) into row r's words of the 4 packed chunks at c: chunk i takes codes
// 8i..8i+3 (low nibbles of its bytes) and 8i+4..8i+7 (high nibbles).
void put_nibbles(const uint8_t* qs, int r, uint8_t* c) {
  const __m128i q = load128(qs);
  const __m128i lo = _mm_and_si128(q, _mm_set1_epi8(0x0f));
  const __m128i hi = _mm_and_si128(_mm_srli_epi16(q, 4), _mm_set1_epi8(0x0f));
  const __m128i first = _mm_setr_epi8(0, 1, 2, 3, 8, 9, 10, 11, -1, -1, -1, -1, -1, -1, -1, -1);
  const __m128i second = _mm_setr_epi8(4, 5, 6, 7, 12, 13, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1);
  const __m128i a = _mm_unpacklo_epi64(_mm_shuffle_epi8(lo, first), _mm_shuffle_epi8(hi, first));
  const __m128i b = _mm_unpacklo_epi64(_mm_shuffle_epi8(lo, second), _mm_shuffle_epi8(hi, second));
  alignas(16) uint32_t out[4];
  _mm_store_si128(reinterpret_cast<__m128i*>(out), _mm_or_si128(a, _mm_slli_epi16(b, 4)));
  for (int i = 0; i < 4; i++) std::memcpy(c + 64 * i + 4 * r, &out[i], 4);
}

// Its inverse: row r's 16 nibble bytes from the 4 chunks at c.
void get_nibbles(const uint8_t* c, int r, uint8_t* qs) {
  uint8_t e[32];
  for (int i = 0; i < 4; i++) {
    for (int p = 0; p < 4; p++) {
      const uint8_t v = c[64 * i + 4 * r + p];
      e[8 * i + p] = v & 0x0f;
      e[8 * i + 4 + p] = v >> 4;
    }
  }
  for (int j = 0; j < 16; j++) qs[j] = static_cast<uint8_t>(e[j] | (e[j + 16] << 4));
}

}  // namespace

void pack16_q4_0(const void* src, void* dst, int64_t k, int64_t n_rows) {
  pack_groups<BlockQ4_0>(src, dst, k / 32, n_rows, [](const BlockQ4_0& blk, int r, uint8_t* pb) {
    std::memcpy(pb + 2 * r, &blk.d, 2);
    put_nibbles(blk.qs, r, pb + Q40::kHead);
  });
}

void unpack16_q4_0(const void* group, int r, void* dst, int64_t k) {
  unpack_group_row<BlockQ4_0>(group, r, dst, k / 32, [](const uint8_t* pb, int r, BlockQ4_0& out) {
    std::memcpy(&out.d, pb + 2 * r, 2);
    get_nibbles(pb + Q40::kHead, r, out.qs);
  });
}

void pack16_mxfp4(const void* src, void* dst, int64_t k, int64_t n_rows) {
  pack_groups<BlockMxfp4>(src, dst, k / 32, n_rows, [](const BlockMxfp4& blk, int r, uint8_t* pb) {
    pb[r] = blk.e;
    put_nibbles(blk.qs, r, pb + Mxfp4::kHead);
  });
}

void unpack16_mxfp4(const void* group, int r, void* dst, int64_t k) {
  unpack_group_row<BlockMxfp4>(group, r, dst, k / 32,
                               [](const uint8_t* pb, int r, BlockMxfp4& out) {
                                 out.e = pb[r];
                                 get_nibbles(pb + Mxfp4::kHead, r, out.qs);
                               });
}

namespace {

template <class P>
void gemm16(int64_t n, int nr, int nt, const void* w, size_t ws, const void* act, size_t as,
            float* y, int64_t ldy) {
  static constexpr GroupFn<BlockQ8_0, float> kGroup[kMaxT + 1] = {
      nullptr, group_tokens<P, 1>, group_tokens<P, 2>, group_tokens<P, 3>, group_tokens<P, 4>};
  const int64_t nb = n / 32;
  run_groups<kMaxT>(
      nb, nr, nt, static_cast<const uint8_t*>(w), ws, static_cast<const uint8_t*>(act), as, y, ldy,
      kGroup, t_terms, 2 * nb,
      [nb](const BlockQ8_0* a, float* out) { token_terms(a, nb, P::kOffset, out, out + nb); });
}

}  // namespace

void gemm16_q4_0_q8_0(int64_t n, int nr, int nt, const void* w, size_t ws, const void* act,
                      size_t as, float* y, int64_t ldy) {
  gemm16<Q40>(n, nr, nt, w, ws, act, as, y, ldy);
}

void gemm16_iq4_nl_q8_0(int64_t n, int nr, int nt, const void* w, size_t ws, const void* act,
                        size_t as, float* y, int64_t ldy) {
  gemm16<Iq4Nl>(n, nr, nt, w, ws, act, as, y, ldy);
}

void gemm16_mxfp4_q8_0(int64_t n, int nr, int nt, const void* w, size_t ws, const void* act,
                       size_t as, float* y, int64_t ldy) {
  gemm16<Mxfp4>(n, nr, nt, w, ws, act, as, y, ldy);
}

void gemm16_q8_0_q8_0(int64_t n, int nr, int nt, const void* w, size_t ws, const void* act,
                      size_t as, float* y, int64_t ldy) {
  gemm16<Q80>(n, nr, nt, w, ws, act, as, y, ldy);
}

void pack16_q8_0(const void* src, void* dst, int64_t k, int64_t n_rows) {
  pack_groups<BlockQ8_0>(src, dst, k / 32, n_rows, [](const BlockQ8_0& blk, int r, uint8_t* pb) {
    std::memcpy(pb + 2 * r, &blk.d, 2);
    alignas(32) uint32_t q[8];
    _mm256_store_si256(
        reinterpret_cast<__m256i*>(q),
        _mm256_xor_si256(load256(blk.qs), _mm256_set1_epi8(static_cast<char>(0x80))));
    for (int i = 0; i < 8; i++) std::memcpy(pb + 32 + 64 * i + 4 * r, &q[i], 4);
  });
}

void unpack16_q8_0(const void* group, int r, void* dst, int64_t k) {
  unpack_group_row<BlockQ8_0>(group, r, dst, k / 32, [](const uint8_t* pb, int r, BlockQ8_0& out) {
    std::memcpy(&out.d, pb + 2 * r, 2);
    for (int i = 0; i < 8; i++) {
      for (int p = 0; p < 4; p++)
        out.qs[4 * i + p] = static_cast<int8_t>(pb[32 + 64 * i + 4 * r + p] ^ 0x80);
    }
  });
}

}  // namespace ops::avx512vnni
