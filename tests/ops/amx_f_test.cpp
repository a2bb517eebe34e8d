// AMX BF16 float-weight tiles (src/ops/x86/gemm_f_amx.cpp) against double-precision dots of the
// dequantized F16/BF16 rows. The bound (see bound()) is one that a single-rounding bf16 kernel,
// or one that loses a lo part, cannot meet: each test computes those errors too and says so.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "ops/kernels_impl.h"
#include "ops/matmul.h"
#include "ops/types.h"
#include "util/thread_pool.h"

namespace {

using ops::DType;
using ops::Isa;

// Documented bounds, as max |y - dot| / sum_i |w_i a_i|:
// * any data: a_hi w_hi + a_hi w_lo + a_lo w_hi misses a_lo w_lo (<= 2^-16 |a w|) and the bf16
//   rounding of a_lo (<= 2^-16 (1 + 2^-8) |a w|), plus the FP32 sum of n terms (<= n 2^-24):
//   worst(n) = 2^-15 (1 + 2^-9) + n 2^-24.
// * random-sign data (the errors of n products cancel like a random walk):
//   bound(n) = 1e-4 / sqrt(n) + 2e-7 (measured max ~4e-5 / sqrt(n)). A one-pass bf16 kernel errs
//   ~2^-9 per product, ~2.5e-3 / sqrt(n): 25x over; the tests below assert that it fails.
double bound(int64_t n) { return 1e-4 / std::sqrt(double(n)) + 2e-7; }
const double kPerProduct = std::ldexp(1.0, -15) * (1 + std::ldexp(1.0, -9));
double worst(int64_t n) { return kPerProduct + double(n) * std::ldexp(1.0, -24); }

float bf16_round(float x) {  // nearest-even bf16, as FP32
  uint32_t b;
  std::memcpy(&b, &x, 4);
  b = (b + 0x7fff + ((b >> 16) & 1)) & 0xffff0000u;
  float r;
  std::memcpy(&r, &b, 4);
  return r;
}

struct Problem {
  DType t;
  int64_t n;
  int nr, nt;
  std::vector<uint8_t> w;  // nr rows of row_bytes(t, n)
  std::vector<float> wf;   // dequantized, [nr][n]
  std::vector<float> a;    // [nt][n]
};

enum class Fill { kGaussian, kExtreme };

Problem make_problem(DType t, int64_t n, int nr, int nt, Fill fill, std::mt19937& rng) {
  Problem p{t, n, nr, nt, {}, {}, {}};
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::uniform_int_distribution<int> pick(0, 5);
  std::vector<float> x(static_cast<size_t>(nr) * n);
  for (auto& v : x) {
    v = g(rng);
    if (fill == Fill::kExtreme) {
      switch (pick(rng)) {
        case 0:
          v *= 2.0e4f;
          break;  // large F16 (|v| up to ~6.5e4 after clamping)
        case 1:
          v *= 3.0e-6f;
          break;  // F16 subnormal range (< 6.1e-5)
        case 2:
          v *= 1.0e-7f;
          break;  // smallest F16 subnormals / zeros
        default:
          break;
      }
      v = std::clamp(v, -65000.0f, 65000.0f);
    }
  }
  if (fill == Fill::kExtreme) {  // row 0 entirely F16-subnormal: its own relative bound holds
    for (int64_t i = 0; i < n; i++) x[i] = g(rng) * 2.0e-6f;
  }
  const auto& k = ops::scalar_table()[t];
  const size_t rb = ops::row_bytes(t, n);
  p.w.resize(rb * nr);
  p.wf.resize(x.size());
  for (int r = 0; r < nr; r++) {
    k.quantize_row(&x[r * n], &p.w[r * rb], n);
    k.dequantize_row(&p.w[r * rb], &p.wf[r * n], n);
  }
  p.a.resize(static_cast<size_t>(nt) * n);
  for (auto& v : p.a) {
    v = g(rng);
    if (fill == Fill::kExtreme) {
      const int c = pick(rng);
      if (c == 0) v *= 1.0e4f;
      if (c == 1) v *= 1.0e-12f;
      if (c == 2) v = 0.0f;
    }
  }
  return p;
}

struct Errors {
  double kernel = 0, one_pass = 0, no_a_lo = 0, no_w_lo = 0;  // max of |err| / sum|w a|
};

// Runs the AMX gemm (rows land in columns [0, nr) of ldy = nr + 5) and measures its error and
// that of the simplified kernels (emulated in double) against the double dot.
Errors run_gemm(const Problem& p) {
  const ops::Kernels* k = ops::kernels(p.t, Isa::kAmx);
  const int64_t ldy = p.nr + 5;
  std::vector<float> y(static_cast<size_t>(ldy) * (p.nt + 1), -777.0f);
  k->gemm(p.n, p.nr, p.nt, p.w.data(), ops::row_bytes(p.t, p.n), p.a.data(), p.n * 4, y.data(),
          ldy);
  Errors e;
  for (int t = 0; t <= p.nt; t++) {
    for (int r = 0; r < ldy; r++) {
      const float got = y[t * ldy + r];
      if (t == p.nt || r >= p.nr) {
        EXPECT_EQ(got, -777.0f) << "wrote outside the tile at t=" << t << " r=" << r;
        continue;
      }
      const float* w = &p.wf[r * p.n];
      const float* a = &p.a[t * p.n];
      double exact = 0, abs = 0, one = 0, no_alo = 0, no_wlo = 0;
      for (int64_t i = 0; i < p.n; i++) {
        exact += double(w[i]) * a[i];
        abs += std::fabs(double(w[i]) * a[i]);
        one += double(bf16_round(w[i])) * bf16_round(a[i]);
        no_alo += double(w[i]) * bf16_round(a[i]);
        no_wlo += double(bf16_round(w[i])) * a[i];
      }
      if (abs == 0) abs = 1e-300;
      e.kernel = std::max(e.kernel, std::fabs(got - exact) / abs);
      e.one_pass = std::max(e.one_pass, std::fabs(one - exact) / abs);
      e.no_a_lo = std::max(e.no_a_lo, std::fabs(no_alo - exact) / abs);
      e.no_w_lo = std::max(e.no_w_lo, std::fabs(no_wlo - exact) / abs);
    }
  }
  return e;
}

bool have_amx() { return ops::detected_isa() >= Isa::kAmx; }

TEST(AmxFloatGemm, MatchesDoubleDotsEveryShape) {
  if (!have_amx()) GTEST_SKIP() << "no AMX on this CPU";
  std::mt19937 rng(2024);
  for (DType t : {DType::F16, DType::BF16}) {
    Errors worst;
    for (int64_t n : {16, 64, 100, 2048, 8192}) {
      for (int nt : {1, 7, 8, 16, 17, 33, 64, 100}) {
        for (int nr : {16, 48, 64, 5, 21}) {
          if (n == 8192 && nt > 33 && nr != 64) continue;  // keep the double reference quick
          const Problem p = make_problem(t, n, nr, nt, Fill::kGaussian, rng);
          const Errors e = run_gemm(p);
          const double b = bound(n);
          EXPECT_LE(e.kernel, b) << ops::type_info(static_cast<uint32_t>(t))->name << " n=" << n
                                 << " nr=" << nr << " nt=" << nt;
          worst.kernel = std::max(worst.kernel, e.kernel * std::sqrt(double(n)));
          // The bound must reject a kernel that rounds once or drops a lo part. BF16 weights
          // have no lo part (exact in bf16), so only the activation split is tested there.
          EXPECT_GT(e.one_pass, b) << "n=" << n << " nr=" << nr << " nt=" << nt;
          EXPECT_GT(e.no_a_lo, b) << "n=" << n << " nr=" << nr << " nt=" << nt;
          if (t == DType::F16) {
            EXPECT_GT(e.no_w_lo, b) << "n=" << n << " nr=" << nr << " nt=" << nt;
          }
        }
      }
    }
    std::printf("[ %s ] max sqrt(n) |err| / sum|w a|: %.3g (bound 1e-4 + 2e-7 sqrt(n))\n",
                ops::type_info(static_cast<uint32_t>(t))->name, worst.kernel);
  }
}

TEST(AmxFloatGemm, ExtremeMagnitudesAndF16Subnormals) {
  if (!have_amx()) GTEST_SKIP() << "no AMX on this CPU";
  std::mt19937 rng(77);
  for (DType t : {DType::F16, DType::BF16}) {
    for (int64_t n : {64, 2048}) {
      for (auto [nr, nt] : {std::pair{64, 64}, {21, 17}}) {
        const Problem p = make_problem(t, n, nr, nt, Fill::kExtreme, rng);
        const Errors e = run_gemm(p);
        // Few huge products dominate each sum: only the worst-case bound applies (measured
        // <= 1.7e-5); a one-pass kernel is off by ~2^-8 of the dominant products.
        EXPECT_LE(e.kernel, worst(n)) << ops::type_info(static_cast<uint32_t>(t))->name
                                      << " n=" << n << " nr=" << nr << " nt=" << nt;
        EXPECT_GT(e.one_pass, worst(n));
        std::printf("[ %s n=%lld nr=%d nt=%d ] max |err| / sum|w a|: %.3g (one-pass %.3g)\n",
                    ops::type_info(static_cast<uint32_t>(t))->name, static_cast<long long>(n), nr,
                    nt, e.kernel, e.one_pass);
      }
    }
  }
}

// Weights of one sign and magnitude meet activations of one sign: rounding errors no longer
// cancel, so only worst(n) applies, and a one-pass kernel is off by ~2^-9.
TEST(AmxFloatGemm, CorrelatedSignsStayWithinPerProductBound) {
  if (!have_amx()) GTEST_SKIP() << "no AMX on this CPU";
  std::mt19937 rng(5);
  for (DType t : {DType::F16, DType::BF16}) {
    Problem p = make_problem(t, 1024, 32, 32, Fill::kGaussian, rng);
    const auto& k = ops::scalar_table()[t];
    std::vector<float> x(p.wf.size());
    for (size_t i = 0; i < x.size(); i++) x[i] = 1.0f + std::fabs(p.wf[i]) * 0.01f;
    const size_t rb = ops::row_bytes(t, p.n);
    for (int r = 0; r < p.nr; r++) {
      k.quantize_row(&x[r * p.n], &p.w[r * rb], p.n);
      k.dequantize_row(&p.w[r * rb], &p.wf[r * p.n], p.n);
    }
    for (auto& v : p.a) v = 0.3f + std::fabs(v) * 1e-3f;
    const Errors e = run_gemm(p);
    EXPECT_LE(e.kernel, worst(p.n));
    EXPECT_GT(e.one_pass, 1e-4);
  }
}

TEST(AmxFloatGemm, MatmulEndToEndTwoThreads) {
  if (!have_amx()) GTEST_SKIP() << "no AMX on this CPU";
  std::mt19937 rng(11);
  constexpr int64_t kK = 2048, kN = 512, kTokens = 512;
  util::ThreadPool pool(2);
  for (DType t : {DType::F16, DType::BF16}) {
    const Problem p = make_problem(t, kK, kN, kTokens, Fill::kGaussian, rng);
    std::vector<float> y(kN * kTokens, -1.0f);
    ops::matmul(p.w.data(), t, kK, kN, p.a.data(), kTokens, y.data(), pool, Isa::kAmx);
    double worst = 0;
    for (int64_t tk = 0; tk < kTokens; tk++) {
      for (int64_t r = 0; r < kN; r++) {
        const float* w = &p.wf[r * kK];
        const float* a = &p.a[tk * kK];
        double exact = 0, abs = 0;
        for (int64_t i = 0; i < kK; i++) {
          exact += double(w[i]) * a[i];
          abs += std::fabs(double(w[i]) * a[i]);
        }
        worst = std::max(worst, std::fabs(y[tk * kN + r] - exact) / abs);
      }
    }
    EXPECT_LE(worst, bound(kK)) << ops::type_info(static_cast<uint32_t>(t))->name;
  }
}

}  // namespace
