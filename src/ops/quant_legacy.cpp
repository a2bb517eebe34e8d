// Scalar reference kernels for the 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,
// MXFP4): dequantize, quantize, and dot against Q8_0 activations.
#include <algorithm>
#include <cmath>

#include "ops/kernels_impl.h"

namespace ops::scalar {
namespace {

inline uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;  // little-endian hosts only (x86-64, aarch64)
}
inline void store_u32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }

// Largest-magnitude value with its sign (the symmetric quantizers map it to the code -2^(b-1)).
inline float signed_absmax(const float* x, int n) {
  float amax = 0, vmax = 0;
  for (int j = 0; j < n; j++) {
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      vmax = x[j];
    }
  }
  return vmax;
}

inline int clamp_int(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

}  // namespace

// ---- Q8_0 ----------------------------------------------------------------------------------

void quantize_row_q8_0(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockQ8_0*>(vy);
  for (int64_t b = 0; b < n / kQK8_0; b++, x += kQK8_0) {
    float amax = 0;
    for (int j = 0; j < kQK8_0; j++) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    y[b].d = fp32_to_fp16(d);
    for (int j = 0; j < kQK8_0; j++) {
      y[b].qs[j] =
          static_cast<int8_t>(clamp_int(static_cast<int>(std::lround(x[j] * id)), -127, 127));
    }
  }
}

void dequantize_row_q8_0(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const BlockQ8_0*>(vx);
  for (int64_t b = 0; b < n / kQK8_0; b++, y += kQK8_0) {
    const float d = fp16_to_fp32(x[b].d);
    for (int j = 0; j < kQK8_0; j++) y[j] = d * x[b].qs[j];
  }
}

void vec_dot_q8_0_q8_0(int64_t n, float* out, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ8_0*>(vw);
  const auto* a = static_cast<const BlockQ8_0*>(va);
  float acc = 0;
  for (int64_t b = 0; b < n / kQK8_0; b++) {
    int sumi = 0;
    for (int j = 0; j < kQK8_0; j++) sumi += w[b].qs[j] * a[b].qs[j];
    acc += fp16_to_fp32(w[b].d) * fp16_to_fp32(a[b].d) * static_cast<float>(sumi);
  }
  *out = acc;
}

// ---- Q4_0 ----------------------------------------------------------------------------------

