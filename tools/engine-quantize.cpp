// engine-quantize SRC.gguf DST.gguf TYPE [-t N]: converts a model with llama.cpp's per-tensor
// mix for TYPE (Q8_0, Q4_0, Q4_K_M, ...), e.g. to make benchmark models.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "engine/quant/quantize_model.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: engine-quantize SRC.gguf DST.gguf TYPE [-t N]\n");
    return 2;
  }
  const int n_threads = argc >= 6 && std::string(argv[4]) == "-t" ? std::atoi(argv[5]) : 0;
  try {
    const auto ft = engine::quant::parse_file_type(argv[3]);
    if (!ft) {
      std::fprintf(stderr, "error: unknown type %s\n", argv[3]);
      return 2;
    }
    engine::quant::quantize_file(argv[1], argv[2], *ft, nullptr, n_threads);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
