// AVX2 dots of the K-quants (Q2_K..Q6_K) and IQ4_XS with Q8_K activations. K-quant weights are
// unpacked to unsigned codes 32 at a time, multiplied with maddubs, scaled per sub-block with madd
// into int32 (exact), and each 256-block is converted to float once. Code offsets (-4 for Q3_K, -32
// for Q6_K) and Q2_K/Q4_K/Q5_K mins are applied through the activation block sums (bsums).
#include <cstddef>
#include <cstring>

#include "ops/x86/k_codes_avx2.h"
#include "ops/x86/prefetch.h"
#include "ops/x86/simd_avx2.h"
#include "ops/x86/x86_kernels.h"

namespace ops::avx2 {
using namespace ops::x86;

namespace {

// The scales of elements 32k..32k+31 for the per-16 scaled types, as int16 [s(2k) x8 |
// s(2k+1) x8] (maddubs lane 0 covers elements 0..15, lane 1 covers 16..31), from 16 int16
// scales: each half of the scales in both 128-bit lanes once per block, then one in-lane
// pshufb per 32 elements (a cross-lane permute per 32 elements cost Q6_K's dot ~16 %).
struct ScalePairs {
  __m256i half[2];
  explicit ScalePairs(__m256i s16)
      : half{_mm256_permute2x128_si256(s16, s16, 0x00), _mm256_permute2x128_si256(s16, s16, 0x11)} {
  }
  __m256i operator()(int k) const {
    const char i = static_cast<char>(4 * (k % 4));  // byte offset of s(2k) within its half
    const char j = static_cast<char>(i + 2);
    return _mm256_shuffle_epi8(
        half[k / 4], _mm256_setr_epi8(i, i + 1, i, i + 1, i, i + 1, i, i + 1, i, i + 1, i, i + 1, i,
                                      i + 1, i, i + 1, j, j + 1, j, j + 1, j, j + 1, j, j + 1, j,
                                      j + 1, j, j + 1, j, j + 1, j, j + 1));
  }
};

// sum over 32 elements of sc(elem) * q * a, as int32x8.
inline __m256i scaled_dot(__m256i q, const int8_t* a, __m256i sc) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(q, load256(a)), sc);
}

inline __m256i bsums16(const BlockQ8_K& a) { return load256(a.bsums); }

// sum over the block of scale(k) * code * a, k the 32-element chunk (k_code's order).
template <class Block, class Scale>
inline __m256i scaled_dots(const Block& w, const BlockQ8_K& a, const Scale& scale) {
  __m256i sumi = scaled_dot(k_code(w, 0), a.qs, scale(0));
#pragma GCC unroll 8
  for (int k = 1; k < 8; k++)
    sumi = _mm256_add_epi32(sumi, scaled_dot(k_code(w, k), a.qs + 32 * k, scale(k)));
  return sumi;
}

}  // namespace

void vec_dot_q2_k_q8_k(int64_t n, float* out, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ2_K*>(vw);
  const auto* a = static_cast<const BlockQ8_K*>(va);
  __m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / kQK_K; b++) {
    prefetch_weights<sizeof(*w)>(w + b);
    const __m128i s8 = load128(w[b].scales);
    const __m256i sc = _mm256_cvtepu8_epi16(_mm_and_si128(s8, _mm_set1_epi8(0x0f)));
    const ScalePairs pair(sc);
    const __m256i mn =
        _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(s8, 4), _mm_set1_epi8(0x0f)));
    const __m256i sumi = scaled_dots(w[b], a[b], pair);
    const __m256i msum = _mm256_madd_epi16(bsums16(a[b]), mn);
    const float d = a[b].d * h2f(w[b].d), dmin = a[b].d * h2f(w[b].dmin);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    accm = _mm256_fmadd_ps(_mm256_set1_ps(dmin), _mm256_cvtepi32_ps(msum), accm);
  }
  *out = hsum(_mm256_sub_ps(acc, accm));
}

