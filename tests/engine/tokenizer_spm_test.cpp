// SentencePiece ("llama") tokenizer: stories260K prompts and texts, llama-spm and phi-3 details.
#include <nlohmann/json.hpp>

#include "tokenizer_test_util.h"

namespace tokenizer_test {
namespace {

using tokenizer::TokenType;

nlohmann::json stories_expected() {
  return nlohmann::json::parse(
      read_file(std::string(OLLAMA_SHARED_DIR) + "/testdata/real/stories260K.expected.json"));
}

TEST(TokenizerSpm, StoriesPromptsEncodeLikeLlamaCpp) {
  Loaded l = load(stories_path());
  const auto expected = stories_expected();
  ASSERT_EQ(expected["prompted_greedy"].size(), 2u);
  for (const auto& p : expected["prompted_greedy"]) {
    const std::string prompt = p["prompt"];
    const auto ids = p["prompt_token_ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(l.tok->encode(prompt, true, false), ids) << prompt;
    // Without add_special the BOS goes away and nothing else changes.
    EXPECT_EQ(l.tok->encode(prompt, false, false),
              std::vector<int32_t>(ids.begin() + 1, ids.end()));
  }
  EXPECT_EQ(l.tok->encode("Once upon a time", true, false),
            (std::vector<int32_t>{1, 403, 407, 261, 378}));
}

TEST(TokenizerSpm, StoriesGreedyIdsDecodeToReferenceText) {
  Loaded l = load(stories_path());
  const auto expected = stories_expected();
  const auto& u = expected["unconditional_greedy"];
  EXPECT_EQ(l.tok->decode(u["generated_ids"].get<std::vector<int32_t>>()),
            u["text"].get<std::string>());
  for (const auto& p : expected["prompted_greedy"]) {
    auto ids = p["prompt_token_ids"].get<std::vector<int32_t>>();
    const auto gen = p["greedy_generated_ids"].get<std::vector<int32_t>>();
    ids.insert(ids.end(), gen.begin(), gen.end());
    EXPECT_EQ(l.tok->decode(ids), p["full_text"].get<std::string>());
  }
}

TEST(TokenizerSpm, StoriesMetadataDefaults) {
  Loaded l = load(stories_path());
  const auto& t = *l.tok;
  EXPECT_EQ(t.algorithm(), tokenizer::Algorithm::kSpm);
  EXPECT_EQ(t.n_tokens(), 512);
  EXPECT_EQ(t.bos(), 1);
  EXPECT_EQ(t.eos(), 2);
  EXPECT_EQ(t.unk(), 0);
  EXPECT_EQ(t.sep(), -1);  // stored as u32 0xFFFFFFFF = none
  EXPECT_EQ(t.pad(), -1);
  EXPECT_TRUE(t.add_bos());  // no key: SPM default
  EXPECT_FALSE(t.add_eos());
  EXPECT_TRUE(t.add_space_prefix());
  EXPECT_TRUE(t.is_eog(2));
  EXPECT_FALSE(t.is_eog(1));
  EXPECT_EQ(t.token_type(0), TokenType::kUnknown);
  EXPECT_EQ(t.token_type(1), TokenType::kControl);
  EXPECT_EQ(t.token_type(3), TokenType::kByte);
  EXPECT_EQ(t.token_text(13), "<0x0A>");
  EXPECT_EQ(t.piece(13), "\n");
  EXPECT_EQ(t.piece(1), "");
  EXPECT_EQ(t.piece(1, true), "<s>");
}

TEST(TokenizerSpm, ByteFallbackForCharactersOutsideTheVocab) {
  Loaded l = load(stories_path());
  const std::string text = "日🦙";  // 7 bytes, none of them pieces in a 512-token vocab
  const auto ids = l.tok->encode(text, false, false);
  ASSERT_EQ(ids.size(), 8u);
  EXPECT_EQ(l.tok->token_text(ids[0]), "\xE2\x96\x81");  // the dummy-prefix space
  for (size_t i = 1; i < ids.size(); ++i) {
    EXPECT_EQ(l.tok->token_type(ids[i]), TokenType::kByte);
    EXPECT_EQ(ids[i], 3 + static_cast<uint8_t>(text[i - 1]));  // <0x00> is id 3
  }
  EXPECT_EQ(l.tok->decode(ids), text);
}

TEST(TokenizerSpm, EmptyTextAndSpacePrefix) {
  Loaded l = load(vocab_path("llama-spm"));
  EXPECT_TRUE(l.tok->encode("", false, false).empty());
  EXPECT_EQ(l.tok->encode("", true, false), std::vector<int32_t>{1});
  EXPECT_EQ(l.tok->encode("Hello world", false, false), (std::vector<int32_t>{15043, 3186}));
  EXPECT_EQ(l.tok->encode("\n", false, false), (std::vector<int32_t>{29871, 13}));
  EXPECT_EQ(l.tok->decode(l.tok->encode(" Hello", true, false)), " Hello");
}

TEST(TokenizerSpm, SpecialTokensOnlyWithParseSpecial) {
  Loaded l = load(vocab_path("llama-spm"));
  const auto parsed = l.tok->encode("<s>Hello</s>", false, true);
  EXPECT_EQ(parsed.front(), 1);
  EXPECT_EQ(parsed.back(), 2);
  // After a special token SentencePiece adds its dummy space again, as llama.cpp does.
  EXPECT_EQ(std::vector<int32_t>(parsed.begin() + 1, parsed.end() - 1),
            l.tok->encode("Hello", false, false));
  const auto plain = l.tok->encode("<s>Hello</s>", false, false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 1), 0);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 2), 0);
  EXPECT_EQ(l.tok->decode(plain), "<s>Hello</s>");
}

TEST(TokenizerSpm, Phi3ChatTokens) {
  Loaded l = load(vocab_path("phi-3"));
  const auto ids = l.tok->encode("<|user|>\nHi<|end|>\n<|assistant|>\n", true, true);
  ASSERT_GE(ids.size(), 5u);
  EXPECT_EQ(ids[0], 1);
  EXPECT_EQ(ids[1], 32010);
  EXPECT_NE(std::find(ids.begin(), ids.end(), 32007), ids.end());
  EXPECT_NE(std::find(ids.begin(), ids.end(), 32001), ids.end());
  EXPECT_EQ(l.tok->eot(), 32007);
  EXPECT_TRUE(l.tok->is_eog(32007));
  EXPECT_TRUE(l.tok->is_eog(32000));
  // Phi-3's special tokens swallow the whitespace after them (HF rstrip), and, as in
  // llama.cpp, the text after a special token gets SentencePiece's dummy space.
  EXPECT_EQ(ids,
            (std::vector<int32_t>{1, 32010, l.tok->find_token("\xE2\x96\x81Hi"), 32007, 32001}));
  EXPECT_EQ(l.tok->decode(ids, true), "<s><|user|> Hi<|end|><|assistant|>");
  // phi-3's "</s>" is a user-defined token, so it is matched even in plain text.
  EXPECT_EQ(l.tok->token_type(2), tokenizer::TokenType::kUserDefined);
  const auto plain = l.tok->encode("a</s>b", false, false);
  EXPECT_NE(std::find(plain.begin(), plain.end(), 2), plain.end());
}

}  // namespace
}  // namespace tokenizer_test
