// WordPiece ("bert" vocabs): BERT's normalizer and word splitter, then greedy longest-match
// over the vocabulary. In GGUF, word-initial pieces carry a "▁" prefix and continuation
// pieces are bare (the converter rewrote HF's "##" form).
#include <utf8proc.h>

#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/utf8.h"

namespace tokenizer {
namespace {

// HF BertPreTokenizer/BasicTokenizer: words longer than this become [UNK].
constexpr size_t kMaxCharsPerWord = 100;

bool is_cjk(uint32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

bool is_whitespace(uint32_t cp) {
  if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || cp == 0x85) return true;
  const auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL || cat == UTF8PROC_CATEGORY_ZP;
}

// Removed by BERT's clean-up: NUL, U+FFFD and "other" (C*) characters.
bool is_dropped(uint32_t cp) {
  if (cp == 0 || cp == 0xFFFD) return true;
  const auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF ||
         cat == UTF8PROC_CATEGORY_CN || cat == UTF8PROC_CATEGORY_CO || cat == UTF8PROC_CATEGORY_CS;
}

// ASCII punctuation (which includes symbols like $ + < = > ^ ` | ~) or Unicode P*.
bool is_punctuation(uint32_t cp) {
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
      (cp >= 123 && cp <= 126)) {
    return true;
  }
  const auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

// Lower-case, NFD, drop non-spacing marks (BERT's lowercase + strip_accents).
void normalize_into(uint32_t cp, std::string& out) {
  const auto lower = utf8proc_tolower(static_cast<utf8proc_int32_t>(cp));
  utf8proc_int32_t buf[16];
  int last_boundclass = 0;
  const auto n = utf8proc_decompose_char(lower, buf, 16, UTF8PROC_DECOMPOSE, &last_boundclass);
  if (n <= 0 || n > 16) {
    utf8_append(out, static_cast<uint32_t>(lower));
    return;
  }
  for (utf8proc_ssize_t i = 0; i < n; ++i) {
    if (utf8proc_category(buf[i]) == UTF8PROC_CATEGORY_MN) continue;
    utf8_append(out, static_cast<uint32_t>(buf[i]));
  }
}

}  // namespace

void Tokenizer::encode_wordpiece(std::string_view text, std::vector<int32_t>& out) const {
  // Split into words: whitespace separates, punctuation and CJK characters stand alone.
  std::vector<std::string> words;
  std::string word;
  auto finish = [&]() {
    if (!word.empty()) words.push_back(std::move(word));
    word.clear();
  };
  for (size_t i = 0; i < text.size();) {
    size_t n = 0;
    const uint32_t cp = utf8_decode_at(text, i, &n);
    i += n;
    if (is_whitespace(cp)) {
      finish();
    } else if (is_dropped(cp)) {
      continue;
    } else if (is_punctuation(cp) || is_cjk(cp)) {
      finish();
      utf8_append(word, cp);
      finish();
    } else {
      normalize_into(cp, word);
    }
  }
  finish();

  std::string candidate;
  for (const std::string& w : words) {
    // Word-initial pieces are stored as "▁piece".
    candidate = "\xE2\x96\x81" + w;
    const size_t start_out = out.size();
    size_t chars = 0;
    for (size_t i = 0; i < w.size(); i += utf8_char_len(w, i)) ++chars;
    bool ok = chars <= kMaxCharsPerWord;
    for (size_t i = 0; ok && i < candidate.size();) {
      int32_t match = -1;
      size_t match_len = 0;
      const size_t longest = std::min(max_token_len_, candidate.size() - i);
      for (size_t len = longest; len > 0; --len) {
        const int32_t id = find_token(std::string_view(candidate).substr(i, len));
        if (id >= 0) {
          match = id;
          match_len = len;
          break;
        }
      }
      if (match < 0) {
        ok = false;
        break;
      }
      out.push_back(match);
      i += match_len;
    }
    if (!ok) {
      out.resize(start_out);
      if (unk_ >= 0) out.push_back(unk_);
    }
  }
}

}  // namespace tokenizer
