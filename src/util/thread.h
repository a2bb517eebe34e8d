// Threads with a chosen stack size: request work walks JSON nested up to Go's limit and
// templates nested up to theirs, which needs more than the default 8 MiB on some paths.
#pragma once
#include <pthread.h>

#include <cstddef>
#include <functional>
#include <memory>

namespace util {

// Stack for threads that handle a request (HTTP workers, streaming producers).
inline constexpr size_t kRequestStackBytes = size_t{32} << 20;

class Thread {
 public:
  Thread() = default;
  // Starts fn on a new thread; throws util::Error (503) when the thread cannot be started.
  Thread(size_t stack_bytes, std::function<void()> fn);
  ~Thread();  // joins a thread still running
  Thread(Thread&& o) noexcept;
  Thread& operator=(Thread&& o) noexcept;
  Thread(const Thread&) = delete;
  Thread& operator=(const Thread&) = delete;

  bool joinable() const { return started_; }
  void join();

 private:
  pthread_t tid_{};
  bool started_ = false;
};

}  // namespace util
