// Bounded JSON parsing for every text that comes from outside (request bodies, stored config
// blobs, registry replies, model output): nesting deeper than Go's decoder allows is refused
// before a tree is built, so no recursive walk over a parsed value can exhaust a thread's stack.
#pragma once
#include <nlohmann/json.hpp>
#include <string_view>

#include "util/error.h"

namespace util {

// Go's encoding/json limit (scanner maxNestingDepth).
inline constexpr int kMaxJsonDepth = 10000;

// The deepest nesting of arrays and objects in `text`, outside strings. Counting stops once it
// passes `limit` (returns limit + 1). Linear, no allocation; malformed text is scanned as is.
int json_nesting_depth(std::string_view text, int limit = kMaxJsonDepth);

// About how many values `text` holds (elements and members, counted from separators and
// openings outside strings): what a parsed tree will cost, before building it.
size_t json_value_count(std::string_view text);

// Throws util::Error(400, "exceeded max depth") when `text` nests deeper than kMaxJsonDepth.
void check_json_depth(std::string_view text);

// J::parse after check_json_depth; nlohmann's exceptions pass through (callers map them).
template <class J = nlohmann::json>
J parse_json(std::string_view text) {
  check_json_depth(text);
  return J::parse(text);
}

// Like J::parse(text, nullptr, false): a discarded value for malformed or too-deep text.
template <class J = nlohmann::json>
J parse_json_or_discarded(std::string_view text) {
  if (json_nesting_depth(text) > kMaxJsonDepth) return J(J::value_t::discarded);
  return J::parse(text, nullptr, false);
}

}  // namespace util
