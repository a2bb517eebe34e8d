// Stop sequences over streamed text: emits what can no longer start a stop string and
// reports a match (the stop text itself is never emitted, even when split across tokens).
// Each stop string runs a KMP automaton fed only the new text, so a token costs
// O(its bytes x stop strings) whatever the stop strings' lengths.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace runner {

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops);
  // Appends text; returns what is safe to emit now. After a match, `matched()` is true and
  // the returned text ends just before the stop string.
  std::string push(const std::string& text);
  // End of generation: the held-back remainder.
  std::string flush();
  bool matched() const { return matched_; }
  // The stop string that matched ("" before a match).
  const std::string& matched_text() const { return matched_text_; }

 private:
  struct Stop {
    std::string text;
    std::vector<size_t> fail;  // KMP failure function
    size_t state = 0;          // longest prefix of `text` ending the text fed so far
  };
  std::vector<Stop> stops_;
  std::string pending_;  // held back: a suffix that may still start a stop string
  bool matched_ = false;
  std::string matched_text_;
};

}  // namespace runner
