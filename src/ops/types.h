// The tensor type table: ggml type ids, block geometry, and the kernels for each type.
// Dimension order everywhere in ops/: a matrix [k, n] (GGUF dims, innermost first) is n rows
// of k contiguous values; y[n] = W · x[k].
#pragma once
#include <cstddef>
#include <cstdint>

namespace ops {

// ggml type ids exactly as stored in GGUF tensor infos.
enum class DType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22,
  IQ4_XS = 23, I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
  TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39,
};

struct TypeInfo {
  const char* name;     // "F32", "Q4_K", ... (as llama.cpp prints them)
  int64_t block_size;   // elements per block (1 for plain types)
  size_t block_bytes;   // bytes per block
};

// nullptr for an id that is not a known ggml type.
const TypeInfo* type_info(uint32_t id);
// Bytes of a row of n elements; n must be a multiple of the block size (callers validate).
size_t row_bytes(DType t, int64_t n);

// Kernels for one weight type. Activations are quantized once per matmul into `act_type`
// rows (Q8_0 or Q8_K blocks, or F32/F16 for float weights); vec_dot multiplies one weight row
// by one activation row.
struct Kernels {
  void (*dequantize_row)(const void* src, float* dst, int64_t n) = nullptr;
  void (*quantize_row)(const float* src, void* dst, int64_t n) = nullptr;  // reference quantizer
  DType act_type = DType::F32;
  void (*vec_dot)(int64_t n, float* out, const void* w_row, const void* act_row) = nullptr;
};

enum class Isa { kScalar = 0, kAvx2 = 1, kAvx512 = 2, kAvx512Vnni = 3 };
const char* isa_name(Isa isa);
// The best ISA this CPU supports (CPUID, checked once).
Isa detected_isa();
// Kernels for `t` built for `isa` (falls back to the best available lower ISA per kernel);
// nullptr when the type has no kernels (e.g. IQ types). kernels(t) = kernels(t, detected_isa()).
const Kernels* kernels(DType t, Isa isa);
const Kernels* kernels(DType t);

}  // namespace ops
