// GGUF reader: real files parse with the documented facts; corrupt files give FormatError.
#include <gtest/gtest.h>

#include <filesystem>

#include "api/status.h"
#include "engine/gguf/gguf.h"
#include "gguf_test_util.h"
#include "ops/types.h"

namespace {

using gguf::File;
using gguf::FormatError;
using gguf_test::Bytes;
using gguf_test::ScratchDir;

const std::string kStories = gguf_test::shared_dir() + "/testdata/real/stories260K.gguf";
const std::string kModels = gguf_test::shared_dir() + "/testdata/models/";

// Expects open() to throw FormatError whose message starts with the path and contains `what`.
void expect_format_error(const std::string& path, const std::string& what) {
  try {
    File::open(path);
    ADD_FAILURE() << path << ": opened without error, expected: " << what;
  } catch (const FormatError& e) {
    std::string m = e.what();
    EXPECT_EQ(m.rfind(path + ": ", 0), 0u) << m;
    EXPECT_NE(m.find(what), std::string::npos) << "message: " << m << "\nexpected: " << what;
    EXPECT_EQ(api::http_status(e.kind()), 400);
  }
}

TEST(GgufReader, Stories260K) {
  auto f = File::open(kStories);
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->metadata().size(), 19u);
  EXPECT_EQ(f->tensors().size(), 48u);
  EXPECT_EQ(f->alignment(), 32u);
  EXPECT_EQ(f->data_offset(), 14176u);
  EXPECT_EQ(f->file_size(), 1185376u);
  EXPECT_EQ(f->architecture(), "llama");
  // tokenizer.* keys come before general.architecture in this file.
  EXPECT_EQ(f->metadata()[0].first.rfind("tokenizer.", 0), 0u);
  EXPECT_EQ(f->get_int("llama.embedding_length", 0), 64);
  EXPECT_EQ(f->get_int("llama.feed_forward_length", 0), 172);
  EXPECT_EQ(f->get_int("llama.block_count", 0), 5);
  EXPECT_EQ(f->get_int("llama.attention.head_count", 0), 8);
  EXPECT_EQ(f->get_int("llama.attention.head_count_kv", 0), 4);
  EXPECT_EQ(f->get_int("llama.context_length", 0), 2048);
  EXPECT_EQ(f->get_int("llama.rope.dimension_count", 0), 8);
  EXPECT_NEAR(*f->get_float("llama.attention.layer_norm_rms_epsilon"), 1e-5, 1e-12);
  EXPECT_FALSE(f->has("general.file_type"));
  EXPECT_FALSE(f->get_int("general.alignment").has_value());
  EXPECT_EQ(f->get_string("tokenizer.ggml.model", ""), "llama");
  EXPECT_EQ(f->get_int("tokenizer.ggml.seperator_token_id", 0), 4294967295);
  EXPECT_EQ(f->get_int("tokenizer.ggml.bos_token_id", -1), 1);

  auto tokens = f->get_string_array("tokenizer.ggml.tokens");
  ASSERT_EQ(tokens.size(), 512u);
  EXPECT_EQ(tokens[0], "<unk>");
  EXPECT_EQ(tokens[1], "<s>");
  EXPECT_EQ(tokens[3], "<0x00>");
  EXPECT_EQ(tokens[258], "<0xFF>");
  auto types = f->get_int_array("tokenizer.ggml.token_type");
  ASSERT_EQ(types.size(), 512u);
  EXPECT_EQ(types[0], 2);
  EXPECT_EQ(types[1], 3);
  EXPECT_EQ(types[13], 6);
  EXPECT_EQ(f->get_float_array("tokenizer.ggml.scores").size(), 512u);

