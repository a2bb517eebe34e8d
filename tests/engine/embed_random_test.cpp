// A tiny random bert and nomic-bert written with the project's GGUF writer, checked against a
// plain double-precision implementation of the same math written here, plus the properties
// an embedding must have (batch independence, cosine similarity, determinism).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <string>

#include "engine/embed.h"
#include "engine/gguf/writer.h"
#include "gguf_test_util.h"
#include "ops/types.h"
#include "random_weights.h"

namespace {

constexpr int kVocab = 40, kEmbd = 16, kHeads = 2, kFf = 24, kLayers = 2, kCtx = 32;
using Vec = std::vector<double>;

// Random weights kept in double for the reference and written as F32 to the file.
struct RandomModel : engine_test::RandomWeights {
  bool nomic;

  RandomModel(bool is_nomic, unsigned seed) : RandomWeights(seed), nomic(is_nomic) {}
  void build() {
    add("token_embd.weight", {kEmbd, kVocab}, 0.5);
    add("token_types.weight", {kEmbd, 2}, 0.5);
    if (!nomic) add("position_embd.weight", {kEmbd, kCtx}, 0.5);
    add("token_embd_norm.weight", {kEmbd}, 0.1, 1.0);
    add("token_embd_norm.bias", {kEmbd}, 0.1);
    const double w = 1.0 / std::sqrt(double(kEmbd));
    for (int i = 0; i < kLayers; i++) {
      const std::string p = "blk." + std::to_string(i) + ".";
      if (nomic) {
        add(p + "attn_qkv.weight", {kEmbd, 3 * kEmbd}, 1.5 * w);
      } else {
        for (const char* n : {"attn_q", "attn_k", "attn_v"}) {
          add(p + n + ".weight", {kEmbd, kEmbd}, 1.5 * w);
          add(p + n + ".bias", {kEmbd}, 0.1);
        }
        add(p + "attn_output.bias", {kEmbd}, 0.1);
        add(p + "ffn_up.bias", {kFf}, 0.1);
        add(p + "ffn_down.bias", {kEmbd}, 0.1);
      }
      add(p + "attn_output.weight", {kEmbd, kEmbd}, w);
      add(p + "attn_output_norm.weight", {kEmbd}, 0.1, 1.0);
      add(p + "attn_output_norm.bias", {kEmbd}, 0.1);
      add(p + "ffn_up.weight", {kEmbd, kFf}, w);
      if (nomic) add(p + "ffn_gate.weight", {kEmbd, kFf}, w);
      add(p + "ffn_down.weight", {kFf, kEmbd}, 1.0 / std::sqrt(double(kFf)));
      add(p + "layer_output_norm.weight", {kEmbd}, 0.1, 1.0);
      add(p + "layer_output_norm.bias", {kEmbd}, 0.1);
    }
  }
  void write(const std::string& path, int pooling) const {
    gguf::Writer w;
    const std::string a = nomic ? "nomic-bert" : "bert";
    w.set_string("general.architecture", a);
    w.set_u32(a + ".context_length", kCtx);
    w.set_u32(a + ".embedding_length", kEmbd);
    w.set_u32(a + ".block_count", kLayers);
    w.set_u32(a + ".feed_forward_length", kFf);
    w.set_u32(a + ".attention.head_count", kHeads);
    w.set_f32(a + ".attention.layer_norm_epsilon", 1e-12f);
    w.set_bool(a + ".attention.causal", false);
    w.set_u32(a + ".pooling_type", pooling);
    if (nomic) w.set_f32(a + ".rope.freq_base", 1000.0f);
    add_tensors(w);
    w.write(path);
  }

