// Scalar reference kernels for the float weight types (F32, F16, BF16) with F32 activations.
#include <cstring>

#include "ops/kernels_impl.h"

namespace ops::scalar {

// Eight independent partial sums: lets the compiler vectorize without reassociation flags and
// keeps the rounding pattern close to what SIMD twins do.
template <class Load>
static float dot_f32_acts(int64_t n, const float* a, Load load) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int l = 0; l < 8; l++) acc[l] += load(i + l) * a[i + l];
  }
  for (; i < n; i++) acc[0] += load(i) * a[i];
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

void vec_dot_f32(int64_t n, float* out, const void* vw, const void* va) {
  const auto* w = static_cast<const float*>(vw);
  *out = dot_f32_acts(n, static_cast<const float*>(va), [w](int64_t i) { return w[i]; });
}

void vec_dot_f16_f32(int64_t n, float* out, const void* vw, const void* va) {
  const auto* w = static_cast<const f16_t*>(vw);
  *out =
      dot_f32_acts(n, static_cast<const float*>(va), [w](int64_t i) { return fp16_to_fp32(w[i]); });
}

void vec_dot_bf16_f32(int64_t n, float* out, const void* vw, const void* va) {
  const auto* w = static_cast<const bf16_t*>(vw);
  *out =
      dot_f32_acts(n, static_cast<const float*>(va), [w](int64_t i) { return bf16_to_fp32(w[i]); });
}

void copy_row_f32(const void* x, float* y, int64_t n) { std::memcpy(y, x, n * sizeof(float)); }
void copy_row_f32_q(const float* x, void* y, int64_t n) { std::memcpy(y, x, n * sizeof(float)); }

void dequantize_row_f16(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const f16_t*>(vx);
  for (int64_t i = 0; i < n; i++) y[i] = fp16_to_fp32(x[i]);
}
void quantize_row_f16(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<f16_t*>(vy);
  for (int64_t i = 0; i < n; i++) y[i] = fp32_to_fp16(x[i]);
}
void dequantize_row_bf16(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const bf16_t*>(vx);
  for (int64_t i = 0; i < n; i++) y[i] = bf16_to_fp32(x[i]);
}
void quantize_row_bf16(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<bf16_t*>(vy);
  for (int64_t i = 0; i < n; i++) y[i] = fp32_to_bf16(x[i]);
}

}  // namespace ops::scalar
