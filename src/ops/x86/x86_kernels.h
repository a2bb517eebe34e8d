// Entry points of the x86 SIMD kernel variants (AVX2, AVX-512, AVX-512 VNNI) for the kernel table.
// Only src/ops/x86/register.cpp (baseline-compiled) wires these into KernelTable; the bodies live
// in *_avx2.cpp / *_avx512.cpp and must only run after CPUID says the ISA is present.
// Tiers: AVX2 = every dot type (MXFP4 included), gemm tiles for Q4_0/Q8_0/MXFP4, the K-quants
// and the float types, and the Q8_0/Q8_K
// activation quantizers; AVX-512 =
// float dots and float gemm tiles (4 rows x 4 tokens); AVX-512 VNNI = integer dots and row
// kernels for the legacy and K-quant types (the matmul driver prefers gemm; decode = gemm with one
// token), and for batches of >= 8 tokens the AVX2 8-row tiles rebuilt with vpdpbusd. Matrices
// of F16/BF16 (AVX-512) and Q4_0/IQ4_NL/Q8_0/MXFP4/Q4_K/Q5_K/Q6_K/IQ4_XS (VNNI) are packed by 16
// rows at load and run on the gemm16_* kernels for every batch size. On AVX2-best CPUs with
// AVX-VNNI the AVX2 tiles are their vpdpbusd builds (namespace avxvnni). AVX2 also has the
// IQ4_NL/IQ4_XS dots. Integer parts are exact; float results differ from the scalar twins by
// summation order and, where an offset is taken out as a separate term (offset codes times the
// activation sums), by that term's rounding.
#pragma once
#include <cstddef>
#include <cstdint>

#include "ops/kernels_impl.h"

