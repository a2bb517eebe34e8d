// The Vulkan matrix-vector shaders against the CPU's scalar dots, on whatever device
// the loader gives (Mesa's lavapipe in CI). A build with the gpu part always has a device to
// test on (scripts/install-deps.sh installs lavapipe), so no device is a failure, not a skip.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "gpu/vulkan/device.h"
#include "gpu/vulkan/matvec.h"
#include "ops/kernels_impl.h"
#include "ops/test_util.h"
#include "util/error.h"

namespace {

using ops_test::gaussian;
using gpu::vk::Buffer;
using gpu::vk::Device;
using gpu::vk::Memory;
using ops::DType;

// What the device should give for one weight row (k values of type t) against the floats x:
// the scalar dot over x quantized as the CPU quantizes activations, within float sums in
// another order (and a code that may round the other way where the GPU's 1/d differs from the
// CPU's in the last bit).
struct Expected {
  float value;
  double tol;
};
Expected expected_dot(DType t, const uint8_t* w_row, const float* x, int64_t k) {
  const ops::Kernels& kt = ops::scalar_table()[t];
  std::vector<uint8_t> act(ops::row_bytes(kt.act_type, k));
  if (kt.act_type == DType::F32) {
    std::memcpy(act.data(), x, k * sizeof(float));
  } else {
    ops::scalar_table()[kt.act_type].quantize_row(x, act.data(), k);
  }
  std::vector<float> wd(k);
  kt.dequantize_row(w_row, wd.data(), k);
  double mag = 0;
  for (int64_t i = 0; i < k; i++) mag += std::fabs(static_cast<double>(wd[i]) * x[i]);
  Expected e{0.0f, 1e-4 * mag + 1e-6};
  kt.vec_dot(k, &e.value, w_row, act.data());
  return e;
}

Device& device() {
  std::string why;
  if (!Device::available(&why)) ADD_FAILURE() << "no Vulkan device: " << why;
  return Device::get();
}

TEST(VulkanDevice, OpensAComputeDeviceAndListsIt) {
  Device& dev = device();
  EXPECT_FALSE(dev.info().name.empty());
  EXPECT_GT(dev.info().max_workgroups_x, 0u);
  const auto all = Device::list();
  ASSERT_FALSE(all.empty());
  bool found = false;
  for (const auto& d : all) found = found || d.name == dev.info().name;
  EXPECT_TRUE(found) << dev.info().name;
}

// Every supported type and shape class: k of one block, several blocks, a long row; n of one
// row, a ragged count, and more rows than one dispatch has workgroups (65535) so rows wrap.
TEST(VulkanMatvec, MatchesTheScalarDotsForEveryTypeAndShape) {
  Device& dev = device();
  gpu::vk::Matvec mv(dev, 4096);
  struct Shape {
    int64_t k, n;
  };
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_1,
                  DType::Q5_0, DType::Q5_1, DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K,
                  DType::Q6_K, DType::MXFP4, DType::IQ4_NL, DType::IQ4_XS}) {
    for (const Shape s : {Shape{32, 1}, Shape{256, 37}, Shape{4096, 130}, Shape{64, 70000},
                          Shape{2048, 9}}) {
      if (!gpu::vk::matvec_supports(t, s.k)) {
        ASSERT_EQ(ops::type_info(uint32_t(t))->block_size, 256) << "only K-quants skip a shape";
        ASSERT_NE(s.k % 256, 0);
        continue;
      }
      const ops::Kernels& kt = ops::scalar_table()[t];
      const size_t rb = ops::row_bytes(t, s.k);
      std::vector<uint8_t> w(rb * s.n);
      const auto src = gaussian(s.k * std::min<int64_t>(s.n, 64), 1);
      for (int64_t r = 0; r < s.n; r++)
        kt.quantize_row(src.data() + (r % 64) * s.k, w.data() + r * rb, s.k);
      const auto x = gaussian(s.k, 2);
      const auto m = gpu::vk::upload(dev, w.data(), t, s.k, s.n);
      // x lands after 16 floats of something else and y after 8: the offsets are honoured.
      Buffer xb(dev, (16 + s.k) * sizeof(float), Memory::kHost);
      Buffer yb(dev, (8 + s.n) * sizeof(float), Memory::kHost);
      std::memcpy(static_cast<float*>(xb.data()) + 16, x.data(), s.k * sizeof(float));
      std::fill_n(static_cast<float*>(yb.data()), 8 + s.n, NAN);
      gpu::vk::Recorder rec(dev);
      mv.record(rec, m, xb, 16, yb, 8);
      rec.submit_and_wait();
      const float* y = static_cast<const float*>(yb.data()) + 8;
      for (int64_t r = 0; r < s.n; r++) {
        const Expected want = expected_dot(t, w.data() + r * rb, x.data(), s.k);
        ASSERT_NEAR(y[r], want.value, want.tol)
            << ops::type_info(uint32_t(t))->name << " k=" << s.k << " n=" << s.n << " row " << r;
      }
      EXPECT_TRUE(std::isnan(static_cast<const float*>(yb.data())[7])) << "wrote before y_off";
    }
  }
}

