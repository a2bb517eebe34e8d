// Plain float vector ops: simple loops the compiler vectorizes; reductions use several
// accumulators so they vectorize without -ffast-math.
#include "ops/vec.h"

#include <cmath>

#include "ops/types.h"
#include "ops/vec_impl.h"

namespace ops {
namespace {

// Sum of f(i) for i < n with 8 independent accumulators.
template <class F>
inline float reduce8(int64_t n, F f) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int l = 0; l < 8; l++) acc[l] += f(i + l);
  }
  for (; i < n; i++) acc[0] += f(i);
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

}  // namespace

float dot(const float* a, const float* b, int64_t n) {
  return reduce8(n, [&](int64_t i) { return a[i] * b[i]; });
}

float sum(const float* x, int64_t n) {
  return reduce8(n, [&](int64_t i) { return x[i]; });
}

float max(const float* x, int64_t n) {
  float m = -INFINITY;
  for (int64_t i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
  return m;
}

void rmsnorm(const float* x, const float* w, float* y, int64_t n, float eps) {
  const float ss = reduce8(n, [&](int64_t i) { return x[i] * x[i]; });
  const float r = 1.0f / std::sqrt(ss / static_cast<float>(n) + eps);
  if (w != nullptr) {
    zip8(x, w, y, n, [r](F8 a, F8 b) { return a * r * b; });
  } else {
    map8(x, y, n, [r](F8 a) { return a * r; });
  }
}

void layernorm(const float* x, const float* w, const float* b, float* y, int64_t n, float eps) {
  const float mean = sum(x, n) / static_cast<float>(n);
  const float var =
      reduce8(n, [&](int64_t i) { return (x[i] - mean) * (x[i] - mean); }) / static_cast<float>(n);
  const float r = 1.0f / std::sqrt(var + eps);
  for (int64_t i = 0; i < n; i++) {
    float v = (x[i] - mean) * r;
    if (w != nullptr) v *= w[i];
    if (b != nullptr) v += b[i];
    y[i] = v;
  }
}

const VecFns& vec_fns_baseline() {
  static const VecFns fns = {impl_silu, impl_gelu, impl_swiglu, impl_geglu, impl_softmax};
  return fns;
}

namespace {
const VecFns& fns() {
  static const VecFns& f = detected_isa() >= Isa::kAvx2 ? vec_fns_avx2() : vec_fns_baseline();
  return f;
}
}  // namespace

void softmax(float* x, int64_t n) { fns().softmax(x, n); }

void softmax_scaled(float* x, int64_t n, float s) {
  scale(x, s, n);
  softmax(x, n);
}

void silu(float* x, int64_t n) { fns().silu(x, n); }
void gelu(float* x, int64_t n) { fns().gelu(x, n); }

void gelu_erf(float* x, int64_t n) {
  constexpr float kInvSqrt2 = 0.7071067811865476f;
  for (int64_t i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * kInvSqrt2));
}

void swiglu(const float* gate, const float* up, float* out, int64_t n) {
  fns().swiglu(gate, up, out, n);
}

void geglu(const float* gate, const float* up, float* out, int64_t n) {
  fns().geglu(gate, up, out, n);
}

void add(const float* a, const float* b, float* y, int64_t n) {
  zip8(a, b, y, n, [](F8 u, F8 v) { return u + v; });
}

void mul(const float* a, const float* b, float* y, int64_t n) {
  zip8(a, b, y, n, [](F8 u, F8 v) { return u * v; });
}

void scale(float* x, float s, int64_t n) {
  map8(x, x, n, [s](F8 v) { return v * s; });
}

void axpy(float a, const float* x, float* y, int64_t n) {
  zip8(x, y, y, n, [a](F8 u, F8 v) { return v + a * u; });
}

void rope_cache(float* cs, int64_t n_rot, float pos, float freq_base, float freq_scale,
                const float* freq_factors) {
  for (int64_t i = 0; i < n_rot / 2; i++) {
    // Double precision for the angle: positions reach 1e5+ and float theta loses digits.
    double theta = static_cast<double>(pos) * freq_scale *
                   std::pow(static_cast<double>(freq_base), -2.0 * i / static_cast<double>(n_rot));
    if (freq_factors != nullptr) theta /= freq_factors[i];
    cs[2 * i] = static_cast<float>(std::cos(theta));
    cs[2 * i + 1] = static_cast<float>(std::sin(theta));
  }
}

void rope_norm(float* x, int64_t n_heads, int64_t head_dim, int64_t n_rot, const float* cs) {
  for (int64_t h = 0; h < n_heads; h++) {
    float* v = x + h * head_dim;
    for (int64_t i = 0; i < n_rot / 2; i++) {
      const float c = cs[2 * i], s = cs[2 * i + 1];
      const float a = v[2 * i], b = v[2 * i + 1];
      v[2 * i] = a * c - b * s;
      v[2 * i + 1] = a * s + b * c;
    }
  }
}

void rope_neox(float* x, int64_t n_heads, int64_t head_dim, int64_t n_rot, const float* cs) {
  const int64_t half = n_rot / 2;
  for (int64_t h = 0; h < n_heads; h++) {
    float* v = x + h * head_dim;
    for (int64_t i = 0; i < half; i++) {
      const float c = cs[2 * i], s = cs[2 * i + 1];
      const float a = v[i], b = v[i + half];
      v[i] = a * c - b * s;
      v[i + half] = a * s + b * c;
    }
  }
}

}  // namespace ops
