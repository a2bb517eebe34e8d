// Byte-level BPE pre-tokenization: the GPT-2 byte<->character map and the regex splits chosen
// by tokenizer.ggml.pre (PCRE2, UTF + Unicode properties, JIT-compiled).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tokenizer {

// GPT-2's printable stand-in for a raw byte, UTF-8 encoded ("Ġ" for 0x20).
const std::string& byte_to_unicode(uint8_t b);
// The byte a stand-in code point means, or -1 when cp is not one.
int unicode_to_byte(uint32_t cp);

// The regex list for a pre-tokenizer name; unknown names give the GPT-2 list and
// *known = false.
const std::vector<std::string>& pre_tokenizer_patterns(std::string_view pre, bool* known);

// Every tokenizer.ggml.pre name with its own entry in the table.
std::vector<std::string> pre_tokenizer_names();

class PreTokenizer {
 public:
  // Compiles the patterns for `pre` (unknown names fall back to GPT-2, logged at debug).
  explicit PreTokenizer(std::string_view pre);
  ~PreTokenizer();
  PreTokenizer(const PreTokenizer&) = delete;
  PreTokenizer& operator=(const PreTokenizer&) = delete;

  // Splits `text` into consecutive pieces that cover it exactly. Each pattern is applied in
  // turn to every piece of the previous stage; both matches and the text between matches
  // become pieces (HF "Isolated"). Safe to call from several threads.
  std::vector<std::string_view> split(std::string_view text) const;

 private:
  struct Compiled;
  std::vector<std::unique_ptr<Compiled>> regexes_;
};

}  // namespace tokenizer