  const gguf::TensorInfo* emb = f->tensor("token_embd.weight");
  ASSERT_NE(emb, nullptr);
  EXPECT_EQ(emb->dims, (std::vector<int64_t>{64, 512}));
  EXPECT_EQ(emb->type, uint32_t(ops::DType::F32));
  EXPECT_EQ(emb->n_bytes, 64u * 512 * 4);
  EXPECT_EQ(emb->n_elements(), 64 * 512);
  EXPECT_EQ(emb->data, f->data_section() + emb->offset);
  // output.weight is a byte-identical copy of token_embd.weight.
  const gguf::TensorInfo* out = f->tensor("output.weight");
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(std::memcmp(out->data, emb->data, emb->n_bytes), 0);
  const gguf::TensorInfo* up = f->tensor("blk.4.ffn_up.weight");
  ASSERT_NE(up, nullptr);
  EXPECT_EQ(up->dims, (std::vector<int64_t>{64, 172}));
  EXPECT_EQ(f->tensor("blk.5.ffn_up.weight"), nullptr);

  // The last tensor ends exactly at EOF.
  uint64_t end = 0;
  int64_t params = 0;
  for (const auto& t : f->tensors()) {
    end = std::max(end, t.offset + t.n_bytes);
    params += t.n_elements();
  }
  EXPECT_EQ(f->data_offset() + end, f->file_size());
  EXPECT_GT(params, 250000);
  EXPECT_LT(params, 320000);
}

TEST(GgufReader, ReleaseArraysDropsOnlyMatchingArrays) {
  auto f = gguf::File::open(kStories);
  const size_t n_before = f->metadata().size();
  ASSERT_TRUE(f->has("tokenizer.ggml.tokens"));
  ASSERT_TRUE(f->has("tokenizer.ggml.model"));  // a string under the same prefix
  const int64_t bos = f->get_int("tokenizer.ggml.bos_token_id", -1);
  const size_t dropped = f->release_arrays("tokenizer.ggml.");
  EXPECT_GE(dropped, 2u);  // tokens, scores, token_type
  EXPECT_EQ(f->metadata().size(), n_before - dropped);
  EXPECT_FALSE(f->has("tokenizer.ggml.tokens"));
  EXPECT_FALSE(f->has("tokenizer.ggml.scores"));
  EXPECT_EQ(f->get_string("tokenizer.ggml.model", ""), "llama");  // scalars stay, index rebuilt
  EXPECT_EQ(f->get_int("tokenizer.ggml.bos_token_id", -1), bos);
  EXPECT_EQ(f->architecture(), "llama");
  for (const auto& [key, value] : f->metadata()) EXPECT_EQ(f->find(key), &value) << key;
  EXPECT_EQ(f->release_arrays("tokenizer.ggml."), 0u);
  EXPECT_NE(f->tensor("token_embd.weight"), nullptr);
}

TEST(GgufReader, TypedGetterErrorsNameKeyAndFile) {
  auto f = File::open(kStories);
  try {
    f->get_int("general.architecture");
    FAIL() << "no throw";
  } catch (const FormatError& e) {
    std::string m = e.what();
    EXPECT_EQ(m.rfind(kStories, 0), 0u);
    EXPECT_NE(m.find("'general.architecture' is string, expected an integer"), std::string::npos)
        << m;
  }
  EXPECT_THROW(f->get_string("llama.block_count"), FormatError);
  EXPECT_THROW(f->get_string_array("tokenizer.ggml.scores"), FormatError);
  EXPECT_THROW(f->get_int_array("tokenizer.ggml.scores"), FormatError);  // floats, not ints
  EXPECT_THROW(f->get_float_array("general.architecture"), FormatError);
  EXPECT_EQ(f->get_float("llama.block_count", 0), 5.0);  // float getters take integers
  EXPECT_FALSE(f->get_string("no.such.key").has_value());
  EXPECT_EQ(f->get_string("no.such.key", "dflt"), "dflt");
  EXPECT_TRUE(f->get_string_array("no.such.key").empty());
}

TEST(GgufReader, OpenMetadataDropsMapping) {
  auto f = File::open_metadata(kStories);
  EXPECT_EQ(f->tensors().size(), 48u);
  EXPECT_EQ(f->data_section(), nullptr);
  EXPECT_EQ(f->tensor("output_norm.weight")->data, nullptr);
  EXPECT_EQ(f->file_size(), 1185376u);
  EXPECT_EQ(f->get_int("llama.block_count", 0), 5);
}

struct ModelFact {
  const char* file;
  const char* arch;
  size_t n_tensors;
  int64_t file_type;  // -1: key absent
};

