#include "util/stack.h"

#include <pthread.h>

#include <cstdint>

#include "util/error.h"

namespace util {
namespace {

// Lowest usable address of this thread's stack (stacks grow down on every target we build for);
// 0 when unknown.
uintptr_t read_stack_low() {
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return 0;
  void* addr = nullptr;
  size_t size = 0;
  const int rc = pthread_attr_getstack(&attr, &addr, &size);
  size_t guard = 0;
  pthread_attr_getguardsize(&attr, &guard);
  pthread_attr_destroy(&attr);
  if (rc != 0 || addr == nullptr) return 0;
  return reinterpret_cast<uintptr_t>(addr) + guard;
}

}  // namespace

size_t stack_left() {
  thread_local const uintptr_t low = read_stack_low();
  if (low == 0) return SIZE_MAX;
  char probe;
  const auto here = reinterpret_cast<uintptr_t>(&probe);
  return here > low ? here - low : 0;
}

void check_stack(const char* what) {
  if (stack_left() < kStackReserve)
    throw Error(std::string(what) + ": nesting too deep", util::ErrorKind::kBadRequest);
}

}  // namespace util
