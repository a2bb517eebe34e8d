// SentencePiece-style BPE ("llama" vocabs): repeatedly merge the adjacent pair whose merged
// text is the highest-scoring vocabulary entry; leftovers fall back to <0xXX> byte tokens.
#include <queue>

#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/utf8.h"

namespace tokenizer {
namespace {

struct Sym {
  int32_t prev;
  int32_t next;
  uint32_t start;
  uint32_t len;  // 0 once merged into its left neighbour
};

struct Bigram {
  float score;
  int32_t left;
  uint32_t left_len;
  uint32_t right_len;
  int32_t id;
  // Highest score first, then leftmost.
  bool operator<(const Bigram& o) const {
    return score != o.score ? score < o.score : left > o.left;
  }
};

}  // namespace

void Tokenizer::encode_spm(std::string_view raw, std::vector<int32_t>& out) const {
  // Whitespace escaping: every space becomes U+2581 "▁".
  std::string text;
  text.reserve(raw.size() + raw.size() / 2);
  for (char c : raw) {
    if (c == ' ') {
      text += "\xE2\x96\x81";
    } else {
      text += c;
    }
  }
  std::vector<Sym> syms;
  syms.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t n = utf8_char_len(text, i);
    const auto idx = static_cast<int32_t>(syms.size());
    syms.push_back({idx - 1, idx + 1, static_cast<uint32_t>(i), static_cast<uint32_t>(n)});
    i += n;
  }
  if (syms.empty()) return;
  syms.back().next = -1;
  const std::string_view view = text;

  std::priority_queue<Bigram> queue;
  auto consider = [&](int32_t left) {
    if (left < 0) return;
    const int32_t right = syms[left].next;
    if (right < 0) return;
    const uint32_t ll = syms[left].len, rl = syms[right].len;
    const int32_t id = find_token(view.substr(syms[left].start, ll + rl));
    if (id < 0) return;
    // Only ordinary pieces are reachable from text; control and byte tokens are not.
    const TokenType t = types_[id];
    if (t != TokenType::kNormal && t != TokenType::kUserDefined && t != TokenType::kUndefined) {
      return;
    }
    queue.push({scores_[id], left, ll, rl, id});
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(syms.size()); ++i) consider(i);

  while (!queue.empty()) {
    const Bigram b = queue.top();
    queue.pop();
    Sym& left = syms[b.left];
    if (left.len != b.left_len || left.next < 0) continue;  // stale entry
    Sym& right = syms[left.next];
    if (right.len != b.right_len) continue;
    left.len += right.len;
    right.len = 0;
    left.next = right.next;
    if (left.next >= 0) syms[left.next].prev = b.left;
    consider(left.prev);
    consider(b.left);
  }

  for (int32_t i = 0; i >= 0; i = syms[i].next) {
    const std::string_view piece = view.substr(syms[i].start, syms[i].len);
    const int32_t id = find_token(piece);
    if (id >= 0 && types_[id] != TokenType::kControl && types_[id] != TokenType::kByte) {
      out.push_back(id);
    } else {
      byte_fallback(piece, out);
    }
  }
}

}  // namespace tokenizer
