// The scheduler: which models are loaded, their keep_alive timers, the request queue, the
// memory fit and LRU eviction (spec §4, §9). Hands out leases on loaded runners.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "api/types.h"
#include "runner/runner.h"

namespace sched {

struct Settings {
  int max_loaded_models = 3;
  int num_parallel = 1;
  int max_queue = 512;
  int64_t default_keep_alive_ns = 5LL * 60 * 1'000'000'000;
  int default_num_ctx = 4096;
  engine::KvType kv_type = engine::KvType::kF16;
  int num_threads = 0;  // 0 = physical cores
  bool gpu = false;     // models run on the GPU unless a request says num_gpu 0
  uint64_t gpu_overhead = 0;  // OLLAMA_GPU_OVERHEAD: device bytes the automatic fit leaves free
  bool gpu_cpu_device = true;  // engine::ContextOptions::gpu_cpu_device
  // Memory available for models; 0 = read MemAvailable from /proc/meminfo at each load.
  uint64_t memory_limit = 0;
  // Makes the runner of a loaded model; empty: the engine's (runner::EngineRunner::factory()).
  // Server tests give a scripted runner here.
  runner::RunnerFactory runner_factory;
};

struct ModelRequest {
  std::string key;            // identity: manifest digest (a different digest is another model)
  std::string name;           // display name "model:tag"
  std::string path;           // GGUF blob
  api::ModelDetails details;  // for /api/ps
  int num_ctx = 0;            // 0 = default; clamped to the model's training context
  int num_batch = 0;
  int num_thread = 0;
  // Layers on the GPU: 0 on the CPU whatever Settings::gpu says; absent or -1: as many as fit.
  std::optional<int> num_gpu;
  std::optional<int64_t> keep_alive_ns;  // absent: keep the loaded model's current duration
};

struct RunningModel {
  std::string name, digest;
  api::ModelDetails details;
  uint64_t size = 0;
  int context_length = 0;
  std::chrono::system_clock::time_point expires_at;
  bool forever = false;
  uint64_t size_vram = 0;  // of size, on the GPU
};

class Scheduler;

// A loaded model in use; while any lease lives the model is not unloaded. The keep_alive
// timer starts when the last lease ends.
class Lease {
 public:
  ~Lease();
  runner::Runner& runner() const { return *runner_; }
  double load_seconds() const { return load_seconds_; }

 private:
  friend class Scheduler;
  Scheduler* sched_ = nullptr;
  std::string key_;
  std::shared_ptr<runner::Runner> runner_;
  double load_seconds_ = 0;
};

class Scheduler {
 public:
  explicit Scheduler(Settings s);
  ~Scheduler();

  // Loads (or reuses) the model and returns a lease. Blocks while the model loads or while
  // max_loaded_models busy models occupy every place. Throws util::Error: unavailable when
  // the queue is full, cancelled when `cancel` is stopped while waiting (the wait ends at
  // once), the load error otherwise.
  std::unique_ptr<Lease> acquire(const ModelRequest& req, std::stop_token cancel = {});
  // Unloads `key` now if idle, or as soon as its last lease ends (keep_alive 0).
  // Returns false if it is not loaded.
  bool unload(const std::string& key);
  // Sets the keep-alive of a loaded model without a request (empty generate with keep_alive).
  std::vector<RunningModel> running() const;
  int loaded_count() const;

  // /metrics: each loaded model's runner statistics and memory, and the requests waiting for
  // a model to load or for room to load it.
  struct ModelStats {
    std::string name;
    uint64_t size = 0;
    runner::Runner::Stats runner;
  };
  std::vector<ModelStats> model_stats() const;
  int pending() const;

 private:
  struct Entry;
  void release(const std::string& key);
  void expiry_loop();
  void evict_locked(std::unique_lock<std::mutex>& l, const std::string& key);
  uint64_t available_memory() const;

  Settings s_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<Entry>> loaded_;
  int pending_ = 0;
  bool stop_ = false;
  std::thread expiry_;
  friend class Lease;
};

}  // namespace sched
