#include <cstdio>

#include "engine/model/arch.h"
#include "util/error.h"

namespace engine::model {

const std::vector<ArchEntry>& arch_registry() {
  static const std::vector<ArchEntry> kArchs = {
      {"llama", &make_llama},   {"qwen2", &make_qwen2},    {"qwen3", &make_qwen3},
      {"phi3", &make_phi3},     {"gemma", &make_gemma},    {"gemma2", &make_gemma2},
      {"gemma3", &make_gemma3}, {"gpt-oss", &make_gptoss}, {"qwen3moe", &make_qwen3moe},
  };
  return kArchs;
}

std::unique_ptr<Arch> load_arch(const gguf::File& file) {
  const std::string arch = file.architecture();
  for (const ArchEntry& e : arch_registry()) {
    if (arch == e.name) return e.make(file);
  }
  std::string known;
  for (const ArchEntry& e : arch_registry())
    known += (known.empty() ? "" : ", ") + std::string(e.name);
  if (arch.empty()) {
    throw util::bad_request(file.path() + ": no general.architecture key; supported: " + known);
  }
  throw util::bad_request(file.path() + ": unsupported model architecture '" + arch +
                          "' (supported: " + known + ")");
}

int64_t KeyReader::get_int(const char* key, int64_t def, bool required) const {
  const std::string k = full(key);
  const auto v = file.get_int(k);
  if (!v) {
    if (required) throw util::bad_request(file.path() + ": missing hyper-parameter " + k);
    return def;
  }
  return *v;
}

double KeyReader::get_float(const char* key, double def) const {
  return file.get_float(full(key), def);
}

std::string KeyReader::get_string(const char* key, const std::string& def) const {
  return file.get_string(full(key), def);
}

bool KeyReader::has(const char* key) const { return file.has(full(key)); }

int64_t vocab_size(const gguf::File& file) {
  // The output width is the embedding's row count (it may be padded past the tokenizer).
  if (const gguf::TensorInfo* t = file.tensor("token_embd.weight"); t && t->dims.size() >= 2) {
    return t->dims[1];
  }
  if (const gguf::Value* v = file.find("tokenizer.ggml.tokens"); v && !v->array.empty()) {
    return static_cast<int64_t>(v->array.size());
  }
  throw util::bad_request(file.path() +
                          ": cannot tell the vocabulary size (no "
                          "token_embd.weight and no tokenizer.ggml.tokens)");
}

}  // namespace engine::model
