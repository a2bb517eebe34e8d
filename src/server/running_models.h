// GET /api/ps over the scheduler: loaded models as api::ProcessModel, and the scheduler's
// settings from the server configuration.
#pragma once
#include "sched/scheduler.h"
#include "server/context.h"
#include "util/env.h"

namespace server {

// Scheduler settings from OLLAMA_* (keep_alive, num_parallel, max_loaded_models, max_queue,
// context length default 4096, KV cache type, threads).
sched::Settings scheduler_settings(const util::Config& cfg);

class SchedulerRunningModels : public RunningModels {
 public:
  explicit SchedulerRunningModels(sched::Scheduler& s) : sched_(s) {}
  std::vector<api::ProcessModel> list() override;

 private:
  sched::Scheduler& sched_;
};

}  // namespace server
