// Matrix-vector products on the device (decode): weight matrices uploaded once into the
// shaders' layout, then y = W x recorded into a Recorder. ARCHITECTURE.md §6.
#pragma once
#include <memory>

#include "gpu/vulkan/device.h"
#include "ops/types.h"

namespace gpu::vk {

// A [k, n] weight matrix (n rows of k values, as ops::matmul takes it) on the device. The
// quantized types are stored as their codes (all blocks' code words, row by row) followed by
// their fp16 scales two to a word, so every shader reads aligned 32-bit words.
struct DeviceMatrix {
  ops::DType type = ops::DType::F32;
  int64_t k = 0, n = 0;
  uint32_t scale_word_off = 0;  // where the scales start (quantized types)
  Buffer buf;
};

// Whether matvec runs this type (and row length k) on the device.
bool matvec_supports(ops::DType t, int64_t k);

// Copies w (plain rows, as in a GGUF file) to the device through a staging buffer.
DeviceMatrix upload(Device& dev, const void* w, ops::DType t, int64_t k, int64_t n);

// From this many tokens on, record() multiplies in tiles of 32 rows x 32 tokens (matmat.glsl:
// each weight read once per 32 tokens), every type; below it the matrix-vector shaders take
// one workgroup per row and token.
constexpr uint32_t kMatmatMinTokens = 8;
// Whether record() takes the tiles for this matrix and token count.
bool use_matmat(const DeviceMatrix& m, uint32_t n_tokens);

// The quantized types multiply activations quantized to 8-bit codes first (per 32 as Q8_0
// with an fp16 scale for Q4_0/Q8_0, per 256 as Q8_K for Q4_K/Q6_K), as the CPU's dots do, so
// both backends compute the same products; F32/F16 take the float activations.
class Matvec {
 public:
  // max_k, max_tokens: the longest row and most tokens one record() takes (they size its
  // activation buffer).
  Matvec(Device& dev, int64_t max_k, int64_t max_tokens = 1);
  ~Matvec();
  // Records, for each of n_tokens tokens t and every row r (offsets and strides in floats;
  // 0 strides: k and n), y[y_off + t * y_stride + r] = dot(row r of m, the k floats at
  // x[x_off + t * x_stride]), in one dispatch (two for the quantized types).
  void record(Recorder& rec, const DeviceMatrix& m, const Buffer& x, uint32_t x_off, Buffer& y,
              uint32_t y_off, uint32_t n_tokens = 1, uint32_t x_stride = 0,
              uint32_t y_stride = 0);

  // The experts of a MoE layer: m holds every expert's [k, rows] matrix stacked (expert e's
  // rows from e * rows). Pair q (of n_pairs) takes `expert` (>= 0), or ids[ids_off + q] (the
  // device's routing), and its activations are x row q (x_per_pair) or row q / n_used (its
  // token's); for r < rows, y[y_off + q * y_stride + r] = dot(row e_q * rows + r of m, them).
  struct ExpertRows {
    int64_t rows = 0;
    int32_t expert = -1;
    const Buffer* ids = nullptr;
    uint32_t ids_off = 0;
    uint32_t n_used = 1;
    bool x_per_pair = true;
  };
  void record_experts(Recorder& rec, const DeviceMatrix& m, const ExpertRows& er, const Buffer& x,
                      uint32_t x_off, Buffer& y, uint32_t y_off, uint32_t n_pairs,
                      uint32_t x_stride = 0, uint32_t y_stride = 0);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gpu::vk
