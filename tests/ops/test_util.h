// Shared helpers for the ops tests: seeded random data, quantize/dequantize wrappers, errors.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
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
    case ops::DType::IQ4_NL:
    case ops::DType::IQ4_XS:
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

// A gemm kernel's output y (ldy > nr, filled with -777 before the call) for nr weight rows of
// type t (ws bytes apart) and nt activation rows (as bytes apart), n values each, against the
// scalar dot of every (row, token) pair within 2e-6 of the sum of |products|; the lanes past nr
// must be untouched. `what` names the case in failures; returns the pairs checked.
inline int expect_gemm_matches_dots(ops::DType t, int64_t n, int nr, int nt, const uint8_t* w,
                                    size_t ws, const uint8_t* a, size_t as, const float* y,
                                    int64_t ldy, const std::string& what) {
  const auto& ref = ops::scalar_table()[t];
  int checked = 0;
  for (int i = 0; i < nt; i++) {
    for (int r = 0; r < ldy; r++) {
      if (r >= nr) {
        if (y[i * ldy + r] != -777.0f) {
          ADD_FAILURE() << what << ": gemm wrote outside its rows (r=" << r << " t=" << i << ")";
          return checked;
        }
        continue;
      }
      float want = 0;
      ref.vec_dot(n, &want, w + r * ws, a + i * as);
      const double bound =
          abs_dot_d(dequantize(t, w + r * ws, n), dequantize(ref.act_type, a + i * as, n));
      EXPECT_NEAR(y[i * ldy + r], want, 2e-6 * bound + 1e-30)
          << what << " n=" << n << " nr=" << nr << " nt=" << nt << " r=" << r << " t=" << i;
      checked++;
    }
  }
  return checked;
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
