// Quantized block layouts (byte-exact ggml/GGUF formats) and scalar fp16/bf16 conversions.
// Every struct here is read straight out of a mapped GGUF file, so sizes and field order are
// format facts, pinned by static_asserts.
#pragma once
#include <cstdint>
#include <cstring>

namespace ops {

using f16_t = uint16_t;   // IEEE half, stored as bits
using bf16_t = uint16_t;  // bfloat16, stored as bits

inline constexpr int kQK4_0 = 32, kQK4_1 = 32, kQK5_0 = 32, kQK5_1 = 32, kQK8_0 = 32, kQK8_1 = 32,
                     kQK_K = 256, kQKMxfp4 = 32;
inline constexpr int kKScaleBytes = 12;  // packed 6-bit scales/mins of Q3_K/Q4_K/Q5_K

#pragma pack(push, 1)
// y = d * (q - 8); element j in low nibble of qs[j], element j+16 in high nibble of qs[j].
struct BlockQ4_0 {
  f16_t d;
  uint8_t qs[kQK4_0 / 2];
};
// y = d * q + m; nibble order as Q4_0.
struct BlockQ4_1 {
  f16_t d, m;
  uint8_t qs[kQK4_1 / 2];
};
// y = d * ((q | hbit << 4) - 16); bit j of qh (little-endian u32) is the 5th bit of element j.
struct BlockQ5_0 {
  f16_t d;
  uint8_t qh[4];
  uint8_t qs[kQK5_0 / 2];
};
// y = d * (q | hbit << 4) + m.
struct BlockQ5_1 {
  f16_t d, m;
  uint8_t qh[4];
  uint8_t qs[kQK5_1 / 2];
};
// y = d * q.
struct BlockQ8_0 {
  f16_t d;
  int8_t qs[kQK8_0];
};
// y = d * q; s = d * sum(q).
struct BlockQ8_1 {
  f16_t d, s;
  int8_t qs[kQK8_1];
};
// 16 sub-blocks of 16: scales[i] = scale4 | min4 << 4; 2-bit quants; y = d*sc*q - dmin*m.
struct BlockQ2_K {
  uint8_t scales[kQK_K / 16];
  uint8_t qs[kQK_K / 4];
  f16_t d, dmin;
};
// 16 sub-blocks of 16: 3-bit quants (2 low bits in qs, high bit in hmask), 6-bit signed
// scales (offset 32) packed in 12 bytes; y = d * (sc - 32) * (q - 4).
struct BlockQ3_K {
  uint8_t hmask[kQK_K / 8];
  uint8_t qs[kQK_K / 4];
  uint8_t scales[kKScaleBytes];
  f16_t d;
};
// 8 sub-blocks of 32: 6-bit scales and mins packed in 12 bytes; y = d*sc*q - dmin*m.
struct BlockQ4_K {
  f16_t d, dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qs[kQK_K / 2];
};
// As Q4_K plus a 5th bit per element in qh.
struct BlockQ5_K {
  f16_t d, dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qh[kQK_K / 8];
  uint8_t qs[kQK_K / 2];
};
// 16 sub-blocks of 16: 6-bit quants (4 low in ql, 2 high in qh), int8 scales; y = d*sc*(q-32).
struct BlockQ6_K {
  uint8_t ql[kQK_K / 2];
  uint8_t qh[kQK_K / 4];
  int8_t scales[kQK_K / 16];
  f16_t d;
};
// Activation block for K-quant dots: y = d * q; bsums[i] = sum of qs[16i .. 16i+15].
struct BlockQ8_K {
  float d;
  int8_t qs[kQK_K];
  int16_t bsums[kQK_K / 16];
};
// OCP MX FP4: e8m0 shared exponent e, 32 e2m1 values (nibble order as Q4_0).
// y = kMxfp4Values[q] * 2^(e - 128) (the table holds the e2m1 values doubled).
struct BlockMxfp4 {
  uint8_t e;
  uint8_t qs[kQKMxfp4 / 2];
};
// Non-linear 4-bit: y = d * kIq4nlValues[q]; nibble order as Q4_0.
struct BlockIq4Nl {
  f16_t d;
  uint8_t qs[16];
};
// 8 sub-blocks of 32 (each nibble-ordered as IQ4_NL); 6-bit scale of sub-block i (offset 32):
// low 4 bits in scales_l[i/2] (nibble i%2), high 2 bits at scales_h bits 2i..2i+1.
struct BlockIq4Xs {
  f16_t d;
  uint16_t scales_h;
  uint8_t scales_l[kQK_K / 64];
  uint8_t qs[kQK_K / 2];
};
#pragma pack(pop)

static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ2_K) == 84);
static_assert(sizeof(BlockQ3_K) == 110);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockQ8_K) == 292);
static_assert(sizeof(BlockMxfp4) == 17);
static_assert(sizeof(BlockIq4Nl) == 18);
static_assert(sizeof(BlockIq4Xs) == 136);

