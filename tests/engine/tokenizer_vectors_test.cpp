// Every llama.cpp tokenizer test vector (testdata/vocab/*.inp/.out), one test per vocab.
#include <chrono>

#include "tokenizer_test_util.h"

namespace tokenizer_test {
namespace {

// Encodes every case with add_special = false, parse_special = false (as test-tokenizer-0
// does) and reports each mismatch with its input.
void check_vectors(const std::string& name) {
  const std::string path = vocab_path(name);
  if (!std::filesystem::exists(path + ".inp")) {
    GTEST_SKIP() << "no vectors for " << name << " in testdata/vocab (kept out on purpose)";
  }
  Loaded l = load(path);
  const std::vector<Case> cases = read_cases(path);
  ASSERT_GE(cases.size(), 40u);
  int failures = 0;
  for (const Case& c : cases) {
    const std::vector<int32_t> got = l.tok->encode(c.input, false, false);
    if (got != c.expected) {
      ++failures;
      ADD_FAILURE() << name << ": input \"" << escape(c.input)
                    << "\"\n  expected:" << join(c.expected) << "\n  got:     " << join(got);
    }
  }
  EXPECT_EQ(failures, 0) << name << ": " << failures << " of " << cases.size() << " cases differ";
}

TEST(TokenizerVectors, BertBge) { check_vectors("bert-bge"); }
TEST(TokenizerVectors, CommandR) { check_vectors("command-r"); }
TEST(TokenizerVectors, DeepseekCoder) { check_vectors("deepseek-coder"); }
TEST(TokenizerVectors, DeepseekLlm) { check_vectors("deepseek-llm"); }
TEST(TokenizerVectors, Falcon) { check_vectors("falcon"); }
TEST(TokenizerVectors, Gemma4) { check_vectors("gemma-4"); }
TEST(TokenizerVectors, Gpt2) { check_vectors("gpt-2"); }
TEST(TokenizerVectors, LlamaBpe) { check_vectors("llama-bpe"); }
TEST(TokenizerVectors, LlamaSpm) { check_vectors("llama-spm"); }
TEST(TokenizerVectors, Mpt) { check_vectors("mpt"); }
TEST(TokenizerVectors, Phi3) { check_vectors("phi-3"); }
TEST(TokenizerVectors, Qwen2) { check_vectors("qwen2"); }
TEST(TokenizerVectors, Qwen35) { check_vectors("qwen35"); }
TEST(TokenizerVectors, Refact) { check_vectors("refact"); }
TEST(TokenizerVectors, Starcoder) { check_vectors("starcoder"); }

}  // namespace
}  // namespace tokenizer_test
