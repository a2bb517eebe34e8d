// Bad models give a clear load error (never a crash): unknown architecture, missing tensor,
// wrong shape, a type without kernels, missing hyper-parameters, truncated or v1 files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "api/status.h"
#include "engine/engine.h"
#include "engine/gguf/gguf.h"
#include "engine/gguf/writer.h"
#include "util/error.h"

namespace {

namespace fs = std::filesystem;
const std::string kStories = std::string(OLLAMA_SHARED_DIR) + "/testdata/real/stories260K.gguf";

class EngineLoad : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("engine_load_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Copy of stories260K with `edit` applied to the writer.
  template <class F>
  std::string variant(const std::string& name, F edit) {
    auto src = gguf::File::open(kStories);
    gguf::Writer w = gguf::Writer::from_file(*src);
    edit(w, *src);
    const std::string path = (dir_ / name).string();
    w.write(path);
    return path;
  }

  // The load error message (fails the test if loading succeeds).
  std::string load_error(const std::string& path) {
    try {
      engine::Model::load(path, {.n_threads = 1});
    } catch (const util::Error& e) {
      EXPECT_EQ(api::http_status(e.kind()), 400) << e.what();
      return e.what();
    }
    ADD_FAILURE() << "loaded without error: " << path;
    return "";
  }

  fs::path dir_;
};

#define EXPECT_HAS(text, part) EXPECT_NE((text).find(part), std::string::npos) << (text)

TEST_F(EngineLoad, GoodModelLoads) {
  auto m = engine::Model::load(kStories, {.n_threads = 1});
  EXPECT_EQ(m->info().n_layer, 5);
  EXPECT_EQ(m->info().n_head, 8);
  EXPECT_EQ(m->info().n_head_kv, 4);
  EXPECT_EQ(m->info().n_ff, 172);
  EXPECT_EQ(m->n_ctx_train(), 2048);
  EXPECT_EQ(m->weight_bytes(), 1185376u - 14176u);
  EXPECT_EQ(m->n_threads(), 1);
  EXPECT_EQ(engine::Model::supported_architectures(),
            (std::vector<std::string>{"llama", "qwen2", "qwen3", "phi3", "gemma", "gemma2",
                                      "gemma3", "gpt-oss", "qwen3moe"}));
}

TEST_F(EngineLoad, UnknownArchitectureListsSupported) {
  const auto path = variant("mamba.gguf", [](gguf::Writer& w, const gguf::File&) {
    w.set_string("general.architecture", "mamba");
  });
  const std::string e = load_error(path);
  EXPECT_HAS(e, "unsupported model architecture 'mamba'");
  EXPECT_HAS(e, "llama, qwen2, qwen3, phi3, gemma, gemma2, gemma3");
  EXPECT_HAS(e, path);
}

TEST_F(EngineLoad, MissingTensorIsNamed) {
  const auto path = variant("missing.gguf", [](gguf::Writer& w, const gguf::File&) {
    ASSERT_TRUE(w.remove_tensor("blk.3.ffn_up.weight"));
  });
  EXPECT_HAS(load_error(path), "missing tensor 'blk.3.ffn_up.weight'");
}

TEST_F(EngineLoad, WrongShapeIsExplained) {
  const auto path = variant("shape.gguf", [](gguf::Writer& w, const gguf::File&) {
    ASSERT_TRUE(w.remove_tensor("blk.1.attn_q.weight"));
    w.add_tensor("blk.1.attn_q.weight", {64, 32}, 0, std::vector<uint8_t>(64 * 32 * 4));
  });
  const std::string e = load_error(path);
  EXPECT_HAS(e, "'blk.1.attn_q.weight' has shape [64, 32], expected [64, 64]");
}

TEST_F(EngineLoad, TypeWithoutKernelsIsRejected) {
  const auto path = variant("i32.gguf", [](gguf::Writer& w, const gguf::File&) {
    ASSERT_TRUE(w.remove_tensor("blk.0.attn_k.weight"));
    w.add_tensor("blk.0.attn_k.weight", {64, 32}, 26 /* I32 */, std::vector<uint8_t>(64 * 32 * 4));
  });
  const std::string e = load_error(path);
  EXPECT_HAS(e, "'blk.0.attn_k.weight' has type I32");
  EXPECT_HAS(e, "no kernels");
}

TEST_F(EngineLoad, MissingHyperParameterIsNamed) {
  const auto path = variant("nokey.gguf", [](gguf::Writer& w, const gguf::File&) {
    ASSERT_TRUE(w.remove("llama.attention.head_count"));
  });
  EXPECT_HAS(load_error(path), "missing hyper-parameter llama.attention.head_count");
}

TEST_F(EngineLoad, InconsistentHeadsAreRejected) {
  const auto path = variant("heads.gguf", [](gguf::Writer& w, const gguf::File&) {
    w.set_u32("llama.attention.head_count_kv", 3);
  });
  EXPECT_HAS(load_error(path), "inconsistent hyper-parameters");
}

TEST_F(EngineLoad, TruncatedFileIsRejected) {
  std::ifstream in(kStories, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string path = (dir_ / "truncated.gguf").string();
  std::ofstream(path, std::ios::binary).write(bytes.data(), bytes.size() / 2);
  EXPECT_HAS(load_error(path), path);
}

TEST_F(EngineLoad, GgufVersion1IsRejected) {
  const std::string e = load_error(std::string(OLLAMA_SHARED_DIR) +
                                   "/testdata/real/legacy/tinyllamas-stories-260k-f32.ggufv1.gguf");
  EXPECT_HAS(e, "version 1");
}

}  // namespace
