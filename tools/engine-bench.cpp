// engine-bench MODEL.gguf [-p N] [-n N] [-t N] [--kv f32] [--parallel N] [--no-bw] [--gpu]
// [--json] (--gpu: on the Vulkan backend, the device's copy bandwidth as the roofline):
// prefill/decode tokens/s and the bandwidth roofline (the library behind `ollama bench`).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "engine/bench.h"
#include "util/error.h"

int main(int argc, char** argv) {
  engine::BenchOptions o;
  bool json = false;
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "missing value for %s\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "-p")
      o.n_prompt = std::atoi(value());
    else if (a == "-n")
      o.n_gen = std::atoi(value());
    else if (a == "-t")
      o.n_threads = std::atoi(value());
    else if (a == "-b")
      o.n_batch = std::atoi(value());
    else if (a == "--parallel")
      o.n_parallel = std::atoi(value());
    else if (a == "--kv")
      o.kv_type = std::strcmp(value(), "f32") == 0 ? engine::KvType::kF32 : engine::KvType::kF16;
    else if (a == "--no-bw")
      o.bandwidth_bytes = 0;
    else if (a == "--json")
      json = true;
    else if (a == "--gpu")
      o.gpu = true;
    else if (a[0] != '-' && o.model_path.empty())
      o.model_path = a;
    else {
      std::fprintf(stderr,
                   "usage: engine-bench MODEL.gguf [-p N] [-n N] [-t N] [-b N] "
                   "[--kv f16|f32] [--parallel N] [--no-bw] [--gpu] [--json]\n");
      return 2;
    }
  }
  if (o.model_path.empty()) {
    std::fprintf(stderr, "usage: engine-bench MODEL.gguf [options]\n");
    return 2;
  }
  try {
    const engine::BenchResult r = engine::run_bench(o);
    std::printf("%s\n", json ? r.to_json().c_str() : r.to_text().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
