// Detokenizing: round trips on every vocab, the streaming decoder, and bad input.
#include "engine/tokenizer/utf8.h"
#include "tokenizer_test_util.h"

namespace tokenizer_test {
namespace {

// Vocabs where decode(encode(x)) == x holds for any text (byte-level BPE, and SPM / Gemma 4
// with byte fallback). WordPiece lower-cases and drops spaces, so it is not here.
const char* const kLossless[] = {"llama-spm", "phi-3",    "llama-bpe",    "qwen2",     "qwen35",
                                 "gpt-2",     "mpt",      "deepseek-llm", "command-r", "gemma-4",
                                 "aquila",    "gpt-neox", "baichuan"};

const char* const kTexts[] = {
    "Hello world",
    " leading space",
    "trailing space ",
    "  multiple   spaces  ",
    "tabs\tand\nnewlines\r\n\n",
    "naïve café, Ünïcödé",
    "日本語のテキストと中文",
    "emoji 🦙🚀 and a family 👨‍👩‍👧 ✅",
    "Khmer កាន់តែពិសេស",
    "3.14159 12345678 0x1F",
    "it's 'quoted' \"double\" I'LL",
    "<s> <|endoftext|> <|im_start|> [CLS] <unk>",
    "\n",
    " ",
    "",
};

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = tokenizer::utf8_char_len(s, i);
    if (n == 1 && static_cast<uint8_t>(s[i]) >= 0x80) return false;
    i += n;
  }
  return true;
}

TEST(TokenizerDecode, RoundTripOnEveryLosslessVocab) {
  for (const char* name : kLossless) {
    Loaded l = load(vocab_path(name));
    for (const char* text : kTexts) {
      const auto ids = l.tok->encode(text, false, false);
      EXPECT_EQ(l.tok->decode(ids), text) << name << ": \"" << escape(text) << "\"";
      // With BOS (where the model adds one) the text is the same.
      EXPECT_EQ(l.tok->decode(l.tok->encode(text, true, false)), text) << name;
    }
  }
}

TEST(TokenizerDecode, WordPieceJoinsWords) {
  Loaded l = load(vocab_path("bert-bge"));
  EXPECT_EQ(l.tok->decode(l.tok->encode("Hello, World! unaffable", true, false)),
            "hello , world ! unaffable");
}

// Feeds ids one at a time; every chunk must be whole UTF-8 and the chunks must add up to the
// concatenated pieces.
void check_stream(const tokenizer::Tokenizer& tok, const std::vector<int32_t>& ids,
                  int* held_back) {
  tokenizer::StreamDecoder stream(tok);
  std::string all, pieces;
  for (int32_t id : ids) {
    const std::string chunk = stream.push(id);
    const std::string piece = tok.piece(id);
    pieces += piece;
    if (chunk.size() < piece.size()) ++*held_back;
    EXPECT_TRUE(valid_utf8(chunk)) << "partial character emitted: " << escape(chunk);
    all += chunk;
  }
  all += stream.flush();
  EXPECT_EQ(all, pieces);
}

TEST(TokenizerDecode, StreamHoldsBackPartialCharacters) {
  const std::string text = "日本 🦙 😶‍🌫️ naïve ✅ 中文";
  for (const char* name : {"llama-bpe", "qwen2", "gpt-2", "gemma-4", "llama-spm"}) {
    Loaded l = load(vocab_path(name));
    int held_back = 0;
    check_stream(*l.tok, l.tok->encode(text, false, false), &held_back);
    EXPECT_GT(held_back, 0) << name << ": no character was split across tokens";
  }
  Loaded s = load(stories_path());  // tiny vocab: everything non-ASCII is byte tokens
  int held_back = 0;
  const auto ids = s.tok->encode(text, false, false);
  check_stream(*s.tok, ids, &held_back);
  EXPECT_GE(held_back, 20);
}

TEST(TokenizerDecode, StreamEmitsEmojiOnlyWhenComplete) {
  Loaded l = load(stories_path());
  tokenizer::StreamDecoder stream(*l.tok);
  const std::string llama = "🦙";  // F0 9F A6 99, four byte tokens
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(stream.push(3 + static_cast<uint8_t>(llama[i])), "") << i;
  }
  EXPECT_EQ(stream.push(3 + static_cast<uint8_t>(llama[3])), llama);
  // An incomplete tail is handed out by flush().
  EXPECT_EQ(stream.push(3 + 0xE6), "");
  EXPECT_EQ(stream.flush(), "\xE6");
  EXPECT_EQ(stream.flush(), "");
  // A stray continuation byte is not waited on.
  EXPECT_EQ(stream.push(3 + 0x80), "\x80");
}

