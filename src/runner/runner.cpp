#include "runner/runner.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <iterator>
#include <set>

#include "engine/card.h"
#include "engine/decoder_embed.h"
#include "engine/gguf/gguf.h"
#include "engine/tokenizer/tokenizer.h"
#include "runner/stop.h"
#include "util/error.h"
#include "util/log.h"
#include "util/thread_pool.h"

namespace runner {

namespace {
using Clock = std::chrono::steady_clock;
int64_t ns_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t).count();
}
constexpr int kRepeatLimit = 30;  // same token text this many times in a row aborts (Ollama)
// Prompt tokens per engine step while other sequences decode (chunked prefill): one step then
// costs a few decode steps' time instead of a whole prompt's.
constexpr int kPrefillChunkWhileDecoding = 64;
}  // namespace

// Per-sequence state. Fields under "engine side" are touched only by the loop thread once the
// slot is queued; the output queue and state are guarded by Runner::mu_.
struct Runner::Slot {
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

Runner::Runner(std::unique_ptr<engine::Model> model, const RunnerOptions& opts)
    : model_(std::move(model)), opts_(opts) {
  opts_.num_parallel = std::max(1, opts_.num_parallel);
  engine::ContextOptions co;
  co.n_ctx = opts_.num_ctx;
  co.n_seq_max = opts_.num_parallel;
  co.n_batch = opts_.num_batch;
  co.kv_type = opts_.kv_type;
  ctx_ = model_->new_context(co);
  opts_.num_ctx = ctx_->n_ctx();
  for (int i = 0; i < opts_.num_parallel; i++) {
    slots_.push_back(std::make_unique<Slot>());
    slots_.back()->seq = i;
  }
  thread_ = std::thread([this] { loop(); });
}

Runner::Runner(std::unique_ptr<engine::Embedder> embedder, const RunnerOptions& opts)
    : embedder_(std::move(embedder)), opts_(opts) {
  opts_.num_parallel = 1;
  opts_.num_ctx = static_cast<int>(std::min<int64_t>(
      opts_.num_ctx > 0 ? opts_.num_ctx : embedder_->n_ctx_train(), embedder_->n_ctx_train()));
}

Runner::~Runner() {
  if (!thread_.joinable()) return;  // embedding model: no loop
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
    for (auto& s : slots_) s->cancel = true;
  }
  work_cv_.notify_all();
  thread_.join();
}

size_t Runner::memory_bytes() const {
  if (embedder_) return embedder_->weight_bytes();
  return model_->weight_bytes() + ctx_->kv_bytes();
}

const engine::Model& Runner::model() const {
  if (!model_) throw util::bad_request("this model only produces embeddings");
  return *model_;
}

bool Runner::can_embed() const {
  return embedder_ || engine::inspect(model_->file().path())->embeds_with_last_token();
}

const engine::Embedder& Runner::embedder() const {
  if (!embedder_) throw util::bad_request("this model does not support embeddings");
  return *embedder_;
}

std::vector<std::vector<float>> Runner::embed(const std::vector<std::vector<int32_t>>& batch) {
  for (const auto& seq : batch) {
    if (static_cast<int>(seq.size()) > opts_.num_ctx)
      throw util::bad_request("the input length exceeds the context length");
  }
  if (embedder_) return embedder_->embed(batch);
  // A decoder embeds only when its file declares last-token pooling (embedding decoders such
  // as qwen3-embedding): the last token's output-normed hidden state, on a pool of its own so
  // the generation loop may keep decoding meanwhile.
  if (!can_embed()) throw util::bad_request("this model does not support embeddings");
  util::ThreadPool pool(model_->n_threads());
  std::vector<std::vector<float>> out;
  for (const auto& seq : batch)
    out.push_back(engine::decoder_last_hidden(*model_, seq, pool, opts_.num_batch));
  return out;
}

std::vector<int32_t> Runner::tokenize(const std::string& text) const {
  if (embedder_) return embedder_->tokenize(text);
  const auto& tok = model_->tokenizer();
  return tok.encode(text, /*add_special=*/true, /*parse_special=*/true);
}

