// Token ids back to bytes: per-token pieces, whole-sequence decode, and the streaming decoder.
#include "engine/tokenizer/pretokenizer.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/utf8.h"

namespace tokenizer {
namespace {

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // U+2581 "▁"

void append_unescaped(std::string_view text, std::string& out) {
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, kSpaceMark.size(), kSpaceMark) == 0) {
      out += ' ';
      i += kSpaceMark.size();
    } else {
      out += text[i++];
    }
  }
}

// "<0xAB>" -> 0xAB, or -1.
int parse_byte_token(std::string_view t) {
  if (t.size() != 6 || t.substr(0, 3) != "<0x" || t[5] != '>') return -1;
  auto nibble = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  const int hi = nibble(t[3]), lo = nibble(t[4]);
  return (hi < 0 || lo < 0) ? -1 : hi * 16 + lo;
}

}  // namespace

std::string Tokenizer::piece(int32_t id, bool render_special) const {
  if (id < 0 || id >= n_tokens()) return {};
  const std::string_view text = token_text(id);
  std::string out;
  switch (types_[id]) {
    case TokenType::kControl:
    case TokenType::kUnknown:
      if (render_special) out = text;
      return out;
    case TokenType::kUserDefined:
      out = text;  // added tokens are stored as plain text in every vocab type
      return out;
    case TokenType::kByte:
      if (algorithm_ != Algorithm::kBpe) {
        const int b = parse_byte_token(text);
        if (b >= 0) return std::string(1, static_cast<char>(b));
      }
      break;
    default:
      break;
  }
  switch (algorithm_) {
    case Algorithm::kSpm:
    case Algorithm::kGemma4:
    case Algorithm::kWordPiece:
      append_unescaped(text, out);
      break;
    case Algorithm::kBpe:
      // Map each stand-in character back to its byte; anything else is kept as is.
      for (size_t i = 0; i < text.size();) {
        size_t n = 0;
        const uint32_t cp = utf8_decode_at(text, i, &n);
        const int b = unicode_to_byte(cp);
        if (b >= 0) {
          out += static_cast<char>(b);
        } else {
          out.append(text.substr(i, n));
        }
        i += n;
      }
      break;
  }
  return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool render_special) const {
  std::string out;
  // SentencePiece's dummy prefix and WordPiece's word marks put one space in front of the
  // first word; drop it so decode(encode(x)) == x.
  bool strip_leading_space =
      (algorithm_ == Algorithm::kSpm && add_space_prefix_) || algorithm_ == Algorithm::kWordPiece;
  for (int32_t id : ids) {
    std::string p = piece(id, render_special);
    if (p.empty()) continue;
    if (strip_leading_space) {
      if (p[0] == ' ') p.erase(0, 1);
      strip_leading_space = false;
    }
    out += p;
  }
  return out;
}

std::string StreamDecoder::push(int32_t id) {
  pending_ += tok_.piece(id, render_special_);
  const size_t keep = utf8_incomplete_tail(pending_);
  std::string ready = pending_.substr(0, pending_.size() - keep);
  pending_.erase(0, pending_.size() - keep);
  return ready;
}

std::string StreamDecoder::flush() {
  std::string rest;
  rest.swap(pending_);
  return rest;
}

}  // namespace tokenizer
