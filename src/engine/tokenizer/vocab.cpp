// Loading a Tokenizer from GGUF metadata: token table, types, scores, merges, special ids.
#include <algorithm>
#include <cctype>
#include <cstdio>

#include "engine/gguf/gguf.h"
#include "engine/tokenizer/pretokenizer.h"
#include "engine/tokenizer/tokenizer.h"
#include "util/log.h"

namespace tokenizer {
namespace {

const gguf::Value& require_array(const gguf::File& file, std::string_view key,
                                 gguf::ValueType elem) {
  const gguf::Value* v = file.find(key);
  if (v == nullptr) {
    throw util::bad_request(file.path() + ": missing tokenizer key '" + std::string(key) + "'");
  }
  if (v->type != gguf::ValueType::kArray || (!v->array.empty() && v->array_type != elem)) {
    throw util::bad_request(file.path() + ": tokenizer key '" + std::string(key) +
                            "' has the wrong type");
  }
  return *v;
}

// Pre-tokenizers of the Llama-3 family: cl100k-style digits in threes and whole-word lookup
// before merging (HF "ignore_merges").
bool is_llama3_family(std::string_view pre) {
  static const char* const kNames[] = {"llama3",  "llama-v3", "llama-bpe", "falcon3",
                                       "pixtral", "midm-2.0", "lfm2"};
  for (const char* n : kNames) {
    if (pre == n) return true;
  }
  return false;
}

}  // namespace

Tokenizer::Tokenizer(const gguf::File& file) {
  model_name_ = file.get_string("tokenizer.ggml.model", "");
  pre_ = file.get_string("tokenizer.ggml.pre", "");
  if (model_name_ == "llama") {
    algorithm_ = Algorithm::kSpm;
  } else if (model_name_ == "gpt2") {
    algorithm_ = Algorithm::kBpe;
  } else if (model_name_ == "gemma4") {
    algorithm_ = Algorithm::kGemma4;
  } else if (model_name_ == "bert") {
    algorithm_ = Algorithm::kWordPiece;
  } else if (model_name_.empty()) {
    throw util::bad_request(file.path() + ": the model has no tokenizer (tokenizer.ggml.model)");
  } else {
    const std::string what = model_name_ == "t5" ? " (Unigram)" : "";
    throw util::bad_request(file.path() + ": tokenizer model '" + model_name_ + "'" + what +
                            " is not supported; supported: llama, gpt2, gemma4, bert");
  }
  load_vocab(file);
  if (algorithm_ == Algorithm::kBpe || algorithm_ == Algorithm::kGemma4) load_merges(file);
  if (algorithm_ == Algorithm::kBpe) {
    pre_tokenizer_ = std::make_unique<PreTokenizer>(pre_);
    ignore_merges_ = is_llama3_family(pre_) || pre_ == "tekken";
  }
  load_special_ids(file);
  build_eog();
  build_special_index();
  set_strip_rules(file);
}

Tokenizer::~Tokenizer() = default;

void Tokenizer::load_vocab(const gguf::File& file) {
  const auto& tokens = require_array(file, "tokenizer.ggml.tokens", gguf::ValueType::kString);
  const size_t n = tokens.array.size();
  if (n == 0) throw util::bad_request(file.path() + ": the vocabulary is empty");
  if (n > static_cast<size_t>(INT32_MAX)) {
    throw util::bad_request(file.path() + ": the vocabulary is too large");
  }
  size_t total = 0;
  for (const auto& t : tokens.array) total += t.s.size();
  if (total > UINT32_MAX) throw util::bad_request(file.path() + ": the vocabulary is too large");
  text_pool_.reserve(total);
  offsets_.resize(n + 1);
  for (size_t i = 0; i < n; ++i) {
    offsets_[i] = static_cast<uint32_t>(text_pool_.size());
    text_pool_ += tokens.array[i].s;
    max_token_len_ = std::max(max_token_len_, tokens.array[i].s.size());
  }
  offsets_[n] = static_cast<uint32_t>(text_pool_.size());
  types_.assign(n, TokenType::kNormal);  // n_tokens() is types_.size()
  // The first of duplicated texts wins, as in HF tokenizers' model vocab.
  token_to_id_.build(static_cast<int32_t>(n), [this](int32_t id) { return raw_text(id); });

  if (const gguf::Value* v = file.find("tokenizer.ggml.token_type")) {
    if (v->type != gguf::ValueType::kArray || v->array.size() != n) {
      throw util::bad_request(file.path() + ": tokenizer.ggml.token_type does not match the " +
                              std::to_string(n) + " tokens");
    }
    for (size_t i = 0; i < n; ++i) {
      const int64_t t = v->array[i].as_int();
      types_[i] = (t >= 0 && t <= 6) ? static_cast<TokenType>(t) : TokenType::kNormal;
    }
  }
  scores_.assign(n, 0.0f);
  if (const gguf::Value* v = file.find("tokenizer.ggml.scores")) {
    if (v->type != gguf::ValueType::kArray || v->array.size() != n) {
      throw util::bad_request(file.path() + ": tokenizer.ggml.scores does not match the " +
                              std::to_string(n) + " tokens");
    }
    for (size_t i = 0; i < n; ++i) scores_[i] = static_cast<float>(v->array[i].as_double());
  }

  // Byte tokens: "<0xXX>" for SentencePiece-style vocabs, the byte's stand-in character for
  // byte-level BPE (so each byte has exactly one token).
  for (int b = 0; b < 256; ++b) {
    std::string key;
    if (algorithm_ == Algorithm::kBpe) {
      key = byte_to_unicode(static_cast<uint8_t>(b));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "<0x%02X>", b);
      key = buf;
    }
    byte_ids_[b] = find_token(key);
  }
}

