// engine::inspect: the model card of real files (a decoder, an encoder), its sizes against the
// GGUF keys, the memory estimate, and the cache (same card until the file changes).
#include "engine/card.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "engine/gguf/gguf.h"
#include "engine/gguf/writer.h"
#include "util/error.h"

namespace {

const std::string kShared = std::string(OLLAMA_SHARED_DIR) + "/testdata/";

TEST(ModelCard, ReadsADecoderOnceAndAnEncoder) {
  const std::string stories = kShared + "real/stories260K.gguf";
  auto card = engine::inspect(stories);
  auto f = gguf::File::open_metadata(stories);
  EXPECT_EQ(card->arch, "llama");
  EXPECT_EQ(card->kind, engine::ModelKind::kDecoder);
  EXPECT_EQ(card->n_layer, f->get_int("llama.block_count", 0));
  EXPECT_EQ(card->n_ctx_train, f->get_int("llama.context_length", 0));
  EXPECT_EQ(card->file_size, f->file_size());
  EXPECT_EQ(card->capabilities(), (std::vector<std::string>{"completion"}));
  const uint64_t per_token = card->kv_bytes_per_token(engine::KvType::kF16);
  EXPECT_EQ(per_token, 2ull * card->n_layer * card->n_head_kv * card->key_length * 2);
  EXPECT_EQ(card->memory_bytes(100, 2, engine::KvType::kF16),
            card->file_size + per_token * 200 + (64ull << 20));
  EXPECT_EQ(engine::inspect(stories).get(), card.get());  // cached

  auto bert = engine::inspect(kShared + "models/tiny-bert-e64.gguf");
  EXPECT_EQ(bert->kind, engine::ModelKind::kEncoder);
  EXPECT_EQ(bert->pooling, 2);
  EXPECT_EQ(bert->capabilities(), (std::vector<std::string>{"embedding"}));
  EXPECT_EQ(bert->kv_bytes_per_token(engine::KvType::kF16), 0u);
}

TEST(ModelCard, AChangedFileIsReadAgainAndABadOneIsAnError) {
  namespace fs = std::filesystem;
  const fs::path p =
      fs::temp_directory_path() / ("oc-card-" + std::to_string(::getpid()) + ".gguf");
  auto src = gguf::File::open(kShared + "models/tiny-bert-e64.gguf");
  gguf::Writer w = gguf::Writer::from_file(*src);
  w.write(p.string());
  auto a = engine::inspect(p.string());
  EXPECT_EQ(a->pooling, 2);
  w.set_u32("bert.pooling_type", 4);  // now a reranker's declaration (no head: inspect only)
  w.set_string("general.name", "changed so the size differs");
  w.write(p.string());
  auto b = engine::inspect(p.string());
  EXPECT_NE(a.get(), b.get());
  EXPECT_EQ(b->pooling, 4);
  EXPECT_EQ(b->kind, engine::ModelKind::kReranker);
  fs::resize_file(p, 10);
  EXPECT_ANY_THROW(engine::inspect(p.string()));
  fs::remove(p);
  EXPECT_ANY_THROW(engine::inspect(p.string()));
}

}  // namespace
