#include "ops/vec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "ops/types.h"
#include "ops/vec_impl.h"
#include "test_util.h"

using namespace ops_test;

namespace {

TEST(Vec, RmsnormMatchesDoubleReference) {
  const auto x = gaussian(1000, 1, 3.0f);
  const auto w = gaussian(1000, 2);
  std::vector<float> y(1000);
  ops::rmsnorm(x.data(), w.data(), y.data(), 1000, 1e-5f);
  double ss = 0;
  for (float v : x) ss += double(v) * v;
  const double r = 1.0 / std::sqrt(ss / 1000 + 1e-5);
  for (int i = 0; i < 1000; i++)
    ASSERT_NEAR(y[i], x[i] * r * w[i], 1e-5 * std::fabs(x[i] * r * w[i]) + 1e-6);
  // In place, no weight: unit RMS.
  auto z = x;
  ops::rmsnorm(z.data(), nullptr, z.data(), 1000, 0.0f);
  double s2 = 0;
  for (float v : z) s2 += double(v) * v;
  EXPECT_NEAR(s2 / 1000, 1.0, 1e-5);
}

TEST(Vec, LayernormGivesZeroMeanUnitVarianceThenAffine) {
  auto x = gaussian(512, 3, 2.0f);
  for (auto& v : x) v += 5;
  std::vector<float> w(512, 2.0f), b(512, 1.0f), y(512);
  ops::layernorm(x.data(), w.data(), b.data(), y.data(), 512, 1e-6f);
  double mean = 0, var = 0;
  for (float v : y) mean += (v - 1.0) / 2.0;
  mean /= 512;
  for (float v : y) var += ((v - 1.0) / 2.0 - mean) * ((v - 1.0) / 2.0 - mean);
  EXPECT_NEAR(mean, 0.0, 1e-5);
  EXPECT_NEAR(var / 512, 1.0, 1e-4);
}

TEST(Vec, SoftmaxIsStableAndNormalized) {
  std::vector<float> x = {1000.0f, 1001.0f, 999.0f, -INFINITY};
  ops::softmax(x.data(), 4);
  const double e0 = std::exp(-1.0), e2 = std::exp(-2.0), s = e0 + 1 + e2;
  EXPECT_NEAR(x[0], e0 / s, 1e-6);
  EXPECT_NEAR(x[1], 1 / s, 1e-6);
  EXPECT_NEAR(x[2], e2 / s, 1e-6);
  EXPECT_EQ(x[3], 0.0f);
  std::vector<float> y = {2.0f, 4.0f};
  ops::softmax_scaled(y.data(), 2, 0.5f);
  EXPECT_NEAR(y[1], 1.0 / (1.0 + std::exp(-1.0)), 1e-6);
}

TEST(Vec, ActivationsAtKnownPoints) {
  std::vector<float> x = {-2.0f, 0.0f, 1.0f, 3.0f};
  auto s = x;
  ops::silu(s.data(), 4);
  for (int i = 0; i < 4; i++) EXPECT_NEAR(s[i], x[i] / (1 + std::exp(-x[i])), 1e-6);
  auto g = x;
  ops::gelu(g.data(), 4);
  EXPECT_NEAR(g[2], 0.8411920f, 1e-6);   // tanh-approx GELU(1)
  EXPECT_NEAR(g[0], -0.0454023f, 1e-6);  // tanh-approx GELU(-2)
  auto ge = x;
  ops::gelu_erf(ge.data(), 4);
  EXPECT_NEAR(ge[2], 0.8413447f, 1e-6);  // exact GELU(1)
  std::vector<float> up = {1.0f, 2.0f, 3.0f, 4.0f}, out(4);
  ops::swiglu(x.data(), up.data(), out.data(), 4);
  for (int i = 0; i < 4; i++) EXPECT_NEAR(out[i], s[i] * up[i], 1e-6);
  ops::geglu(x.data(), up.data(), out.data(), 4);
  for (int i = 0; i < 4; i++) EXPECT_NEAR(out[i], g[i] * up[i], 1e-6);
}

TEST(Vec, ElementwiseAndReductions) {
  const auto a = gaussian(37, 4), b = gaussian(37, 5);
  std::vector<float> y(37);
  ops::add(a.data(), b.data(), y.data(), 37);
  for (int i = 0; i < 37; i++) EXPECT_EQ(y[i], a[i] + b[i]);
  ops::mul(a.data(), b.data(), y.data(), 37);
  for (int i = 0; i < 37; i++) EXPECT_EQ(y[i], a[i] * b[i]);
  auto c = a;
  ops::scale(c.data(), 3.0f, 37);
  for (int i = 0; i < 37; i++) EXPECT_EQ(c[i], a[i] * 3.0f);
  auto d = b;
  ops::axpy(2.0f, a.data(), d.data(), 37);
  for (int i = 0; i < 37; i++) EXPECT_FLOAT_EQ(d[i], b[i] + 2.0f * a[i]);
  EXPECT_NEAR(ops::dot(a.data(), b.data(), 37), dot_d(a, b), 1e-5);
  double s = 0, m = -1e30;
  for (float v : a) s += v, m = std::max<double>(m, v);
  EXPECT_NEAR(ops::sum(a.data(), 37), s, 1e-5);
  EXPECT_EQ(ops::max(a.data(), 37), m);
}

TEST(Vec, RopeNormRotatesAdjacentPairs) {
  const int64_t hd = 8, n_rot = 8;
  std::vector<float> cs(n_rot);
  ops::rope_cache(cs.data(), n_rot, 3.0f, 10000.0f, 1.0f, nullptr);
  for (int i = 0; i < n_rot / 2; i++) {
    const double theta = 3.0 * std::pow(10000.0, -2.0 * i / n_rot);
    EXPECT_NEAR(cs[2 * i], std::cos(theta), 1e-6);
    EXPECT_NEAR(cs[2 * i + 1], std::sin(theta), 1e-6);
  }
  std::vector<float> x = {1, 0, 0, 1, 1, 1, 2, -1, /* head 2 */ 1, 0, 0, 0, 0, 0, 0, 0};
  const auto orig = x;
  ops::rope_norm(x.data(), 2, hd, n_rot, cs.data());
  for (int h = 0; h < 2; h++) {
    for (int i = 0; i < n_rot / 2; i++) {
      const float a = orig[h * hd + 2 * i], b = orig[h * hd + 2 * i + 1];
      const float c = cs[2 * i], s = cs[2 * i + 1];
      EXPECT_NEAR(x[h * hd + 2 * i], a * c - b * s, 1e-6);
      EXPECT_NEAR(x[h * hd + 2 * i + 1], a * s + b * c, 1e-6);
    }
  }
}

TEST(Vec, RopeNeoxRotatesHalfSplitPairsAndLeavesTailDims) {
  const int64_t hd = 8, n_rot = 4;  // partial rotary: dims 4..7 untouched
  std::vector<float> cs(n_rot);
  ops::rope_cache(cs.data(), n_rot, 5.0f, 100.0f, 0.5f, nullptr);
  EXPECT_NEAR(cs[0], std::cos(2.5), 1e-6);  // freq_scale applies to the position
  const auto x0 = gaussian(hd, 8);
  auto x = x0;
  ops::rope_neox(x.data(), 1, hd, n_rot, cs.data());
  for (int i = 0; i < 2; i++) {
    const float c = cs[2 * i], s = cs[2 * i + 1];
    EXPECT_NEAR(x[i], x0[i] * c - x0[i + 2] * s, 1e-6);
    EXPECT_NEAR(x[i + 2], x0[i] * s + x0[i + 2] * c, 1e-6);
  }
  for (int i = 4; i < 8; i++) EXPECT_EQ(x[i], x0[i]);
  // Frequency factors divide the angle.
  const float ff[2] = {2.0f, 4.0f};
  std::vector<float> cs2(n_rot);
  ops::rope_cache(cs2.data(), n_rot, 5.0f, 100.0f, 1.0f, ff);
  EXPECT_NEAR(cs2[1], std::sin(2.5), 1e-6);
  EXPECT_NEAR(cs2[3], std::sin(5.0 * std::pow(100.0, -0.5) / 4.0), 1e-6);
}

}  // namespace

