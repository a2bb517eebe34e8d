// Engine benchmark: read bandwidth of this machine, prefill and decode tokens/s of a model,
// and decode speed as a fraction of the bandwidth roofline (docs/performance.md).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/engine.h"

namespace util {
class ThreadPool;
}

namespace engine {

struct BenchOptions {
  std::string model_path;
  int n_prompt = 512;  // prefill tokens (one decode call, chunked by n_batch)
  int n_gen = 128;     // decode steps after the prefill, one token each
  int n_threads = 0;   // 0 = physical cores
  int n_batch = 512;
  // Also decode this many sequences together (continuous batching), each after its own
  // n_prompt/8-token prompt; 0 or 1 = skip. Reports aggregate tokens/s.
  int n_parallel = 0;
  KvType kv_type = KvType::kF16;
  size_t bandwidth_bytes = size_t(1) << 30;  // buffer read to measure bandwidth; 0 = skip
  int bandwidth_threads = 2;
  int repetitions = 3;  // bandwidth: best of this many passes
  bool gpu = false;     // run on the GPU backend; bandwidth is then the device's (copies)
};

struct BenchResult {
  std::string model_path, arch;
  uint64_t weight_bytes = 0, n_params = 0;
  uint64_t active_bytes = 0;  // bytes a decode step reads (ModelInfo::active_weight_bytes)
  int n_threads = 0, n_prompt = 0, n_gen = 0;
  double load_s = 0;
  double bandwidth_gbs = 0;    // measured read bandwidth, GB/s (1e9 bytes)
  double prefill_tps = 0;      // prompt tokens / s
  double decode_tps = 0;       // generated tokens / s
  double roofline_tps = 0;     // bandwidth / active bytes: decode ceiling, one sequence
  double decode_roofline = 0;  // decode_tps / roofline_tps (0..1)
  int n_parallel = 0;
  double parallel_decode_tps = 0;  // aggregate over n_parallel sequences decoding together
  std::string device;              // the GPU (BenchOptions::gpu), "" on the CPU

  std::string to_json() const;  // one JSON object, keys as the field names above
  std::string to_text() const;  // a few human-readable lines
};

// Best-of-`repetitions` read bandwidth in GB/s over a buffer of `bytes`, using the first
// n_threads threads of the pool (fewer if the pool is smaller).
double measure_read_bandwidth(util::ThreadPool& pool, size_t bytes, int n_threads, int repetitions);

// Loads the model (timed), measures bandwidth, then prefill and decode; throws util::Error.
BenchResult run_bench(const BenchOptions& opts);

}  // namespace engine