TEST(TokenizerDecode, InvalidUtf8NeverCrashesAndSurvivesByteLevelVocabs) {
  const std::string bad[] = {
      std::string("\xFF\xFE"),          std::string("abc\xC3"),
      std::string("\xE2\x82 x"),        std::string("\xED\xA0\x80 surrogate"),
      std::string("\xC0\xAF overlong"), std::string("nul\0inside", 10),
      std::string("\xF4\x90\x80\x80"),  std::string("ok \xF0\x9F\xA6 cut emoji"),
  };
  // Vocabs with a token for every byte, so even broken text comes back byte for byte.
  // (gpt-neox and mpt lack some byte tokens: those bytes become the unknown token.
  // deepseek-llm has the bytes that never occur in UTF-8, like 0xFF "ÿ", only as user-defined
  // tokens, which decode as their text.)
  for (const char* name :
       {"llama-spm", "phi-3", "llama-bpe", "qwen2", "qwen35", "gpt-2", "command-r", "gemma-4"}) {
    Loaded l = load(vocab_path(name));
    for (const std::string& text : bad) {
      std::vector<int32_t> ids;
      ASSERT_NO_THROW(ids = l.tok->encode(text, true, true)) << name;
      for (int32_t id : ids) ASSERT_TRUE(id >= 0 && id < l.tok->n_tokens()) << name;
      EXPECT_EQ(l.tok->decode(l.tok->encode(text, false, false)), text)
          << name << ": \"" << escape(text) << "\"";
    }
  }
  for (const char* name : {"bert-bge", "mpt", "gpt-neox", "deepseek-llm", "baichuan", "aquila"}) {
    Loaded l = load(vocab_path(name));
    for (const std::string& text : bad) {
      std::vector<int32_t> ids;
      ASSERT_NO_THROW(ids = l.tok->encode(text, true, true)) << name;
      for (int32_t id : ids) ASSERT_TRUE(id >= 0 && id < l.tok->n_tokens()) << name;
      ASSERT_NO_THROW(l.tok->decode(ids)) << name;
    }
  }
}

TEST(TokenizerDecode, RandomBytesRoundTrip) {
  // Random mixes of ASCII, whole and cut UTF-8 sequences and stray bytes (fixed seed). No
  // literal "▁": SentencePiece-style vocabs decode it as a space by design.
  const std::string alphabet[] = {"a",  " ",    "\n",       "\t",   "7",    "'",    "<", "|",  "é",
                                  "日", "🦙", "\xF0\x9F", "\x80", "\xFF", "\xC3", "Ġ", "<s>"};
  uint64_t state = 42;
  auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<uint32_t>(state >> 33);
  };
  std::vector<std::string> texts;
  for (int i = 0; i < 300; ++i) {
    std::string t;
    const uint32_t len = next() % 40;
    for (uint32_t k = 0; k < len; ++k) t += alphabet[next() % std::size(alphabet)];
    texts.push_back(t);
  }
  for (const char* name :
       {"llama-spm", "llama-bpe", "qwen35", "gemma-4", "deepseek-llm", "command-r", "bert-bge"}) {
    Loaded l = load(vocab_path(name));
    const bool lossless = std::string(name) != "bert-bge" && std::string(name) != "deepseek-llm";
    for (const std::string& t : texts) {
      const auto ids = l.tok->encode(t, false, false);
      for (int32_t id : ids) ASSERT_TRUE(id >= 0 && id < l.tok->n_tokens()) << name;
      if (lossless) {
        ASSERT_EQ(l.tok->decode(ids), t) << name << ": \"" << escape(t) << "\"";
      }
    }
  }
}

TEST(TokenizerDecode, OutOfRangeIdsDecodeToNothing) {
  Loaded l = load(vocab_path("llama-bpe"));
  EXPECT_EQ(l.tok->piece(-1), "");
  EXPECT_EQ(l.tok->piece(l.tok->n_tokens()), "");
  const std::vector<int32_t> ids = {-5, 9906, 1 << 30};
  EXPECT_EQ(l.tok->decode(ids), "Hello");
  EXPECT_EQ(l.tok->token_type(-1), tokenizer::TokenType::kUndefined);
  EXPECT_EQ(l.tok->token_text(1 << 30), "");
}

}  // namespace
}  // namespace tokenizer_test
