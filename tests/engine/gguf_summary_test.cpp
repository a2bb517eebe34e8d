// Model summary helpers: Ollama's parameter-size strings, file type names, model_info.
#include <gtest/gtest.h>

#include "engine/gguf/summary.h"
#include "engine/gguf/writer.h"
#include "gguf_test_util.h"
#include "ops/types.h"

namespace {

using gguf::File;

const std::string kStories = gguf_test::shared_dir() + "/testdata/real/stories260K.gguf";
const std::string kModels = gguf_test::shared_dir() + "/testdata/models/";

TEST(GgufSummary, HumanNumber) {
  EXPECT_EQ(gguf::human_number(0), "0");
  EXPECT_EQ(gguf::human_number(999), "999");
  EXPECT_EQ(gguf::human_number(1000), "1K");
  EXPECT_EQ(gguf::human_number(1500), "2K");
  EXPECT_EQ(gguf::human_number(292800), "293K");
  EXPECT_EQ(gguf::human_number(1000000), "1M");
  EXPECT_EQ(gguf::human_number(1234567), "1.23M");
  EXPECT_EQ(gguf::human_number(22000000), "22M");
  EXPECT_EQ(gguf::human_number(137000000), "137M");
  EXPECT_EQ(gguf::human_number(136727040), "136.73M");
  EXPECT_EQ(gguf::human_number(567000123), "567.00M");
  EXPECT_EQ(gguf::human_number(999999999), "1000.00M");
  EXPECT_EQ(gguf::human_number(1000000000), "1B");
  EXPECT_EQ(gguf::human_number(8030261248), "8.0B");
  EXPECT_EQ(gguf::human_number(3212749824), "3.2B");
  EXPECT_EQ(gguf::human_number(7000000000), "7B");
  EXPECT_EQ(gguf::human_number(20914757184), "20.9B");
  EXPECT_EQ(gguf::human_number(671000000000), "671B");
}

TEST(GgufSummary, FileTypeNames) {
  EXPECT_EQ(gguf::file_type_name(0), "F32");
  EXPECT_EQ(gguf::file_type_name(1), "F16");
  EXPECT_EQ(gguf::file_type_name(2), "Q4_0");
  EXPECT_EQ(gguf::file_type_name(4), "unknown");
  EXPECT_EQ(gguf::file_type_name(7), "Q8_0");
  EXPECT_EQ(gguf::file_type_name(15), "Q4_K_M");
  EXPECT_EQ(gguf::file_type_name(14), "Q4_K_S");
  EXPECT_EQ(gguf::file_type_name(21), "Q2_K_S");
  EXPECT_EQ(gguf::file_type_name(31), "IQ1_M");
  EXPECT_EQ(gguf::file_type_name(32), "BF16");
  EXPECT_EQ(gguf::file_type_name(34), "unknown");
  EXPECT_EQ(gguf::file_type_name(36), "TQ1_0");
  EXPECT_EQ(gguf::file_type_name(38), "MXFP4_MOE");
  EXPECT_EQ(gguf::file_type_name(40), "Q1_0");
  EXPECT_EQ(gguf::file_type_name(41), "unknown");
  EXPECT_EQ(gguf::file_type_name(-1), "unknown");
  EXPECT_EQ(gguf::tensor_type_name(uint32_t(ops::DType::Q4_K)), "Q4_K");
  EXPECT_EQ(gguf::tensor_type_name(uint32_t(ops::DType::MXFP4)), "MXFP4");
  EXPECT_EQ(gguf::tensor_type_name(uint32_t(ops::DType::BF16)), "BF16");
  EXPECT_EQ(gguf::tensor_type_name(4), "unknown");
}

TEST(GgufSummary, ModelFileTypes) {
  struct Case {
    const char* file;
    const char* type;
  };
  for (const Case& c :
       {Case{"tiny-llama-e256-q4_k_m.gguf", "Q4_K_M"},
        Case{"tiny-llama-e256-q5_k_m.gguf", "Q5_K_M"}, Case{"tiny-llama-e256-q8_0.gguf", "Q8_0"},
        Case{"tiny-llama-e64-f16.gguf", "F16"}, Case{"tiny-llama-e64-bf16.gguf", "BF16"},
        Case{"tiny-gptoss-e64-mxfp4_moe.gguf", "MXFP4_MOE"},
        Case{"tiny-llama-e64-f32.gguf", "unknown"}}) {
    EXPECT_EQ(gguf::model_file_type(*File::open_metadata(kModels + c.file)), c.type) << c.file;
  }
  EXPECT_EQ(gguf::model_file_type(*File::open(kStories)), "unknown");  // no general.file_type
}

TEST(GgufSummary, Stories260K) {
  auto f = File::open(kStories);
  // llama2.c stories260K: dim 64, hidden 172, 5 layers, kv dim 32, vocab 512, untied output.
  const uint64_t per_layer = 64 + 64 * 64 + 64 * 32 * 2 + 64 * 64 + 64 + 3 * 64 * 172;
  const uint64_t expected = 5 * per_layer + 2 * 64 * 512 + 64;
  EXPECT_EQ(gguf::parameter_count(*f), expected);
  EXPECT_EQ(gguf::parameter_size(*f), "293K");
  gguf::Summary s = gguf::summarize(*f);
  EXPECT_EQ(s.architecture, "llama");
  EXPECT_EQ(s.parameter_count, expected);
  EXPECT_EQ(s.parameter_size, "293K");
  EXPECT_EQ(s.file_type, "unknown");
  EXPECT_EQ(s.context_length, 2048);
  EXPECT_EQ(s.embedding_length, 64);
}

TEST(GgufSummary, ModelInfo) {
  auto f = File::open(kModels + "tiny-llama-e64-f16.gguf");
  ASSERT_TRUE(f->has("general.name"));
  auto info = gguf::model_info(*f, false);
  auto find = [&](const std::string& k) -> const gguf::Value* {
    for (const auto& [key, v] : info) {
      if (key == k) return &v;
    }
    return nullptr;
  };
  EXPECT_EQ(find("general.name"), nullptr);
  EXPECT_EQ(find("tokenizer.chat_template"), nullptr);
  ASSERT_NE(find("general.parameter_count"), nullptr);
  EXPECT_EQ(find("general.parameter_count")->u, gguf::parameter_count(*f));
  EXPECT_EQ(find("general.parameter_count")->type, gguf::ValueType::kUint64);
  const gguf::Value* tokens = find("tokenizer.ggml.tokens");
  ASSERT_NE(tokens, nullptr);
  EXPECT_EQ(tokens->type, gguf::ValueType::kArray);
  EXPECT_TRUE(tokens->array.empty());
  EXPECT_EQ(find("llama.embedding_length")->as_int(), 64);
  EXPECT_EQ(find("general.architecture")->s, "llama");

  auto verbose = gguf::model_info(*f, true);
  size_t n_tokens = 0;
  for (const auto& [key, v] : verbose) {
    if (key == "tokenizer.ggml.tokens") n_tokens = v.array.size();
  }
  EXPECT_EQ(n_tokens, 32000u);
  EXPECT_EQ(verbose.size(), info.size());
}

TEST(GgufSummary, ModelInfoKeepsShortArraysAndReplacesStoredCount) {
  gguf_test::ScratchDir dir;
  gguf::Writer w;
  w.set_string("general.architecture", "test");
  w.set_u64("general.parameter_count", 999);
  w.set("short", gguf::Value::of_i32s({1, 2, 3, 4, 5}));
  w.set("long", gguf::Value::of_i32s({1, 2, 3, 4, 5, 6}));
  w.set_string("tokenizer.chat_template", "{{ x }}");
  w.add_tensor("a", {4, 3}, uint32_t(ops::DType::F32), std::vector<uint8_t>(48));
  w.add_tensor("b", {32, 2}, uint32_t(ops::DType::Q8_0), std::vector<uint8_t>(68));
  std::string p = dir.file("m.gguf");
  w.write(p);
  auto f = File::open(p);
  auto info = gguf::model_info(*f, false);
  ASSERT_EQ(info.size(), 4u);
  EXPECT_EQ(info[0].first, "general.architecture");
  EXPECT_EQ(info[1].first, "general.parameter_count");
  EXPECT_EQ(info[1].second.u, 12u + 64u);
  EXPECT_EQ(info[2].second.array.size(), 5u);
  EXPECT_TRUE(info[3].second.array.empty());
  EXPECT_EQ(info[3].second.array_type, gguf::ValueType::kInt32);
}

}  // namespace
