// AMX int8 tile gemms (src/ops/x86/gemm_q_amx.cpp) for the 32-element block types: every
// (row, token) against the scalar vec_dot over tile-sized, ragged and single-token shapes, raw
// and extreme weight bytes, zero scales, ldy > nr; and ops::matmul end to end against the
// AVX-512 VNNI kernels.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "ops/blocks.h"
#include "ops/kernels_impl.h"
#include "ops/matmul.h"
#include "ops/types.h"
#include "test_util.h"
#include "util/thread_pool.h"

namespace {

using ops_test::block_bytes;
using ops_test::type_name;

using ops::DType;
using ops::Isa;

const DType kTypes[] = {DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_0};

bool has_min(DType t) { return t == DType::Q4_1 || t == DType::Q5_1; }

enum class Fill { kGaussian, kRawBytes, kExtreme, kZeroScales };

// n_rows weight rows of n elements, one after the other.
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
  // Extreme codes: nibbles 0 / 15 (bytes 0x00 / 0xff); for Q8_0 codes -127 / 127.
  const uint8_t lo = t == DType::Q8_0 ? 0x81 : 0x00, hi = t == DType::Q8_0 ? 0x7f : 0xff;
  std::uniform_int_distribution<int> byte(0, 255);
  for (auto& b : w) {
    const int v = byte(rng);
    b = fill == Fill::kExtreme ? (v < 128 ? lo : hi) : static_cast<uint8_t>(v);
  }
  // Sane fp16 scales (random bytes could be inf/NaN); zero for every third block in kZeroScales.
  std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
  const size_t bb = block_bytes(t);
  for (size_t off = 0, i = 0; off < w.size(); off += bb, i++) {
    const bool zero = fill == Fill::kZeroScales && i % 3 == 0;
    const ops::f16_t d = ops::fp32_to_fp16(zero ? 0.0f : scale(rng));
    std::memcpy(&w[off], &d, 2);
    if (has_min(t)) {
      const ops::f16_t m = ops::fp32_to_fp16(scale(rng));
      std::memcpy(&w[off + 2], &m, 2);
    }
  }
  return w;
}

// n_tokens Q8_0 activation rows of n elements.
std::vector<uint8_t> make_acts(int64_t n, int n_tokens, Fill fill, std::mt19937& rng) {
  const size_t rb = ops::row_bytes(DType::Q8_0, n);
  std::vector<uint8_t> a(rb * n_tokens);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> x(n);
  for (int i = 0; i < n_tokens; i++) {
    for (auto& v : x) v = g(rng);
    if (fill == Fill::kExtreme) {
      for (auto& v : x) v = (rng() & 1) ? 1.0f : -1.0f;  // codes +-127
    }
    if (fill == Fill::kZeroScales) {
      for (int64_t j = 0; j < std::min<int64_t>(n, 64); j++) x[j] = 0.0f;
    }
    ops::scalar_table()[DType::Q8_0].quantize_row(x.data(), a.data() + i * rb, n);
  }
  return a;
}

std::vector<float> dequant(DType t, const uint8_t* q, int64_t n) {
  std::vector<float> v(n);
  ops::scalar_table()[t].dequantize_row(q, v.data(), n);
  return v;
}

double abs_dot(const std::vector<float>& w, const std::vector<float>& a) {
  double s = 0;
  for (size_t i = 0; i < w.size(); i++) s += std::fabs(double(w[i]) * a[i]);
  return s;
}

struct Shape {
  int64_t n;
  int nr, nt;
};

std::vector<Shape> shapes() {
  std::vector<Shape> v;
  const int nts[] = {1, 7, 8, 15, 16, 17, 33, 64, 100};
  const int nrs[] = {16, 48, 64, 5, 21};
  for (int64_t n : {32, 256}) {
    for (int nt : nts)
      for (int nr : nrs) v.push_back({n, nr, nt});
  }
  for (int nt : nts) {
    v.push_back({2048, 64, nt});
    v.push_back({2048, 21, nt});
  }
  for (int nt : {1, 16, 17, 100}) {
    v.push_back({8192, 64, nt});
    v.push_back({8192, 5, nt});
  }
  return v;
}

