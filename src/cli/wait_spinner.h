// The bare spinner `ollama run` shows on stderr while it waits for a model (load, first token),
// erased without a trace once output starts (Ollama's Progress.StopAndClear).
#pragma once
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

namespace cli {

class WaitSpinner {
 public:
  // Draws only when `out` is a terminal; otherwise does nothing at all.
  explicit WaitSpinner(FILE* out = stderr);
  ~WaitSpinner() { stop_and_clear(); }
  WaitSpinner(const WaitSpinner&) = delete;
  WaitSpinner& operator=(const WaitSpinner&) = delete;

  // Stops the animation and erases its line. Idempotent.
  void stop_and_clear();

 private:
  FILE* out_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false, running_ = false;
  std::thread thread_;
};

}  // namespace cli
