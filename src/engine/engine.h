// The inference engine's public API: load a GGUF model, decode batches that mix many
// sequences, read logits, and manage each sequence's KV cells (continuous batching).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace gguf {
class File;
}
namespace tokenizer {
class Tokenizer;
}
namespace util {
class ThreadPool;
}

namespace engine {

struct LoadOptions {
  int n_threads = 0;           // compute threads, caller included; 0 = physical cores
  bool load_tokenizer = true;  // false: weights only (benchmarks, tests with raw ids)
};

// Hyper-parameters every decoder shares, as read from the file (after defaults).
struct ModelInfo {
  std::string arch;  // general.architecture, e.g. "llama"
  std::string name;  // general.name ("" when absent)
  int64_t n_vocab = 0;
  int64_t n_ctx_train = 0;  // <arch>.context_length
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;  // key/value width per head
  int64_t n_ff = 0;
  double rope_base = 0;
  double rms_eps = 0;
  uint64_t n_params = 0;      // elements of every tensor in the file
  uint64_t weight_bytes = 0;  // bytes of every tensor in the file
  // Bytes one decode step of one sequence reads: every tensor, but only n_expert_used of
  // n_expert slices of the expert tensors, and one row of token_embd when the output has its
  // own matrix (the decode roofline's denominator).
  uint64_t active_weight_bytes = 0;
  int64_t n_expert = 0, n_expert_used = 0;  // 0 for dense models
};

enum class KvType { kF16, kF32 };

struct ContextOptions {
  // KV cells per sequence (Ollama's num_ctx); 0 = min(n_ctx_train, 4096). The cache holds
  // n_ctx * n_seq_max cells in total.
  int n_ctx = 0;
  int n_seq_max = 1;  // sequence ids are 0 .. n_seq_max-1
  // Tokens per forward chunk; a larger batch is split into chunks of this size. Scratch
  // buffers are sized for it once, at context creation.
  int n_batch = 512;
  KvType kv_type = KvType::kF16;
  // Run on the GPU (the Vulkan backend, ARCHITECTURE.md §6): the last gpu_layers layers and
  // the output there (more than the model has: all of them), the rest on the CPU; -1: as
  // many as fit in the device's free memory less gpu_overhead bytes (engine/gpu/fit.h). The
  // weights go to the device at creation. new_context throws util::Error with the reason when
  // it cannot (no device, an architecture it does not run, no layer fits, out of device
  // memory).
  bool gpu = false;
  int gpu_layers = -1;
  uint64_t gpu_overhead = 0;
  // Whether a CPU Vulkan device (Mesa's lavapipe) may take the model; false: such a device is
  // refused (util::Error) as if there were no GPU.
  bool gpu_cpu_device = true;
};

// A batch of tokens from one or many sequences: prompt chunks and single-token decode steps
// can be mixed. Tokens of one sequence must appear in increasing position order.
struct Batch {
  std::vector<int32_t> token;
  std::vector<int32_t> pos;
  std::vector<int32_t> seq_id;
  std::vector<uint8_t> want_logits;

  void add(int32_t tok, int32_t p, int32_t seq, bool logits) {
    token.push_back(tok);
    pos.push_back(p);
    seq_id.push_back(seq);
    want_logits.push_back(logits ? 1 : 0);
  }
  void clear() {
    token.clear();
    pos.clear();
    seq_id.clear();
    want_logits.clear();
  }
  size_t size() const { return token.size(); }
};

class Model;

// One KV cache plus scratch space; decodes batches against a model. Not thread-safe: one
// decode at a time per Model (all contexts of a model share its thread pool). A Context must
// not outlive its Model.
class Context {
 public:
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // Runs the forward pass for every token of the batch, appending each token's K/V to its
  // sequence. Throws util::Error (400) on a bad token id / sequence id / position, or when
  // a sequence has no free KV cell (the runner must shift or truncate first); on a throw the
  // cells of this batch are not kept.
  void decode(const Batch& batch);

  // Logits of the last decode, one row per token with want_logits, in batch order.
  int n_outputs() const;
  const float* logits(int output_index) const;  // [n_vocab]
  // Logits for batch entry i, or nullptr if it did not ask for them.
  const float* logits_at_batch(int batch_index) const;

  // KV cells per sequence. Positions p0..p1 are half-open [p0, p1); p1 < 0 means "to the end".
  void kv_clear();
  void kv_seq_clear(int seq);
  void kv_seq_remove(int seq, int32_t p0, int32_t p1);
  // Keeps only positions < n (after a partial prompt-cache hit).
  void kv_seq_truncate(int seq, int32_t n) { kv_seq_remove(seq, n, -1); }
  // Adds delta to the positions in [p0, p1) and re-rotates their keys to match.
  void kv_seq_shift(int seq, int32_t p0, int32_t p1, int32_t delta);
  // Context shift: drops [n_keep, n_keep + n_discard) and moves later tokens back by
  // n_discard, so the next token goes at kv_seq_pos_max(seq) + 1.
  void kv_context_shift(int seq, int32_t n_keep, int32_t n_discard);
  // Replaces dst's cells with copies of src's cells at positions [p0, p1) (prompt sharing).
  void kv_seq_copy(int src, int dst, int32_t p0, int32_t p1);
  int32_t kv_seq_pos_max(int seq) const;  // -1 when empty
  int kv_seq_n_tokens(int seq) const;

  int n_ctx() const;  // cells per sequence
  int n_seq_max() const;
  int n_batch() const;
  KvType kv_type() const;
  size_t kv_bytes() const;
  // The GPU this context runs on (ContextOptions::gpu), or "" on the CPU.
  std::string device() const;
  // How many of the model's layers run on the GPU (0 on the CPU).
  int gpu_layers() const;  // memory of the whole cache
  const Model& model() const;

  struct Impl;  // engine-internal

 private:
  friend class Model;
  explicit Context(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class Model {
 public:
  // Maps the file (weights stay in the mapping), checks every tensor the architecture needs
  // (name, shape, a kernel for its type) and starts the thread pool. Throws util::Error
  // naming the file and the problem: unknown architecture (listing the supported ones),
  // missing tensor, wrong shape, type without kernels, bad hyper-parameters.
  static std::unique_ptr<Model> load(const std::string& path, const LoadOptions& opts = {});
  static std::vector<std::string> supported_architectures();
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  std::unique_ptr<Context> new_context(const ContextOptions& opts = {}) const;

  const ModelInfo& info() const;
  const std::string& arch() const { return info().arch; }
  int64_t n_vocab() const { return info().n_vocab; }
  int64_t n_embd() const { return info().n_embd; }
  int64_t n_ctx_train() const { return info().n_ctx_train; }
  uint64_t weight_bytes() const { return info().weight_bytes; }
  int n_threads() const;
  double load_seconds() const;  // wall time of load()

  bool has_tokenizer() const;
  const tokenizer::Tokenizer& tokenizer() const;  // throws util::Error if not loaded
  const gguf::File& file() const;
  util::ThreadPool& pool() const;

  struct Impl;  // engine-internal (model/, context)
  const Impl& impl() const { return *impl_; }

 private:
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace engine
