// One loaded model serving many requests: a sequence slot per parallel request, one engine
// step per loop iteration for every active sequence (continuous batching), prompt caching,
// context shift, sampling, stop strings, logprobs and cancellation.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/embed.h"
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

class Runner {
 public:
  Runner(std::unique_ptr<engine::Model> model, const RunnerOptions& opts);
  // An embedding model (encoder): no KV cache, no generation loop; serves embed() only.
  Runner(std::unique_ptr<engine::Embedder> embedder, const RunnerOptions& opts);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // Polled by a waiting request (about every kCancelPoll): true once its client has gone.
  using Cancelled = std::function<bool()>;
  static constexpr std::chrono::milliseconds kCancelPoll{50};

  // Generates until done. `on_chunk` runs on the calling thread; returning false cancels, and
  // so does `cancelled` turning true while the request waits for a slot, its prompt or its next
  // token: the slot is freed within one engine step. Throws util::Error for an unusable
  // request (e.g. the prompt does not fit and truncation/shift is off: 400), 499 when cancelled
  // before a slot was free.
  CompletionResult complete(const CompletionRequest& req,
                            const std::function<bool(const CompletionChunk&)>& on_chunk,
                            const Cancelled& cancelled = nullptr);

  // complete() in two steps: admit() checks the request and prepares it (the prompt's tokens,
  // truncated to the context; its format compiled), throwing the 400s above, before anything
  // is waited for; complete(admission, ...) then runs it.
  struct Admission {
    std::vector<int32_t> prompt;
    std::shared_ptr<engine::sample::CompiledFormat> format;
  };
  Admission admit(const CompletionRequest& req);
  CompletionResult complete(const CompletionRequest& req, Admission admission,
                            const std::function<bool(const CompletionChunk&)>& on_chunk,
                            const Cancelled& cancelled = nullptr);

  struct Slot;
  // A generation whose chunks the caller pulls, on its own thread, as it is ready for them
  // (complete() is start() + next() until the end). Destroying it before the end cancels the
  // generation and frees its slot.
  class Completion {
   public:
    ~Completion();
    Completion(const Completion&) = delete;
    Completion& operator=(const Completion&) = delete;
    // Waits for the next chunk (polling `cancelled` as complete() does). false at the end:
    // result() is then set; throws util::Error when the generation failed.
    bool next(CompletionChunk& out);
    const CompletionResult& result() const { return result_; }
    // Stops generating: next() then drains what was made and ends.
    void cancel();

   private:
    friend class Runner;
    Completion(Runner& r, Slot* s, Cancelled cancelled)
        : runner_(r), slot_(s), cancelled_(std::move(cancelled)) {}
    void release();  // the slot goes back (once)
    Runner& runner_;
    Slot* slot_;
    Cancelled cancelled_;
    CompletionResult result_;
  };
  // Takes a slot (waiting in arrival order) and queues the generation.
  std::unique_ptr<Completion> start(const CompletionRequest& req, Admission admission,
                                    const Cancelled& cancelled = nullptr);

  std::vector<int32_t> tokenize(const std::string& text) const;  // as complete() does
  std::string detokenize(const std::vector<int32_t>& ids) const;
  int32_t vocab_size() const;  // token ids are in [0, vocab_size)

  // Raw vectors, one per token sequence: pooled by the encoder in one pass (embedding models),
  // or, for a decoder declaring last-token pooling, its last token's hidden state after the
  // output norm; 400 for other models. Sequences longer than num_ctx are refused (400).
  std::vector<std::vector<float>> embed(const std::vector<std::vector<int32_t>>& batch);
  bool embedding_only() const { return embedder_ != nullptr; }
  // An encoder, or a decoder whose GGUF declares last-token pooling.
  bool can_embed() const;
  const engine::Embedder& embedder() const;  // throws util::Error unless embedding_only()

  const engine::Model& model() const;  // throws util::Error (400) for an embedding model
  const RunnerOptions& options() const { return opts_; }
  int active() const { return active_.load(); }
  size_t memory_bytes() const;  // weights + KV cache

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
  Stats stats();

 private:
  void loop();
  void step(std::vector<Slot*>& active);
  Slot* acquire_slot(const std::vector<int32_t>& prompt, const Cancelled& cancelled);

  // Compiled formats by their text (a few, reused by the requests that repeat them) and the
  // vocabulary tries the constraints walk (built on the first constrained request).
  std::shared_ptr<engine::sample::CompiledFormat> format_for(const CompletionRequest& req);
  std::mutex format_mu_;
  std::map<std::string, std::shared_ptr<engine::sample::CompiledFormat>> formats_;
  // Vocabulary tries by the preserved tokens that count as text in them.
  std::map<std::string, std::shared_ptr<const engine::sample::TokenTrie>> vocab_tries_;

  std::unique_ptr<engine::Model> model_;
  std::unique_ptr<engine::Embedder> embedder_;  // instead of model_ for embedding models
  std::unique_ptr<engine::Context> ctx_;
  RunnerOptions opts_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::mutex mu_;
  std::condition_variable work_cv_;  // loop waits for work
  std::condition_variable slot_cv_;  // requests wait for a free slot, in arrival order
  uint64_t next_ticket_ = 0;
  std::set<uint64_t> waiting_;  // tickets of requests waiting for a slot
  std::atomic<int> active_{0};
  std::atomic<int64_t> kv_used_{0};
  std::atomic<uint64_t> prefix_hits_{0}, prefix_tokens_{0};
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace runner