// Several tokens in one dispatch (prompts), rows of x and y with gaps between them: each token
// equals its own one-token product.
TEST(VulkanMatvec, TokensInOneDispatchEqualOneTokenEach) {
  Device& dev = device();
  const int64_t k = 512, n = 45;
  const uint32_t tokens = 3, xs = k + 5, ys = n + 3;
  gpu::vk::Matvec mv(dev, k, tokens);
  for (DType t : {DType::F16, DType::Q8_0, DType::Q4_K}) {
    const ops::Kernels& kt = ops::scalar_table()[t];
    const size_t rb = ops::row_bytes(t, k);
    std::vector<uint8_t> w(rb * n);
    const auto src = gaussian(k * n, 3);
    for (int64_t r = 0; r < n; r++) kt.quantize_row(src.data() + r * k, w.data() + r * rb, k);
    const auto m = gpu::vk::upload(dev, w.data(), t, k, n);
    const auto x = gaussian(xs * tokens, 4);
    Buffer xb(dev, x.size() * sizeof(float), Memory::kHost);
    std::memcpy(xb.data(), x.data(), x.size() * sizeof(float));
    Buffer all(dev, ys * tokens * sizeof(float), Memory::kHost), one(dev, n * sizeof(float), Memory::kHost);
    std::fill_n(static_cast<float*>(all.data()), ys * tokens, NAN);
    gpu::vk::Recorder rec(dev);
    mv.record(rec, m, xb, 0, all, 0, tokens, xs, ys);
    rec.submit_and_wait();
    for (uint32_t tok = 0; tok < tokens; tok++) {
      mv.record(rec, m, xb, tok * xs, one, 0);
      rec.submit_and_wait();
      for (int64_t r = 0; r < n; r++) {
        ASSERT_EQ(static_cast<const float*>(all.data())[tok * ys + r],
                  static_cast<const float*>(one.data())[r])
            << ops::type_info(uint32_t(t))->name << " token " << tok << " row " << r;
      }
      EXPECT_TRUE(std::isnan(static_cast<const float*>(all.data())[tok * ys + n]));
    }
  }
}

// Prompts (>= kMatmatMinTokens tokens) go through the 32 x 32 tiles where the type has them:
// every (token, row) against the CPU's scalar dot, with ragged tiles on both axes, a k of one
// tile step and of many, strided activation and output rows at offsets.
TEST(VulkanMatvec, PromptTilesMatchTheScalarDotsForEveryTypeAndShape) {
  Device& dev = device();
  struct Shape {
    int64_t k, n;
    uint32_t tokens;
  };
  const Shape shapes[] = {{256, 37, gpu::vk::kMatmatMinTokens}, {512, 70, 33}, {2048, 9, 40}};
  gpu::vk::Matvec mv(dev, 2048, 40);
  int tiled = 0;
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_1,
                  DType::Q5_0, DType::Q5_1, DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K,
                  DType::Q6_K, DType::MXFP4, DType::IQ4_NL, DType::IQ4_XS}) {
    for (const Shape s : shapes) {
      const ops::Kernels& kt = ops::scalar_table()[t];
      const size_t rb = ops::row_bytes(t, s.k);
      std::vector<uint8_t> w(rb * s.n);
      const auto src = gaussian(s.k * s.n, 5);
      for (int64_t r = 0; r < s.n; r++) kt.quantize_row(src.data() + r * s.k, w.data() + r * rb, s.k);
      const auto m = gpu::vk::upload(dev, w.data(), t, s.k, s.n);
      const bool tiles = gpu::vk::use_matmat(m, s.tokens);
      tiled += tiles;
      EXPECT_TRUE(tiles) << ops::type_info(uint32_t(t))->name;
      const uint32_t xs = static_cast<uint32_t>(s.k) + 3, ys = static_cast<uint32_t>(s.n) + 2;
      const auto x = gaussian(xs * s.tokens + 5, 6);
      Buffer xb(dev, x.size() * sizeof(float), Memory::kHost);
      std::memcpy(xb.data(), x.data(), x.size() * sizeof(float));
      Buffer yb(dev, (4 + ys * s.tokens) * sizeof(float), Memory::kHost);
      std::fill_n(static_cast<float*>(yb.data()), 4 + ys * s.tokens, NAN);
      gpu::vk::Recorder rec(dev);
      mv.record(rec, m, xb, 5, yb, 4, s.tokens, xs, ys);
      rec.submit_and_wait();
      const float* y = static_cast<const float*>(yb.data());
      EXPECT_TRUE(std::isnan(y[3])) << "wrote before y_off";
      for (uint32_t tok = 0; tok < s.tokens; tok++) {
        const float* xt = x.data() + 5 + tok * xs;
        for (int64_t r = 0; r < s.n; r++) {
          const Expected want = expected_dot(t, w.data() + r * rb, xt, s.k);
          ASSERT_NEAR(y[4 + tok * ys + r], want.value, want.tol)
              << ops::type_info(uint32_t(t))->name << " k=" << s.k << " n=" << s.n << " token "
              << tok << " row " << r;
        }
        EXPECT_TRUE(std::isnan(y[4 + tok * ys + s.n])) << "wrote between output rows";
        EXPECT_TRUE(std::isnan(y[4 + tok * ys + s.n + 1])) << "wrote between output rows";
      }
    }
  }
  EXPECT_EQ(tiled, 16 * 3);
}