  // ---- the reference, in double precision ----
  const Vec& W(const std::string& n) const { return t.at(n); }
  // y[j] = sum_i W[j*k + i] x[i] (+ b[j]): GGUF [k, n] stores n rows of k.
  Vec lin(const std::string& n, const Vec& x, const std::string& bias = "") const {
    const Vec& m = W(n);
    const size_t k = x.size(), rows = m.size() / k;
    Vec y(rows, 0.0);
    for (size_t j = 0; j < rows; j++) {
      for (size_t i = 0; i < k; i++) y[j] += m[j * k + i] * x[i];
      if (!bias.empty()) y[j] += W(bias)[j];
    }
    return y;
  }
  Vec ln(Vec x, const std::string& n) const {
    double mean = 0, var = 0;
    for (double v : x) mean += v;
    mean /= x.size();
    for (double v : x) var += (v - mean) * (v - mean);
    var /= x.size();
    for (size_t i = 0; i < x.size(); i++)
      x[i] = (x[i] - mean) / std::sqrt(var + 1e-12) * W(n + ".weight")[i] + W(n + ".bias")[i];
    return x;
  }
  void rope(Vec& x, int pos) const {  // NeoX pairs (i, i + hd/2) in each head
    const int hd = kEmbd / kHeads;
    for (int h = 0; h < kHeads; h++) {
      for (int i = 0; i < hd / 2; i++) {
        const double theta = pos * std::pow(1000.0, -2.0 * i / hd);
        double& a = x[h * hd + i];
        double& b = x[h * hd + i + hd / 2];
        const double a0 = a, b0 = b;
        a = a0 * std::cos(theta) - b0 * std::sin(theta);
        b = a0 * std::sin(theta) + b0 * std::cos(theta);
      }
    }
  }
  std::vector<Vec> hidden(const std::vector<int32_t>& ids) const {
    const size_t n = ids.size();
    std::vector<Vec> x(n, Vec(kEmbd));
    for (size_t t = 0; t < n; t++) {
      for (int d = 0; d < kEmbd; d++) {
        x[t][d] = W("token_embd.weight")[ids[t] * kEmbd + d] + W("token_types.weight")[d];
        if (!nomic) x[t][d] += W("position_embd.weight")[t * kEmbd + d];
      }
      x[t] = ln(x[t], "token_embd_norm");
    }
    const int hd = kEmbd / kHeads;
    for (int il = 0; il < kLayers; il++) {
      const std::string p = "blk." + std::to_string(il) + ".";
      std::vector<Vec> q(n), k(n), v(n);
      for (size_t t = 0; t < n; t++) {
        if (nomic) {
          Vec qkv = lin(p + "attn_qkv.weight", x[t]);
          q[t] = Vec(qkv.begin(), qkv.begin() + kEmbd);
          k[t] = Vec(qkv.begin() + kEmbd, qkv.begin() + 2 * kEmbd);
          v[t] = Vec(qkv.begin() + 2 * kEmbd, qkv.end());
          rope(q[t], static_cast<int>(t));
          rope(k[t], static_cast<int>(t));
        } else {
          q[t] = lin(p + "attn_q.weight", x[t], p + "attn_q.bias");
          k[t] = lin(p + "attn_k.weight", x[t], p + "attn_k.bias");
          v[t] = lin(p + "attn_v.weight", x[t], p + "attn_v.bias");
        }
      }
      for (size_t t = 0; t < n; t++) {
        Vec att(kEmbd, 0.0);
        for (int h = 0; h < kHeads; h++) {
          Vec s(n);
          double mx = -1e300, sum = 0;
          for (size_t j = 0; j < n; j++) {
            s[j] = 0;
            for (int d = 0; d < hd; d++) s[j] += q[t][h * hd + d] * k[j][h * hd + d];
            s[j] /= std::sqrt(double(hd));
            mx = std::max(mx, s[j]);
          }
          for (auto& e : s) sum += (e = std::exp(e - mx));
          for (size_t j = 0; j < n; j++)
            for (int d = 0; d < hd; d++) att[h * hd + d] += s[j] / sum * v[j][h * hd + d];
        }
        Vec a = lin(p + "attn_output.weight", att, nomic ? "" : p + "attn_output.bias");
        for (int d = 0; d < kEmbd; d++) a[d] += x[t][d];
        Vec x1 = ln(a, p + "attn_output_norm");
        Vec f;
        if (nomic) {
          Vec g = lin(p + "ffn_gate.weight", x1), u = lin(p + "ffn_up.weight", x1);
          for (int i = 0; i < kFf; i++) g[i] = g[i] / (1 + std::exp(-g[i])) * u[i];
          f = lin(p + "ffn_down.weight", g);
        } else {
          Vec u = lin(p + "ffn_up.weight", x1, p + "ffn_up.bias");
          for (auto& e : u)
            e = 0.5 * e * (1 + std::tanh(std::sqrt(2 / M_PI) * (e + 0.044715 * e * e * e)));
          f = lin(p + "ffn_down.weight", u, p + "ffn_down.bias");
        }
        for (int d = 0; d < kEmbd; d++) f[d] += x1[d];
        x[t] = f;  // normed below, once every token's attention used the old x
      }
      for (size_t t = 0; t < n; t++) x[t] = ln(x[t], p + "layer_output_norm");
    }
    return x;
  }
  Vec pooled(const std::vector<int32_t>& ids, engine::Pooling pooling) const {
    auto h = hidden(ids);
    if (pooling == engine::Pooling::kCls) return h.front();
    if (pooling == engine::Pooling::kLast) return h.back();
    Vec m(kEmbd, 0.0);
    for (const auto& r : h)
      for (int d = 0; d < kEmbd; d++) m[d] += r[d] / h.size();
    return m;
  }
};

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); i++) {
    ab += double(a[i]) * b[i];
    aa += double(a[i]) * a[i];
    bb += double(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

class EmbedRandom : public ::testing::TestWithParam<bool> {};

TEST_P(EmbedRandom, MatchesDoublePrecisionReference) {
  const bool nomic = GetParam();
  RandomModel m(nomic, nomic ? 7 : 3);
  m.build();
  gguf_test::ScratchDir dir;
  const std::string path = dir.file("m.gguf");
  m.write(path, /*mean*/ 1);
  engine::LoadOptions lo;
  lo.n_threads = 2;
  auto e = engine::Embedder::load(path, lo);
  EXPECT_FALSE(e->has_tokenizer());
  EXPECT_EQ(e->pooling(), engine::Pooling::kMean);
  EXPECT_EQ(e->n_ctx_train(), kCtx);

  const std::vector<std::vector<int32_t>> batch = {{1, 5, 9, 2},
                                                   {3},
                                                   {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
                                                    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7},
                                                   {39, 0, 12, 30, 4, 8},
                                                   {1, 5, 9, 2}};
  double worst = 0;
  for (auto pooling : {engine::Pooling::kMean, engine::Pooling::kCls, engine::Pooling::kLast}) {
    const auto got = e->embed(batch, pooling);
    ASSERT_EQ(got.size(), batch.size());
    for (size_t i = 0; i < batch.size(); i++) {
      const Vec want = m.pooled(batch[i], pooling);
      ASSERT_EQ(got[i].size(), want.size());
      for (size_t d = 0; d < want.size(); d++)
        worst = std::max(worst, std::abs(got[i][d] - want[d]));
    }
  }
  std::printf("%s random model: max |float - double| = %.3g\n", nomic ? "nomic-bert" : "bert",
              worst);
  EXPECT_LT(worst, 2e-5);
}

TEST_P(EmbedRandom, BatchIndependentDeterministicAndCosineProperties) {
  const bool nomic = GetParam();
  RandomModel m(nomic, 11);
  m.build();
  gguf_test::ScratchDir dir;
  const std::string path = dir.file("m.gguf");
  m.write(path, /*cls*/ 2);
  auto e = engine::Embedder::load(path);
  const std::vector<int32_t> a = {1, 2, 3, 4, 5}, b = {1, 2, 3, 4, 6}, c = {30, 31, 32};
  const auto together = e->embed({a, b, c, a});
  const auto alone = e->embed({b});
  // Same vector however it is batched, and bit-identical on repeat.
  EXPECT_LT(1.0 - cosine(together[1], alone[0]), 1e-9);
  for (int d = 0; d < kEmbd; d++) EXPECT_NEAR(together[1][d], alone[0][d], 1e-6);
  EXPECT_EQ(together[0], together[3]);
  EXPECT_EQ(e->embed({a})[0], e->embed({a})[0]);
  // Cosine in [-1, 1]; a text is closer to a one-token edit of itself than to another text.
  const double ab = cosine(together[0], together[1]), ac = cosine(together[0], together[2]);
  EXPECT_LT(ab, 1.0 - 1e-6);
  EXPECT_GT(ab, ac);
  EXPECT_GE(ac, -1.0);
  // A chunk boundary (kChunkTokens) inside a big batch changes nothing.
  std::vector<std::vector<int32_t>> many(200, std::vector<int32_t>(kCtx, 9));
  many.push_back(a);
  const auto big = e->embed(many);
  for (int d = 0; d < kEmbd; d++) EXPECT_NEAR(big.back()[d], together[0][d], 1e-6);
}

INSTANTIATE_TEST_SUITE_P(Archs, EmbedRandom, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "nomic_bert" : "bert"; });

}  // namespace
