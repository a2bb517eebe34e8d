// GGUF writer: round trips of every value type and several tensor types, byte-identical
// re-writes (also of real files), atomic writes and error paths.
#include <gtest/gtest.h>

#include <filesystem>

#include "engine/gguf/gguf.h"
#include "engine/gguf/writer.h"
#include "gguf_test_util.h"
#include "ops/types.h"

namespace {

using gguf::File;
using gguf::Value;
using gguf::ValueType;
using gguf::Writer;
using gguf_test::ScratchDir;

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t k = 0; k < n; ++k) v[k] = uint8_t(seed + k * 31 + (k >> 8));
  return v;
}

uint32_t id(ops::DType t) { return uint32_t(t); }

// Metadata with every value type, edge values, and nested arrays.
void add_all_metadata(Writer& w) {
  w.set("t.u8", Value::of_u8(255));
  w.set("t.i8", Value::of_i8(-128));
  w.set("t.u16", Value::of_u16(65535));
  w.set("t.i16", Value::of_i16(-32768));
  w.set_u32("t.u32", 4294967295u);
  w.set_i32("t.i32", -2147483647 - 1);
  w.set_u64("t.u64", ~uint64_t(0));
  w.set("t.i64", Value::of_i64(INT64_MIN));
  w.set_f32("t.f32", 1e-5f);
  w.set("t.f64", Value::of_f64(3.141592653589793));
  w.set_bool("t.true", true);
  w.set_bool("t.false", false);
  w.set_string("t.str", "héllo ▁world\n\t\"quoted\"");
  w.set_string("t.empty", "");
  w.set("t.strs", Value::of_strings({"a", "", "<0x0A>", "▁the"}));
  w.set("t.i32s", Value::of_i32s({1, -2, 3, INT32_MIN}));
  w.set("t.f32s", Value::of_f32s({0.5f, -1.25f, 1e30f}));
  w.set("t.bools",
        Value::of_array(ValueType::kBool, {Value::of_bool(true), Value::of_bool(false)}));
  w.set("t.u64s",
        Value::of_array(ValueType::kUint64, {Value::of_u64(1), Value::of_u64(1ull << 63)}));
  w.set("t.f64s", Value::of_array(ValueType::kFloat64, {Value::of_f64(-0.0), Value::of_f64(2.5)}));
  w.set("t.empty_array", Value::of_array(ValueType::kString, {}));
  w.set("t.nested",
        Value::of_array(ValueType::kArray, {Value::of_strings({"x", "y"}), Value::of_i32s({7}),
                                            Value::of_array(ValueType::kUint8, {})}));
  w.set("t.nested3",
        Value::of_array(ValueType::kArray,
                        {Value::of_array(ValueType::kArray, {Value::of_f32s({1, 2, 3})})}));
  w.set_string("general.architecture", "llama");
}

// Tensors of several types; one borrowed, one owned, the rest streamed in uneven pieces.
struct TensorSpec {
  std::string name;
  std::vector<int64_t> dims;
  ops::DType type;
};

const std::vector<TensorSpec> kTensors = {
    {"f32.vec", {7}, ops::DType::F32},  // 28 bytes: padding needed
    {"f16.mat", {64, 3}, ops::DType::F16},
    {"bf16.mat", {16, 2}, ops::DType::BF16},
    {"q4_0.mat", {64, 2}, ops::DType::Q4_0},
    {"q8_0.mat", {32, 3}, ops::DType::Q8_0},
    {"q4_k.mat", {256, 2}, ops::DType::Q4_K},
    {"q6_k.mat", {512, 1}, ops::DType::Q6_K},
    {"mxfp4.exps", {64, 4, 3}, ops::DType::MXFP4},
    {"i32.ids", {5, 1, 1, 2}, ops::DType::I32},
};

void add_tensors(Writer& w, std::vector<std::vector<uint8_t>>& keep) {
  for (size_t k = 0; k < kTensors.size(); ++k) {
    const TensorSpec& s = kTensors[k];
    uint64_t n = gguf::tensor_n_bytes(id(s.type), s.dims);
    std::vector<uint8_t> bytes = pattern(n, uint8_t(k));
    if (k == 0) {
      keep.push_back(bytes);
      w.add_tensor(s.name, s.dims, id(s.type), keep.back().data(), keep.back().size());
    } else if (k == 1) {
      w.add_tensor(s.name, s.dims, id(s.type), std::move(bytes));
    } else {
      w.add_tensor(s.name, s.dims, id(s.type), [bytes](const Writer::Sink& sink) {
        size_t pos = 0, piece = 1;
        while (pos < bytes.size()) {
          size_t m = std::min(piece, bytes.size() - pos);
          sink(bytes.data() + pos, m);
          pos += m;
          piece = piece * 3 + 1;
        }
      });
    }
  }
}

