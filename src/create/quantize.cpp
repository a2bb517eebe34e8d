// Quantization target validation and the converter (engine/quant does the tensor work).
#include "create/quantize.h"

#include "engine/gguf/gguf.h"
#include "engine/quant/quantize_model.h"
#include "util/error.h"

namespace create {

std::string normalize_quantize_type(std::string_view requested) {
  auto ft = engine::quant::parse_file_type(requested);
  // Every mix of engine/quant is accepted (a superset of Ollama's list); the error keeps
  // Ollama's exact text because clients match on it.
  if (!ft) {
    std::string up(requested);
    for (char& c : up)
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    throw util::bad_request("unsupported quantization type " + up +
                            " - supported types are F32, F16, Q4_K_S, Q4_K_M, Q8_0");
  }
  return engine::quant::file_type_name(*ft);
}

void check_quantize_source(std::string_view file_type_name) {
  if (file_type_name != "F16" && file_type_name != "BF16" && file_type_name != "F32")
    throw util::bad_request("quantization is only supported for F16, BF16 and F32 models");
}

std::string float_source_type(const gguf::File& f, const std::string& declared) {
  if (declared != "unknown" && !declared.empty()) return declared;
  // No general.file_type: the weight matrices decide (stories260K is all F32).
  std::string found;
  for (const auto& t : f.tensors()) {
    if (t.dims.size() < 2) continue;
    std::string name = t.type == 0 ? "F32" : t.type == 1 ? "F16" : t.type == 30 ? "BF16" : "other";
    if (name == "other") return declared;
    if (found.empty() || name == "F16" || (name == "BF16" && found == "F32")) found = name;
  }
  return found.empty() ? declared : found;
}

void quantize_gguf(const std::string& src_path, const std::string& dst_path,
                   const std::string& type, const QuantizeProgressFn& progress) {
  auto ft = engine::quant::parse_file_type(type);
  if (!ft) throw util::bad_request("unsupported quantization type " + type);
  engine::quant::quantize_file(src_path, dst_path, *ft, [&](uint64_t done, uint64_t total) {
    if (progress) progress(static_cast<int64_t>(done), static_cast<int64_t>(total));
  });
}

}  // namespace create
