// AVX2 tile kernels (Kernels::gemm) for the 32-element block types with Q8_0 activations
// (Q4_0, Q8_0, MXFP4), for prompt processing: 2 weight rows x 4 tokens per register tile, so a
// weight block is unpacked once for 4 tokens and an activation block loaded once for 2 rows.
// Per (row, token, block): |w| * (a with w's sign) by maddubs, pairs to int32, one FMA with
// d_w * d_a (as the dots do). Tokens go in blocks of 32 over all rows of the chunk so the
// activations stay in L2. Fewer than 4 tokens (decode) and a leftover row use the dots.
// From 8 tokens on, whole groups of 8 rows go through the 8-row tiles of tiles_avx2.h.
#include <algorithm>
#include <type_traits>
#include <vector>

#include "ops/x86/prefetch.h"
#include "ops/x86/simd_avx2.h"
#include "ops/x86/tiles_avx2.h"
#include "ops/x86/x86_kernels.h"

namespace ops::avx2 {
using namespace ops::x86;

namespace {

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

// Lane i = the sum of the 8 int32 lanes of m[i].
inline __m256i lane_sums8(const __m256i* m) {
  const __m256i h0 =
      _mm256_hadd_epi32(_mm256_hadd_epi32(m[0], m[1]), _mm256_hadd_epi32(m[2], m[3]));
  const __m256i h1 =
      _mm256_hadd_epi32(_mm256_hadd_epi32(m[4], m[5]), _mm256_hadd_epi32(m[6], m[7]));
  // h0: [m0..m3 low-half sums | m0..m3 high-half sums], h1 likewise for m4..m7.
  return _mm256_add_epi32(_mm256_permute2x128_si256(h0, h1, 0x20),
                          _mm256_permute2x128_si256(h0, h1, 0x31));
}

// One weight row against one activation row whose block scales are already floats.
// Q4_0 against a token's codes laid out by pair_codes: two blocks per register (their code
// bytes loaded as the two halves), so each step unpacks and multiplies 64 weights, and 8
// blocks' integer dots reduce into one register by three hadds.
float row_dot_q4_0(int64_t nb, const uint8_t* w, const int8_t* ax, const float* da,
                   const float* sa) {
  const auto* wb = reinterpret_cast<const BlockQ4_0*>(w);
  const __m256i m4 = _mm256_set1_epi8(0x0f), ones = _mm256_set1_epi16(1);
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  __m256 acc = _mm256_setzero_ps(), corr8 = _mm256_setzero_ps();
  int64_t b = 0;
  for (; b + 8 <= nb; b += 8) {
    prefetch_weights<8 * sizeof(BlockQ4_0)>(wb + b);
    __m256i v[4];
    __m128i d16 = _mm_setzero_si128();
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
      const BlockQ4_0& b0 = wb[b + 2 * i];
      const BlockQ4_0& b1 = wb[b + 2 * i + 1];
      const __m256i q = _mm256_loadu2_m128i(reinterpret_cast<const __m128i*>(b1.qs),
                                            reinterpret_cast<const __m128i*>(b0.qs));
      const int8_t* x = ax + (b + 2 * i) * 32;
      // [b0 low nibbles | b1 low nibbles] with [a_b0[0..16) | a_b1[0..16)], then the highs
      // with elements 16..31: each int16 sum of two maddubs <= 2 * 2 * 15 * 127.
      const __m256i p = _mm256_add_epi16(
          _mm256_maddubs_epi16(_mm256_and_si256(q, m4), load256(x)),
          _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), load256(x + 32)));
      v[i] = _mm256_madd_epi16(p, ones);  // lanes 0-3: block 2i, 4-7: block 2i + 1
      d16 = _mm_insert_epi16(d16, b0.d, 2 * i);
      d16 = _mm_insert_epi16(d16, b1.d, 2 * i + 1);
    }
    // -> [b0 b2 b4 b6 | b1 b3 b5 b7], then block order.
    const __m256i h =
        _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
    const __m256i isum = _mm256_permutevar8x32_epi32(h, order);
    const __m256 dw = _mm256_cvtph_ps(d16);
    acc =
        _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(dw, _mm256_loadu_ps(da + b)), acc);
    corr8 = _mm256_fmadd_ps(dw, _mm256_loadu_ps(sa + b), corr8);
  }
  float s = hsum(acc), corr = hsum(corr8);
  for (; b < nb; b++) {  // the tail, one block at a time (codes in pair_codes' layout)
    const int8_t* x = ax + b / 2 * 64 + (b % 2) * 16;
    const __m128i q = load128(wb[b].qs), m = _mm_set1_epi8(0x0f);
    const __m128i lo = _mm_maddubs_epi16(_mm_and_si128(q, m), load128(x));
    const __m128i hi = _mm_maddubs_epi16(_mm_and_si128(_mm_srli_epi16(q, 4), m), load128(x + 32));
    __m128i t = _mm_madd_epi16(_mm_add_epi16(lo, hi), _mm_set1_epi16(1));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0x4e));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xb1));
    const float dw = h2f(wb[b].d);
    s += static_cast<float>(_mm_cvtsi128_si32(t)) * dw * da[b];
    corr += dw * sa[b];
  }
  return s - 8.0f * corr;
}

