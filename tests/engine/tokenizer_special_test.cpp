// Special-token partitioning, BOS/EOS handling and end-of-generation sets on real vocabs.
#include "tokenizer_test_util.h"

namespace tokenizer_test {
namespace {

bool contains(const std::vector<int32_t>& ids, int32_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

TEST(TokenizerSpecial, Llama3HeaderTokens) {
  Loaded l = load(vocab_path("llama-bpe"));
  const std::string text = "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>";
  const auto ids = l.tok->encode(text, true, true);
  ASSERT_GE(ids.size(), 6u);
  EXPECT_EQ(ids[0], 128000);  // add_bos_token is implied for llama-bpe
  EXPECT_EQ(ids[1], 128006);
  EXPECT_EQ(ids.back(), 128009);
  EXPECT_TRUE(contains(ids, 128007));
  EXPECT_EQ(l.tok->decode(ids, true), "<|begin_of_text|>" + text);
  EXPECT_EQ(l.tok->decode(ids, false), "user\n\nHi there");

  const auto plain = l.tok->encode(text, false, false);
  for (int32_t id : plain) EXPECT_LT(id, 128000) << "control token matched without parse_special";
  EXPECT_EQ(l.tok->decode(plain), text);
}

TEST(TokenizerSpecial, Llama3EndOfGeneration) {
  Loaded l = load(vocab_path("llama-bpe"));
  EXPECT_EQ(l.tok->bos(), 128000);
  EXPECT_EQ(l.tok->eos(), 128001);
  EXPECT_EQ(l.tok->eot(), 128009);
  EXPECT_TRUE(l.tok->add_bos());
  EXPECT_TRUE(l.tok->is_eog(128001));
  EXPECT_TRUE(l.tok->is_eog(128009));
  EXPECT_FALSE(l.tok->is_eog(128000));
  EXPECT_FALSE(l.tok->is_eog(128006));
}

TEST(TokenizerSpecial, QwenChatMarkers) {
  Loaded l = load(vocab_path("qwen2"));
  const auto ids = l.tok->encode("<|im_start|>user\nhello<|im_end|>\n", true, true);
  EXPECT_EQ(ids.front(), 151644);  // qwen2 adds no BOS
  EXPECT_TRUE(contains(ids, 151645));
  EXPECT_TRUE(l.tok->is_eog(151645));
  EXPECT_TRUE(l.tok->is_eog(151643));
  EXPECT_FALSE(l.tok->is_eog(151644));
  EXPECT_FALSE(l.tok->add_bos());
}

TEST(TokenizerSpecial, UserDefinedTokensAlwaysMatch) {
  // llama.cpp and HF match added (user-defined) tokens even when control tokens are not
  // parsed; qwen2's [PAD...] entries are user-defined.
  Loaded l = load(vocab_path("qwen2"));
  EXPECT_EQ(l.tok->token_type(151646), tokenizer::TokenType::kUserDefined);
  EXPECT_EQ(l.tok->encode("a[PAD151646]b", false, false).size(), 3u);
  EXPECT_TRUE(contains(l.tok->encode("a[PAD151646]b", false, false), 151646));
  EXPECT_FALSE(contains(l.tok->encode("a<|im_end|>b", false, false), 151645));
}

TEST(TokenizerSpecial, LongestSpecialTokenWins) {
  // Gemma 4 has both "<|tool_response>" and "<tool_response|>"; "<|channel>" and
  // "<channel|>": check each resolves to itself inside running text.
  Loaded l = load(vocab_path("gemma-4"));
  for (const char* name : {"<|tool_call>", "<tool_call|>", "<|tool_response>", "<|channel>",
                           "<channel|>", "<turn|>"}) {
    const int32_t id = l.tok->find_token(name);
    ASSERT_GE(id, 0) << name;
    const auto ids = l.tok->encode(std::string("x") + name + "y", false, true);
    EXPECT_TRUE(contains(ids, id)) << name;
    EXPECT_EQ(l.tok->decode(ids, true), std::string("x") + name + "y");
  }
  EXPECT_TRUE(l.tok->is_eog(l.tok->find_token("<turn|>")));
  EXPECT_EQ(l.tok->eot(), l.tok->find_token("<turn|>"));
  EXPECT_EQ(l.tok->encode("hi", true, false).front(), 2);  // <bos>
}

TEST(TokenizerSpecial, BertAddsClsAndSep) {
  Loaded l = load(vocab_path("bert-bge"));
  const auto ids = l.tok->encode("Hello world", true, false);
  EXPECT_EQ(ids, (std::vector<int32_t>{101, 7592, 2088, 102}));
  EXPECT_EQ(l.tok->encode("[CLS] hi [SEP]", false, true).front(), 101);
  EXPECT_EQ(l.tok->decode(ids), "hello world");
}

TEST(TokenizerSpecial, AddEosWhenTheModelAsks) {
  Loaded l = load(vocab_path("command-r"));
  EXPECT_TRUE(l.tok->add_bos());
  EXPECT_FALSE(l.tok->add_eos());
  const auto ids = l.tok->encode("Hi", true, false);
  EXPECT_EQ(ids.front(), 5);
  EXPECT_NE(ids.back(), l.tok->eos());
}

}  // namespace
}  // namespace tokenizer_test
