// Stack headroom for recursive code over untrusted input (templates, JSON trees): how much of
// the current thread's stack is left, so recursion can fail with an error instead of a crash.
#pragma once
#include <cstddef>
#include <string>

namespace util {

// Bytes between the current frame and the end of this thread's stack (SIZE_MAX when the bounds
// cannot be read). The bounds are read once per thread.
size_t stack_left();

// Headroom every recursive walk keeps free: library calls below it (allocation, formatting,
// logging) must still fit.
inline constexpr size_t kStackReserve = 256 * 1024;

// Throws util::Error(400, "<what>: nesting too deep") when less than kStackReserve is left.
void check_stack(const char* what);

}  // namespace util