TEST(GgufReader, TinyModels) {
  const ModelFact facts[] = {
      {"tiny-llama-e64-f32.gguf", "llama", 2 + 4 * 9, 0},
      {"tiny-llama-e64-f16.gguf", "llama", 2 + 4 * 9, 1},
      {"tiny-llama-e64-bf16.gguf", "llama", 2 + 4 * 9, 32},
      {"tiny-llama-e256-q8_0.gguf", "llama", 2 + 2 * 9, 7},
      {"tiny-llama-e256-q4_0.gguf", "llama", 2 + 2 * 9, 2},
      {"tiny-llama-e256-q4_k_m.gguf", "llama", 2 + 2 * 9, 15},
      {"tiny-llama-e256-q5_k_m.gguf", "llama", 2 + 2 * 9, 17},
      {"tiny-llama-e256-q6_k.gguf", "llama", 2 + 2 * 9, 18},
      {"tiny-qwen2-e64-f32.gguf", "qwen2", 0, -2},
      {"tiny-phi3-e64-f32.gguf", "phi3", 0, -2},
      {"tiny-gemma-e64-f32.gguf", "gemma", 0, -2},
      {"tiny-qwen3-e64-f32.gguf", "qwen3", 0, -2},
      {"tiny-gemma2-e64-f32.gguf", "gemma2", 0, -2},
      {"tiny-gemma3-e64-f32.gguf", "gemma3", 0, -2},
      {"tiny-gptoss-e64-f32.gguf", "gpt-oss", 0, -2},
      {"tiny-gptoss-e64-mxfp4_moe.gguf", "gpt-oss", 0, 38},
      {"tiny-gptoss-e64-mxfp4_experts_only.gguf", "gpt-oss", 0, 38},
      {"tiny-bert-e64.gguf", "bert", 0, -2},
      {"tiny-nomic-bert-e64.gguf", "nomic-bert", 0, -2},
  };
  for (const ModelFact& m : facts) {
    SCOPED_TRACE(m.file);
    auto f = File::open(kModels + m.file);
    EXPECT_EQ(f->version(), 3u);
    EXPECT_EQ(f->architecture(), m.arch);
    if (m.n_tensors) {
      EXPECT_EQ(f->tensors().size(), m.n_tensors);
    }
    if (m.file_type != -2) {
      EXPECT_EQ(f->get_int("general.file_type", -1), m.file_type);
    }
    // Every tensor lies inside the file and its size matches its type.
    for (const auto& t : f->tensors()) {
      const ops::TypeInfo* ti = ops::type_info(t.type);
      ASSERT_NE(ti, nullptr);
      EXPECT_EQ(t.n_bytes, uint64_t(t.n_elements() / ti->block_size) * ti->block_bytes);
      EXPECT_LE(f->data_offset() + t.offset + t.n_bytes, f->file_size());
    }
  }
}

// The vocab-only GGUFs (written by llama.cpp's converters) hold the biggest metadata arrays.
TEST(GgufReader, VocabFiles) {
  int n_files = 0;
  for (const auto& e :
       std::filesystem::directory_iterator(gguf_test::shared_dir() + "/testdata/vocab")) {
    if (e.path().extension() != ".gguf") continue;
    SCOPED_TRACE(e.path().string());
    ++n_files;
    auto f = File::open(e.path().string());
    auto tokens = f->get_string_array("tokenizer.ggml.tokens");
    EXPECT_GT(tokens.size(), 1000u);
    EXPECT_EQ(f->get_int_array("tokenizer.ggml.token_type").size(), tokens.size());
    EXPECT_FALSE(f->get_string("tokenizer.ggml.model", "").empty());
  }
  EXPECT_GE(n_files, 10);
  auto bpe = File::open(gguf_test::shared_dir() + "/testdata/vocab/ggml-vocab-llama-bpe.gguf");
  EXPECT_EQ(bpe->get_string_array("tokenizer.ggml.tokens").size(), 128256u);
  EXPECT_EQ(bpe->get_string("tokenizer.ggml.model", ""), "gpt2");
  EXPECT_GT(bpe->get_string_array("tokenizer.ggml.merges").size(), 200000u);
}

