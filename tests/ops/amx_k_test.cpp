// AMX int8 tile gemms for the K-quants (src/ops/x86/gemm_k_amx.cpp): every (row, token) against
// the scalar vec_dot over tile-sized, ragged and single-token shapes, raw/extreme/quantized
// weights, ldy > nr with a guard on the untouched columns; the repacking transpose through
// rows that differ only in one code; and ops::matmul end to end against the AVX-512 VNNI path.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "ops/blocks.h"
#include "ops/kernels_impl.h"
#include "ops/matmul.h"
#include "ops/types.h"
#include "test_util.h"
#include "util/thread_pool.h"

namespace {

using ops_test::block_bytes;
using ops_test::f16_fields;
using ops_test::type_name;

using ops::DType;
using ops::Isa;

const DType kTypes[] = {DType::Q4_K, DType::Q6_K, DType::Q5_K, DType::Q3_K, DType::Q2_K};

enum class Fill { kGaussian, kRawBytes, kExtreme };

// n_rows weight rows of n elements. Raw/extreme bytes reach every code and scale value
// (including Q6_K scale -128 and Q3_K's -32); fp16 scales are overwritten with sane values.
std::vector<uint8_t> make_weights(DType t, int64_t n, int n_rows, Fill fill, std::mt19937& rng) {
  const size_t rb = ops::row_bytes(t, n);
  std::vector<uint8_t> w(rb * n_rows);
  if (fill == Fill::kGaussian) {
    std::normal_distribution<float> g(0.0f, 1.0f);
    std::vector<float> x(n);
    for (int r = 0; r < n_rows; r++) {
      for (auto& v : x) v = g(rng);
      ops::scalar_table()[t].quantize_row(x.data(), w.data() + r * rb, n);
    }
    return w;
  }
  std::uniform_int_distribution<int> byte(0, 255);
  for (auto& b : w) {
    const int v = byte(rng);
    b = fill == Fill::kExtreme ? (v < 128 ? 0x00 : 0xff) : static_cast<uint8_t>(v);
  }
  std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
  for (size_t off = 0; off < w.size(); off += block_bytes(t)) {
    for (size_t f : f16_fields(t)) {
      const ops::f16_t h = ops::fp32_to_fp16(scale(rng));
      std::memcpy(&w[off + f], &h, 2);
    }
  }
  return w;
}

// nt Q8_K activation rows: gaussian floats through the scalar quantizer, or +-1 (codes +-127).
std::vector<uint8_t> make_acts(int64_t n, int nt, bool extreme, std::mt19937& rng) {
  const size_t rb = ops::row_bytes(DType::Q8_K, n);
  std::vector<uint8_t> a(rb * nt);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> x(n);
  for (int t = 0; t < nt; t++) {
    for (auto& v : x) v = extreme ? ((rng() & 1) ? 1.0f : -1.0f) : g(rng);
    ops::scalar_table()[DType::Q8_K].quantize_row(x.data(), a.data() + t * rb, n);
  }
  return a;
}

std::vector<float> dequant_rows(DType t, const std::vector<uint8_t>& q, int64_t n, int rows) {
  std::vector<float> out(static_cast<size_t>(n) * rows);
  const size_t rb = ops::row_bytes(t, n);
  for (int r = 0; r < rows; r++)
    ops::scalar_table()[t].dequantize_row(q.data() + r * rb, out.data() + r * n, n);
  return out;
}

double abs_dot(const float* a, const float* b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; i++) s += std::fabs(double(a[i]) * b[i]);
  return s;
}

// Runs the AMX gemm on one shape and checks every output against the scalar vec_dot.
void check_shape(DType t, int64_t n, int nr, int nt, Fill fill, std::mt19937& rng) {
  const auto& ref = ops::scalar_table()[t];
  const ops::Kernels* k = ops::kernels(t, Isa::kAmx);
  ASSERT_NE(k, nullptr);
  ASSERT_NE(k->gemm, nullptr);
  const auto w = make_weights(t, n, nr, fill, rng);
  const auto a = make_acts(n, nt, fill == Fill::kExtreme, rng);
  const auto wf = dequant_rows(t, w, n, nr);
  const auto af = dequant_rows(DType::Q8_K, a, n, nt);
  const size_t ws = ops::row_bytes(t, n), as = ops::row_bytes(DType::Q8_K, n);
  const int64_t ldy = nr + 5;
  std::vector<float> y(ldy * nt, -777.0f);
  k->gemm(n, nr, nt, w.data(), ws, a.data(), as, y.data(), ldy);
  for (int i = 0; i < nt; i++) {
    for (int r = 0; r < ldy; r++) {
      if (r >= nr) {
        ASSERT_EQ(y[i * ldy + r], -777.0f) << "gemm wrote outside its tile";
        continue;
      }
      float want = 0;
      ref.vec_dot(n, &want, w.data() + r * ws, a.data() + i * as);
      const double tol = 2e-6 * abs_dot(&wf[r * n], &af[i * n], n) + 1e-30;
      ASSERT_NEAR(y[i * ldy + r], want, tol)
          << type_name(t) << " n=" << n << " nr=" << nr << " nt=" << nt << " r=" << r << " t=" << i
          << " fill=" << static_cast<int>(fill);
    }
  }
}

