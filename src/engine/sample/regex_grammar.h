// Regular expressions (the subset JSON Schema `pattern`s use) as grammar rules matching the
// inside of a JSON string: literals, escapes (\d \w \s \D \W \S and escaped punctuation),
// classes [a-z_] and [^...], '.', groups (capturing or (?:...)), alternation, and the
// quantifiers * + ? {m} {m,} {m,n}. The whole string must match (^ and $ are accepted and
// implied). Characters JSON strings escape (" and \) come out escaped; negated classes and
// '.' also admit any non-ASCII character (as UTF-8).
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/sample/grammar.h"

namespace engine::sample {

// Shared building blocks of the JSON grammars.
struct JsonRules {
  explicit JsonRules(Grammar& g);
  Grammar& g;
  uint32_t utf8;      // one multi-byte UTF-8 character (valid sequences only)
  uint32_t str_char;  // one JSON string character: unescaped, an escape, or UTF-8
  uint32_t ws;        // "" | " " | "\n" then up to 20 spaces/tabs
  // A rule matching x repeated min..max times (max < 0: unbounded).
  uint32_t repeat(const std::vector<Grammar::Elem>& x, int64_t min, int64_t max);
  uint32_t alts(const std::vector<std::vector<Grammar::Elem>>& alternatives);
};

// The rule for string contents matching `pattern`. Throws util::Error (400) on syntax it
// does not support.
uint32_t regex_rule(JsonRules& j, std::string_view pattern);

}  // namespace engine::sample
