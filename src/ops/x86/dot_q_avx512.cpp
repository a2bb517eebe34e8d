// AVX-512 VNNI dots of the 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) with Q8_0
// activations. Two blocks per zmm: weights become unsigned bytes u, one vpdpbusd gives
// sum(u * a) per 4-byte group, and the weight offset (8, 16, or the xor-128 of Q8_0) is taken
// back out with a second vpdpbusd of the constant offset against a. Block scales are not
// converted one by one: the fp16 d (and m) fields of 8 blocks are pulled out of the raw bytes
// with vpermt2w, converted with one vcvtph2ps, and broadcast per pair with vpermps.
// Q4_0/Q4_1 keep the high nibbles in place (16x their value, still < 256) and fold the 1/16
// into the scale of those lanes, which saves the shift.
#include "ops/x86/simd_avx2.h"
#include "ops/x86/x86_kernels.h"

namespace ops::avx512vnni {
using namespace ops::x86;

namespace {

// Words 0..7 of the result = the 16-bit field at byte kOff of blocks 0..7 (kSb bytes apart)
// starting at p. Reads stay inside the 8 blocks (no over-read at the end of a row).
template <int kSb, int kOff>
inline __m128i fields8(const uint8_t* p) {
  static_assert(kSb % 2 == 0 && kOff % 2 == 0 && 3 * kSb + kOff + 2 <= 128 && 8 * kSb >= 128);
  // Blocks 4..7 come from a second 128-byte window that ends at the end of block 7, or starts
  // at block 4 when blocks are large enough for that to fit.
  constexpr int kBase2 = kSb <= 32 ? 8 * kSb - 128 : 4 * kSb;
  static_assert(kBase2 <= 4 * kSb + kOff && 7 * kSb + kOff + 2 - kBase2 <= 128);
  alignas(64) static constexpr int16_t kIdx[32] = {
      (0 * kSb + kOff) / 2, (1 * kSb + kOff) / 2, (2 * kSb + kOff) / 2, (3 * kSb + kOff) / 2,
      (4 * kSb + kOff - kBase2) / 2, (5 * kSb + kOff - kBase2) / 2,
      (6 * kSb + kOff - kBase2) / 2, (7 * kSb + kOff - kBase2) / 2};
  const __m512i ia = _mm512_load_si512(kIdx);
  const __m512i lo = _mm512_permutex2var_epi16(_mm512_loadu_si512(p), ia, _mm512_loadu_si512(p + 64));
  const __m512i hi = _mm512_permutex2var_epi16(_mm512_loadu_si512(p + kBase2), ia,
                                               _mm512_loadu_si512(p + kBase2 + 64));
  return _mm512_castsi512_si128(_mm512_mask_mov_epi16(lo, 0xf0, hi));
}

inline __m512i load_act_pair(const BlockQ8_0* a) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(load256(a[0].qs)), load256(a[1].qs), 1);
}

// [q0 q0 q1 q1] in 128-bit lanes: each block's 16 packed bytes twice.
inline __m512i dup_pair(const uint8_t* q0, const uint8_t* q1) {
  return _mm512_mask_broadcast_i32x4(_mm512_broadcast_i32x4(load128(q0)), 0xff00, load128(q1));
}

// Low nibbles in lanes 0/2 (value), high nibbles in lanes 1/3 (16x value).
inline __m512i nib_x16(const uint8_t* q0, const uint8_t* q1) {
  const __m512i m = _mm512_setr_epi64(0x0f0f0f0f0f0f0f0f, 0x0f0f0f0f0f0f0f0f, 0xf0f0f0f0f0f0f0f0,
                                      0xf0f0f0f0f0f0f0f0, 0x0f0f0f0f0f0f0f0f, 0x0f0f0f0f0f0f0f0f,
                                      0xf0f0f0f0f0f0f0f0, 0xf0f0f0f0f0f0f0f0);
  return _mm512_and_si512(dup_pair(q0, q1), m);
}

