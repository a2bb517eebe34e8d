// AVX2 dots of the 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, MXFP4, IQ4_NL) with
// Q8_0 activations. Per block: unpack weights to unsigned bytes, maddubs against the int8
// activations, fold the weight offset (-8 / -16) in as offset * sum(a) (also a maddubs), then
// one FMA with d_w * d_a. MXFP4 and IQ4_NL codes become signed values by one pshufb of their
// table (the doubled E2M1 values, the IQ4_NL values).
#include "ops/x86/prefetch.h"
#include "ops/x86/simd_avx2.h"
#include "ops/x86/x86_kernels.h"

namespace ops::avx2 {
using namespace ops::x86;

namespace {

// int32x8 of dot(q, a) - off * sum(a) for 32 unsigned weight bytes q.
inline __m256 dot_offset(__m256i q, __m256i a, __m256i off) {
  const __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(q, a), _mm256_maddubs_epi16(off, a));
  return _mm256_cvtepi32_ps(pairs_i32(p));
}

inline __m256 sum_bytes(__m256i a) {
  return _mm256_cvtepi32_ps(pairs_i32(_mm256_maddubs_epi16(_mm256_set1_epi8(1), a)));
}

inline __m256 dot_unsigned(__m256i q, __m256i a) {
  return _mm256_cvtepi32_ps(pairs_i32(_mm256_maddubs_epi16(q, a)));
}

inline __m256i q5_bytes(const uint8_t* qs, const uint8_t* qh) {
  return _mm256_or_si256(nibbles32(qs),
                         _mm256_and_si256(bits_to_bytes(qh), _mm256_set1_epi8(0x10)));
}

// int32x8 of dot(T[codes], a) for one block of 16 nibble bytes (MXFP4, IQ4_NL): the table
// lookup gives signed values (MXFP4 [-12, 12], IQ4_NL [-127, 113]), multiplied as |w| * (a with
// w's sign) (Q8_0's sign trick: neither w nor a ever holds -128, so no pair saturates).
inline __m256 dot_table(const uint8_t* qs, const int8_t* a, __m256i table) {
  const __m256i w = _mm256_shuffle_epi8(table, nibbles32(qs));
  const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(load256(a), w));
  return _mm256_cvtepi32_ps(pairs_i32(p));
}

}  // namespace

void vec_dot_q4_0_q8_0(int64_t n, float* out, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ4_0*>(vw);
  const auto* a = static_cast<const BlockQ8_0*>(va);
  const int64_t nb = n / kQK4_0;
  const __m256i off = _mm256_set1_epi8(8);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    const __m256 p0 = dot_offset(nibbles32(w[b].qs), load256(a[b].qs), off);
    const __m256 p1 = dot_offset(nibbles32(w[b + 1].qs), load256(a[b + 1].qs), off);
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[b].d) * h2f(a[b].d)), p0, acc0);
    acc1 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[b + 1].d) * h2f(a[b + 1].d)), p1, acc1);
  }
  for (; b < nb; b++) {
    const __m256 p = dot_offset(nibbles32(w[b].qs), load256(a[b].qs), off);
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[b].d) * h2f(a[b].d)), p, acc0);
  }
  *out = hsum(_mm256_add_ps(acc0, acc1));
}

void vec_dot_q4_1_q8_0(int64_t n, float* out, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ4_1*>(vw);
  const auto* a = static_cast<const BlockQ8_0*>(va);
  const int64_t nb = n / kQK4_1;
  __m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    prefetch_weights<sizeof(*w)>(w + b);
    const __m256i av = load256(a[b].qs);
    const float da = h2f(a[b].d);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[b].d) * da), dot_unsigned(nibbles32(w[b].qs), av),
                          acc);
    accm = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[b].m) * da), sum_bytes(av), accm);
  }
  *out = hsum(_mm256_add_ps(acc, accm));
}

