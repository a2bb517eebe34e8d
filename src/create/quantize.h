// Quantization hook of the create pipeline (§6.3 step 5): target validation + the converter.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace gguf {
class File;
}

namespace create {

// Canonical upper-case target ("Q4_K_M", "Q4_K_S", "Q8_0", "F16", "F32", "BF16"; "Q4_K" is an
// alias of Q4_K_M). Throws util::bad_request("unsupported quantization type X - supported
// types are F32, F16, Q4_K_S, Q4_K_M, Q8_0") for anything else.
std::string normalize_quantize_type(std::string_view requested);

// Source file types that can be quantized (F16, BF16, F32), by file_type display name.
// Throws util::bad_request("quantization is only supported for F16, BF16 and F32 models").
void check_quantize_source(std::string_view file_type_name);

// The float type of a model for check_quantize_source: `declared` (general.file_type name)
// or, when the file has none ("unknown"), the type of its weight matrices.
std::string float_source_type(const gguf::File& f, const std::string& declared);

// (done bytes, total bytes)
using QuantizeProgressFn = std::function<void(int64_t completed, int64_t total)>;

// Writes a GGUF at dst_path with the tensors of src_path converted to `type` (a canonical
// target above) using engine/quant's per-tensor mix rules.
void quantize_gguf(const std::string& src_path, const std::string& dst_path,
                   const std::string& type, const QuantizeProgressFn& progress);

}  // namespace create