TEST(GgufReader, QuantizedTensorTypes) {
  auto f = File::open(kModels + "tiny-llama-e256-q4_k_m.gguf");
  EXPECT_EQ(f->tensor("token_embd.weight")->type, uint32_t(ops::DType::Q6_K));
  EXPECT_EQ(f->tensor("blk.1.attn_v.weight")->type, uint32_t(ops::DType::Q6_K));
  EXPECT_EQ(f->tensor("blk.1.ffn_down.weight")->type, uint32_t(ops::DType::Q6_K));
  EXPECT_EQ(f->tensor("blk.0.attn_q.weight")->type, uint32_t(ops::DType::Q4_K));
  EXPECT_EQ(f->tensor("blk.0.attn_q.weight")->n_bytes, 256u / 256 * 144 * 256);
  EXPECT_EQ(f->tensor("output_norm.weight")->type, uint32_t(ops::DType::F32));
  EXPECT_EQ(f->tensor("output.weight"), nullptr);

  auto g = File::open(kModels + "tiny-gptoss-e64-mxfp4_moe.gguf");
  const gguf::TensorInfo* exps = g->tensor("blk.0.ffn_gate_exps.weight");
  ASSERT_NE(exps, nullptr);
  EXPECT_EQ(exps->type, uint32_t(ops::DType::MXFP4));
  EXPECT_EQ(exps->dims, (std::vector<int64_t>{64, 128, 4}));
  EXPECT_EQ(exps->n_bytes, 64u / 32 * 17 * 128 * 4);
  EXPECT_EQ(g->tensor("blk.0.ffn_gate_inp.weight")->type, uint32_t(ops::DType::F32));
  EXPECT_EQ(g->tensor("blk.0.attn_q.weight")->type, uint32_t(ops::DType::Q8_0));
}

TEST(GgufReader, LegacyVersion1FileIsRejected) {
  std::string path =
      gguf_test::shared_dir() + "/testdata/real/legacy/tinyllamas-stories-260k-f32.ggufv1.gguf";
  expect_format_error(path, "GGUF version 1 is not supported");
}

TEST(GgufReader, MissingFileIsAnError) {
  EXPECT_THROW(File::open("/nonexistent/dir/model.gguf"), util::Error);
}

// A valid small file: 2 kvs, 2 F32 tensors of 8 floats each.
Bytes small_file() {
  Bytes b;
  b.header(3, 2, 2).kv_str("general.architecture", "llama").kv_u32("llama.block_count", 1);
  b.tensor("a", {8}, 0, 0).tensor("b", {4, 2}, 0, 32);
  b.pad_to(32);
  for (int k = 0; k < 16; ++k) b.put<float>(float(k));
  return b;
}

TEST(GgufReader, SmallCraftedFileParses) {
  ScratchDir dir;
  std::string p = dir.file("ok.gguf");
  gguf_test::write_bytes(p, small_file().data);
  auto f = File::open(p);
  ASSERT_EQ(f->tensors().size(), 2u);
  EXPECT_EQ(f->tensor("b")->dims, (std::vector<int64_t>{4, 2}));
  EXPECT_EQ(reinterpret_cast<const float*>(f->tensor("b")->data)[3], 11.0f);
}

TEST(GgufReader, EveryTruncationIsAFormatError) {
  ScratchDir dir;
  std::vector<uint8_t> full = small_file().data;
  std::string p = dir.file("trunc.gguf");
  gguf_test::write_bytes(p, full);
  for (size_t n = full.size(); n-- > 0;) {
    std::filesystem::resize_file(p, n);
    try {
      File::open(p);
      ADD_FAILURE() << "truncated at " << n << " of " << full.size() << " opened";
    } catch (const FormatError& e) {
      EXPECT_EQ(std::string(e.what()).rfind(p + ": ", 0), 0u) << e.what();
    }
  }
}

