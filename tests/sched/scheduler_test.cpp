// The scheduler with real models: load on first use, reuse, keep_alive expiry, explicit
// unload, max loaded models with LRU eviction, reload on a different num_ctx, queue limit.
#include "sched/scheduler.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <set>

#include "api/status.h"
#include "runner/engine_runner.h"
#include "util/duration.h"
#include "util/error.h"

using sched::ModelRequest;
using sched::Scheduler;
using namespace std::chrono_literals;

namespace {
const std::string kStories = std::string(OLLAMA_SHARED_DIR) + "/testdata/real/stories260K.gguf";
const std::string kTiny =
    std::string(OLLAMA_SHARED_DIR) + "/testdata/models/tiny-llama-e64-f32.gguf";

sched::Settings settings() {
  sched::Settings s;
  s.num_threads = 2;
  s.default_num_ctx = 256;
  return s;
}

ModelRequest req(const std::string& key, const std::string& path) {
  ModelRequest r;
  r.key = key;
  r.name = key + ":latest";
  r.path = path;
  return r;
}

std::string generate(runner::Runner& r) {
  runner::CompletionRequest c;
  c.prompt = "Once upon a time";
  c.sampling.temperature = 0;
  c.num_predict = 8;
  std::string out;
  r.complete(c, [&](const runner::CompletionChunk& ch) {
    out += ch.text;
    return true;
  });
  return out;
}
}  // namespace

TEST(Scheduler, LoadsOnceAndReuses) {
  Scheduler s(settings());
  EXPECT_EQ(s.loaded_count(), 0);
  runner::Runner* first;
  {
    auto lease = s.acquire(req("stories", kStories));
    first = &lease->runner();
    EXPECT_GT(lease->load_seconds(), 0);
    EXPECT_EQ(generate(lease->runner()), ", there was a little girl");
  }
  auto again = s.acquire(req("stories", kStories));
  EXPECT_EQ(&again->runner(), first);
  auto ps = s.running();
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].name, "stories:latest");
  EXPECT_EQ(ps[0].context_length, 256);
  EXPECT_GT(ps[0].size, 1000000u);
}

TEST(Scheduler, KeepAliveExpiresAndZeroUnloadsAtOnce) {
  Scheduler s(settings());
  ModelRequest r = req("stories", kStories);
  r.keep_alive_ns = 300'000'000;  // 0.3 s
  { auto lease = s.acquire(r); }
  EXPECT_EQ(s.loaded_count(), 1);
  auto ps = s.running();
  auto left = ps[0].expires_at - std::chrono::system_clock::now();
  EXPECT_GT(left, 0ms);
  EXPECT_LE(left, 300ms);
  std::this_thread::sleep_for(700ms);
  EXPECT_EQ(s.loaded_count(), 0);
  r.keep_alive_ns = 0;
  { auto lease = s.acquire(r); }
  EXPECT_EQ(s.loaded_count(), 0);
  r.keep_alive_ns = util::kForever;
  { auto lease = s.acquire(r); }
  EXPECT_TRUE(s.running()[0].forever);
  EXPECT_TRUE(s.unload("stories"));
  EXPECT_EQ(s.loaded_count(), 0);
  EXPECT_FALSE(s.unload("stories"));
}

TEST(Scheduler, MaxLoadedEvictsLeastRecentlyUsedIdle) {
  sched::Settings st = settings();
  st.max_loaded_models = 1;
  Scheduler s(st);
  { auto a = s.acquire(req("stories", kStories)); }
  { auto b = s.acquire(req("tiny", kTiny)); }
  auto ps = s.running();
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].name, "tiny:latest");
  // A busy model is not evicted: the second request waits until the lease ends.
  auto busy = s.acquire(req("tiny", kTiny));
  auto fut = std::async(std::launch::async,
                        [&] { return s.acquire(req("stories", kStories)) != nullptr; });
  EXPECT_EQ(fut.wait_for(300ms), std::future_status::timeout);
  busy.reset();
  EXPECT_TRUE(fut.get());
  EXPECT_EQ(s.running()[0].name, "stories:latest");
}

