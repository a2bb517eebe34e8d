// Shared helpers for the tokenizer tests: loading vocab GGUFs and reading .inp/.out vectors.
#pragma once
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "engine/gguf/gguf.h"
#include "engine/tokenizer/tokenizer.h"

namespace tokenizer_test {

inline std::string vocab_path(const std::string& name) {
  return std::string(OLLAMA_SHARED_DIR) + "/testdata/vocab/ggml-vocab-" + name + ".gguf";
}

inline std::string stories_path() {
  return std::string(OLLAMA_SHARED_DIR) + "/testdata/real/stories260K.gguf";
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A loaded vocab: the GGUF must outlive nothing (the tokenizer copies what it needs), but
// keeping it lets tests read metadata too.
struct Loaded {
  std::unique_ptr<gguf::File> file;
  std::unique_ptr<tokenizer::Tokenizer> tok;
};

inline Loaded load(const std::string& path) {
  Loaded l;
  l.file = gguf::File::open(path);
  l.tok = std::make_unique<tokenizer::Tokenizer>(*l.file);
  return l;
}

struct Case {
  std::string input;
  std::vector<int32_t> expected;
};

// The .inp/.out format of llama.cpp's test-tokenizer-0 (see testdata/vocab/README.md).
inline std::vector<Case> read_cases(const std::string& gguf_path) {
  const std::string inp = read_file(gguf_path + ".inp");
  const std::string out = read_file(gguf_path + ".out");
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> inputs;
  for (size_t pos = 0; pos < inp.size();) {
    const size_t next = inp.find(sep, pos);
    if (next == std::string::npos) {
      inputs.push_back(inp.substr(pos));
      break;
    }
    inputs.push_back(inp.substr(pos, next - pos));
    pos = next + sep.size();
  }
  std::vector<Case> cases;
  std::istringstream lines(out);
  std::string line;
  for (const std::string& in : inputs) {
    if (!std::getline(lines, line)) break;
    Case c{in, {}};
    std::istringstream ids(line);
    int64_t id = 0;
    while (ids >> id) c.expected.push_back(static_cast<int32_t>(id));
    cases.push_back(std::move(c));
  }
  EXPECT_EQ(cases.size(), inputs.size()) << gguf_path << ": .out has fewer lines than cases";
  return cases;
}

inline std::string escape(const std::string& s) {
  std::string r;
  for (unsigned char c : s) {
    if (c == '\n') {
      r += "\\n";
    } else if (c == '\t') {
      r += "\\t";
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      r += buf;
    } else {
      r += static_cast<char>(c);
    }
  }
  return r;
}

inline std::string join(const std::vector<int32_t>& ids) {
  std::string r;
  for (int32_t id : ids) r += " " + std::to_string(id);
  return r;
}

}  // namespace tokenizer_test
