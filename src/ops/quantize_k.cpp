// Reference quantizers for the K-quants. Each sub-block gets a scale (and min) from a small
// search over candidate scales with a weighted least-squares refit, then the per-block super
// scales are quantized and the codes recomputed against the scales actually stored.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "ops/kernels_impl.h"

namespace ops::scalar {
namespace {

// Round to nearest (ties to even) without a libm call: adding 1.5 * 2^23 leaves the rounded
// integer in the low mantissa bits. The clamp keeps that exact (and absorbs huge ratios from
// tiny scales, which the callers clamp to their code range anyway).
inline int nearest(float v) {
  v = std::clamp(v, -4194303.0f, 4194303.0f);
  const float t = v + 12582912.0f;
  uint32_t bits;
  std::memcpy(&bits, &t, 4);
  return static_cast<int>(bits & 0x7fffff) - 0x400000;
}
inline int clamp_int(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

// Symmetric fit x ~ s * L with codes L in [-nmax, nmax - 1] (stored as L + nmax).
// Weights w emphasize the values that matter. Returns s (0 for an all-zero group).
float fit_symmetric(int n, int nmax, const float* x, const float* w, uint8_t* out) {
  float amax = 0, vmax = 0;
  for (int i = 0; i < n; i++) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      vmax = x[i];
    }
  }
  if (amax < 1e-30f) {
    for (int i = 0; i < n; i++) out[i] = static_cast<uint8_t>(nmax);
    return 0;
  }
  float best_score = -1, best_scale = 0;
  uint8_t cand[32];
  auto try_iscale = [&](float iscale) {
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
      const int l = clamp_int(nearest(iscale * x[i]), -nmax, nmax - 1);
      cand[i] = static_cast<uint8_t>(l + nmax);
      sumlx += w[i] * x[i] * l;
      suml2 += w[i] * l * l;
    }
    // Weighted error = sum w x^2 - sumlx^2 / suml2 at the least-squares scale.
    if (suml2 > 0 && sumlx * sumlx > best_score * suml2) {
      best_score = sumlx * sumlx / suml2;
      best_scale = sumlx / suml2;
      std::memcpy(out, cand, n);
    }
  };
  for (int is = -9; is <= 9; is++) try_iscale(-(nmax + 0.1f * is) / vmax);
  // Refit: requantize with the best scale found; keeps it only if it scores better.
  for (int it = 0; it < 2 && best_scale != 0; it++) try_iscale(1.0f / best_scale);
  return best_scale;
}

// Asymmetric fit x ~ s * L - m with L in [0, nmax], m >= 0 (the group min is clamped <= 0).
float fit_asymmetric(int n, int nmax, const float* x, const float* w, uint8_t* out, float* m_out,
                     float rmin, float rdelta, int nstep) {
  float lo = x[0], hi = x[0];
  for (int i = 1; i < n; i++) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  lo = std::min(lo, 0.0f);
  if (hi <= lo) {
    std::memset(out, 0, n);
    *m_out = -lo;
    return 0;
  }
  float sum_w = 0, sum_x = 0;
  for (int i = 0; i < n; i++) {
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  uint8_t cand[32];
  float best_err = INFINITY, best_scale = 0, best_min = lo;
  auto try_iscale = [&](float iscale, float ref_min) {
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; i++) {
      const int l = clamp_int(nearest(iscale * (x[i] - ref_min)), 0, nmax);
      cand[i] = static_cast<uint8_t>(l);
      sum_l += w[i] * l;
      sum_l2 += w[i] * l * l;
      sum_xl += w[i] * l * x[i];
    }
    // Least squares for x ~ scale * l + min, with min forced <= 0.
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (det <= 0) return;
    float scale = (sum_w * sum_xl - sum_x * sum_l) / det;
    float min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
    if (min > 0) {
      min = 0;
      scale = sum_l2 > 0 ? sum_xl / sum_l2 : 0;
    }
    // sum w (scale*l + min - x)^2, expanded (sum w x^2 is common to all candidates).
    const float err = scale * scale * sum_l2 + 2 * scale * min * sum_l + min * min * sum_w -
                      2 * scale * sum_xl - 2 * min * sum_x;
    if (err < best_err) {
      best_err = err;
      best_scale = scale;
      best_min = min;
      std::memcpy(out, cand, n);
    }
  };
  try_iscale(nmax / (hi - lo), lo);
  for (int is = 0; is <= nstep; is++) try_iscale((rmin + rdelta * is + nmax) / (hi - lo), lo);
  if (best_scale > 0) try_iscale(1.0f / best_scale, best_min);
  *m_out = -best_min;
  return best_scale;
}

