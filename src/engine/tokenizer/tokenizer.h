// Text <-> token ids for GGUF vocabularies: SentencePiece ("llama"), byte-level BPE ("gpt2"),
// Gemma 4 BPE ("gemma4") and WordPiece ("bert"), plus detokenizing and streaming decode.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/flat_index.h"

namespace gguf {
class File;
}

namespace tokenizer {

// Values of tokenizer.ggml.token_type (llama.cpp's numbering).
enum class TokenType : uint8_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

enum class Algorithm {
  kSpm,        // "llama": score-ordered merges over characters, byte fallback
  kBpe,        // "gpt2": byte-level BPE with merge ranks and a regex pre-tokenizer
  kGemma4,     // "gemma4": merge ranks over raw characters, spaces as U+2581, byte fallback
  kWordPiece,  // "bert": greedy longest match, lower-cased and accent-stripped
};

class PreTokenizer;

// Immutable after construction: encode/decode/piece may be called from many threads at once.
class Tokenizer {
 public:
  // Reads the tokenizer.* keys and copies what it needs (the File may be closed after).
  // Throws util::Error (400) for unsupported tokenizer models ("t5", unknown) or malformed
  // vocabularies.
  explicit Tokenizer(const gguf::File& file);
  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // add_special: prepend BOS / append EOS per add_bos()/add_eos() (CLS/SEP for WordPiece).
  // parse_special: control-token texts in `text` become their ids. User-defined tokens are
  // always matched as whole tokens (as llama.cpp and HF tokenizers do).
  // Never throws on bad UTF-8: invalid bytes are tokenized as bytes (or UNK).
  std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const;

  // The bytes token `id` stands for. Control tokens give "" unless render_special.
  // Out-of-range ids give "".
  std::string piece(int32_t id, bool render_special = false) const;
  // Concatenated pieces. For SPM vocabs with a space prefix (and for WordPiece) the single
  // leading space of the first text token is dropped, so decode(encode(x)) == x.
  std::string decode(std::span<const int32_t> ids, bool render_special = false) const;

  Algorithm algorithm() const { return algorithm_; }
  const std::string& model_name() const { return model_name_; }  // tokenizer.ggml.model
  const std::string& pre() const { return pre_; }                // tokenizer.ggml.pre
  int32_t n_tokens() const { return static_cast<int32_t>(types_.size()); }
  std::string_view token_text(int32_t id) const;  // raw vocab entry ("▁Hello", "Ġworld")
  TokenType token_type(int32_t id) const;
  float score(int32_t id) const;
  int32_t find_token(std::string_view text) const;  // -1 when absent

  // Special ids; -1 when the vocab has none.
  int32_t bos() const { return bos_; }
  int32_t eos() const { return eos_; }
  int32_t eot() const { return eot_; }
  int32_t eom() const { return eom_; }
  int32_t pad() const { return pad_; }
  int32_t unk() const { return unk_; }
  int32_t sep() const { return sep_; }
  int32_t cls() const { return cls_; }
  int32_t mask() const { return mask_; }
  bool add_bos() const { return add_bos_; }
  bool add_eos() const { return add_eos_; }
  bool add_space_prefix() const { return add_space_prefix_; }

  // End of generation. The set is: eos, eot, eom, and every control or user-defined token
  // whose text is one of the known turn/stream terminators (<|eot_id|>, <|eom_id|>,
  // <|im_end|>, <|end|>, <end_of_turn>, <|endoftext|>, <|end_of_text|>, <|return|>,
  // <|call|>, <EOT>, <turn|>, <｜end▁of▁sentence｜>). Exception: in Harmony vocabs (which
  // have <|return|>) <|end|> only ends a message, so it is not in the set.
  bool is_eog(int32_t id) const;
  const std::vector<int32_t>& eog_ids() const { return eog_; }

 private:
  void load_vocab(const gguf::File& file);
  void load_special_ids(const gguf::File& file);
  void load_merges(const gguf::File& file);
  void build_eog();
  void build_special_index();
  void set_strip_rules(const gguf::File& file);

  // Appends the ids of a fragment that contains no special tokens.
  // prev_special: the fragment starts the text or follows a special token.
  void encode_fragment(std::string_view text, bool prev_special, std::vector<int32_t>& out) const;
  void encode_spm(std::string_view text, std::vector<int32_t>& out) const;
  void encode_bpe_word(std::string_view word, bool byte_level, std::vector<int32_t>& out) const;
  void encode_gemma4(std::string_view text, std::vector<int32_t>& out) const;
  void encode_wordpiece(std::string_view text, std::vector<int32_t>& out) const;
  void byte_fallback(std::string_view bytes, std::vector<int32_t>& out) const;
  int32_t merge_rank(int32_t left, int32_t right) const;
  std::string_view raw_text(int32_t id) const {  // id already known to be valid
    return {text_pool_.data() + offsets_[id], offsets_[id + 1] - offsets_[id]};
  }

  Algorithm algorithm_ = Algorithm::kSpm;
  std::string model_name_;
  std::string pre_;

  // All token texts back to back; token i is text_pool_[offsets_[i], offsets_[i + 1]).
  std::string text_pool_;
  std::vector<uint32_t> offsets_;
  std::vector<TokenType> types_;
  std::vector<float> scores_;
  TokenIndex token_to_id_;  // text -> id over text_pool_
  MergeTable merge_ranks_;  // (left id, right id) -> merge rank
  int32_t byte_ids_[256];   // <0xXX> tokens (SPM/Gemma 4) or byte-level chars (BPE); -1 absent

  // Tokens matched as a whole before normal tokenization, bucketed by first byte and sorted
  // longest first: all of them (control, user-defined, unknown) for parse_special, and the
  // user-defined ones that are matched even without it.
  std::vector<std::vector<int32_t>> special_by_first_byte_;
  std::vector<std::vector<int32_t>> user_by_first_byte_;
  // Special tokens that swallow the whitespace after them (HF "rstrip"), sorted.
  std::vector<int32_t> rstrip_ids_;

  std::unique_ptr<PreTokenizer> pre_tokenizer_;  // kBpe only
  size_t max_token_len_ = 0;                     // bytes, for WordPiece's longest match

  int32_t bos_ = -1, eos_ = -1, eot_ = -1, eom_ = -1, pad_ = -1, unk_ = -1;
  int32_t sep_ = -1, cls_ = -1, mask_ = -1;
  bool add_bos_ = false, add_eos_ = false, add_space_prefix_ = false;
  bool ignore_merges_ = false;  // llama-3 style: a pre-token that is in the vocab wins whole
  std::vector<int32_t> eog_;
};

// Turns generated ids into text piece by piece without ever emitting part of a UTF-8
// character: bytes of an incomplete character are held until the rest arrives. Pieces are
// emitted as piece() gives them (an SPM "▁Once" stays " Once"; decode() is what drops the
// dummy-prefix space at the start of a text).
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tok, bool render_special = false)
      : tok_(tok), render_special_(render_special) {}
  // Text that is complete after adding `id` (possibly "").
  std::string push(int32_t id);
  // Whatever is still held back (an incomplete trailing sequence), then resets.
  std::string flush();

 private:
  const Tokenizer& tok_;
  bool render_special_;
  std::string pending_;
};

}  // namespace tokenizer