std::string Runner::detokenize(const std::vector<int32_t>& ids) const {
  if (embedder_) return embedder_->tokenizer().decode(ids);
  return model_->tokenizer().decode(ids);
}

Runner::Stats Runner::stats() {
  Stats st;
  st.active = active_.load();
  st.kv_used = kv_used_.load();
  st.prefix_hits = prefix_hits_.load();
  st.prefix_tokens = prefix_tokens_.load();
  std::lock_guard<std::mutex> l(mu_);
  st.waiting = static_cast<int>(waiting_.size());
  st.slots = static_cast<int>(slots_.size());
  if (ctx_) st.kv_total = static_cast<int64_t>(ctx_->n_ctx()) * ctx_->n_seq_max();
  return st;
}

int32_t Runner::vocab_size() const {
  return embedder_ ? embedder_->tokenizer().n_tokens() : model_->tokenizer().n_tokens();
}

Runner::Slot* Runner::acquire_slot(const std::vector<int32_t>& prompt, const Cancelled& cancelled) {
  std::unique_lock<std::mutex> l(mu_);
  // First come, first served: a request takes a slot only when the requests queued before it
  // have theirs, so none waits behind an unbounded stream of later arrivals.
  const uint64_t ticket = next_ticket_++;
  waiting_.insert(ticket);
  struct Leave {
    std::set<uint64_t>& w;
    uint64_t t;
    std::condition_variable& cv;
    ~Leave() {
      w.erase(t);
      cv.notify_all();
    }
  } leave{waiting_, ticket, slot_cv_};
  auto my_turn = [&] {
    if (stop_) return true;
    size_t free = 0;
    for (auto& s : slots_)
      if (s->state == Slot::State::kFree) free++;
    // Tickets ahead of this one that are still waiting.
    size_t ahead = static_cast<size_t>(std::distance(waiting_.begin(), waiting_.find(ticket)));
    return ahead < free;
  };
  while (!slot_cv_.wait_for(l, kCancelPoll, my_turn)) {
    if (cancelled && cancelled())
      throw util::Error("request canceled", util::ErrorKind::kCancelled);
  }
  if (stop_) throw util::Error("model is unloading", util::ErrorKind::kUnavailable);
  // The free slot sharing the longest prefix with this prompt keeps its cache (prompt cache).
  Slot* best = nullptr;
  size_t best_len = 0;
  for (auto& s : slots_) {
    if (s->state != Slot::State::kFree) continue;
    size_t n = 0;
    while (n < s->cached.size() && n < prompt.size() && s->cached[n] == prompt[n]) n++;
    if (!best || n > best_len) {
      best = s.get();
      best_len = n;
    }
  }
  // At least one prompt token must be evaluated to get logits.
  best->keep = std::min(best_len, prompt.empty() ? 0 : prompt.size() - 1);
  best->state = Slot::State::kReserved;
  best->cancel = false;
  if (best->keep > 0) {
    prefix_hits_++;
    prefix_tokens_ += best->keep;
  }
  active_++;
  return best;
}