TEST(AmxQ, GemmMatchesScalarDots) {
  if (ops::detected_isa() < Isa::kAmx) GTEST_SKIP() << "no AMX on this CPU";
  std::mt19937 rng(2026);
  const Fill fills[] = {Fill::kRawBytes, Fill::kGaussian, Fill::kExtreme, Fill::kZeroScales};
  int checked = 0, case_i = 0;
  for (DType t : kTypes) {
    const ops::Kernels* k = ops::kernels(t, Isa::kAmx);
    ASSERT_NE(k, nullptr);
    ASSERT_NE(k->gemm, nullptr);
    const auto& ref = ops::scalar_table()[t];
    for (const Shape& s : shapes()) {
      const Fill fill = fills[case_i++ % 4];
      const size_t ws = ops::row_bytes(t, s.n), as = ops::row_bytes(DType::Q8_0, s.n);
      const auto w = make_weights(t, s.n, s.nr, fill, rng);
      const auto a = make_acts(s.n, s.nt, fill, rng);
      const int64_t ldy = s.nr + 5;
      // One spare row of y after the last token: nothing may land there either.
      std::vector<float> y(ldy * (s.nt + 1), -777.0f);
      k->gemm(s.n, s.nr, s.nt, w.data(), ws, a.data(), as, y.data(), ldy);
      std::vector<std::vector<float>> wf(s.nr), af(s.nt);
      for (int r = 0; r < s.nr; r++) wf[r] = dequant(t, w.data() + r * ws, s.n);
      for (int i = 0; i < s.nt; i++) af[i] = dequant(DType::Q8_0, a.data() + i * as, s.n);
      for (int i = 0; i <= s.nt; i++) {
        for (int r = 0; r < ldy; r++) {
          const float got = y[i * ldy + r];
          if (i == s.nt || r >= s.nr) {
            ASSERT_EQ(got, -777.0f)
                << "gemm wrote outside its tile: " << type_name(t) << " n=" << s.n << " nr=" << s.nr
                << " nt=" << s.nt << " r=" << r << " t=" << i;
            continue;
          }
          float want = 0;
          ref.vec_dot(s.n, &want, w.data() + r * ws, a.data() + i * as);
          ASSERT_NEAR(got, want, 2e-6 * abs_dot(wf[r], af[i]) + 1e-30)
              << type_name(t) << " n=" << s.n << " nr=" << s.nr << " nt=" << s.nt << " r=" << r
              << " t=" << i << " fill=" << static_cast<int>(fill);
          checked++;
        }
      }
    }
  }
  EXPECT_GT(checked, 100000);
}

// The tolerance above must catch a single wrong code: flip one nibble in a 64-row, 64-token
// product and the gemm result for that row must move outside it.
TEST(AmxQ, ToleranceCatchesOneWrongCode) {
  if (ops::detected_isa() < Isa::kAmx) GTEST_SKIP() << "no AMX on this CPU";
  std::mt19937 rng(5);
  const int64_t n = 2048;
  const int nr = 64, nt = 64;
  const size_t ws = ops::row_bytes(DType::Q4_0, n), as = ops::row_bytes(DType::Q8_0, n);
  auto w = make_weights(DType::Q4_0, n, nr, Fill::kGaussian, rng);
  const auto a = make_acts(n, nt, Fill::kGaussian, rng);
  const ops::Kernels* k = ops::kernels(DType::Q4_0, Isa::kAmx);
  std::vector<float> y0(nr * nt), y1(nr * nt);
  k->gemm(n, nr, nt, w.data(), ws, a.data(), as, y0.data(), nr);
  const int row = 37, blk = 10;
  w[row * ws + blk * block_bytes(DType::Q4_0) + 2 + 5] ^= 0x01;
  k->gemm(n, nr, nt, w.data(), ws, a.data(), as, y1.data(), nr);
  const auto wf = dequant(DType::Q4_0, w.data() + row * ws, n);
  for (int i = 0; i < nt; i++) {
    const auto af = dequant(DType::Q8_0, a.data() + i * as, n);
    const float code_term = std::fabs(y1[i * nr + row] - y0[i * nr + row]);
    // Token rows whose activation code at that position is 0 do not see the change.
    const int8_t q = reinterpret_cast<const ops::BlockQ8_0*>(a.data() + i * as)[blk].qs[5];
    if (q == 0) continue;
    EXPECT_GT(code_term, 2e-6 * abs_dot(wf, af)) << "token " << i;
  }
}

