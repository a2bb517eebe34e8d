// EngineRunner's loop: one engine step per iteration for every active sequence (continuous
// batching), chunked prefill beside decoding sequences, sampling, stop strings, outputs.
#include <algorithm>
#include <chrono>
#include <deque>
#include <iterator>
#include <set>

#include "engine/card.h"
#include "engine/decoder_embed.h"
#include "engine/gguf/gguf.h"
#include "engine/tokenizer/tokenizer.h"
#include "runner/engine_runner.h"
#include "runner/slot.h"
#include "runner/stop.h"
#include "util/error.h"
#include "util/log.h"
#include "util/thread_pool.h"

namespace runner {

using namespace detail;

void EngineRunner::loop() {
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
          if (ctx_) ctx_->kv_seq_truncate(s->seq, static_cast<int32_t>(s->keep));
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

void EngineRunner::leave_gpu() {
  {
    std::lock_guard<std::mutex> l(mu_);
    gpu_layers_ = 0;
    for (auto& s : slots_) {  // nothing of any sequence is cached any more
      s->cached.clear();
      s->keep = 0;
    }
  }
  ctx_.reset();  // the GPU context's host KV cache goes before the CPU's is made
  try {
    ctx_ = model_->new_context(cpu_options_);
  } catch (const std::exception& e) {
    broken_ = std::string("the GPU failed and the CPU could not take the model: ") + e.what();
    LOG_ERROR("{}", broken_);
  }
}

void EngineRunner::step(std::vector<Slot*>& active) {
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

  if (!ctx_) {  // leave_gpu could not make a CPU context: every request gets why
    for (Slot* s : active) {
      s->error = broken_;
      finish(s, "stop", "");
    }
    return;
  }
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
    const auto* ue = dynamic_cast<const util::Error*>(&e);
    const bool gpu_failed =
        gpu_layers_ > 0 && ue != nullptr &&
        (ue->kind() == util::ErrorKind::kDevice || ue->kind() == util::ErrorKind::kOutOfMemory);
    // Said before any request hears of it, so the log explains what the client sees.
    if (gpu_failed) LOG_WARN("the GPU failed ({}); the model goes on from the CPU", e.what());
    // Which requests fail, decided before any of them is told: a finished slot can be taken
    // by a new request at once, and that one must not get this error. Without the GPU's
    // context every running sequence loses its cells.
    std::vector<Slot*> fail;
    if (gpu_failed) {
      std::lock_guard<std::mutex> l(mu_);
      for (Slot* s : active)
        if (s->state == Slot::State::kRunning) fail.push_back(s);
    } else {
      for (auto& [s, n] : added) fail.push_back(s);
    }
    for (Slot* s : fail) {
      s->error = e.what();
      finish(s, "stop", "");
    }
    if (gpu_failed) leave_gpu();
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