void vec_dot_q3_k_q8_k(int64_t n, float* out, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ3_K*>(vw);
  const auto* a = static_cast<const BlockQ8_K*>(va);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / kQK_K; b++) {
    prefetch_weights<sizeof(*w)>(w + b);
    const __m256i sc = _mm256_cvtepi8_epi16(q3k_scales16(w[b].scales));
    const ScalePairs pair(sc);
    const __m256i sumi = scaled_dots(w[b], a[b], pair);
    const __m256i corr = _mm256_slli_epi32(_mm256_madd_epi16(bsums16(a[b]), sc), 2);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(a[b].d * h2f(w[b].d)),
                          _mm256_cvtepi32_ps(_mm256_sub_epi32(sumi, corr)), acc);
  }
  *out = hsum(acc);
}

namespace {

// The f16 pair (d, dmin) of a block as one 32-bit word.
template <class Block>
inline int d_dmin(const Block& w) {
  static_assert(offsetof(Block, dmin) == offsetof(Block, d) + 2);
  int v;
  std::memcpy(&v, reinterpret_cast<const char*>(&w) + offsetof(Block, d), 4);
  return v;
}

// Shared body of Q4_K / Q5_K: 8 sub-blocks of 32 with 6-bit scales and mins. The scales stay
// in vector registers (kscales_vec, then one in-lane pshufb per sub-block): unpacking them to
// bytes in memory and broadcasting each took about half of the loop's instructions.
template <class Block>
float dot_q45k(const Block* w, const BlockQ8_K* a, int64_t nb) {
  const __m128i dup_mins = _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    prefetch_weights<sizeof(*w)>(w + b);
    const __m128i scm = kscales_vec(w[b].scales);  // sc[0..7], m[0..7]
    const __m256i mins = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(scm, dup_mins));
    const __m256i msum = _mm256_madd_epi16(bsums16(a[b]), mins);
    // sc[0..7] as int16 in both 128-bit lanes; chunk k takes sc[k] into every int16.
    const __m256i sc = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(scm));
    const __m256i sumi = scaled_dots(w[b], a[b], [&](int k) {
      const char i = static_cast<char>(2 * k), j = static_cast<char>(2 * k + 1);
      return _mm256_shuffle_epi8(sc, _mm256_setr_epi8(i, j, i, j, i, j, i, j, i, j, i, j, i, j, i,
                                                      j, i, j, i, j, i, j, i, j, i, j, i, j, i, j,
                                                      i, j));
    });
    const __m128 dd = _mm_mul_ps(_mm_set1_ps(a[b].d),
                                 _mm_cvtph_ps(_mm_cvtsi32_si128(d_dmin(w[b]))));
    acc = _mm256_fmadd_ps(_mm256_broadcastss_ps(dd), _mm256_cvtepi32_ps(sumi), acc);
    acc = _mm256_fnmadd_ps(_mm256_broadcastss_ps(_mm_movehdup_ps(dd)), _mm256_cvtepi32_ps(msum),
                           acc);
  }
  return hsum(acc);
}

}  // namespace

void vec_dot_q4_k_q8_k(int64_t n, float* out, const void* vw, const void* va) {
  *out = dot_q45k(static_cast<const BlockQ4_K*>(vw), static_cast<const BlockQ8_K*>(va), n / kQK_K);
}

void vec_dot_q5_k_q8_k(int64_t n, float* out, const void* vw, const void* va) {
  *out = dot_q45k(static_cast<const BlockQ5_K*>(vw), static_cast<const BlockQ8_K*>(va), n / kQK_K);
}

void vec_dot_q6_k_q8_k(int64_t n, float* out, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ6_K*>(vw);
  const auto* a = static_cast<const BlockQ8_K*>(va);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / kQK_K; b++) {
    prefetch_weights<sizeof(*w)>(w + b);
    const __m256i sc = _mm256_cvtepi8_epi16(load128(w[b].scales));
    const ScalePairs pair(sc);
    const __m256i sumi = scaled_dots(w[b], a[b], pair);
    const __m256i corr = _mm256_slli_epi32(_mm256_madd_epi16(bsums16(a[b]), sc), 5);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(a[b].d * h2f(w[b].d)),
                          _mm256_cvtepi32_ps(_mm256_sub_epi32(sumi, corr)), acc);
  }
  *out = hsum(acc);
}

