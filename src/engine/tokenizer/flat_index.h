// Open-addressing hash tables for vocabulary lookups: token text -> id and merge pair -> rank.
// Flat arrays instead of node-based std::unordered_map keep a 128k-token / 280k-merge vocab
// loading in milliseconds and lookups to one or two cache lines.
#pragma once
#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

namespace tokenizer {

inline uint64_t hash_bytes(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a; token texts are short
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h ^ (h >> 29);
}

inline size_t table_capacity(size_t n) {
  size_t cap = 16;
  while (cap < n * 2) cap <<= 1;
  return cap;
}

// Token text -> id. Texts live in the caller's pool; the table stores only ids and hashes.
class TokenIndex {
 public:
  // `text_of(id)` must stay valid for the life of the index. The first of duplicated texts
  // wins (the model's own entry, not a later added token with the same text).
  template <typename TextOf>
  void build(int32_t n, const TextOf& text_of) {
    slots_.assign(table_capacity(static_cast<size_t>(n)), Slot{0, -1});
    mask_ = slots_.size() - 1;
    for (int32_t id = 0; id < n; ++id) {
      const std::string_view t = text_of(id);
      const auto h = static_cast<uint32_t>(hash_bytes(t));
      for (size_t i = h & mask_;; i = (i + 1) & mask_) {
        Slot& s = slots_[i];
        if (s.id < 0) {
          s = {h, id};
          break;
        }
        if (s.hash == h && text_of(s.id) == t) break;
      }
    }
  }

  template <typename TextOf>
  int32_t find(std::string_view t, const TextOf& text_of) const {
    if (slots_.empty()) return -1;
    const auto h = static_cast<uint32_t>(hash_bytes(t));
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.id < 0) return -1;
      if (s.hash == h && text_of(s.id) == t) return s.id;
    }
  }

 private:
  struct Slot {
    uint32_t hash;
    int32_t id;  // -1: empty
  };
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

// (left id, right id) -> merge rank, stored per left token (CSR layout): each left id owns a
// slice of (right id, rank) sorted by right id. Compact (8 bytes per merge) and built with
// sequential passes, unlike a hash table whose random writes miss the cache on every merge.
class MergeTable {
 public:
  struct Merge {
    int32_t left, right, rank;
  };
  // Duplicated pairs keep their lowest rank.
  void build(int32_t n_tokens, const std::vector<Merge>& merges) {
    start_.assign(static_cast<size_t>(n_tokens) + 1, 0);
    for (const Merge& m : merges) ++start_[m.left + 1];
    for (size_t i = 1; i < start_.size(); ++i) start_[i] += start_[i - 1];
    entries_.resize(merges.size());
    std::vector<uint32_t> fill(start_.begin(), start_.end() - 1);
    for (const Merge& m : merges) entries_[fill[m.left]++] = {m.right, m.rank};
    for (size_t l = 0; l + 1 < start_.size(); ++l) {
      if (start_[l + 1] - start_[l] > 1) {
        std::sort(entries_.begin() + start_[l], entries_.begin() + start_[l + 1]);
      }
    }
  }
  int32_t find(int32_t left, int32_t right) const {
    if (left < 0 || static_cast<size_t>(left) + 1 >= start_.size()) return -1;
    const auto first = entries_.begin() + start_[left];
    const auto last = entries_.begin() + start_[left + 1];
    const auto it = std::lower_bound(first, last, std::pair<int32_t, int32_t>{right, INT32_MIN});
    return (it != last && it->first == right) ? it->second : -1;
  }

 private:
  std::vector<uint32_t> start_;                       // [n_tokens + 1]
  std::vector<std::pair<int32_t, int32_t>> entries_;  // (right id, rank)
};

}  // namespace tokenizer