// 5-bit codes of two Q5 blocks in element order.
inline __m512i q5_pair(const uint8_t* qs0, const uint8_t* qh0, const uint8_t* qs1,
                       const uint8_t* qh1) {
  const __m512i sh = _mm512_setr_epi64(0, 0, 4, 4, 0, 0, 4, 4);
  const __m512i v =
      _mm512_and_si512(_mm512_srlv_epi64(dup_pair(qs0, qs1), sh), _mm512_set1_epi8(0x0f));
  uint32_t h0, h1;
  std::memcpy(&h0, qh0, 4);
  std::memcpy(&h1, qh1, 4);
  const __mmask64 k = _cvtu64_mask64(static_cast<uint64_t>(h0) | (static_cast<uint64_t>(h1) << 32));
  return _mm512_mask_add_epi8(v, k, v, _mm512_set1_epi8(0x10));
}

struct PairIdx {
  __m512i p[4];
};

// vpermps indexes for pair q (blocks 2q, 2q+1): 8 lanes each, or for the x16 layout
// [s, s/16, s', s'/16] x4 lanes from the interleaved (s, s/16) vector.
inline PairIdx pair_idx(bool x16) {
  PairIdx r;
  for (int q = 0; q < 4; q++) {
    alignas(64) int32_t v[16];
    for (int l = 0; l < 16; l++) v[l] = x16 ? 4 * q + l / 4 : 2 * q + l / 8;
    r.p[q] = _mm512_load_si512(v);
  }
  return r;
}

// Type policies: byte size, scale/min field offsets, unpacking to unsigned bytes, offset.
struct Q40 {
  using Block = BlockQ4_0;
  static constexpr int kSb = 18, kMOff = -1;
  static constexpr bool kX16 = true;
  static __m512i unpack(const Block* w) { return nib_x16(w[0].qs, w[1].qs); }
  static __m512i offset() {  // 8 per low nibble, 8*16 per high nibble
    return _mm512_setr_epi64(0x0808080808080808, 0x0808080808080808, 0x8080808080808080,
                             0x8080808080808080, 0x0808080808080808, 0x0808080808080808,
                             0x8080808080808080, 0x8080808080808080);
  }
};
struct Q41 {
  using Block = BlockQ4_1;
  static constexpr int kSb = 20, kMOff = 2;
  static constexpr bool kX16 = true;
  static __m512i unpack(const Block* w) { return nib_x16(w[0].qs, w[1].qs); }
  static __m512i offset() { return _mm512_setzero_si512(); }
};
struct Q50 {
  using Block = BlockQ5_0;
  static constexpr int kSb = 22, kMOff = -1;
  static constexpr bool kX16 = false;
  static __m512i unpack(const Block* w) { return q5_pair(w[0].qs, w[0].qh, w[1].qs, w[1].qh); }
  static __m512i offset() { return _mm512_set1_epi8(16); }
};
struct Q51 {
  using Block = BlockQ5_1;
  static constexpr int kSb = 24, kMOff = 2;
  static constexpr bool kX16 = false;
  static __m512i unpack(const Block* w) { return q5_pair(w[0].qs, w[0].qh, w[1].qs, w[1].qh); }
  static __m512i offset() { return _mm512_setzero_si512(); }
};
struct Q80 {
  using Block = BlockQ8_0;
  static constexpr int kSb = 34, kMOff = -1;
  static constexpr bool kX16 = false;
  // int8 w -> w + 128 as unsigned; the offset 128 * sum(a) is removed below.
  static __m512i unpack(const Block* w) {
    const __m512i v = _mm512_inserti64x4(_mm512_castsi256_si512(load256(w[0].qs)), load256(w[1].qs), 1);
    return _mm512_xor_si512(v, _mm512_set1_epi8(static_cast<char>(0x80)));
  }
  static __m512i offset() { return _mm512_set1_epi8(static_cast<char>(0x80)); }
};

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
    const auto* wb = reinterpret_cast<const uint8_t*>(w);
    const auto* ab = reinterpret_cast<const uint8_t*>(a);
    const __m256 fa = _mm256_cvtph_ps(fields8<34, 0>(ab));
    const __m256 s8 = _mm256_mul_ps(_mm256_cvtph_ps(fields8<P::kSb, 0>(wb)), fa);
    __m512 s = _mm512_castps256_ps512(s8);
    if constexpr (P::kX16) s = _mm512_mul_ps(_mm512_permutexvar_ps(dup, s), x16);
    __m512 m = _mm512_setzero_ps();
    if constexpr (!kHasOffset) {
      m = _mm512_castps256_ps512(_mm256_mul_ps(_mm256_cvtph_ps(fields8<P::kSb, P::kMOff>(wb)), fa));
    }
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

}  // namespace ops::avx512vnni
