// Rank-ordered BPE merges: byte-level ("gpt2") words and Gemma 4's character-level pieces.
#include <queue>

#include "engine/tokenizer/pretokenizer.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/utf8.h"

namespace tokenizer {
namespace {

// One symbol of the word being merged: a byte range of the working text in a linked list.
struct Sym {
  int32_t prev;
  int32_t next;
  uint32_t start;
  uint32_t len;  // 0 once merged into its left neighbour
  int32_t id;    // token id of the range, -1 when it is not a token
};

struct Candidate {
  int32_t rank;
  int32_t left;
  uint32_t left_len;
  uint32_t right_len;
  // Lowest rank first, then leftmost (std::priority_queue pops the "largest").
  bool operator<(const Candidate& o) const {
    return rank != o.rank ? rank > o.rank : left > o.left;
  }
};

}  // namespace

// Merges the symbols of `text` (split into UTF-8 characters) by merge rank until no
// adjacent pair has one, then emits their ids. Unknown leftovers go to `fallback`.
template <typename Fallback>
static void merge_by_rank(const Tokenizer& tok, std::string_view text,
                          int32_t (Tokenizer::*rank_of)(int32_t, int32_t) const,
                          const Fallback& fallback, std::vector<int32_t>& out) {
  std::vector<Sym> syms;
  syms.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t n = utf8_char_len(text, i);
    const auto idx = static_cast<int32_t>(syms.size());
    syms.push_back({idx - 1, idx + 1, static_cast<uint32_t>(i), static_cast<uint32_t>(n),
                    tok.find_token(text.substr(i, n))});
    i += n;
  }
  if (syms.empty()) return;
  syms.back().next = -1;

  std::priority_queue<Candidate> queue;
  auto consider = [&](int32_t left) {
    if (left < 0) return;
    const int32_t right = syms[left].next;
    if (right < 0 || syms[left].id < 0 || syms[right].id < 0) return;
    const int32_t rank = (tok.*rank_of)(syms[left].id, syms[right].id);
    if (rank < 0) return;
    queue.push({rank, left, syms[left].len, syms[right].len});
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(syms.size()); ++i) consider(i);

  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Sym& left = syms[c.left];
    if (left.len != c.left_len || left.next < 0) continue;  // stale entry
    Sym& right = syms[left.next];
    if (right.len != c.right_len) continue;
    const int32_t merged = tok.find_token(text.substr(left.start, left.len + right.len));
    if (merged < 0) continue;  // the merge's result is not a token: cannot apply it
    left.len += right.len;
    left.id = merged;
    right.len = 0;
    left.next = right.next;
    if (left.next >= 0) syms[left.next].prev = c.left;
    consider(left.prev);
    consider(c.left);
  }

  for (int32_t i = 0; i >= 0; i = syms[i].next) {
    if (syms[i].id >= 0) {
      out.push_back(syms[i].id);
    } else {
      fallback(text.substr(syms[i].start, syms[i].len));
    }
  }
}

void Tokenizer::encode_bpe_word(std::string_view word, bool byte_level,
                                std::vector<int32_t>& out) const {
  if (word.empty()) return;
  std::string mapped;
  if (byte_level) {
    mapped.reserve(word.size() * 2);
    for (char c : word) mapped += byte_to_unicode(static_cast<uint8_t>(c));
    word = mapped;
  }
  if (ignore_merges_) {
    const int32_t whole = find_token(word);
    if (whole >= 0) {
      out.push_back(whole);
      return;
    }
  }
  auto fallback = [&](std::string_view leftover) {
    if (byte_level) {
      // Every character of a byte-level word stands for one byte.
      for (size_t i = 0; i < leftover.size();) {
        const size_t n = utf8_char_len(leftover, i);
        const int32_t id = find_token(leftover.substr(i, n));
        if (id >= 0) {
          out.push_back(id);
        } else if (unk_ >= 0) {
          out.push_back(unk_);
        }
        i += n;
      }
    } else {
      byte_fallback(leftover, out);
    }
  };
  merge_by_rank(*this, word, &Tokenizer::merge_rank, fallback, out);
}

void Tokenizer::encode_gemma4(std::string_view text, std::vector<int32_t>& out) const {
  // Spaces become U+2581 (no prefix is added), then merges run separately over each run of
  // newlines and each run of other characters.
  std::string escaped;
  escaped.reserve(text.size() + text.size() / 2);
  for (char c : text) {
    if (c == ' ') {
      escaped += "\xE2\x96\x81";
    } else {
      escaped += c;
    }
  }
  std::string_view s = escaped;
  for (size_t begin = 0; begin < s.size();) {
    const bool newline = s[begin] == '\n';
    size_t end = begin + 1;
    while (end < s.size() && (s[end] == '\n') == newline) ++end;
    encode_bpe_word(s.substr(begin, end - begin), /*byte_level=*/false, out);
    begin = end;
  }
}

void Tokenizer::byte_fallback(std::string_view bytes, std::vector<int32_t>& out) const {
  for (char c : bytes) {
    const int32_t id = byte_ids_[static_cast<uint8_t>(c)];
    if (id >= 0) {
      out.push_back(id);
    } else if (unk_ >= 0) {
      out.push_back(unk_);
    }
  }
}

}  // namespace tokenizer