void Tokenizer::load_merges(const gguf::File& file) {
  const gguf::Value* v = file.find("tokenizer.ggml.merges");
  if (v == nullptr) {
    throw util::bad_request(file.path() + ": BPE tokenizer without tokenizer.ggml.merges");
  }
  const auto& merges = require_array(file, "tokenizer.ggml.merges", gguf::ValueType::kString);
  std::vector<MergeTable::Merge> list;
  list.reserve(merges.array.size());
  for (size_t r = 0; r < merges.array.size(); ++r) {
    std::string_view m = merges.array[r].s;
    const size_t sp = m.find(' ', 1);
    if (sp == std::string_view::npos) continue;
    const int32_t left = find_token(m.substr(0, sp));
    const int32_t right = find_token(m.substr(sp + 1));
    if (left < 0 || right < 0) continue;  // cannot apply: a side is not a token
    list.push_back({left, right, static_cast<int32_t>(r)});
  }
  merge_ranks_.build(n_tokens(), list);
}

void Tokenizer::load_special_ids(const gguf::File& file) {
  const bool wpm = algorithm_ == Algorithm::kWordPiece;
  if (algorithm_ == Algorithm::kSpm) {
    bos_ = 1, eos_ = 2, unk_ = 0;
  } else if (wpm) {
    unk_ = 100, sep_ = 102, pad_ = 0, cls_ = 101, mask_ = 103;
  }
  auto read_id = [&](const char* key, int32_t& id) {
    const auto v = file.get_int(key);
    if (!v) return;
    // Converters write u32 0xFFFFFFFF (or -1) for "none".
    id = (*v >= 0 && *v < n_tokens()) ? static_cast<int32_t>(*v) : -1;
    if (*v >= n_tokens() && *v != 0xFFFFFFFFll) {
      LOG_WARN("tokenizer: {} = {} is outside the vocabulary; ignored", key, *v);
    }
  };
  read_id("tokenizer.ggml.bos_token_id", bos_);
  read_id("tokenizer.ggml.eos_token_id", eos_);
  read_id("tokenizer.ggml.eot_token_id", eot_);
  read_id("tokenizer.ggml.eom_token_id", eom_);
  read_id("tokenizer.ggml.unknown_token_id", unk_);
  read_id("tokenizer.ggml.padding_token_id", pad_);
  read_id("tokenizer.ggml.seperator_token_id", sep_);  // sic: the GGUF key is misspelled
  read_id("tokenizer.ggml.separator_token_id", sep_);
  read_id("tokenizer.ggml.cls_token_id", cls_);
  read_id("tokenizer.ggml.mask_token_id", mask_);
  if (unk_ < 0 && algorithm_ != Algorithm::kBpe) unk_ = find_token("<unk>");

  switch (algorithm_) {
    case Algorithm::kSpm:
      add_bos_ = true, add_space_prefix_ = true;
      break;
    case Algorithm::kBpe:
      add_bos_ = is_llama3_family(pre_);
      break;
    case Algorithm::kGemma4:
      add_bos_ = true;
      break;
    case Algorithm::kWordPiece:
      add_bos_ = true, add_eos_ = true;
      break;
  }
  add_bos_ = file.get_bool("tokenizer.ggml.add_bos_token").value_or(add_bos_);
  add_eos_ = file.get_bool("tokenizer.ggml.add_eos_token").value_or(add_eos_);
  if (algorithm_ == Algorithm::kWordPiece) {
    // Newer converters say whether BERT-style models end with [SEP] under this key.
    add_eos_ = file.get_bool("tokenizer.ggml.add_sep_token").value_or(add_eos_);
  }
  add_space_prefix_ = file.get_bool("tokenizer.ggml.add_space_prefix").value_or(add_space_prefix_);
  if (algorithm_ != Algorithm::kSpm) add_space_prefix_ = false;  // only SPM uses it
}

