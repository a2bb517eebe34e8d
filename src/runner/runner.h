// What the scheduler and the server ask of a loaded model: the runner interface, its requests
// and results. The engine's implementation is EngineRunner (engine_runner.h); the scheduler is
// given a RunnerFactory, so server tests can run the real routes on a scripted runner.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/sample/constraint.h"
#include "engine/sample/json_schema.h"
#include "engine/sample/sampler.h"

namespace runner {

struct RunnerOptions {
  int num_ctx = 4096;    // KV cells per sequence
  int num_parallel = 1;  // sequence slots
  int num_batch = 512;   // tokens per engine step
  engine::KvType kv_type = engine::KvType::kF16;
  // Run on the GPU (engine::ContextOptions::gpu): the last gpu_layers layers (-1: all; Ollama's
  // num_gpu); when the GPU cannot take the model the runner logs why and runs on the CPU.
  bool gpu = false;
  int gpu_layers = -1;
  uint64_t gpu_overhead = 0;  // engine::ContextOptions::gpu_overhead
  bool gpu_cpu_device = true;  // engine::ContextOptions::gpu_cpu_device
};

struct CompletionRequest {
  std::string prompt;           // tokenized with special tokens parsed; BOS per tokenizer
  std::vector<int32_t> tokens;  // used instead of `prompt` when non-empty
  engine::sample::SamplerParams sampling;
  int num_predict = -1;  // < 0: up to 10 x num_ctx
  int num_keep = 4;
  bool shift = true;     // context shift when the window fills (else done_reason "length")
  bool truncate = true;  // drop old prompt tokens when the prompt does not fit
  std::vector<std::string> stop;
  // Special tokens generated as their text instead of nothing (harmony's <|channel|> ...), so
  // the server's output parser sees them.
  std::vector<std::string> preserved_tokens;
  bool logprobs = false;
  int top_logprobs = 0;
  // Constrained decoding (empty: none). When format_after is set, the constraint starts once
  // the generated text contains it (the end of a thinking part), so the thinking is free.
  // Preserved tokens count as their text for the constraint too.
  engine::sample::FormatSpec format;
  std::string format_after;
};

struct TokenLogprob {
  std::string token;
  double logprob = 0;
  std::vector<TokenLogprob> top;  // only on the chosen token's entry
};

struct CompletionChunk {
  std::string text;
  std::vector<TokenLogprob> logprobs;
};

struct CompletionResult {
  std::string done_reason;    // "stop" or "length"
  std::string stop_sequence;  // the stop string that ended it, "" for any other end
  int prompt_eval_count = 0;
  int64_t prompt_eval_ns = 0;
  int eval_count = 0;
  int64_t eval_ns = 0;
  std::vector<int32_t> context;  // prompt + generated tokens
};

// A generation whose chunks the caller pulls, on its own thread, as it is ready for them.
// Destroying it before the end cancels the generation and frees its slot.
class Completion {
 public:
  virtual ~Completion() = default;
  // Waits for the next chunk. false at the end: result() is then set; throws util::Error when
  // the generation failed.
  virtual bool next(CompletionChunk& out) = 0;
  virtual const CompletionResult& result() const = 0;
  // Stops generating: next() then drains what was made and ends.
  virtual void cancel() = 0;
};

class Runner {
 public:
  virtual ~Runner() = default;

  // admit() checks the request and prepares it (the prompt's tokens, truncated to the context;
  // its format compiled), throwing util::Error (bad request) for an unusable one (e.g. the
  // prompt does not fit and truncation/shift is off), before anything is waited for.
  struct Admission {
    std::vector<int32_t> prompt;
    std::shared_ptr<engine::sample::CompiledFormat> format;
  };
  virtual Admission admit(const CompletionRequest& req) = 0;
  // Takes a slot (waiting in arrival order; `cancel` stopped while waiting: util::Error
  // kCancelled) and queues the generation. `cancel` stopped later cancels the generation as
  // Completion::cancel does, from whichever thread stops it.
  virtual std::unique_ptr<Completion> start(const CompletionRequest& req, Admission admission,
                                            std::stop_token cancel = {}) = 0;

  // admit + start + next until the end: `on_chunk` runs on the calling thread; returning false
  // cancels.
  CompletionResult complete(const CompletionRequest& req,
                            const std::function<bool(const CompletionChunk&)>& on_chunk,
                            std::stop_token cancel = {});
  CompletionResult complete(const CompletionRequest& req, Admission admission,
                            const std::function<bool(const CompletionChunk&)>& on_chunk,
                            std::stop_token cancel = {});

  virtual std::vector<int32_t> tokenize(const std::string& text) const = 0;  // as admit() does
  virtual std::string detokenize(const std::vector<int32_t>& ids) const = 0;
  virtual int32_t vocab_size() const = 0;  // token ids are in [0, vocab_size)

  // Embeddings: raw vectors, one per token sequence (pooled by an encoder, or a decoder's last
  // token for files declaring last-token pooling); bad request for other models and for
  // sequences longer than num_ctx.
  virtual bool can_embed() const = 0;
  virtual bool embedding_only() const = 0;  // an encoder: no generation
  virtual bool reranks() const = 0;         // an encoder with a classification head
  // The tokens embed() takes for a text (truncated to num_ctx when `truncate`, else refused).
  virtual std::vector<int32_t> embed_tokens(const std::string& text, bool truncate) const = 0;
  // A reranker's [query, document] pair as one sequence.
  virtual std::vector<int32_t> pair_tokens(const std::string& query, const std::string& doc,
                                           bool truncate) const = 0;
  virtual std::vector<std::vector<float>> embed(const std::vector<std::vector<int32_t>>& batch) = 0;

  virtual const RunnerOptions& options() const = 0;
  virtual size_t memory_bytes() const = 0;  // weights + KV cache
  // Of memory_bytes(), what lives on the GPU (/api/ps size_vram, `ollama ps` PROCESSOR).
  virtual size_t vram_bytes() const { return 0; }

  // What /metrics reports of this runner.
  struct Stats {
    int active = 0;              // sequences holding a slot
    int waiting = 0;             // requests queued for a slot
    int slots = 0;               // parallel sequences
    int64_t kv_used = 0;         // KV cells holding tokens (after the last engine step)
    int64_t kv_total = 0;        // KV cells in all (slots x num_ctx); 0 for an encoder
    uint64_t prefix_hits = 0;    // requests that started from a cached prompt prefix
    uint64_t prefix_tokens = 0;  // prompt tokens those did not evaluate again
  };
  virtual Stats stats() = 0;
};

// Loads the model at `path` (an encoder when `encoder`) and returns its runner.
using RunnerFactory = std::function<std::shared_ptr<Runner>(const std::string& path, bool encoder,
                                                            const engine::LoadOptions& load,
                                                            const RunnerOptions& opts)>;

}  // namespace runner
