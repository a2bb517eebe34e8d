// The tensor type table: ggml type ids, block geometry, and the kernels for each type.
// Dimension order everywhere in ops/: a matrix [k, n] (GGUF dims, innermost first) is n rows
// of k contiguous values; y[n] = W · x[k].
#pragma once
#include <cstddef>
#include <cstdint>

namespace ops {

// ggml type ids exactly as stored in GGUF tensor infos.
enum class DType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
};

struct TypeInfo {
  const char* name;    // "F32", "Q4_K", ... (as llama.cpp prints them)
  int64_t block_size;  // elements per block (1 for plain types)
  size_t block_bytes;  // bytes per block
};

// nullptr for an id that is not a known ggml type.
const TypeInfo* type_info(uint32_t id);
// Bytes of a row of n elements; n must be a multiple of the block size (callers validate).
size_t row_bytes(DType t, int64_t n);

// Kernels for one weight type. Activations are quantized once per matmul into `act_type`
// rows; vec_dot multiplies one weight row by one activation row. Pairings (fixed; SIMD
// variants must keep them):
//   F32, F16, BF16            -> F32 activations (plain floats, no quantization)
//   Q4_0, Q4_1, Q5_0, Q5_1,   -> Q8_0 activations. Q4_1/Q5_1 take the min term from the
//   Q8_0, MXFP4, IQ4_NL          per-block sum of the int8 activations (exact), instead of
//                                Q8_1's fp16-rounded sum.
//   Q2_K, Q3_K, Q4_K, Q5_K,   -> Q8_K activations (bsums carry the min term)
//   Q6_K, IQ4_XS
// Activation quantizers (Q8_0, Q8_K) use d = amax / 127 and codes in [-127, 127], never -128,
// so SIMD kernels may use sign tricks (|w| * sign(a, w)) without overflow.
// Every vec_dot equals the dot of the dequantized weight row with the dequantized activation
// row up to float rounding (held by tests/ops against the scalar twins).
struct Kernels {
  void (*dequantize_row)(const void* src, float* dst, int64_t n) = nullptr;
  void (*quantize_row)(const float* src, void* dst, int64_t n) = nullptr;  // reference quantizer
  DType act_type = DType::F32;
  void (*vec_dot)(int64_t n, float* out, const void* w_row, const void* act_row) = nullptr;
  // Optional tile kernel (nullptr -> matmul loops vec_dot). For r < nr, t < nt:
  //   y[t * ldy + r] = dot(row r of w (rows w_stride bytes apart),
  //                        activation row t of act (rows act_stride bytes apart)).
  // matmul passes nr <= 256 rows of one chunk (<= 64 except AMX prompt batches) and all of its
  // tokens (nt may be large).
  void (*gemm)(int64_t n, int nr, int nt, const void* w, size_t w_stride, const void* act,
               size_t act_stride, float* y, int64_t ldy) = nullptr;
  // Optional row-interleaved layout (Layout::kRows8) where this ISA multiplies faster: pack8
  // rewrites n_rows rows (a multiple of pack_rows) of k values into groups of pack_rows rows,
  // each group the same bytes as its rows; gemm8 is gemm over such groups (w at a group, nr a
  // multiple of pack_rows, w_stride still the bytes of one plain row). Load-time only (nn
  // weights), never in files.
  void (*pack8)(const void* src, void* dst, int64_t k, int64_t n_rows) = nullptr;
  void (*gemm8)(int64_t n, int nr, int nt, const void* w, size_t w_stride, const void* act,
                size_t act_stride, float* y, int64_t ldy) = nullptr;
  int pack_rows = 8;  // rows per packed group: 8 or 16
  // Row r of a packed group back in its plain bytes (an embedding lookup in a packed matrix);
  // nullptr: this type's packed matrices are never looked up by row (they are not packed then).
  void (*unpack8)(const void* group, int r, void* dst, int64_t k) = nullptr;
  // Matrices of this type that are not packed are copied as they are (plain rows) out of the
  // file's 4 KiB pages into huge pages at load: the hardware prefetcher stops at every 4 KiB
  // page, and decode streams every weight once.
  bool rows_in_huge_pages = false;
};

// How a weight matrix's rows lie in memory: as in the file, or packed by Kernels::pack8.
enum class Layout : uint8_t { kRows, kRows8 };

// kAmx = AVX-512 VNNI plus AMX tiles (TILE, INT8, BF16) with the OS permission granted; it
// only adds tile kernels (Kernels::gemm) for prompt-sized batches.
enum class Isa { kScalar = 0, kAvx2 = 1, kAvx512 = 2, kAvx512Vnni = 3, kAmx = 4 };
const char* isa_name(Isa isa);
// The best ISA this CPU supports (CPUID, checked once).
Isa detected_isa();
// Whether the CPU has AVX-VNNI (the VEX vpdpbusd: CPUID 7.1 EAX bit 4) and AVX2 is usable.
bool cpu_has_avx_vnni();
// Whether the AVX2 table's tile kernels are their AVX-VNNI builds: on CPUs whose best tier is
// AVX2 and that have AVX-VNNI (Intel desktop chips since Alder Lake). Where AVX-512 VNNI is
// present its own tier serves, and OLLAMA_CPU_ISA=avx2 keeps the plain AVX2 tiles.
bool avx2_tiles_use_vnni();
// Kernels for `t` built for `isa` (falls back to the best available lower ISA per kernel);
// nullptr when the type has no kernels (e.g. IQ types). kernels(t) = kernels(t, detected_isa()).
const Kernels* kernels(DType t, Isa isa);
const Kernels* kernels(DType t);

}  // namespace ops