// Quantizes non-negative sub-block values v[0..n) to codes 0..qmax sharing one scale.
float quantize_scales(const float* v, int n, int qmax, uint8_t* codes) {
  float vmax = 0;
  for (int i = 0; i < n; i++) vmax = std::max(vmax, v[i]);
  const float inv = vmax > 0 ? qmax / vmax : 0;
  for (int i = 0; i < n; i++) codes[i] = static_cast<uint8_t>(std::min(qmax, nearest(inv * v[i])));
  return vmax / qmax;
}

}  // namespace

void quantize_row_q2_k(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockQ2_K*>(vy);
  uint8_t L[kQK_K], ls[16], lm[16];
  float w[16], scales[16], mins[16];
  for (int64_t b = 0; b < n / kQK_K; b++, x += kQK_K) {
    for (int s = 0; s < 16; s++) {
      for (int l = 0; l < 16; l++) w[l] = std::fabs(x[16 * s + l]);
      scales[s] = fit_asymmetric(16, 3, x + 16 * s, w, L + 16 * s, &mins[s], -0.5f, 0.1f, 15);
    }
    y[b].d = fp32_to_fp16(quantize_scales(scales, 16, 15, ls));
    y[b].dmin = fp32_to_fp16(quantize_scales(mins, 16, 15, lm));
    const float d = fp16_to_fp32(y[b].d), dmin = fp16_to_fp32(y[b].dmin);
    std::memset(y[b].qs, 0, sizeof(y[b].qs));
    for (int s = 0; s < 16; s++) {
      y[b].scales[s] = static_cast<uint8_t>(ls[s] | (lm[s] << 4));
      const float dl = d * ls[s], ml = dmin * lm[s];
      for (int l = 0; l < 16; l++) {
        const int e = 16 * s + l;
        const int q = dl > 0 ? clamp_int(nearest((x[e] + ml) / dl), 0, 3) : 0;
        y[b].qs[32 * (e / 128) + e % 32] |= static_cast<uint8_t>(q << (2 * ((e % 128) / 32)));
      }
    }
  }
}

void quantize_row_q3_k(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockQ3_K*>(vy);
  uint8_t L[kQK_K];
  float w[16], scales[16];
  for (int64_t b = 0; b < n / kQK_K; b++, x += kQK_K) {
    float amax = 0, vmax = 0;
    for (int s = 0; s < 16; s++) {
      for (int l = 0; l < 16; l++) w[l] = x[16 * s + l] * x[16 * s + l];
      scales[s] = fit_symmetric(16, 4, x + 16 * s, w, L + 16 * s);
      if (std::fabs(scales[s]) > amax) {
        amax = std::fabs(scales[s]);
        vmax = scales[s];
      }
    }
    const float iscale = vmax != 0 ? -32.0f / vmax : 0;
    y[b].d = fp32_to_fp16(iscale != 0 ? 1.0f / iscale : 0);
    const float d = fp16_to_fp32(y[b].d);
    std::memset(y[b].scales, 0, sizeof(y[b].scales));
    std::memset(y[b].qs, 0, sizeof(y[b].qs));
    std::memset(y[b].hmask, 0, sizeof(y[b].hmask));
    for (int j = 0; j < 16; j++) {
      const int sc = clamp_int(nearest(iscale * scales[j]), -32, 31);
      const int u = sc + 32;
      if (j < 8) {
        y[b].scales[j] |= static_cast<uint8_t>(u & 0xf);
      } else {
        y[b].scales[j - 8] |= static_cast<uint8_t>((u & 0xf) << 4);
      }
      y[b].scales[8 + j % 4] |= static_cast<uint8_t>((u >> 4) << (2 * (j / 4)));
      const float dl = d * sc;
      for (int l = 0; l < 16; l++) {
        const int e = 16 * j + l;
        const int q = dl != 0 ? clamp_int(nearest(x[e] / dl), -4, 3) + 4 : 4;
        if (q > 3) y[b].hmask[e % 32] |= static_cast<uint8_t>(1 << (e / 32));
        y[b].qs[32 * (e / 128) + e % 32] |= static_cast<uint8_t>((q & 3) << (2 * ((e % 128) / 32)));
      }
    }
  }
}

