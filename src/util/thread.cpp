#include "util/thread.h"

#include <cstring>
#include <string>
#include <utility>

#include "util/error.h"

namespace util {

Thread::Thread(size_t stack_bytes, std::function<void()> fn) {
  auto* task = new std::function<void()>(std::move(fn));
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, stack_bytes);
  auto start = [](void* p) -> void* {
    std::unique_ptr<std::function<void()>> f(static_cast<std::function<void()>*>(p));
    (*f)();
    return nullptr;
  };
  const int rc = pthread_create(&tid_, &attr, start, task);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    delete task;
    throw Error(std::string("cannot start a thread: ") + std::strerror(rc),
                util::ErrorKind::kUnavailable);
  }
  started_ = true;
}

Thread::~Thread() { join(); }

Thread::Thread(Thread&& o) noexcept : tid_(o.tid_), started_(std::exchange(o.started_, false)) {}

Thread& Thread::operator=(Thread&& o) noexcept {
  if (this != &o) {
    join();
    tid_ = o.tid_;
    started_ = std::exchange(o.started_, false);
  }
  return *this;
}

void Thread::join() {
  if (!started_) return;
  pthread_join(tid_, nullptr);
  started_ = false;
}

}  // namespace util
