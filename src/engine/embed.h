// Embedding models: load a bidirectional encoder (bert, nomic-bert) from a GGUF file and turn
// token sequences into pooled vectors, many sequences per pass.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/engine.h"

namespace engine {

namespace model {
class Encoder;
}

// Values of `<arch>.pooling_type` (llama.cpp's numbering). kRank: a reranker's classification
// head over the first token's state (cls.weight + tanh, then cls.output), one score per label.
enum class Pooling { kNone = 0, kMean = 1, kCls = 2, kLast = 3, kRank = 4 };

class Embedder {
 public:
  // True for the encoder architectures this class runs ("bert", "nomic-bert").
  static bool is_encoder(const std::string& arch);
  // Maps the file, binds and checks every tensor, loads the tokenizer when the file has one.
  // Throws util::Error naming the file and the problem.
  static std::unique_ptr<Embedder> load(const std::string& path, const LoadOptions& opts = {});
  ~Embedder();
  Embedder(const Embedder&) = delete;
  Embedder& operator=(const Embedder&) = delete;

  // One raw (not normalized) vector per sequence, pooled with the file's pooling. All
  // sequences go through the encoder together (packed into chunks of about kChunkTokens).
  // With Pooling::kNone a sequence's result is every token's final state, [n_tokens * n_embd].
  // Throws util::Error (400) for an empty sequence, a bad token id, or a sequence longer than
  // the training context. Thread-safe: concurrent calls run one after another.
  std::vector<std::vector<float>> embed(const std::vector<std::vector<int32_t>>& batch) const {
    return embed(batch, pooling());
  }
  std::vector<std::vector<float>> embed(const std::vector<std::vector<int32_t>>& batch,
                                        Pooling pooling) const;

  // Text -> ids with the tokenizer's specials ([CLS] ... [SEP]). At most max_tokens ids (when
  // > 0) counting the specials: longer texts are cut (truncate) or rejected with 400
  // `the input length exceeds the context length`. *n_cut receives whether it was cut.
  std::vector<int32_t> tokenize(std::string_view text, int64_t max_tokens = 0, bool truncate = true,
                                bool* n_cut = nullptr) const;
  // A (query, document) pair as a cross-encoder reads it: [CLS] q [SEP] d [SEP] (WordPiece)
  // or <s> q </s></s> d </s>. Over max_tokens (when > 0) the document is cut first, then the
  // query (truncate), or 400 as tokenize().
  std::vector<int32_t> tokenize_pair(std::string_view query, std::string_view document,
                                     int64_t max_tokens = 0, bool truncate = true) const;
  // Scores per sequence of a kRank model (n_cls_out labels; rerankers have one).
  int64_t n_cls_out() const;

  const std::string& arch() const;
  const std::string& name() const;
  int64_t n_embd() const;
  int64_t n_ctx_train() const;
  Pooling pooling() const;
  uint64_t weight_bytes() const { return weight_bytes_; }
  double load_seconds() const { return load_seconds_; }
  int n_threads() const;
  bool has_tokenizer() const { return tok_ != nullptr; }
  const tokenizer::Tokenizer& tokenizer() const;  // throws util::Error if the file has none
  const gguf::File& file() const { return *file_; }

  // Sequences are packed into encoder passes of about this many tokens (a longer sequence
  // goes alone): bounds the activation memory of a large batch.
  static constexpr int64_t kChunkTokens = 2048;

 private:
  Embedder();
  std::unique_ptr<gguf::File> file_;
  std::unique_ptr<model::Encoder> encoder_;
  std::unique_ptr<tokenizer::Tokenizer> tok_;
  std::unique_ptr<util::ThreadPool> pool_;
  std::string name_;
  uint64_t weight_bytes_ = 0;
  double load_seconds_ = 0;
  mutable std::mutex mu_;  // one pass at a time on the pool
};

}  // namespace engine
