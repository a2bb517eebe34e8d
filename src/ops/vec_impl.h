// Bodies of the transcendental-heavy vector ops, included by vec.cpp (baseline) and
// vec_avx2.cpp (AVX2+FMA flags) so the compiler vectorizes them for both. Everything is in an
// unnamed namespace and avoids std:: templates: each including file gets its own copy, so
// the linker can never substitute the AVX2 build of a function into baseline code.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "ops/vec.h"

namespace ops {
namespace {

// Generic float vectors (GCC/Clang vector extensions), 4 wide (SSE2) in the baseline build
// and 8 wide (one AVX2 register) in vec_avx2.cpp. Used instead of relying on
// auto-vectorization, which refuses the float selects without -ffast-math.
#ifdef __AVX2__
constexpr int kW = 8;
#else
constexpr int kW = 4;
#endif
typedef float F8 __attribute__((vector_size(4 * kW)));
typedef int32_t I8 __attribute__((vector_size(4 * kW)));

inline F8 load8(const float* p) {
  F8 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline void store8(float* p, F8 v) { std::memcpy(p, &v, sizeof(v)); }
inline F8 splat(float f) { return F8{} + f; }

// exp(x): range reduction by ln2 plus a degree-6 polynomial; about 2 ulp over the normal
// range, exactly 0 below -87.3 (so masked -inf scores vanish), finite at the top.
inline F8 exp8(F8 x) {
  const F8 hi = splat(88.7f), lo = splat(-87.3f), magic = splat(12582912.0f);
  F8 xc = x < hi ? x : hi;
  xc = xc > lo ? xc : lo;
  const F8 t = xc * 1.44269504088896341f + magic;  // round(x / ln2) lands in the low bits
  const F8 nf = t - magic;
  const I8 ni = (__builtin_bit_cast(I8, t) & 0x7fffff) - 0x400000;
  const F8 r = (xc - nf * 0.693145751953125f) - nf * 1.428606765330187e-06f;
  F8 p = splat(1.0f / 720);
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const I8 sb = (ni + 127) << 23;
  const F8 res = p * __builtin_bit_cast(F8, sb);
  return x < lo ? splat(0.0f) : res;
}

inline F8 silu8(F8 v) { return v / (1.0f + exp8(-v)); }

// tanh-approximation GELU in its sigmoid form: 0.5 v (1 + tanh(u)) = v / (1 + exp(-2u)),
// which avoids the cancellation in 1 + tanh(u) for negative v.
inline F8 gelu8(F8 v) {
  const F8 u = 0.7978845608028654f * v * (1.0f + 0.044715f * v * v);
  return v / (1.0f + exp8(-2.0f * u));
}

// y[i] = f(x[i]) kW at a time (y may alias x element-for-element); the tail goes through a
// padded copy.
template <class F>
inline void map8(const float* x, float* y, int64_t n, F f) {
  int64_t i = 0;
  for (; i + kW <= n; i += kW) store8(y + i, f(load8(x + i)));
  if (i < n) {
    float tmp[kW] = {};
    std::memcpy(tmp, x + i, (n - i) * sizeof(float));
    store8(tmp, f(load8(tmp)));
    std::memcpy(y + i, tmp, (n - i) * sizeof(float));
  }
}

// out[i] = f(a[i], b[i]); out may alias a or b element-for-element.
template <class F>
inline void zip8(const float* a, const float* b, float* out, int64_t n, F f) {
  int64_t i = 0;
  for (; i + kW <= n; i += kW) store8(out + i, f(load8(a + i), load8(b + i)));
  if (i < n) {
    float ta[kW] = {}, tb[kW] = {};
    std::memcpy(ta, a + i, (n - i) * sizeof(float));
    std::memcpy(tb, b + i, (n - i) * sizeof(float));
    store8(ta, f(load8(ta), load8(tb)));
    std::memcpy(out + i, ta, (n - i) * sizeof(float));
  }
}

inline void impl_silu(float* x, int64_t n) { map8(x, x, n, silu8); }
inline void impl_gelu(float* x, int64_t n) { map8(x, x, n, gelu8); }

inline void impl_swiglu(const float* gate, const float* up, float* out, int64_t n) {
  zip8(gate, up, out, n, [](F8 g, F8 u) { return silu8(g) * u; });
}

inline void impl_geglu(const float* gate, const float* up, float* out, int64_t n) {
  zip8(gate, up, out, n, [](F8 g, F8 u) { return gelu8(g) * u; });
}

inline void impl_softmax(float* x, int64_t n) {
  float m = -INFINITY;
  for (int64_t i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
  if (m == -INFINITY) {  // fully masked row: zeros are safe
    for (int64_t i = 0; i < n; i++) x[i] = 0;
    return;
  }
  F8 acc = splat(0.0f);
  int64_t i = 0;
  for (; i + kW <= n; i += kW) {
    const F8 e = exp8(load8(x + i) - m);
    store8(x + i, e);
    acc += e;
  }
  float s = 0;
  for (int l = 0; l < kW; l++) s += acc[l];
  if (i < n) {
    float tmp[kW];
    for (int l = 0; l < kW; l++) tmp[l] = i + l < n ? x[i + l] - m : -INFINITY;
    const F8 e = exp8(load8(tmp));
    for (int l = 0; i + l < n; l++) {
      x[i + l] = e[l];
      s += e[l];
    }
  }
  const F8 inv = splat(1.0f / s);
  map8(x, x, n, [inv](F8 v) { return v * inv; });
}

}  // namespace

// The ISA-specific set, chosen once in vec.cpp.
struct VecFns {
  void (*silu)(float*, int64_t);
  void (*gelu)(float*, int64_t);
  void (*swiglu)(const float*, const float*, float*, int64_t);
  void (*geglu)(const float*, const float*, float*, int64_t);
  void (*softmax)(float*, int64_t);
};
const VecFns& vec_fns_baseline();
const VecFns& vec_fns_avx2();  // only call when detected_isa() >= kAvx2

}  // namespace ops
