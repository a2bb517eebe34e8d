// Model summary facts in Ollama's formats (see summary.h for the rules).
#include "engine/gguf/summary.h"

#include <cmath>
#include <cstdio>

#include "ops/types.h"

namespace gguf {

uint64_t parameter_count(const File& f) {
  uint64_t n = 0;
  for (const TensorInfo& t : f.tensors()) n += uint64_t(t.n_elements());
  return n;
}

std::string human_number(uint64_t n) {
  constexpr double kThousand = 1e3, kMillion = 1e6, kBillion = 1e9;
  char buf[64];
  const double x = double(n);
  if (x >= kBillion) {
    double v = x / kBillion;
    std::snprintf(buf, sizeof buf, v == std::floor(v) ? "%.0fB" : "%.1fB", v);
  } else if (x >= kMillion) {
    double v = x / kMillion;
    std::snprintf(buf, sizeof buf, v == std::floor(v) ? "%.0fM" : "%.2fM", v);
  } else if (x >= kThousand) {
    std::snprintf(buf, sizeof buf, "%.0fK", x / kThousand);
  } else {
    std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(n));
  }
  return buf;
}

std::string parameter_size(const File& f) { return human_number(parameter_count(f)); }

std::string file_type_name(int64_t id) {
  // llama_ftype ids; 4-6 and 33-35 were removed upstream and have no name.
  static const char* const kNames[] = {
      "F32",   "F16",     "Q4_0",      "Q4_1",   nullptr,  nullptr,   nullptr,  "Q8_0",   "Q5_0",
      "Q5_1",  "Q2_K",    "Q3_K_S",    "Q3_K_M", "Q3_K_L", "Q4_K_S",  "Q4_K_M", "Q5_K_S", "Q5_K_M",
      "Q6_K",  "IQ2_XXS", "IQ2_XS",    "Q2_K_S", "IQ3_XS", "IQ3_XXS", "IQ1_S",  "IQ4_NL", "IQ3_S",
      "IQ3_M", "IQ2_S",   "IQ2_M",     "IQ4_XS", "IQ1_M",  "BF16",    nullptr,  nullptr,  nullptr,
      "TQ1_0", "TQ2_0",   "MXFP4_MOE", "NVFP4",  "Q1_0",
  };
  constexpr int64_t kCount = sizeof kNames / sizeof kNames[0];
  if (id < 0 || id >= kCount || kNames[id] == nullptr) return "unknown";
  return kNames[id];
}

std::string model_file_type(const File& f) {
  const Value* v = f.find("general.file_type");
  if (!v || !v->is_integer()) return "unknown";
  int64_t id = v->type == ValueType::kInt8 || v->type == ValueType::kInt16 ||
                       v->type == ValueType::kInt32 || v->type == ValueType::kInt64
                   ? v->i
                   : (v->u > uint64_t(INT64_MAX) ? -1 : int64_t(v->u));
  if (id <= 0) return "unknown";
  return file_type_name(id);
}

std::string tensor_type_name(uint32_t id) {
  const ops::TypeInfo* ti = ops::type_info(id);
  return ti ? ti->name : "unknown";
}

Summary summarize(const File& f) {
  Summary s;
  s.architecture = f.get_string("general.architecture", "");
  s.parameter_count = parameter_count(f);
  s.parameter_size = human_number(s.parameter_count);
  s.file_type = model_file_type(f);
  if (!s.architecture.empty()) {
    // Lenient: a wrongly typed key is left out rather than failing a listing.
    auto get = [&](const std::string& key) -> std::optional<int64_t> {
      const Value* v = f.find(key);
      if (!v || !v->is_integer()) return std::nullopt;
      try {
        return v->as_int();
      } catch (const util::Error&) {
        return std::nullopt;
      }
    };
    s.context_length = get(s.architecture + ".context_length");
    s.embedding_length = get(s.architecture + ".embedding_length");
  }
  return s;
}

std::vector<std::pair<std::string, Value>> model_info(const File& f, bool verbose) {
  constexpr size_t kMaxShownArray = 5;
  std::vector<std::pair<std::string, Value>> out;
  out.reserve(f.metadata().size() + 1);
  bool has_count = false;
  const Value count = Value::of_u64(parameter_count(f));
  for (const auto& [key, v] : f.metadata()) {
    if (key == "general.name" || key == "tokenizer.chat_template") continue;
    if (key == "general.parameter_count") {
      out.emplace_back(key, count);
      has_count = true;
    } else if (!verbose && v.type == ValueType::kArray && v.array.size() > kMaxShownArray) {
      out.emplace_back(key, Value::of_array(v.array_type, {}));
    } else {
      out.emplace_back(key, v);
    }
  }
  if (!has_count) out.emplace_back("general.parameter_count", count);
  return out;
}

}  // namespace gguf
