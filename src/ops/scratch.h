// Per-thread, grow-only, 64-byte aligned scratch buffers for the matmul driver and the tile
// kernels: sized by the largest call seen, so steady state allocates nothing. Internal linkage:
// ISA-flagged files include this too, and an out-of-line copy compiled with AVX-512 must never
// be the one baseline code links to.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "util/error.h"

namespace ops {
namespace {

template <class T = uint8_t>
class ScratchBuf {
 public:
  ScratchBuf() = default;
  ScratchBuf(const ScratchBuf&) = delete;
  ScratchBuf& operator=(const ScratchBuf&) = delete;
  ~ScratchBuf() { std::free(p_); }

  // Room for at least n elements (contents are not kept when it grows; whole 4 KiB pages), or
  // nullptr when memory is exhausted, for callers with a fallback. zero_new: a newly allocated
  // buffer starts zeroed.
  T* try_get(size_t n, bool zero_new = false) {
    if (n > cap_) {
      std::free(p_);
      const size_t bytes = (n * sizeof(T) + 4095) / 4096 * 4096;
      p_ = static_cast<T*>(std::aligned_alloc(64, bytes));
      cap_ = p_ != nullptr ? bytes / sizeof(T) : 0;
      if (p_ != nullptr && zero_new) std::memset(p_, 0, bytes);
    }
    return p_;
  }

  // As try_get, but out of memory is a util::Error naming `what`.
  T* get(size_t n, const char* what) {
    T* p = try_get(n);
    if (p == nullptr)
      throw util::Error(std::string("out of memory for ") + what, util::ErrorKind::kOutOfMemory);
    return p;
  }

 private:
  T* p_ = nullptr;
  size_t cap_ = 0;
};

}  // namespace
}  // namespace ops
