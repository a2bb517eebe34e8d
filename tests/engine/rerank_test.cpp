// Rank pooling (cross-encoder rerankers): the tiny bert reference model with a random
// classification head added; scores held to the head applied by hand to the same model's CLS
// states, pair tokenization and its truncation, and the errors of a head that is missing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>

#include "engine/embed.h"
#include "engine/gguf/writer.h"
#include "engine/tokenizer/tokenizer.h"
#include "util/error.h"

namespace {

const std::string kBert = std::string(OLLAMA_SHARED_DIR) + "/testdata/models/tiny-bert-e64.gguf";

struct Head {
  int64_t E = 0, L = 0;
  std::vector<float> cls, cls_b, out, out_b;
};

std::vector<uint8_t> bytes_of(const std::vector<float>& v) {
  std::vector<uint8_t> b(v.size() * sizeof(float));
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// Writes the reranker next to the test's temp dir; `dense` false leaves cls.weight out.
std::string make_reranker(Head& h, int64_t labels, bool dense, bool with_output = true) {
  auto in = gguf::File::open(kBert);
  h.E = in->get_int("bert.embedding_length", 0);
  h.L = labels;
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0.0f, 0.3f);
  auto rnd = [&](int64_t n) {
    std::vector<float> v(n);
    for (float& x : v) x = nd(rng);
    return v;
  };
  h.cls = dense ? rnd(h.E * h.E) : std::vector<float>{};
  h.cls_b = dense ? rnd(h.E) : std::vector<float>{};
  h.out = rnd(h.E * labels);
  h.out_b = rnd(labels);
  gguf::Writer w = gguf::Writer::from_file(*in);
  w.set_u32("bert.pooling_type", 4);
  if (dense) {
    w.add_tensor("cls.weight", {h.E, h.E}, 0, bytes_of(h.cls));
    w.add_tensor("cls.bias", {h.E}, 0, bytes_of(h.cls_b));
  }
  if (with_output) {
    w.add_tensor("cls.output.weight", {h.E, labels}, 0, bytes_of(h.out));
    w.add_tensor("cls.output.bias", {labels}, 0, bytes_of(h.out_b));
  }
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("oc-rerank-" + std::to_string(::getpid()) + "-" +
                             std::to_string(labels) + (dense ? "d" : "") + ".gguf"))
                               .string();
  w.write(path);
  return path;
}

// The head by hand: out(tanh(cls x + cls_b)) + out_b, or out(x) + out_b without the dense.
std::vector<float> by_hand(const Head& h, const std::vector<float>& x) {
  std::vector<float> a = x;
  if (!h.cls.empty()) {
    for (int64_t j = 0; j < h.E; j++) {
      double s = h.cls_b[j];
      for (int64_t i = 0; i < h.E; i++) s += double(h.cls[j * h.E + i]) * x[i];
      a[j] = static_cast<float>(std::tanh(s));
    }
  }
  std::vector<float> y(h.L);
  for (int64_t j = 0; j < h.L; j++) {
    double s = h.out_b[j];
    for (int64_t i = 0; i < h.E; i++) s += double(h.out[j * h.E + i]) * a[i];
    y[j] = static_cast<float>(s);
  }
  return y;
}

TEST(Rerank, ScoresAreTheHeadOverTheClsState) {
  for (int64_t labels : {1, 3}) {
    for (bool dense : {true, false}) {
      Head h;
      const std::string path = make_reranker(h, labels, dense);
      auto e = engine::Embedder::load(path);
      ASSERT_EQ(e->pooling(), engine::Pooling::kRank);
      ASSERT_EQ(e->n_cls_out(), labels);
      const std::vector<std::pair<std::string, std::string>> pairs = {
          {"what is a cat", "a cat is a small animal"},
          {"what is a cat", "the stock market fell"},
          {"capital of france", "paris is the capital of france"}};
      std::vector<std::vector<int32_t>> batch;
      for (const auto& [q, d] : pairs) batch.push_back(e->tokenize_pair(q, d));
      const auto scores = e->embed(batch);
      const auto cls = e->embed(batch, engine::Pooling::kCls);
      ASSERT_EQ(scores.size(), pairs.size());
      for (size_t i = 0; i < pairs.size(); i++) {
        const std::vector<float> want = by_hand(h, cls[i]);
        ASSERT_EQ(scores[i].size(), static_cast<size_t>(labels));
        for (int64_t j = 0; j < labels; j++) EXPECT_NEAR(scores[i][j], want[j], 1e-4) << i;
      }
      EXPECT_NE(scores[0][0], scores[1][0]);  // the document matters
      std::filesystem::remove(path);
    }
  }
}

TEST(Rerank, PairsAreClsQuerySepDocSepAndCutTheDocumentFirst) {
  Head h;
  const std::string path = make_reranker(h, 1, true);
  auto e = engine::Embedder::load(path);
  const auto& tok = e->tokenizer();
  const auto q = tok.encode("what is a cat", false, true);
  const auto d = tok.encode("a cat is a small animal that likes milk", false, true);
  std::vector<int32_t> want = {tok.cls()};
  want.insert(want.end(), q.begin(), q.end());
  want.push_back(tok.sep());
  want.insert(want.end(), d.begin(), d.end());
  want.push_back(tok.sep());
  EXPECT_EQ(e->tokenize_pair("what is a cat", "a cat is a small animal that likes milk"), want);
  // Cut to 3 + |q| + 2: the query stays whole, the document keeps its first 2 tokens.
  const int64_t max = 3 + static_cast<int64_t>(q.size()) + 2;
  const auto cut =
      e->tokenize_pair("what is a cat", "a cat is a small animal that likes milk", max);
  ASSERT_EQ(static_cast<int64_t>(cut.size()), max);
  EXPECT_EQ(cut[q.size() + 2], d[0]);
  EXPECT_EQ(cut.back(), tok.sep());
  EXPECT_THROW(e->tokenize_pair("what is a cat", "a cat is a small animal", max - 3, false),
               util::Error);
  std::filesystem::remove(path);
}

TEST(Rerank, RankPoolingWithoutAnOutputHeadIsRefused) {
  Head h;
  const std::string path = make_reranker(h, 1, true, /*with_output=*/false);
  try {
    engine::Embedder::load(path);
    FAIL() << "loaded a rank-pooled model without cls.output.weight";
  } catch (const util::Error& e) {
    EXPECT_NE(std::string(e.what()).find("cls.output.weight"), std::string::npos) << e.what();
  }
  std::filesystem::remove(path);
}

}  // namespace