namespace ops {

#define OPS_X86_DOT(name) void name(int64_t n, float* out, const void* w, const void* a)
#define OPS_X86_GEMM(name)                                                              \
  void name(int64_t n, int nr, int nt, const void* w, size_t w_stride, const void* act, \
            size_t act_stride, float* y, int64_t ldy)

namespace avx2 {
OPS_X86_DOT(vec_dot_f32);
OPS_X86_DOT(vec_dot_f16_f32);
OPS_X86_DOT(vec_dot_bf16_f32);
OPS_X86_DOT(vec_dot_q4_0_q8_0);
OPS_X86_DOT(vec_dot_q4_1_q8_0);
OPS_X86_DOT(vec_dot_q5_0_q8_0);
OPS_X86_DOT(vec_dot_q5_1_q8_0);
OPS_X86_DOT(vec_dot_q8_0_q8_0);
OPS_X86_DOT(vec_dot_mxfp4_q8_0);
OPS_X86_DOT(vec_dot_iq4_nl_q8_0);
OPS_X86_DOT(vec_dot_iq4_xs_q8_k);
OPS_X86_DOT(vec_dot_q2_k_q8_k);
OPS_X86_DOT(vec_dot_q3_k_q8_k);
OPS_X86_DOT(vec_dot_q4_k_q8_k);
OPS_X86_DOT(vec_dot_q5_k_q8_k);
OPS_X86_DOT(vec_dot_q6_k_q8_k);
OPS_X86_GEMM(gemm_q4_0_q8_0);
OPS_X86_GEMM(gemm_q8_0_q8_0);
OPS_X86_GEMM(gemm_mxfp4_q8_0);
OPS_X86_GEMM(gemm_f32);
OPS_X86_GEMM(gemm_f16_f32);
OPS_X86_GEMM(gemm_bf16_f32);
OPS_X86_GEMM(gemm_q2_k_q8_k);  // gemm_k_avx2.cpp: 8-row tiles from 8 tokens on
OPS_X86_GEMM(gemm_q3_k_q8_k);
OPS_X86_GEMM(gemm_q4_k_q8_k);
OPS_X86_GEMM(gemm_q5_k_q8_k);
OPS_X86_GEMM(gemm_q6_k_q8_k);
// MXFP4 and Q4_0 rows packed by 8 (gemm_x8_avx2.cpp).
void pack8_mxfp4(const void* src, void* dst, int64_t k, int64_t n_rows);
OPS_X86_GEMM(gemm8_mxfp4_q8_0);
void pack8_q4_0(const void* src, void* dst, int64_t k, int64_t n_rows);
void unpack8_q4_0(const void* group, int r, void* dst, int64_t k);
OPS_X86_GEMM(gemm8_q4_0_q8_0);
void quantize_row_q8_0(const float* x, void* y, int64_t n);
void quantize_row_q8_k(const float* x, void* y, int64_t n);
}  // namespace avx2

// AVX-512 F/BW/VL/DQ only (no VNNI, no BF16 instructions): float weights. The activation
// quantizers stay AVX2 (they run once per matmul, not per weight row).
namespace avx512 {
OPS_X86_DOT(vec_dot_f32);
OPS_X86_DOT(vec_dot_f16_f32);
OPS_X86_DOT(vec_dot_bf16_f32);
OPS_X86_GEMM(gemm_f32);
OPS_X86_GEMM(gemm_f16_f32);
OPS_X86_GEMM(gemm_bf16_f32);
// F16/BF16 rows packed by 16 (gemm_x16f_avx512.cpp).
void pack16_16bit(const void* src, void* dst, int64_t k, int64_t n_rows);
void unpack16_16bit(const void* group, int r, void* dst, int64_t k);
OPS_X86_GEMM(gemm16_f16_f32);
OPS_X86_GEMM(gemm16_bf16_f32);
}  // namespace avx512

// AVX-512 + VNNI (vpdpbusd): the integer dots.
namespace avx512vnni {
OPS_X86_DOT(vec_dot_q4_0_q8_0);
OPS_X86_DOT(vec_dot_q4_1_q8_0);
OPS_X86_DOT(vec_dot_q5_0_q8_0);
OPS_X86_DOT(vec_dot_q5_1_q8_0);
OPS_X86_DOT(vec_dot_q8_0_q8_0);
OPS_X86_DOT(vec_dot_mxfp4_q8_0);
OPS_X86_DOT(vec_dot_q2_k_q8_k);
OPS_X86_DOT(vec_dot_q3_k_q8_k);
OPS_X86_DOT(vec_dot_q4_k_q8_k);
OPS_X86_DOT(vec_dot_q5_k_q8_k);
OPS_X86_DOT(vec_dot_q6_k_q8_k);
OPS_X86_GEMM(gemm_q4_0_q8_0);
OPS_X86_GEMM(gemm_q4_1_q8_0);
OPS_X86_GEMM(gemm_q5_0_q8_0);
OPS_X86_GEMM(gemm_q5_1_q8_0);
OPS_X86_GEMM(gemm_q8_0_q8_0);
OPS_X86_GEMM(gemm_mxfp4_q8_0);
OPS_X86_GEMM(gemm_q4_k_q8_k);
OPS_X86_GEMM(gemm_q6_k_q8_k);
OPS_X86_GEMM(gemm_q2_k_q8_k);
OPS_X86_GEMM(gemm_q3_k_q8_k);
OPS_X86_GEMM(gemm_q5_k_q8_k);
// Q4_0, MXFP4 and Q8_0 rows packed by 16 (gemm_x16_avx512.cpp): the 16 rows in zmm lanes.
void pack16_q4_0(const void* src, void* dst, int64_t k, int64_t n_rows);
void unpack16_q4_0(const void* group, int r, void* dst, int64_t k);
OPS_X86_GEMM(gemm16_q4_0_q8_0);
OPS_X86_GEMM(gemm16_iq4_nl_q8_0);  // on pack16_q4_0's layout (IQ4_NL has Q4_0's bytes)
void pack16_mxfp4(const void* src, void* dst, int64_t k, int64_t n_rows);
void unpack16_mxfp4(const void* group, int r, void* dst, int64_t k);
OPS_X86_GEMM(gemm16_mxfp4_q8_0);
void pack16_q8_0(const void* src, void* dst, int64_t k, int64_t n_rows);
void unpack16_q8_0(const void* group, int r, void* dst, int64_t k);
OPS_X86_GEMM(gemm16_q8_0_q8_0);
void pack16_q4_k(const void* src, void* dst, int64_t k, int64_t n_rows);  // gemm_x16k_avx512.cpp
void unpack16_q4_k(const void* group, int r, void* dst, int64_t k);
OPS_X86_GEMM(gemm16_q4_k_q8_k);
void pack16_q5_k(const void* src, void* dst, int64_t k, int64_t n_rows);
void unpack16_q5_k(const void* group, int r, void* dst, int64_t k);
OPS_X86_GEMM(gemm16_q5_k_q8_k);
void pack16_iq4_xs(const void* src, void* dst, int64_t k, int64_t n_rows);
void unpack16_iq4_xs(const void* group, int r, void* dst, int64_t k);
OPS_X86_GEMM(gemm16_iq4_xs_q8_k);
void pack16_q6_k(const void* src, void* dst, int64_t k, int64_t n_rows);  // gemm_x16q6_avx512.cpp
void unpack16_q6_k(const void* group, int r, void* dst, int64_t k);
OPS_X86_GEMM(gemm16_q6_k_q8_k);
// gemm_tiles_avx512.cpp: the 8-row tiles with vpdpbusd, for batches of >= 8 tokens.
OPS_X86_GEMM(tiles_q4_0_q8_0);
OPS_X86_GEMM(tiles_q8_0_q8_0);
OPS_X86_GEMM(tiles_mxfp4_q8_0);
OPS_X86_GEMM(tiles_q2_k_q8_k);
OPS_X86_GEMM(tiles_q3_k_q8_k);
OPS_X86_GEMM(tiles_q4_k_q8_k);
OPS_X86_GEMM(tiles_q5_k_q8_k);
OPS_X86_GEMM(tiles_q6_k_q8_k);
}  // namespace avx512vnni

// AVX-VNNI builds of the AVX2 tile kernels (gemm_{q,k,x8}_avxvnni.cpp: the same sources
// recompiled with -mavxvnni, so the tiles multiply with the VEX vpdpbusd). register_avx2 puts
// them in the AVX2 table on CPUs whose best tier is AVX2 and that have AVX-VNNI (Intel's
// desktop chips since Alder Lake).
namespace avxvnni {
OPS_X86_GEMM(gemm_q4_0_q8_0);
OPS_X86_GEMM(gemm_q8_0_q8_0);
OPS_X86_GEMM(gemm_mxfp4_q8_0);
OPS_X86_GEMM(gemm_q2_k_q8_k);
OPS_X86_GEMM(gemm_q3_k_q8_k);
OPS_X86_GEMM(gemm_q4_k_q8_k);
OPS_X86_GEMM(gemm_q5_k_q8_k);
OPS_X86_GEMM(gemm_q6_k_q8_k);
OPS_X86_GEMM(gemm8_q4_0_q8_0);
OPS_X86_GEMM(gemm8_mxfp4_q8_0);
}  // namespace avxvnni

// AMX tiles (TDPBSSD for the integer types, TDPBF16PS for the float ones): gemm only, for
// prompt-sized batches; fewer tokens (or rows) than a tile go to the AVX-512 VNNI kernels.
// Bodies in *_amx.cpp; they run only after detected_isa() granted the tile state.
namespace amx {
OPS_X86_GEMM(gemm_q4_0_q8_0);
OPS_X86_GEMM(gemm_q4_1_q8_0);
OPS_X86_GEMM(gemm_q5_0_q8_0);
OPS_X86_GEMM(gemm_q5_1_q8_0);
OPS_X86_GEMM(gemm_q8_0_q8_0);
OPS_X86_GEMM(gemm_q4_k_q8_k);
OPS_X86_GEMM(gemm_q6_k_q8_k);
OPS_X86_GEMM(gemm_q2_k_q8_k);
OPS_X86_GEMM(gemm_q3_k_q8_k);
OPS_X86_GEMM(gemm_q5_k_q8_k);
OPS_X86_GEMM(gemm_f32);
OPS_X86_GEMM(gemm_f16_f32);
OPS_X86_GEMM(gemm_bf16_f32);
}  // namespace amx

#undef OPS_X86_DOT
#undef OPS_X86_GEMM

}  // namespace ops
