#include "engine/tokenizer/utf8.h"

namespace tokenizer {

size_t utf8_char_len(std::string_view s, size_t i) {
  const auto b0 = static_cast<uint8_t>(s[i]);
  const size_t n = utf8_expected_len(b0);
  if (n == 1) return 1;
  if (i + n > s.size()) return 1;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<uint8_t>(s[i + k]) & 0xC0) != 0x80) return 1;
  }
  // Reject overlong forms and surrogates so every accepted sequence is valid UTF-8.
  const auto b1 = static_cast<uint8_t>(s[i + 1]);
  if (n == 2 && b0 < 0xC2) return 1;
  if (n == 3 && b0 == 0xE0 && b1 < 0xA0) return 1;
  if (n == 3 && b0 == 0xED && b1 >= 0xA0) return 1;
  if (n == 4 && b0 == 0xF0 && b1 < 0x90) return 1;
  if (n == 4 && (b0 > 0xF4 || (b0 == 0xF4 && b1 >= 0x90))) return 1;
  return n;
}

uint32_t utf8_decode_at(std::string_view s, size_t i, size_t* len) {
  const size_t n = utf8_char_len(s, i);
  *len = n;
  const auto b0 = static_cast<uint8_t>(s[i]);
  if (n == 1) return b0 < 0x80 ? b0 : 0xFFFD;
  uint32_t cp = b0 & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<uint8_t>(s[i + k]) & 0x3F);
  return cp;
}

void utf8_append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

size_t utf8_incomplete_tail(std::string_view s) {
  // Look back at most 3 bytes for a lead byte whose sequence runs past the end.
  for (size_t back = 1; back <= 3 && back <= s.size(); ++back) {
    const auto b = static_cast<uint8_t>(s[s.size() - back]);
    if ((b & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    const size_t need = utf8_expected_len(b);
    return need > back ? back : 0;
  }
  return 0;
}

}  // namespace tokenizer
