#include "engine/sample/constraint.h"

#include <algorithm>
#include <numeric>

#include "util/error.h"

namespace engine::sample {

namespace {
constexpr size_t kMaxStates = 16384;  // per format (a 1 KiB transition row each); then reset
}  // namespace

int32_t CompiledFormat::intern(const GrammarState& s) {
  std::string k = s.key();
  if (auto it = ids.find(k); it != ids.end()) return it->second;
  const auto id = static_cast<int32_t>(states.size());
  ids.emplace(std::move(k), id);
  states.push_back(s);
  next.emplace_back(256, -2);
  masks.emplace_back();
  return id;
}

int32_t CompiledFormat::step(int32_t id, uint8_t c) {
  int32_t n = next[id][c];
  if (n != -2) return n;
  GrammarState out;
  n = states[id].advance(c, out) ? intern(out) : -1;
  next[id][c] = n;  // by index: intern may have grown `next`
  return n;
}

void CompiledFormat::trim() {
  if (states.size() < kMaxStates) return;
  ids.clear();
  states.clear();
  next.clear();
  masks.clear();
}

TokenTrie::TokenTrie(const std::vector<std::string>& bytes, const std::vector<int32_t>& eog)
    : bytes_(bytes), eog_(eog) {
  std::vector<int32_t> ids;
  for (int32_t i = 0; i < static_cast<int32_t>(bytes_.size()); i++) {
    if (!bytes_[i].empty() && !is_eog(i)) ids.push_back(i);
  }
  std::sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) {
    return bytes_[a] < bytes_[b] || (bytes_[a] == bytes_[b] && a < b);
  });
  for (int32_t id : ids) max_len_ = std::max(max_len_, bytes_[id].size());
  nodes_.emplace_back();  // root
  const uint32_t first = build(ids, 0, ids.size(), 0);
  nodes_[0].first_child = first;
  nodes_[0].n_children = static_cast<uint32_t>(nodes_.size()) - first;  // grows after: recount
  uint32_t count = 0;
  for (size_t x = 0; x < ids.size();) {
    const uint8_t b = static_cast<uint8_t>(bytes_[ids[x]][0]);
    while (x < ids.size() && static_cast<uint8_t>(bytes_[ids[x]][0]) == b) x++;
    count++;
  }
  nodes_[0].n_children = count;
}

bool TokenTrie::is_eog(int32_t id) const {
  return std::find(eog_.begin(), eog_.end(), id) != eog_.end();
}

// Children of the prefix shared by ids[lo, hi) at `depth`: allocated together, then filled.
// Returns the index of the first child.
uint32_t TokenTrie::build(const std::vector<int32_t>& ids, size_t lo, size_t hi, size_t depth) {
  // Groups by the byte at `depth` (ids whose bytes end before depth+1 are not here).
  std::vector<std::pair<size_t, size_t>> groups;
  size_t i = lo;
  while (i < hi) {
    const uint8_t b = static_cast<uint8_t>(bytes_[ids[i]][depth]);
    size_t j = i;
    while (j < hi && static_cast<uint8_t>(bytes_[ids[j]][depth]) == b) j++;
    groups.emplace_back(i, j);
    i = j;
  }
  const auto first = static_cast<uint32_t>(nodes_.size());
  nodes_.resize(nodes_.size() + groups.size());
  for (size_t g = 0; g < groups.size(); g++) {
    auto [a, b] = groups[g];
    const uint32_t n = first + static_cast<uint32_t>(g);
    nodes_[n].byte = static_cast<uint8_t>(bytes_[ids[a]][depth]);
    // Sorted: the ids that end exactly here come first in the group.
    nodes_[n].tok_begin = static_cast<uint32_t>(toks_.size());
    size_t k = a;
    while (k < b && bytes_[ids[k]].size() == depth + 1) toks_.push_back(ids[k++]);
    nodes_[n].tok_end = static_cast<uint32_t>(toks_.size());
    if (k < b) {
      const uint32_t c = build(ids, k, b, depth + 1);
      nodes_[n].first_child = c;
      // Count this node's children: distinct bytes at depth + 1 in [k, b).
      uint32_t count = 0;
      for (size_t x = k; x < b;) {
        const uint8_t cb = static_cast<uint8_t>(bytes_[ids[x]][depth + 1]);
        while (x < b && static_cast<uint8_t>(bytes_[ids[x]][depth + 1]) == cb) x++;
        count++;
      }
      nodes_[n].n_children = count;
    }
  }
  return first;
}

Constraint::Constraint(std::shared_ptr<CompiledFormat> format,
                       std::shared_ptr<const TokenTrie> vocab)
    : format_(std::move(format)), vocab_(std::move(vocab)), state_(*format_->grammar) {}

bool Constraint::allows(int32_t token) const {
  if (token < 0 || token >= vocab_->n_vocab()) return false;
  if (vocab_->is_eog(token)) return state_.complete();
  const std::string& b = vocab_->bytes(token);
  if (b.empty()) return false;
  GrammarState cur = state_, next;
  for (unsigned char c : b) {
    if (!cur.advance(c, next)) return false;
    std::swap(cur, next);
  }
  return true;
}

void Constraint::walk(uint32_t node, int32_t state, std::vector<uint64_t>& out) {
  const TokenTrie::Node& n = vocab_->nodes_[node];
  for (uint32_t c = n.first_child; c < n.first_child + n.n_children; c++) {
    const TokenTrie::Node& child = vocab_->nodes_[c];
    const int32_t next = format_->step(state, child.byte);
    if (next < 0) continue;
    for (uint32_t t = child.tok_begin; t < child.tok_end; t++) {
      const int32_t id = vocab_->toks_[t];
      out[id >> 6] |= uint64_t{1} << (id & 63);
    }
    if (child.n_children > 0) walk(c, next, out);
  }
}

const std::vector<uint64_t>& Constraint::mask() {
  if (mask_) return *mask_;
  CompiledFormat& f = *format_;
  f.trim();
  const int32_t id = f.intern(state_);
  if (!f.masks[id]) {
    auto m = std::make_shared<std::vector<uint64_t>>((vocab_->n_vocab() + 63) / 64, 0);
    walk(0, id, *m);
    if (state_.complete()) {
      for (int32_t e : vocab_->eog()) (*m)[e >> 6] |= uint64_t{1} << (e & 63);
    }
    f.masks[id] = std::move(m);
  }
  mask_ = f.masks[id];
  return *mask_;
}

void Constraint::accept(int32_t token) {
  if (!allows(token)) throw util::Error("format: the sampled token does not fit the format");
  mask_.reset();
  if (vocab_->is_eog(token)) return;
  if (!state_.consume(vocab_->bytes(token)))
    throw util::Error("format: the sampled token does not fit the format");
}

}  // namespace engine::sample
