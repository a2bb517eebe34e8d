// Token sampling as Ollama's runner does it (spec §3.13): penalties over the last
// repeat_last_n tokens, then top_k, typical_p, top_p, min_p, temperature, seeded pick.
#pragma once
#include <cstdint>
#include <deque>
#include <random>
#include <vector>

namespace engine::sample {

struct SamplerParams {
  int top_k = 40;            // <= 0: off
  float top_p = 0.9f;        // >= 1: off
  float min_p = 0.0f;        // <= 0: off
  float typical_p = 1.0f;    // >= 1: off
  float temperature = 0.8f;  // <= 0: greedy (argmax, ties -> lowest id)
  int repeat_last_n = 64;    // 0: no penalties; -1: the whole context (n_ctx given below)
  float repeat_penalty = 1.0f;
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  int64_t seed = -1;  // -1: random
};

struct Candidate {
  int32_t id;
  float logit;
  float p;
};

class Sampler {
 public:
  // n_ctx resolves repeat_last_n = -1.
  Sampler(const SamplerParams& params, int64_t n_vocab, int n_ctx = 4096);

  // Picks the next token from raw logits ([n_vocab]); does not record it (call accept).
  // `allowed` (a bitset over the vocabulary, bit id % 64 of word id / 64) limits the choice to
  // its tokens, the distribution renormalized over them; -1 when it allows none.
  int32_t sample(const float* logits, const uint64_t* allowed = nullptr);
  // Records a token (prompt tokens too) in the penalty window.
  void accept(int32_t token);
  void reset();  // clears the penalty window (the RNG keeps its state)

  const SamplerParams& params() const { return params_; }

 private:
  void apply_penalties(std::vector<Candidate>& c) const;

  SamplerParams params_;
  int64_t n_vocab_;
  size_t window_;
  std::deque<int32_t> recent_;
  std::mt19937 rng_;
  std::vector<Candidate> cand_;  // reused between calls
};

// Candidate-list steps, usable on their own (tests, other chains). Each keeps at least one
// candidate. softmax() sorts nothing; the others sort by logit descending where they need it.
void softmax(std::vector<Candidate>& c);
void top_k(std::vector<Candidate>& c, int k);
void top_p(std::vector<Candidate>& c, float p);
void min_p(std::vector<Candidate>& c, float p);
void typical_p(std::vector<Candidate>& c, float p);
void temperature(std::vector<Candidate>& c, float t);
int32_t argmax(const float* logits, int64_t n);  // first maximum

// Log-probabilities (log-softmax of raw logits) for Ollama's logprobs output.
struct TokenLogprob {
  int32_t id;
  float logprob;
};
float logprob_of(const float* logits, int64_t n_vocab, int32_t id);
// The n most likely tokens, most likely first (ties -> lower id).
std::vector<TokenLogprob> top_logprobs(const float* logits, int64_t n_vocab, int n);

}  // namespace engine::sample
