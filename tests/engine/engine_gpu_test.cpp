// The forward on the GPU (ContextOptions::gpu, the Vulkan backend; Mesa's lavapipe in CI):
// stories260K's golden logits and greedy texts exactly as on the CPU, and a context whose KV
// cache was edited (cells removed, then decoded again) agreeing with the CPU's. Skipped only
// in a build without the gpu part.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/engine.h"
#include "engine/gpu/device_backend.h"
#include "engine/gpu/fit.h"
#include "engine/model_impl.h"
#include "stories_greedy.h"
#include "util/error.h"

namespace {

const std::string& kModel = kStoriesModel;
nlohmann::json expected() { return stories_expected(); }
int argmax(const float* x, int64_t n) { return stories_argmax(x, n); }

std::vector<int32_t> greedy(const engine::Model& m, engine::KvType kv,
                            const std::vector<int32_t>& prompt, int total, int gpu_layers = -1) {
  return stories_greedy(m,
                        {.n_ctx = 512,
                         .n_seq_max = 1,
                         .n_batch = 512,
                         .kv_type = kv,
                         .gpu = true,
                         .gpu_layers = gpu_layers},
                        prompt, total);
}

class EngineGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!engine::gpu::vulkan_built()) GTEST_SKIP() << "built without the gpu part";
  }
};

TEST_F(EngineGpu, StoriesLogitsAfterBosMatchGolden) {
  auto m = engine::Model::load(kModel, {.n_threads = 2});
  const auto exp = expected()["pos0_after_bos_logits"];
  auto ctx = m->new_context({.n_ctx = 64, .gpu = true});
  engine::Batch b;
  b.add(1, 0, 0, true);
  ctx->decode(b);
  const float* lg = ctx->logits(0);
  for (const auto& p : exp["top5_id_logit"]) EXPECT_NEAR(lg[p[0].get<int>()], p[1].get<float>(), 1e-3);
  EXPECT_EQ(argmax(lg, 512), 403);
}

TEST_F(EngineGpu, StoriesGreedyTextsMatchGolden) {
  auto m = engine::Model::load(kModel, {.n_threads = 2});
  const auto exp = expected();
  const auto& u = exp["unconditional_greedy"];
  for (auto kv : {engine::KvType::kF32, engine::KvType::kF16}) {
    EXPECT_EQ(greedy(*m, kv, {1}, u["steps_including_bos_position"].get<int>()),
              u["generated_ids"].get<std::vector<int32_t>>());
  }
  for (const auto& p : exp["prompted_greedy"]) {
    const auto ids = p["prompt_token_ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(greedy(*m, engine::KvType::kF16, ids, p["total_positions"].get<int>()),
              p["greedy_generated_ids"].get<std::vector<int32_t>>());
  }
}

// A split context: the first layers on the CPU (their KV cache on the host only), the last
// ones and the output on the GPU, the residual stream crossing once per step.
TEST_F(EngineGpu, StoriesGreedyTextsMatchGoldenWithLayersSplitBetweenCpuAndGpu) {
  auto m = engine::Model::load(kModel, {.n_threads = 2});
  const int n_layer = static_cast<int>(m->info().n_layer);
  ASSERT_GE(n_layer, 2);
  {
    auto ctx = m->new_context({.n_ctx = 16, .gpu = true, .gpu_layers = 2});
    EXPECT_EQ(ctx->gpu_layers(), 2);
    EXPECT_FALSE(ctx->device().empty());
  }
  const auto exp = expected();
  const auto& u = exp["unconditional_greedy"];
  for (int on_gpu : {1, n_layer - 1}) {
    EXPECT_EQ(greedy(*m, engine::KvType::kF16, {1}, u["steps_including_bos_position"].get<int>(),
                     on_gpu),
              u["generated_ids"].get<std::vector<int32_t>>())
        << on_gpu << " of " << n_layer << " layers on the GPU";
  }
  const auto& p = exp["prompted_greedy"][0];
  EXPECT_EQ(greedy(*m, engine::KvType::kF16, p["prompt_token_ids"].get<std::vector<int32_t>>(),
                   p["total_positions"].get<int>(), 2),
            p["greedy_generated_ids"].get<std::vector<int32_t>>());
}

