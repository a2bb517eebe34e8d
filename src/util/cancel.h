// Cancellation without polling. A request's cancellation is a std::stop_token (the server
// stops it when the client hangs up, or when the server drains); a wait that must end on it
// keeps a WakeOnStop for its duration and puts token.stop_requested() in its predicate.
#pragma once
#include <condition_variable>
#include <mutex>
#include <stop_token>

namespace util {

// Notifies `cv` under `mu`: taking the mutex orders the notification after a waiter's
// predicate check, so the wake-up cannot fall between the check and the wait.
struct NotifyUnder {
  std::mutex* mu;
  std::condition_variable* cv;
  void operator()() const {
    std::lock_guard<std::mutex> l(*mu);
    cv->notify_all();
  }
};

// Wakes the waiters of a condition variable when `token` is stopped, while it lives. Build it
// before locking the mutex: a token already stopped runs the callback in the constructor.
using WakeOnStop = std::stop_callback<NotifyUnder>;

}  // namespace util
