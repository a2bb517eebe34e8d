// Shared helpers for the ops tests: seeded random data, quantize/dequantize wrappers, errors.
#pragma once
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "ops/kernels_impl.h"
#include "ops/types.h"

namespace ops_test {

inline std::vector<float> gaussian(int64_t n, uint32_t seed, float sigma = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, sigma);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

inline int64_t block_size(ops::DType t) {
  return ops::type_info(static_cast<uint32_t>(t))->block_size;
}

inline size_t block_bytes(ops::DType t) {
  return ops::type_info(static_cast<uint32_t>(t))->block_bytes;
}

inline const char* type_name(ops::DType t) {
  return ops::type_info(static_cast<uint32_t>(t))->name;
}

// Offsets of the fp16 scale fields in each block (tests overwrite them with sane values so
// random bytes never make inf/NaN scales).
inline std::vector<size_t> f16_fields(ops::DType t) {
  switch (t) {
    case ops::DType::Q4_0:
    case ops::DType::Q5_0:
    case ops::DType::Q8_0:
      return {0};
    case ops::DType::Q4_1:
    case ops::DType::Q5_1:
      return {0, 2};
    case ops::DType::Q2_K:
      return {80, 82};
    case ops::DType::Q3_K:
      return {108};
    case ops::DType::Q4_K:
    case ops::DType::Q5_K:
      return {0, 2};
    case ops::DType::Q6_K:
      return {208};
    default:
      return {};
  }
}

// Quantizes with the scalar reference quantizer of t.
inline std::vector<uint8_t> quantize(ops::DType t, const std::vector<float>& x) {
  std::vector<uint8_t> q(ops::row_bytes(t, static_cast<int64_t>(x.size())));
  ops::scalar_table()[t].quantize_row(x.data(), q.data(), static_cast<int64_t>(x.size()));
  return q;
}

inline std::vector<float> dequantize(ops::DType t, const void* q, int64_t n) {
  std::vector<float> y(n);
  ops::scalar_table()[t].dequantize_row(q, y.data(), n);
  return y;
}

// RMS(a - b) / RMS(b).
inline double rel_rmse(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); i++) {
    num += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    den += double(b[i]) * b[i];
  }
  return std::sqrt(num / (den > 0 ? den : 1));
}

inline double dot_d(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); i++) s += double(a[i]) * b[i];
  return s;
}
inline double abs_dot_d(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); i++) s += std::fabs(double(a[i]) * b[i]);
  return s;
}

// Weight types with a vec_dot.
inline const std::vector<ops::DType>& dot_types() {
  using ops::DType;
  static const std::vector<DType> kTypes = {
      DType::F32,  DType::F16,  DType::BF16,   DType::Q4_0,  DType::Q4_1, DType::Q5_0,
      DType::Q5_1, DType::Q8_0, DType::MXFP4,  DType::Q2_K,  DType::Q3_K, DType::Q4_K,
      DType::Q5_K, DType::Q6_K, DType::IQ4_NL, DType::IQ4_XS};
  return kTypes;
}

}  // namespace ops_test
