// stories260K (a real trained llama): logits after BOS and greedy generations must equal the
// golden outputs in testdata/real/stories260K.expected.json exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/engine.h"
#include "engine/tokenizer/tokenizer.h"
#include "stories_greedy.h"
#include "util/error.h"

namespace {

const std::string& kModel = kStoriesModel;
nlohmann::json expected() { return stories_expected(); }
int argmax(const float* x, int64_t n) { return stories_argmax(x, n); }

std::vector<int32_t> greedy(const engine::Model& m, engine::KvType kv,
                            const std::vector<int32_t>& prompt, int total) {
  return stories_greedy(m, {.n_ctx = 512, .n_seq_max = 1, .n_batch = 512, .kv_type = kv}, prompt,
                        total);
}

TEST(EngineStories, LogitsAfterBos) {
  auto m = engine::Model::load(kModel, {.n_threads = 2});
  EXPECT_EQ(m->arch(), "llama");
  EXPECT_EQ(m->n_vocab(), 512);
  EXPECT_EQ(m->info().rope_base, 10000.0);  // no key in the file: llama's default
  const auto exp = expected()["pos0_after_bos_logits"];
  for (auto kv : {engine::KvType::kF32, engine::KvType::kF16}) {
    auto ctx = m->new_context({.n_ctx = 64, .kv_type = kv});
    engine::Batch b;
    b.add(1, 0, 0, true);
    ctx->decode(b);
    ASSERT_EQ(ctx->n_outputs(), 1);
    const float* lg = ctx->logits(0);
    for (const auto& p : exp["top5_id_logit"]) {
      EXPECT_NEAR(lg[p[0].get<int>()], p[1].get<float>(), 1e-3);
    }
    const auto& low = exp["logits_ids_0_to_7"];
    for (int i = 0; i < 8; i++) EXPECT_NEAR(lg[i], low[i].get<float>(), 1e-3) << i;
    EXPECT_EQ(argmax(lg, 512), 403);
  }
}

TEST(EngineStories, UnconditionalGreedyMatchesGolden) {
  auto m = engine::Model::load(kModel, {.n_threads = 2});
  const auto exp = expected()["unconditional_greedy"];
  const auto want = exp["generated_ids"].get<std::vector<int32_t>>();
  for (auto kv : {engine::KvType::kF32, engine::KvType::kF16}) {
    const auto got = greedy(*m, kv, {1}, exp["steps_including_bos_position"].get<int>());
    size_t same = 0;
    while (same < got.size() && same < want.size() && got[same] == want[same]) same++;
    EXPECT_EQ(got, want) << (kv == engine::KvType::kF16 ? "F16 KV" : "F32 KV")
                         << ": first difference at " << same;
  }
  ASSERT_TRUE(m->has_tokenizer());
  // run.c strips the leading space of the first piece after BOS, as decode does after BOS.
  std::vector<int32_t> with_bos = {1};
  with_bos.insert(with_bos.end(), want.begin(), want.end());
  EXPECT_EQ(m->tokenizer().decode(with_bos), exp["text"].get<std::string>());
}

TEST(EngineStories, PromptedGreedyMatchesGolden) {
  auto m = engine::Model::load(kModel, {.n_threads = 2});
  const auto exp = expected();
  ASSERT_EQ(exp["prompted_greedy"].size(), 2u);
  for (const auto& p : exp["prompted_greedy"]) {
    const auto ids = p["prompt_token_ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(m->tokenizer().encode(p["prompt"].get<std::string>(), true, false), ids);
    const auto got = greedy(*m, engine::KvType::kF16, ids, p["total_positions"].get<int>());
    EXPECT_EQ(got, p["greedy_generated_ids"].get<std::vector<int32_t>>()) << p["prompt"];
    std::vector<int32_t> all = ids;
    all.insert(all.end(), got.begin(), got.end());
    EXPECT_EQ(m->tokenizer().decode(all), p["full_text"].get<std::string>());
  }
}

}  // namespace
