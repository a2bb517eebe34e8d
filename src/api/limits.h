// Bounds on one request, checked where it is decoded (ARCHITECTURE.md §2b): far above what any
// client sends, low enough that no single request can take the server's memory or time.
#pragma once
#include <cstddef>
#include <string>

#include "util/error.h"

namespace api {

inline constexpr size_t kMaxBodyValues = 1'000'000;        // JSON values in one body (413)
inline constexpr size_t kMaxMessages = 100'000;            // chat messages
inline constexpr size_t kMaxTools = 10'000;                // tool definitions
inline constexpr size_t kMaxStop = 1024;                   // stop sequences
inline constexpr size_t kMaxEmbedInputs = 100'000;         // inputs of one embed request
inline constexpr size_t kMaxImages = 1024;                 // images of one message / prompt
inline constexpr size_t kMaxDetokenizeTokens = 1'000'000;  // ids of one /api/detokenize

// 400 "too many <what>: <n> (at most <max>)" when n > max.
inline void check_count(const char* what, size_t n, size_t max) {
  if (n > max)
    throw util::bad_request(std::string("too many ") + what + ": " + std::to_string(n) +
                            " (at most " + std::to_string(max) + ")");
}

}  // namespace api
