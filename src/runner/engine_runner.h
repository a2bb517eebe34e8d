// The engine's runner: one loaded model serving many requests: a sequence slot per parallel
// request, one engine step per loop iteration for every active sequence (continuous batching),
// prompt caching, context shift, sampling, stop strings, logprobs and cancellation.
#pragma once
#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/embed.h"
#include "runner/runner.h"

namespace runner {

class EngineRunner final : public Runner {
 public:
  EngineRunner(std::unique_ptr<engine::Model> model, const RunnerOptions& opts);
  // An embedding model (encoder): no KV cache, no generation loop; serves embed() only.
  EngineRunner(std::unique_ptr<engine::Embedder> embedder, const RunnerOptions& opts);
  ~EngineRunner() override;
  EngineRunner(const EngineRunner&) = delete;
  EngineRunner& operator=(const EngineRunner&) = delete;

  // The factory the server gives its scheduler.
  static RunnerFactory factory();

  Admission admit(const CompletionRequest& req) override;
  std::unique_ptr<Completion> start(const CompletionRequest& req, Admission admission,
                                    std::stop_token cancel = {}) override;

  struct Slot;
  // The engine's Completion: the slot's output queue, drained on the caller's thread.
  class Generation final : public Completion {
   public:
    ~Generation() override;
    Generation(const Generation&) = delete;
    Generation& operator=(const Generation&) = delete;
    bool next(CompletionChunk& out) override;
    const CompletionResult& result() const override { return result_; }
    void cancel() override;

   private:
    friend class EngineRunner;
    // Stops the slot's generation (the loop ends it at its next step).
    struct OnStop {
      Generation* g;
      void operator()() const { g->cancel(); }
    };
    Generation(EngineRunner& r, Slot* s, std::stop_token cancel);
    void release();  // the slot goes back (once)
    EngineRunner& runner_;
    Slot* slot_;
    CompletionResult result_;
    // Last member, built last: a token already stopped cancels at once. Reset before the
    // slot goes back, so the callback never sees a slot that is no longer this one's.
    std::optional<std::stop_callback<OnStop>> on_stop_;
  };

  std::vector<int32_t> tokenize(const std::string& text) const override;
  std::string detokenize(const std::vector<int32_t>& ids) const override;
  int32_t vocab_size() const override;

  std::vector<std::vector<float>> embed(const std::vector<std::vector<int32_t>>& batch) override;
  bool embedding_only() const override { return embedder_ != nullptr; }
  bool can_embed() const override;  // an encoder, or a decoder declaring last-token pooling
  bool reranks() const override;
  std::vector<int32_t> embed_tokens(const std::string& text, bool truncate) const override;
  std::vector<int32_t> pair_tokens(const std::string& query, const std::string& doc,
                                   bool truncate) const override;
  const engine::Embedder& embedder() const;  // throws util::Error unless embedding_only()

  const engine::Model& model() const;  // throws util::Error (bad request) for an encoder
  const RunnerOptions& options() const override { return opts_; }
  int active() const { return active_.load(); }
  size_t memory_bytes() const override;
  size_t vram_bytes() const override;
  Stats stats() override;

 private:
  void loop();
  void step(std::vector<Slot*>& active);
  Slot* acquire_slot(const std::vector<int32_t>& prompt, const std::stop_token& cancel);

  // Compiled formats by their text (a few, reused by the requests that repeat them) and the
  // vocabulary tries the constraints walk (built on the first constrained request).
  std::shared_ptr<engine::sample::CompiledFormat> format_for(const CompletionRequest& req);
  std::mutex format_mu_;
  std::map<std::string, std::shared_ptr<engine::sample::CompiledFormat>> formats_;
  // Vocabulary tries by the preserved tokens that count as text in them.
  std::map<std::string, std::shared_ptr<const engine::sample::TokenTrie>> vocab_tries_;

  std::unique_ptr<engine::Model> model_;
  std::unique_ptr<engine::Embedder> embedder_;  // instead of model_ for embedding models
  std::unique_ptr<engine::Context> ctx_;  // replaced only on the loop's thread (leave_gpu)
  RunnerOptions opts_;
  // The context's layers on the GPU backend (0: on the CPU), and the bytes of its KV cache,
  // read by other threads (ps) while the loop may replace the context.
  std::atomic<int> gpu_layers_{0};
  size_t kv_bytes_ = 0;
  engine::ContextOptions cpu_options_;  // what the context is remade with on the CPU
  std::string broken_;  // why ctx_ is null after leave_gpu (loop thread only)
  // After the GPU failed mid-step (device lost, out of device memory) and every running
  // sequence ended with the error: their KV cells went with the device context, so the
  // prompt caches are dropped and the model goes on from a new context on the CPU (or, when
  // even that cannot be made, every later request gets broken_). Loop thread only.
  void leave_gpu();
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
