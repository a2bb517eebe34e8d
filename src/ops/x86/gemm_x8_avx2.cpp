// AVX2 kernels for MXFP4 and Q4_0 rows packed by 8 at load (Kernels::pack8 / gemm8): the
// layout the 8-row tiles read, stored in the same bytes as the 8 plain rows, so decoding a
// group block is 4 loads and a nibble split instead of the per-row unpack and 8x8 transpose,
// and one token (decode) multiplies 8 rows per maddubs instead of one row per maddubs plus a
// float epilogue per row and block (the plain one-token MXFP4 dot ran at ~9 GB/s per thread,
// below memory speed).
//
// Packed block (8 rows x 32 elements, 8 blocks' bytes; blocks of a group in order, groups of 8
// rows in order): the rows' scales (MXFP4: 8 e8m0 bytes; Q4_0: 8 fp16), then 4 chunks of 32
// bytes, chunk i byte 4r + p holding element 8i + p of row r in its low nibble and element
// 8i + 4 + p in its high nibble.
#include "ops/x86/prefetch.h"
#include "ops/x86/simd_avx2.h"
#include "ops/x86/tiles_avx2.h"
#include "ops/x86/x86_kernels.h"

namespace ops::avx2 {
using namespace ops::x86;

namespace {

// 2^(e - 128) of 8 e8m0 bytes as kE8m0 has them (denormal below e = 2).
inline __m256 e8m0x8(const uint8_t* p) {
  const __m256i e = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  const __m256i one = _mm256_set1_epi32(1);
  const __m256i normal = _mm256_slli_epi32(_mm256_sub_epi32(e, one), 23);
  const __m256i tiny = _mm256_srlv_epi32(_mm256_set1_epi32(0x00400000), _mm256_sub_epi32(one, e));
  const __m256i small = _mm256_cmpgt_epi32(_mm256_set1_epi32(2), e);
  return _mm256_castsi256_ps(_mm256_blendv_epi8(normal, tiny, small));
}

// The packed types: the scale bytes of a block's 8 rows and how they become floats.
struct Mxfp4X8 {
  using W = Mxfp4W;
  static constexpr size_t kHead = 8;  // e8m0 bytes
  static void put_scale(const BlockMxfp4& b, int r, uint8_t* head) { head[r] = b.e; }
  static void get_scale(const uint8_t* head, int r, BlockMxfp4& b) { b.e = head[r]; }
  static __m256 scales(const uint8_t* head) { return e8m0x8(head); }
};
struct Q40X8 {
  using W = Q4_0W;
  static constexpr size_t kHead = 16;  // fp16
  static void put_scale(const BlockQ4_0& b, int r, uint8_t* head) {
    std::memcpy(head + 2 * r, &b.d, 2);
  }
  static void get_scale(const uint8_t* head, int r, BlockQ4_0& b) {
    std::memcpy(&b.d, head + 2 * r, 2);
  }
  static __m256 scales(const uint8_t* head) { return _mm256_cvtph_ps(load128(head)); }
};

template <class P>
constexpr size_t kX8Block = kG * sizeof(typename P::W::Block);

// The 8 code registers (offset codes, as W::codes) and the 8 row scales of a block.
template <class P>
inline __m256 x8_block(const uint8_t* pb, __m256i* codes) {
  const __m256i low = _mm256_set1_epi8(0x0f);
#pragma GCC unroll 4
  for (int i = 0; i < 4; i++) {
    const __m256i x = load256(pb + P::kHead + 32 * i);
    codes[2 * i] = P::W::map_nibbles(_mm256_and_si256(x, low));
    codes[2 * i + 1] = P::W::map_nibbles(_mm256_and_si256(_mm256_srli_epi16(x, 4), low));
  }
  return P::scales(pb);
}

// A packed group into the 8-row tiles' buffer (codes, then the scales as floats).
template <class P>
void unpack_x8(int64_t nb, const uint8_t* w, size_t ws, uint8_t* dst) {
  constexpr size_t kBytes = group_block_bytes<typename P::W>();
  for (int64_t b = 0; b < nb; b++) {
    const uint8_t* pb = w + b * kX8Block<P>;
    // The next group follows this one (8 plain rows' bytes); it comes from DRAM.
    for (size_t l = 0; l < kX8Block<P>; l += 64)
      _mm_prefetch(reinterpret_cast<const char*>(pb + kG * ws + l), _MM_HINT_T1);
    __m256i codes[kG];
    const __m256 dw = x8_block<P>(pb, codes);
    uint8_t* g = dst + b * kBytes;
    for (int j = 0; j < kG; j++)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(g + 32 * j), codes[j]);
    _mm256_storeu_ps(reinterpret_cast<float*>(g + kBytes - 32), dw);
  }
}

// y[t * ldy + r] for the 8 rows of a packed group and T tokens, decoded as they stream in.
template <class P, int T>
void tile_x8(int64_t nb, const uint8_t* g, const uint8_t* act, size_t as, const float* da,
             const int32_t* asum, float* y, int64_t ldy) {
  tile8_over<typename P::W, T>(nb, act, as, da, asum, y, ldy, [g](int64_t b, __m256i* codes) {
    const uint8_t* pb = g + b * kX8Block<P>;
    prefetch_weights<kX8Block<P>>(pb);
    return Block8{x8_block<P>(pb, codes), codes};
  });
}

template <class P>
void pack8(const void* src, void* dst, int64_t k, int64_t n_rows) {
  using Block = typename P::W::Block;
  const int64_t nb = k / 32;
  const size_t ws = nb * sizeof(Block);
  const auto* in = static_cast<const uint8_t*>(src);
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t g = 0; g < n_rows / kG; g++) {
    const uint8_t* rows = in + g * kG * ws;
    for (int64_t b = 0; b < nb; b++) {
      uint8_t* o = out + g * kG * ws + b * kX8Block<P>;
      __m256i nib[kG], cols[kG];
      for (int r = 0; r < kG; r++) {
        const auto& blk = reinterpret_cast<const Block*>(rows + r * ws)[b];
        P::put_scale(blk, r, o);
        nib[r] = nibbles32(blk.qs);  // element order
      }
      transpose8x8_i32(nib, cols);  // cols[j]: elements 4j..4j+3 of row r in lane r
      for (int i = 0; i < 4; i++) {
        const __m256i x = _mm256_or_si256(cols[2 * i], _mm256_slli_epi16(cols[2 * i + 1], 4));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + P::kHead + 32 * i), x);
      }
    }
  }
}