// ops::matmul with AMX against the AVX-512 VNNI path on a prompt-sized product (2 threads).
TEST(AmxQ, MatmulMatchesVnni) {
  if (ops::detected_isa() < Isa::kAmx) GTEST_SKIP() << "no AMX on this CPU";
  const int64_t k = 2048, n = 512, nt = 512;
  std::mt19937 rng(99);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> x(k * nt);
  for (auto& v : x) v = g(rng);
  std::vector<uint8_t> a(ops::row_bytes(DType::Q8_0, k) * nt);
  std::vector<std::vector<float>> af(nt);
  for (int64_t i = 0; i < nt; i++) {
    auto* ai = a.data() + i * ops::row_bytes(DType::Q8_0, k);
    ops::scalar_table()[DType::Q8_0].quantize_row(x.data() + i * k, ai, k);
    af[i] = dequant(DType::Q8_0, ai, k);
  }
  util::ThreadPool pool(2);
  for (DType t : kTypes) {
    const auto w = make_weights(t, k, static_cast<int>(n), Fill::kGaussian, rng);
    const size_t ws = ops::row_bytes(t, k);
    std::vector<float> y_amx(n * nt, -1.0f), y_vnni(n * nt, -2.0f);
    ops::matmul(w.data(), t, k, n, x.data(), nt, y_amx.data(), pool, Isa::kAmx);
    ops::matmul(w.data(), t, k, n, x.data(), nt, y_vnni.data(), pool, Isa::kAvx512Vnni);
    int bad = 0;
    for (int64_t r = 0; r < n; r++) {
      const auto wf = dequant(t, w.data() + r * ws, k);
      for (int64_t i = 0; i < nt; i++) {
        const double tol = 4e-6 * abs_dot(wf, af[i]) + 1e-30;
        if (std::fabs(double(y_amx[i * n + r]) - y_vnni[i * n + r]) > tol && bad++ < 5) {
          ADD_FAILURE() << type_name(t) << " row " << r << " token " << i << ": amx "
                        << y_amx[i * n + r] << " vnni " << y_vnni[i * n + r] << " tol " << tol;
        }
      }
    }
    EXPECT_EQ(bad, 0) << type_name(t);
  }
}

}  // namespace

namespace {

// Gemm of type t at isa on gaussian data; returns y[nt][nr] and the bound 4e-6 * sum |w_i a_i|
// per element (two kernels each within 2e-6 of the exact dot).
struct GemmRun {
  std::vector<float> y, tol;
};
GemmRun run_gemm(DType t, Isa isa, const std::vector<uint8_t>& w, const std::vector<uint8_t>& a,
                 int64_t n, int nr, int nt) {
  const ops::Kernels* k = ops::kernels(t, isa);
  const DType act = k->act_type;
  const size_t ws = ops::row_bytes(t, n), as = ops::row_bytes(act, n);
  GemmRun r{std::vector<float>(nr * nt), std::vector<float>(nr * nt)};
  k->gemm(n, nr, nt, w.data(), ws, a.data(), as, r.y.data(), nr);
  for (int i = 0; i < nt; i++) {
    const auto af = dequant(act, a.data() + i * as, n);
    for (int j = 0; j < nr; j++) {
      r.tol[i * nr + j] = static_cast<float>(4e-6 * abs_dot(dequant(t, w.data() + j * ws, n), af));
    }
  }
  return r;
}

std::vector<uint8_t> quantized_rows(DType t, int64_t n, int rows, std::mt19937& rng) {
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> x(n);
  std::vector<uint8_t> out(ops::row_bytes(t, n) * rows);
  for (int r = 0; r < rows; r++) {
    for (auto& v : x) v = g(rng);
    ops::scalar_table()[t].quantize_row(x.data(), out.data() + r * ops::row_bytes(t, n), n);
  }
  return out;
}

}  // namespace

// Other AMX kernels (K-quants, other tile shapes) run on the same thread between these gemms:
// each must load its own tile configuration again, whatever the previous kernel left loaded.
TEST(AmxQ, InterleavedWithOtherAmxKernels) {
  if (ops::detected_isa() < Isa::kAmx) GTEST_SKIP() << "no AMX on this CPU";
  std::mt19937 rng(31);
  const int64_t n = 512;
  const int nr = 32;
  const auto wq = quantized_rows(DType::Q4_0, n, nr, rng);
  const auto wk = quantized_rows(DType::Q4_K, n, nr, rng);
  const auto aq = quantized_rows(DType::Q8_0, n, 40, rng);
  const auto ak = quantized_rows(DType::Q8_K, n, 40, rng);
  for (int nt : {17, 40, 9}) {
    const auto ref_q = run_gemm(DType::Q4_0, Isa::kAvx512Vnni, wq, aq, n, nr, nt);
    const auto ref_k = run_gemm(DType::Q4_K, Isa::kAvx512Vnni, wk, ak, n, nr, nt);
    for (int round = 0; round < 2; round++) {
      const auto got_k = run_gemm(DType::Q4_K, Isa::kAmx, wk, ak, n, nr, nt);
      const auto got_q = run_gemm(DType::Q4_0, Isa::kAmx, wq, aq, n, nr, nt);
      for (int i = 0; i < nr * nt; i++) {
        ASSERT_NEAR(got_q.y[i], ref_q.y[i], ref_q.tol[i]) << "Q4_0 nt=" << nt << " i=" << i;
        ASSERT_NEAR(got_k.y[i], ref_k.y[i], ref_k.tol[i]) << "Q4_K nt=" << nt << " i=" << i;
      }
    }
  }
}
