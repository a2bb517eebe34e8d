// Continuous-batching behaviour: several sequences in one batch, chunked prefill, KV edits
// (remove, truncate, shift, copy) and KV types must give the logits of the plain path.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "engine/engine.h"
#include "util/error.h"

namespace {

const std::string kModel =
    std::string(OLLAMA_SHARED_DIR) + "/testdata/models/tiny-llama-e64-f32.gguf";
const std::string kQwen =
    std::string(OLLAMA_SHARED_DIR) + "/testdata/models/tiny-qwen2-e64-f32.gguf";

std::vector<int32_t> seq_tokens(int which, int n) {
  std::vector<int32_t> t = {1};
  for (int i = 1; i < n; i++) t.push_back(100 + (which * 977 + i * 131) % 30000);
  return t;
}

double max_diff(const float* a, const float* b, int64_t n) {
  double m = 0;
  for (int64_t i = 0; i < n; i++) m = std::max<double>(m, std::fabs(a[i] - b[i]));
  return m;
}

// Logits of every position of `tokens` decoded alone in a fresh context.
std::vector<std::vector<float>> alone(const engine::Model& m, const std::vector<int32_t>& tokens,
                                      engine::KvType kv = engine::KvType::kF32) {
  auto ctx = m.new_context({.n_ctx = 256, .kv_type = kv});
  engine::Batch b;
  for (size_t i = 0; i < tokens.size(); i++) b.add(tokens[i], int32_t(i), 0, true);
  ctx->decode(b);
  std::vector<std::vector<float>> out;
  for (int i = 0; i < ctx->n_outputs(); i++) {
    out.emplace_back(ctx->logits(i), ctx->logits(i) + m.n_vocab());
  }
  return out;
}

class EngineBatch : public ::testing::TestWithParam<std::string> {};

TEST_P(EngineBatch, ThreeSequencesTogetherEqualEachAlone) {
  auto m = engine::Model::load(GetParam(), {.n_threads = 2, .load_tokenizer = false});
  const int64_t nv = m->n_vocab();
  const std::vector<std::vector<int32_t>> seqs = {seq_tokens(0, 9), seq_tokens(1, 14),
                                                  seq_tokens(2, 5)};
  std::vector<std::vector<std::vector<float>>> ref;
  for (const auto& s : seqs) ref.push_back(alone(*m, s));

  // Prefill: sequences 0 and 1 fully plus the first 3 tokens of 2, interleaved, in one batch;
  // then the rest of sequence 2 one token at a time while 0 and 1 re-decode nothing.
  auto ctx = m->new_context({.n_ctx = 64, .n_seq_max = 3, .kv_type = engine::KvType::kF32});
  engine::Batch b;
  size_t longest = 14;
  for (size_t i = 0; i < longest; i++) {
    for (int s = 0; s < 3; s++) {
      const size_t limit = s == 2 ? 3 : seqs[s].size();
      if (i < limit) b.add(seqs[s][i], int32_t(i), s, true);
    }
  }
  ctx->decode(b);
  for (size_t i = 0; i < b.size(); i++) {
    const float* lg = ctx->logits_at_batch(int(i));
    ASSERT_NE(lg, nullptr);
    EXPECT_LT(max_diff(lg, ref[b.seq_id[i]][b.pos[i]].data(), nv), 1e-4) << "entry " << i;
  }
  for (size_t i = 3; i < seqs[2].size(); i++) {
    b.clear();
    b.add(seqs[2][i], int32_t(i), 2, true);
    ctx->decode(b);
    EXPECT_LT(max_diff(ctx->logits(0), ref[2][i].data(), nv), 1e-4);
  }
  EXPECT_EQ(ctx->kv_seq_n_tokens(0), 9);
  EXPECT_EQ(ctx->kv_seq_pos_max(1), 13);
  EXPECT_EQ(ctx->kv_seq_n_tokens(2), 5);
}

TEST_P(EngineBatch, ChunkedPrefillEqualsOneChunk) {
  auto m = engine::Model::load(GetParam(), {.n_threads = 2, .load_tokenizer = false});
  const auto toks = seq_tokens(3, 40);
  const auto ref = alone(*m, toks);
  auto ctx = m->new_context({.n_ctx = 64, .n_batch = 7, .kv_type = engine::KvType::kF32});
  EXPECT_EQ(ctx->n_batch(), 7);
  engine::Batch b;
  for (size_t i = 0; i < toks.size(); i++) b.add(toks[i], int32_t(i), 0, i % 5 == 0);
  ctx->decode(b);
  EXPECT_EQ(ctx->n_outputs(), 8);
  for (size_t i = 0; i < toks.size(); i += 5) {
    EXPECT_LT(max_diff(ctx->logits_at_batch(int(i)), ref[i].data(), m->n_vocab()), 1e-4);
  }
  EXPECT_EQ(ctx->logits_at_batch(1), nullptr);
}

TEST_P(EngineBatch, TruncateAndRedecodeEqualsFresh) {
  auto m = engine::Model::load(GetParam(), {.n_threads = 2, .load_tokenizer = false});
  auto a = seq_tokens(4, 20), c = a;
  for (size_t i = 12; i < c.size(); i++) c[i] = 5000 + int32_t(i);
  const auto ref = alone(*m, c);
  auto ctx = m->new_context({.n_ctx = 64, .kv_type = engine::KvType::kF32});
  engine::Batch b;
  for (size_t i = 0; i < a.size(); i++) b.add(a[i], int32_t(i), 0, false);
  ctx->decode(b);
  ctx->kv_seq_truncate(0, 12);  // keep the shared prefix (a prompt-cache hit)
  EXPECT_EQ(ctx->kv_seq_n_tokens(0), 12);
  b.clear();
  for (size_t i = 12; i < c.size(); i++) b.add(c[i], int32_t(i), 0, true);
  ctx->decode(b);
  for (size_t i = 12; i < c.size(); i++) {
    EXPECT_LT(max_diff(ctx->logits(int(i - 12)), ref[i].data(), m->n_vocab()), 1e-4);
  }
}

TEST_P(EngineBatch, ShiftEqualsRecomputeAtNewPositions) {
  // Tokens decoded at positions 10..29 and then shifted back by 10 must behave exactly like
  // the same tokens decoded at 0..19: only the keys' rotation depends on the absolute
  // position, and the shift re-rotates them.
  auto m = engine::Model::load(GetParam(), {.n_threads = 2, .load_tokenizer = false});
  auto toks = seq_tokens(5, 20);
  auto with_next = toks;
  with_next.push_back(777);
  const auto ref = alone(*m, with_next);
  for (auto kv : {engine::KvType::kF32, engine::KvType::kF16}) {
    auto ctx = m->new_context({.n_ctx = 32, .kv_type = kv});
    engine::Batch b;
    for (size_t i = 0; i < toks.size(); i++) b.add(toks[i], int32_t(i + 10), 0, false);
    ctx->decode(b);
    ctx->kv_seq_shift(0, 10, -1, -10);
    EXPECT_EQ(ctx->kv_seq_pos_max(0), 19);
    b.clear();
    b.add(777, 20, 0, true);
    ctx->decode(b);
    EXPECT_LT(max_diff(ctx->logits(0), ref.back().data(), m->n_vocab()),
              kv == engine::KvType::kF32 ? 1e-3 : 5e-2);
  }
}

TEST_P(EngineBatch, ContextShiftDropsAndMovesBack) {
  auto m = engine::Model::load(GetParam(), {.n_threads = 2, .load_tokenizer = false});
  const auto toks = seq_tokens(8, 32);
  auto ctx = m->new_context({.n_ctx = 32, .kv_type = engine::KvType::kF32});
  engine::Batch b;
  for (size_t i = 0; i < toks.size(); i++) b.add(toks[i], int32_t(i), 0, false);
  ctx->decode(b);
  b.clear();
  b.add(5, 32, 0, true);
  EXPECT_THROW(ctx->decode(b), util::Error);  // full
  ctx->kv_context_shift(0, 4, 14);
  EXPECT_EQ(ctx->kv_seq_n_tokens(0), 18);
  EXPECT_EQ(ctx->kv_seq_pos_max(0), 17);
  // Same result as doing the two steps by hand on a second cache.
  auto ctx2 = m->new_context({.n_ctx = 32, .kv_type = engine::KvType::kF32});
  engine::Batch b2;
  for (size_t i = 0; i < toks.size(); i++) b2.add(toks[i], int32_t(i), 0, false);
  ctx2->decode(b2);
  ctx2->kv_seq_remove(0, 4, 18);
  ctx2->kv_seq_shift(0, 18, -1, -14);
  b.clear();
  b.add(5, 18, 0, true);
  ctx->decode(b);
  ctx2->decode(b);
  EXPECT_EQ(max_diff(ctx->logits(0), ctx2->logits(0), m->n_vocab()), 0.0);
}

TEST_P(EngineBatch, CopyPrefixToAnotherSequence) {
  auto m = engine::Model::load(GetParam(), {.n_threads = 2, .load_tokenizer = false});
  auto toks = seq_tokens(6, 16);
  const auto ref = alone(*m, toks);
  auto ctx = m->new_context({.n_ctx = 32, .n_seq_max = 2, .kv_type = engine::KvType::kF32});
  engine::Batch b;
  for (int i = 0; i < 10; i++) b.add(toks[i], i, 0, false);
  ctx->decode(b);
  ctx->kv_seq_copy(0, 1, 0, 8);
  EXPECT_EQ(ctx->kv_seq_n_tokens(1), 8);
  b.clear();
  for (int i = 8; i < 16; i++) b.add(toks[i], i, 1, true);
  ctx->decode(b);
  for (int i = 8; i < 16; i++) {
    EXPECT_LT(max_diff(ctx->logits(i - 8), ref[i].data(), m->n_vocab()), 1e-4);
  }
}

TEST_P(EngineBatch, F16CacheCloseToF32) {
  auto m = engine::Model::load(GetParam(), {.n_threads = 2, .load_tokenizer = false});
  const auto toks = seq_tokens(7, 24);
  const auto f32 = alone(*m, toks, engine::KvType::kF32);
  const auto f16 = alone(*m, toks, engine::KvType::kF16);
  double worst = 0;
  for (size_t i = 0; i < toks.size(); i++) {
    worst = std::max(worst, max_diff(f32[i].data(), f16[i].data(), m->n_vocab()));
  }
  EXPECT_LT(worst, 3e-2);  // llama.cpp's own F16-vs-F32 KV difference is 0.005-0.03
  EXPECT_GT(worst, 0.0);   // the F16 path really rounds
}

INSTANTIATE_TEST_SUITE_P(Archs, EngineBatch, ::testing::Values(kModel, kQwen),
                         [](const auto& info) { return info.index == 0 ? "llama" : "qwen2"; });

TEST(EngineBatchErrors, RejectsBadInputAndFullContext) {
  auto m = engine::Model::load(kModel, {.n_threads = 2, .load_tokenizer = false});
  auto ctx = m->new_context({.n_ctx = 8, .n_seq_max = 2});
  engine::Batch b;
  b.add(int32_t(m->n_vocab()), 0, 0, true);
  EXPECT_THROW(ctx->decode(b), util::Error);
  b.clear();
  b.add(1, 0, 2, true);
  EXPECT_THROW(ctx->decode(b), util::Error);
  b.clear();
  for (int i = 0; i < 9; i++) b.add(1, i, 1, false);
  try {
    ctx->decode(b);
    FAIL() << "no error for a full context";
  } catch (const util::Error& e) {
    EXPECT_NE(std::string(e.what()).find("KV cells"), std::string::npos) << e.what();
  }
  EXPECT_EQ(ctx->kv_seq_n_tokens(1), 0);  // nothing kept from the failed batch
}

}  // namespace
