// nn::attention against a double-precision reference computed from a shadow copy of the KV
// cache: prompt lengths, GQA, head sizes, F16/F32 cells, sliding window, soft-cap, several
// sequences in one batch, cells out of position order, decode after a prompt.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <tuple>
#include <vector>

#include "engine/kv/kv_cache.h"
#include "engine/nn/blocks.h"
#include "engine/nn/step.h"
#include "ops/blocks.h"
#include "util/thread_pool.h"

namespace {

using engine::KvType;
using engine::nn::AttnOptions;

// One token of a batch: its sequence and position.
struct Tok {
  int seq;
  int32_t pos;
};

// What a cell holds, as the cache stores it (F16 cells: rounded to F16 and back).
struct ShadowCell {
  int32_t pos;
  std::vector<float> k, v;  // [n_head_kv * head_dim]
};

// A one-layer KV cache, scratch and pools, plus the shadow the reference reads.
class Harness {
 public:
  Harness(int n_head_kv, int group, int head_dim, KvType type, int n_ctx = 512, int n_seq = 2,
          int n_batch = 256)
      : type_(type), pool_(2), serial_(1), rng_(1234 + head_dim * 7 + group) {
    sh_.n_head_kv = n_head_kv;
    sh_.n_head = n_head_kv * group;
    sh_.head_dim_k = sh_.head_dim_v = head_dim;
    sh_.n_embd = sh_.n_head * head_dim;
    sh_.n_ff = 1;
    kv_ =
        std::make_unique<engine::kv::KvCache>(1, n_head_kv, head_dim, head_dim, n_ctx, n_seq, type);
    buf_.resize(sh_, n_batch, n_ctx, pool_.size());
    shadow_.resize(n_seq);
  }

  // Runs one attention call for `toks` (fresh random q/k/v) and returns the largest
  // |attention - reference| over all outputs.
  double run(const std::vector<Tok>& toks, float scale, AttnOptions opt = {}) {
    const int n = static_cast<int>(toks.size());
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (int64_t i = 0; i < n * sh_.n_q(); i++) buf_.q[i] = 2.0f * u(rng_);
    for (int64_t i = 0; i < n * sh_.n_k(); i++) buf_.k[i] = u(rng_);
    for (int64_t i = 0; i < n * sh_.n_v(); i++) buf_.v[i] = u(rng_);
    std::vector<int32_t> pos(n), seq(n), cell(n);
    for (int t = 0; t < n; t++) {
      pos[t] = toks[t].pos;
      seq[t] = toks[t].seq;
      cell[t] = kv_->append(seq[t], pos[t]);
      ShadowCell c{pos[t], {}, {}};
      for (int64_t i = 0; i < sh_.n_k(); i++) c.k.push_back(stored(buf_.k[t * sh_.n_k() + i]));
      for (int64_t i = 0; i < sh_.n_v(); i++) c.v.push_back(stored(buf_.v[t * sh_.n_v() + i]));
      EXPECT_EQ(cell[t], static_cast<int>(shadow_[seq[t]].size()));
      shadow_[seq[t]].push_back(std::move(c));
    }
    engine::nn::Step s;
    s.pool = &pool_;
    s.serial = &serial_;
    s.kv = kv_.get();
    s.buf = &buf_;
    s.n_tokens = n;
    s.pos = pos.data();
    s.seq = seq.data();
    s.cell = cell.data();
    const std::vector<float> q(buf_.q.begin(), buf_.q.begin() + n * sh_.n_q());
    std::fill(buf_.attn.begin(), buf_.attn.end(), std::nanf(""));
    engine::nn::attention(s, 0, sh_, scale, opt);

    double worst = 0;
    const int64_t hd = sh_.head_dim_k, group = sh_.n_head / sh_.n_head_kv;
    std::vector<double> p, o(hd);
    for (int t = 0; t < n; t++) {
      for (int64_t h = 0; h < sh_.n_head; h++) {
        reference(shadow_[seq[t]], &q[t * sh_.n_q() + h * hd], h / group, pos[t], scale, opt, p, o);
        const float* got = &buf_.attn[(t * sh_.n_head + h) * hd];
        for (int64_t d = 0; d < hd; d++) {
          const double e = std::fabs(got[d] - o[d]);
          if (!(e <= worst)) worst = std::isnan(e) ? INFINITY : e;  // NaN counts as a failure
        }
      }
    }
    return worst;
  }

  // Context shift as the runner does it: positions [p0, p1) move by delta in place.
  void shift(int seq, int32_t p0, int32_t p1, int32_t delta) {
    for (int c : kv_->seq_shift(seq, p0, p1, delta)) shadow_[seq][c].pos += delta;
  }
  void remove(int seq, int32_t p0, int32_t p1) {
    kv_->seq_remove(seq, p0, p1);
    auto& cells = shadow_[seq];
    cells.erase(
        std::remove_if(cells.begin(), cells.end(),
                       [&](const ShadowCell& c) { return c.pos >= p0 && (p1 < 0 || c.pos < p1); }),
        cells.end());
  }
  int64_t head_dim() const { return sh_.head_dim_k; }

