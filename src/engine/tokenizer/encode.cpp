// Tokenizer::encode: special-token partitioning, BOS/EOS, and dispatch per algorithm.
#include <algorithm>
#include <cctype>
#include <cstring>

#include "engine/tokenizer/pretokenizer.h"
#include "engine/tokenizer/tokenizer.h"

namespace tokenizer {

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special,
                                       bool parse_special) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  const bool wordpiece = algorithm_ == Algorithm::kWordPiece;
  const int32_t begin_id = wordpiece ? cls_ : bos_;
  const int32_t end_id = wordpiece ? sep_ : eos_;
  if (add_special && add_bos_ && begin_id >= 0) out.push_back(begin_id);

  // Left to right, the longest special token starting at each position wins. Control (and
  // unknown-type) tokens only count with parse_special; user-defined tokens always do.
  size_t fragment_start = 0;
  bool prev_special = true;  // the text start counts as a boundary, like a special token
  const auto& buckets = parse_special ? special_by_first_byte_ : user_by_first_byte_;
  size_t pos = 0;
  while (pos < text.size()) {
    int32_t found = -1;
    for (int32_t id : buckets[static_cast<uint8_t>(text[pos])]) {
      const std::string_view t = raw_text(id);
      if (t.size() <= text.size() - pos &&
          std::memcmp(text.data() + pos, t.data(), t.size()) == 0) {
        found = id;
        break;  // bucket is sorted longest first
      }
    }
    if (found < 0) {
      ++pos;
      continue;
    }
    if (pos > fragment_start) {
      encode_fragment(text.substr(fragment_start, pos - fragment_start), prev_special, out);
    }
    out.push_back(found);
    prev_special = true;
    pos += raw_text(found).size();
    if (std::binary_search(rstrip_ids_.begin(), rstrip_ids_.end(), found)) {
      while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
    }
    fragment_start = pos;
  }
  if (fragment_start < text.size()) {
    encode_fragment(text.substr(fragment_start), prev_special, out);
  }

  if (add_special && add_eos_ && end_id >= 0) out.push_back(end_id);
  return out;
}

void Tokenizer::encode_fragment(std::string_view text, bool prev_special,
                                std::vector<int32_t>& out) const {
  switch (algorithm_) {
    case Algorithm::kSpm:
      // SentencePiece adds its dummy "▁" at the start of the text and, as llama.cpp does,
      // again after each special token.
      if (add_space_prefix_ && prev_special) {
        std::string prefixed;
        prefixed.reserve(text.size() + 1);
        prefixed += ' ';
        prefixed += text;
        encode_spm(prefixed, out);
      } else {
        encode_spm(text, out);
      }
      break;
    case Algorithm::kBpe:
      for (std::string_view word : pre_tokenizer_->split(text)) {
        encode_bpe_word(word, /*byte_level=*/true, out);
      }
      break;
    case Algorithm::kGemma4:
      encode_gemma4(text, out);
      break;
    case Algorithm::kWordPiece:
      encode_wordpiece(text, out);
      break;
  }
}

}  // namespace tokenizer
