// Random corruption of a valid GGUF file: every mutant either opens or throws FormatError; no
// crash, no other exception, no huge allocation (run under ASan to check memory safety).
#include <gtest/gtest.h>

#include <random>

#include "engine/gguf/gguf.h"
#include "engine/gguf/writer.h"
#include "gguf_test_util.h"
#include "ops/types.h"

namespace {

using gguf::Value;
using gguf::ValueType;

std::vector<uint8_t> base_file(const gguf_test::ScratchDir& dir) {
  gguf::Writer w;
  w.set_string("general.architecture", "llama");
  w.set_u32("llama.block_count", 2);
  w.set("tokenizer.ggml.tokens", Value::of_strings({"<unk>", "<s>", "</s>", "a", "bc"}));
  w.set("tokenizer.ggml.scores", Value::of_f32s({0, 0, 0, -1.5f, -2}));
  w.set("nested", Value::of_array(ValueType::kArray,
                                  {Value::of_i32s({1, 2}), Value::of_array(ValueType::kBool, {})}));
  w.set_bool("flag", true);
  w.add_tensor("token_embd.weight", {32, 5}, uint32_t(ops::DType::Q8_0),
               std::vector<uint8_t>(34 * 5, 7));
  w.add_tensor("norm", {32}, uint32_t(ops::DType::F32), std::vector<uint8_t>(128, 1));
  w.add_tensor("blk.0.w", {256, 2}, uint32_t(ops::DType::Q4_K), std::vector<uint8_t>(288, 3));
  std::string p = dir.file("base.gguf");
  w.write(p);
  return gguf_test::read_bytes(p);
}

TEST(GgufFuzz, RandomByteMutations) {
  gguf_test::ScratchDir dir;
  const std::vector<uint8_t> base = base_file(dir);
  std::mt19937 rng(12345);
  std::string p = dir.file("mutant.gguf");
  int opened = 0, rejected = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::vector<uint8_t> m = base;
    // Mostly hit the header/metadata/tensor-info region, where structure lives.
    size_t header_end = std::min<size_t>(m.size(), 400);
    int n_mut = 1 + int(rng() % 4);
    for (int k = 0; k < n_mut; ++k) {
      size_t pos = (rng() % 4 == 0) ? rng() % m.size() : rng() % header_end;
      switch (rng() % 4) {
        case 0:
          m[pos] = uint8_t(rng());
          break;
        case 1:
          m[pos] ^= uint8_t(1u << (rng() % 8));
          break;
        case 2:
          m[pos] = 0xff;
          break;
        default:
          m[pos] = 0;
          break;
      }
    }
    if (rng() % 5 == 0) m.resize(rng() % m.size());
    gguf_test::write_bytes(p, m);
    try {
      auto f = gguf::File::open(p);
      ++opened;
      // Whatever opened must be internally consistent.
      for (const auto& t : f->tensors()) {
        ASSERT_LE(f->data_offset() + t.offset + t.n_bytes, f->file_size());
      }
    } catch (const gguf::FormatError& e) {
      ++rejected;
      ASSERT_EQ(std::string(e.what()).rfind(p + ": ", 0), 0u) << e.what();
    }
  }
  EXPECT_GT(rejected, 1000);
  EXPECT_GT(opened, 10);  // mutations in names/values/tensor data keep the file valid
}

}  // namespace
