// The AVX-512 VNNI builds of the 8-row tiles (gemm_tiles_avx512.cpp) against the scalar twins on
// any AVX2 machine: the file is compiled here for AVX2 with vpdpbusd replaced by a lane-by-lane
// stand-in, so the VNNI paths of tiles_avx2.h and tiles_k_avx2.h (per-unit int32 sums, int32
// scales, the unpack's offset share) are checked where CI has no AVX-512. simd_twin_test.cpp runs
// the real instructions where the CPU has them.
#include <gtest/gtest.h>
#include <immintrin.h>

#include <cstring>
#include <random>
#include <vector>

#include "ops/kernels_impl.h"
#include "ops/types.h"
#include "test_util.h"

// (Built with -Wno-psabi, see CMakeLists.txt: 32-byte vectors are passed by value here.)
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
// g++ lexes a whole file before it applies the target pragma: the ISA macros the kernel headers
// check are set by hand (this file only), VNNI and VL included to select the vpdpbusd builds.
#ifndef __AVX2__
#define __AVX2__ 1
#define __FMA__ 1
#define __F16C__ 1
#endif
#define __AVX512VNNI__ 1
#define __AVX512VL__ 1
namespace {
// vpdpbusd on 8 lanes: src + sum of 4 (unsigned byte of a) * (signed byte of b) per lane.
inline __m256i emu_dpbusd256(__m256i src, __m256i a, __m256i b) {
  int32_t s[8];
  uint8_t u[32];
  int8_t v[32];
  std::memcpy(s, &src, 32);
  std::memcpy(u, &a, 32);
  std::memcpy(v, &b, 32);
  for (int i = 0; i < 8; i++) {
    for (int k = 0; k < 4; k++) s[i] += int32_t(u[4 * i + k]) * int32_t(v[4 * i + k]);
  }
  __m256i r;
  std::memcpy(&r, s, 32);
  return r;
}
}  // namespace
// clang-format off
#undef _mm256_dpbusd_epi32  // a macro in some GCC versions (avxvnniintrin.h)
#define _mm256_dpbusd_epi32 emu_dpbusd256
#define avx512vnni vnniemu
#include "ops/x86/gemm_tiles_avx512.cpp"
#undef avx512vnni
// The rows packed by 8 (gemm_x8_avx2.cpp) in their vpdpbusd build, as gemm_x8_avxvnni.cpp
// compiles them for AVX-VNNI CPUs.
namespace ops::x8emu { using namespace ::ops::avx2; }
#define avx2 x8emu
#include "ops/x86/gemm_x8_avx2.cpp"
#undef avx2
#undef _mm256_dpbusd_epi32
// clang-format on
#undef __AVX512VNNI__
#undef __AVX512VL__
#pragma GCC pop_options

namespace {

using ops::DType;
using GemmFn = void (*)(int64_t, int, int, const void*, size_t, const void*, size_t, float*,
                        int64_t);

struct Case {
  DType t;
  GemmFn gemm;
};

const Case kCases[] = {
    {DType::Q4_0, ops::vnniemu::tiles_q4_0_q8_0},   {DType::Q8_0, ops::vnniemu::tiles_q8_0_q8_0},
    {DType::MXFP4, ops::vnniemu::tiles_mxfp4_q8_0}, {DType::Q2_K, ops::vnniemu::tiles_q2_k_q8_k},
    {DType::Q3_K, ops::vnniemu::tiles_q3_k_q8_k},   {DType::Q4_K, ops::vnniemu::tiles_q4_k_q8_k},
    {DType::Q5_K, ops::vnniemu::tiles_q5_k_q8_k},   {DType::Q6_K, ops::vnniemu::tiles_q6_k_q8_k},
};

// n values per row, quantized by the scalar quantizer from Gaussian data.
std::vector<uint8_t> rows(DType t, int64_t n, int count, std::mt19937& rng) {
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<uint8_t> out;
  for (int r = 0; r < count; r++) {
    std::vector<float> x(n);
    for (auto& v : x) v = g(rng);
    std::vector<uint8_t> row(ops::row_bytes(t, n));
    ops::scalar_table()[t].quantize_row(x.data(), row.data(), n);
    out.insert(out.end(), row.begin(), row.end());
  }
  return out;
}

// nr rows of n values against nt activation rows through gemm (the rows packed by `pack`
// first, when given), every output against the scalar dots; returns how many were checked.
int gemm_matches_dots(DType t, GemmFn gemm, void (*pack)(const void*, void*, int64_t, int64_t),
                      int64_t n, int nr, int nt, std::mt19937& rng) {
  const DType act = ops::scalar_table()[t].act_type;
  const auto w = rows(t, n, nr, rng);
  std::vector<uint8_t> packed;
  if (pack != nullptr) {
    packed.resize(w.size());
    pack(w.data(), packed.data(), n, nr);
  }
  const auto a = rows(act, n, nt, rng);
  const size_t ws = ops::row_bytes(t, n), as = ops::row_bytes(act, n);
  const int64_t ldy = nr + 2;
  std::vector<float> y(ldy * nt, -777.0f);
  gemm(n, nr, nt, pack != nullptr ? packed.data() : w.data(), ws, a.data(), as, y.data(), ldy);
  return ops_test::expect_gemm_matches_dots(t, n, nr, nt, w.data(), ws, a.data(), as, y.data(),
                                            ldy, ops_test::type_name(t));
}

}  // namespace

// Whole groups (8, 16 rows), a group plus leftover rows (11: AVX2 dots), token counts across the
// 4-token tiles and the 32-token blocks (8, 9, 37), rows of one and of several 256-blocks.
TEST(VnniTilesEmu, MatchScalarDots) {
  if (ops::detected_isa() < ops::Isa::kAvx2) GTEST_SKIP() << "compiled for AVX2";
  std::mt19937 rng(91);
  int checked = 0;
  for (const Case& c : kCases) {
    for (int64_t n : {256, 768, 2048}) {
      for (auto [nr, nt] : {std::pair{8, 8}, {16, 9}, {11, 37}})
        checked += gemm_matches_dots(c.t, c.gemm, nullptr, n, nr, nt, rng);
    }
  }
  EXPECT_GT(checked, 5000);
}

// The packed-by-8 kernels' vpdpbusd build (what AVX-VNNI CPUs run for Q4_0 and MXFP4): rows
// packed by the AVX2 packer, every token count from one to past the tiles, against the scalar
// dots.
TEST(VnniTilesEmu, PackedRowsMatchScalarDots) {
  if (ops::detected_isa() < ops::Isa::kAvx2) GTEST_SKIP() << "compiled for AVX2";
  std::mt19937 rng(92);
  struct Packed {
    DType t;
    void (*pack)(const void*, void*, int64_t, int64_t);
    GemmFn gemm8;
  };
  int checked = 0;
  for (const Packed& c : {Packed{DType::Q4_0, ops::avx2::pack8_q4_0, ops::x8emu::gemm8_q4_0_q8_0},
                          Packed{DType::MXFP4, ops::avx2::pack8_mxfp4,
                                 ops::x8emu::gemm8_mxfp4_q8_0}}) {
    for (int64_t n : {256, 2048}) {
      for (int nt : {1, 3, 8, 9, 37})
        checked += gemm_matches_dots(c.t, c.gemm8, c.pack, n, 16, nt, rng);
    }
  }
  EXPECT_GT(checked, 1000);
}
