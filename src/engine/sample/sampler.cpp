#include "engine/sample/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace engine::sample {

namespace {

bool by_logit_desc(const Candidate& a, const Candidate& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

void sort_desc(std::vector<Candidate>& c) { std::sort(c.begin(), c.end(), by_logit_desc); }

}  // namespace

void softmax(std::vector<Candidate>& c) {
  float mx = -INFINITY;
  for (const auto& x : c) mx = std::max(mx, x.logit);
  double sum = 0;
  for (auto& x : c) {
    x.p = std::exp(x.logit - mx);
    sum += x.p;
  }
  for (auto& x : c) x.p = static_cast<float>(x.p / sum);
}

void top_k(std::vector<Candidate>& c, int k) {
  if (k <= 0 || static_cast<size_t>(k) >= c.size()) {
    sort_desc(c);
    return;
  }
  std::partial_sort(c.begin(), c.begin() + k, c.end(), by_logit_desc);
  c.resize(k);
}

void top_p(std::vector<Candidate>& c, float p) {
  if (p >= 1.0f) return;
  sort_desc(c);
  softmax(c);
  double cum = 0;
  size_t keep = c.size();
  for (size_t i = 0; i < c.size(); i++) {
    cum += c[i].p;
    if (cum >= p) {
      keep = i + 1;
      break;
    }
  }
  c.resize(std::max<size_t>(keep, 1));
}

void min_p(std::vector<Candidate>& c, float p) {
  if (p <= 0.0f || c.empty()) return;
  float mx = -INFINITY;
  for (const auto& x : c) mx = std::max(mx, x.logit);
  // p_i >= p * p_max  <=>  logit_i >= max + log(p)
  const float threshold = mx + std::log(p);
  std::erase_if(c, [&](const Candidate& x) { return x.logit < threshold; });
}

void typical_p(std::vector<Candidate>& c, float p) {
  if (p >= 1.0f || c.size() <= 1) return;
  softmax(c);
  double entropy = 0;
  for (const auto& x : c) {
    if (x.p > 0) entropy -= x.p * std::log(x.p);
  }
  // Keep the tokens whose surprise is closest to the entropy, up to mass p.
  std::vector<std::pair<double, size_t>> order(c.size());
  for (size_t i = 0; i < c.size(); i++) {
    const double surprise = c[i].p > 0 ? -std::log(c[i].p) : INFINITY;
    order[i] = {std::fabs(surprise - entropy), i};
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Candidate> kept;
  double cum = 0;
  for (const auto& [dist, i] : order) {
    kept.push_back(c[i]);
    cum += c[i].p;
    if (cum >= p) break;
  }
  c = std::move(kept);
  sort_desc(c);
}

void temperature(std::vector<Candidate>& c, float t) {
  for (auto& x : c) x.logit /= t;
}

int32_t argmax(const float* logits, int64_t n) {
  return static_cast<int32_t>(std::max_element(logits, logits + n) - logits);
}

Sampler::Sampler(const SamplerParams& params, int64_t n_vocab, int n_ctx)
    : params_(params), n_vocab_(n_vocab) {
  window_ = params.repeat_last_n < 0 ? static_cast<size_t>(n_ctx)
                                     : static_cast<size_t>(params.repeat_last_n);
  const uint32_t seed =
      params.seed < 0 ? std::random_device{}() : static_cast<uint32_t>(params.seed);
  rng_.seed(seed);
}

void Sampler::accept(int32_t token) {
  if (window_ == 0) return;
  recent_.push_back(token);
  while (recent_.size() > window_) recent_.pop_front();
}

void Sampler::reset() { recent_.clear(); }

void Sampler::apply_penalties(std::vector<Candidate>& c) const {
  const bool any = params_.repeat_penalty != 1.0f || params_.presence_penalty != 0.0f ||
                   params_.frequency_penalty != 0.0f;
  if (!any || recent_.empty()) return;
  std::unordered_map<int32_t, int> count;
  for (int32_t t : recent_) count[t]++;
  // c is still indexed by token id here.
  for (const auto& [id, n] : count) {
    if (id < 0 || id >= static_cast<int32_t>(c.size())) continue;
    float& l = c[id].logit;
    l = l <= 0 ? l * params_.repeat_penalty : l / params_.repeat_penalty;
    l -= static_cast<float>(n) * params_.frequency_penalty + params_.presence_penalty;
  }
}

int32_t Sampler::sample(const float* logits, const uint64_t* allowed) {
  cand_.resize(n_vocab_);
  for (int64_t i = 0; i < n_vocab_; i++) cand_[i] = {static_cast<int32_t>(i), logits[i], 0.0f};
  apply_penalties(cand_);  // indexes cand_ by id: before any filtering
  if (allowed != nullptr) {
    std::erase_if(cand_, [allowed](const Candidate& c) {
      return ((allowed[c.id >> 6] >> (c.id & 63)) & 1) == 0;
    });
    if (cand_.empty()) return -1;
  }
  if (params_.temperature <= 0.0f) {
    size_t best = 0;  // candidates are in id order: the first maximum is the lowest id
    for (size_t i = 1; i < cand_.size(); i++) {
      if (cand_[i].logit > cand_[best].logit) best = i;
    }
    return cand_[best].id;
  }
  top_k(cand_, params_.top_k);
  typical_p(cand_, params_.typical_p);
  top_p(cand_, params_.top_p);
  min_p(cand_, params_.min_p);
  temperature(cand_, params_.temperature);
  softmax(cand_);
  std::uniform_real_distribution<double> uni(0.0, 1.0);
  const double r = uni(rng_);
  double cum = 0;
  for (const auto& x : cand_) {
    cum += x.p;
    if (r < cum) return x.id;
  }
  return cand_.back().id;
}

static double log_sum_exp(const float* logits, int64_t n) {
  const float mx = *std::max_element(logits, logits + n);
  double sum = 0;
  for (int64_t i = 0; i < n; i++) sum += std::exp(static_cast<double>(logits[i]) - mx);
  return mx + std::log(sum);
}

float logprob_of(const float* logits, int64_t n_vocab, int32_t id) {
  return static_cast<float>(logits[id] - log_sum_exp(logits, n_vocab));
}

std::vector<TokenLogprob> top_logprobs(const float* logits, int64_t n_vocab, int n) {
  const double lse = log_sum_exp(logits, n_vocab);
  std::vector<int32_t> ids(n_vocab);
  for (int64_t i = 0; i < n_vocab; i++) ids[i] = static_cast<int32_t>(i);
  const int k = static_cast<int>(std::min<int64_t>(std::max(n, 0), n_vocab));
  std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  });
  std::vector<TokenLogprob> out;
  for (int i = 0; i < k; i++) {
    out.push_back({ids[i], static_cast<float>(logits[ids[i]] - lse)});
  }
  return out;
}

}  // namespace engine::sample
