// Views of weight tensors as the blocks use them: quantized matrices in the file mapping and
// small F32 vectors (norm weights, biases).
#pragma once
#include <cstdint>
#include <vector>

#include "ops/types.h"

namespace engine::nn {

// A [k, n] matrix in the mapping: n rows of k values of `type` (ops dimension order).
struct Matrix {
  const void* data = nullptr;
  ops::DType type = ops::DType::F32;
  int64_t k = 0;  // row length (GGUF dims[0])
  int64_t n = 0;  // rows (GGUF dims[1])
  const char* name = "";
  // kRows8: rows packed by 8 at load for this CPU's kernels (ops::Kernels::pack8), in memory
  // the model owns; only matmul reads them.
  ops::Layout layout = ops::Layout::kRows;
  bool present() const { return data != nullptr; }
};

// A 3-D expert tensor (GGUF dims [k, n, n_expert]): n_expert [k, n] matrices `stride` bytes
// apart; expert(e) is the e-th one (the slowest dimension).
struct ExpertMatrix {
  Matrix first;  // expert 0
  int64_t n_expert = 0;
  size_t stride = 0;
  bool present() const { return first.present(); }
  Matrix expert(int64_t e) const {
    Matrix m = first;
    m.data = static_cast<const uint8_t*>(first.data) + e * stride;
    return m;
  }
};

// A 1-D F32 vector (norm weights, biases, rope factors). Converted to F32 at load when stored
// as F16/BF16 (they are tiny), otherwise a view into the mapping.
struct Vector {
  Vector() = default;
  Vector(const Vector&) = delete;  // data may point into owned
  Vector& operator=(const Vector&) = delete;
  Vector(Vector&&) = default;
  Vector& operator=(Vector&&) = default;

  const float* data = nullptr;
  int64_t n = 0;
  std::vector<float> owned;  // backing store when converted
  bool present() const { return data != nullptr; }
};

}  // namespace engine::nn