template <class P>
void unpack8(const void* group, int r, void* dst, int64_t k) {
  using Block = typename P::W::Block;
  const auto* g = static_cast<const uint8_t*>(group);
  auto* out = static_cast<Block*>(dst);
  for (int64_t b = 0; b < k / 32; b++) {
    const uint8_t* pb = g + b * kX8Block<P>;
    P::get_scale(pb, r, out[b]);
    uint8_t e[32];
    for (int i = 0; i < 4; i++) {
      for (int p = 0; p < 4; p++) {
        const uint8_t v = pb[P::kHead + 32 * i + 4 * r + p];
        e[8 * i + p] = v & 0x0f;
        e[8 * i + 4 + p] = v >> 4;
      }
    }
    for (int j = 0; j < 16; j++) out[b].qs[j] = static_cast<uint8_t>(e[j] | (e[j + 16] << 4));
  }
}

template <class P>
void gemm8(int64_t n, int nr, int nt, const void* vw, size_t ws, const void* vact, size_t as,
           float* y, int64_t ldy) {
  using W = typename P::W;
  static constexpr Tile8Fn<W> kTileX8[kT8 + 1] = {nullptr, tile_x8<P, 1>, tile_x8<P, 2>,
                                                  tile_x8<P, 3>, tile_x8<P, 4>};
  const auto* w = static_cast<const uint8_t*>(vw);
  const auto* act = static_cast<const uint8_t*>(vact);
  const int64_t nb = n / 32;
  if (nt >= 2 * kT8) {  // prompt batches: unpack each group once, then the 8-row tiles
    gemm_groups<W>(nb, nr, nt, w, ws, act, as, y, ldy, unpack_x8<P>);
    return;
  }
  thread_local std::vector<float> t_da;
  thread_local std::vector<int32_t> t_asum;
  if (t_da.size() < static_cast<size_t>(nt * nb)) {
    t_da.resize(nt * nb);
    t_asum.resize(nt * nb);
  }
  for (int t = 0; t < nt; t++) {
    token_sums<W>(reinterpret_cast<const BlockQ8_0*>(act + t * as), nb, t_da.data() + t * nb,
                  t_asum.data() + t * nb);
  }
  for (int g = 0; g < nr / kG; g++) {
    for (int t = 0; t < nt; t += kT8) {
      const int m = std::min(kT8, nt - t);
      kTileX8[m](nb, w + g * kG * ws, act + t * as, as, t_da.data() + t * nb,
                 t_asum.data() + t * nb, y + t * ldy + g * kG, ldy);
    }
  }
}

}  // namespace

void pack8_mxfp4(const void* src, void* dst, int64_t k, int64_t n_rows) {
  pack8<Mxfp4X8>(src, dst, k, n_rows);
}
void gemm8_mxfp4_q8_0(int64_t n, int nr, int nt, const void* w, size_t ws, const void* act,
                      size_t as, float* y, int64_t ldy) {
  gemm8<Mxfp4X8>(n, nr, nt, w, ws, act, as, y, ldy);
}
void pack8_q4_0(const void* src, void* dst, int64_t k, int64_t n_rows) {
  pack8<Q40X8>(src, dst, k, n_rows);
}
void unpack8_q4_0(const void* group, int r, void* dst, int64_t k) {
  unpack8<Q40X8>(group, r, dst, k);
}
void gemm8_q4_0_q8_0(int64_t n, int nr, int nt, const void* w, size_t ws, const void* act,
                     size_t as, float* y, int64_t ldy) {
  gemm8<Q40X8>(n, nr, nt, w, ws, act, as, y, ldy);
}

}  // namespace ops::avx2