 private:
  float stored(float x) const {
    return type_ == KvType::kF16 ? ops::fp16_to_fp32(ops::fp32_to_fp16(x)) : x;
  }

  // softmax(scale q.k (soft-capped), masked by position) . v over the cells, in double.
  void reference(const std::vector<ShadowCell>& cells, const float* q, int64_t kvh, int32_t pt,
                 float scale, AttnOptions opt, std::vector<double>& p,
                 std::vector<double>& o) const {
    const int64_t hd = sh_.head_dim_k;
    p.assign(cells.size(), -INFINITY);
    double m = -INFINITY;
    for (size_t c = 0; c < cells.size(); c++) {
      const int32_t pc = cells[c].pos;
      if (pc > pt || (opt.window > 0 && pt - pc >= opt.window)) continue;
      double dot = 0;
      for (int64_t d = 0; d < hd; d++) dot += double(q[d]) * cells[c].k[kvh * hd + d];
      double sc = dot * scale;
      if (opt.softcap > 0) sc = opt.softcap * std::tanh(sc / opt.softcap);
      p[c] = sc;
      m = std::max(m, sc);
    }
    double sum = 0;
    for (double& x : p) sum += (x = std::exp(x - m));
    std::fill(o.begin(), o.end(), 0.0);
    for (size_t c = 0; c < cells.size(); c++) {
      for (int64_t d = 0; d < hd; d++) o[d] += p[c] / sum * cells[c].v[kvh * hd + d];
    }
  }