TEST(GgufWriter, RoundTripEveryValueAndTensorType) {
  ScratchDir dir;
  Writer w;
  add_all_metadata(w);
  std::vector<std::vector<uint8_t>> keep;
  add_tensors(w, keep);
  std::string p = dir.file("rt.gguf");
  std::vector<uint64_t> progress;
  w.write(p, [&](uint64_t done, uint64_t total) { progress.push_back(done); });
  EXPECT_EQ(progress.size(), kTensors.size());

  auto f = File::open(p);
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->file_size(), w.file_size());
  ASSERT_EQ(f->metadata().size(), w.metadata().size());
  for (size_t k = 0; k < w.metadata().size(); ++k) {
    EXPECT_EQ(f->metadata()[k].first, w.metadata()[k].first);
    EXPECT_TRUE(f->metadata()[k].second == w.metadata()[k].second) << w.metadata()[k].first;
  }
  EXPECT_EQ(f->get_int("t.u32", 0), 4294967295);
  EXPECT_EQ(f->get_int("t.i64", 0), INT64_MIN);
  EXPECT_EQ(f->find("t.u64")->u, ~uint64_t(0));
  EXPECT_FLOAT_EQ(float(*f->get_float("t.f32")), 1e-5f);
  EXPECT_EQ(f->get_bool("t.true"), true);
  EXPECT_EQ(f->get_string("t.str", ""), "héllo ▁world\n\t\"quoted\"");
  EXPECT_EQ(f->get_string_array("t.strs"), (std::vector<std::string>{"a", "", "<0x0A>", "▁the"}));
  EXPECT_EQ(f->get_int_array("t.i32s"), (std::vector<int32_t>{1, -2, 3, INT32_MIN}));
  const Value* nested = f->find("t.nested");
  ASSERT_NE(nested, nullptr);
  ASSERT_EQ(nested->array.size(), 3u);
  EXPECT_EQ(nested->array_type, ValueType::kArray);
  EXPECT_EQ(nested->array[0].array[1].s, "y");
  EXPECT_EQ(nested->array[1].array_type, ValueType::kInt32);
  EXPECT_EQ(f->find("t.nested3")->array[0].array[0].array[2].f, 3.0);

  ASSERT_EQ(f->tensors().size(), kTensors.size());
  for (size_t k = 0; k < kTensors.size(); ++k) {
    const gguf::TensorInfo& t = f->tensors()[k];
    EXPECT_EQ(t.name, kTensors[k].name);
    EXPECT_EQ(t.dims, kTensors[k].dims);
    EXPECT_EQ(t.type, id(kTensors[k].type));
    EXPECT_EQ(t.offset % 32, 0u);
    std::vector<uint8_t> want = pattern(t.n_bytes, uint8_t(k));
    EXPECT_EQ(std::memcmp(t.data, want.data(), want.size()), 0) << t.name;
  }
  EXPECT_EQ(f->tensor("q6_k.mat")->n_bytes, 2u * 210);
  EXPECT_EQ(f->tensor("mxfp4.exps")->n_bytes, 2u * 17 * 4 * 3);

  // Re-writing what was read gives the same bytes.
  std::string p2 = dir.file("rt2.gguf");
  Writer::from_file(*f).write(p2);
  EXPECT_EQ(gguf_test::read_bytes(p2), gguf_test::read_bytes(p));
}

TEST(GgufWriter, EveryTruncationOfWrittenFileIsAFormatError) {
  ScratchDir dir;
  Writer w;
  add_all_metadata(w);
  w.add_tensor("a", {8}, id(ops::DType::F32), pattern(32, 1));
  w.add_tensor("b", {32}, id(ops::DType::Q8_0), pattern(34, 2));
  std::string p = dir.file("full.gguf");
  w.write(p);
  std::vector<uint8_t> full = gguf_test::read_bytes(p);
  // Cutting the trailing padding after the last tensor still leaves a valid file.
  auto f = File::open(p);
  const gguf::TensorInfo& last = f->tensors().back();
  const size_t data_end = f->data_offset() + last.offset + last.n_bytes;
  EXPECT_LT(data_end, full.size());
  std::string t = dir.file("cut.gguf");
  gguf_test::write_bytes(t, std::vector<uint8_t>(full.begin(), full.begin() + data_end));
  EXPECT_NO_THROW(File::open(t));
  for (size_t n = data_end; n-- > 0;) {
    std::filesystem::resize_file(t, n);
    EXPECT_THROW(File::open(t), gguf::FormatError) << "cut at " << n;
  }
}

