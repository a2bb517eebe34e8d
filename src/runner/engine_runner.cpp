#include "runner/engine_runner.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <iterator>
#include <set>

#include "engine/card.h"
#include "engine/decoder_embed.h"
#include "engine/gguf/gguf.h"
#include "engine/tokenizer/tokenizer.h"
#include "runner/slot.h"
#include "runner/stop.h"
#include "util/cancel.h"
#include "util/error.h"
#include "util/log.h"
#include "util/thread_pool.h"

namespace runner {

EngineRunner::EngineRunner(std::unique_ptr<engine::Model> model, const RunnerOptions& opts)
    : model_(std::move(model)), opts_(opts) {
  opts_.num_parallel = std::max(1, opts_.num_parallel);
  engine::ContextOptions co;
  co.n_ctx = opts_.num_ctx;
  co.n_seq_max = opts_.num_parallel;
  co.n_batch = opts_.num_batch;
  co.kv_type = opts_.kv_type;
  cpu_options_ = co;
  if (opts_.gpu) {
    co.gpu = true;
    co.gpu_layers = opts_.gpu_layers;
    co.gpu_overhead = opts_.gpu_overhead;
    co.gpu_cpu_device = opts_.gpu_cpu_device;
    try {
      ctx_ = model_->new_context(co);
      gpu_layers_ = ctx_->gpu_layers();
      LOG_INFO("model runs on the GPU: {} ({} of {} layers)", ctx_->device(), ctx_->gpu_layers(),
               model_->info().n_layer);
    } catch (const util::Error& e) {
      LOG_WARN("GPU not used for this model, running on the CPU: {}", e.what());
      co.gpu = false;
    }
  }
  if (!ctx_) ctx_ = model_->new_context(co);
  opts_.num_ctx = ctx_->n_ctx();
  kv_bytes_ = ctx_->kv_bytes();
  for (int i = 0; i < opts_.num_parallel; i++) {
    slots_.push_back(std::make_unique<Slot>());
    slots_.back()->seq = i;
  }
  thread_ = std::thread([this] { loop(); });
}

EngineRunner::EngineRunner(std::unique_ptr<engine::Embedder> embedder, const RunnerOptions& opts)
    : embedder_(std::move(embedder)), opts_(opts) {
  opts_.num_parallel = 1;
  opts_.num_ctx = static_cast<int>(std::min<int64_t>(
      opts_.num_ctx > 0 ? opts_.num_ctx : embedder_->n_ctx_train(), embedder_->n_ctx_train()));
}

EngineRunner::~EngineRunner() {
  if (!thread_.joinable()) return;  // embedding model: no loop
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
    for (auto& s : slots_) s->cancel = true;
  }
  work_cv_.notify_all();
  thread_.join();
}

// The GPU's share, by layers (the output goes with the GPU layers; close enough for ps).
size_t EngineRunner::vram_bytes() const {
  const int on = gpu_layers_;
  if (on <= 0 || model_->info().n_layer <= 0) return 0;
  if (on >= model_->info().n_layer) return memory_bytes();
  return static_cast<size_t>(static_cast<double>(memory_bytes()) * on / model_->info().n_layer);
}

size_t EngineRunner::memory_bytes() const {
  if (embedder_) return embedder_->weight_bytes();
  return model_->weight_bytes() + kv_bytes_;
}

const engine::Model& EngineRunner::model() const {
  if (!model_) throw util::bad_request("this model only produces embeddings");
  return *model_;
}

bool EngineRunner::can_embed() const {
  return embedder_ || engine::inspect(model_->file().path())->embeds_with_last_token();
}

bool EngineRunner::reranks() const {
  return embedder_ && embedder_->pooling() == engine::Pooling::kRank;
}

std::vector<int32_t> EngineRunner::embed_tokens(const std::string& text, bool truncate) const {
  if (embedder_) return embedder_->tokenize(text, opts_.num_ctx, truncate);
  std::vector<int32_t> ids = tokenize(text);  // a decoder: keep the first num_ctx tokens
  if (static_cast<int>(ids.size()) > opts_.num_ctx) {
    if (!truncate) throw util::bad_request("the input length exceeds the context length");
    ids.resize(opts_.num_ctx);
  }
  return ids;
}

std::vector<int32_t> EngineRunner::pair_tokens(const std::string& query, const std::string& doc,
                                               bool truncate) const {
  return embedder().tokenize_pair(query, doc, opts_.num_ctx, truncate);
}

