// gguf-tokenize: tokenize stdin (or llama.cpp .inp test files) with a GGUF's tokenizer.
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "engine/gguf/gguf.h"
#include "engine/tokenizer/tokenizer.h"

namespace {

constexpr const char* kUsage =
    "usage: gguf-tokenize [options] <model.gguf>\n"
    "\n"
    "Reads text on stdin and prints its token ids, each preceded by a space, on one line\n"
    "(the format of llama.cpp's .out test files).\n"
    "\n"
    "options:\n"
    "  --add-special      add BOS/EOS (CLS/SEP) as the model's flags say (default: off)\n"
    "  --parse-special    match control-token texts such as <|im_start|> (default: off)\n"
    "  --cases FILE.inp   tokenize each case of a llama.cpp .inp file (cases separated by\n"
    "                     \"\\n__ggml_vocab_test__\\n\"), one output line per case\n"
    "  --pieces           print one \"id<TAB>piece\" line per token instead\n"
    "  --decode           read ids (whitespace-separated) on stdin and print the text\n"
    "  --info             print the tokenizer's model, pre-tokenizer and special ids\n";

std::string read_all(std::istream& in) {
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::string> split_cases(const std::string& inp) {
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> cases;
  for (size_t pos = 0; pos < inp.size();) {
    const size_t next = inp.find(sep, pos);
    if (next == std::string::npos) {
      cases.push_back(inp.substr(pos));
      break;
    }
    cases.push_back(inp.substr(pos, next - pos));
    pos = next + sep.size();
  }
  return cases;
}

void print_ids(const std::vector<int32_t>& ids) {
  std::string line;
  for (int32_t id : ids) line += " " + std::to_string(id);
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stdout);
}

void print_info(const tokenizer::Tokenizer& tok) {
  std::printf("model %s\npre %s\ntokens %d\n", tok.model_name().c_str(), tok.pre().c_str(),
              tok.n_tokens());
  std::printf("bos %d eos %d eot %d eom %d unk %d pad %d sep %d cls %d mask %d\n", tok.bos(),
              tok.eos(), tok.eot(), tok.eom(), tok.unk(), tok.pad(), tok.sep(), tok.cls(),
              tok.mask());
  std::printf("add_bos %d add_eos %d add_space_prefix %d\neog", tok.add_bos(), tok.add_eos(),
              tok.add_space_prefix());
  for (int32_t id : tok.eog_ids()) {
    std::printf(" %d(%s)", id, std::string(tok.token_text(id)).c_str());
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  bool add_special = false, parse_special = false, pieces = false, decode = false;
  bool info = false;
  std::string cases_path, model_path;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--add-special") {
      add_special = true;
    } else if (a == "--parse-special") {
      parse_special = true;
    } else if (a == "--pieces") {
      pieces = true;
    } else if (a == "--decode") {
      decode = true;
    } else if (a == "--info") {
      info = true;
    } else if (a == "--cases" && i + 1 < argc) {
      cases_path = argv[++i];
    } else if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "gguf-tokenize: unknown option %s\n\n%s", a.c_str(), kUsage);
      return 2;
    } else if (model_path.empty()) {
      model_path = a;
    } else {
      std::fprintf(stderr, "gguf-tokenize: more than one model given\n\n%s", kUsage);
      return 2;
    }
  }
  if (model_path.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  try {
    const auto file = gguf::File::open(model_path);
    const tokenizer::Tokenizer tok(*file);
    if (info) {
      print_info(tok);
      return 0;
    }
    if (decode) {
      std::vector<int32_t> ids;
      long long id = 0;
      while (std::cin >> id) ids.push_back(static_cast<int32_t>(id));
      const std::string text = tok.decode(ids, parse_special);
      std::fwrite(text.data(), 1, text.size(), stdout);
      return 0;
    }
    std::vector<std::string> inputs;
    if (!cases_path.empty()) {
      std::ifstream in(cases_path, std::ios::binary);
      if (!in) {
        std::fprintf(stderr, "gguf-tokenize: cannot read %s\n", cases_path.c_str());
        return 1;
      }
      inputs = split_cases(read_all(in));
    } else {
      inputs.push_back(read_all(std::cin));
    }
    for (const std::string& text : inputs) {
      const std::vector<int32_t> ids = tok.encode(text, add_special, parse_special);
      if (!pieces) {
        print_ids(ids);
        continue;
      }
      for (int32_t id : ids) {
        std::printf("%d\t%s\n", id, tok.piece(id, true).c_str());
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gguf-tokenize: %s\n", e.what());
    return 1;
  }
  return 0;
}
