// The model quantizer against llama-quantize's files: the same per-tensor types for every
// mix, and weights as close to the F32 source as the reference quantizer gets them.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "engine/gguf/gguf.h"
#include "engine/quant/quantize_model.h"
#include "ops/types.h"

namespace fs = std::filesystem;
using engine::quant::FileType;

namespace {

const std::string kShared = OLLAMA_SHARED_DIR;

// tiny-llama-e256-f32 is not stored: regenerate it with the README's command (shared with
// the reference-logit tests through the same fixture path).
std::string e256_f32() {
  const fs::path dir = fs::path(OLLAMA_BINARY_DIR) / "fixtures";
  fs::create_directories(dir);
  const fs::path out = dir / "tiny-llama-e256-f32.gguf";
  if (fs::exists(out)) return out.string();
  const fs::path tmp = dir / ("tiny-llama-e256-f32.tmp" + std::to_string(::getpid()));
  std::string cmd =
      "python3 " + kShared + "/tools/make_tiny_gguf.py --arch llama --vocab " + kShared +
      "/testdata/vocab/ggml-vocab-llama-spm.gguf --name tiny-llama-e256 --seed 101 "
      "--n-embd 256 --n-layer 2 --n-head 8 --n-head-kv 2 --n-ff 512 --rope-base 10000 --out " +
      tmp.string() + " > /dev/null";
  if (std::system(cmd.c_str()) != 0) return "";
  fs::rename(tmp, out);
  return out.string();
}

std::vector<float> dequant(const gguf::TensorInfo& t) {
  std::vector<float> v(static_cast<size_t>(t.n_elements()));
  if (t.type == 0) {
    std::memcpy(v.data(), t.data, v.size() * 4);
    return v;
  }
  const auto* k = ops::kernels(static_cast<ops::DType>(t.type), ops::Isa::kScalar);
  int64_t row = t.dims[0];
  size_t rb = ops::row_bytes(static_cast<ops::DType>(t.type), row);
  for (int64_t r = 0; r < t.n_elements() / row; r++)
    k->dequantize_row(t.data + r * rb, v.data() + r * row, row);
  return v;
}

double rel_rms(const std::vector<float>& a, const std::vector<float>& ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); i++) {
    num += (a[i] - ref[i]) * (a[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  return std::sqrt(num / std::max(den, 1e-30));
}

struct Mix {
  const char* type;
  const char* ref_file;
};

class QuantMix : public ::testing::TestWithParam<Mix> {};

}  // namespace

TEST_P(QuantMix, MatchesLlamaQuantizeTypesAndQuality) {
  std::string src = e256_f32();
  ASSERT_FALSE(src.empty()) << "could not regenerate the F32 source";
  auto ft = engine::quant::parse_file_type(GetParam().type);
  ASSERT_TRUE(ft);
  fs::path dst = fs::temp_directory_path() /
                 ("oc-quant-" + std::to_string(::getpid()) + "-" + GetParam().type + ".gguf");
  engine::quant::quantize_file(src, dst.string(), *ft, nullptr, 2);
  auto ours = gguf::File::open(dst.string());
  auto ref = gguf::File::open(kShared + "/testdata/models/" + GetParam().ref_file);
  auto f32 = gguf::File::open(src);
  EXPECT_EQ(ours->get_int("general.file_type", -1), ref->get_int("general.file_type", -2));
  ASSERT_EQ(ours->tensors().size(), ref->tensors().size());
  for (const auto& t : ref->tensors()) {
    const auto* o = ours->tensor(t.name);
    ASSERT_NE(o, nullptr) << t.name;
    EXPECT_EQ(ops::type_info(o->type)->name, std::string(ops::type_info(t.type)->name)) << t.name;
    if (t.type == 0) continue;
    auto src_v = dequant(*f32->tensor(t.name));
    double e_ours = rel_rms(dequant(*o), src_v), e_ref = rel_rms(dequant(t), src_v);
    // Our quantizer must be about as accurate as llama.cpp's reference one.
    EXPECT_LE(e_ours, e_ref * 1.05 + 1e-6) << t.name << " ours " << e_ours << " ref " << e_ref;
  }
  fs::remove(dst);
}

INSTANTIATE_TEST_SUITE_P(Mixes, QuantMix,
                         ::testing::Values(Mix{"Q8_0", "tiny-llama-e256-q8_0.gguf"},
                                           Mix{"q4_0", "tiny-llama-e256-q4_0.gguf"},
                                           Mix{"q4_K_M", "tiny-llama-e256-q4_k_m.gguf"},
                                           Mix{"Q5_K_M", "tiny-llama-e256-q5_k_m.gguf"},
                                           Mix{"Q6_K", "tiny-llama-e256-q6_k.gguf"}),
                         [](const auto& info) { return std::string(info.param.type); });

TEST(QuantChooser, LlamaCppMixRules) {
  engine::quant::ModelShape s;
  s.n_layer = 16;
  s.n_attn_v = 16;
  s.n_ffn_down = 16;
  s.n_gqa = 4;
  s.has_output = false;
  engine::quant::TypeChooser c(FileType::kQ4_K_M, s);
  std::vector<int64_t> m = {2048, 2048};
  EXPECT_EQ(*c.choose("token_embd.weight", {2048, 128256}), ops::DType::Q6_K);  // tied output
  EXPECT_FALSE(c.choose("blk.0.attn_norm.weight", {2048}).has_value());
  std::string v;
  for (int i = 0; i < 16; i++)
    v += ops::type_info(
             static_cast<uint32_t>(*c.choose("blk." + std::to_string(i) + ".attn_v.weight", m)))
             ->name[1];
  // use_more_bits(i, 16): i < 2, i >= 14, (i - 2) % 3 == 2 -> Q6_K ('6'), else Q4_K ('4').
  EXPECT_EQ(v, "6644644644644666");
  EXPECT_EQ(*c.choose("blk.0.attn_q.weight", m), ops::DType::Q4_K);
  // A row length that is not a multiple of 256 falls back as llama.cpp does.
  EXPECT_EQ(*c.choose("blk.0.ffn_up.weight", {2080, 64}), ops::DType::Q5_0);
  engine::quant::TypeChooser q2(FileType::kQ2_K, s);
  EXPECT_EQ(*q2.choose("blk.0.attn_v.weight", m), ops::DType::Q4_K);  // n_gqa >= 4
  EXPECT_EQ(*q2.choose("blk.0.attn_output.weight", m), ops::DType::Q3_K);
  EXPECT_EQ(*q2.choose("blk.0.ffn_down.weight", m), ops::DType::Q3_K);
  EXPECT_EQ(engine::quant::parse_file_type("q4_k"), FileType::kQ4_K_M);
  EXPECT_FALSE(engine::quant::parse_file_type("Q9_X").has_value());
}
