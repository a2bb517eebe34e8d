// Random F32 weights for tests that build a tiny model with the project's GGUF writer and
// check it against a double-precision implementation written in the test: values are drawn
// as floats (so the double reference sees exactly what the file holds) and kept by name.
#pragma once
#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "engine/gguf/writer.h"
#include "ops/types.h"

namespace engine_test {

struct RandomWeights {
  std::map<std::string, std::vector<double>> t;
  std::map<std::string, std::vector<int64_t>> dims;
  std::mt19937 rng;

  explicit RandomWeights(unsigned seed) : rng(seed) {}

  // A tensor of GGUF shape `d` (innermost first) drawn from N(mean, scale^2).
  void add(const std::string& name, std::vector<int64_t> d, double scale, double mean = 0) {
    std::normal_distribution<double> n(0.0, 1.0);
    int64_t count = 1;
    for (int64_t x : d) count *= x;
    std::vector<double> v(count);
    for (auto& x : v) x = static_cast<float>(mean + scale * n(rng));  // exactly representable
    t[name] = v;
    dims[name] = d;
  }

  // Every tensor, as F32, in name order.
  void add_tensors(gguf::Writer& w) const {
    for (const auto& [name, v] : t) {
      std::vector<uint8_t> bytes(v.size() * 4);
      for (size_t i = 0; i < v.size(); i++) {
        const float f = static_cast<float>(v[i]);
        std::memcpy(bytes.data() + 4 * i, &f, 4);
      }
      w.add_tensor(name, dims.at(name), static_cast<uint32_t>(ops::DType::F32), std::move(bytes));
    }
  }
};

}  // namespace engine_test