void vec_dot_q5_0_q8_0(int64_t n, float* out, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ5_0*>(vw);
  const auto* a = static_cast<const BlockQ8_0*>(va);
  const int64_t nb = n / kQK5_0;
  const __m256i off = _mm256_set1_epi8(16);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    const __m256 p0 = dot_offset(q5_bytes(w[b].qs, w[b].qh), load256(a[b].qs), off);
    const __m256 p1 = dot_offset(q5_bytes(w[b + 1].qs, w[b + 1].qh), load256(a[b + 1].qs), off);
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[b].d) * h2f(a[b].d)), p0, acc0);
    acc1 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[b + 1].d) * h2f(a[b + 1].d)), p1, acc1);
  }
  for (; b < nb; b++) {
    const __m256 p = dot_offset(q5_bytes(w[b].qs, w[b].qh), load256(a[b].qs), off);
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[b].d) * h2f(a[b].d)), p, acc0);
  }
  *out = hsum(_mm256_add_ps(acc0, acc1));
}

void vec_dot_q5_1_q8_0(int64_t n, float* out, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ5_1*>(vw);
  const auto* a = static_cast<const BlockQ8_0*>(va);
  const int64_t nb = n / kQK5_1;
  __m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    prefetch_weights<sizeof(*w)>(w + b);
    const __m256i av = load256(a[b].qs);
    const float da = h2f(a[b].d);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[b].d) * da),
                          dot_unsigned(q5_bytes(w[b].qs, w[b].qh), av), acc);
    accm = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[b].m) * da), sum_bytes(av), accm);
  }
  *out = hsum(_mm256_add_ps(acc, accm));
}

// Sign trick: |w| * (a with w's sign). Safe because activations never hold -128 (types.h).
void vec_dot_q8_0_q8_0(int64_t n, float* out, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ8_0*>(vw);
  const auto* a = static_cast<const BlockQ8_0*>(va);
  const int64_t nb = n / kQK8_0;
  auto dot = [](const int8_t* x, const int8_t* y) {
    const __m256i xv = load256(x), yv = load256(y);
    return _mm256_cvtepi32_ps(
        pairs_i32(_mm256_maddubs_epi16(_mm256_sign_epi8(xv, xv), _mm256_sign_epi8(yv, xv))));
  };
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[b].d) * h2f(a[b].d)), dot(w[b].qs, a[b].qs), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[b + 1].d) * h2f(a[b + 1].d)),
                           dot(w[b + 1].qs, a[b + 1].qs), acc1);
  }
  for (; b < nb; b++) {
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[b].d) * h2f(a[b].d)), dot(w[b].qs, a[b].qs), acc0);
  }
  *out = hsum(_mm256_add_ps(acc0, acc1));
}

namespace {

// The dot of the table types: each block's 16 nibble bytes through `values`, its scale as
// scale(block) (the MXFP4 e8m0 scale is exact as a float, so d_w * d_a rounds once, as in the
// twins).
template <class Block, class Scale>
void table_vec_dot(int64_t n, float* out, const void* vw, const void* va, const int8_t* values,
                   const Scale& scale) {
  const auto* w = static_cast<const Block*>(vw);
  const auto* a = static_cast<const BlockQ8_0*>(va);
  const int64_t nb = n / 32;
  const __m256i table = _mm256_broadcastsi128_si256(load128(values));
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    const __m256 p0 = dot_table(w[b].qs, a[b].qs, table);
    const __m256 p1 = dot_table(w[b + 1].qs, a[b + 1].qs, table);
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(scale(w[b]) * h2f(a[b].d)), p0, acc0);
    acc1 = _mm256_fmadd_ps(_mm256_set1_ps(scale(w[b + 1]) * h2f(a[b + 1].d)), p1, acc1);
  }
  for (; b < nb; b++) {
    const __m256 p = dot_table(w[b].qs, a[b].qs, table);
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(scale(w[b]) * h2f(a[b].d)), p, acc0);
  }
  *out = hsum(_mm256_add_ps(acc0, acc1));
}

}  // namespace

void vec_dot_mxfp4_q8_0(int64_t n, float* out, const void* vw, const void* va) {
  table_vec_dot<BlockMxfp4>(n, out, vw, va, kMxfp4Values,
                            [](const BlockMxfp4& b) { return mxfp4_scale(b.e); });
}

void vec_dot_iq4_nl_q8_0(int64_t n, float* out, const void* vw, const void* va) {
  table_vec_dot<BlockIq4Nl>(n, out, vw, va, kIq4nlValues,
                            [](const BlockIq4Nl& b) { return h2f(b.d); });
}

}  // namespace ops::avx2
