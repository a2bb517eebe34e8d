// Pull and push of whole models over the OCI distribution protocol (§8.5-8.7).
#pragma once
#include <atomic>
#include <functional>

#include "api/types.h"
#include "registry/client.h"
#include "store/store.h"

namespace registry {

using ProgressFn = std::function<void(const api::ProgressResponse&)>;

// Downloads `name` into the store: manifest, every missing layer (parallel byte ranges,
// resumable from <blob>-partial files), verification, then the manifest last. Statuses as
// Ollama's. Throws util::Error on failure; nothing is installed for an incomplete model.
void pull(store::Store& st, const store::ModelName& name, const Options& opts,
          const ProgressFn& progress, const std::atomic<bool>* cancel = nullptr,
          bool noprune = false);

// Uploads `name`: layers the registry lacks (HEAD, cross-repo mount, POST/PATCH/PUT), then
// the manifest.
void push(store::Store& st, const store::ModelName& name, const Options& opts,
          const ProgressFn& progress, const std::atomic<bool>* cancel = nullptr);

// Part plan of a blob of `total` bytes (§8.5 sizing).
struct Part {
  int n = 0;
  int64_t offset = 0, size = 0, completed = 0;
};
std::vector<Part> plan_parts(int64_t total, int64_t part_min, int64_t part_max);

}  // namespace registry