// IQ4_XS: per 32-element sub-block the IQ4_NL values by one pshufb, |w| * (a with w's sign)
// by maddubs (no pair saturates: |w|, |a| <= 127), the pairs times the sub-block's scale
// (6 bits, minus 32) by one madd (|pair| <= 32258, so 2 * 32258 * 32 fits), summed in int32
// exactly as the twin does, and each 256-block converted to float once. The 8 scales are
// built as one vector per block and each sub-block's taken by one pshufb.
namespace {

// The 8 sub-block scales of an IQ4_XS block, minus 32, as int16 words 0..7 in both lanes.
inline __m256i iq4xs_scales(const BlockIq4Xs& b) {
  uint32_t l;
  std::memcpy(&l, b.scales_l, 4);
  const __m128i v = _mm_cvtsi32_si128(static_cast<int>(l));
  const __m128i m4 = _mm_set1_epi8(0x0f);
  // Low 4 bits: sub-block 2i in byte i's low nibble, 2i + 1 in its high nibble.
  const __m128i lo4 =
      _mm_unpacklo_epi8(_mm_and_si128(v, m4), _mm_and_si128(_mm_srli_epi16(v, 4), m4));
  const __m256i hi2 =
      _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(b.scales_h),
                                         _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14)),
                       _mm256_set1_epi32(3));
  const __m256i ls = _mm256_sub_epi32(
      _mm256_or_si256(_mm256_cvtepu8_epi32(lo4), _mm256_slli_epi32(hi2, 4)), _mm256_set1_epi32(32));
  // packs works per lane: [s0..s3 s0..s3 | s4..s7 s4..s7]; qwords 0 and 2 into both lanes.
  return _mm256_permute4x64_epi64(_mm256_packs_epi32(ls, ls), _MM_SHUFFLE(2, 0, 2, 0));
}

// Word k of s in all 16 lanes.
inline __m256i word_at(__m256i s, int k) {
  return _mm256_shuffle_epi8(s, _mm256_set1_epi16(static_cast<int16_t>((2 * k + 1) << 8 | 2 * k)));
}

}  // namespace

void vec_dot_iq4_xs_q8_k(int64_t n, float* out, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockIq4Xs*>(vw);
  const auto* a = static_cast<const BlockQ8_K*>(va);
  const __m256i table = _mm256_broadcastsi128_si256(load128(kIq4nlValues));
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / kQK_K; b++) {
    const BlockIq4Xs& wb = w[b];
    const __m256i sc = iq4xs_scales(wb);
    __m256i sum0 = _mm256_setzero_si256(), sum1 = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int ib = 0; ib < 8; ib += 2) {
      const __m256i v0 = _mm256_shuffle_epi8(table, nibbles32(wb.qs + 16 * ib));
      const __m256i v1 = _mm256_shuffle_epi8(table, nibbles32(wb.qs + 16 * ib + 16));
      const __m256i x0 = load256(a[b].qs + 32 * ib), x1 = load256(a[b].qs + 32 * ib + 32);
      const __m256i p0 = _mm256_maddubs_epi16(_mm256_sign_epi8(v0, v0), _mm256_sign_epi8(x0, v0));
      const __m256i p1 = _mm256_maddubs_epi16(_mm256_sign_epi8(v1, v1), _mm256_sign_epi8(x1, v1));
      sum0 = _mm256_add_epi32(sum0, _mm256_madd_epi16(p0, word_at(sc, ib)));
      sum1 = _mm256_add_epi32(sum1, _mm256_madd_epi16(p1, word_at(sc, ib + 1)));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(wb.d) * a[b].d),
                          _mm256_cvtepi32_ps(_mm256_add_epi32(sum0, sum1)), acc);
  }
  *out = hsum(acc);
}

}  // namespace ops::avx2
