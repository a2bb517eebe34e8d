// The one persistent compute thread pool: created once, spin-then-sleep barrier, no per-call
// allocation. HTTP and downloads never run on it.
#pragma once
#include <cstdint>

namespace util {

// Number of physical cores (hyper-threads counted once); at least 1.
int physical_cores();
// Number of CPUs this process may run on (hyper-threads counted); at least 1. The most compute
// threads worth starting: options asking for more are clamped to it.
int available_cpus();

class ThreadPool {
 public:
  // n_threads includes the calling thread; n_threads - 1 workers are started (n_threads is
  // clamped to [1, kMaxThreads]). When a worker cannot be started, the ones already running
  // are stopped and joined and util::Error (503) is thrown: nothing is left behind.
  explicit ThreadPool(int n_threads);
  static constexpr int kMaxThreads = 1024;
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Runs fn(ctx, ith, nth) on every thread (the caller is ith 0) and returns when all are done.
  // A plain function pointer + context: no std::function allocation on the hot path.
  using Task = void (*)(void* ctx, int ith, int nth);
  void run(Task fn, void* ctx);

  template <class F>
  void run(F& f) {
    run([](void* c, int ith, int nth) { (*static_cast<F*>(c))(ith, nth); }, &f);
  }

 private:
  void stop_workers();
  struct Impl;
  Impl* impl_;
  int n_threads_;
};

}  // namespace util
