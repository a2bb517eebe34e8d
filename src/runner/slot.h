// EngineRunner's per-sequence slot and the helpers its request side (engine_runner.cpp) and
// its loop (engine_step.cpp) share. Internal to runner/.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "engine/tokenizer/tokenizer.h"
#include "runner/engine_runner.h"
#include "runner/stop.h"

namespace runner {

namespace detail {
using Clock = std::chrono::steady_clock;
inline int64_t ns_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t).count();
}
inline constexpr int kRepeatLimit = 30;  // same token text this many times in a row aborts (Ollama)
// Prompt tokens per engine step while other sequences decode (chunked prefill): one step then
// costs a few decode steps' time instead of a whole prompt's.
inline constexpr int kPrefillChunkWhileDecoding = 64;
}  // namespace detail

using detail::Clock;

// Per-sequence state. Fields under "engine side" are touched only by the loop thread once the
// slot is queued; the output queue and state are guarded by EngineRunner::mu_.
struct EngineRunner::Slot {
  // kReserved: taken by a request that is still filling in its fields (the loop ignores it).
  enum class State { kFree, kReserved, kQueued, kRunning, kDone } state = State::kFree;
  int seq = 0;
  std::condition_variable cv;
  std::deque<CompletionChunk> out;
  CompletionResult result;
  std::string error;
  std::atomic<bool> cancel{false};

  // engine side
  std::vector<int32_t> cached;  // tokens whose K/V sit in this sequence's cells, in order
  size_t keep = 0;              // prompt-cache hit: cells to keep when the request starts
  std::vector<int32_t> prompt;  // the request's full prompt
  size_t n_prompt_done = 0;     // prompt tokens in `cached`
  CompletionRequest req;
  std::unique_ptr<engine::sample::Sampler> sampler;
  std::unique_ptr<tokenizer::StreamDecoder> decoder;
  std::vector<int32_t> preserved;  // req.preserved_tokens' ids
  std::unique_ptr<StopMatcher> stop;
  int32_t next_token = -1;
  int limit = 0;
  std::vector<int32_t> generated;
  std::string last_piece;
  int repeats = 0;
  std::unique_ptr<engine::sample::Constraint> constraint;  // req.format, once it applies
  bool constraint_on = false;
  std::string recent_text;  // the newest output, to spot req.format_after
  Clock::time_point start, first_token;
};

}  // namespace runner
