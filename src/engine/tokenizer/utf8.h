// Small UTF-8 helpers shared by the tokenizers (decoding that never fails on bad bytes).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tokenizer {

// Length of the UTF-8 sequence starting at s[i], or 1 when the bytes there are not a complete,
// valid sequence (so invalid input advances one byte at a time and is never dropped).
size_t utf8_char_len(std::string_view s, size_t i);

// Decodes the character at s[i] (length from utf8_char_len); invalid bytes give U+FFFD.
uint32_t utf8_decode_at(std::string_view s, size_t i, size_t* len);

void utf8_append(std::string& out, uint32_t cp);

// Number of bytes a sequence with this lead byte claims (1 for ASCII and stray bytes).
inline size_t utf8_expected_len(uint8_t lead) {
  if (lead < 0xC0) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  if (lead < 0xF8) return 4;
  return 1;
}

// Bytes at the end of `s` that start a UTF-8 character which is not complete yet (0..3).
// Used by the streaming decoder to hold back partial characters.
size_t utf8_incomplete_tail(std::string_view s);

}  // namespace tokenizer