// Two sequences in one batch, then edits of the host cache (remove the tail of one sequence,
// shift the other; then copy the first over the second) and more decoding: the device copy of
// the edited sequences is rebuilt and the logits follow the CPU context's through the same calls.
TEST_F(EngineGpu, EditedKvCacheAndTwoSequencesAgreeWithTheCpu) {
  auto m = engine::Model::load(kModel, {.n_threads = 2});
  auto run = [&](bool gpu, int gpu_layers) {
    auto ctx = m->new_context(
        {.n_ctx = 64, .n_seq_max = 2, .n_batch = 16, .gpu = gpu, .gpu_layers = gpu_layers});
    std::vector<float> got;
    auto take = [&](int i) {
      const float* lg = ctx->logits(i);
      got.insert(got.end(), lg, lg + m->n_vocab());
    };
    engine::Batch b;
    for (int i = 0; i < 20; i++) b.add(1 + (i * 37) % 500, i, 0, i == 19);
    for (int i = 0; i < 7; i++) b.add(3 + (i * 11) % 500, i, 1, i == 6);
    ctx->decode(b);  // 27 tokens: two chunks of 16
    take(0);
    take(1);
    ctx->kv_seq_remove(0, 12, -1);
    ctx->kv_seq_shift(1, 2, -1, 5);
    b.clear();
    b.add(42, 12, 0, true);
    b.add(43, 12, 1, true);
    ctx->decode(b);
    take(0);
    take(1);
    ctx->kv_seq_copy(0, 1, 0, -1);  // sequence 1 becomes a copy of sequence 0
    b.clear();
    b.add(44, 13, 1, true);
    ctx->decode(b);
    take(0);
    return got;
  };
  const auto cpu = run(false, -1);
  for (int gpu_layers : {-1, 2}) {
    const auto gpu = run(true, gpu_layers);
    ASSERT_EQ(cpu.size(), gpu.size());
    for (size_t i = 0; i < cpu.size(); i++)
      ASSERT_NEAR(gpu[i], cpu[i], 1e-3f * (1.0f + std::fabs(cpu[i])))
          << "at " << i << ", gpu_layers " << gpu_layers;
  }
}

// gpu_layers -1 fits the last layers into the device's free memory less gpu_overhead: an
// overhead leaving room for the fixed part and exactly k layers puts k layers there (and the
// text stays golden); one leaving room for no layer is a clear out-of-memory error.
TEST_F(EngineGpu, AutomaticPlacementFitsTheLayersInFreeMemoryLessTheOverhead) {
  auto m = engine::Model::load(kModel, {.n_threads = 2});
  const int n_layer = static_cast<int>(m->info().n_layer);
  const engine::ContextOptions base{.n_ctx = 512, .n_seq_max = 1, .n_batch = 512, .gpu = true};
  {
    auto all = m->new_context(base);
    EXPECT_EQ(all->gpu_layers(), n_layer);  // stories260K fits any device
  }
  const uint64_t free = engine::gpu::device_free_bytes();
  // Without VK_EXT_memory_budget (lavapipe) free memory is the heap less this process's
  // buffers: exact. A driver that reports the system's varying budget cannot be fitted to
  // within half a layer.
  if (engine::gpu::device_free_bytes() != free) GTEST_SKIP() << "the device's free memory varies";
  const engine::gpu::GpuBytes need = engine::gpu::gpu_bytes(
      m->file(), m->impl().arch->shape(), base.n_ctx, base.n_seq_max, base.n_batch);
  ASSERT_EQ(need.layer.size(), static_cast<size_t>(n_layer));
  const auto exp = expected();
  const auto& u = exp["unconditional_greedy"];
  for (int k : {1, n_layer - 1}) {
    uint64_t room = need.fixed;
    for (int i = 0; i < k; i++) room += need.layer[n_layer - 1 - i];
    room += need.layer[0] / 2;  // less than one more layer
    engine::ContextOptions o = base;
    o.gpu_overhead = free - room;
    {
      auto ctx = m->new_context(o);
      EXPECT_EQ(ctx->gpu_layers(), k);
    }
    EXPECT_EQ(stories_greedy(*m, o, {1}, u["steps_including_bos_position"].get<int>()),
              u["generated_ids"].get<std::vector<int32_t>>())
        << k << " layers fitted";
  }
  engine::ContextOptions none = base;
  none.gpu_overhead = free - need.fixed;  // the output fits, no layer does
  try {
    m->new_context(none);
    FAIL() << "a context with no layer on the GPU";
  } catch (const util::Error& e) {
    EXPECT_EQ(e.kind(), util::ErrorKind::kOutOfMemory);
    EXPECT_NE(std::string(e.what()).find("not enough GPU memory"), std::string::npos) << e.what();
  }
}

TEST(GpuFit, LastLayersFirstUntilTheRoomRunsOut) {
  engine::gpu::GpuBytes need;
  need.fixed = 100;
  need.layer = {10, 20, 30, 40};
  EXPECT_EQ(engine::gpu::fit_layers(need, 1000, 0), 4);
  EXPECT_EQ(engine::gpu::fit_layers(need, 200, 0), 4);   // 100 + 100
  EXPECT_EQ(engine::gpu::fit_layers(need, 199, 0), 3);   // 40 + 30 + 20 of 99
  EXPECT_EQ(engine::gpu::fit_layers(need, 239, 100), 0);  // 39 left: not even the last layer
  EXPECT_EQ(engine::gpu::fit_layers(need, 240, 100), 1);
  EXPECT_EQ(engine::gpu::fit_layers(need, 269, 100), 1);
  EXPECT_EQ(engine::gpu::fit_layers(need, 270, 100), 2);
  EXPECT_EQ(engine::gpu::fit_layers(need, 100, 0), 0);   // only the fixed part
  EXPECT_EQ(engine::gpu::fit_layers(need, 50, 0), 0);
  EXPECT_EQ(engine::gpu::fit_layers(need, 50, 80), 0);   // overhead above the free memory
  EXPECT_EQ(engine::gpu::format_bytes(3ull << 29), "1.5 GiB");
  EXPECT_EQ(engine::gpu::format_bytes(5ull << 19), "2.5 MiB");
}

}  // namespace
