// make-reranker: turns a bert-family embedding GGUF into a cross-encoder reranker for tests:
// `<arch>.pooling_type` = 4 (rank) and a random classification head (cls.weight, cls.bias,
// cls.output.weight, cls.output.bias, F32, seeded), the head also written as JSON so a test
// can score pairs independently.
//
//   make-reranker IN.gguf OUT.gguf [--seed N] [--labels L]   (writes OUT.gguf.head.json)
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "engine/gguf/gguf.h"
#include "engine/gguf/writer.h"

namespace {

constexpr uint32_t kF32 = 0;

std::vector<uint8_t> bytes_of(const std::vector<float>& v) {
  std::vector<uint8_t> b(v.size() * sizeof(float));
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: make-reranker IN.gguf OUT.gguf [--seed N] [--labels L]\n");
    return 2;
  }
  unsigned seed = 7;
  int64_t labels = 1;
  for (int i = 3; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--seed") == 0) seed = static_cast<unsigned>(std::atoi(argv[i + 1]));
    if (std::strcmp(argv[i], "--labels") == 0) labels = std::atoll(argv[i + 1]);
  }
  try {
    auto in = gguf::File::open(argv[1]);
    const std::string arch = in->architecture();
    const int64_t E = static_cast<int64_t>(in->get_int(arch + ".embedding_length", 0));
    if (E <= 0) throw std::runtime_error("no " + arch + ".embedding_length");
    gguf::Writer w = gguf::Writer::from_file(*in);
    w.set_u32(arch + ".pooling_type", 4);
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f / std::sqrt(static_cast<float>(E)));
    auto random = [&](int64_t n, float scale) {
      std::vector<float> v(n);
      for (float& x : v) x = normal(rng) * scale;
      return v;
    };
    // Scaled up so scores spread over a range a test can tell apart.
    const std::vector<float> cls = random(E * E, 2.0f), cls_b = random(E, 1.0f);
    const std::vector<float> out = random(E * labels, 8.0f), out_b = random(labels, 1.0f);
    w.add_tensor("cls.weight", {E, E}, kF32, bytes_of(cls));
    w.add_tensor("cls.bias", {E}, kF32, bytes_of(cls_b));
    w.add_tensor("cls.output.weight", {E, labels}, kF32, bytes_of(out));
    w.add_tensor("cls.output.bias", {labels}, kF32, bytes_of(out_b));
    w.write(argv[2]);
    // Rows of n_embd: y[j] = dot(row j, x) + b[j].
    nlohmann::json head = {{"cls", nlohmann::json::array()},
                           {"cls_b", cls_b},
                           {"out", nlohmann::json::array()},
                           {"out_b", out_b}};
    for (int64_t j = 0; j < E; j++)
      head["cls"].push_back(std::vector<float>(cls.begin() + j * E, cls.begin() + (j + 1) * E));
    for (int64_t j = 0; j < labels; j++)
      head["out"].push_back(std::vector<float>(out.begin() + j * E, out.begin() + (j + 1) * E));
    std::ofstream(std::string(argv[2]) + ".head.json") << head.dump();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make-reranker: %s\n", e.what());
    return 1;
  }
  return 0;
}