TEST(GgufReader, TruncatedRealFile) {
  ScratchDir dir;
  std::vector<uint8_t> full = gguf_test::read_bytes(kStories);
  std::string p = dir.file("trunc.gguf");
  gguf_test::write_bytes(p, full);
  // A stride through the tensor data, then every 7th offset of the header and metadata.
  std::vector<size_t> cuts = {full.size() - 1};
  for (size_t n = full.size() - 2; n > 14200; n -= std::min<size_t>(n - 14200, 40961)) {
    cuts.push_back(n);
  }
  for (size_t n = 14200; n >= 7; n -= 7) cuts.push_back(n);
  for (size_t n : cuts) {
    std::filesystem::resize_file(p, n);
    EXPECT_THROW(File::open(p), FormatError) << "cut at " << n;
  }
}

struct BadCase {
  const char* name;
  Bytes bytes;
  const char* message;
};

std::vector<BadCase> bad_cases() {
  std::vector<BadCase> v;
  v.push_back({"empty", Bytes(), "too small to be a GGUF file"});
  v.push_back({"bad_magic", Bytes().raw("GGUX").u32(3).u64(0).u64(0), "not a GGUF file"});
  v.push_back({"ggjt", Bytes().raw("tjgg").u32(3).u64(0).u64(0), "legacy GGJT"});
  v.push_back({"version1", Bytes().header(1, 0, 0), "GGUF version 1 is not supported"});
  v.push_back({"version4", Bytes().header(4, 0, 0), "unsupported GGUF version 4"});
  v.push_back({"big_endian", Bytes().raw("GGUF").u32(0x03000000).u64(0).u64(0), "big-endian"});
  v.push_back({"huge_kv_count", Bytes().header(3, 0, uint64_t(1) << 60),
               "metadata count 1152921504606846976 is impossible"});
  v.push_back({"huge_tensor_count", Bytes().header(3, ~uint64_t(0), 0), "tensor count"});
  v.push_back({"huge_string", Bytes().header(3, 0, 1).str("k").u32(8).u64(~uint64_t(0)),
               "file is truncated"});
  v.push_back({"huge_array", Bytes().header(3, 0, 1).str("k").u32(9).u32(6).u64(1ull << 62),
               "array of 4611686018427387904 float32 elements does not fit"});
  {
    // Nested: an array of 2 arrays whose second claims a huge count.
    Bytes b;
    b.header(3, 0, 1).str("k").u32(9).u32(9).u64(2);
    b.u32(0).u64(1).u8(7);
    b.u32(4).u64(1ull << 40).zeros(64);
    v.push_back({"huge_nested_array", b, "does not fit"});
  }
  {
    Bytes b;
    b.header(3, 0, 1).str("k").u32(9);
    for (int d = 0; d < 20; ++d) b.u32(9).u64(1);
    b.zeros(16);
    v.push_back({"deep_nesting", b, "nested deeper"});
  }
  v.push_back({"unknown_value_type", Bytes().header(3, 0, 1).str("k").u32(13).u64(0).zeros(8),
               "unknown value type 13"});
  v.push_back({"unknown_element_type", Bytes().header(3, 0, 1).str("k").u32(9).u32(77).u64(0),
               "unknown array element type 77"});
  v.push_back({"bad_bool", Bytes().header(3, 0, 1).str("k").u32(7).u8(2), "bool value 2"});
  v.push_back({"duplicate_key", Bytes().header(3, 0, 2).kv_u32("a.b", 1).kv_u32("a.b", 2),
               "duplicate metadata key 'a.b'"});
  v.push_back({"empty_key", Bytes().header(3, 0, 1).kv_u32("", 1), "is empty"});
  v.push_back({"alignment_not_pow2", Bytes().header(3, 0, 1).kv_u32("general.alignment", 24),
               "power of two"});
  v.push_back(
      {"alignment_zero", Bytes().header(3, 0, 1).kv_u32("general.alignment", 0), "power of two"});
  v.push_back({"alignment_string", Bytes().header(3, 0, 1).kv_str("general.alignment", "32"),
               "power of two"});
  auto one_tensor = [](std::vector<uint64_t> dims, uint32_t type, uint64_t offset,
                       size_t data_bytes) {
    Bytes b;
    b.header(3, 1, 0).tensor("t", dims, type, offset).pad_to(32).zeros(data_bytes);
    return b;
  };
  v.push_back({"zero_dims", one_tensor({}, 0, 0, 64), "has 0 dimensions"});
  v.push_back({"five_dims", one_tensor({1, 1, 1, 1, 1}, 0, 0, 64), "has 5 dimensions"});
  v.push_back({"zero_dim", one_tensor({4, 0}, 0, 0, 64), "invalid dimension 0"});
  v.push_back({"negative_dim", one_tensor({~uint64_t(0)}, 0, 0, 64), "invalid dimension"});
  v.push_back({"overflow_dims", one_tensor({1ull << 32, 1ull << 32}, 0, 0, 64), "overflow"});
  v.push_back({"byte_overflow", one_tensor({1ull << 40, 1ull << 21}, 28, 0, 64), "overflow"});
  v.push_back({"unknown_type", one_tensor({32}, 5, 0, 64), "unknown tensor type id 5"});
  v.push_back({"unknown_type_big", one_tensor({32}, 1000, 0, 64), "unknown tensor type id 1000"});
  v.push_back({"row_not_block_multiple", one_tensor({48, 2}, 12, 0, 512),
               "row length 48, not a multiple of the Q4_K block size 256"});
  v.push_back({"misaligned", one_tensor({4}, 0, 8, 64), "not a multiple of the alignment 32"});
  v.push_back({"data_outside", one_tensor({32}, 0, 0, 64), "lies outside the file"});
  v.push_back({"offset_outside", one_tensor({4}, 0, 1ull << 40, 64), "lies outside the file"});
  {
    Bytes b;
    b.header(3, 2, 0).tensor("a", {16}, 0, 0).tensor("b", {16}, 0, 32).pad_to(32).zeros(128);
    v.push_back({"overlap", b, "tensors 'a' and 'b' overlap"});
  }
  {
    Bytes b;
    b.header(3, 2, 0).tensor("b", {8}, 0, 64).tensor("a", {16}, 0, 32).pad_to(32).zeros(128);
    v.push_back({"overlap_unsorted", b, "tensors 'a' and 'b' overlap"});
  }
  {
    Bytes b;
    b.header(3, 2, 0).tensor("a", {8}, 0, 0).tensor("a", {8}, 0, 32).pad_to(32).zeros(64);
    v.push_back({"duplicate_tensor", b, "duplicate tensor name 'a'"});
  }
  {
    Bytes b;
    b.header(3, 1, 0).tensor("a", {8}, 0, 0);  // no data section at all
    v.push_back({"no_data_section", b, "truncated"});
  }
  return v;
}

