// Decoder embeddings: the last token's output-normed hidden state. Checked through the
// logits: with a tied output head, logits[j] = token_embd row j . hidden.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/decoder_embed.h"
#include "engine/engine.h"
#include "engine/gguf/gguf.h"
#include "ops/matmul.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace {

TEST(EmbedDecoder, HiddenStateReproducesTheLogits) {
  const std::string path =
      std::string(OLLAMA_SHARED_DIR) + "/testdata/models/tiny-llama-e64-f32.gguf";
  engine::LoadOptions lo;
  lo.n_threads = 2;
  lo.load_tokenizer = false;
  auto model = engine::Model::load(path, lo);
  const std::vector<int32_t> ids = {1, 450, 7483, 310, 3444, 338, 3681, 29889, 450, 4996};
  engine::ContextOptions co;
  co.n_ctx = 64;
  co.kv_type = engine::KvType::kF32;  // decoder_last_hidden keeps K/V in F32 too
  auto ctx = model->new_context(co);
  engine::Batch b;
  for (size_t i = 0; i < ids.size(); i++)
    b.add(ids[i], static_cast<int32_t>(i), 0, i + 1 == ids.size());
  ctx->decode(b);
  const float* logits = ctx->logits(0);

  util::ThreadPool pool(2);
  for (int n_batch : {512, 3}) {  // one chunk, and chunks of 3 tokens
    const auto h = engine::decoder_last_hidden(*model, ids, pool, n_batch);
    ASSERT_EQ(static_cast<int64_t>(h.size()), model->n_embd());
    const auto* te = model->file().tensor("token_embd.weight");
    ASSERT_NE(te, nullptr);
    std::vector<float> row(model->n_embd());
    double worst = 0;
    for (int64_t j = 0; j < model->n_vocab(); j++) {
      ops::dequantize_row(te->data, static_cast<ops::DType>(te->type), model->n_embd(), j,
                          row.data());
      double dot = 0;
      for (int64_t d = 0; d < model->n_embd(); d++) dot += double(row[d]) * h[d];
      worst = std::max(worst, std::abs(dot - logits[j]));
    }
    EXPECT_LT(worst, 1e-4) << "n_batch " << n_batch;
  }
  EXPECT_THROW(engine::decoder_last_hidden(*model, {}, pool), util::Error);
  EXPECT_THROW(engine::decoder_last_hidden(*model, {1, 999999}, pool), util::Error);
}

}  // namespace
