// AVX2 tile kernels (Kernels::gemm) for the 32-element block types with Q8_0 activations
// (Q4_0, Q8_0, MXFP4), for prompt processing: 2 weight rows x 4 tokens per register tile, so a
// weight block is unpacked once for 4 tokens and an activation block loaded once for 2 rows.
// Per (row, token, block): |w| * (a with w's sign) by maddubs, pairs to int32, one FMA with
// d_w * d_a (as the dots do). Tokens go in blocks of 32 over all rows of the chunk so the
// activations stay in L2. Fewer than 4 tokens (decode) and a leftover row use the dots.
#include <algorithm>
#include <vector>

#include "ops/x86/prefetch.h"
#include "ops/x86/simd_avx2.h"
#include "ops/x86/x86_kernels.h"

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
  static __m256i codes(const Block& b) { return nibbles32(b.qs); }
  static __m256i values(const Block& b) {
    return _mm256_sub_epi8(nibbles32(b.qs), _mm256_set1_epi8(8));
  }
  static float scale(const Block& b) { return h2f(b.d); }
};
struct Q8_0W {
  using Block = BlockQ8_0;
  static constexpr int kOffset = 0;  // signed codes: the sign trick
  static constexpr int kGroup = 1;   // a pair of 127 * 127 products fills int16 already
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
  static constexpr int kGroup = 4;  // 4 * 2 * 24 * 128 < 2^15
  static __m256i codes(const Block& b) {
    const __m256i table = _mm256_broadcastsi128_si256(load128(kMxfp4Codes));
    return _mm256_shuffle_epi8(table, nibbles32(b.qs));
  }
  static __m256i values(const Block& b) {
    const __m256i table = _mm256_broadcastsi128_si256(load128(kMxfp4Values));
    return _mm256_shuffle_epi8(table, nibbles32(b.qs));
  }
  static float scale(const Block& b) { return kE8m0.v[b.e]; }
};

constexpr int kTokenBlock = 32;
// 2 x 4 measured best of 1x6, 1x8, 2x3 and 2x4 (a 2x4 tile of 8 accumulators).
constexpr int kR = 2, kT = 4;

// sum_b x[b] * y[b].
inline float dot_f32(const float* x, const float* y, int64_t n) {
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    acc = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), acc);
  float s = hsum(acc);
  for (; i < n; i++) s += x[i] * y[i];
  return s;
}

// y[t * ldy + r] for kR rows x kT tokens over nb blocks. dw[r * nb + b]: the weight rows'
// block scales; da[t * nb + b]: the activations' block scales; sa[t * nb + b]: da times the
// block's sum of activation codes (for the offset types' correction).
template <class W>
void tile(int64_t nb, const uint8_t* w, size_t ws, const uint8_t* act, size_t as, const float* dw,
          const float* da, const float* sa, float* y, int64_t ldy) {
  using B = typename W::Block;
  const B* wr[kR];
  const BlockQ8_0* ar[kT];
  for (int r = 0; r < kR; r++) wr[r] = reinterpret_cast<const B*>(w + r * ws);
  for (int t = 0; t < kT; t++) ar[t] = reinterpret_cast<const BlockQ8_0*>(act + t * as);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[kR][kT];
#pragma GCC unroll 8
  for (int r = 0; r < kR; r++) {
#pragma GCC unroll 8
    for (int t = 0; t < kT; t++) acc[r][t] = _mm256_setzero_ps();
  }
  for (int64_t b = 0; b < nb; b++) {
    __m256i q[kR], sgn[kR];
#pragma GCC unroll 8
    for (int r = 0; r < kR; r++) {
      if constexpr (W::kOffset > 0) {
        q[r] = W::codes(wr[r][b]);
      } else {
        sgn[r] = W::values(wr[r][b]);
        q[r] = _mm256_sign_epi8(sgn[r], sgn[r]);
      }
    }
#pragma GCC unroll 8
    for (int t = 0; t < kT; t++) {
      const __m256i a = load256(ar[t][b].qs);
      const __m256 dat = _mm256_broadcast_ss(da + t * nb + b);
#pragma GCC unroll 8
      for (int r = 0; r < kR; r++) {
        __m256i p;
        if constexpr (W::kOffset > 0) {
          p = _mm256_maddubs_epi16(q[r], a);
        } else {
          p = _mm256_maddubs_epi16(q[r], _mm256_sign_epi8(a, sgn[r]));
        }
        const __m256 x = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(p, ones)), dat);
        acc[r][t] = _mm256_fmadd_ps(x, _mm256_broadcast_ss(dw + r * nb + b), acc[r][t]);
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < kR; r++) {
#pragma GCC unroll 8
    for (int t = 0; t < kT; t++) {
      float v = hsum(acc[r][t]);
      if constexpr (W::kOffset > 0) v -= W::kOffset * dot_f32(dw + r * nb, sa + t * nb, nb);
      y[t * ldy + r] = v;
    }
  }
}