TEST(GgufWriter, CustomAlignment) {
  ScratchDir dir;
  Writer w;
  w.set_alignment(128);
  w.add_tensor("a", {3}, id(ops::DType::F32), pattern(12, 1));
  w.add_tensor("b", {5}, id(ops::DType::F32), pattern(20, 2));
  std::string p = dir.file("a.gguf");
  w.write(p);
  auto f = File::open(p);
  EXPECT_EQ(f->alignment(), 128u);
  EXPECT_EQ(f->get_int("general.alignment", 0), 128);
  EXPECT_EQ(f->data_offset() % 128, 0u);
  EXPECT_EQ(f->tensor("b")->offset, 128u);
  EXPECT_EQ(f->file_size(), f->data_offset() + 256);
  EXPECT_THROW(w.set_alignment(48), util::Error);
}

// Real files written by llama.cpp / gguf-py re-write byte for byte through the reader+writer.
TEST(GgufWriter, RealFilesRewriteByteIdentical) {
  ScratchDir dir;
  const std::string shared = gguf_test::shared_dir() + "/testdata/";
  for (const char* name : {"real/stories260K.gguf", "models/tiny-llama-e256-q4_k_m.gguf",
                           "models/tiny-gptoss-e64-mxfp4_moe.gguf", "models/tiny-bert-e64.gguf",
                           "models/tiny-llama-e64-bf16.gguf"}) {
    SCOPED_TRACE(name);
    auto f = File::open(shared + name);
    std::string out = dir.file("copy.gguf");
    Writer w = Writer::from_file(*f);
    EXPECT_EQ(w.file_size(), f->file_size());
    w.write(out);
    EXPECT_TRUE(gguf_test::read_bytes(out) == gguf_test::read_bytes(shared + name));
  }
}

TEST(GgufWriter, CopyWithModifications) {
  ScratchDir dir;
  auto f = File::open(gguf_test::shared_dir() + "/testdata/real/stories260K.gguf");
  Writer w = Writer::from_file(*f);
  w.set_u32("general.file_type", 1);
  w.set_string("general.architecture", "llama");  // replaced in place, keeps its position
  EXPECT_TRUE(w.remove("tokenizer.ggml.scores"));
  EXPECT_FALSE(w.remove("no.such.key"));
  const gguf::TensorInfo* emb = f->tensor("token_embd.weight");
  ASSERT_TRUE(w.remove_tensor("output.weight"));
  EXPECT_FALSE(w.remove_tensor("output.weight"));
  w.add_tensor("output.weight", {64, 512}, id(ops::DType::F16), pattern(64 * 512 * 2, 9));
  std::string p = dir.file("mod.gguf");
  w.write(p);

  auto g = File::open(p);
  EXPECT_EQ(g->get_int("general.file_type", -1), 1);
  EXPECT_FALSE(g->has("tokenizer.ggml.scores"));
  EXPECT_EQ(g->metadata().size(), f->metadata().size());  // one removed, one added
  size_t arch_pos_f = 0, arch_pos_g = 0;
  for (size_t k = 0; k < f->metadata().size(); ++k) {
    if (f->metadata()[k].first == "general.architecture") arch_pos_f = k;
  }
  for (size_t k = 0; k < g->metadata().size(); ++k) {
    if (g->metadata()[k].first == "general.architecture") arch_pos_g = k;
  }
  EXPECT_EQ(arch_pos_g, arch_pos_f - 1);  // scores came before it and was removed
  EXPECT_EQ(g->tensors().size(), 48u);
  EXPECT_EQ(g->tensors().back().name, "output.weight");
  EXPECT_EQ(g->tensor("output.weight")->type, id(ops::DType::F16));
  EXPECT_EQ(std::memcmp(g->tensor("token_embd.weight")->data, emb->data, emb->n_bytes), 0);
}

