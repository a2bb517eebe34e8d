#include <gtest/gtest.h>
#include <immintrin.h>

#include <cstdio>

#include "ops/blocks.h"
#include "test_util.h"

using ops::DType;
using namespace ops_test;

namespace {

TEST(Fp16, EveryHalfRoundTripsExactly) {
  for (uint32_t h = 0; h < 65536; h++) {
    const float f = ops::fp16_to_fp32(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(ops::fp16_to_fp32(ops::fp32_to_fp16(f)))) << h;
      continue;
    }
    ASSERT_EQ(ops::fp32_to_fp16(f), h) << "half bits " << h;
  }
}

TEST(Fp16, KnownValuesAndRoundToNearestEven) {
  EXPECT_EQ(ops::fp16_to_fp32(0x3c00), 1.0f);
  EXPECT_EQ(ops::fp16_to_fp32(0xc000), -2.0f);
  EXPECT_EQ(ops::fp16_to_fp32(0x7bff), 65504.0f);
  EXPECT_EQ(ops::fp16_to_fp32(0x0001), 0x1p-24f);                    // smallest subnormal
  EXPECT_EQ(ops::fp32_to_fp16(1.0f + 0x1p-11f), 0x3c00);             // tie -> even (down)
  EXPECT_EQ(ops::fp32_to_fp16(1.0f + 3 * 0x1p-11f), 0x3c02);         // tie -> even (up)
  EXPECT_EQ(ops::fp32_to_fp16(1.0f + 0x1p-11f + 0x1p-20f), 0x3c01);  // above tie
  EXPECT_EQ(ops::fp32_to_fp16(65519.0f), 0x7bff);
  EXPECT_EQ(ops::fp32_to_fp16(65520.0f), 0x7c00);  // rounds to inf
  EXPECT_EQ(ops::fp32_to_fp16(0x1p-25f), 0x0000);  // tie between 0 and 2^-24 -> 0
  EXPECT_EQ(ops::fp32_to_fp16(0x1.8p-25f), 0x0001);
  EXPECT_EQ(ops::fp32_to_fp16(3 * 0x1p-25f), 0x0002);  // 1.5 ulp tie -> even (2)
  EXPECT_EQ(ops::fp32_to_fp16(-0.0f), 0x8000);
  EXPECT_EQ(ops::fp32_to_fp16(0x1.ffcp-15f), 0x0400);  // subnormal rounding carries to normal
}

// Random floats across the whole half range against the CPU's own F16C conversion.
__attribute__((target("f16c"))) uint16_t hw_fp32_to_fp16(float f) {
  return static_cast<uint16_t>(_cvtss_sh(f, 0));
}

TEST(Fp16, MatchesHardwareF16C) {
  if (ops::detected_isa() < ops::Isa::kAvx2) GTEST_SKIP() << "no F16C";
  std::mt19937 rng(7);
  std::uniform_int_distribution<uint32_t> bits(0, 0xffffffffu);
  for (int i = 0; i < 2000000; i++) {
    uint32_t b = bits(rng);
    // Concentrate on exponents near the half range.
    b = (b & 0x807fffffu) | ((100u + (b >> 23) % 50u) << 23);
    const float f = ops::bits_to_f32(b);
    ASSERT_EQ(ops::fp32_to_fp16(f), hw_fp32_to_fp16(f)) << f;
  }
}