RunnerFactory EngineRunner::factory() {
  return [](const std::string& path, bool encoder, const engine::LoadOptions& lo,
            const RunnerOptions& ro) -> std::shared_ptr<Runner> {
    if (encoder) return std::make_shared<EngineRunner>(engine::Embedder::load(path, lo), ro);
    return std::make_shared<EngineRunner>(engine::Model::load(path, lo), ro);
  };
}

const engine::Embedder& EngineRunner::embedder() const {
  if (!embedder_) throw util::bad_request("this model does not support embeddings");
  return *embedder_;
}

std::vector<std::vector<float>> EngineRunner::embed(
    const std::vector<std::vector<int32_t>>& batch) {
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

std::vector<int32_t> EngineRunner::tokenize(const std::string& text) const {
  if (embedder_) return embedder_->tokenize(text);
  const auto& tok = model_->tokenizer();
  return tok.encode(text, /*add_special=*/true, /*parse_special=*/true);
}

std::string EngineRunner::detokenize(const std::vector<int32_t>& ids) const {
  if (embedder_) return embedder_->tokenizer().decode(ids);
  return model_->tokenizer().decode(ids);
}

EngineRunner::Stats EngineRunner::stats() {
  Stats st;
  st.active = active_.load();
  st.kv_used = kv_used_.load();
  st.prefix_hits = prefix_hits_.load();
  st.prefix_tokens = prefix_tokens_.load();
  std::lock_guard<std::mutex> l(mu_);
  st.waiting = static_cast<int>(waiting_.size());
  st.slots = static_cast<int>(slots_.size());
  if (model_) st.kv_total = static_cast<int64_t>(opts_.num_ctx) * opts_.num_parallel;
  return st;
}

int32_t EngineRunner::vocab_size() const {
  return embedder_ ? embedder_->tokenizer().n_tokens() : model_->tokenizer().n_tokens();
}

EngineRunner::Slot* EngineRunner::acquire_slot(const std::vector<int32_t>& prompt,
                                               const std::stop_token& cancel) {
  util::WakeOnStop wake(cancel, util::NotifyUnder{&mu_, &slot_cv_});
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
  slot_cv_.wait(l, [&] { return cancel.stop_requested() || my_turn(); });
  if (cancel.stop_requested()) throw util::Error("request canceled", util::ErrorKind::kCancelled);
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

std::shared_ptr<engine::sample::CompiledFormat> EngineRunner::format_for(
    const CompletionRequest& req) {
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

EngineRunner::Admission EngineRunner::admit(const CompletionRequest& req) {
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

std::unique_ptr<Completion> EngineRunner::start(const CompletionRequest& req, Admission admission,
                                                std::stop_token cancel) {
  const int n_ctx = opts_.num_ctx;
  std::vector<int32_t> prompt = std::move(admission.prompt);
  std::shared_ptr<engine::sample::CompiledFormat> format = std::move(admission.format);
  Slot* s = acquire_slot(prompt, cancel);
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
  return std::unique_ptr<Completion>(new Generation(*this, s, std::move(cancel)));
}

bool EngineRunner::Generation::next(CompletionChunk& out) {
  if (!slot_) return false;
  Slot* s = slot_;
  std::unique_lock<std::mutex> l(runner_.mu_);
  while (true) {
    // A client that leaves (its token stopped: OnStop) has the loop finish the slot at its
    // next step, which wakes this wait with the slot done.
    s->cv.wait(l, [&] { return !s->out.empty() || s->state == Slot::State::kDone; });
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

void EngineRunner::Generation::cancel() {
  if (!slot_) return;
  std::lock_guard<std::mutex> l(runner_.mu_);
  slot_->cancel = true;
  runner_.work_cv_.notify_one();
}

EngineRunner::Generation::Generation(EngineRunner& r, Slot* s, std::stop_token cancel)
    : runner_(r), slot_(s) {
  if (cancel.stop_possible()) on_stop_.emplace(std::move(cancel), OnStop{this});
}

void EngineRunner::Generation::release() {
  if (!slot_) return;
  on_stop_.reset();  // not under mu_: it waits for a callback running now, which takes mu_
  {
    std::lock_guard<std::mutex> l(runner_.mu_);
    slot_->state = Slot::State::kFree;
    runner_.active_--;
  }
  slot_ = nullptr;
  runner_.slot_cv_.notify_all();
}

EngineRunner::Generation::~Generation() {
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

}  // namespace runner
