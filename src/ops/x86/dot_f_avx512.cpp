// AVX-512 float-weight dots (F32, F16 via vcvtph2ps, BF16 via shift) with F32 activations.
// Bandwidth-bound: 4 independent zmm accumulators (64 elements per step) are enough.
#include "ops/x86/prefetch.h"
#include "ops/x86/simd_avx2.h"
#include "ops/x86/x86_kernels.h"

namespace ops::avx512 {
using namespace ops::x86;

namespace {

template <class W, class Load16>
float dot_f32_acts(int64_t n, const float* a, Load16 load16, float (*load1)(const void*, int64_t),
                   const W* w) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  __m512 acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    prefetch_weights<64 * sizeof(W)>(w + i);
    acc0 = _mm512_fmadd_ps(load16(i), _mm512_loadu_ps(a + i), acc0);
    acc1 = _mm512_fmadd_ps(load16(i + 16), _mm512_loadu_ps(a + i + 16), acc1);
    acc2 = _mm512_fmadd_ps(load16(i + 32), _mm512_loadu_ps(a + i + 32), acc2);
    acc3 = _mm512_fmadd_ps(load16(i + 48), _mm512_loadu_ps(a + i + 48), acc3);
  }
  for (; i + 16 <= n; i += 16) acc0 = _mm512_fmadd_ps(load16(i), _mm512_loadu_ps(a + i), acc0);
  float s =
      _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
  for (; i < n; i++) s += load1(w, i) * a[i];
  return s;
}

float f32_at(const void* w, int64_t i) { return static_cast<const float*>(w)[i]; }
float f16_at(const void* w, int64_t i) { return h2f(static_cast<const f16_t*>(w)[i]); }
float bf16_at(const void* w, int64_t i) { return bf2f(static_cast<const bf16_t*>(w)[i]); }

}  // namespace

void vec_dot_f32(int64_t n, float* out, const void* vw, const void* va) {
  const auto* w = static_cast<const float*>(vw);
  *out = dot_f32_acts(
      n, static_cast<const float*>(va), [w](int64_t i) { return _mm512_loadu_ps(w + i); }, f32_at,
      w);
}

void vec_dot_f16_f32(int64_t n, float* out, const void* vw, const void* va) {
  const auto* w = static_cast<const f16_t*>(vw);
  *out = dot_f32_acts(
      n, static_cast<const float*>(va), [w](int64_t i) { return _mm512_cvtph_ps(load256(w + i)); },
      f16_at, w);
}

void vec_dot_bf16_f32(int64_t n, float* out, const void* vw, const void* va) {
  const auto* w = static_cast<const bf16_t*>(vw);
  *out = dot_f32_acts(
      n, static_cast<const float*>(va),
      [w](int64_t i) {
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(load256(w + i)), 16));
      },
      bf16_at, w);
}

}  // namespace ops::avx512