namespace {
// Shared by Q4_K (5 bits = false) and Q5_K: 8 sub-blocks of 32, 6-bit scales and mins.
void quantize_kx(const float* x, f16_t* d_out, f16_t* dmin_out, uint8_t* packed, uint8_t* L,
                 int nmax, float rmin, float rdelta, int nstep) {
  float w[32], scales[8], mins[8];
  uint8_t ls[8], lm[8];
  for (int s = 0; s < 8; s++) {
    const float* xs = x + 32 * s;
    float sum_x2 = 0;
    for (int l = 0; l < 32; l++) sum_x2 += xs[l] * xs[l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; l++) w[l] = av_x + std::fabs(xs[l]);
    scales[s] = fit_asymmetric(32, nmax, xs, w, L + 32 * s, &mins[s], rmin, rdelta, nstep);
  }
  *d_out = fp32_to_fp16(quantize_scales(scales, 8, 63, ls));
  *dmin_out = fp32_to_fp16(quantize_scales(mins, 8, 63, lm));
  for (int j = 0; j < 8; j++) {
    if (j < 4) {
      packed[j] = ls[j];
      packed[j + 4] = lm[j];
    } else {
      packed[j + 4] = static_cast<uint8_t>((ls[j] & 0xf) | ((lm[j] & 0xf) << 4));
      packed[j - 4] |= static_cast<uint8_t>((ls[j] >> 4) << 6);
      packed[j] |= static_cast<uint8_t>((lm[j] >> 4) << 6);
    }
  }
  const float d = fp16_to_fp32(*d_out), dmin = fp16_to_fp32(*dmin_out);
  for (int s = 0; s < 8; s++) {
    uint8_t sc, m;
    kquant_scale_min(s, packed, &sc, &m);
    const float dl = d * sc, ml = dmin * m;
    for (int l = 0; l < 32; l++) {
      L[32 * s + l] =
          static_cast<uint8_t>(dl > 0 ? clamp_int(nearest((x[32 * s + l] + ml) / dl), 0, nmax) : 0);
    }
  }
}

void pack_nibbles(const uint8_t* L, uint8_t* qs) {
  for (int c = 0; c < 4; c++) {
    for (int l = 0; l < 32; l++) {
      qs[32 * c + l] =
          static_cast<uint8_t>((L[64 * c + l] & 0xf) | ((L[64 * c + 32 + l] & 0xf) << 4));
    }
  }
}
}  // namespace

void quantize_row_q4_k(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockQ4_K*>(vy);
  uint8_t L[kQK_K];
  for (int64_t b = 0; b < n / kQK_K; b++, x += kQK_K) {
    quantize_kx(x, &y[b].d, &y[b].dmin, y[b].scales, L, 15, -1.0f, 0.1f, 20);
    pack_nibbles(L, y[b].qs);
  }
}

void quantize_row_q5_k(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockQ5_K*>(vy);
  uint8_t L[kQK_K];
  for (int64_t b = 0; b < n / kQK_K; b++, x += kQK_K) {
    quantize_kx(x, &y[b].d, &y[b].dmin, y[b].scales, L, 31, -0.5f, 0.1f, 15);
    std::memset(y[b].qh, 0, sizeof(y[b].qh));
    for (int e = 0; e < kQK_K; e++) {
      if (L[e] > 15) y[b].qh[e % 32] |= static_cast<uint8_t>(1 << (e / 32));
    }
    pack_nibbles(L, y[b].qs);
  }
}

void quantize_row_q6_k(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockQ6_K*>(vy);
  uint8_t L[kQK_K];
  float w[16], scales[16];
  for (int64_t b = 0; b < n / kQK_K; b++, x += kQK_K) {
    float amax = 0, vmax = 0;
    for (int s = 0; s < 16; s++) {
      for (int l = 0; l < 16; l++) w[l] = x[16 * s + l] * x[16 * s + l];
      scales[s] = fit_symmetric(16, 32, x + 16 * s, w, L + 16 * s);
      if (std::fabs(scales[s]) > amax) {
        amax = std::fabs(scales[s]);
        vmax = scales[s];
      }
    }
    const float iscale = vmax != 0 ? -128.0f / vmax : 0;
    y[b].d = fp32_to_fp16(iscale != 0 ? 1.0f / iscale : 0);
    const float d = fp16_to_fp32(y[b].d);
    for (int s = 0; s < 16; s++) {
      const int sc = std::min(127, nearest(iscale * scales[s]));
      y[b].scales[s] = static_cast<int8_t>(sc);
      const float dl = d * sc;
      for (int l = 0; l < 16; l++) {
        const int e = 16 * s + l;
        L[e] = static_cast<uint8_t>(dl != 0 ? clamp_int(nearest(x[e] / dl), -32, 31) + 32 : 32);
      }
    }
    for (int h = 0; h < 2; h++) {
      const uint8_t* Lh = L + 128 * h;
      uint8_t* ql = y[b].ql + 64 * h;
      uint8_t* qh = y[b].qh + 32 * h;
      for (int l = 0; l < 32; l++) {
        ql[l] = static_cast<uint8_t>((Lh[l] & 0xf) | ((Lh[l + 64] & 0xf) << 4));
        ql[l + 32] = static_cast<uint8_t>((Lh[l + 32] & 0xf) | ((Lh[l + 96] & 0xf) << 4));
        qh[l] = static_cast<uint8_t>((Lh[l] >> 4) | ((Lh[l + 32] >> 4) << 2) |
                                     ((Lh[l + 64] >> 4) << 4) | ((Lh[l + 96] >> 4) << 6));
      }
    }
  }
}

}  // namespace ops::scalar