// One weight row against one activation row whose block scales are already floats.
template <class W>
float row_dot(int64_t nb, const uint8_t* w, const BlockQ8_0* a, const float* da, const float* sa) {
  const auto* wb = reinterpret_cast<const typename W::Block*>(w);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  float corr0 = 0, corr1 = 0;  // offset types: sum_b d_w * d_a * sum(a)
  auto block = [&](int64_t b, __m256 acc, float& corr) {
    __m256i p;
    const float dw = W::scale(wb[b]);
    if constexpr (W::kOffset > 0) {
      p = _mm256_maddubs_epi16(W::codes(wb[b]), load256(a[b].qs));
      corr += dw * sa[b];
    } else {
      const __m256i v = W::values(wb[b]);
      p = _mm256_maddubs_epi16(_mm256_sign_epi8(v, v), _mm256_sign_epi8(load256(a[b].qs), v));
    }
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(p, ones)),
                           _mm256_set1_ps(dw * da[b]), acc);
  };
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    prefetch_weights<2 * sizeof(wb[0])>(wb + b);
    acc0 = block(b, acc0, corr0);
    acc1 = block(b + 1, acc1, corr1);
  }
  if (b < nb) acc0 = block(b, acc0, corr0);
  return hsum(_mm256_add_ps(acc0, acc1)) - W::kOffset * (corr0 + corr1);
}

// da[b] = the block scales of an activation row as floats; offset types also get
// sa[b] = da[b] * sum of the block's codes.
template <class W>
void token_scales(const BlockQ8_0* ab, int64_t nb, float* da, float* sa) {
  for (int64_t b = 0; b < nb; b++) {
    const float d = h2f(ab[b].d);
    da[b] = d;
    if constexpr (W::kOffset > 0) {
      const __m256i s16 = _mm256_maddubs_epi16(_mm256_set1_epi8(1), load256(ab[b].qs));
      sa[b] = d * static_cast<float>(hsum_i32(_mm256_madd_epi16(s16, _mm256_set1_epi16(1))));
    }
  }
}


// ---- 8-row interleaved tiles (prompt batches of >= 8 tokens) ----
// A group of 8 weight rows is unpacked once per call into a buffer that puts the rows in the
// lanes: per block, register j holds the codes of elements 4j..4j+3 of row r in int32 lane r
// (an 8x8 transpose of 4-byte groups), then the 8 rows' scales as floats. A token's 4 bytes
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
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_epi32(rows[i], rows[i + 1]);
    t[i + 1] = _mm256_unpackhi_epi32(rows[i], rows[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_unpacklo_epi64(t[i], t[i + 2]);
    u[i + 1] = _mm256_unpackhi_epi64(t[i], t[i + 2]);
    u[i + 2] = _mm256_unpacklo_epi64(t[i + 1], t[i + 3]);
    u[i + 3] = _mm256_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
  for (int j = 0; j < 4; j++) {
    out[j] = _mm256_permute2x128_si256(u[j], u[j + 4], 0x20);
    out[j + 4] = _mm256_permute2x128_si256(u[j], u[j + 4], 0x31);
  }
}

// Unpacks rows [0, 8) of w (rows ws bytes apart, nb blocks) into dst (nb group blocks).
template <class W>
void unpack_group(int64_t nb, const uint8_t* w, size_t ws, uint8_t* dst) {
  using B = typename W::Block;
  constexpr size_t kBytes = group_block_bytes<W>();
  for (int64_t b = 0; b < nb; b++) {
    __m256i rows[kG], cols[kG];
    alignas(32) float sc[kG];
    uint8_t* g = dst + b * kBytes;
    for (int r = 0; r < kG; r++) {
      const B& blk = reinterpret_cast<const B*>(w + r * ws)[b];
      // The rows come from DRAM once per call: fetch the next group's (groups are unpacked
      // back to back, a row is shorter than the hardware prefetcher's reach of a page).
      _mm_prefetch(reinterpret_cast<const char*>(&blk) + kG * ws, _MM_HINT_T1);
      sc[r] = W::scale(blk);
      if constexpr (W::kOffset > 0) {
        rows[r] = W::codes(blk);
      } else {
        rows[r] = W::values(blk);
      }
    }
    transpose8x8_i32(rows, cols);
    for (int j = 0; j < kG; j++) {
      if constexpr (W::kOffset > 0) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(g + 32 * j), cols[j]);
      } else {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(g + 32 * j),
                            _mm256_sign_epi8(cols[j], cols[j]));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(g + 256 + 32 * j), cols[j]);
      }
    }
    std::memcpy(g + kBytes - 32, sc, sizeof(sc));
  }
}

