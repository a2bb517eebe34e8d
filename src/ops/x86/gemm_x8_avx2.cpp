// AVX2 kernels for MXFP4 rows packed by 8 at load (Kernels::pack8 / gemm8): the layout the
// 8-row tiles read, stored in the same bytes as the 8 plain rows, so decoding a group block is
// 4 loads and a nibble split instead of the per-row unpack and 8x8 transpose, and one token
// (decode) multiplies 8 rows per maddubs instead of one row per maddubs plus a float epilogue
// per row and block (the plain one-token dot ran at ~9 GB/s per thread, below memory speed).
//
// Packed block (8 rows x 32 elements, 136 bytes; blocks of a group in order, groups of 8 rows
// in order): bytes 0..7 the rows' e8m0 scales; then 4 chunks of 32 bytes, chunk i byte 4r + p
// holding element 8i + p of row r in its low nibble and element 8i + 4 + p in its high nibble.
#include "ops/x86/prefetch.h"
#include "ops/x86/simd_avx2.h"
#include "ops/x86/tiles_avx2.h"
#include "ops/x86/x86_kernels.h"

namespace ops::avx2 {
using namespace ops::x86;

namespace {

constexpr size_t kX8Block = kG * sizeof(BlockMxfp4);  // 136

// 2^(e - 128) of 8 e8m0 bytes as kE8m0 has them (denormal below e = 2).
inline __m256 e8m0x8(const uint8_t* p) {
  const __m256i e = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  const __m256i one = _mm256_set1_epi32(1);
  const __m256i normal = _mm256_slli_epi32(_mm256_sub_epi32(e, one), 23);
  const __m256i tiny = _mm256_srlv_epi32(_mm256_set1_epi32(0x00400000), _mm256_sub_epi32(one, e));
  const __m256i small = _mm256_cmpgt_epi32(_mm256_set1_epi32(2), e);
  return _mm256_castsi256_ps(_mm256_blendv_epi8(normal, tiny, small));
}

// The 8 code registers (offset codes, as Mxfp4W::codes) and the 8 row scales of a block.
inline __m256 x8_block(const uint8_t* pb, __m256i* codes) {
  const __m256i table = _mm256_broadcastsi128_si256(load128(kMxfp4Codes));
  const __m256i low = _mm256_set1_epi8(0x0f);
#pragma GCC unroll 4
  for (int i = 0; i < 4; i++) {
    const __m256i x = load256(pb + kG + 32 * i);
    codes[2 * i] = _mm256_shuffle_epi8(table, _mm256_and_si256(x, low));
    codes[2 * i + 1] = _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(x, 4), low));
  }
  return e8m0x8(pb);
}

// A packed group into the 8-row tiles' buffer (codes, then the scales as floats).
void unpack_x8(int64_t nb, const uint8_t* w, size_t ws, uint8_t* dst) {
  constexpr size_t kBytes = group_block_bytes<Mxfp4W>();
  for (int64_t b = 0; b < nb; b++) {
    const uint8_t* pb = w + b * kX8Block;
    // The next group follows this one (8 plain rows' bytes); it comes from DRAM.
    for (size_t l = 0; l < kX8Block; l += 64)
      _mm_prefetch(reinterpret_cast<const char*>(pb + kG * ws + l), _MM_HINT_T1);
    __m256i codes[kG];
    const __m256 dw = x8_block(pb, codes);
    uint8_t* g = dst + b * kBytes;
    for (int j = 0; j < kG; j++)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(g + 32 * j), codes[j]);
    _mm256_storeu_ps(reinterpret_cast<float*>(g + kBytes - 32), dw);
  }
}

// y[t * ldy + r] for the 8 rows of a packed group and T tokens, decoded as they stream in.
template <int T>
void tile_x8(int64_t nb, const uint8_t* g, const uint8_t* act, size_t as, const float* da,
             const int32_t* asum, float* y, int64_t ldy) {
  tile8_over<Mxfp4W, T>(nb, act, as, da, asum, y, ldy, [g](int64_t b, __m256i* codes) {
    const uint8_t* pb = g + b * kX8Block;
    prefetch_weights<kX8Block>(pb);
    return Block8{x8_block(pb, codes), codes};
  });
}

constexpr Tile8Fn<Mxfp4W> kTileX8[kT8 + 1] = {nullptr, tile_x8<1>, tile_x8<2>, tile_x8<3>,
                                              tile_x8<4>};

}  // namespace

void pack8_mxfp4(const void* src, void* dst, int64_t k, int64_t n_rows) {
  const int64_t nb = k / 32;
  const size_t ws = nb * sizeof(BlockMxfp4);
  const auto* in = static_cast<const uint8_t*>(src);
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t g = 0; g < n_rows / kG; g++) {
    const uint8_t* rows = in + g * kG * ws;
    for (int64_t b = 0; b < nb; b++) {
      uint8_t* o = out + g * kG * ws + b * kX8Block;
      __m256i nib[kG], cols[kG];
      for (int r = 0; r < kG; r++) {
        const auto& blk = reinterpret_cast<const BlockMxfp4*>(rows + r * ws)[b];
        o[r] = blk.e;
        nib[r] = nibbles32(blk.qs);  // element order
      }
      transpose8x8_i32(nib, cols);  // cols[j]: elements 4j..4j+3 of row r in lane r
      for (int i = 0; i < 4; i++) {
        const __m256i x = _mm256_or_si256(cols[2 * i], _mm256_slli_epi16(cols[2 * i + 1], 4));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + kG + 32 * i), x);
      }
    }
  }
}

void gemm8_mxfp4_q8_0(int64_t n, int nr, int nt, const void* vw, size_t ws, const void* vact,
                      size_t as, float* y, int64_t ldy) {
  const auto* w = static_cast<const uint8_t*>(vw);
  const auto* act = static_cast<const uint8_t*>(vact);
  const int64_t nb = n / 32;
  if (nt >= 2 * kT8) {  // prompt batches: unpack each group once, then the 8-row tiles
    gemm_groups<Mxfp4W>(nb, nr, nt, w, ws, act, as, y, ldy, unpack_x8);
    return;
  }
  thread_local std::vector<float> t_da;
  thread_local std::vector<int32_t> t_asum;
  if (t_da.size() < static_cast<size_t>(nt * nb)) {
    t_da.resize(nt * nb);
    t_asum.resize(nt * nb);
  }
  for (int t = 0; t < nt; t++) {
    token_sums<Mxfp4W>(reinterpret_cast<const BlockQ8_0*>(act + t * as), nb, t_da.data() + t * nb,
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

}  // namespace ops::avx2
