// One download per blob at a time in this process: the first pull of a blob downloads it; a
// second pull of the same blob waits for that one (showing its progress) instead of writing
// the same partial file.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "util/error.h"

namespace registry {

struct Flight {
  std::atomic<int64_t> total{0}, completed{0};  // bytes, for the waiters' progress
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::string error;                                  // empty: the blob is in the store
  util::ErrorKind kind = util::ErrorKind::kInternal;  // of the error
};

class Flights {
 public:
  static Flights& instance() {
    static Flights f;
    return f;
  }

  // The flight for `key` (the blob's path); *leader tells whether the caller must fly it.
  std::shared_ptr<Flight> join(const std::string& key, bool* leader) {
    std::lock_guard l(mu_);
    auto& f = flights_[key];
    *leader = !f;
    if (!f) f = std::make_shared<Flight>();
    return f;
  }

  // The leader's download ended (error empty: success); waiters wake up.
  void land(const std::string& key, const std::shared_ptr<Flight>& f, std::string error,
            util::ErrorKind kind) {
    {
      std::lock_guard l(mu_);
      auto it = flights_.find(key);
      if (it != flights_.end() && it->second == f) flights_.erase(it);
    }
    std::lock_guard l(f->mu);
    f->done = true;
    f->error = std::move(error);
    f->kind = kind;
    f->cv.notify_all();
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Flight>> flights_;
};

}  // namespace registry
