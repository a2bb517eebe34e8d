// Quantization target validation; the converter itself is a placeholder for now.
#include "create/quantize.h"

#include "util/error.h"

namespace create {

std::string normalize_quantize_type(std::string_view requested) {
  std::string up(requested);
  for (char& c : up)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  if (up == "Q4_K") up = "Q4_K_M";
  for (const char* ok : {"Q4_K_M", "Q4_K_S", "Q8_0", "F16", "F32", "BF16"})
    if (up == ok) return up;
  throw util::bad_request("unsupported quantization type " + up +
                          " - supported types are F32, F16, Q4_K_S, Q4_K_M, Q8_0");
}

void check_quantize_source(std::string_view file_type_name) {
  if (file_type_name != "F16" && file_type_name != "BF16" && file_type_name != "F32")
    throw util::bad_request("quantization is only supported for F16, BF16 and F32 models");
}

void quantize_gguf(const std::string& src_path, const std::string& dst_path,
                   const std::string& type, const QuantizeProgressFn& progress) {
  throw util::Error("quantization is not available yet", 501);
}

}  // namespace create
