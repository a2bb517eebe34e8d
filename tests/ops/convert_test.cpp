#include "ops/convert.h"

#include <gtest/gtest.h>

#include "test_util.h"
#include "util/error.h"

using ops::DType;
using namespace ops_test;

namespace {

TEST(Convert, QuantizeRowsEqualsRowByRowReference) {
  util::ThreadPool pool(2);
  const int64_t k = 512, n = 37;
  const auto x = gaussian(k * n, 3);
  for (DType t : dot_types()) {
    std::vector<uint8_t> got(ops::row_bytes(t, k) * n);
    ops::quantize_rows(t, x.data(), got.data(), k, n, pool);
    const auto want = quantize(t, x);  // whole buffer at once: same blocks, same bytes
    ASSERT_EQ(got, want) << ops::type_info(uint32_t(t))->name;
  }
}

TEST(Convert, F16ToQ4KMatchesQuantizingTheF16Values) {
  util::ThreadPool pool(2);
  const int64_t k = 256, n = 20;
  const auto x = gaussian(k * n, 4);
  const auto h = quantize(DType::F16, x);
  const auto hf = dequantize(DType::F16, h.data(), k * n);
  std::vector<uint8_t> got(ops::row_bytes(DType::Q4_K, k) * n);
  ops::convert_rows(DType::F16, h.data(), DType::Q4_K, got.data(), k, n, pool);
  EXPECT_EQ(got, quantize(DType::Q4_K, hf));
  // Same type: plain copy.
  std::vector<uint8_t> copy(h.size());
  ops::convert_rows(DType::F16, h.data(), DType::F16, copy.data(), k, n, pool);
  EXPECT_EQ(copy, h);
}

TEST(Convert, RejectsBadRowLengthAndUnsupportedTypes) {
  util::ThreadPool pool(1);
  std::vector<float> x(300);
  std::vector<uint8_t> out(1024);
  EXPECT_THROW(ops::quantize_rows(DType::Q4_K, x.data(), out.data(), 300, 1, pool), util::Error);
  EXPECT_THROW(ops::quantize_rows(DType::IQ2_XS, x.data(), out.data(), 256, 1, pool), util::Error);
}

}  // namespace