TEST(GgufReader, CorruptFilesGiveClearErrors) {
  ScratchDir dir;
  for (const BadCase& c : bad_cases()) {
    SCOPED_TRACE(c.name);
    std::string p = dir.file(std::string(c.name) + ".gguf");
    gguf_test::write_bytes(p, c.bytes.data);
    expect_format_error(p, c.message);
  }
}

TEST(GgufReader, NoTensorsNeedsNoDataSection) {
  ScratchDir dir;
  std::string p = dir.file("meta.gguf");
  gguf_test::write_bytes(p, Bytes().header(2, 0, 1).kv_u32("general.alignment", 64).data);
  auto f = File::open(p);
  EXPECT_EQ(f->version(), 2u);
  EXPECT_EQ(f->alignment(), 64u);
  EXPECT_TRUE(f->tensors().empty());
}

TEST(GgufReader, CustomAlignment) {
  ScratchDir dir;
  std::string p = dir.file("align.gguf");
  Bytes b;
  b.header(3, 2, 1).kv_u32("general.alignment", 64);
  b.tensor("x", {4}, 0, 0).tensor("y", {4}, 0, 64).pad_to(64).zeros(80);
  gguf_test::write_bytes(p, b.data);
  auto f = File::open(p);
  EXPECT_EQ(f->data_offset() % 64, 0u);
  EXPECT_EQ(f->tensor("y")->data - f->data_section(), 64);
  // The same layout with a 32-byte offset is misaligned under 64.
  Bytes c;
  c.header(3, 1, 1).kv_u32("general.alignment", 64).tensor("x", {4}, 0, 32).pad_to(64).zeros(80);
  gguf_test::write_bytes(p, c.data);
  expect_format_error(p, "not a multiple of the alignment 64");
}

}  // namespace
