// The architecture interface every model file implements, and the registry of them.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/gguf/gguf.h"
#include "engine/model/weights.h"
#include "engine/nn/step.h"

namespace engine::model {

class Arch {
 public:
  virtual ~Arch() = default;
  const nn::Shape& shape() const { return shape_; }
  // RoPE of a layer (KV shifts re-rotate keys with it).
  virtual const nn::Rope& rope(int layer) const = 0;
  // One chunk: embeddings -> layers (writing K/V to s.kv) -> logits of s.out_rows.
  virtual void forward(nn::Step& s) const = 0;
  // Common hyper-parameters for Model::info() (arch, name and sizes filled by load_arch).
  virtual void describe(ModelInfo& info) const = 0;

 protected:
  nn::Shape shape_;
};

// Reads `<arch>.*` keys with explicit defaults; throws util::Error naming the key when
// required and absent or out of range.
struct KeyReader {
  const gguf::File& file;
  std::string arch;
  int64_t get_int(const char* key, int64_t def, bool required = false) const;
  double get_float(const char* key, double def) const;
  std::string get_string(const char* key, const std::string& def) const;
  bool has(const char* key) const;
  std::string full(const char* key) const { return arch + "." + key; }
};

using ArchFactory = std::unique_ptr<Arch> (*)(const gguf::File& file);

struct ArchEntry {
  const char* name;
  ArchFactory make;
};
// The registry (registry.cpp): adding an arch adds one line there.
const std::vector<ArchEntry>& arch_registry();
// Builds the arch for a file; throws for an unknown/missing architecture, listing the known.
std::unique_ptr<Arch> load_arch(const gguf::File& file);

// Factories (one per model file).
std::unique_ptr<Arch> make_llama(const gguf::File& file);
std::unique_ptr<Arch> make_qwen2(const gguf::File& file);
std::unique_ptr<Arch> make_qwen3(const gguf::File& file);
std::unique_ptr<Arch> make_phi3(const gguf::File& file);
std::unique_ptr<Arch> make_gemma(const gguf::File& file);
std::unique_ptr<Arch> make_gemma2(const gguf::File& file);
std::unique_ptr<Arch> make_gemma3(const gguf::File& file);
std::unique_ptr<Arch> make_gptoss(const gguf::File& file);
std::unique_ptr<Arch> make_qwen3moe(const gguf::File& file);

// Logits width: token_embd rows if present, else the tokenizer's token count.
int64_t vocab_size(const gguf::File& file);

}  // namespace engine::model