std::shared_ptr<engine::sample::CompiledFormat> Runner::format_for(const CompletionRequest& req) {
  // Preserved tokens count as their text only for a format that spells markers itself (a
  // harmony call header): elsewhere, e.g. inside a JSON string, they stay out of reach.
  bool markers = req.format.lead_open.find("<|") != std::string::npos;
  for (const auto& b : req.format.branches) markers |= b.prefix.find("<|") != std::string::npos;
  std::vector<std::string> as_text;
  if (markers) as_text = req.preserved_tokens;
  std::string preserved;
  for (const auto& p : as_text) preserved += p + '\0';
  const std::string key = preserved + '\1' + req.format.key();
  {
    std::lock_guard<std::mutex> l(format_mu_);
    if (auto it = formats_.find(key); it != formats_.end()) return it->second;
  }
  // Compiled outside the lock (a big schema takes a while); throws 400 for a bad one.
  auto compiled =
      std::make_shared<engine::sample::CompiledFormat>(engine::sample::compile_format(req.format));
  {
    std::lock_guard<std::mutex> l(format_mu_);
    if (auto it = vocab_tries_.find(preserved); it != vocab_tries_.end())
      compiled->vocab = it->second;
  }
  if (!compiled->vocab) {
    const auto& tok = model_->tokenizer();
    std::vector<std::string> bytes(model_->n_vocab());
    for (int32_t i = 0; i < tok.n_tokens() && i < model_->n_vocab(); i++) bytes[i] = tok.piece(i);
    for (const auto& text : as_text) {  // emitted as their text: matched as it
      const int32_t id = tok.find_token(text);
      if (id >= 0 && id < model_->n_vocab() && !tok.is_eog(id)) bytes[id] = text;
    }
    compiled->vocab = std::make_shared<engine::sample::TokenTrie>(bytes, tok.eog_ids());
  }
  std::lock_guard<std::mutex> l(format_mu_);
  vocab_tries_.emplace(preserved, compiled->vocab);
  constexpr size_t kMaxFormats = 32;
  if (formats_.size() >= kMaxFormats) formats_.clear();  // in-flight requests hold theirs
  return formats_.emplace(key, compiled).first->second;
}

CompletionResult Runner::complete(const CompletionRequest& req,
                                  const std::function<bool(const CompletionChunk&)>& on_chunk,
                                  const Cancelled& cancelled) {
  return complete(req, admit(req), on_chunk, cancelled);
}

Runner::Admission Runner::admit(const CompletionRequest& req) {
  if (!model_) throw util::bad_request("this model only produces embeddings");
  std::vector<int32_t> prompt = req.tokens.empty() ? tokenize(req.prompt) : req.tokens;
  if (prompt.empty()) throw util::bad_request("empty prompt");
  for (int32_t t : prompt)
    if (t < 0 || t >= model_->n_vocab()) throw util::bad_request("token id out of range");
  const int n_ctx = opts_.num_ctx;
  if (static_cast<int>(prompt.size()) > n_ctx - 1) {
    if (!req.truncate || !req.shift)
      throw util::bad_request(
          "the prompt is longer than the context length currently available to the model; "
          "shorten the prompt, adjust the context length in settings, or use a model with a "
          "longer context length");
    // Keep the first num_keep tokens (+ BOS) and the newest ones (spec §7.6).
    int bos = model_->tokenizer().add_bos() ? 1 : 0;
    int keep = std::clamp(req.num_keep < 0 ? n_ctx / 2 : req.num_keep + bos, 0, n_ctx / 2);
    int target = n_ctx - std::max((n_ctx - keep) / 2, 1);
    std::vector<int32_t> t(prompt.begin(), prompt.begin() + keep);
    t.insert(t.end(), prompt.end() - (target - keep), prompt.end());
    LOG_WARN("truncating input prompt: limit={} prompt={} keep={} new={}", n_ctx, prompt.size(),
             keep, t.size());
    prompt = std::move(t);
  }

  // A format is compiled (a bad schema is a 400) before a slot is taken.
  Admission a;
  if (!req.format.empty()) a.format = format_for(req);
  a.prompt = std::move(prompt);
  return a;
}

CompletionResult Runner::complete(const CompletionRequest& req, Admission admission,
                                  const std::function<bool(const CompletionChunk&)>& on_chunk,
                                  const Cancelled& cancelled) {
  std::unique_ptr<Completion> c = start(req, std::move(admission), cancelled);
  CompletionChunk chunk;
  while (c->next(chunk))
    if (!on_chunk(chunk)) c->cancel();
  return c->result();
}

