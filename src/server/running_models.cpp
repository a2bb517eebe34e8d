#include "server/running_models.h"

#include <algorithm>
#include <chrono>

#include "util/duration.h"
#include "util/log.h"
#include "util/thread_pool.h"

namespace server {

sched::Settings scheduler_settings(const util::Config& cfg) {
  sched::Settings s;
  s.max_loaded_models = cfg.max_loaded_models > 0 ? cfg.max_loaded_models : 3;
  s.num_parallel = cfg.num_parallel > 0 ? cfg.num_parallel : 1;
  s.max_queue = cfg.max_queue > 0 ? cfg.max_queue : 512;
  s.default_keep_alive_ns = cfg.keep_alive_ns;
  s.default_num_ctx = cfg.context_length > 0 ? cfg.context_length : 4096;
  if (cfg.kv_cache_type == "f32") {
    s.kv_type = engine::KvType::kF32;
  } else if (!cfg.kv_cache_type.empty() && cfg.kv_cache_type != "f16") {
    LOG_WARN("OLLAMA_KV_CACHE_TYPE={} is not supported; using f16", cfg.kv_cache_type);
  }
  s.gpu_overhead = cfg.gpu_overhead;
  // Mesa's CPU renderer runs on the cores the CPU path uses, many times slower: only when asked
  // for by name (the vulkan library, or devices listed) rather than by OLLAMA_VULKAN=1 alone.
  s.gpu_cpu_device = cfg.llm_library == "vulkan" || !cfg.vk_visible_devices.empty();
  if (cfg.llm_library.rfind("cpu", 0) == 0) {
    s.gpu = false;  // a CPU library named outright wins, as in Ollama
  } else if (cfg.vulkan) {
    s.gpu = *cfg.vulkan;
  } else if (cfg.llm_library == "vulkan") {
    s.gpu = true;
  } else if (!cfg.llm_library.empty() && cfg.llm_library.rfind("cpu", 0) != 0) {
    LOG_WARN("OLLAMA_LLM_LIBRARY={} is not a library of this build (vulkan, cpu); using the CPU",
             cfg.llm_library);
  }
  s.num_threads = std::clamp(cfg.num_threads, 0, util::available_cpus());
  if (s.num_threads != cfg.num_threads)
    LOG_WARN("OLLAMA_NUM_THREADS={} is outside 0..{}; using {}", cfg.num_threads,
             util::available_cpus(), s.num_threads);
  return s;
}

std::vector<api::ProcessModel> SchedulerRunningModels::list() {
  std::vector<api::ProcessModel> out;
  for (const auto& r : sched_.running()) {
    api::ProcessModel m;
    m.name = m.model = r.name;
    m.size = static_cast<int64_t>(r.size);
    m.digest = r.digest;
    m.details = r.details;
    if (r.forever) {
      // Go's time.Now().Add(math.MaxInt64): about 292 years ahead (past int64 unix nanos).
      auto now = std::chrono::system_clock::now().time_since_epoch();
      m.expires_at = api::Timestamp::from_unix_nanos_local(
          std::chrono::duration_cast<std::chrono::nanoseconds>(now).count());
      m.expires_at.unix_seconds += util::kForever / util::kNanosPerSecond;
      m.expires_at.nanos += static_cast<int32_t>(util::kForever % util::kNanosPerSecond);
      if (m.expires_at.nanos >= util::kNanosPerSecond) {
        m.expires_at.nanos -= util::kNanosPerSecond;
        m.expires_at.unix_seconds += 1;
      }
    } else {
      m.expires_at = api::Timestamp::from_unix_nanos_local(
          std::chrono::duration_cast<std::chrono::nanoseconds>(r.expires_at.time_since_epoch())
              .count());
    }
    m.size_vram = static_cast<int64_t>(r.size_vram);
    m.context_length = r.context_length;
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace server
