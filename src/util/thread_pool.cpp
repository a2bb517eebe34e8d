// Persistent compute pool: workers spin briefly on a generation counter after each run (so
// back-to-back matmuls wake them in well under a microsecond), then sleep on a condition
// variable so an idle server burns no CPU.
#include "util/thread_pool.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "util/error.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define POOL_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define POOL_PAUSE() __asm__ volatile("yield")
#else
#define POOL_PAUSE() ((void)0)
#endif

namespace util {
namespace {

// How long an idle worker spins before sleeping. Covers the gaps inside and between forward
// passes (sampling, streaming a token) without keeping a core busy when nothing runs.
constexpr auto kSpinTime = std::chrono::microseconds(1000);

int read_int_file(const std::string& path) {
  std::ifstream f(path);
  int v = -1;
  if (f) f >> v;
  return f ? v : -1;
}

}  // namespace

int physical_cores() {
  // Cores this process may run on, counted once per (package, core) pair.
  cpu_set_t set;
  CPU_ZERO(&set);
  std::set<std::pair<int, int>> cores;
  bool topology_ok = sched_getaffinity(0, sizeof(set), &set) == 0;
  for (int cpu = 0; topology_ok && cpu < CPU_SETSIZE; cpu++) {
    if (!CPU_ISSET(cpu, &set)) continue;
    const std::string base = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
    const int core = read_int_file(base + "core_id");
    const int pkg = read_int_file(base + "physical_package_id");
    if (core < 0) {
      topology_ok = false;
      break;
    }
    cores.emplace(pkg, core);
  }
  if (topology_ok && !cores.empty()) return static_cast<int>(cores.size());
  const unsigned n = std::thread::hardware_concurrency();
  return n ? static_cast<int>(n) : 1;
}

int available_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  const unsigned n = std::thread::hardware_concurrency();
  return n ? static_cast<int>(n) : 1;
}

struct ThreadPool::Impl {
  // Written by run() before the generation bump (release), read by workers after (acquire).
  Task fn = nullptr;
  void* ctx = nullptr;
  int n_threads = 1;

  alignas(64) std::atomic<uint64_t> generation{0};
  alignas(64) std::atomic<int> pending{0};  // workers still running the current generation
  alignas(64) std::atomic<int> sleepers{0};
  std::atomic<bool> stop{false};

  std::mutex mu;  // guards sleeping only
  std::condition_variable cv;
  std::mutex run_mu;  // one run() at a time (the pool may be shared by several callers)
  std::vector<std::thread> workers;

  void worker_loop(int ith) {
    uint64_t seen = 0;
    for (;;) {
      uint64_t gen = wait_for_work(seen);
      if (gen == 0) return;  // stop
      seen = gen;
      fn(ctx, ith, n_threads);
      pending.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  // Returns the new generation, or 0 when the pool is stopping.
  uint64_t wait_for_work(uint64_t seen) {
    auto start = std::chrono::steady_clock::now();
    for (int i = 1;; i++) {
      const uint64_t g = generation.load(std::memory_order_acquire);
      if (g != seen) return g;
      if (stop.load(std::memory_order_relaxed)) return 0;
      POOL_PAUSE();
      if ((i & 255) == 0) {
        if (std::chrono::steady_clock::now() - start > kSpinTime) break;
        // Lets a descheduled peer (or the caller) run when the box is oversubscribed.
        if ((i & 4095) == 0) std::this_thread::yield();
      }
    }
    std::unique_lock<std::mutex> lock(mu);
    // seq_cst pairs with run(): either it sees us as a sleeper or we see its new generation.
    sleepers.fetch_add(1, std::memory_order_seq_cst);
    cv.wait(lock, [&] {
      return generation.load(std::memory_order_seq_cst) != seen ||
             stop.load(std::memory_order_seq_cst);
    });
    sleepers.fetch_sub(1, std::memory_order_relaxed);
    if (stop.load()) return 0;
    return generation.load(std::memory_order_acquire);
  }
};

ThreadPool::ThreadPool(int n_threads)
    : impl_(new Impl), n_threads_(std::clamp(n_threads, 1, kMaxThreads)) {
  impl_->n_threads = n_threads_;
  try {
    impl_->workers.reserve(n_threads_ - 1);
    for (int i = 1; i < n_threads_; i++) {
      impl_->workers.emplace_back([this, i] { impl_->worker_loop(i); });
    }
  } catch (const std::exception& e) {
    // Out of threads (EAGAIN) or memory: the workers already started must not outlive the
    // pool they read, so stop and join them before reporting.
    const size_t started = impl_->workers.size();
    stop_workers();
    delete impl_;
    throw Error("cannot start " + std::to_string(n_threads_) + " compute threads (" +
                    std::to_string(started + 1) + " started): " + e.what(),
                util::ErrorKind::kUnavailable);
  }
}

void ThreadPool::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stop.store(true, std::memory_order_seq_cst);
  }
  impl_->cv.notify_all();
  for (auto& t : impl_->workers) t.join();
}

ThreadPool::~ThreadPool() {
  stop_workers();
  delete impl_;
}

void ThreadPool::run(Task fn, void* ctx) {
  if (n_threads_ == 1) {
    fn(ctx, 0, 1);
    return;
  }
  Impl& im = *impl_;
  std::lock_guard<std::mutex> run_lock(im.run_mu);
  im.fn = fn;
  im.ctx = ctx;
  im.pending.store(n_threads_ - 1, std::memory_order_relaxed);
  im.generation.fetch_add(1, std::memory_order_seq_cst);
  if (im.sleepers.load(std::memory_order_seq_cst) > 0) {
    { std::lock_guard<std::mutex> lock(im.mu); }
    im.cv.notify_all();
  }
  fn(ctx, 0, n_threads_);
  // Workers are normally already done or nearly so; yield only if one was descheduled.
  for (int i = 1; im.pending.load(std::memory_order_acquire) != 0; i++) {
    POOL_PAUSE();
    if ((i & 1023) == 0) std::this_thread::yield();
  }
}

}  // namespace util