// e2m1 values times two, indexed by the 4-bit code (sign is bit 3).
inline constexpr int8_t kMxfp4Values[16] = {0, 1,  2,  3,  4,  6,  8,  12,
                                            0, -1, -2, -3, -4, -6, -8, -12};
// IQ4_NL / IQ4_XS levels, indexed by the 4-bit code.
inline constexpr int8_t kIq4nlValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                            1,    13,   25,  38,  53,  69,  89,  113};

// The helpers below are `static inline` on purpose: ISA-flagged files (*_avx2.cpp) include
// this header, and with external linkage an out-of-line AVX copy could be the one the linker
// keeps for baseline code too.
static inline float bits_to_f32(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}
static inline uint32_t f32_to_bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

// Exact half -> float (subnormals, inf and NaN preserved).
static inline float fp16_to_fp32(f16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1f;
  const uint32_t man = h & 0x3ff;
  if (exp == 0x1f) return bits_to_f32(sign | 0x7f800000u | (man << 13));
  if (exp == 0) {
    // Subnormal: man * 2^-24 is exact in float.
    const float v = static_cast<float>(man) * 0x1p-24f;
    return sign ? -v : v;
  }
  return bits_to_f32(sign | ((exp + 112) << 23) | (man << 13));
}

// Float -> half, round to nearest even; overflow goes to inf, NaN stays NaN.
static inline f16_t fp32_to_fp16(float f) {
  uint32_t x = f32_to_bits(f);
  const uint32_t sign = (x >> 16) & 0x8000;
  x &= 0x7fffffffu;
  if (x >= 0x7f800000u) return static_cast<f16_t>(sign | 0x7c00 | (x > 0x7f800000u ? 0x200 : 0));
  if (x >= 0x477ff000u) return static_cast<f16_t>(sign | 0x7c00);  // >= 65520 rounds to inf
  if (x < 0x38800000u) {
    // Result is a half subnormal (or zero): round(value * 2^24).
    const uint32_t e = x >> 23;
    if (e < 102) return static_cast<f16_t>(sign);
    const uint32_t man = (x & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - e;
    uint32_t r = man >> shift;
    const uint32_t rem = man & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (r & 1))) r++;
    return static_cast<f16_t>(sign | r);
  }
  const uint32_t rebased = x - (112u << 23);
  uint32_t h = rebased >> 13;
  const uint32_t rem = rebased & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;  // a carry into the exponent is right
  return static_cast<f16_t>(sign | h);
}

static inline float bf16_to_fp32(bf16_t b) { return bits_to_f32(static_cast<uint32_t>(b) << 16); }

// Float -> bfloat16, round to nearest even; NaN stays (quiet) NaN.
static inline bf16_t fp32_to_bf16(float f) {
  const uint32_t x = f32_to_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<bf16_t>((x >> 16) | 0x40);
  return static_cast<bf16_t>((x + 0x7fffu + ((x >> 16) & 1)) >> 16);
}

// MXFP4 shared scale 2^(e-128) (half the e8m0 value, matching the doubled value table).
static inline float mxfp4_scale(uint8_t e) {
  // e < 2 gives a float subnormal; build the bits directly so it stays exact.
  const uint32_t bits = e < 2 ? (0x00200000u << e) : (static_cast<uint32_t>(e) - 1) << 23;
  return bits_to_f32(bits);
}

// Unpacks scale/min j (0..7) of a Q4_K/Q5_K block's 12 packed bytes.
static inline void kquant_scale_min(int j, const uint8_t* q, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = (q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4);
    *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// Unpacks the 16 signed scales (-32..31) of a Q3_K block.
static inline void q3k_scales(const uint8_t* s, int8_t out[16]) {
  for (int j = 0; j < 16; j++) {
    const int lo = j < 8 ? (s[j] & 0xf) : (s[j - 8] >> 4);
    const int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
    out[j] = static_cast<int8_t>((lo | (hi << 4)) - 32);
  }
}

}  // namespace ops
