#include "cli/wait_spinner.h"

#include <unistd.h>

#include <chrono>
#include <string>

namespace cli {
namespace {
constexpr const char* kFrames[] = {"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"};
}  // namespace

WaitSpinner::WaitSpinner(FILE* out) : out_(out) {
  if (!isatty(fileno(out_))) return;
  running_ = true;
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    for (int i = 0; !stopping_; i = (i + 1) % 10) {
      std::string line = std::string("\033[?25l\r\033[K") + kFrames[i] + " ";
      std::fputs(line.c_str(), out_);
      std::fflush(out_);
      cv_.wait_for(lock, std::chrono::milliseconds(100));
    }
  });
}

void WaitSpinner::stop_and_clear() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!running_ || stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  std::fputs("\r\033[K\033[?25h", out_);
  std::fflush(out_);
}

}  // namespace cli
