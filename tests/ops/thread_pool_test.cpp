#include "util/thread_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

TEST(ThreadPool, EveryThreadRunsOncePerRun) {
  for (int n : {1, 2, 3, 4}) {
    util::ThreadPool pool(n);
    EXPECT_EQ(pool.size(), n);
    for (int rep = 0; rep < 50; rep++) {
      std::vector<std::atomic<int>> hits(n);
      std::atomic<int> bad_nth{0};
      auto f = [&](int ith, int nth) {
        if (nth != n) bad_nth++;
        hits[ith]++;
      };
      pool.run(f);
      for (int i = 0; i < n; i++) ASSERT_EQ(hits[i].load(), 1) << "n=" << n << " ith=" << i;
      ASSERT_EQ(bad_nth.load(), 0);
    }
  }
}

TEST(ThreadPool, ManyRapidRunsSeeAllWrites) {
  util::ThreadPool pool(2);
  std::vector<int64_t> slots(2, 0);
  // Plain (non-atomic) per-thread writes: run() must publish them to the caller.
  for (int rep = 0; rep < 5000; rep++) {
    auto f = [&](int ith, int) { slots[ith] += ith + 1; };
    pool.run(f);
  }
  EXPECT_EQ(slots[0], 5000);
  EXPECT_EQ(slots[1], 10000);
}

TEST(ThreadPool, WakesFromSleepAndSplitsWork) {
  util::ThreadPool pool(3);
  for (int rep = 0; rep < 5; rep++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // past the spin window
    std::vector<int> data(1000, 0);
    auto f = [&](int ith, int nth) {
      for (size_t i = ith; i < data.size(); i += nth) data[i] = static_cast<int>(i) * 2;
    };
    pool.run(f);
    for (size_t i = 0; i < data.size(); i++) ASSERT_EQ(data[i], static_cast<int>(i) * 2);
  }
}

TEST(ThreadPool, ConcurrentCallersAreSerialized) {
  util::ThreadPool pool(2);
  std::atomic<int64_t> total{0};
  auto caller = [&] {
    for (int i = 0; i < 2000; i++) {
      auto f = [&](int, int) { total++; };
      pool.run(f);
    }
  };
  std::thread a(caller), b(caller);
  a.join();
  b.join();
  EXPECT_EQ(total.load(), 2 * 2000 * 2);
}

double load_average() {
  std::FILE* f = std::fopen("/proc/loadavg", "r");
  double l = 0;
  if (f) {
    if (std::fscanf(f, "%lf", &l) != 1) l = 0;
    std::fclose(f);
  }
  return l;
}

TEST(ThreadPool, HotRunIsCheap) {
  util::ThreadPool pool(2);
  auto f = [](int, int) {};
  for (int i = 0; i < 1000; i++) pool.run(f);
  // Best of several batches: other processes on a shared box only ever add time.
  double best_us = 1e9;
  for (int batch = 0; batch < 10; batch++) {
    const int kRuns = 500;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kRuns; i++) pool.run(f);
    const double us =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() /
        kRuns;
    best_us = std::min(best_us, us);
  }
  const double load = load_average();
  std::printf("  hot run() round trip: best %.3f us (load average %.1f)\n", best_us, load);
  // Timing is a benchmark's business (ARCHITECTURE.md §4): under a parallel ctest run another
  // test shares the cores and the load average lags, so the bound is asserted only on request.
  const char* opt_in = std::getenv("OLLAMA_TIMING_TESTS");
  if (!opt_in || std::string(opt_in) != "1")
    GTEST_SKIP() << "set OLLAMA_TIMING_TESTS=1 to assert timing";
  if (load > std::thread::hardware_concurrency() - 1.0) {
    GTEST_SKIP() << "machine busy (load " << load << "): timing not meaningful";
  }
  // A sleeping (futex) handoff costs 20-50 us; a spinning one well under 2.
  EXPECT_LT(best_us, 5.0);
}

TEST(ThreadPool, PhysicalCoresIsSane) {
  const int n = util::physical_cores();
  EXPECT_GE(n, 1);
  EXPECT_LE(n, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

}  // namespace
