#include "util/thread_pool.h"

#include <thread>

namespace util {
int physical_cores() {
  unsigned n = std::thread::hardware_concurrency();
  return n ? static_cast<int>(n) : 1;
}
struct ThreadPool::Impl {};
ThreadPool::ThreadPool(int n) : impl_(nullptr), n_threads_(n < 1 ? 1 : n) {}
ThreadPool::~ThreadPool() = default;
void ThreadPool::run(Task fn, void* ctx) {
  // Placeholder (serial) until the real pool lands.
  for (int i = 0; i < n_threads_; i++) fn(ctx, i, n_threads_);
}
}  // namespace util