std::unique_ptr<Runner::Completion> Runner::start(const CompletionRequest& req, Admission admission,
                                                  const Cancelled& cancelled) {
  const int n_ctx = opts_.num_ctx;
  std::vector<int32_t> prompt = std::move(admission.prompt);
  std::shared_ptr<engine::sample::CompiledFormat> format = std::move(admission.format);
  Slot* s = acquire_slot(prompt, cancelled);
  // The slot is reserved: the loop does not look at it until it is queued below, so its
  // fields are filled in without the lock.
  s->prompt = prompt;
  s->req = req;
  s->sampler = std::make_unique<engine::sample::Sampler>(req.sampling, model_->n_vocab(), n_ctx);
  for (int32_t t : prompt) s->sampler->accept(t);
  s->decoder = std::make_unique<tokenizer::StreamDecoder>(model_->tokenizer());
  s->preserved.clear();
  for (const auto& text : req.preserved_tokens)
    if (int32_t id = model_->tokenizer().find_token(text); id >= 0) s->preserved.push_back(id);
  s->stop = std::make_unique<StopMatcher>(req.stop);
  s->limit = req.num_predict < 0 ? 10 * n_ctx : std::min(req.num_predict, 10 * n_ctx);
  s->generated.clear();
  s->last_piece.clear();
  s->repeats = 0;
  s->constraint.reset();
  if (format) s->constraint = std::make_unique<engine::sample::Constraint>(format, format->vocab);
  s->constraint_on = format && req.format_after.empty();
  s->recent_text.clear();
  s->next_token = -1;
  s->error.clear();
  s->out.clear();
  s->result = CompletionResult{};
  s->start = Clock::now();
  {
    std::lock_guard<std::mutex> l(mu_);
    s->state = Slot::State::kQueued;
  }
  work_cv_.notify_one();
  return std::unique_ptr<Completion>(new Completion(*this, s, cancelled));
}

bool Runner::Completion::next(CompletionChunk& out) {
  if (!slot_) return false;
  Slot* s = slot_;
  std::unique_lock<std::mutex> l(runner_.mu_);
  while (true) {
    // A client that leaves during a long prefill (no chunks yet) or between tokens is noticed
    // here; the loop finishes the slot at its next step.
    while (!s->cv.wait_for(l, kCancelPoll,
                           [&] { return !s->out.empty() || s->state == Slot::State::kDone; })) {
      if (!s->cancel && cancelled_ && cancelled_()) {
        s->cancel = true;
        runner_.work_cv_.notify_one();
      }
    }
    if (!s->out.empty()) {
      out = std::move(s->out.front());
      s->out.pop_front();
      if (!s->cancel) return true;
      continue;  // cancelled: drained, not delivered
    }
    if (s->state == Slot::State::kDone) break;
  }
  result_ = std::move(s->result);
  const std::string error = s->error;
  l.unlock();
  release();
  if (!error.empty()) throw util::Error(error);
  return false;
}

void Runner::Completion::cancel() {
  if (!slot_) return;
  std::lock_guard<std::mutex> l(runner_.mu_);
  slot_->cancel = true;
  runner_.work_cv_.notify_one();
}

void Runner::Completion::release() {
  if (!slot_) return;
  {
    std::lock_guard<std::mutex> l(runner_.mu_);
    slot_->state = Slot::State::kFree;
    runner_.active_--;
  }
  slot_ = nullptr;
  runner_.slot_cv_.notify_all();
}

Runner::Completion::~Completion() {
  if (!slot_) return;
  // Left before the end: stop the generation and wait for the loop to let go of the slot.
  cancel();
  {
    std::unique_lock<std::mutex> l(runner_.mu_);
    slot_->cv.wait(l, [&] { return slot_->state == Slot::State::kDone; });
    slot_->out.clear();
  }
  release();
}

void Runner::loop() {
  std::vector<Slot*> active;
  while (true) {
    {
      std::unique_lock<std::mutex> l(mu_);
      work_cv_.wait(l, [&] {
        if (stop_) return true;
        for (auto& s : slots_)
          if (s->state == Slot::State::kQueued || s->state == Slot::State::kRunning) return true;
        return false;
      });
      active.clear();
      for (auto& s : slots_) {
        if (s->state == Slot::State::kQueued) {
          s->state = Slot::State::kRunning;
          ctx_->kv_seq_truncate(s->seq, static_cast<int32_t>(s->keep));
          s->cached.resize(s->keep);
          s->n_prompt_done = s->keep;
        }
        if (s->state == Slot::State::kRunning) active.push_back(s.get());
      }
      if (stop_ && active.empty()) return;
    }
    step(active);
    if (ctx_) {
      int64_t used = 0;  // read here, on the thread that decodes
      for (int seq = 0; seq < ctx_->n_seq_max(); seq++) used += ctx_->kv_seq_n_tokens(seq);
      kv_used_ = used;
    }
  }
}

