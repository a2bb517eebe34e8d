// The bench library runs end to end on a real model and reports consistent numbers as JSON.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/bench.h"
#include "util/thread_pool.h"

namespace {

TEST(EngineBench, RunsAndReportsJson) {
  engine::BenchOptions o;
  o.model_path = std::string(OLLAMA_SHARED_DIR) + "/testdata/real/stories260K.gguf";
  o.n_prompt = 32;
  o.n_gen = 8;
  o.n_threads = 2;
  o.n_parallel = 3;
  o.bandwidth_bytes = 64 << 20;
  const engine::BenchResult r = engine::run_bench(o);
  const auto j = nlohmann::json::parse(r.to_json());
  EXPECT_EQ(j["arch"], "llama");
  EXPECT_EQ(j["weight_bytes"].get<uint64_t>(), 1185376u - 14176u);
  EXPECT_EQ(j["n_prompt"], 32);
  EXPECT_EQ(j["n_parallel"], 3);
  EXPECT_GT(j["prefill_tps"].get<double>(), 0);
  EXPECT_GT(j["decode_tps"].get<double>(), 0);
  EXPECT_GT(j["parallel_decode_tps"].get<double>(), 0);
  EXPECT_GT(j["bandwidth_gbs"].get<double>(), 0.1);
  // stories260K has its own output matrix: a decode step reads one row of token_embd (F32,
  // 512 x 64) instead of all of it.
  const double active = 1185376.0 - 14176.0 - 512 * 64 * 4 + 64 * 4;
  EXPECT_EQ(j["active_bytes"].get<double>(), active);
  EXPECT_NEAR(j["roofline_tps"].get<double>(), j["bandwidth_gbs"].get<double>() * 1e9 / active,
              1.0);
  EXPECT_NE(r.to_text().find("prefill"), std::string::npos);
}

TEST(EngineBench, BandwidthUsesRequestedThreads) {
  util::ThreadPool pool(2);
  EXPECT_GT(engine::measure_read_bandwidth(pool, 32 << 20, 2, 2), 0.1);
  EXPECT_EQ(engine::measure_read_bandwidth(pool, 0, 2, 2), 0.0);
}

}  // namespace
