#include "ops/matmul.h"

#include <gtest/gtest.h>

#include <cmath>

#include "test_util.h"
#include "util/error.h"

using ops::DType;
using namespace ops_test;

namespace {

struct Shape {
  int64_t k, n, tokens;
};

// Quantized [k, n] weight of random rows, built row by row like a GGUF tensor.
std::vector<uint8_t> make_weight(DType t, int64_t k, int64_t n, uint32_t seed) {
  const size_t rb = ops::row_bytes(t, k);
  std::vector<uint8_t> w(rb * n);
  const auto src = gaussian(k * n, seed);
  for (int64_t r = 0; r < n; r++) {
    ops::scalar_table()[t].quantize_row(src.data() + r * k, w.data() + r * rb, k);
  }
  return w;
}

// With the scalar ISA, matmul must reproduce the scalar vec_dot bit for bit: same kernels,
// same quantized activations, only the work split differs.
TEST(Matmul, ScalarMatchesVecDotExactlyForAllShapesTypesAndThreads) {
  const Shape shapes[] = {{256, 1, 1}, {256, 37, 3}, {512, 130, 1}, {1024, 64, 9}, {256, 300, 40}};
  for (int threads : {1, 2, 3}) {
    util::ThreadPool pool(threads);
    for (DType t : dot_types()) {
      const ops::Kernels& k = ops::scalar_table()[t];
      for (const Shape& s : shapes) {
        const auto w = make_weight(t, s.k, s.n, 11);
        const auto x = gaussian(s.k * s.tokens, 12);
        std::vector<float> y(s.n * s.tokens, -1.0f);
        ops::matmul(w.data(), t, s.k, s.n, x.data(), s.tokens, y.data(), pool, ops::Isa::kScalar);
        // Naive reference.
        const size_t ab = ops::row_bytes(k.act_type, s.k), rb = ops::row_bytes(t, s.k);
        std::vector<uint8_t> act(ab);
        for (int64_t tok = 0; tok < s.tokens; tok++) {
          ops::scalar_table()[k.act_type].quantize_row(x.data() + tok * s.k, act.data(), s.k);
          for (int64_t j = 0; j < s.n; j++) {
            float want;
            k.vec_dot(s.k, &want, w.data() + j * rb, act.data());
            ASSERT_EQ(y[tok * s.n + j], want)
                << ops::type_info(uint32_t(t))->name << " k=" << s.k << " n=" << s.n
                << " tokens=" << s.tokens << " threads=" << threads << " t=" << tok << " j=" << j;
          }
        }
      }
    }
  }
}

// The best ISA's matmul agrees with double-precision dots of the dequantized operands.
TEST(Matmul, DetectedIsaMatchesDequantizedReference) {
  util::ThreadPool pool(2);
  // Shapes hit gemm tiles with ragged row chunks and token counts (incl. a single token);
  // from 64 tokens on AVX2 and AMX take bigger row chunks (530 rows: 128-row chunks and an
  // 18-row tail, 66 tokens: two 32-token blocks and a tail).
  for (const Shape s :
       {Shape{512, 70, 5}, Shape{1024, 203, 37}, Shape{256, 9, 1}, Shape{256, 530, 66}}) {
    for (DType t : dot_types()) {
      const ops::Kernels& k = ops::scalar_table()[t];
      const auto w = make_weight(t, s.k, s.n, 21);
      const auto x = gaussian(s.k * s.tokens, 22);
      std::vector<float> y(s.n * s.tokens);
      ops::matmul(w.data(), t, s.k, s.n, x.data(), s.tokens, y.data(), pool);
      std::vector<uint8_t> act(ops::row_bytes(k.act_type, s.k));
      std::vector<float> xd(s.k), wd(s.k);
      for (int64_t tok = 0; tok < s.tokens; tok++) {
        ops::scalar_table()[k.act_type].quantize_row(x.data() + tok * s.k, act.data(), s.k);
        ops::scalar_table()[k.act_type].dequantize_row(act.data(), xd.data(), s.k);
        for (int64_t j = 0; j < s.n; j++) {
          ops::dequantize_row(w.data(), t, s.k, j, wd.data());
          ASSERT_NEAR(y[tok * s.n + j], dot_d(wd, xd), 1e-5 * abs_dot_d(wd, xd) + 1e-5)
              << ops::type_info(uint32_t(t))->name << " k=" << s.k << " n=" << s.n
              << " tokens=" << s.tokens << " t=" << tok << " j=" << j;
        }
      }
    }
  }
}

// Scratch is reused across calls of different token counts: a batched call must agree with the
// one-token calls (different tile paths, e.g. AMX vs VNNI, so up to float summation order) and
// repeating a call must reproduce it bit for bit.
TEST(Matmul, RepeatedCallsReuseScratchAndStayCorrect) {
  util::ThreadPool pool(2);
  const auto w = make_weight(DType::Q4_K, 256, 16, 5);
  for (int64_t tokens : {1, 64, 2, 64, 1}) {
    const auto x = gaussian(256 * tokens, static_cast<uint32_t>(tokens));
    std::vector<float> y(16 * tokens), again(16 * tokens), y1(16);
    ops::matmul(w.data(), DType::Q4_K, 256, 16, x.data(), tokens, y.data(), pool);
    for (int64_t t = 0; t < tokens; t++) {
      ops::matmul(w.data(), DType::Q4_K, 256, 16, x.data() + t * 256, 1, y1.data(), pool);
      for (int j = 0; j < 16; j++) {
        ASSERT_NEAR(y[t * 16 + j], y1[j], 1e-5f * (1.0f + std::fabs(y1[j])))
            << "t=" << t << " j=" << j;
      }
    }
    ops::matmul(w.data(), DType::Q4_K, 256, 16, x.data(), tokens, again.data(), pool);
    ASSERT_EQ(y, again) << "tokens=" << tokens;
  }
}

// Weights packed at load (Layout::kRows8) on any pool size and a few-token batch (decode
// streams rows in per-thread runs that idle threads take from the back of): every output row
// comes out once and equal to the plain-row matmul up to summation order, with row counts
// that leave fewer chunks than threads and runs of different lengths.
TEST(Matmul, PackedRowsOnAnyPoolMatchPlainRows) {
  bool any = false;
  for (DType t : dot_types()) {
    for (const Shape s : {Shape{512, 48, 1}, Shape{256, 400, 3}, Shape{256, 16, 2}}) {
      if (!ops::packs_rows8(t, s.k, s.n)) continue;
      any = true;
      const ops::Kernels& kt = *ops::kernels(t);
      const auto w = make_weight(t, s.k, s.n, 31);
      std::vector<uint8_t> packed(w.size());
      kt.pack8(w.data(), packed.data(), s.k, s.n);
      const auto x = gaussian(s.k * s.tokens, 32);
      std::vector<float> want(s.n * s.tokens);
      util::ThreadPool one(1);
      ops::matmul(w.data(), t, s.k, s.n, x.data(), s.tokens, want.data(), one);
      for (int threads : {1, 2, 3, 5}) {
        util::ThreadPool pool(threads);
        std::vector<float> y(s.n * s.tokens, NAN);
        ops::matmul(packed.data(), t, s.k, s.n, x.data(), s.tokens, y.data(), pool,
                    ops::detected_isa(), ops::Layout::kRows8);
        for (size_t i = 0; i < y.size(); i++) {
          ASSERT_NEAR(y[i], want[i], 1e-4f * (1.0f + std::fabs(want[i])))
              << ops::type_info(uint32_t(t))->name << " n=" << s.n << " tokens=" << s.tokens
              << " threads=" << threads << " at " << i;
        }
      }
    }
  }
  if (!any) GTEST_SKIP() << "this CPU packs no weight type";
}

TEST(Matmul, UnsupportedTypeThrowsUserError) {
  util::ThreadPool pool(1);
  std::vector<uint8_t> w(66 * 4);
  std::vector<float> x(256), y(4);
  EXPECT_THROW(ops::matmul(w.data(), DType::IQ2_XXS, 256, 4, x.data(), 1, y.data(), pool),
               util::Error);
  EXPECT_THROW(ops::dequantize_row(w.data(), DType::IQ2_XXS, 256, 0, y.data()), util::Error);
  // Row length not a multiple of the block size (Q4_K: 256).
  EXPECT_THROW(ops::matmul(w.data(), DType::Q4_K, 128, 1, x.data(), 1, y.data(), pool),
               util::Error);
}

TEST(DequantizeRows, MatchesWholeTensorDequant) {
  for (DType t : dot_types()) {
    const int64_t k = 512, n = 6;
    const auto w = make_weight(t, k, n, 3);
    const auto all = dequantize(t, w.data(), k * n);
    std::vector<float> rows(3 * k);
    ops::dequantize_rows(w.data(), t, k, 2, 3, rows.data());
    for (int64_t i = 0; i < 3 * k; i++) ASSERT_EQ(rows[i], all[2 * k + i]);
  }
}

}  // namespace
