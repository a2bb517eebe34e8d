// `create -q mxfp4` (MXFP4_MOE) against llama-quantize's file of the same tiny gpt-oss model:
// every tensor's type, shape and bytes; and the K-quant mixes on a MoE model (3-D expert
// stacks quantized slice by slice, the router never quantized, llama.cpp's expert rules).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "create/quantize.h"
#include "engine/gguf/gguf.h"
#include "engine/quant/quantize_model.h"
#include "ops/types.h"
#include "util/error.h"

namespace fs = std::filesystem;
using engine::quant::FileType;
using ops::DType;

namespace {

const std::string kModels = std::string(OLLAMA_SHARED_DIR) + "/testdata/models/";

fs::path temp_gguf(const std::string& tag) {
  return fs::temp_directory_path() /
         ("oc-quant-mxfp4-" + std::to_string(::getpid()) + "-" + tag + ".gguf");
}

size_t tensor_bytes(const gguf::TensorInfo& t) {
  return ops::row_bytes(static_cast<DType>(t.type), t.dims[0]) *
         static_cast<size_t>(t.n_elements() / t.dims[0]);
}

std::vector<float> dequant(const gguf::TensorInfo& t) {
  std::vector<float> v(static_cast<size_t>(t.n_elements()));
  const int64_t row = t.dims[0];
  const auto* k = ops::kernels(static_cast<DType>(t.type), ops::Isa::kScalar);
  const size_t rb = ops::row_bytes(static_cast<DType>(t.type), row);
  for (int64_t r = 0; r < t.n_elements() / row; r++)
    k->dequantize_row(t.data + r * rb, v.data() + r * row, row);
  return v;
}

const char* tname(uint32_t t) { return ops::type_info(t)->name; }

}  // namespace

TEST(QuantizeMxfp4, NamesAreAcceptedCaseInsensitively) {
  for (const char* n : {"mxfp4", "MXFP4", "Mxfp4", "MXFP4_MOE", "mxfp4_moe"})
    EXPECT_EQ(create::normalize_quantize_type(n), "MXFP4_MOE") << n;
  EXPECT_EQ(engine::quant::parse_file_type("mxfp4"), FileType::kMXFP4_MOE);
  EXPECT_THROW(create::normalize_quantize_type("mxfp8"), util::Error);
}

// Byte-identical to llama-quantize: Q8_0 is the same round-to-nearest quantizer, and the MXFP4
// quantizer uses llama.cpp's rule (e = floor(log2 amax) - 2 + 127, nearest table entry by
// |T[c] * d - x|, first code on ties).
TEST(QuantizeMxfp4, MatchesLlamaQuantizeTypesAndBytes) {
  const std::string src = kModels + "tiny-gptoss-e64-f32.gguf";
  const fs::path dst = temp_gguf("moe");
  const std::string type = create::normalize_quantize_type("mxfp4");
  create::quantize_gguf(src, dst.string(), type, nullptr);
  auto ours = gguf::File::open(dst.string());
  auto ref = gguf::File::open(kModels + "tiny-gptoss-e64-mxfp4_moe.gguf");
  EXPECT_EQ(ours->get_int("general.file_type", -1), 38);
  EXPECT_EQ(ref->get_int("general.file_type", -2), 38);
  ASSERT_EQ(ours->tensors().size(), ref->tensors().size());
  int n_mxfp4 = 0, n_q8 = 0;
  for (const auto& t : ref->tensors()) {
    const auto* o = ours->tensor(t.name);
    ASSERT_NE(o, nullptr) << t.name;
    ASSERT_EQ(o->dims, t.dims) << t.name;
    ASSERT_EQ(std::string(tname(o->type)), tname(t.type)) << t.name;
    n_mxfp4 += t.type == static_cast<uint32_t>(DType::MXFP4);
    n_q8 += t.type == static_cast<uint32_t>(DType::Q8_0);
    if (t.name.find("ffn_gate_inp") != std::string::npos) {
      EXPECT_EQ(o->type, 0u) << t.name;
    }
    const size_t bytes = tensor_bytes(t);
    size_t diff = 0;
    for (size_t i = 0; i < bytes; i++) diff += o->data[i] != t.data[i];
    EXPECT_EQ(diff, 0u) << t.name << " (" << tname(t.type) << "): " << diff << " of " << bytes
                        << " bytes differ";
  }
  EXPECT_EQ(n_mxfp4, 12);  // ffn_{gate,up,down}_exps of 4 layers
  EXPECT_GT(n_q8, 0);
  fs::remove(dst);
}

// The MXFP4 rule's corners: zero blocks get e = 0, ties take the first code, values above the
// top level clip to +-12 (codes 7 / 15), and -0 is code 0.
TEST(QuantizeMxfp4, ReferenceRuleCorners) {
  const auto& k = *ops::kernels(DType::MXFP4, ops::Isa::kScalar);
  std::vector<float> x(64, 0.0f);
  x[32] = 4.0f;   // amax 4: e = 2 - 2 + 127 = 127, d = 0.5 (levels 0 .. 6 in steps of T)
  x[33] = 0.75f;  // 1.5 d: ties T=1 (0.5) and T=2 (1.0) -> first, code 1
  x[34] = -0.0f;
  x[35] = 3.5f;    // 7 d: ties T=6 (3.0) and T=8 (4.0) -> first, code 5
  x[36] = -1.25f;  // -2.5 d: ties -2 and -3 -> first of codes 10 (-2) and 11 (-3): 10
  uint8_t q[2 * 17];
  k.quantize_row(x.data(), q, 64);
  EXPECT_EQ(q[0], 0);  // all-zero block
  for (int j = 1; j < 17; j++) EXPECT_EQ(q[j], 0);
  const uint8_t* b = q + 17;
  EXPECT_EQ(b[0], 127);
  auto code = [&](int j) { return j < 16 ? b[1 + j] & 0xf : b[1 + j - 16] >> 4; };
  EXPECT_EQ(code(0), 6);   // 4.0 = 8 * 0.5
  EXPECT_EQ(code(1), 1);   // tie 1 vs 2 -> 1
  EXPECT_EQ(code(2), 0);   // -0 -> +0
  EXPECT_EQ(code(3), 5);   // tie 6 vs 8 -> 6 (code 5)
  EXPECT_EQ(code(4), 10);  // tie -2 vs -3 -> -2 (code 10)
  // amax 7.9 sits in [4, 8): d = 0.5 again, so 7.9 clips to 12 * 0.5 = 6 (code 7).
  x[32] = 7.9f;
  k.quantize_row(x.data(), q, 64);
  EXPECT_EQ(b[0], 127);
  EXPECT_EQ(code(0), 7);
}

