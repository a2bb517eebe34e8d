// Model quantization: per-tensor type choice of llama.cpp's mixes (Q4_K_M, Q4_K_S, Q5_K_M,
// Q3_K_M, Q2_K, ...) and a GGUF-to-GGUF converter that streams tensors through the quantizers.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ops/types.h"

namespace engine::quant {

// llama_ftype ids, as stored in general.file_type.
enum class FileType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ8_0 = 7,
  kQ5_0 = 8,
  kQ5_1 = 9,
  kQ2_K = 10,
  kQ3_K_S = 11,
  kQ3_K_M = 12,
  kQ3_K_L = 13,
  kQ4_K_S = 14,
  kQ4_K_M = 15,
  kQ5_K_S = 16,
  kQ5_K_M = 17,
  kQ6_K = 18,
  kBF16 = 32,
  kMXFP4_MOE = 38,
};

// Case-insensitive: "q4_K_M", "Q4_K" (alias of Q4_K_M), "Q5_K" (Q5_K_M), "Q3_K" (Q3_K_M), "f16",
// "mxfp4" (alias of MXFP4_MOE)...
std::optional<FileType> parse_file_type(std::string_view name);
std::string file_type_name(FileType t);
std::vector<std::string> supported_file_types();

// What the chooser needs to know about the model.
struct ModelShape {
  std::string arch;
  int64_t n_layer = 0;
  int64_t n_gqa = 1;       // n_head / n_head_kv
  bool has_output = true;  // output.weight present (else token_embd is the output)
  int64_t n_attn_v = 0;    // attn_v tensors in the file
  int64_t n_ffn_down = 0;
  int64_t n_expert = 0;  // <arch>.expert_count (MoE models)
};

// Stateful: attn_v / ffn_down layers are counted in file order, as llama.cpp does.
class TypeChooser {
 public:
  TypeChooser(FileType ft, ModelShape shape) : ft_(ft), shape_(std::move(shape)) {}
  // The type for a tensor, or nullopt to keep it as is (1-D tensors, norms, routers...).
  std::optional<ops::DType> choose(const std::string& name, const std::vector<int64_t>& dims);

 private:
  FileType ft_;
  ModelShape shape_;
  int64_t i_attn_v_ = 0, i_ffn_down_ = 0;
};

using Progress = std::function<void(uint64_t done_bytes, uint64_t total_bytes)>;

// Reads src (any tensor types with a dequantizer), writes dst with every eligible tensor
// converted for `ft`. Runs rows on n_threads (0 = physical cores). Throws util::Error.
void quantize_file(const std::string& src, const std::string& dst, FileType ft,
                   const Progress& progress = nullptr, int n_threads = 0);

}  // namespace engine::quant