// A token's Q8_0 codes for row_dot_q4_0: per pair of blocks (b, b + 1), 64 bytes: elements
// 0..15 of b, 0..15 of b + 1, 16..31 of b, 16..31 of b + 1 (an odd last block alone, padded).
void pair_codes(const BlockQ8_0* a, int64_t nb, int8_t* ax) {
  for (int64_t b = 0; b < nb; b += 2) {
    int8_t* x = ax + b * 32;
    const BlockQ8_0& b1 = a[b + 1 < nb ? b + 1 : b];
    std::memcpy(x, a[b].qs, 16);
    std::memcpy(x + 16, b1.qs, 16);
    std::memcpy(x + 32, a[b].qs + 16, 16);
    std::memcpy(x + 48, b1.qs + 16, 16);
  }
}

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
  if constexpr (W::kF16Scale) {
    // 8 blocks at a time: their integer dots reduce together into one register (lane i =
    // block i), so converting, scaling and the offset correction cost one instruction per 8
    // blocks instead of per block (the one-token dot was compute-bound: Q4_0 ~12 GB/s/thread).
    __m256 corr8 = _mm256_setzero_ps();
    const __m256i ones = _mm256_set1_epi16(1);
    for (; b + 8 <= nb; b += 8) {
      prefetch_weights<8 * sizeof(wb[0])>(wb + b);
      __m256i m[8];
      __m128i d16 = _mm_setzero_si128();
#pragma GCC unroll 8
      for (int i = 0; i < 8; i++) {
        const auto& blk = wb[b + i];
        __m256i p;
        if constexpr (W::kOffset > 0) {
          p = _mm256_maddubs_epi16(W::codes(blk), load256(a[b + i].qs));
        } else {
          const __m256i v = W::values(blk);
          p = _mm256_maddubs_epi16(_mm256_sign_epi8(v, v),
                                   _mm256_sign_epi8(load256(a[b + i].qs), v));
        }
        m[i] = _mm256_madd_epi16(p, ones);
        d16 = _mm_insert_epi16(d16, blk.d, i);
      }
      const __m256 dw = _mm256_cvtph_ps(d16);
      acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(lane_sums8(m)),
                             _mm256_mul_ps(dw, _mm256_loadu_ps(da + b)), acc0);
      if constexpr (W::kOffset > 0) corr8 = _mm256_fmadd_ps(dw, _mm256_loadu_ps(sa + b), corr8);
    }
    corr0 = hsum(corr8);
  }
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
    if constexpr (W::kOffset > 0) sa[b] = d * static_cast<float>(code_sum(ab[b]));
  }
}

thread_local std::vector<float> t_scales, t_sums, t_wscales;

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
    thread_local std::vector<int8_t> t_pairs;
    for (int t = 0; t < nt; t++) {
      const auto* ab = reinterpret_cast<const BlockQ8_0*>(act + t * as);
      token_scales<W>(ab, nb, da, sa);
      if constexpr (std::is_same_v<W, Q4_0W>) {
        if (t_pairs.size() < static_cast<size_t>((nb + 1) * 32)) t_pairs.resize((nb + 1) * 32);
        pair_codes(ab, nb, t_pairs.data());
        for (int r = 0; r < nr; r++)
          y[t * ldy + r] = row_dot_q4_0(nb, w + r * ws, t_pairs.data(), da, sa);
      } else {
        for (int r = 0; r < nr; r++) y[t * ldy + r] = row_dot<W>(nb, w + r * ws, ab, da, sa);
      }
    }
    return;
  }
  // The unpack of a group costs about what 2 tokens' tiles do: 8-row tiles from 8 tokens on.
  const int r8 = nt >= 2 * kT ? nr / kG * kG : 0;
  if (r8 > 0) gemm_groups<W>(nb, r8, nt, w, ws, act, as, y, ldy, unpack_q_group<W>);
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
