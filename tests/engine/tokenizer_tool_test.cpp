// The gguf-tokenize tool: its --cases output is byte-identical to llama.cpp's .out files.
#include <sys/wait.h>

#include <cstdio>

#include "tokenizer_test_util.h"

namespace tokenizer_test {
namespace {

std::string tool_path() { return std::string(OLLAMA_BINARY_DIR) + "/gguf-tokenize"; }

// Runs a shell command, returning stdout and the exit status.
std::string run(const std::string& cmd, int* status) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) {
    *status = -1;
    return out;
  }
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int rc = pclose(p);
  *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return out;
}

class TokenizerTool : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(tool_path())) {
      GTEST_SKIP() << "gguf-tokenize is not built (cmake --build <dir> --target gguf-tokenize)";
    }
  }
};

TEST_F(TokenizerTool, CasesOutputMatchesOutFiles) {
  for (const char* name : {"llama-bpe", "qwen2", "llama-spm", "bert-bge", "command-r"}) {
    const std::string gguf = vocab_path(name);
    int status = 0;
    const std::string out =
        run("'" + tool_path() + "' --cases '" + gguf + ".inp' '" + gguf + "'", &status);
    EXPECT_EQ(status, 0) << name;
    EXPECT_EQ(out, read_file(gguf + ".out")) << name;
  }
}

TEST_F(TokenizerTool, StdinEncodeAndDecode) {
  int status = 0;
  const std::string ids = run(
      "printf 'Once upon a time' | '" + tool_path() + "' --add-special '" + stories_path() + "'",
      &status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(ids, " 1 403 407 261 378\n");
  const std::string text =
      run("echo '1 403 407 261 378' | '" + tool_path() + "' --decode '" + stories_path() + "'",
          &status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(text, "Once upon a time");
}

TEST_F(TokenizerTool, UnsupportedModelFailsWithMessage) {
  int status = 0;
  const std::string out =
      run("'" + tool_path() + "' '" + vocab_path("nomic-bert-moe") + "' </dev/null 2>&1", &status);
  EXPECT_EQ(status, 1);
  EXPECT_NE(out.find("'t5'"), std::string::npos) << out;
}

}  // namespace
}  // namespace tokenizer_test
