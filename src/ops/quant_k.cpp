// Scalar reference kernels for the K-quants (Q2_K..Q6_K) and Q8_K: dequantize and dot against
// Q8_K activations. Each block is first unpacked to plain int8 codes + sub-block scales, so the
// dequantizer and the dot share one decoding of the bit layout.
#include <algorithm>
#include <cmath>

#include "ops/kernels_impl.h"

namespace ops::scalar {
namespace {

// Q2_K: codes 0..3; element e uses byte qs[32*(e/128) + e%32] bits 2*((e%128)/32).
void unpack_q2k(const BlockQ2_K& b, int8_t* q) {
  for (int e = 0; e < kQK_K; e++) {
    q[e] = static_cast<int8_t>((b.qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3);
  }
}

// Q3_K: codes -4..3 (low two bits as Q2_K, high bit from hmask[e%32] bit e/32, set = +0).
void unpack_q3k(const BlockQ3_K& b, int8_t* q) {
  for (int e = 0; e < kQK_K; e++) {
    const int lo = (b.qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
    const int hi = (b.hmask[e % 32] >> (e / 32)) & 1;
    q[e] = static_cast<int8_t>(lo - (hi ? 0 : 4));
  }
}

// Q4_K: codes 0..15; 64-element chunk c: low nibbles of qs[32c..] then high nibbles.
void unpack_q4k(const uint8_t* qs, int8_t* q) {
  for (int c = 0; c < 4; c++) {
    for (int l = 0; l < 32; l++) {
      q[64 * c + l] = static_cast<int8_t>(qs[32 * c + l] & 0xf);
      q[64 * c + 32 + l] = static_cast<int8_t>(qs[32 * c + l] >> 4);
    }
  }
}

// Q5_K: Q4_K codes plus 16 * bit (e/32) of qh[e%32].
void unpack_q5k(const BlockQ5_K& b, int8_t* q) {
  unpack_q4k(b.qs, q);
  for (int e = 0; e < kQK_K; e++)
    q[e] = static_cast<int8_t>(q[e] | (((b.qh[e % 32] >> (e / 32)) & 1) << 4));
}

// Q6_K: codes -32..31; 128-element half h, l < 32: four elements share ql/qh bytes.
void unpack_q6k(const BlockQ6_K& b, int8_t* q) {
  for (int h = 0; h < 2; h++) {
    const uint8_t* ql = b.ql + 64 * h;
    const uint8_t* qh = b.qh + 32 * h;
    int8_t* y = q + 128 * h;
    for (int l = 0; l < 32; l++) {
      y[l] = static_cast<int8_t>(((ql[l] & 0xf) | (((qh[l] >> 0) & 3) << 4)) - 32);
      y[l + 32] = static_cast<int8_t>(((ql[l + 32] & 0xf) | (((qh[l] >> 2) & 3) << 4)) - 32);
      y[l + 64] = static_cast<int8_t>(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
      y[l + 96] = static_cast<int8_t>(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
    }
  }
}

// Sum over sub-blocks of len elements: scale[s] * dot(q, a) for that sub-block.
inline int scaled_isum(const int8_t* q, const int8_t* a, const int* scale, int n_sub, int len) {
  int total = 0;
  for (int s = 0; s < n_sub; s++) {
    int sumi = 0;
    for (int l = 0; l < len; l++) sumi += q[s * len + l] * a[s * len + l];
    total += scale[s] * sumi;
  }
  return total;
}

}  // namespace

// ---- Q8_K (activations) --------------------------------------------------------------------

void quantize_row_q8_k(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockQ8_K*>(vy);
  for (int64_t b = 0; b < n / kQK_K; b++, x += kQK_K) {
    float amax = 0;
    for (int j = 0; j < kQK_K; j++) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    y[b].d = d;
    for (int g = 0; g < kQK_K / 16; g++) {
      int s = 0;
      for (int l = 0; l < 16; l++) {
        const long v = std::lround(x[16 * g + l] * id);
        const int q = static_cast<int>(std::clamp(v, -127L, 127L));
        y[b].qs[16 * g + l] = static_cast<int8_t>(q);
        s += q;
      }
      y[b].bsums[g] = static_cast<int16_t>(s);
    }
  }
}

void dequantize_row_q8_k(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const BlockQ8_K*>(vx);
  for (int64_t b = 0; b < n / kQK_K; b++, y += kQK_K) {
    for (int j = 0; j < kQK_K; j++) y[j] = x[b].d * x[b].qs[j];
  }
}

// ---- Q2_K ----------------------------------------------------------------------------------

void dequantize_row_q2_k(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const BlockQ2_K*>(vx);
  int8_t q[kQK_K];
  for (int64_t b = 0; b < n / kQK_K; b++, y += kQK_K) {
    unpack_q2k(x[b], q);
    const float d = fp16_to_fp32(x[b].d), dmin = fp16_to_fp32(x[b].dmin);
    for (int s = 0; s < 16; s++) {
      const float dl = d * (x[b].scales[s] & 0xf), ml = dmin * (x[b].scales[s] >> 4);
      for (int l = 0; l < 16; l++) y[16 * s + l] = dl * q[16 * s + l] - ml;
    }
  }
}

void vec_dot_q2_k_q8_k(int64_t n, float* out, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ2_K*>(vw);
  const auto* a = static_cast<const BlockQ8_K*>(va);
  int8_t q[kQK_K];
  int sc[16];
  float acc = 0;
  for (int64_t b = 0; b < n / kQK_K; b++) {
    unpack_q2k(w[b], q);
    int msum = 0;
    for (int s = 0; s < 16; s++) {
      sc[s] = w[b].scales[s] & 0xf;
      msum += (w[b].scales[s] >> 4) * a[b].bsums[s];
    }
    const int isum = scaled_isum(q, a[b].qs, sc, 16, 16);
    acc += a[b].d * (fp16_to_fp32(w[b].d) * static_cast<float>(isum) -
                     fp16_to_fp32(w[b].dmin) * static_cast<float>(msum));
  }
  *out = acc;
}

// ---- Q3_K ----------------------------------------------------------------------------------

void dequantize_row_q3_k(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const BlockQ3_K*>(vx);
  int8_t q[kQK_K], sc[16];
  for (int64_t b = 0; b < n / kQK_K; b++, y += kQK_K) {
    unpack_q3k(x[b], q);
    q3k_scales(x[b].scales, sc);
    const float d = fp16_to_fp32(x[b].d);
    for (int s = 0; s < 16; s++) {
      const float dl = d * sc[s];
      for (int l = 0; l < 16; l++) y[16 * s + l] = dl * q[16 * s + l];
    }
  }
}

void vec_dot_q3_k_q8_k(int64_t n, float* out, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ3_K*>(vw);
  const auto* a = static_cast<const BlockQ8_K*>(va);
  int8_t q[kQK_K], sc8[16];
  int sc[16];
  float acc = 0;
  for (int64_t b = 0; b < n / kQK_K; b++) {
    unpack_q3k(w[b], q);
    q3k_scales(w[b].scales, sc8);
    for (int s = 0; s < 16; s++) sc[s] = sc8[s];
    const int isum = scaled_isum(q, a[b].qs, sc, 16, 16);
    acc += a[b].d * fp16_to_fp32(w[b].d) * static_cast<float>(isum);
  }
  *out = acc;
}

// ---- Q4_K / Q5_K ---------------------------------------------------------------------------

namespace {
template <class Block, void (*Unpack)(const Block&, int8_t*)>
void dequantize_kx(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const Block*>(vx);
  int8_t q[kQK_K];
  for (int64_t b = 0; b < n / kQK_K; b++, y += kQK_K) {
    Unpack(x[b], q);
    const float d = fp16_to_fp32(x[b].d), dmin = fp16_to_fp32(x[b].dmin);
    for (int s = 0; s < 8; s++) {
      uint8_t sc, m;
      kquant_scale_min(s, x[b].scales, &sc, &m);
      const float dl = d * sc, ml = dmin * m;
      for (int l = 0; l < 32; l++) y[32 * s + l] = dl * q[32 * s + l] - ml;
    }
  }
}

template <class Block, void (*Unpack)(const Block&, int8_t*)>
void vec_dot_kx(int64_t n, float* out, const void* vw, const void* va) {
  const auto* w = static_cast<const Block*>(vw);
  const auto* a = static_cast<const BlockQ8_K*>(va);
  int8_t q[kQK_K];
  int sc[8];
  float acc = 0;
  for (int64_t b = 0; b < n / kQK_K; b++) {
    Unpack(w[b], q);
    int msum = 0;
    for (int s = 0; s < 8; s++) {
      uint8_t scs, m;
      kquant_scale_min(s, w[b].scales, &scs, &m);
      sc[s] = scs;
      msum += m * (a[b].bsums[2 * s] + a[b].bsums[2 * s + 1]);
    }
    const int isum = scaled_isum(q, a[b].qs, sc, 8, 32);
    acc += a[b].d * (fp16_to_fp32(w[b].d) * static_cast<float>(isum) -
                     fp16_to_fp32(w[b].dmin) * static_cast<float>(msum));
  }
  *out = acc;
}

void unpack_q4k_block(const BlockQ4_K& b, int8_t* q) { unpack_q4k(b.qs, q); }
}  // namespace

void dequantize_row_q4_k(const void* x, float* y, int64_t n) {
  dequantize_kx<BlockQ4_K, unpack_q4k_block>(x, y, n);
}
void vec_dot_q4_k_q8_k(int64_t n, float* out, const void* w, const void* a) {
  vec_dot_kx<BlockQ4_K, unpack_q4k_block>(n, out, w, a);
}
void dequantize_row_q5_k(const void* x, float* y, int64_t n) {
  dequantize_kx<BlockQ5_K, unpack_q5k>(x, y, n);
}
void vec_dot_q5_k_q8_k(int64_t n, float* out, const void* w, const void* a) {
  vec_dot_kx<BlockQ5_K, unpack_q5k>(n, out, w, a);
}

// ---- Q6_K ----------------------------------------------------------------------------------

void dequantize_row_q6_k(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const BlockQ6_K*>(vx);
  int8_t q[kQK_K];
  for (int64_t b = 0; b < n / kQK_K; b++, y += kQK_K) {
    unpack_q6k(x[b], q);
    const float d = fp16_to_fp32(x[b].d);
    for (int s = 0; s < 16; s++) {
      const float dl = d * x[b].scales[s];
      for (int l = 0; l < 16; l++) y[16 * s + l] = dl * q[16 * s + l];
    }
  }
}

void vec_dot_q6_k_q8_k(int64_t n, float* out, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ6_K*>(vw);
  const auto* a = static_cast<const BlockQ8_K*>(va);
  int8_t q[kQK_K];
  int sc[16];
  float acc = 0;
  for (int64_t b = 0; b < n / kQK_K; b++) {
    unpack_q6k(w[b], q);
    for (int s = 0; s < 16; s++) sc[s] = w[b].scales[s];
    const int isum = scaled_isum(q, a[b].qs, sc, 16, 16);
    acc += a[b].d * fp16_to_fp32(w[b].d) * static_cast<float>(isum);
  }
  *out = acc;
}

}  // namespace ops::scalar
