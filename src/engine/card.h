// What the layers above the engine need to know of a GGUF file, read once: engine::inspect
// opens the header and metadata, derives the model's kind, sizes, pooling, chat template and
// file-level capabilities, and keeps the card by path (blob paths name their content; a file
// whose size or modification time changed is read again). Server, scheduler and runner read
// cards, never GGUF keys.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace engine {

// What a GGUF file is to a model (§6.3): the model, a LoRA adapter, a vision/audio projector.
enum class FileRole { kModel, kAdapter, kProjector };

enum class ModelKind {
  kDecoder,   // generates text (and may embed with last-token pooling)
  kEncoder,   // bert / nomic-bert: embeddings
  kReranker,  // an encoder with rank pooling: scores (query, document) pairs
};

struct ModelCard {
  std::string path;
  std::string arch;  // general.architecture
  ModelKind kind = ModelKind::kDecoder;
  uint64_t file_size = 0;
  int64_t n_layer = 0, n_embd = 0, n_head = 0, n_head_kv = 0, key_length = 0;
  int64_t n_ctx_train = 0;  // <arch>.context_length (0 when absent)
  // <arch>.pooling_type when the file declares one (-1 otherwise), llama.cpp's numbering.
  int pooling = -1;
  bool vision = false, audio = false;  // <arch>.vision / .audio block counts present
  std::string chat_template;           // tokenizer.chat_template ("" when absent)
  // general.type adapter -> adapter; projector/mmproj, a vision tower without blocks, or a
  // clip file with a vision or audio encoder -> projector; else model.
  FileRole role = FileRole::kModel;
  int64_t split_count = 1;  // split.count: parts of a split GGUF

  // "completion" or "embedding" (a declared pooling), then "vision" / "audio": what the file
  // itself says; a Modelfile's template adds tools, insert and thinking above this.
  std::vector<std::string> capabilities() const;
  // Bytes of one cached token across the layers' K and V (0 for encoders: no KV cache).
  uint64_t kv_bytes_per_token(KvType kv) const;
  // What loading it takes: the file, the KV cache for num_ctx x parallel, and 64 MiB scratch.
  uint64_t memory_bytes(int num_ctx, int parallel, KvType kv) const;
  // Decoders that embed: last-token pooling declared.
  bool embeds_with_last_token() const { return kind == ModelKind::kDecoder && pooling == 3; }
};

// The card of the GGUF file at `path`, read once and cached. Throws util::Error (400, naming
// the file) for a file that is not a valid GGUF.
std::shared_ptr<const ModelCard> inspect(const std::string& path);

}  // namespace engine