// A MoE layer's experts, every type: 3 experts of n rows stacked; pairs routed by an id table
// (the token's activations for each of its 2 slots, or each pair's own row) and one expert
// for 9 rows of activations (the prompt tiles where the type has them), each output row
// against the scalar dot of the expert's row.
TEST(VulkanMatvec, ExpertRowsMatchTheScalarDotsForEveryType) {
  Device& dev = device();
  const int64_t k = 512, n = 37, ne = 3;
  gpu::vk::Matvec mv(dev, k, 16);
  const int32_t ids[] = {2, 0, 1, 2, 0, 0};  // 3 tokens x 2 slots
  Buffer idb(dev, sizeof ids + 8, Memory::kHost);
  std::memcpy(static_cast<int32_t*>(idb.data()) + 2, ids, sizeof ids);  // at ids_off 2
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_1,
                  DType::Q5_0, DType::Q5_1, DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K,
                  DType::Q6_K, DType::MXFP4, DType::IQ4_NL, DType::IQ4_XS}) {
    const ops::Kernels& kt = ops::scalar_table()[t];
    const size_t rb = ops::row_bytes(t, k);
    std::vector<uint8_t> w(rb * n * ne);
    const auto src = gaussian(k * n * ne, 7);
    for (int64_t r = 0; r < n * ne; r++) kt.quantize_row(src.data() + r * k, w.data() + r * rb, k);
    const auto m = gpu::vk::upload(dev, w.data(), t, k, n * ne);
    const auto x = gaussian(k * 9, 8);
    Buffer xb(dev, x.size() * sizeof(float), Memory::kHost);
    std::memcpy(xb.data(), x.data(), x.size() * sizeof(float));
    auto want = [&](int64_t e, int64_t r, int xrow) {
      return expected_dot(t, w.data() + (e * n + r) * rb, x.data() + xrow * k, k);
    };
    const char* name = ops::type_info(uint32_t(t))->name;
    for (bool per_pair : {false, true}) {
      Buffer yb(dev, (6 * n + 1) * sizeof(float), Memory::kHost);
      std::fill_n(static_cast<float*>(yb.data()), 6 * n + 1, NAN);
      gpu::vk::Matvec::ExpertRows er;
      er.rows = n;
      er.ids = &idb;
      er.ids_off = 2;
      er.n_used = 2;
      er.x_per_pair = per_pair;
      gpu::vk::Recorder rec(dev);
      mv.record_experts(rec, m, er, xb, 0, yb, 0, 6);
      rec.submit_and_wait();
      for (int q = 0; q < 6; q++)
        for (int64_t r = 0; r < n; r++) {
          const Expected e = want(ids[q], r, per_pair ? q : q / 2);
          ASSERT_NEAR(static_cast<const float*>(yb.data())[q * n + r], e.value, e.tol)
              << name << " pair " << q << " row " << r << (per_pair ? " (own rows)" : "");
        }
      EXPECT_TRUE(std::isnan(static_cast<const float*>(yb.data())[6 * n])) << "wrote past y";
    }
    Buffer yb(dev, (9 * n + 1) * sizeof(float), Memory::kHost);
    std::fill_n(static_cast<float*>(yb.data()), 9 * n + 1, NAN);
    gpu::vk::Matvec::ExpertRows er;
    er.rows = n;
    er.expert = 1;
    gpu::vk::Recorder rec(dev);
    mv.record_experts(rec, m, er, xb, 0, yb, 0, 9);
    rec.submit_and_wait();
    for (int q = 0; q < 9; q++)
      for (int64_t r = 0; r < n; r++) {
        const Expected e = want(1, r, q);
        ASSERT_NEAR(static_cast<const float*>(yb.data())[q * n + r], e.value, e.tol)
            << name << " expert 1, row " << q << " of x, output row " << r;
      }
    EXPECT_TRUE(std::isnan(static_cast<const float*>(yb.data())[9 * n])) << "wrote past y";
  }
}

TEST(VulkanMatvec, RefusesTypesAndShapesItHasNoKernelFor) {
  Device& dev = device();
  EXPECT_FALSE(gpu::vk::matvec_supports(DType::Q8_1, 256));
  EXPECT_FALSE(gpu::vk::matvec_supports(DType::Q4_K, 128));
  EXPECT_FALSE(gpu::vk::matvec_supports(DType::Q8_0, 48));
  EXPECT_FALSE(gpu::vk::matvec_supports(DType::F16, 3));
  std::vector<uint8_t> w(8 * 36);
  EXPECT_THROW(gpu::vk::upload(dev, w.data(), DType::Q8_1, 256, 1), util::Error);
}

}  // namespace
