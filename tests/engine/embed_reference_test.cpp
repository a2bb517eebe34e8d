// The encoders against llama.cpp's embeddings of the tiny bert / nomic-bert reference models
// (testdata/models/X.embd.json): tokens, per-token states, every pooling, normalization.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/embed.h"
#include "engine/tokenizer/tokenizer.h"
#include "util/error.h"

namespace {

struct Case {
  const char* model;
  double tol;  // max |diff| per component (testdata/models/README.md)
};

std::string models_dir() { return std::string(OLLAMA_SHARED_DIR) + "/testdata/models/"; }

nlohmann::json load_ref(const std::string& name) {
  std::ifstream in(models_dir() + name + ".embd.json");
  EXPECT_TRUE(in.good()) << name;
  return nlohmann::json::parse(in);
}

double max_abs_diff(const std::vector<float>& got, const nlohmann::json& want) {
  EXPECT_EQ(got.size(), want.size());
  double m = 0;
  for (size_t i = 0; i < std::min(got.size(), want.size()); i++)
    m = std::max(m, std::abs(got[i] - want[i].get<double>()));
  return m;
}

class EmbedReference : public ::testing::TestWithParam<Case> {};

TEST_P(EmbedReference, MatchesLlamaCppForEveryTextAndPooling) {
  const Case c = GetParam();
  auto e = engine::Embedder::load(models_dir() + c.model + ".gguf");
  const nlohmann::json ref = load_ref(c.model);
  ASSERT_EQ(e->n_embd(), ref["n_embd"].get<int64_t>());
  const engine::Pooling file_pooling =
      ref["file_pooling"] == "cls" ? engine::Pooling::kCls : engine::Pooling::kMean;
  EXPECT_EQ(e->pooling(), file_pooling);

  std::vector<std::vector<int32_t>> batch;
  for (const auto& t : ref["texts"]) {
    const auto want = t["tokens"].get<std::vector<int32_t>>();
    // The reference tokenized with parse_special=false; none of its texts holds a special.
    EXPECT_EQ(e->tokenizer().encode(t["text"].get<std::string>(), true, false), want);
    EXPECT_EQ(e->tokenize(t["text"].get<std::string>()), want);
    batch.push_back(want);
  }
  ASSERT_EQ(batch.size(), 7u);

  double worst_tok = 0, worst = 0;
  // Whole batch in one pass, and each text alone: both match.
  const auto pooled = e->embed(batch);
  const auto mean = e->embed(batch, engine::Pooling::kMean);
  const auto cls = e->embed(batch, engine::Pooling::kCls);
  const auto last = e->embed(batch, engine::Pooling::kLast);
  for (size_t i = 0; i < batch.size(); i++) {
    const auto& t = ref["texts"][i];
    const auto tokens = e->embed({batch[i]}, engine::Pooling::kNone)[0];
    std::vector<float> flat_ref;
    for (const auto& row : t["token_embeddings"])
      for (const auto& v : row) flat_ref.push_back(v.get<float>());
    nlohmann::json flat_json = flat_ref;
    worst_tok = std::max(worst_tok, max_abs_diff(tokens, flat_json));
    worst = std::max(
        {worst, max_abs_diff(pooled[i], t["embedding"]), max_abs_diff(mean[i], t["pooled_mean"]),
         max_abs_diff(cls[i], t["pooled_cls"]), max_abs_diff(last[i], t["pooled_last"])});
    const auto alone = e->embed({batch[i]})[0];
    EXPECT_LT(max_abs_diff(alone, t["embedding"]), c.tol) << "text " << i << " alone";

    // Normalized like /api/embed, and the cosine with the reference.
    double norm = 0, dotp = 0, rnorm = 0;
    for (size_t d = 0; d < pooled[i].size(); d++) {
      norm += double(pooled[i][d]) * pooled[i][d];
      dotp += pooled[i][d] * t["embedding"][d].get<double>();
      rnorm += std::pow(t["embedding"][d].get<double>(), 2);
    }
    EXPECT_NEAR(std::sqrt(norm), t["embedding_l2norm"].get<double>(),
                c.tol * std::sqrt(double(e->n_embd())));
    EXPECT_GT(dotp / std::sqrt(norm * rnorm), 0.99999) << "text " << i;
  }
  std::printf("%s: max |diff| token states %.3g, pooled %.3g (tolerance %.1g)\n", c.model,
              worst_tok, worst, c.tol);
  EXPECT_LT(worst_tok, c.tol);
  EXPECT_LT(worst, c.tol);
}

INSTANTIATE_TEST_SUITE_P(Encoders, EmbedReference,
                         ::testing::Values(Case{"tiny-bert-e64", 2e-3},
                                           Case{"tiny-nomic-bert-e64", 1e-4}),
                         [](const auto& info) {
                           std::string n = info.param.model;
                           for (char& ch : n)
                             if (ch == '-') ch = '_';
                           return n;
                         });

TEST(EmbedReference, TruncatesOrRejectsLongInputs) {
  auto e = engine::Embedder::load(models_dir() + "tiny-bert-e64.gguf");
  const std::string text = "one two three four five six seven eight nine ten";
  const auto full = e->tokenize(text);
  ASSERT_EQ(full.size(), 12u);  // [CLS] + 10 words + [SEP]
  bool cut = false;
  const auto short_ids = e->tokenize(text, 6, true, &cut);
  EXPECT_TRUE(cut);
  const std::vector<int32_t> want = {full[0], full[1], full[2], full[3], full[4], full.back()};
  EXPECT_EQ(short_ids, want);
  e->tokenize(text, 12, false, &cut);
  EXPECT_FALSE(cut);
  try {
    e->tokenize(text, 11, false);
    FAIL() << "expected a 400";
  } catch (const util::Error& err) {
    EXPECT_EQ(err.kind(), util::ErrorKind::kBadRequest);
    EXPECT_STREQ(err.what(), "the input length exceeds the context length");
  }
  // Past the training context (512 positions) the encoder refuses rather than reading past
  // position_embd.
  std::vector<int32_t> too_long(513, 1000);
  EXPECT_THROW(e->embed({too_long}), util::Error);
  EXPECT_THROW(e->embed({{}}), util::Error);
  EXPECT_THROW(e->embed({{101, 40000, 102}}), util::Error);
}

}  // namespace
