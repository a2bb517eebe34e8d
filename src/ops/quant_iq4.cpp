// Scalar kernels for the non-linear 4-bit types IQ4_NL (32-element blocks, Q8_0 activations)
// and IQ4_XS (256-element super-blocks with 6-bit sub-block scales, Q8_K activations).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "ops/kernels_impl.h"

namespace ops::scalar {
namespace {

// Midpoints between consecutive kIq4nlValues: the code is the number of midpoints below v.
constexpr float kIq4nlMid[15] = {-115.5f, -93.5f, -74.0f, -57.0f, -42.0f, -28.5f, -16.0f, -4.5f,
                                 7.0f,    19.0f,  31.5f,  45.5f,  61.0f,  79.0f,  101.0f};

inline float nearest_level(float v, int* code) {
  int c = 0;
  for (int i = 0; i < 15; i++) c += v > kIq4nlMid[i];
  *code = c;
  return static_cast<float>(kIq4nlValues[c]);
}

// Fits x[0..n) ~ s * kIq4nlValues[code]; tries scales that put the largest magnitude on either
// end of the (asymmetric) value table, refits s by least squares. Returns s; codes in out.
float fit_iq4(const float* x, int n, uint8_t* out) {
  float amax = 0, vmax = 0;
  for (int i = 0; i < n; i++) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      vmax = x[i];
    }
  }
  if (amax < 1e-30f) {
    for (int i = 0; i < n; i++) out[i] = 8;  // level +1: the closest to zero
    return 0;
  }
  float best_err = INFINITY, best_s = 0;
  uint8_t cand[32];
  auto try_scale = [&](float s) {
    if (s == 0) return;
    const float is = 1.0f / s;
    float sxl = 0, sll = 0;
    for (int i = 0; i < n; i++) {
      int c;
      const float l = nearest_level(x[i] * is, &c);
      cand[i] = static_cast<uint8_t>(c);
      sxl += x[i] * l;
      sll += l * l;
    }
    const float fit = sll > 0 ? sxl / sll : 0;
    float err = 0;
    for (int i = 0; i < n; i++) {
      const float d = x[i] - fit * kIq4nlValues[cand[i]];
      err += d * d;
    }
    if (err < best_err) {
      best_err = err;
      best_s = fit;
      std::memcpy(out, cand, n);
    }
  };
  for (int k = -8; k <= 8; k++) {
    try_scale(vmax / (-127.0f + 4.0f * k));
    try_scale(vmax / (113.0f + 4.0f * k));
  }
  try_scale(best_s);
  return best_s;
}

inline int iq4xs_scale(const BlockIq4Xs& b, int ib) {
  const int lo = (b.scales_l[ib / 2] >> (4 * (ib % 2))) & 0xf;
  const int hi = (b.scales_h >> (2 * ib)) & 3;
  return (lo | (hi << 4)) - 32;
}

}  // namespace

void quantize_row_iq4_nl(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockIq4Nl*>(vy);
  uint8_t L[32];
  for (int64_t b = 0; b < n / 32; b++, x += 32) {
    y[b].d = fp32_to_fp16(fit_iq4(x, 32, L));
    for (int j = 0; j < 16; j++) y[b].qs[j] = static_cast<uint8_t>(L[j] | (L[j + 16] << 4));
  }
}

void dequantize_row_iq4_nl(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const BlockIq4Nl*>(vx);
  for (int64_t b = 0; b < n / 32; b++, y += 32) {
    const float d = fp16_to_fp32(x[b].d);
    for (int j = 0; j < 16; j++) {
      y[j] = d * kIq4nlValues[x[b].qs[j] & 0xf];
      y[j + 16] = d * kIq4nlValues[x[b].qs[j] >> 4];
    }
  }
}