void Runner::step(std::vector<Slot*>& active) {
  const auto& tok = model_->tokenizer();
  auto finish = [&](Slot* s, const std::string& reason, const std::string& tail) {
    std::lock_guard<std::mutex> l(mu_);
    if (!tail.empty()) s->out.push_back({tail, {}});
    s->result.done_reason = reason;
    s->result.eval_count = static_cast<int>(s->generated.size());
    if (s->result.prompt_eval_count == 0)
      s->result.prompt_eval_count = static_cast<int>(s->prompt.size());
    s->result.eval_ns = s->generated.empty() ? 0 : ns_since(s->first_token);
    s->result.context = s->prompt;
    s->result.context.insert(s->result.context.end(), s->generated.begin(), s->generated.end());
    s->state = Slot::State::kDone;
    s->cv.notify_all();
  };

  engine::Batch batch;
  std::vector<std::pair<Slot*, int>> sample_at;  // slot, batch index whose logits to sample
  std::vector<std::pair<Slot*, size_t>> added;   // slot, tokens added to its cells
  for (Slot* s : active) {
    if (s->cancel) {
      finish(s, "stop", "");
      continue;
    }
    if (s->n_prompt_done < s->prompt.size() || s->next_token < 0) continue;
    // Decode step: make room first when the window is full.
    if (static_cast<int>(s->cached.size()) >= opts_.num_ctx) {
      if (!s->req.shift) {
        finish(s, "length", s->stop->flush());
        continue;
      }
      int bos = tok.add_bos() ? 1 : 0;
      int n_keep = std::clamp(s->req.num_keep + bos, 0, opts_.num_ctx - 2);
      int n_discard = (static_cast<int>(s->cached.size()) - n_keep) / 2;
      ctx_->kv_context_shift(s->seq, n_keep, n_discard);
      s->cached.erase(s->cached.begin() + n_keep, s->cached.begin() + n_keep + n_discard);
    }
    sample_at.push_back({s, static_cast<int>(batch.size())});
    batch.add(s->next_token, static_cast<int32_t>(s->cached.size()), s->seq, true);
    added.push_back({s, 1});
  }
  // Prompt chunks fill the rest of the batch. While other sequences are decoding, a step takes
  // only a small prompt chunk, so a long prefill does not stall their streams for seconds.
  int budget = opts_.num_batch - static_cast<int>(batch.size());
  if (batch.size() > 0) budget = std::min(budget, kPrefillChunkWhileDecoding);
  for (Slot* s : active) {
    if (s->state == Slot::State::kDone || s->n_prompt_done >= s->prompt.size() || budget <= 0)
      continue;
    size_t take = std::min<size_t>(budget, s->prompt.size() - s->n_prompt_done);
    for (size_t i = 0; i < take; i++) {
      size_t p = s->n_prompt_done + i;
      bool last = p + 1 == s->prompt.size();
      if (last) sample_at.push_back({s, static_cast<int>(batch.size())});
      batch.add(s->prompt[p], static_cast<int32_t>(s->cached.size() + i), s->seq, last);
    }
    added.push_back({s, take});
    budget -= static_cast<int>(take);
  }
  if (batch.size() == 0) return;

  try {
    ctx_->decode(batch);
  } catch (const std::exception& e) {
    for (auto& [s, n] : added) {
      s->error = e.what();
      finish(s, "stop", "");
    }
    return;
  }
  for (auto& [s, n] : added) {
    if (s->n_prompt_done < s->prompt.size()) {
      s->cached.insert(s->cached.end(), s->prompt.begin() + static_cast<long>(s->n_prompt_done),
                       s->prompt.begin() + static_cast<long>(s->n_prompt_done + n));
      s->n_prompt_done += n;
    } else {
      s->cached.push_back(s->next_token);
    }
  }

  for (auto& [s, idx] : sample_at) {
    const float* logits = ctx_->logits_at_batch(idx);
    int32_t t = s->sampler->sample(logits);
    if (s->constraint_on) {
      // The unconstrained draw stands when it fits; otherwise draw again among the tokens
      // that do (constraint.h: the same distribution as masking every step).
      try {
        if (!s->constraint->allows(t)) t = s->sampler->sample(logits, s->constraint->mask().data());
        if (t < 0) throw util::Error("format: no token of this model can continue the output");
        s->constraint->accept(t);
      } catch (const std::exception& e) {
        s->error = e.what();
        finish(s, "stop", "");
        continue;
      }
    }
    s->sampler->accept(t);
    if (s->generated.empty()) {
      s->first_token = Clock::now();
      s->result.prompt_eval_ns = ns_since(s->start);
      s->result.prompt_eval_count = static_cast<int>(s->prompt.size());
    }
    if (tok.is_eog(t)) {
      std::string tail = s->decoder->flush();
      tail = s->stop->push(tail) + s->stop->flush();
      finish(s, "stop", tail);
      continue;
    }
    s->generated.push_back(t);
    CompletionChunk chunk;
    if (s->req.logprobs) {
      TokenLogprob lp{tok.piece(t), engine::sample::logprob_of(logits, model_->n_vocab(), t), {}};
      if (s->req.top_logprobs > 0)
        for (auto& alt :
             engine::sample::top_logprobs(logits, model_->n_vocab(), s->req.top_logprobs))
          lp.top.push_back({tok.piece(alt.id), alt.logprob, {}});
      chunk.logprobs.push_back(std::move(lp));
    }
    const bool preserved =
        std::find(s->preserved.begin(), s->preserved.end(), t) != s->preserved.end();
    std::string piece =
        preserved ? s->decoder->flush() + std::string(tok.token_text(t)) : s->decoder->push(t);
    chunk.text = s->stop->push(piece);
    if (s->constraint && !s->constraint_on) {  // waiting for the end of the thinking
      s->recent_text += piece;
      if (s->recent_text.find(s->req.format_after) != std::string::npos) {
        s->constraint_on = true;
      } else if (s->recent_text.size() > 2 * s->req.format_after.size() + 64) {
        s->recent_text.erase(0, s->recent_text.size() - s->req.format_after.size());
      }
    }
    if (s->constraint_on && s->constraint->finished()) {  // the value is complete: stop here
      std::string tail = s->stop->push(s->decoder->flush()) + s->stop->flush();
      finish(s, "stop", chunk.text + tail);
      continue;
    }
    std::string trimmed = piece;
    trimmed.erase(0, trimmed.find_first_not_of(" \t\n"));
    if (s->constraint_on) {
      // A format bounds the output itself (and repeats digits or list items on purpose).
    } else if (!trimmed.empty() && trimmed == s->last_piece) {
      if (++s->repeats >= kRepeatLimit) {
        finish(s, "stop", chunk.text);
        continue;
      }
    } else {
      s->repeats = 0;
      s->last_piece = trimmed;
    }
    if (s->stop->matched()) {
      s->result.stop_sequence = s->stop->matched_text();
      finish(s, "stop", chunk.text);
      continue;
    }
    if (static_cast<int>(s->generated.size()) >= s->limit) {
      std::string tail = s->stop->push(s->decoder->flush()) + s->stop->flush();
      chunk.text += tail;
      {
        std::lock_guard<std::mutex> l(mu_);
        if (!chunk.text.empty() || !chunk.logprobs.empty()) s->out.push_back(std::move(chunk));
      }
      finish(s, "length", "");
      continue;
    }
    s->next_token = t;
    if (!chunk.text.empty() || !chunk.logprobs.empty()) {
      std::lock_guard<std::mutex> l(mu_);
      s->out.push_back(std::move(chunk));
      s->cv.notify_all();
    }
  }
}

}  // namespace runner