TEST(Scheduler, StoppedTokenEndsTheWaitForAPlace) {
  sched::Settings st = settings();
  st.max_loaded_models = 1;
  Scheduler s(st);
  auto busy = s.acquire(req("tiny", kTiny));
  std::stop_source cancel;
  auto fut = std::async(std::launch::async, [&] {
    try {
      s.acquire(req("stories", kStories), cancel.get_token());
      return std::string("acquired");
    } catch (const util::Error& e) {
      return std::string(e.kind() == util::ErrorKind::kCancelled ? "cancelled" : e.what());
    }
  });
  EXPECT_EQ(fut.wait_for(200ms), std::future_status::timeout);
  cancel.request_stop();
  ASSERT_EQ(fut.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(fut.get(), "cancelled");
  EXPECT_EQ(s.pending(), 0);
  EXPECT_EQ(s.running()[0].name, "tiny:latest");  // the busy model was left alone
}

TEST(Scheduler, DifferentNumCtxReloads) {
  Scheduler s(settings());
  ModelRequest r = req("stories", kStories);
  r.num_ctx = 128;
  {
    auto a = s.acquire(r);
    EXPECT_EQ(a->runner().options().num_ctx, 128);
  }
  r.num_ctx = 64;
  {
    auto b = s.acquire(r);
    EXPECT_EQ(b->runner().options().num_ctx, 64);
  }
  r.num_ctx = 0;  // not set explicitly: the loaded instance is fine
  {
    auto c = s.acquire(r);
    EXPECT_EQ(c->runner().options().num_ctx, 64);
  }
}

// num_gpu is a load-time option (Ollama's): an explicit different value reloads the model
// with the new placement, -1 or absent keeps whatever is loaded; with the GPU off it changes
// nothing.
TEST(Scheduler, DifferentNumGpuReloadsWhenTheGpuIsOn) {
  for (bool gpu : {true, false}) {
    std::vector<std::pair<bool, int>> loads;  // (gpu, gpu_layers) of each load
    sched::Settings st = settings();
    st.gpu = gpu;
    st.runner_factory = [&](const std::string& path, bool encoder, const engine::LoadOptions& lo,
                            const runner::RunnerOptions& ro) {
      loads.emplace_back(ro.gpu, ro.gpu_layers);
      runner::RunnerOptions cpu = ro;
      cpu.gpu = false;
      return runner::EngineRunner::factory()(path, encoder, lo, cpu);
    };
    Scheduler s(st);
    ModelRequest r = req("stories", kStories);
    for (std::optional<int> n : std::vector<std::optional<int>>{2, 2, 3, std::nullopt, -1, 0, 0}) {
      r.num_gpu = n;
      auto lease = s.acquire(r);
    }
    if (gpu) {
      const std::vector<std::pair<bool, int>> want = {{true, 2}, {true, 3}, {false, -1}};
      EXPECT_EQ(loads, want);
    } else {
      ASSERT_EQ(loads.size(), 1u);
      EXPECT_FALSE(loads[0].first);
    }
  }
}

TEST(Scheduler, LoadErrorIsReportedAndNotCached) {
  Scheduler s(settings());
  std::string bad = std::filesystem::temp_directory_path() / "oc-sched-bad.gguf";
  { std::ofstream(bad) << "not a gguf"; }
  EXPECT_THROW(s.acquire(req("bad", bad)), util::Error);
  EXPECT_EQ(s.loaded_count(), 0);
  std::filesystem::remove(bad);
}

TEST(Scheduler, QueueLimit) {
  sched::Settings st = settings();
  st.max_queue = 0;
  Scheduler s(st);
  try {
    s.acquire(req("stories", kStories));
    FAIL();
  } catch (const util::Error& e) {
    EXPECT_EQ(api::http_status(e.kind()), 503);
    EXPECT_STREQ(e.what(), "server busy, please try again.  maximum pending requests exceeded");
  }
}

TEST(Scheduler, RefusesAModelThatCannotFitInsteadOfLoadingIt) {
  // Weights + KV cache above the memory available, nothing to evict: a clear error, no load.
  sched::Settings st = settings();
  st.memory_limit = 1u << 20;
  Scheduler s(st);
  try {
    s.acquire(req("stories", kStories));
    FAIL() << "loaded a model that does not fit";
  } catch (const util::Error& e) {
    EXPECT_NE(std::string(e.what()).find("model requires more system memory"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(s.loaded_count(), 0);
}

TEST(Scheduler, ConcurrentColdAcquiresLoadOnce) {
  // Many requests racing on a cold model join one load (a second load used to replace the
  // first's entry, which then never expired).
  sched::Settings st = settings();
  st.default_keep_alive_ns = 0;
  Scheduler s(st);
  for (int round = 0; round < 5; round++) {
    std::vector<std::future<runner::Runner*>> fs;
    for (int i = 0; i < 6; i++)
      fs.push_back(std::async(std::launch::async, [&] {
        auto lease = s.acquire(req("stories", kStories));
        return &lease->runner();
      }));
    std::set<runner::Runner*> runners;
    for (auto& f : fs) runners.insert(f.get());
    // keep_alive 0: the model unloads when its last lease ends, so a later round may load a
    // new runner, but the requests that overlapped shared one and nothing stays loaded.
    EXPECT_EQ(s.loaded_count(), 0) << "round " << round;
  }
}