// K-quant mixes on the MoE model: the 3-D expert stacks are quantized row by row (each expert
// a 2-D slice), keep their shape, and stay as accurate as the same type on a 2-D matrix; the
// router stays F32.
TEST(QuantizeMxfp4, KQuantMixesHandleExpertStacks) {
  const std::string src = kModels + "tiny-gptoss-e64-f32.gguf";
  auto f32 = gguf::File::open(src);
  for (FileType ft : {FileType::kQ8_0, FileType::kQ4_K_M, FileType::kQ4_0}) {
    const fs::path dst = temp_gguf(engine::quant::file_type_name(ft));
    engine::quant::quantize_file(src, dst.string(), ft, nullptr, 2);
    auto ours = gguf::File::open(dst.string());
    int n_exps = 0;
    for (const auto& t : f32->tensors()) {
      const auto* o = ours->tensor(t.name);
      ASSERT_NE(o, nullptr) << t.name;
      ASSERT_EQ(o->dims, t.dims) << t.name;
      if (t.name.find("ffn_gate_inp") != std::string::npos || t.dims.size() < 2) {
        EXPECT_EQ(o->type, 0u) << t.name;
        continue;
      }
      if (t.dims.size() != 3) continue;
      n_exps++;
      EXPECT_NE(o->type, 0u) << t.name;
      const auto got = dequant(*o);
      std::vector<float> want(got.size());
      std::memcpy(want.data(), t.data, want.size() * 4);
      double num = 0, den = 0;
      for (size_t i = 0; i < got.size(); i++) {
        num += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
        den += double(want[i]) * want[i];
      }
      // Q8_0 ~0.4 %, the 4-5 bit types 3-8 % relative RMS on Gaussian weights.
      EXPECT_LT(std::sqrt(num / den), ft == FileType::kQ8_0 ? 0.01 : 0.1)
          << t.name << " " << tname(o->type);
    }
    EXPECT_EQ(n_exps, 12);
    fs::remove(dst);
  }
}

// llama.cpp's expert rules in the K-quant mixes: with 8 experts attn_v and attn_k go to Q8_0
// and attn_output to Q5_K; ffn_down's layer comes from the tensor name, out of n_layer.
TEST(QuantizeMxfp4, ChooserFollowsLlamaCppExpertRules) {
  engine::quant::ModelShape s;
  s.n_layer = 16;
  s.n_attn_v = 16;
  s.n_ffn_down = 32;  // ffn_down_exps + ffn_down_shexp per layer: not the layer count
  s.n_gqa = 4;
  s.n_expert = 8;
  const std::vector<int64_t> m = {2048, 2048}, e = {2048, 1024, 8};
  engine::quant::TypeChooser c(FileType::kQ4_K_M, s);
  EXPECT_EQ(*c.choose("blk.5.attn_v.weight", m), DType::Q8_0);
  EXPECT_EQ(*c.choose("blk.5.attn_k.weight", m), DType::Q8_0);
  EXPECT_EQ(*c.choose("blk.5.attn_output.weight", m), DType::Q5_K);
  EXPECT_EQ(*c.choose("blk.5.attn_q.weight", m), DType::Q4_K);
  EXPECT_FALSE(c.choose("blk.5.ffn_gate_inp.weight", {2048, 8}).has_value());
  // use_more_bits(layer, 16): layers 0, 1, 4, 7, 10, 13, 14, 15 -> Q6_K, whatever the order.
  std::string v;
  for (int i : {15, 0, 4, 5, 13, 2}) {
    v += tname(static_cast<uint32_t>(
        *c.choose("blk." + std::to_string(i) + ".ffn_down_exps.weight", {1024, 2048, 8})))[1];
  }
  EXPECT_EQ(v, "666464");
  EXPECT_EQ(*c.choose("blk.3.ffn_up_exps.weight", e), DType::Q4_K);
  EXPECT_THROW(c.choose("ffn_down_exps.weight", e), util::Error);

  // MXFP4_MOE: experts MXFP4, other matrices Q8_0 (output and token_embd too).
  s.has_output = false;
  engine::quant::TypeChooser x(FileType::kMXFP4_MOE, s);
  EXPECT_EQ(*x.choose("token_embd.weight", {2048, 1000}), DType::Q8_0);
  EXPECT_EQ(*x.choose("blk.0.ffn_down_exps.weight", e), DType::MXFP4);
  EXPECT_EQ(*x.choose("blk.0.ffn_down_shexp.weight", m), DType::Q8_0);
  EXPECT_EQ(*x.choose("blk.0.attn_v.weight", m), DType::Q8_0);
  EXPECT_FALSE(x.choose("blk.0.ffn_gate_inp.weight", {2048, 8}).has_value());
  EXPECT_FALSE(x.choose("blk.0.attn_sinks.weight", {64}).has_value());
}
