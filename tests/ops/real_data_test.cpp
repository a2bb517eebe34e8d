// Checks the block layouts and the reference quantizers against tensors llama.cpp quantized
// (shared/testdata/models): same source weights stored as F32 / Q8_0 and as the other types.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "gguf_mini.h"
#include "test_util.h"

using ops::DType;
using namespace ops_test;

namespace {

std::string model(const std::string& name) {
  return std::string(OLLAMA_SHARED_DIR) + "/testdata/models/" + name;
}

int64_t numel(const MiniTensor& t) {
  int64_t n = 1;
  for (int64_t d : t.dims) n *= d;
  return n;
}

std::vector<float> dequant_tensor(const MiniTensor& t) {
  return dequantize(static_cast<DType>(t.type), t.data, numel(t));
}

// Every tensor of the Q4_0 / Q4_K_M / Q5_K_M / Q6_K llama files dequantizes to within the
// type's error of the Q8_0 file's version (Q8_0 itself is within 0.6% of the F32 source).
// A wrong bit layout gives errors near 1.0 or more.
TEST(RealData, LlamaQuantizedTensorsMatchQ8Reference) {
  MiniGguf ref(model("tiny-llama-e256-q8_0.gguf"));
  struct File {
    const char* name;
  };
  for (const char* file : {"tiny-llama-e256-q4_0.gguf", "tiny-llama-e256-q4_k_m.gguf",
                           "tiny-llama-e256-q5_k_m.gguf", "tiny-llama-e256-q6_k.gguf"}) {
    MiniGguf g(model(file));
    int checked = 0;
    for (const auto& [name, t] : g.tensors()) {
      const DType dt = static_cast<DType>(t.type);
      if (dt == DType::F32) continue;
      const MiniTensor& r = ref.tensor(name);
      ASSERT_EQ(static_cast<DType>(r.type), DType::Q8_0) << name;
      const auto want = dequant_tensor(r);
      const auto got = dequant_tensor(t);
      double bound = 0;
      switch (dt) {
        case DType::Q4_0:
          bound = 0.12;
          break;
        case DType::Q4_K:
          bound = 0.10;
          break;
        case DType::Q5_K:
          bound = 0.05;
          break;
        case DType::Q6_K:
          bound = 0.03;
          break;
        default:
          FAIL() << "unexpected type " << t.type << " in " << file;
      }
      const double err = rel_rmse(got, want);
      EXPECT_LT(err, bound) << file << " " << name;
      checked++;
    }
    EXPECT_GE(checked, 15) << file;
  }
}

// Our reference quantizers are about as good as llama-quantize's: requantizing the same
// weights gives an error no more than 10% above the file's.
TEST(RealData, QuantizerQualityCloseToLlamaQuantize) {
  MiniGguf ref(model("tiny-llama-e256-q8_0.gguf"));
  for (const char* file : {"tiny-llama-e256-q4_0.gguf", "tiny-llama-e256-q4_k_m.gguf",
                           "tiny-llama-e256-q5_k_m.gguf", "tiny-llama-e256-q6_k.gguf"}) {
    MiniGguf g(model(file));
    double sum_theirs[64] = {}, sum_ours[64] = {};
    for (const auto& [name, t] : g.tensors()) {
      const DType dt = static_cast<DType>(t.type);
      if (dt == DType::F32) continue;
      const auto src = dequant_tensor(ref.tensor(name));
      const auto theirs = dequant_tensor(t);
      const auto ours = dequantize(dt, quantize(dt, src).data(), numel(t));
      sum_theirs[t.type] += rel_rmse(theirs, src);
      sum_ours[t.type] += rel_rmse(ours, src);
    }
    for (int ty = 0; ty < 64; ty++) {
      if (sum_theirs[ty] == 0) continue;
      std::printf("  %s %-5s llama-quantize %.5f ours %.5f\n", file, ops::type_info(ty)->name,
                  sum_theirs[ty], sum_ours[ty]);
      EXPECT_LT(sum_ours[ty], 1.10 * sum_theirs[ty]) << file << " type " << ty;
    }
  }
}

// gpt-oss experts: MXFP4 from llama-quantize vs the F32 source; the other matrices in Q8_0.
TEST(RealData, GptOssMxfp4AndQ8MatchF32Source) {
  MiniGguf f32(model("tiny-gptoss-e64-f32.gguf"));
  MiniGguf moe(model("tiny-gptoss-e64-mxfp4_moe.gguf"));
  int n_mxfp4 = 0, n_q8 = 0;
  for (const auto& [name, t] : moe.tensors()) {
    const DType dt = static_cast<DType>(t.type);
    if (dt != DType::MXFP4 && dt != DType::Q8_0) continue;
    const MiniTensor& src = f32.tensor(name);
    ASSERT_EQ(src.type, 0u) << name;
    ASSERT_EQ(numel(src), numel(t)) << name;
    const auto* sp = reinterpret_cast<const float*>(src.data);
    const std::vector<float> want(sp, sp + numel(src));
    const double err = rel_rmse(dequant_tensor(t), want);
    EXPECT_LT(err, dt == DType::MXFP4 ? 0.16 : 0.008) << name;
    (dt == DType::MXFP4 ? n_mxfp4 : n_q8)++;
  }
  EXPECT_GT(n_mxfp4, 0);
  EXPECT_GT(n_q8, 0);
}

}  // namespace