inline __m256i bcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// y[t * ldy + r] for the 8 rows of an unpacked group and T tokens. da[t * nb + b]: token
// block scales; as[t * nb + b]: kOffset * the block's sum of codes (offset types).
template <class W, int T>
void tile8(int64_t nb, const uint8_t* g, const uint8_t* act, size_t as, const float* da,
           const int32_t* asum, float* y, int64_t ldy) {
  constexpr size_t kBytes = group_block_bytes<W>();
  const BlockQ8_0* ar[T];
  for (int t = 0; t < T; t++) ar[t] = reinterpret_cast<const BlockQ8_0*>(act + t * as);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[T];
#pragma GCC unroll 8
  for (int t = 0; t < T; t++) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; b++, g += kBytes) {
    const __m256 dw = _mm256_loadu_ps(reinterpret_cast<const float*>(g + kBytes - 32));
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
      const int8_t* aq = ar[t][b].qs;
      __m256i isum = _mm256_setzero_si256();
      if constexpr (W::kOffset > 0) {
#pragma GCC unroll 8
        for (int j0 = 0; j0 < kG; j0 += W::kGroup) {
          __m256i s16 = _mm256_maddubs_epi16(load256(g + 32 * j0), bcast4(aq + 4 * j0));
#pragma GCC unroll 8
          for (int j = j0 + 1; j < j0 + W::kGroup; j++) {
            s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(load256(g + 32 * j), bcast4(aq + 4 * j)));
          }
          isum = _mm256_add_epi32(isum, _mm256_madd_epi16(s16, ones));
        }
        isum = _mm256_sub_epi32(isum, _mm256_set1_epi32(asum[t * nb + b]));
      } else {
#pragma GCC unroll 8
        for (int j = 0; j < kG; j++) {
          const __m256i a = _mm256_sign_epi8(bcast4(aq + 4 * j), load256(g + 256 + 32 * j));
          isum = _mm256_add_epi32(isum, _mm256_madd_epi16(_mm256_maddubs_epi16(load256(g + 32 * j), a), ones));
        }
      }
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum),
                               _mm256_mul_ps(dw, _mm256_broadcast_ss(da + t * nb + b)), acc[t]);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < T; t++) _mm256_storeu_ps(y + t * ldy, acc[t]);
}

template <class W>
using Tile8Fn = void (*)(int64_t, const uint8_t*, const uint8_t*, size_t, const float*,
                         const int32_t*, float*, int64_t);
template <class W>
constexpr Tile8Fn<W> kTile8[kT + 1] = {nullptr, tile8<W, 1>, tile8<W, 2>, tile8<W, 3>, tile8<W, 4>};

thread_local std::vector<float> t_scales, t_sums, t_wscales;
thread_local std::vector<int32_t> t_isums;
thread_local std::vector<uint8_t> t_groups;

// Rows [0, nr) (a multiple of 8) through the 8-row tiles: every group unpacked once (nr / 8
// groups of nb blocks: 26 KB per group for a 2880-wide MXFP4 row), then tokens in blocks of
// kTokenBlock over all groups, so the unpacked rows and the block's activations stay in L2.
template <class W>
void gemm8(int64_t nb, int nr, int nt, const uint8_t* w, size_t ws, const uint8_t* act, size_t as,
           float* y, int64_t ldy) {
  const size_t group = nb * group_block_bytes<W>();
  const int ng = nr / kG;
  if (t_groups.size() < ng * group) t_groups.resize(ng * group);
  if (t_isums.size() < static_cast<size_t>(kTokenBlock * nb)) t_isums.resize(kTokenBlock * nb);
  uint8_t* groups = t_groups.data();
  float* da = t_scales.data();
  int32_t* asum = t_isums.data();
  for (int g = 0; g < ng; g++) unpack_group<W>(nb, w + g * kG * ws, ws, groups + g * group);
  for (int t0 = 0; t0 < nt; t0 += kTokenBlock) {
    const int t1 = std::min(nt, t0 + kTokenBlock);
    for (int t = t0; t < t1; t++) {
      const auto* ab = reinterpret_cast<const BlockQ8_0*>(act + t * as);
      for (int64_t b = 0; b < nb; b++) {
        da[(t - t0) * nb + b] = h2f(ab[b].d);
        if constexpr (W::kOffset > 0) {
          const __m256i s16 = _mm256_maddubs_epi16(_mm256_set1_epi8(1), load256(ab[b].qs));
          asum[(t - t0) * nb + b] = W::kOffset * hsum_i32(_mm256_madd_epi16(s16, _mm256_set1_epi16(1)));
        }
      }
    }
    for (int g = 0; g < ng; g++) {
      for (int t = t0; t < t1; t += kT) {
        const int m = std::min(kT, t1 - t);
        kTile8<W>[m](nb, groups + g * group, act + t * as, as, da + (t - t0) * nb,
                     asum + (t - t0) * nb, y + t * ldy + g * kG, ldy);
      }
    }
  }
}

