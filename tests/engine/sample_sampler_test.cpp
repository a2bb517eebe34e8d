// Samplers: greedy ties, penalties, each truncation step, seeded determinism, and that a
// sampled distribution follows the softmax; logprobs.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "engine/sample/sampler.h"

namespace {

using engine::sample::Candidate;
using engine::sample::Sampler;
using engine::sample::SamplerParams;

std::vector<Candidate> cands(const std::vector<float>& logits) {
  std::vector<Candidate> c;
  for (size_t i = 0; i < logits.size(); i++) c.push_back({int32_t(i), logits[i], 0});
  return c;
}

std::vector<int32_t> ids(const std::vector<Candidate>& c) {
  std::vector<int32_t> v;
  for (const auto& x : c) v.push_back(x.id);
  return v;
}

SamplerParams greedy_params() {
  SamplerParams p;
  p.temperature = 0;
  return p;
}

TEST(SampleSampler, GreedyPicksFirstMaximum) {
  const std::vector<float> lg = {0.5f, 2.0f, -1.0f, 2.0f};
  Sampler s(greedy_params(), 4);
  EXPECT_EQ(s.sample(lg.data()), 1);
}

TEST(SampleSampler, RepeatPenaltyDividesPositiveMultipliesNegative) {
  SamplerParams p = greedy_params();
  p.repeat_penalty = 2.0f;
  // Token 0 (3.0) repeated -> 1.5 < token 1 (2.0); token 2 (-0.5) -> -1.0.
  std::vector<float> lg = {3.0f, 2.0f, -0.5f};
  Sampler s(p, 3);
  s.accept(0);
  EXPECT_EQ(s.sample(lg.data()), 1);
  // With token 1 penalized too, 0 (1.5) beats 1 (1.0).
  s.accept(1);
  EXPECT_EQ(s.sample(lg.data()), 0);
}

TEST(SampleSampler, PresenceAndFrequencyPenalties) {
  SamplerParams p = greedy_params();
  p.frequency_penalty = 0.4f;
  std::vector<float> lg = {1.0f, 0.5f};
  Sampler s(p, 2);
  s.accept(0);
  EXPECT_EQ(s.sample(lg.data()), 0);  // 1.0 - 0.4 = 0.6 > 0.5
  s.accept(0);
  EXPECT_EQ(s.sample(lg.data()), 1);  // 1.0 - 0.8 = 0.2 < 0.5
  SamplerParams q = greedy_params();
  q.presence_penalty = 0.6f;
  Sampler t(q, 2);
  t.accept(0);
  t.accept(0);
  EXPECT_EQ(t.sample(lg.data()), 1);  // 1.0 - 0.6 (once, however often) = 0.4
}

TEST(SampleSampler, RepeatWindowForgetsOldTokens) {
  SamplerParams p = greedy_params();
  p.repeat_penalty = 10.0f;
  p.repeat_last_n = 2;
  std::vector<float> lg = {3.0f, 2.0f, 0.0f};
  Sampler s(p, 3);
  s.accept(0);
  EXPECT_EQ(s.sample(lg.data()), 1);
  s.accept(2);
  s.accept(2);  // token 0 fell out of the window
  EXPECT_EQ(s.sample(lg.data()), 0);
}

TEST(SampleSampler, TruncationSteps) {
  auto c = cands({1.0f, 3.0f, 2.0f, 0.0f});
  engine::sample::top_k(c, 2);
  EXPECT_EQ(ids(c), (std::vector<int32_t>{1, 2}));

  // Probabilities of {3, 2, 1, 0}: 0.644, 0.237, 0.087, 0.032.
  c = cands({1.0f, 3.0f, 2.0f, 0.0f});
  engine::sample::top_p(c, 0.85f);
  EXPECT_EQ(ids(c), (std::vector<int32_t>{1, 2}));
  c = cands({1.0f, 3.0f, 2.0f, 0.0f});
  engine::sample::top_p(c, 0.5f);
  EXPECT_EQ(ids(c), (std::vector<int32_t>{1}));

  c = cands({1.0f, 3.0f, 2.0f, 0.0f});
  engine::sample::min_p(c, 0.3f);  // keeps p >= 0.3 * 0.644: ids 1 and 2
  EXPECT_EQ(c.size(), 2u);

  // Typical: entropy ~0.96 nats; surprises 0.44 (id 1), 1.44 (id 2), 2.44, 3.44. Closest to
  // the entropy first: id 1 (0.52 away), then id 2 (0.48 away) -> id 2 comes first.
  c = cands({1.0f, 3.0f, 2.0f, 0.0f});
  engine::sample::typical_p(c, 0.2f);
  EXPECT_EQ(ids(c), (std::vector<int32_t>{2}));
}

TEST(SampleSampler, SameSeedSameTokens) {
  SamplerParams p;
  p.seed = 42;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.temperature = 1.0f;
  std::vector<float> lg(50);
  for (int i = 0; i < 50; i++) lg[i] = std::sin(i * 0.7f) * 2;
  Sampler a(p, 50), b(p, 50);
  std::vector<int32_t> ra, rb;
  for (int i = 0; i < 64; i++) {
    ra.push_back(a.sample(lg.data()));
    rb.push_back(b.sample(lg.data()));
  }
  EXPECT_EQ(ra, rb);
  p.seed = 43;
  Sampler c(p, 50);
  std::vector<int32_t> rc;
  for (int i = 0; i < 64; i++) rc.push_back(c.sample(lg.data()));
  EXPECT_NE(ra, rc);
}

TEST(SampleSampler, SamplesFollowTemperatureSoftmax) {
  SamplerParams p;
  p.seed = 7;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.temperature = 0.5f;
  const std::vector<float> lg = {0.0f, 0.5f, 1.0f};
  Sampler s(p, 3);
  std::map<int, int> count;
  const int n = 20000;
  for (int i = 0; i < n; i++) count[s.sample(lg.data())]++;
  // softmax(lg / 0.5) = softmax(0, 1, 2) = 0.090, 0.245, 0.665
  EXPECT_NEAR(count[0] / double(n), 0.090, 0.01);
  EXPECT_NEAR(count[1] / double(n), 0.245, 0.015);
  EXPECT_NEAR(count[2] / double(n), 0.665, 0.015);
}

TEST(SampleSampler, TopKOneIsGreedyEvenWithTemperature) {
  SamplerParams p;
  p.top_k = 1;
  p.temperature = 5.0f;
  const std::vector<float> lg = {0.1f, 0.3f, 0.2f};
  Sampler s(p, 3);
  for (int i = 0; i < 20; i++) EXPECT_EQ(s.sample(lg.data()), 1);
}

TEST(SampleSampler, Logprobs) {
  const std::vector<float> lg = {0.0f, std::log(3.0f), 0.0f};  // probabilities 0.2, 0.6, 0.2
  EXPECT_NEAR(engine::sample::logprob_of(lg.data(), 3, 1), std::log(0.6), 1e-6);
  const auto top = engine::sample::top_logprobs(lg.data(), 3, 2);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].id, 1);
  EXPECT_EQ(top[1].id, 0);  // tie with id 2: lower id first
  EXPECT_NEAR(top[1].logprob, std::log(0.2), 1e-6);
}

}  // namespace
