// Random identifiers for API objects (tool calls, messages, responses): a prefix and `n`
// characters drawn from `alphabet` by a per-thread generator seeded from the OS.
#pragma once
#include <random>
#include <string>
#include <string_view>

namespace util {

inline constexpr std::string_view kHexDigits = "0123456789abcdef";

inline std::string random_id(std::string_view prefix, int n,
                             std::string_view alphabet = kHexDigits) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string id(prefix);
  for (int i = 0; i < n; i++) id += alphabet[rng() % alphabet.size()];
  return id;
}

}  // namespace util