TEST(AmxK, GemmMatchesScalarDotsEveryShape) {
  if (ops::detected_isa() < Isa::kAmx) GTEST_SKIP() << "no AMX on this CPU";
  std::mt19937 rng(2027);
  int shape = 0;
  for (DType t : kTypes) {
    for (int64_t n : {256, 2048}) {
      for (int nt : {1, 7, 8, 15, 16, 17, 33, 64, 100}) {
        for (int nr : {16, 48, 64, 5, 21}) {
          const Fill fill = static_cast<Fill>(shape++ % 3);
          check_shape(t, n, nr, nt, fill, rng);
          if (HasFatalFailure()) return;
        }
      }
    }
    // More rows than matmul passes today (the kernel takes any nr).
    check_shape(t, 512, 100, 40, Fill::kRawBytes, rng);
    if (HasFatalFailure()) return;
    // Long rows on fewer shapes (the scalar reference is slow).
    for (auto [nr, nt] : {std::pair{21, 17}, {64, 33}, {16, 16}}) {
      for (Fill fill : {Fill::kGaussian, Fill::kRawBytes, Fill::kExtreme}) {
        check_shape(t, 8192, nr, nt, fill, rng);
        if (HasFatalFailure()) return;
      }
    }
  }
}

// Every weight row equal except one code in one row: the output must move in exactly that
// row's column, for every row position in the tile (a wrong transpose would move another).
TEST(AmxK, OneChangedCodeMovesOnlyItsRow) {
  if (ops::detected_isa() < Isa::kAmx) GTEST_SKIP() << "no AMX on this CPU";
  std::mt19937 rng(11);
  const int64_t n = 512;
  const int nr = 16, nt = 16;
  for (DType t : kTypes) {
    const ops::Kernels* k = ops::kernels(t, Isa::kAmx);
    const size_t ws = ops::row_bytes(t, n), as = ops::row_bytes(DType::Q8_K, n);
    const auto row = make_weights(t, n, 1, Fill::kGaussian, rng);
    const auto a = make_acts(n, nt, false, rng);
    std::vector<uint8_t> w;
    for (int r = 0; r < nr; r++) w.insert(w.end(), row.begin(), row.end());
    std::vector<float> y0(nr * nt), y1(nr * nt);
    k->gemm(n, nr, nt, w.data(), ws, a.data(), as, y0.data(), nr);
    for (int r = 0; r < nr; r++) {
      // A code byte well inside the second block (offset 40 is code data in every K type).
      auto w2 = w;
      w2[r * ws + block_bytes(t) + 40] ^= 0x11;
      k->gemm(n, nr, nt, w2.data(), ws, a.data(), as, y1.data(), nr);
      float want = 0, base = 0;
      for (int i = 0; i < nt; i++) {
        for (int c = 0; c < nr; c++) {
          if (c != r) {
            ASSERT_EQ(y1[i * nr + c], y0[i * nr + c])
                << type_name(t) << " row " << r << " col " << c;
          }
        }
        ops::scalar_table()[t].vec_dot(n, &want, w2.data() + r * ws, a.data() + i * as);
        ops::scalar_table()[t].vec_dot(n, &base, w.data() + r * ws, a.data() + i * as);
        EXPECT_NEAR(y1[i * nr + r] - y0[i * nr + r], want - base,
                    1e-5 * (std::fabs(want) + std::fabs(base)) + 1e-6)
            << type_name(t) << " row " << r << " token " << i;
      }
    }
  }
}

// Prompt-sized matmul on two threads: AMX against the AVX-512 VNNI kernels.
TEST(AmxK, MatmulMatchesVnni) {
  if (ops::detected_isa() < Isa::kAmx) GTEST_SKIP() << "no AMX on this CPU";
  const int64_t k = 2048, n = 512, tokens = 512;
  util::ThreadPool pool(2);
  std::mt19937 rng(5);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> x(k * tokens);
  for (auto& v : x) v = g(rng);
  for (DType t : kTypes) {
    const auto w = make_weights(t, k, n, Fill::kGaussian, rng);
    const auto wf = dequant_rows(t, w, k, n);
    std::vector<float> ya(n * tokens, -1.0f), yv(n * tokens, -2.0f);
    ops::matmul(w.data(), t, k, n, x.data(), tokens, ya.data(), pool, Isa::kAmx);
    ops::matmul(w.data(), t, k, n, x.data(), tokens, yv.data(), pool, Isa::kAvx512Vnni);
    int bad = 0;
    for (int64_t i = 0; i < tokens; i++) {
      for (int64_t r = 0; r < n; r++) {
        const double tol = 4e-6 * abs_dot(&wf[r * k], &x[i * k], k);
        if (std::fabs(ya[i * n + r] - yv[i * n + r]) > tol && bad++ < 5) {
          ADD_FAILURE() << type_name(t) << " r=" << r << " t=" << i << " amx=" << ya[i * n + r]
                        << " vnni=" << yv[i * n + r];
        }
      }
    }
    EXPECT_EQ(bad, 0) << type_name(t);
  }
}

}  // namespace