  KvType type_;
  engine::nn::Shape sh_;
  util::ThreadPool pool_, serial_;
  std::mt19937 rng_;
  std::unique_ptr<engine::kv::KvCache> kv_;
  engine::nn::Scratch buf_;
  std::vector<std::vector<ShadowCell>> shadow_;
};

std::vector<Tok> prompt(int seq, int32_t p0, int n) {
  std::vector<Tok> t;
  for (int i = 0; i < n; i++) t.push_back({seq, p0 + i});
  return t;
}

// Only float accumulation separates the two: the reference reads the same (F16-rounded) K/V,
// and neither queries nor probabilities are rounded. Outputs are O(1) (|v| <= 1), and a
// masking or range error moves them by ~1/n_keys >= 3e-3, far above this.
constexpr double kTol = 1e-4;

float scale_for(int64_t head_dim) { return 1.0f / std::sqrt(static_cast<float>(head_dim)); }

class AttentionPrompt : public ::testing::TestWithParam<std::tuple<int, int, int, KvType>> {};

TEST_P(AttentionPrompt, MatchesReference) {
  const auto [len, group, head_dim, type] = GetParam();
  Harness h(2, group, head_dim, type);
  EXPECT_LT(h.run(prompt(0, 0, len), scale_for(head_dim)), kTol);
  // A decode step after the prompt, then a second chunk of the same sequence.
  EXPECT_LT(h.run(prompt(0, len, 1), scale_for(head_dim)), kTol);
  EXPECT_LT(h.run(prompt(0, len + 1, 7), scale_for(head_dim)), kTol);
}

INSTANTIATE_TEST_SUITE_P(Shapes, AttentionPrompt,
                         ::testing::Combine(::testing::Values(1, 5, 64, 200),
                                            ::testing::Values(1, 4), ::testing::Values(64, 128),
                                            ::testing::Values(KvType::kF16, KvType::kF32)),
                         [](const auto& info) {
                           return "len" + std::to_string(std::get<0>(info.param)) + "_group" +
                                  std::to_string(std::get<1>(info.param)) + "_hd" +
                                  std::to_string(std::get<2>(info.param)) +
                                  (std::get<3>(info.param) == KvType::kF16 ? "_f16" : "_f32");
                         });

class AttentionKv : public ::testing::TestWithParam<KvType> {};

TEST_P(AttentionKv, SlidingWindowPromptAndDecode) {
  for (int32_t window : {1, 7, 16, 40}) {
    Harness h(2, 4, 64, GetParam());
    const AttnOptions opt{window, 0.0f};
    EXPECT_LT(h.run(prompt(0, 0, 150), 0.125f, opt), kTol) << "window " << window;
    for (int i = 0; i < 3; i++)
      EXPECT_LT(h.run(prompt(0, 150 + i, 1), 0.125f, opt), kTol) << "window " << window;
  }
}

TEST_P(AttentionKv, SoftCapWithAndWithoutWindow) {
  Harness h(1, 4, 64, GetParam());
  // Scores of this size reach the cap's bend: q is scaled up so that tanh matters.
  EXPECT_LT(h.run(prompt(0, 0, 70), 0.5f, {0, 4.0f}), kTol);
  EXPECT_LT(h.run(prompt(0, 70, 1), 0.5f, {0, 4.0f}), kTol);
  EXPECT_LT(h.run(prompt(0, 71, 33), 0.5f, {16, 4.0f}), kTol);
}

TEST_P(AttentionKv, TwoSequencesInOneBatch) {
  Harness h(2, 4, 64, GetParam());
  const float sc = 0.125f;
  EXPECT_LT(h.run(prompt(0, 0, 30), sc), kTol);
  EXPECT_LT(h.run(prompt(1, 0, 7), sc), kTol);
  // Runs of each sequence (chunked prefill next to another prompt).
  std::vector<Tok> b = prompt(0, 30, 40);
  for (const Tok& t : prompt(1, 7, 13)) b.push_back(t);
  EXPECT_LT(h.run(b, sc), kTol);
  // Interleaved token by token, different positions (continuous batching).
  b.clear();
  for (int i = 0; i < 9; i++) {
    b.push_back({0, 70 + i});
    b.push_back({1, 20 + i});
  }
  EXPECT_LT(h.run(b, sc), kTol);
  // Both decoding.
  EXPECT_LT(h.run({{0, 79}, {1, 29}}, sc), kTol);
  EXPECT_LT(h.run({{1, 30}, {0, 80}}, sc, {12, 0.0f}), kTol);
}

TEST_P(AttentionKv, CellsNotInPositionOrder) {
  // A prompt whose tokens arrive in shuffled order: cell order != position order.
  Harness h(2, 4, 64, GetParam());
  std::vector<Tok> b = prompt(0, 0, 90);
  std::shuffle(b.begin(), b.end(), std::mt19937(7));
  EXPECT_LT(h.run(b, 0.125f), kTol);
  EXPECT_LT(h.run(prompt(0, 90, 20), 0.125f, {25, 0.0f}), kTol);

  // A context shift that moves the older half behind the newer one.
  Harness g(2, 4, 64, GetParam());
  EXPECT_LT(g.run(prompt(0, 0, 60), 0.125f), kTol);
  g.shift(0, 0, 30, 100);  // cells 0..29 now at 100..129, cells 30..59 still at 30..59
  EXPECT_LT(g.run(prompt(0, 130, 5), 0.125f), kTol);
  EXPECT_LT(g.run(prompt(0, 135, 1), 0.125f, {50, 0.0f}), kTol);
  // The usual shift (drop the oldest, move the rest down) keeps the order.
  g.remove(0, 30, 45);
  g.shift(0, 45, 60, -15);
  EXPECT_LT(g.run(prompt(0, 136, 17), 0.125f), kTol);
}

TEST_P(AttentionKv, OrderedAndShuffledSequencesInterleaved) {
  // Sequence 1 is shuffled, 0 and 2 are in order: each keeps its own kind of range.
  Harness h(2, 4, 64, GetParam(), 512, 3);
  EXPECT_LT(h.run(prompt(0, 0, 40), 0.125f), kTol);
  std::vector<Tok> b = prompt(1, 0, 40);
  std::shuffle(b.begin(), b.end(), std::mt19937(11));
  EXPECT_LT(h.run(b, 0.125f), kTol);
  EXPECT_LT(h.run(prompt(2, 0, 40), 0.125f), kTol);
  b.clear();
  for (int i = 0; i < 12; i++) {
    for (int seq = 0; seq < 3; seq++) b.push_back({seq, 40 + i});
  }
  EXPECT_LT(h.run(b, 0.125f), kTol);
  EXPECT_LT(h.run({{2, 52}, {1, 52}, {0, 52}}, 0.125f, {9, 0.0f}), kTol);
}

TEST_P(AttentionKv, DecodeSplitsLargeGroups) {
  // One KV head with 8 query heads: a decode step has a single block, so the group is split
  // across work items; a shorter range than a tile (n_keys < 16) and a non-multiple of 16.
  Harness h(1, 8, 64, GetParam());
  EXPECT_LT(h.run(prompt(0, 0, 3), 0.125f), kTol);
  EXPECT_LT(h.run(prompt(0, 3, 1), 0.125f), kTol);
  EXPECT_LT(h.run(prompt(0, 4, 30), 0.125f), kTol);
  EXPECT_LT(h.run(prompt(0, 34, 1), 0.125f), kTol);
}

TEST_P(AttentionKv, SmallHeadDim) {
  // head_dim 16 and 32 (the tiny reference models): not a multiple of the tile in every path.
  for (int hd : {16, 32, 48}) {
    Harness h(2, 2, hd, GetParam());
    EXPECT_LT(h.run(prompt(0, 0, 45), scale_for(hd)), kTol) << hd;
    EXPECT_LT(h.run(prompt(0, 45, 1), scale_for(hd)), kTol) << hd;
  }
}

INSTANTIATE_TEST_SUITE_P(Types, AttentionKv, ::testing::Values(KvType::kF16, KvType::kF32),
                         [](const auto& info) {
                           return info.param == KvType::kF16 ? std::string("f16")
                                                             : std::string("f32");
                         });

}  // namespace