template <class W>
void gemm(int64_t n, int nr, int nt, const void* vw, size_t ws, const void* vact, size_t as,
          float* y, int64_t ldy, void (*dot)(int64_t, float*, const void*, const void*)) {
  const auto* w = static_cast<const uint8_t*>(vw);
  const auto* act = static_cast<const uint8_t*>(vact);
  const int64_t nb = n / 32;
  if (t_scales.size() < static_cast<size_t>(kTokenBlock * nb)) {
    t_scales.resize(kTokenBlock * nb);
    t_sums.resize(kTokenBlock * nb);
    t_wscales.resize(kR * nb);
  }
  float* da = t_scales.data();
  float* sa = t_sums.data();
  float* dws = t_wscales.data();
  if (nt < kT) {  // decode: each row against each token, the token's scales converted once
    for (int t = 0; t < nt; t++) {
      const auto* ab = reinterpret_cast<const BlockQ8_0*>(act + t * as);
      token_scales<W>(ab, nb, da, sa);
      for (int r = 0; r < nr; r++) y[t * ldy + r] = row_dot<W>(nb, w + r * ws, ab, da, sa);
    }
    return;
  }
  // The unpack of a group costs about what 2 tokens' tiles do: 8-row tiles from 8 tokens on.
  const int r8 = nt >= 2 * kT ? nr / kG * kG : 0;
  if (r8 > 0) gemm8<W>(nb, r8, nt, w, ws, act, as, y, ldy);
  if (r8 == nr) return;
  for (int t0 = 0; t0 < nt; t0 += kTokenBlock) {
    const int t1 = std::min(nt, t0 + kTokenBlock);
    for (int t = t0; t < t1; t++) {
      const auto* ab = reinterpret_cast<const BlockQ8_0*>(act + t * as);
      token_scales<W>(ab, nb, da + (t - t0) * nb, sa + (t - t0) * nb);
    }
    const int t_tiles = t0 + (t1 - t0) / kT * kT;
    int r = r8;
    for (; r + kR <= nr; r += kR) {
      for (int rr = 0; rr < kR; rr++) {
        const auto* wb = reinterpret_cast<const typename W::Block*>(w + (r + rr) * ws);
        for (int64_t b = 0; b < nb; b++) dws[rr * nb + b] = W::scale(wb[b]);
      }
      for (int t = t0; t < t_tiles; t += kT) {
        tile<W>(nb, w + r * ws, ws, act + t * as, as, dws, da + (t - t0) * nb, sa + (t - t0) * nb,
                y + t * ldy + r, ldy);
      }
      for (int t = t_tiles; t < t1; t++) {
        for (int rr = r; rr < r + kR; rr++) dot(n, &y[t * ldy + rr], w + rr * ws, act + t * as);
      }
    }
    for (; r < nr; r++) {
      for (int t = t0; t < t1; t++) dot(n, &y[t * ldy + r], w + r * ws, act + t * as);
    }
  }
}

}  // namespace

void gemm_q4_0_q8_0(int64_t n, int nr, int nt, const void* w, size_t ws, const void* act, size_t as,
                    float* y, int64_t ldy) {
  gemm<Q4_0W>(n, nr, nt, w, ws, act, as, y, ldy, vec_dot_q4_0_q8_0);
}
void gemm_q8_0_q8_0(int64_t n, int nr, int nt, const void* w, size_t ws, const void* act, size_t as,
                    float* y, int64_t ldy) {
  gemm<Q8_0W>(n, nr, nt, w, ws, act, as, y, ldy, vec_dot_q8_0_q8_0);
}
void gemm_mxfp4_q8_0(int64_t n, int nr, int nt, const void* w, size_t ws, const void* act,
                     size_t as, float* y, int64_t ldy) {
  gemm<Mxfp4W>(n, nr, nt, w, ws, act, as, y, ldy, vec_dot_mxfp4_q8_0);
}

}  // namespace ops::avx2
