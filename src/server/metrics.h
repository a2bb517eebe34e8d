// GET /metrics (beyond Ollama): Prometheus text exposition (format 0.0.4) of what an operator
// scales on: requests by route and status, prompt and generated tokens, time to first token
// and time per output token histograms by model, and, read from the scheduler at scrape
// time, queue depth, active sequences, KV cells used/total, prefix-cache hits and loaded
// models with their bytes.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "sched/scheduler.h"

namespace server {

class Metrics {
 public:
  // route: the matched pattern ("/api/blobs/:digest"), never the raw path.
  void request(std::string_view method, std::string_view route, int status);
  void tokens(const std::string& model, int prompt, int generated);
  void time_to_first_token(const std::string& model, double seconds);
  void time_per_output_token(const std::string& model, double seconds);

  // The whole exposition; `sched` may be null (no scheduler gauges).
  std::string render(const sched::Scheduler* sched) const;

  static constexpr std::array<double, 10> kTtftBuckets = {0.05, 0.1, 0.25, 0.5, 1,
                                                          2.5,  5,   10,   30,  60};
  static constexpr std::array<double, 9> kTpotBuckets = {0.005, 0.01, 0.025, 0.05, 0.1,
                                                         0.25,  0.5,  1,     2.5};

 private:
  template <size_t N>
  struct Histogram {
    std::array<uint64_t, N> le{};  // cumulative counts at each bound
    uint64_t count = 0;
    double sum = 0;
    void observe(const std::array<double, N>& bounds, double v);
  };

  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;
  std::map<std::string, std::pair<uint64_t, uint64_t>> tokens_;  // model -> prompt, generated
  std::map<std::string, Histogram<kTtftBuckets.size()>> ttft_;
  std::map<std::string, Histogram<kTpotBuckets.size()>> tpot_;
};

}  // namespace server