namespace {

// The fast exp-based kernels (baseline and AVX2 builds) against double-precision formulas
// over the whole useful range, every tail length included.
TEST(Vec, TranscendentalKernelsMatchDoubleReferenceOnEveryBuild) {
  std::vector<const ops::VecFns*> builds = {&ops::vec_fns_baseline()};
  if (ops::detected_isa() >= ops::Isa::kAvx2) builds.push_back(&ops::vec_fns_avx2());
  std::vector<float> x;
  for (float v = -100.0f; v <= 100.0f; v += 0.01953125f) x.push_back(v);
  for (float v : {0.0f, -0.0f, 1e-20f, -1e-20f, 87.0f, -87.0f, 88.5f, -88.5f}) x.push_back(v);
  const int64_t n = static_cast<int64_t>(x.size());
  auto silu_ref = [](double v) { return v / (1.0 + std::exp(-v)); };
  auto gelu_ref = [](double v) {
    return 0.5 * v * (1.0 + std::tanh(0.7978845608028654 * v * (1.0 + 0.044715 * v * v)));
  };
  for (const ops::VecFns* f : builds) {
    auto s = x;
    f->silu(s.data(), n);
    auto g = x;
    f->gelu(g.data(), n);
    for (int64_t i = 0; i < n; i++) {
      ASSERT_NEAR(s[i], silu_ref(x[i]), 2e-6 * std::fabs(silu_ref(x[i])) + 1e-30) << x[i];
      ASSERT_NEAR(g[i], gelu_ref(x[i]), 2e-6 * std::fabs(gelu_ref(x[i])) + 1e-7) << x[i];
    }
    // Gated forms, in place on gate, with ragged lengths.
    for (int64_t len : {1, 3, 7, 8, 9, 15, 17, 100}) {
      const auto up = gaussian(len, 7);
      std::vector<float> gate(x.begin() + 5000, x.begin() + 5000 + len);
      auto sw = gate;
      f->swiglu(sw.data(), up.data(), sw.data(), len);
      auto ge = gate;
      f->geglu(ge.data(), up.data(), ge.data(), len);
      for (int64_t i = 0; i < len; i++) {
        ASSERT_NEAR(sw[i], silu_ref(gate[i]) * up[i],
                    3e-6 * std::fabs(silu_ref(gate[i]) * up[i]) + 1e-30);
        ASSERT_NEAR(ge[i], gelu_ref(gate[i]) * up[i],
                    3e-6 * std::fabs(gelu_ref(gate[i]) * up[i]) + 1e-7);
      }
    }
    // Softmax: wide dynamic range, masked entries, ragged lengths.
    for (int64_t len : {1, 2, 5, 8, 13, 64, 1001}) {
      auto sc = gaussian(len, static_cast<uint32_t>(len), 20.0f);
      if (len > 2) sc[1] = -INFINITY;
      auto got = sc;
      f->softmax(got.data(), len);
      double mx = -1e300, sum = 0;
      for (float v : sc) mx = std::max<double>(mx, v);
      for (float v : sc) sum += std::exp(double(v) - mx);
      for (int64_t i = 0; i < len; i++) {
        const double want = std::exp(double(sc[i]) - mx) / sum;
        ASSERT_NEAR(got[i], want, 2e-6 * want + 1e-9) << "len " << len << " i " << i;
      }
      if (len > 2) {
        EXPECT_EQ(got[1], 0.0f);
      }
    }
  }
}

}  // namespace