// The shape of a quantize pass: same metadata and tensor order, some tensors re-typed and
// streamed in row blocks.
TEST(GgufWriter, ReplaceTensorsInPlace) {
  ScratchDir dir;
  auto f = File::open(gguf_test::shared_dir() + "/testdata/real/stories260K.gguf");
  Writer w;
  w.copy_metadata(*f);
  for (const auto& t : f->tensors()) w.add_tensor_from(*f, t);
  w.set_u32("general.file_type", 7);
  // token_embd [64, 512] -> Q8_0: 512 rows of 2 blocks of 34 bytes, produced row by row.
  w.replace_tensor("token_embd.weight", {64, 512}, id(ops::DType::Q8_0),
                   [](const Writer::Sink& sink) {
                     std::vector<uint8_t> row(68);
                     for (int r = 0; r < 512; ++r) {
                       row[0] = uint8_t(r);
                       sink(row.data(), row.size());
                     }
                   });
  w.replace_tensor("output_norm.weight", {64}, id(ops::DType::F16), pattern(128, 4));
  EXPECT_THROW(w.replace_tensor("nope", {64}, id(ops::DType::F16), pattern(128, 4)), util::Error);
  EXPECT_THROW(w.replace_tensor("output_norm.weight", {64}, id(ops::DType::F16), pattern(12, 4)),
               util::Error);
  EXPECT_THROW(w.replace_tensor("output_norm.weight", {60}, id(ops::DType::Q8_0), pattern(12, 4)),
               util::Error);
  std::string p = dir.file("q.gguf");
  w.write(p);
  auto g = File::open(p);
  ASSERT_EQ(g->tensors().size(), f->tensors().size());
  for (size_t k = 0; k < f->tensors().size(); ++k) {
    EXPECT_EQ(g->tensors()[k].name, f->tensors()[k].name);
  }
  const gguf::TensorInfo* emb = g->tensor("token_embd.weight");
  EXPECT_EQ(emb->type, id(ops::DType::Q8_0));
  EXPECT_EQ(emb->n_bytes, 512u * 68);
  EXPECT_EQ(emb->data[68 * 300], uint8_t(300 % 256));
  EXPECT_EQ(g->tensor("output_norm.weight")->type, id(ops::DType::F16));
  EXPECT_EQ(g->get_int("general.file_type", 0), 7);
  EXPECT_EQ(g->metadata().size(), f->metadata().size() + 1);
}

TEST(GgufWriter, MetadataOnlyFileCannotBeCopied) {
  auto f = File::open_metadata(gguf_test::shared_dir() + "/testdata/real/stories260K.gguf");
  EXPECT_THROW(Writer::from_file(*f), util::Error);
}

TEST(GgufWriter, InvalidTensorsAreRejected) {
  Writer w;
  EXPECT_THROW(w.add_tensor("q", {100}, id(ops::DType::Q4_K), pattern(144, 0)), util::Error);
  EXPECT_THROW(w.add_tensor("u", {4}, 5, pattern(4, 0)), util::Error);
  EXPECT_THROW(w.add_tensor("z", {4, 0}, id(ops::DType::F32), pattern(0, 0)), util::Error);
  EXPECT_THROW(w.add_tensor("d", {1, 1, 1, 1, 1}, id(ops::DType::F32), pattern(4, 0)), util::Error);
  EXPECT_THROW(w.add_tensor("s", {4}, id(ops::DType::F32), pattern(15, 0)), util::Error);
  w.add_tensor("ok", {4}, id(ops::DType::F32), pattern(16, 0));
  EXPECT_THROW(w.add_tensor("ok", {4}, id(ops::DType::F32), pattern(16, 0)), util::Error);
  EXPECT_EQ(w.tensor_count(), 1u);
  EXPECT_EQ(gguf::tensor_n_bytes(id(ops::DType::Q4_K), {512, 3}), 2u * 144 * 3);
}

TEST(GgufWriter, FailedWriteLeavesTargetUntouched) {
  ScratchDir dir;
  std::string p = dir.file("model.gguf");
  gguf_test::write_bytes(p, {'o', 'l', 'd'});
  Writer w;
  w.set_string("general.architecture", "llama");
  w.add_tensor("bad", {8}, id(ops::DType::F32), [](const Writer::Sink& sink) {
    float x[4] = {};
    sink(x, sizeof x);  // only half of the 32 bytes
  });
  try {
    w.write(p);
    FAIL() << "no throw";
  } catch (const util::Error& e) {
    EXPECT_NE(std::string(e.what()).find("write " + p +
                                         ": tensor 'bad' producer wrote 16 bytes, "
                                         "expected 32"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(gguf_test::read_bytes(p), (std::vector<uint8_t>{'o', 'l', 'd'}));
  size_t n_files = 0;
  for (auto& e : std::filesystem::directory_iterator(std::filesystem::path(p).parent_path())) {
    (void)e;
    ++n_files;
  }
  EXPECT_EQ(n_files, 1u);  // no temp file left behind

  Writer thrower;
  thrower.add_tensor("t", {8}, id(ops::DType::F32),
                     [](const Writer::Sink&) { throw std::runtime_error("source vanished"); });
  EXPECT_THROW(thrower.write(p), util::Error);
  EXPECT_EQ(gguf_test::read_bytes(p).size(), 3u);

  Writer ok;
  EXPECT_THROW(ok.write(dir.file("no/such/dir/x.gguf")), util::Error);
}

TEST(GgufWriter, InvalidMetadataIsRejected) {
  ScratchDir dir;
  Writer w;
  w.set("mixed", Value::of_array(ValueType::kInt32, {Value::of_i32(1), Value::of_string("x")}));
  EXPECT_THROW(w.write(dir.file("m.gguf")), util::Error);
  Writer w2;
  Value big = Value::of_u8(0);
  big.u = 300;
  w2.set("big", big);
  EXPECT_THROW(w2.write(dir.file("m.gguf")), util::Error);
}

}  // namespace
