// Stop sequences over streamed text: emits what can no longer start a stop string and
// reports a match (the stop text itself is never emitted, even when split across tokens).
#pragma once
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

 private:
  std::vector<std::string> stops_;
  std::string pending_;
  bool matched_ = false;
};

}  // namespace runner
