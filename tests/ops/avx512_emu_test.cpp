// The AVX-512 VNNI kernels of the 32-element block types (Q4_0 .. Q8_0, MXFP4: vec_dot and
// the gemm tiles, including the pair tails of rows like gpt-oss's 2880) against their scalar
// twins on any AVX2 machine: their sources are compiled here for AVX2 with the AVX-512
// intrinsics replaced by the lane-by-lane stand-ins of avx512_emu.h. The kernel logic (layouts,
// permutes, offsets, tails) is what is tested; simd_twin_test.cpp runs the real instructions
// where the CPU has them.
#include <gtest/gtest.h>
#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "ops/kernels_impl.h"
#include "ops/types.h"
#include "test_util.h"

// (Built with -Wno-psabi, see CMakeLists.txt: 64-byte vectors are passed by value here.)
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
// The kernel sources check the ISA macros; g++ lexes a whole file before it applies the
// target pragma, so they are set here by hand (this file only).
#ifndef __AVX2__
#define __AVX2__ 1
#define __FMA__ 1
#define __F16C__ 1
#endif
// clang-format off
#include "ops/x86/simd_avx2.h"
#include "ops/avx512_emu.h"
#define avx512vnni avx512emu
#include "ops/x86/dot_q_avx512.cpp"
#include "ops/x86/gemm_q_avx512.cpp"
#undef avx512vnni
// clang-format on
#pragma GCC pop_options

namespace {

using ops::DType;
using ops_test::block_bytes;

using DotFn = void (*)(int64_t, float*, const void*, const void*);
using GemmFn = void (*)(int64_t, int, int, const void*, size_t, const void*, size_t, float*,
                        int64_t);

struct Emu {
  DType t;
  DotFn dot;
  GemmFn gemm;
};

const Emu kEmu[] = {
    {DType::Q4_0, ops::avx512emu::vec_dot_q4_0_q8_0, ops::avx512emu::gemm_q4_0_q8_0},
    {DType::Q4_1, ops::avx512emu::vec_dot_q4_1_q8_0, ops::avx512emu::gemm_q4_1_q8_0},
    {DType::Q5_0, ops::avx512emu::vec_dot_q5_0_q8_0, ops::avx512emu::gemm_q5_0_q8_0},
    {DType::Q5_1, ops::avx512emu::vec_dot_q5_1_q8_0, ops::avx512emu::gemm_q5_1_q8_0},
    {DType::Q8_0, ops::avx512emu::vec_dot_q8_0_q8_0, ops::avx512emu::gemm_q8_0_q8_0},
    {DType::MXFP4, ops::avx512emu::vec_dot_mxfp4_q8_0, ops::avx512emu::gemm_mxfp4_q8_0},
};

// Weight rows: the scalar quantizer on Gaussian data, or raw random bytes with sane scales
// (fp16 fields in [-0.1, 0.1], e8m0 exponents 2^-10..2^8, or subnormal e = 0/1 when `tiny`).
std::vector<uint8_t> weights(DType t, int64_t n, int rows, bool raw, bool tiny, std::mt19937& rng) {
  std::vector<uint8_t> w;
  std::normal_distribution<float> g(0.0f, 1.0f);
  for (int r = 0; r < rows; r++) {
    std::vector<uint8_t> row(ops::row_bytes(t, n));
    if (!raw) {
      std::vector<float> x(n);
      for (auto& v : x) v = g(rng);
      ops::scalar_table()[t].quantize_row(x.data(), row.data(), n);
    } else {
      for (auto& b : row) b = static_cast<uint8_t>(rng());
      std::uniform_real_distribution<float> sc(-0.1f, 0.1f);
      std::uniform_int_distribution<int> e(118, 136);
      for (size_t bl = 0; bl < row.size(); bl += block_bytes(t)) {
        if (t == DType::Q8_0) {
          for (size_t j = 2; j < 34; j++)
            if (row[bl + j] == 0x80) row[bl + j] = 0x81;  // quantizers never emit -128
        }
        for (size_t off : ops_test::f16_fields(t)) {
          const ops::f16_t h = ops::fp32_to_fp16(tiny ? 0.0f : sc(rng));
          std::memcpy(&row[bl + off], &h, 2);
        }
        if (t == DType::MXFP4) row[bl] = static_cast<uint8_t>(tiny ? rng() % 2 : e(rng));
      }
    }
    w.insert(w.end(), row.begin(), row.end());
  }
  return w;
}

std::vector<uint8_t> acts(int64_t n, int rows, std::mt19937& rng) {
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<uint8_t> a;
  for (int r = 0; r < rows; r++) {
    std::vector<float> x(n);
    for (auto& v : x) v = g(rng);
    std::vector<uint8_t> row(ops::row_bytes(DType::Q8_0, n));
    ops::scalar_table()[DType::Q8_0].quantize_row(x.data(), row.data(), n);
    a.insert(a.end(), row.begin(), row.end());
  }
  return a;
}

double abs_terms(DType t, const uint8_t* w, const uint8_t* a, int64_t n) {
  const auto wd = ops_test::dequantize(t, w, n);
  const auto ad = ops_test::dequantize(DType::Q8_0, a, n);
  return ops_test::abs_dot_d(wd, ad);
}

bool has_avx2() { return ops::detected_isa() >= ops::Isa::kAvx2; }

}  // namespace