void Tokenizer::build_eog() {
  static const char* const kEndTexts[] = {
      "<|eot_id|>",    "<|eom_id|>",    "<|im_end|>",      "<|end|>",
      "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<|return|>",
      "<|call|>",      "<EOT>",         "<turn|>",         "<｜end▁of▁sentence｜>"};
  const bool harmony = find_token("<|return|>") >= 0;
  auto special_text_id = [&](std::string_view text) {
    const int32_t id = find_token(text);
    if (id < 0) return -1;
    const TokenType t = types_[id];
    return (t == TokenType::kControl || t == TokenType::kUserDefined) ? id : -1;
  };
  if (eot_ < 0) {
    for (const char* t :
         {"<|eot_id|>", "<|im_end|>", "<end_of_turn>", "<turn|>", "<|end|>", "<EOT>"}) {
      if (harmony && std::string_view(t) == "<|end|>") continue;
      if ((eot_ = special_text_id(t)) >= 0) break;
    }
  }
  if (eom_ < 0) eom_ = special_text_id("<|eom_id|>");
  for (int32_t id : {eos_, eot_, eom_}) {
    if (id >= 0) eog_.push_back(id);
  }
  for (const char* t : kEndTexts) {
    if (harmony && std::string_view(t) == "<|end|>") continue;
    const int32_t id = special_text_id(t);
    if (id >= 0) eog_.push_back(id);
  }
  std::sort(eog_.begin(), eog_.end());
  eog_.erase(std::unique(eog_.begin(), eog_.end()), eog_.end());
}

void Tokenizer::build_special_index() {
  special_by_first_byte_.assign(256, {});
  user_by_first_byte_.assign(256, {});
  for (int32_t id = 0; id < n_tokens(); ++id) {
    const TokenType t = types_[id];
    if (t != TokenType::kControl && t != TokenType::kUserDefined && t != TokenType::kUnknown) {
      continue;
    }
    const std::string_view text = token_text(id);
    if (text.empty()) continue;
    special_by_first_byte_[static_cast<uint8_t>(text[0])].push_back(id);
    if (t == TokenType::kUserDefined)
      user_by_first_byte_[static_cast<uint8_t>(text[0])].push_back(id);
  }
  auto longest_first = [&](int32_t a, int32_t b) {
    return token_text(a).size() > token_text(b).size();
  };
  for (auto& bucket : special_by_first_byte_) {
    std::stable_sort(bucket.begin(), bucket.end(), longest_first);
  }
  for (auto& bucket : user_by_first_byte_) {
    std::stable_sort(bucket.begin(), bucket.end(), longest_first);
  }
}

void Tokenizer::set_strip_rules(const gguf::File& file) {
  // GGUF has no field for HF's per-token lstrip/rstrip. Phi-3's added tokens have rstrip set
  // (the newline after <|user|>, <|end|>, ... is not part of the text), so, like llama.cpp,
  // recognise the model by name and mark its special tokens.
  std::string name = file.get_string("general.name", "");
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (name.find("phi-3") == std::string::npos && name.find("phi3") == std::string::npos) return;
  for (const auto& bucket : special_by_first_byte_) {
    for (int32_t id : bucket) {
      const std::string_view t = raw_text(id);
      if (t != "<unk>" && t != "<s>" && t != "<|endoftext|>") rstrip_ids_.push_back(id);
    }
  }
  std::sort(rstrip_ids_.begin(), rstrip_ids_.end());
}

bool Tokenizer::is_eog(int32_t id) const {
  return std::binary_search(eog_.begin(), eog_.end(), id);
}

std::string_view Tokenizer::token_text(int32_t id) const {
  if (id < 0 || id >= n_tokens()) return {};
  return std::string_view(text_pool_).substr(offsets_[id], offsets_[id + 1] - offsets_[id]);
}

TokenType Tokenizer::token_type(int32_t id) const {
  return (id < 0 || id >= n_tokens()) ? TokenType::kUndefined : types_[id];
}

float Tokenizer::score(int32_t id) const {
  return (id < 0 || id >= n_tokens()) ? 0.0f : scores_[id];
}

int32_t Tokenizer::find_token(std::string_view text) const {
  return token_to_id_.find(text, [this](int32_t id) { return raw_text(id); });
}

int32_t Tokenizer::merge_rank(int32_t left, int32_t right) const {
  return merge_ranks_.find(left, right);
}

}  // namespace tokenizer
