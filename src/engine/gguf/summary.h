// What Ollama reports about a GGUF model (/api/show, /api/tags details, create's config):
// parameter count and size string, file type name, and the model_info key/values.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/gguf/gguf.h"

namespace gguf {

// Sum of the element counts of all tensors (what Ollama stores as general.parameter_count).
uint64_t parameter_count(const File& f);

// Ollama's human parameter count (format.HumanNumber):
//   n >= 1e9: n/1e9 with "%.0fB" when whole, else "%.1fB"   (8030261248 -> "8.0B", 3e9 -> "3B")
//   n >= 1e6: n/1e6 with "%.0fM" when whole, else "%.2fM"   (567000001 -> "567.00M", 137e6 ->
//   "137M") n >= 1e3: n/1e3 with "%.0fK"                              (260000 -> "260K", 1500 ->
//   "2K") else the plain number.
std::string human_number(uint64_t n);

// human_number(parameter_count(f)).
std::string parameter_size(const File& f);

// general.file_type id -> display name per llama_ftype ("F32", "F16", "Q4_K_M", ...); ids
// without a name -> "unknown".
std::string file_type_name(int64_t id);

// Ollama's model file type (KV.FileType): the name of general.file_type when it is present and
// nonzero, else "unknown" (so an F32 model without the key, or with 0, reports "unknown").
std::string model_file_type(const File& f);

// GGML tensor type id -> "F32", "Q4_K", "MXFP4", ... (ops type table); "unknown" otherwise.
std::string tensor_type_name(uint32_t id);

// The facts /api/tags and /api/show put into "details" and create puts into the config.
struct Summary {
  std::string architecture;                 // general.architecture, "" when absent
  uint64_t parameter_count = 0;             // sum of tensor elements
  std::string parameter_size;               // human_number(parameter_count)
  std::string file_type;                    // model_file_type()
  std::optional<int64_t> context_length;    // <arch>.context_length
  std::optional<int64_t> embedding_length;  // <arch>.embedding_length
};
Summary summarize(const File& f);

// /api/show "model_info": every key/value of the file in file order, except general.name and
// tokenizer.chat_template; general.parameter_count is set (replaced or appended, u64) to
// parameter_count(f). Unless `verbose`, arrays with more than 5 elements are replaced by an
// empty array of the same element type (rendered as []). JSON conversion is the caller's job.
std::vector<std::pair<std::string, Value>> model_info(const File& f, bool verbose);

}  // namespace gguf
