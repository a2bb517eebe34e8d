// AVX-512 VNNI dots of the 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, MXFP4) with Q8_0
// activations. Two blocks per zmm: weights become unsigned bytes u, one vpdpbusd gives
// sum(u * a) per 4-byte group, and the weight offset (8, 16, 12 for MXFP4, or the xor-128 of Q8_0)
// is taken back out with a second vpdpbusd of the constant offset against a. Block scales are not
// converted one by one: the fp16 d (and m) fields of 8 blocks are pulled out of the raw bytes
// with vpermt2w, converted with one vcvtph2ps, and broadcast per pair with vpermps (MXFP4's
// e8m0 bytes are pulled out the same way and turned into float bits with shifts).
// Q4_0/Q4_1 keep the high nibbles in place (16x their value, still < 256) and fold the 1/16
// into the scale of those lanes, which saves the shift.
#include "ops/x86/prefetch.h"
#include "ops/x86/q_pairs_avx512.h"
#include "ops/x86/x86_kernels.h"

namespace ops::avx512vnni {
using namespace ops::x86;

namespace {

template <class P>
float dot_pairs(const typename P::Block* w, const BlockQ8_0* a, int64_t nb8) {
  static_assert(sizeof(typename P::Block) == P::kSb);
  constexpr bool kHasOffset = P::kMOff < 0;
  const PairIdx idx = pair_idx(P::kX16), idxm = pair_idx(false);
  const __m512 x16 = _mm512_setr_ps(1, 1.0f / 16, 1, 1.0f / 16, 1, 1.0f / 16, 1, 1.0f / 16, 1,
                                    1.0f / 16, 1, 1.0f / 16, 1, 1.0f / 16, 1, 1.0f / 16);
  const __m512i dup = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
  const __m512i off = P::offset(), ones = _mm512_set1_epi8(1);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps(), accm = _mm512_setzero_ps();
  for (int64_t g = 0; g < nb8; g++, w += 8, a += 8) {
    prefetch_weights<8 * sizeof(*w)>(w);
    const auto* wb = reinterpret_cast<const uint8_t*>(w);
    const auto* ab = reinterpret_cast<const uint8_t*>(a);
    const __m256 fa = _mm256_cvtph_ps(fields8<34, 0>(ab));
    const __m256 s8 = _mm256_mul_ps(scales8<P>(wb), fa);
    __m512 s = _mm512_castps256_ps512(s8);
    if constexpr (P::kX16) s = _mm512_mul_ps(_mm512_permutexvar_ps(dup, s), x16);
    __m512 m = _mm512_setzero_ps();
    if constexpr (!kHasOffset) {
      m = _mm512_castps256_ps512(_mm256_mul_ps(_mm256_cvtph_ps(fields8<P::kSb, P::kMOff>(wb)), fa));
    }
#pragma GCC unroll 8
    for (int q = 0; q < 4; q++) {
      const __m512i u = P::unpack(w + 2 * q);
      const __m512i y = load_act_pair(a + 2 * q);
      __m512i d = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u, y);
      if constexpr (kHasOffset) {
        d = _mm512_sub_epi32(d, _mm512_dpbusd_epi32(_mm512_setzero_si512(), off, y));
      } else {
        const __m512i sy = _mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, y);
        accm = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sy), _mm512_permutexvar_ps(idxm.p[q], m), accm);
      }
      const __m512 sc = _mm512_permutexvar_ps(idx.p[q], s);
      if (q & 1) {
        acc1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), sc, acc1);
      } else {
        acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), sc, acc0);
      }
    }
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc0, acc1), accm));
}

// Full groups of 8 blocks here, the rest (n % 256 elements) through the AVX2 kernel.
template <class P>
void vec_dot(int64_t n, float* out, const void* vw, const void* va,
             void (*tail)(int64_t, float*, const void*, const void*)) {
  const auto* w = static_cast<const typename P::Block*>(vw);
  const auto* a = static_cast<const BlockQ8_0*>(va);
  const int64_t nb = n / 32, nb8 = nb / 8;
  float s = dot_pairs<P>(w, a, nb8);
  if (nb8 * 8 < nb) {
    float t = 0;
    tail((nb - nb8 * 8) * 32, &t, w + nb8 * 8, a + nb8 * 8);
    s += t;
  }
  *out = s;
}

}  // namespace

void vec_dot_q4_0_q8_0(int64_t n, float* out, const void* w, const void* a) {
  vec_dot<Q40>(n, out, w, a, avx2::vec_dot_q4_0_q8_0);
}
void vec_dot_q4_1_q8_0(int64_t n, float* out, const void* w, const void* a) {
  vec_dot<Q41>(n, out, w, a, avx2::vec_dot_q4_1_q8_0);
}
void vec_dot_q5_0_q8_0(int64_t n, float* out, const void* w, const void* a) {
  vec_dot<Q50>(n, out, w, a, avx2::vec_dot_q5_0_q8_0);
}
void vec_dot_q5_1_q8_0(int64_t n, float* out, const void* w, const void* a) {
  vec_dot<Q51>(n, out, w, a, avx2::vec_dot_q5_1_q8_0);
}
void vec_dot_q8_0_q8_0(int64_t n, float* out, const void* w, const void* a) {
  vec_dot<Q80>(n, out, w, a, avx2::vec_dot_q8_0_q8_0);
}

void vec_dot_mxfp4_q8_0(int64_t n, float* out, const void* w, const void* a) {
  vec_dot<Mxfp4>(n, out, w, a, avx2::vec_dot_mxfp4_q8_0);
}

}  // namespace ops::avx512vnni
