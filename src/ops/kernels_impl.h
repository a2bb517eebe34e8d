// How ISA variants plug into the kernel table, and the scalar kernels they may reuse.
// Not for callers outside ops/ (they use kernels(t, isa) from types.h).
#pragma once
#include <cstdint>

#include "ops/blocks.h"
#include "ops/types.h"

namespace ops {

// One slot per ggml type id (DType values are < kNumTypeIds).
inline constexpr int kNumTypeIds = 40;

struct KernelTable {
  Kernels k[kNumTypeIds];
  Kernels& operator[](DType t) { return k[static_cast<uint32_t>(t)]; }
  const Kernels& operator[](DType t) const { return k[static_cast<uint32_t>(t)]; }
};

// ISA registration (implemented in src/ops/x86/ by the SIMD variants). The table for an ISA
// starts as a copy of the next lower ISA's table (scalar -> avx2 -> avx512 -> avx512_vnni ->
// amx),
// and each function overwrites only the entries/fields it implements, e.g.
//   t[DType::Q4_0].vec_dot = vec_dot_q4_0_q8_0_avx2;
// Activation quantizers live in the activation types' own slots (t[DType::Q8_0].quantize_row,
// t[DType::Q8_K].quantize_row) and may be overwritten too; act_type must not change.
// The dispatcher (kernels.cpp) calls all four on x86 builds; src/ops/x86/register.cpp
// defines them.
void register_avx2(KernelTable& t);
void register_avx512(KernelTable& t);       // AVX-512 F/BW/VL(/DQ)
void register_avx512_vnni(KernelTable& t);  // adds AVX512-VNNI (vpdpbusd)
void register_amx(KernelTable& t);          // adds AMX tile gemms (TDPBSSD, TDPBF16PS)

// The scalar table (the reference twins).
const KernelTable& scalar_table();

// Scalar kernels, callable from SIMD variants (tails, quantizers). n is the element count
// (a multiple of the block size). Dots: out = dot(dequant(w_row), dequant(act_row)).
namespace scalar {
void quantize_row_q8_0(const float* x, void* y, int64_t n);
void quantize_row_q8_k(const float* x, void* y, int64_t n);
void dequantize_row_q8_0(const void* x, float* y, int64_t n);
void dequantize_row_q8_k(const void* x, float* y, int64_t n);

void vec_dot_f32(int64_t n, float* out, const void* w, const void* a);
void vec_dot_f16_f32(int64_t n, float* out, const void* w, const void* a);
void vec_dot_bf16_f32(int64_t n, float* out, const void* w, const void* a);
void vec_dot_q4_0_q8_0(int64_t n, float* out, const void* w, const void* a);
void vec_dot_q4_1_q8_0(int64_t n, float* out, const void* w, const void* a);
void vec_dot_q5_0_q8_0(int64_t n, float* out, const void* w, const void* a);
void vec_dot_q5_1_q8_0(int64_t n, float* out, const void* w, const void* a);
void vec_dot_q8_0_q8_0(int64_t n, float* out, const void* w, const void* a);
void vec_dot_mxfp4_q8_0(int64_t n, float* out, const void* w, const void* a);
void vec_dot_q2_k_q8_k(int64_t n, float* out, const void* w, const void* a);
void vec_dot_q3_k_q8_k(int64_t n, float* out, const void* w, const void* a);
void vec_dot_q4_k_q8_k(int64_t n, float* out, const void* w, const void* a);
void vec_dot_q5_k_q8_k(int64_t n, float* out, const void* w, const void* a);
void vec_dot_q6_k_q8_k(int64_t n, float* out, const void* w, const void* a);

void dequantize_row_f16(const void* x, float* y, int64_t n);
void dequantize_row_bf16(const void* x, float* y, int64_t n);
void dequantize_row_q4_0(const void* x, float* y, int64_t n);
void dequantize_row_q4_1(const void* x, float* y, int64_t n);
void dequantize_row_q5_0(const void* x, float* y, int64_t n);
void dequantize_row_q5_1(const void* x, float* y, int64_t n);
void dequantize_row_mxfp4(const void* x, float* y, int64_t n);
void dequantize_row_q2_k(const void* x, float* y, int64_t n);
void dequantize_row_q3_k(const void* x, float* y, int64_t n);
void dequantize_row_q4_k(const void* x, float* y, int64_t n);
void dequantize_row_q5_k(const void* x, float* y, int64_t n);
void dequantize_row_q6_k(const void* x, float* y, int64_t n);
void copy_row_f32(const void* x, float* y, int64_t n);
void dequantize_row_iq4_nl(const void* x, float* y, int64_t n);
void dequantize_row_iq4_xs(const void* x, float* y, int64_t n);
void quantize_row_iq4_nl(const float* x, void* y, int64_t n);
void quantize_row_iq4_xs(const float* x, void* y, int64_t n);
void vec_dot_iq4_nl_q8_0(int64_t n, float* out, const void* w, const void* a);
void vec_dot_iq4_xs_q8_k(int64_t n, float* out, const void* w, const void* a);

void quantize_row_f16(const float* x, void* y, int64_t n);
void quantize_row_bf16(const float* x, void* y, int64_t n);
void quantize_row_q4_0(const float* x, void* y, int64_t n);
void quantize_row_q4_1(const float* x, void* y, int64_t n);
void quantize_row_q5_0(const float* x, void* y, int64_t n);
void quantize_row_q5_1(const float* x, void* y, int64_t n);
void quantize_row_mxfp4(const float* x, void* y, int64_t n);
void quantize_row_q2_k(const float* x, void* y, int64_t n);
void quantize_row_q3_k(const float* x, void* y, int64_t n);
void quantize_row_q4_k(const float* x, void* y, int64_t n);
void quantize_row_q5_k(const float* x, void* y, int64_t n);
void quantize_row_q6_k(const float* x, void* y, int64_t n);
void copy_row_f32_q(const float* x, void* y, int64_t n);
}  // namespace scalar

}  // namespace ops