void vec_dot_iq4_nl_q8_0(int64_t n, float* out, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockIq4Nl*>(vw);
  const auto* a = static_cast<const BlockQ8_0*>(va);
  float acc = 0;
  for (int64_t b = 0; b < n / 32; b++) {
    int sumi = 0;
    for (int j = 0; j < 16; j++) {
      sumi += kIq4nlValues[w[b].qs[j] & 0xf] * a[b].qs[j];
      sumi += kIq4nlValues[w[b].qs[j] >> 4] * a[b].qs[j + 16];
    }
    acc += fp16_to_fp32(w[b].d) * fp16_to_fp32(a[b].d) * static_cast<float>(sumi);
  }
  *out = acc;
}

void quantize_row_iq4_xs(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockIq4Xs*>(vy);
  uint8_t L[32];
  float scales[8];
  for (int64_t b = 0; b < n / kQK_K; b++, x += kQK_K) {
    float amax = 0, vmax = 0;
    for (int ib = 0; ib < 8; ib++) {
      scales[ib] = fit_iq4(x + 32 * ib, 32, L);
      if (std::fabs(scales[ib]) > amax) {
        amax = std::fabs(scales[ib]);
        vmax = scales[ib];
      }
    }
    const float d = vmax / -32.0f;
    y[b].d = fp32_to_fp16(d);
    const float dq = fp16_to_fp32(y[b].d);
    const float id = dq != 0 ? 1.0f / dq : 0;
    y[b].scales_h = 0;
    std::memset(y[b].scales_l, 0, sizeof(y[b].scales_l));
    for (int ib = 0; ib < 8; ib++) {
      const int ls = std::clamp(static_cast<int>(std::lround(scales[ib] * id)), -32, 31);
      const int u = ls + 32;
      y[b].scales_l[ib / 2] |= static_cast<uint8_t>((u & 0xf) << (4 * (ib % 2)));
      y[b].scales_h = static_cast<uint16_t>(y[b].scales_h | ((u >> 4) << (2 * ib)));
      const float dl = dq * ls;
      const float idl = dl != 0 ? 1.0f / dl : 0;
      for (int j = 0; j < 32; j++) {
        int c = 8;
        if (dl != 0) nearest_level(x[32 * ib + j] * idl, &c);
        L[j] = static_cast<uint8_t>(c);
      }
      for (int j = 0; j < 16; j++) {
        y[b].qs[16 * ib + j] = static_cast<uint8_t>(L[j] | (L[j + 16] << 4));
      }
    }
  }
}

void dequantize_row_iq4_xs(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const BlockIq4Xs*>(vx);
  for (int64_t b = 0; b < n / kQK_K; b++) {
    const float d = fp16_to_fp32(x[b].d);
    for (int ib = 0; ib < 8; ib++, y += 32) {
      const float dl = d * iq4xs_scale(x[b], ib);
      const uint8_t* qs = x[b].qs + 16 * ib;
      for (int j = 0; j < 16; j++) {
        y[j] = dl * kIq4nlValues[qs[j] & 0xf];
        y[j + 16] = dl * kIq4nlValues[qs[j] >> 4];
      }
    }
  }
}

void vec_dot_iq4_xs_q8_k(int64_t n, float* out, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockIq4Xs*>(vw);
  const auto* a = static_cast<const BlockQ8_K*>(va);
  float acc = 0;
  for (int64_t b = 0; b < n / kQK_K; b++) {
    int total = 0;
    for (int ib = 0; ib < 8; ib++) {
      const uint8_t* qs = w[b].qs + 16 * ib;
      const int8_t* q8 = a[b].qs + 32 * ib;
      int sumi = 0;
      for (int j = 0; j < 16; j++) {
        sumi += kIq4nlValues[qs[j] & 0xf] * q8[j] + kIq4nlValues[qs[j] >> 4] * q8[j + 16];
      }
      total += iq4xs_scale(w[b], ib) * sumi;
    }
    acc += fp16_to_fp32(w[b].d) * a[b].d * static_cast<float>(total);
  }
  *out = acc;
}

}  // namespace ops::scalar
