// SIMD kernels (src/ops/x86) against their scalar twins: every dot type and every ISA this CPU
// runs, random and extreme data (raw random weight bytes, -8/15 nibbles, +-127 activations,
// zero or subnormal scales), row lengths from one block to 8192. Activation quantizers must be
// bit-exact.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <random>
#include <vector>

#include "ops/kernels_impl.h"
#include "ops/types.h"
#include "ops/x86/x86_kernels.h"
#include "test_util.h"

namespace {

using ops_test::block_bytes;
using ops_test::f16_fields;

using ops::DType;
using ops::Isa;

const std::vector<DType>& simd_dot_types() {
  static const std::vector<DType> k = {DType::F32,   DType::F16,  DType::BF16,   DType::Q4_0,
                                       DType::Q4_1,  DType::Q5_0, DType::Q5_1,   DType::Q8_0,
                                       DType::MXFP4, DType::Q2_K, DType::Q3_K,   DType::Q4_K,
                                       DType::Q5_K,  DType::Q6_K, DType::IQ4_NL, DType::IQ4_XS};
  return k;
}

std::vector<Isa> simd_isas() {
  std::vector<Isa> v;
  for (int i = 1; i <= static_cast<int>(ops::detected_isa()); i++) v.push_back(static_cast<Isa>(i));
  return v;
}

int64_t bsize(DType t) { return ops::type_info(static_cast<uint32_t>(t))->block_size; }

enum class Fill { kGaussian, kRawBytes, kExtreme, kZeroScales };

// A weight row of n elements of type t.
std::vector<uint8_t> make_weights(DType t, int64_t n, Fill fill, std::mt19937& rng) {
  const auto& k = ops::scalar_table()[t];
  std::vector<uint8_t> w(ops::row_bytes(t, n));
  std::normal_distribution<float> g(0.0f, 1.0f);
  if (t == DType::F32 || t == DType::F16 || t == DType::BF16 || fill == Fill::kGaussian) {
    std::vector<float> x(n);
    for (auto& v : x) v = g(rng);
    if (fill == Fill::kExtreme) {
      for (int64_t i = 0; i < n; i += 3) x[i] = (i % 2 ? 6.0e4f : -6.0e4f);
    }
    k.quantize_row(x.data(), w.data(), n);
    return w;
  }
  std::uniform_int_distribution<int> byte(0, 255);
  for (auto& b : w)
    b = static_cast<uint8_t>(fill == Fill::kExtreme ? (byte(rng) < 128 ? 0x00 : 0xff) : byte(rng));
  if (t == DType::Q8_0) {  // weight quantizers never emit -128 either
    for (size_t bl = 0; bl < w.size(); bl += block_bytes(t)) {
      for (size_t j = 2; j < 34; j++) {
        if (w[bl + j] == 0x80) w[bl + j] = 0x81;
        if (fill == Fill::kExtreme) w[bl + j] = (w[bl + j] & 0x80) ? 0x81 : 0x7f;
      }
    }
  }
  if (t == DType::MXFP4) {  // e8m0 exponents: 2^-10..2^8, or e = 0/1 (float subnormal scales)
    std::uniform_int_distribution<int> e(118, 136);
    for (size_t bl = 0; bl < w.size(); bl += block_bytes(t))
      w[bl] = static_cast<uint8_t>(fill == Fill::kZeroScales ? (bl / block_bytes(t)) % 2 : e(rng));
  }
  std::uniform_real_distribution<float> sc(-0.1f, 0.1f);
  for (size_t bl = 0; bl < w.size(); bl += block_bytes(t)) {
    for (size_t off : f16_fields(t)) {
      const float v = fill == Fill::kZeroScales && off == f16_fields(t)[0] ? 0.0f : sc(rng);
      const ops::f16_t h = ops::fp32_to_fp16(v);
      std::memcpy(&w[bl + off], &h, 2);
    }
  }
  return w;
}

// An activation row (act_type of t) quantized from random floats by the scalar quantizer, or
// for kExtreme made of +-127 codes directly.
std::vector<uint8_t> make_acts(DType act, int64_t n, Fill fill, std::mt19937& rng) {
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> x(n);
  for (auto& v : x) v = g(rng);
  if (fill == Fill::kExtreme) {
    for (int64_t i = 0; i < n; i++) x[i] = (rng() & 1) ? 1.0f : -1.0f;
  }
  if (fill == Fill::kZeroScales) {
    for (int64_t i = 0; i < std::min<int64_t>(n, 256); i++) x[i] = 0.0f;
  }
  std::vector<uint8_t> a(ops::row_bytes(act, n));
  ops::scalar_table()[act].quantize_row(x.data(), a.data(), n);
  return a;
}

// Sum of |w_i * a_i| over the dequantized rows: the scale of float-rounding differences.
double abs_terms(DType t, DType act, const std::vector<uint8_t>& w, const std::vector<uint8_t>& a,
                 int64_t n) {
  std::vector<float> wf(n), af(n);
  ops::scalar_table()[t].dequantize_row(w.data(), wf.data(), n);
  if (act == DType::F32) {
    std::memcpy(af.data(), a.data(), n * 4);
  } else {
    ops::scalar_table()[act].dequantize_row(a.data(), af.data(), n);
  }
  double s = 0;
  for (int64_t i = 0; i < n; i++) s += std::fabs(double(wf[i]) * af[i]);
  return s;
}

TEST(SimdTwin, VecDotMatchesScalarEveryTypeIsaAndLength) {
  if (ops::detected_isa() == Isa::kScalar) GTEST_SKIP() << "no SIMD ISA on this CPU";
  std::mt19937 rng(1234);
  int checked = 0;
  for (DType t : simd_dot_types()) {
    const auto& ref = ops::scalar_table()[t];
    const DType act = ref.act_type;
    std::vector<int64_t> lengths = {256, 512, 2048, 8192, 768};
    if (bsize(t) == 32) lengths.insert(lengths.end(), {32, 64, 96, 160});
    if (bsize(t) == 1) lengths.insert(lengths.end(), {1, 7, 8, 31, 33, 100, 1000});
    for (int64_t n : lengths) {
      for (Fill fill : {Fill::kGaussian, Fill::kRawBytes, Fill::kExtreme, Fill::kZeroScales}) {
        const auto w = make_weights(t, n, fill, rng);
        const auto a = make_acts(act, n, fill, rng);
        float want = 0;
        ref.vec_dot(n, &want, w.data(), a.data());
        const double tol = 2e-6 * abs_terms(t, act, w, a, n) + 1e-30;
        for (Isa isa : simd_isas()) {
          const ops::Kernels* k = ops::kernels(t, isa);
          ASSERT_NE(k, nullptr);
          ASSERT_EQ(k->act_type, act);
          ASSERT_NE(k->vec_dot, ref.vec_dot) << "no SIMD kernel registered";
          float got = -12345;
          k->vec_dot(n, &got, w.data(), a.data());
          EXPECT_NEAR(got, want, tol)
              << ops::type_info(static_cast<uint32_t>(t))->name << " isa=" << ops::isa_name(isa)
              << " n=" << n << " fill=" << static_cast<int>(fill);
          checked++;
        }
      }
    }
  }
  EXPECT_GT(checked, 0);
}

// Guards the test above against a tolerance so loose it hides bugs: a kernel that is wrong in
// one element of one block must fall outside it.
TEST(SimdTwin, ToleranceCatchesOneWrongCode) {
  std::mt19937 rng(7);
  const int64_t n = 2048;
  const auto w = make_weights(DType::Q4_0, n, Fill::kGaussian, rng);
  const auto a = make_acts(DType::Q8_0, n, Fill::kGaussian, rng);
  auto w2 = w;
  w2[2 + 18 * 10] ^= 0x01;  // one nibble of block 10 off by one
  float x = 0, y = 0;
  ops::scalar_table()[DType::Q4_0].vec_dot(n, &x, w.data(), a.data());
  ops::scalar_table()[DType::Q4_0].vec_dot(n, &y, w2.data(), a.data());
  EXPECT_GT(std::fabs(x - y), 2e-6 * abs_terms(DType::Q4_0, DType::Q8_0, w, a, n));
}

// nr weight rows of type t and nt activation rows of its activation type, n values each.
struct TileProblem {
  DType t;
  int64_t n;
  int nr, nt;
  size_t ws, as;  // row bytes
  std::vector<uint8_t> w, a;
};

TileProblem make_problem(DType t, int64_t n, int nr, int nt, Fill fill, std::mt19937& rng) {
  const DType act = ops::scalar_table()[t].act_type;
  TileProblem p{t, n, nr, nt, ops::row_bytes(t, n), ops::row_bytes(act, n), {}, {}};
  for (int r = 0; r < nr; r++) {
    const auto row = make_weights(t, n, fill, rng);
    p.w.insert(p.w.end(), row.begin(), row.end());
  }
  for (int i = 0; i < nt; i++) {
    const auto row = make_acts(act, n, fill, rng);
    p.a.insert(p.a.end(), row.begin(), row.end());
  }
  return p;
}

// A tile kernel's output y (ldy = nr + 3, filled with -777 before the call) against the scalar
// dot of every (row, token) pair: ldy > nr so a transposed or mis-strided store shows.
void check_tile(const TileProblem& p, const std::vector<float>& y, Isa isa, const char* kernel,
                int* checked) {
  const auto& ref = ops::scalar_table()[p.t];
  const int64_t ldy = p.nr + 3;
  for (int i = 0; i < p.nt; i++) {
    for (int r = 0; r < ldy; r++) {
      if (r >= p.nr) {
        ASSERT_EQ(y[i * ldy + r], -777.0f) << kernel << " wrote outside its tile";
        continue;
      }
      const std::vector<uint8_t> wr(p.w.begin() + r * p.ws, p.w.begin() + (r + 1) * p.ws);
      const std::vector<uint8_t> ar(p.a.begin() + i * p.as, p.a.begin() + (i + 1) * p.as);
      float want = 0;
      ref.vec_dot(p.n, &want, wr.data(), ar.data());
      EXPECT_NEAR(y[i * ldy + r], want, 2e-6 * abs_terms(p.t, ref.act_type, wr, ar, p.n) + 1e-30)
          << ops::type_info(static_cast<uint32_t>(p.t))->name << " isa=" << ops::isa_name(isa)
          << " n=" << p.n << " nr=" << p.nr << " nt=" << p.nt << " r=" << r << " t=" << i;
      (*checked)++;
    }
  }
}

// Tile kernels (Kernels::gemm) against the scalar dot of every (row, token) pair.
TEST(SimdTwin, GemmMatchesScalarDots) {
  std::mt19937 rng(4321);
  int checked = 0;
  for (DType t : simd_dot_types()) {
    for (Isa isa : simd_isas()) {
      const ops::Kernels* k = ops::kernels(t, isa);
      if (k->gemm == nullptr) continue;
      // 192 and 2880 (gpt-oss) end in pairs of blocks after the groups of 8; 224 is odd.
      for (int64_t n : {256, 2048, 96, 100, 192, 224, 2880}) {
        if (n % bsize(t) != 0) continue;
        for (auto [nr, nt] : {std::pair{1, 1},
                              {5, 1},
                              {64, 1},
                              {3, 4},
                              {7, 9},
                              {2, 13},
                              {4, 16},
                              {5, 17},
                              {6, 71},
                              // 8-row interleaved tiles (>= 8 tokens): whole groups, groups
                              // plus leftover rows, token tails of 1-3 and 32-token blocks.
                              {8, 8},
                              {16, 37},
                              {27, 11},
                              {8, 70},
                              // Float weights' packed panels (>= 12 tokens): a full panel
                              // and a partial one, k slices with a short last one (2880).
                              {21, 12}}) {
          const Fill fill = (nr + nt) % 2 ? Fill::kGaussian : Fill::kRawBytes;
          const TileProblem p = make_problem(t, n, nr, nt, fill, rng);
          std::vector<float> y((nr + 3) * nt, -777.0f);
          k->gemm(n, nr, nt, p.w.data(), p.ws, p.a.data(), p.as, y.data(), nr + 3);
          check_tile(p, y, isa, "gemm", &checked);
        }
      }
    }
  }
  // AVX2 has tiles for Q4_0, Q8_0, MXFP4 (32-token blocks: nt 71 crosses two) and the float types.
  if (ops::detected_isa() >= Isa::kAvx2) {
    EXPECT_GT(checked, 0);
  }
}

// Rows packed by 8 at load (Kernels::pack8, run by gemm8) against the scalar dot of every
// plain (row, token) pair: one token (decode) to prompt batches, every fill.
TEST(SimdTwin, PackedRowsMatchScalarDots) {
  std::mt19937 rng(97);
  int checked = 0;
  for (DType t : simd_dot_types()) {
    for (Isa isa : simd_isas()) {
      const ops::Kernels* k = ops::kernels(t, isa);
      if (k->pack8 == nullptr) continue;
      ASSERT_NE(k->gemm8, nullptr);
      for (int64_t n : {32, 96, 256, 2880, 512, 2048}) {
        if (n % ops::type_info(static_cast<uint32_t>(t))->block_size != 0) continue;
        for (auto [nr, nt] : {std::pair{8, 1},
                              {16, 1},
                              {8, 2},
                              {16, 3},
                              {8, 4},
                              {24, 5},
                              {8, 7},
                              {16, 8},
                              {8, 9},
                              {16, 37},
                              {8, 70},
                              {32, 2},
                              {48, 4},
                              {32, 6}}) {
          if (nr % k->pack_rows != 0) continue;
          const Fill fill = static_cast<Fill>((nr + nt + n) % 4);
          const TileProblem p = make_problem(t, n, nr, nt, fill, rng);
          std::vector<uint8_t> packed(p.w.size(), 0);
          k->pack8(p.w.data(), packed.data(), n, nr);
          if (k->unpack8 != nullptr) {  // every row comes back byte for byte
            std::vector<uint8_t> row(p.ws);
            for (int r = 0; r < nr; r++) {
              k->unpack8(packed.data() + (r / k->pack_rows) * k->pack_rows * p.ws,
                         r % k->pack_rows, row.data(), n);
              ASSERT_EQ(0, std::memcmp(row.data(), p.w.data() + r * p.ws, p.ws))
                  << ops::type_info(static_cast<uint32_t>(t))->name << " row " << r << " n " << n;
            }
          }
          std::vector<float> y((nr + 3) * nt, -777.0f);
          k->gemm8(n, nr, nt, packed.data(), p.ws, p.a.data(), p.as, y.data(), nr + 3);
          check_tile(p, y, isa, "gemm8", &checked);
        }
      }
    }
  }
  if (ops::detected_isa() >= Isa::kAvx2) {
    EXPECT_GT(checked, 0);  // MXFP4 and Q4_0 pack on AVX2 and AVX-512 VNNI
  }
}

// Every e8m0 scale byte through the packed MXFP4 kernels, exactly: one product of 1.0 (code
// 2) with an activation of 1 * 2^0 per row, so the result is the scale itself.
TEST(SimdTwin, PackedMxfp4ScalesAreExactForEveryExponent) {
  const int64_t n = 32;
  const size_t ws = ops::row_bytes(DType::MXFP4, n);
  std::vector<uint8_t> w(256 * ws, 0), a(ops::row_bytes(DType::Q8_0, n), 0);
  for (int e = 0; e < 256; e++) {
    w[e * ws] = static_cast<uint8_t>(e);
    w[e * ws + 1] = 0x02;  // element 0: code 2 (1.0)
  }
  const ops::f16_t one = ops::fp32_to_fp16(1.0f);
  std::memcpy(a.data(), &one, 2);
  a[2] = 1;
  int checked = 0;
  for (Isa isa : simd_isas()) {
    const ops::Kernels* k = ops::kernels(DType::MXFP4, isa);
    if (k->pack8 == nullptr) continue;
    std::vector<uint8_t> packed(w.size());
    k->pack8(w.data(), packed.data(), n, 256);
    for (int nt : {1, 8}) {  // the decode tile and the prompt path's unpack
      std::vector<uint8_t> acts;
      for (int t = 0; t < nt; t++) acts.insert(acts.end(), a.begin(), a.end());
      std::vector<float> y(256 * nt);
      k->gemm8(n, 256, nt, packed.data(), ws, acts.data(), a.size(), y.data(), 256);
      for (int e = 0; e < 256; e++) {
        float want = 0;
        ops::scalar_table()[DType::MXFP4].vec_dot(n, &want, w.data() + e * ws, a.data());
        ASSERT_EQ(y[(nt - 1) * 256 + e], want) << "e=" << e << " nt=" << nt;
        checked++;
      }
    }
  }
  // Every SIMD tier packs MXFP4 (by 8 on AVX2 and AVX-512 F, by 16 from VNNI on).
  EXPECT_EQ(checked, 512 * static_cast<int>(simd_isas().size()));
}

TEST(SimdTwin, ActivationQuantizersAreBitExact) {
  if (ops::detected_isa() == Isa::kScalar) GTEST_SKIP() << "no SIMD ISA on this CPU";
  std::mt19937 rng(99);
  std::normal_distribution<float> g(0.0f, 3.0f);
  for (DType act : {DType::Q8_0, DType::Q8_K}) {
    for (int64_t n : {256, 2048, 8192}) {
      for (int variant = 0; variant < 4; variant++) {
        std::vector<float> x(n);
        for (auto& v : x) v = g(rng);
        if (variant == 1) std::fill(x.begin(), x.begin() + 256, 0.0f);  // zero blocks
        if (variant == 2) {  // exact .5 ties after scaling: amax 127 -> id 1
          for (int64_t i = 0; i < n; i++)
            x[i] = (i % 32 == 0) ? 127.0f : float(int(i % 254) - 127) + 0.5f;
          for (int64_t i = 0; i < n; i++)
            if (x[i] > 127.0f || x[i] < -127.0f) x[i] = 0.5f;
        }
        if (variant == 3) {
          for (auto& v : x) v *= 1e-30f;  // tiny scales
        }
        std::vector<uint8_t> want(ops::row_bytes(act, n)), got(want.size());
        ops::scalar_table()[act].quantize_row(x.data(), want.data(), n);
        for (Isa isa : simd_isas()) {
          std::fill(got.begin(), got.end(), 0xcd);
          ops::kernels(act, isa)->quantize_row(x.data(), got.data(), n);
          EXPECT_EQ(0, std::memcmp(want.data(), got.data(), want.size()))
              << ops::type_info(static_cast<uint32_t>(act))->name << " isa=" << ops::isa_name(isa)
              << " n=" << n << " variant=" << variant;
        }
      }
    }
  }
}

// The AVX-VNNI builds of the AVX2 tiles serve exactly where the CPU has AVX-VNNI and nothing
// better: the CPUID bit agrees with the kernel's own view (/proc/cpuinfo's avx_vnni flag),
// and the AVX2 table holds the AVX-VNNI tiles exactly then. (The tiles' vpdpbusd paths are
// held to the scalar twins by vnni_tiles_emu_test.cpp here and by the tests above on such a
// CPU.)
TEST(SimdTwin, AvxVnniTilesServeExactlyWhereTheCpuHasAvxVnniAndNoAvx512) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  bool flag = false, seen = false;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    seen = true;
    flag = (line + " ").find(" avx_vnni ") != std::string::npos;
    break;
  }
  if (!seen) GTEST_SKIP() << "no /proc/cpuinfo flags";
  if (ops::detected_isa() < Isa::kAvx2) GTEST_SKIP() << "no AVX2";
  if (std::getenv("OLLAMA_CPU_ISA") != nullptr) GTEST_SKIP() << "the ISA is capped";
  EXPECT_EQ(ops::cpu_has_avx_vnni(), flag);
  EXPECT_EQ(ops::avx2_tiles_use_vnni(), flag && ops::detected_isa() == Isa::kAvx2);
  EXPECT_EQ(ops::kernels(DType::Q4_K, Isa::kAvx2)->gemm == &ops::avxvnni::gemm_q4_k_q8_k,
            ops::avx2_tiles_use_vnni());
  EXPECT_EQ(ops::kernels(DType::Q8_0, Isa::kAvx2)->gemm == &ops::avxvnni::gemm_q8_0_q8_0,
            ops::avx2_tiles_use_vnni());
  EXPECT_EQ(ops::kernels(DType::Q4_0, Isa::kAvx2)->gemm8 == &ops::avxvnni::gemm8_q4_0_q8_0,
            ops::avx2_tiles_use_vnni());
}

}  // namespace