TEST(Bf16, RoundToNearestEven) {
  EXPECT_EQ(ops::fp32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(ops::bf16_to_fp32(0x3f80), 1.0f);
  EXPECT_EQ(ops::fp32_to_bf16(ops::bits_to_f32(0x3f808000u)), 0x3f80);  // tie -> even
  EXPECT_EQ(ops::fp32_to_bf16(ops::bits_to_f32(0x3f818000u)), 0x3f82);  // tie -> even (up)
  EXPECT_EQ(ops::fp32_to_bf16(ops::bits_to_f32(0x3f808001u)), 0x3f81);
  EXPECT_TRUE(std::isnan(ops::bf16_to_fp32(ops::fp32_to_bf16(NAN))));
}

TEST(TypeTable, GeometryMatchesBlockStructs) {
  struct Case {
    DType t;
    int64_t bs;
    size_t bytes;
    const char* name;
  };
  const Case cases[] = {
      {DType::F32, 1, 4, "F32"},
      {DType::F16, 1, 2, "F16"},
      {DType::BF16, 1, 2, "BF16"},
      {DType::Q4_0, 32, sizeof(ops::BlockQ4_0), "Q4_0"},
      {DType::Q4_1, 32, sizeof(ops::BlockQ4_1), "Q4_1"},
      {DType::Q5_0, 32, sizeof(ops::BlockQ5_0), "Q5_0"},
      {DType::Q5_1, 32, sizeof(ops::BlockQ5_1), "Q5_1"},
      {DType::Q8_0, 32, sizeof(ops::BlockQ8_0), "Q8_0"},
      {DType::Q8_1, 32, sizeof(ops::BlockQ8_1), "Q8_1"},
      {DType::Q2_K, 256, sizeof(ops::BlockQ2_K), "Q2_K"},
      {DType::Q3_K, 256, sizeof(ops::BlockQ3_K), "Q3_K"},
      {DType::Q4_K, 256, sizeof(ops::BlockQ4_K), "Q4_K"},
      {DType::Q5_K, 256, sizeof(ops::BlockQ5_K), "Q5_K"},
      {DType::Q6_K, 256, sizeof(ops::BlockQ6_K), "Q6_K"},
      {DType::Q8_K, 256, sizeof(ops::BlockQ8_K), "Q8_K"},
      {DType::MXFP4, 32, sizeof(ops::BlockMxfp4), "MXFP4"},
      {DType::IQ4_NL, 32, 18, "IQ4_NL"},
      {DType::IQ4_XS, 256, 136, "IQ4_XS"},
      {DType::TQ2_0, 256, 66, "TQ2_0"},
  };
  for (const Case& c : cases) {
    const ops::TypeInfo* ti = ops::type_info(static_cast<uint32_t>(c.t));
    ASSERT_NE(ti, nullptr) << c.name;
    EXPECT_STREQ(ti->name, c.name);
    EXPECT_EQ(ti->block_size, c.bs) << c.name;
    EXPECT_EQ(ti->block_bytes, c.bytes) << c.name;
    EXPECT_EQ(ops::row_bytes(c.t, 4096), static_cast<size_t>(4096 / c.bs) * c.bytes) << c.name;
  }
  EXPECT_EQ(ops::type_info(4), nullptr);  // removed Q4_2
  EXPECT_EQ(ops::type_info(31), nullptr);
  EXPECT_EQ(ops::type_info(1000), nullptr);
  EXPECT_EQ(ops::kernels(DType::IQ2_XXS), nullptr);
  EXPECT_EQ(sizeof(ops::BlockIq4Nl), ops::type_info(uint32_t(DType::IQ4_NL))->block_bytes);
  EXPECT_EQ(sizeof(ops::BlockIq4Xs), ops::type_info(uint32_t(DType::IQ4_XS))->block_bytes);
  EXPECT_NE(ops::kernels(DType::Q4_K), nullptr);
}

// Relative RMS error of quantize -> dequantize on Gaussian data. Bounds sit ~20% above what the
// reference quantizers measure, so a quality regression fails.
TEST(RoundTrip, ErrorBoundsPerType) {
  struct Case {
    DType t;
    double bound;
  };
  const Case cases[] = {
      {DType::F16, 3e-4},   {DType::BF16, 2.5e-3}, {DType::Q8_0, 8e-3},    {DType::Q4_0, 0.115},
      {DType::Q4_1, 0.105}, {DType::Q5_0, 0.058},  {DType::Q5_1, 0.052},   {DType::MXFP4, 0.17},
      {DType::Q2_K, 0.33},  {DType::Q3_K, 0.19},   {DType::Q4_K, 0.085},   {DType::Q5_K, 0.043},
      {DType::Q6_K, 0.021}, {DType::Q8_K, 8e-3},   {DType::IQ4_NL, 0.088}, {DType::IQ4_XS, 0.088},
  };
  const int64_t n = 256 * 64;
  const std::vector<float> x = gaussian(n, 42);
  for (const Case& c : cases) {
    const auto q = quantize(c.t, x);
    const auto y = dequantize(c.t, q.data(), n);
    const double err = rel_rmse(y, x);
    std::printf("  %-6s rel rmse %.5f (bound %.5f)\n", ops::type_info(uint32_t(c.t))->name, err,
                c.bound);
    EXPECT_LT(err, c.bound) << ops::type_info(uint32_t(c.t))->name;
    EXPECT_GT(err, 0.0) << "lossless quantization of Gaussian data is impossible";
  }
}

TEST(RoundTrip, ZerosAndScaledRowsStayFinite) {
  for (DType t : dot_types()) {
    const int64_t n = 512;
    std::vector<float> zeros(n, 0.0f);
    auto y = dequantize(t, quantize(t, zeros).data(), n);
    for (float v : y) ASSERT_EQ(v, 0.0f) << ops::type_info(uint32_t(t))->name;
    // Tiny and large magnitudes (within half range for the fp16 scales).
    for (float sigma : {1e-3f, 100.0f}) {
      auto x = gaussian(n, 9, sigma);
      auto z = dequantize(t, quantize(t, x).data(), n);
      const double err = rel_rmse(z, x);
      EXPECT_LT(err, 0.4) << ops::type_info(uint32_t(t))->name << " sigma " << sigma;
    }
  }
}

// The scalar dot equals the double-precision dot of the dequantized operands.
TEST(ScalarDot, EqualsDotOfDequantized) {
  for (DType t : dot_types()) {
    const ops::Kernels& k = ops::scalar_table()[t];
    const ops::Kernels& ak = ops::scalar_table()[k.act_type];
    for (int64_t n : {256, 512, 2048, 4096}) {
      const auto w = gaussian(n, 1000 + static_cast<uint32_t>(n));
      const auto x = gaussian(n, 2000 + static_cast<uint32_t>(n));
      const auto wq = quantize(t, w);
      std::vector<uint8_t> aq(ops::row_bytes(k.act_type, n));
      ak.quantize_row(x.data(), aq.data(), n);
      const auto wd = dequantize(t, wq.data(), n);
      std::vector<float> ad(n);
      ak.dequantize_row(aq.data(), ad.data(), n);
      float got = 0;
      k.vec_dot(n, &got, wq.data(), aq.data());
      const double want = dot_d(wd, ad);
      EXPECT_NEAR(got, want, 2e-6 * abs_dot_d(wd, ad) + 1e-6)
          << ops::type_info(uint32_t(t))->name << " n=" << n;
      // And the quantized dot is close to the exact float dot (sanity on the pairing).
      const double w_err = rel_rmse(wd, w) + rel_rmse(ad, x);
      EXPECT_NEAR(got, dot_d(w, x), 5 * w_err * std::sqrt(double(n)) + 0.01)
          << ops::type_info(uint32_t(t))->name << " n=" << n;
    }
  }
}

TEST(Q8K, BsumsAreSubBlockSums) {
  const auto x = gaussian(512, 5);
  const auto q = quantize(DType::Q8_K, x);
  const auto* b = reinterpret_cast<const ops::BlockQ8_K*>(q.data());
  for (int i = 0; i < 2; i++) {
    for (int g = 0; g < 16; g++) {
      int s = 0;
      for (int l = 0; l < 16; l++) {
        s += b[i].qs[16 * g + l];
        ASSERT_GE(b[i].qs[16 * g + l], -127);
      }
      EXPECT_EQ(b[i].bsums[g], s);
    }
  }
}

}  // namespace
