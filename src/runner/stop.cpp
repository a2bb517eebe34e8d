#include "runner/stop.h"

#include <algorithm>

namespace runner {

StopMatcher::StopMatcher(std::vector<std::string> stops) {
  for (auto& s : stops) {
    if (s.empty()) continue;
    Stop st;
    st.text = std::move(s);
    st.fail.assign(st.text.size(), 0);
    for (size_t i = 1, k = 0; i < st.text.size(); i++) {
      while (k > 0 && st.text[i] != st.text[k]) k = st.fail[k - 1];
      if (st.text[i] == st.text[k]) k++;
      st.fail[i] = k;
    }
    stops_.push_back(std::move(st));
  }
}

std::string StopMatcher::push(const std::string& text) {
  if (matched_) return "";
  const size_t base = pending_.size();  // text[i] sits at pending_[base + i]
  pending_ += text;
  // The first occurrence of each stop string ends inside `text` (earlier text held none);
  // the one starting earliest wins.
  size_t first = std::string::npos;
  size_t hold = 0;
  for (auto& st : stops_) {
    size_t k = st.state;
    for (size_t i = 0; i < text.size(); i++) {
      while (k > 0 && text[i] != st.text[k]) k = st.fail[k - 1];
      if (text[i] == st.text[k]) k++;
      if (k == st.text.size()) {
        if (base + i + 1 - k < first) matched_text_ = st.text;
        first = std::min(first, base + i + 1 - k);
        k = st.fail[k - 1];
        break;
      }
    }
    st.state = k;
    hold = std::max(hold, k);
  }
  if (first != std::string::npos) {
    matched_ = true;
    std::string out = pending_.substr(0, first);
    pending_.clear();
    return out;
  }
  // Hold back the longest suffix that is a prefix of some stop string.
  hold = std::min(hold, pending_.size());
  std::string out = pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  return out;
}

std::string StopMatcher::flush() {
  std::string out = matched_ ? "" : pending_;
  pending_.clear();
  for (auto& st : stops_) st.state = 0;
  return out;
}

}  // namespace runner
