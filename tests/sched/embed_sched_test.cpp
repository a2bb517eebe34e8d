// Embedding models through the scheduler and runner: an encoder GGUF gets an embedding-only
// runner (no KV cache, no generation), reused across requests and listed as loaded.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "api/status.h"
#include "engine/decoder_embed.h"
#include "engine/embed.h"
#include "engine/gguf/writer.h"
#include "runner/engine_runner.h"
#include "sched/scheduler.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace {

const std::string kNomic =
    std::string(OLLAMA_SHARED_DIR) + "/testdata/models/tiny-nomic-bert-e64.gguf";
const std::string kLlama =
    std::string(OLLAMA_SHARED_DIR) + "/testdata/models/tiny-llama-e64-f32.gguf";

sched::ModelRequest request(const std::string& key, const std::string& path, int num_ctx = 0) {
  sched::ModelRequest r;
  r.key = key;
  r.name = key + ":latest";
  r.path = path;
  r.num_ctx = num_ctx;
  return r;
}

sched::Settings settings() {
  sched::Settings s;
  s.num_threads = 2;
  s.default_num_ctx = 4096;
  return s;
}

TEST(EmbedSched, EncoderGetsAnEmbeddingRunner) {
  sched::Scheduler sc(settings());
  auto lease = sc.acquire(request("nomic", kNomic));
  runner::Runner& r = lease->runner();
  ASSERT_TRUE(r.embedding_only());
  // num_ctx is capped at the training context (2048), like a decoder's.
  EXPECT_EQ(r.options().num_ctx, 2048);
  EXPECT_EQ(r.options().num_parallel, 1);
  EXPECT_GT(r.memory_bytes(), 4'000'000u);  // the weights (F16 token_embd)

  const auto ids = r.tokenize("The capital of France is Paris.");
  const std::vector<int32_t> want = {101, 1996, 3007, 1997, 2605, 2003, 3000, 1012, 102};
  EXPECT_EQ(ids, want);
  EXPECT_EQ(r.detokenize(ids), "the capital of france is paris .");  // WordPiece spacing

  const auto direct = engine::Embedder::load(kNomic)->embed({ids, {101, 102}});
  const auto got = r.embed({ids, {101, 102}});
  ASSERT_EQ(got.size(), 2u);
  for (size_t i = 0; i < 2; i++)
    for (size_t d = 0; d < 64; d++) EXPECT_NEAR(got[i][d], direct[i][d], 1e-6);

  // Generation is refused with a 400, not a crash.
  runner::CompletionRequest c;
  c.prompt = "hello";
  try {
    r.complete(c, [](const runner::CompletionChunk&) { return true; });
    FAIL() << "expected 400";
  } catch (const util::Error& e) {
    EXPECT_EQ(api::http_status(e.kind()), 400);
  }
  EXPECT_THROW(dynamic_cast<runner::EngineRunner&>(r).model(), util::Error);

  // Reused by the next request; listed as running.
  auto again = sc.acquire(request("nomic", kNomic));
  EXPECT_EQ(&again->runner(), &r);
  const auto running = sc.running();
  ASSERT_EQ(running.size(), 1u);
  EXPECT_EQ(running[0].context_length, 2048);
}

TEST(EmbedSched, NumCtxLimitsInputLength) {
  sched::Scheduler sc(settings());
  auto lease = sc.acquire(request("nomic", kNomic, 8));
  runner::Runner& r = lease->runner();
  EXPECT_EQ(r.options().num_ctx, 8);
  EXPECT_EQ(r.embed({{101, 1996, 3007, 1997, 2605, 2003, 3000, 102}}).size(), 1u);
  try {
    r.embed({{101, 1996, 3007, 1997, 2605, 2003, 3000, 1012, 102}});
    FAIL() << "expected 400";
  } catch (const util::Error& e) {
    EXPECT_EQ(api::http_status(e.kind()), 400);
    EXPECT_STREQ(e.what(), "the input length exceeds the context length");
  }
}

TEST(EmbedSched, DecoderWithoutDeclaredPoolingRefusesEmbed) {
  sched::Scheduler sc(settings());
  auto lease = sc.acquire(request("llama", kLlama, 64));
  runner::Runner& r = lease->runner();
  EXPECT_FALSE(r.embedding_only());
  EXPECT_FALSE(r.can_embed());
  EXPECT_THROW(dynamic_cast<runner::EngineRunner&>(r).embedder(), util::Error);
  try {
    r.embed({{1, 2, 3}});
    FAIL() << "expected 400";
  } catch (const util::Error& e) {
    EXPECT_EQ(api::http_status(e.kind()), 400);
    EXPECT_STREQ(e.what(), "this model does not support embeddings");
  }
}

TEST(EmbedSched, DecoderDeclaringLastPoolingEmbeds) {
  // tiny-llama with llama.pooling_type = last (as embedding decoders declare it).
  const auto src = gguf::File::open(kLlama);
  gguf::Writer w = gguf::Writer::from_file(*src);
  w.set_u32("llama.pooling_type", 3);
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("embed_sched_" + std::to_string(::getpid()) + ".gguf"))
                               .string();
  w.write(path);
  {
    sched::Scheduler sc(settings());
    auto lease = sc.acquire(request("llama-embed", path, 64));
    runner::Runner& r = lease->runner();
    ASSERT_TRUE(r.can_embed());
    const auto v = r.embed({{1, 450, 7483}, {1, 450, 7483}, {1, 450, 310}});
    ASSERT_EQ(v.size(), 3u);
    ASSERT_EQ(v[0].size(), 64u);
    EXPECT_EQ(v[0], v[1]);
    EXPECT_NE(v[0], v[2]);
    util::ThreadPool pool(1);
    const auto direct = engine::decoder_last_hidden(dynamic_cast<runner::EngineRunner&>(r).model(),
                                                    {1, 450, 7483}, pool);
    for (size_t d = 0; d < 64; d++) EXPECT_NEAR(v[0][d], direct[d], 1e-5);
  }
  std::filesystem::remove(path);
}

}  // namespace