TEST(Avx512Emu, VecDotMatchesScalar) {
  if (!has_avx2()) GTEST_SKIP() << "the emulated kernels are compiled for AVX2";
  std::mt19937 rng(77);
  for (const Emu& e : kEmu) {
    const auto& ref = ops::scalar_table()[e.t];
    for (int64_t n : {32, 64, 96, 160, 256, 288, 512, 2048, 2880, 8192}) {
      for (int fill = 0; fill < 3; fill++) {
        const auto w = weights(e.t, n, 1, fill > 0, fill == 2, rng);
        const auto a = acts(n, 1, rng);
        float want = 0, got = -12345;
        ref.vec_dot(n, &want, w.data(), a.data());
        e.dot(n, &got, w.data(), a.data());
        EXPECT_NEAR(got, want, 2e-6 * abs_terms(e.t, w.data(), a.data(), n) + 1e-30)
            << ops_test::type_name(e.t) << " n=" << n << " fill=" << fill;
      }
    }
  }
}

// Every tile path (8-token tiles with 1 and 4-row variants, single tokens, ragged ends) and
// row lengths with no tail (256, 2048), pair tails after whole groups (2880 = 90 blocks,
// 320 = 10) or without any group (64, 192), and odd block counts (96, 224: plain dots).
TEST(Avx512Emu, GemmMatchesScalarDots) {
  if (!has_avx2()) GTEST_SKIP() << "the emulated kernels are compiled for AVX2";
  std::mt19937 rng(78);
  int checked = 0;
  for (const Emu& e : kEmu) {
    for (int64_t n : {256, 2048, 2880, 320, 64, 192, 96, 224}) {
      for (auto [nr, nt] : {std::pair{1, 1}, {5, 1}, {9, 1}, {3, 8}, {7, 9}, {2, 13}, {5, 17}}) {
        const bool raw = (nr + nt + n / 32) % 2 == 1;
        const auto w = weights(e.t, n, nr, raw, false, rng);
        const auto a = acts(n, nt, rng);
        const size_t ws = ops::row_bytes(e.t, n), as = ops::row_bytes(DType::Q8_0, n);
        const int64_t ldy = nr + 2;
        std::vector<float> y(ldy * nt, -777.0f);
        e.gemm(n, nr, nt, w.data(), ws, a.data(), as, y.data(), ldy);
        checked += ops_test::expect_gemm_matches_dots(e.t, n, nr, nt, w.data(), ws, a.data(), as,
                                                      y.data(), ldy, ops_test::type_name(e.t));
      }
    }
  }
  EXPECT_GT(checked, 1000);
}