void quantize_row_q4_0(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockQ4_0*>(vy);
  for (int64_t b = 0; b < n / kQK4_0; b++, x += kQK4_0) {
    const float vmax = signed_absmax(x, kQK4_0);
    const float d = vmax / -8.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    y[b].d = fp32_to_fp16(d);
    for (int j = 0; j < kQK4_0 / 2; j++) {
      const int q0 = clamp_int(static_cast<int>(std::lround(x[j] * id)) + 8, 0, 15);
      const int q1 = clamp_int(static_cast<int>(std::lround(x[j + 16] * id)) + 8, 0, 15);
      y[b].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

void dequantize_row_q4_0(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const BlockQ4_0*>(vx);
  for (int64_t b = 0; b < n / kQK4_0; b++, y += kQK4_0) {
    const float d = fp16_to_fp32(x[b].d);
    for (int j = 0; j < 16; j++) {
      y[j] = d * ((x[b].qs[j] & 0xf) - 8);
      y[j + 16] = d * ((x[b].qs[j] >> 4) - 8);
    }
  }
}

void vec_dot_q4_0_q8_0(int64_t n, float* out, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ4_0*>(vw);
  const auto* a = static_cast<const BlockQ8_0*>(va);
  float acc = 0;
  for (int64_t b = 0; b < n / kQK4_0; b++) {
    int sumi = 0;
    for (int j = 0; j < 16; j++) {
      sumi += ((w[b].qs[j] & 0xf) - 8) * a[b].qs[j];
      sumi += ((w[b].qs[j] >> 4) - 8) * a[b].qs[j + 16];
    }
    acc += fp16_to_fp32(w[b].d) * fp16_to_fp32(a[b].d) * static_cast<float>(sumi);
  }
  *out = acc;
}

// ---- Q4_1 ----------------------------------------------------------------------------------

void quantize_row_q4_1(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockQ4_1*>(vy);
  for (int64_t b = 0; b < n / kQK4_1; b++, x += kQK4_1) {
    float lo = x[0], hi = x[0];
    for (int j = 1; j < kQK4_1; j++) {
      lo = std::min(lo, x[j]);
      hi = std::max(hi, x[j]);
    }
    const float d = (hi - lo) / 15.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    y[b].d = fp32_to_fp16(d);
    y[b].m = fp32_to_fp16(lo);
    for (int j = 0; j < 16; j++) {
      const int q0 = clamp_int(static_cast<int>(std::lround((x[j] - lo) * id)), 0, 15);
      const int q1 = clamp_int(static_cast<int>(std::lround((x[j + 16] - lo) * id)), 0, 15);
      y[b].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

void dequantize_row_q4_1(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const BlockQ4_1*>(vx);
  for (int64_t b = 0; b < n / kQK4_1; b++, y += kQK4_1) {
    const float d = fp16_to_fp32(x[b].d), m = fp16_to_fp32(x[b].m);
    for (int j = 0; j < 16; j++) {
      y[j] = d * (x[b].qs[j] & 0xf) + m;
      y[j + 16] = d * (x[b].qs[j] >> 4) + m;
    }
  }
}

void vec_dot_q4_1_q8_0(int64_t n, float* out, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ4_1*>(vw);
  const auto* a = static_cast<const BlockQ8_0*>(va);
  float acc = 0;
  for (int64_t b = 0; b < n / kQK4_1; b++) {
    int sumi = 0, suma = 0;
    for (int j = 0; j < 16; j++) {
      sumi += (w[b].qs[j] & 0xf) * a[b].qs[j] + (w[b].qs[j] >> 4) * a[b].qs[j + 16];
      suma += a[b].qs[j] + a[b].qs[j + 16];
    }
    const float da = fp16_to_fp32(a[b].d);
    acc += fp16_to_fp32(w[b].d) * da * static_cast<float>(sumi) +
           fp16_to_fp32(w[b].m) * da * static_cast<float>(suma);
  }
  *out = acc;
}

// ---- Q5_0 ----------------------------------------------------------------------------------

void quantize_row_q5_0(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockQ5_0*>(vy);
  for (int64_t b = 0; b < n / kQK5_0; b++, x += kQK5_0) {
    const float vmax = signed_absmax(x, kQK5_0);
    const float d = vmax / -16.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    y[b].d = fp32_to_fp16(d);
    uint32_t qh = 0;
    for (int j = 0; j < 16; j++) {
      const int q0 = clamp_int(static_cast<int>(std::lround(x[j] * id)) + 16, 0, 31);
      const int q1 = clamp_int(static_cast<int>(std::lround(x[j + 16] * id)) + 16, 0, 31);
      y[b].qs[j] = static_cast<uint8_t>((q0 & 0xf) | ((q1 & 0xf) << 4));
      qh |= static_cast<uint32_t>(q0 >> 4) << j;
      qh |= static_cast<uint32_t>(q1 >> 4) << (j + 16);
    }
    store_u32(y[b].qh, qh);
  }
}

void dequantize_row_q5_0(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const BlockQ5_0*>(vx);
  for (int64_t b = 0; b < n / kQK5_0; b++, y += kQK5_0) {
    const float d = fp16_to_fp32(x[b].d);
    const uint32_t qh = load_u32(x[b].qh);
    for (int j = 0; j < 16; j++) {
      const int h0 = (qh >> j) & 1, h1 = (qh >> (j + 16)) & 1;
      y[j] = d * (((x[b].qs[j] & 0xf) | (h0 << 4)) - 16);
      y[j + 16] = d * (((x[b].qs[j] >> 4) | (h1 << 4)) - 16);
    }
  }
}

void vec_dot_q5_0_q8_0(int64_t n, float* out, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ5_0*>(vw);
  const auto* a = static_cast<const BlockQ8_0*>(va);
  float acc = 0;
  for (int64_t b = 0; b < n / kQK5_0; b++) {
    const uint32_t qh = load_u32(w[b].qh);
    int sumi = 0;
    for (int j = 0; j < 16; j++) {
      const int h0 = (qh >> j) & 1, h1 = (qh >> (j + 16)) & 1;
      sumi += (((w[b].qs[j] & 0xf) | (h0 << 4)) - 16) * a[b].qs[j];
      sumi += (((w[b].qs[j] >> 4) | (h1 << 4)) - 16) * a[b].qs[j + 16];
    }
    acc += fp16_to_fp32(w[b].d) * fp16_to_fp32(a[b].d) * static_cast<float>(sumi);
  }
  *out = acc;
}

// ---- Q5_1 ----------------------------------------------------------------------------------

void quantize_row_q5_1(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockQ5_1*>(vy);
  for (int64_t b = 0; b < n / kQK5_1; b++, x += kQK5_1) {
    float lo = x[0], hi = x[0];
    for (int j = 1; j < kQK5_1; j++) {
      lo = std::min(lo, x[j]);
      hi = std::max(hi, x[j]);
    }
    const float d = (hi - lo) / 31.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    y[b].d = fp32_to_fp16(d);
    y[b].m = fp32_to_fp16(lo);
    uint32_t qh = 0;
    for (int j = 0; j < 16; j++) {
      const int q0 = clamp_int(static_cast<int>(std::lround((x[j] - lo) * id)), 0, 31);
      const int q1 = clamp_int(static_cast<int>(std::lround((x[j + 16] - lo) * id)), 0, 31);
      y[b].qs[j] = static_cast<uint8_t>((q0 & 0xf) | ((q1 & 0xf) << 4));
      qh |= static_cast<uint32_t>(q0 >> 4) << j;
      qh |= static_cast<uint32_t>(q1 >> 4) << (j + 16);
    }
    store_u32(y[b].qh, qh);
  }
}

void dequantize_row_q5_1(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const BlockQ5_1*>(vx);
  for (int64_t b = 0; b < n / kQK5_1; b++, y += kQK5_1) {
    const float d = fp16_to_fp32(x[b].d), m = fp16_to_fp32(x[b].m);
    const uint32_t qh = load_u32(x[b].qh);
    for (int j = 0; j < 16; j++) {
      const int h0 = (qh >> j) & 1, h1 = (qh >> (j + 16)) & 1;
      y[j] = d * ((x[b].qs[j] & 0xf) | (h0 << 4)) + m;
      y[j + 16] = d * ((x[b].qs[j] >> 4) | (h1 << 4)) + m;
    }
  }
}

void vec_dot_q5_1_q8_0(int64_t n, float* out, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ5_1*>(vw);
  const auto* a = static_cast<const BlockQ8_0*>(va);
  float acc = 0;
  for (int64_t b = 0; b < n / kQK5_1; b++) {
    const uint32_t qh = load_u32(w[b].qh);
    int sumi = 0, suma = 0;
    for (int j = 0; j < 16; j++) {
      const int h0 = (qh >> j) & 1, h1 = (qh >> (j + 16)) & 1;
      sumi += ((w[b].qs[j] & 0xf) | (h0 << 4)) * a[b].qs[j];
      sumi += ((w[b].qs[j] >> 4) | (h1 << 4)) * a[b].qs[j + 16];
      suma += a[b].qs[j] + a[b].qs[j + 16];
    }
    const float da = fp16_to_fp32(a[b].d);
    acc += fp16_to_fp32(w[b].d) * da * static_cast<float>(sumi) +
           fp16_to_fp32(w[b].m) * da * static_cast<float>(suma);
  }
  *out = acc;
}

// ---- MXFP4 ---------------------------------------------------------------------------------

// llama.cpp's reference rule, so `create -q mxfp4` writes the bytes llama-quantize writes:
// e = floor(log2(amax)) - 2 + 127 (the OCP MX rule: amax's binade over E2M1's largest, 4), so
// values in (1.5, 2) * 2^floor(log2 amax) clip to the top code; e = 0 for an all-zero block.
// Each value takes the code whose T[c] * d is nearest, the lower code on ties (first wins);
// the error is measured as |T[c] * d - x| in float, as llama.cpp does. log2f is the C
// library's, as in llama.cpp (its rounding decides e just below a power of two).
void quantize_row_mxfp4(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockMxfp4*>(vy);
  for (int64_t b = 0; b < n / kQKMxfp4; b++, x += kQKMxfp4) {
    float amax = 0;
    for (int j = 0; j < kQKMxfp4; j++) amax = std::max(amax, std::fabs(x[j]));
    int e = 0;
    if (amax > 0) {
      // Clamped where llama.cpp's float-to-uint8 cast would wrap (amax < 2^-125 or inf/NaN).
      const float fe = std::floor(log2f(amax)) - 2 + 127;
      e = fe >= 0 && fe <= 255 ? static_cast<int>(fe) : (fe > 0 ? 255 : 0);
    }
    y[b].e = static_cast<uint8_t>(e);
    const float d = mxfp4_scale(static_cast<uint8_t>(e));
    for (int j = 0; j < kQKMxfp4; j++) {
      int best = 0;
      float best_err = std::fabs(kMxfp4Values[0] * d - x[j]);
      for (int c = 1; c < 16; c++) {
        const float err = std::fabs(kMxfp4Values[c] * d - x[j]);
        if (err < best_err) {
          best_err = err;
          best = c;
        }
      }
      if (j < 16) {
        y[b].qs[j] = static_cast<uint8_t>(best);
      } else {
        y[b].qs[j - 16] = static_cast<uint8_t>(y[b].qs[j - 16] | (best << 4));
      }
    }
  }
}

void dequantize_row_mxfp4(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const BlockMxfp4*>(vx);
  for (int64_t b = 0; b < n / kQKMxfp4; b++, y += kQKMxfp4) {
    const float d = mxfp4_scale(x[b].e);
    for (int j = 0; j < 16; j++) {
      y[j] = d * kMxfp4Values[x[b].qs[j] & 0xf];
      y[j + 16] = d * kMxfp4Values[x[b].qs[j] >> 4];
    }
  }
}

void vec_dot_mxfp4_q8_0(int64_t n, float* out, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockMxfp4*>(vw);
  const auto* a = static_cast<const BlockQ8_0*>(va);
  float acc = 0;
  for (int64_t b = 0; b < n / kQKMxfp4; b++) {
    int sumi = 0;
    for (int j = 0; j < 16; j++) {
      sumi += kMxfp4Values[w[b].qs[j] & 0xf] * a[b].qs[j];
      sumi += kMxfp4Values[w[b].qs[j] >> 4] * a[b].qs[j + 16];
    }
    acc += mxfp4_scale(w[b].e) * fp16_to_fp32(a[b].d) * static_cast<float>(sumi);
  }
  *out = acc;
}

}  // namespace ops::scalar
