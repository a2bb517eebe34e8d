#include "cli/create_request.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "util/error.h"

namespace cli {
namespace {
namespace fs = std::filesystem;

const std::string kStories = std::string(OLLAMA_SHARED_DIR) + "/testdata/real/stories260K.gguf";
const char kStoriesDigest[] =
    "sha256:270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d";

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/cli-create-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

TEST(ExpandPath, RelativeHomeAndAbsolute) {
  EXPECT_EQ(expand_path("/a/b/../c", "/x"), "/a/c");
  EXPECT_EQ(expand_path("model.gguf", "/work/dir"), "/work/dir/model.gguf");
  EXPECT_EQ(expand_path("./sub/../m.gguf", "/work/dir"), "/work/dir/m.gguf");
  const char* home = std::getenv("HOME");
  ASSERT_NE(home, nullptr);
  EXPECT_EQ(expand_path("~/m.gguf", "/x"), (fs::path(home) / "m.gguf").lexically_normal().string());
  EXPECT_THROW(expand_path("~no_such_user_here/m", "/x"), util::Error);
}

TEST(RelativeFileMap, SingleFileIsBaseName) {
  auto m = relative_file_map({{"/a/b/model.gguf", "sha256:1"}});
  EXPECT_EQ(m, (std::map<std::string, std::string>{{"model.gguf", "sha256:1"}}));
}

TEST(RelativeFileMap, SeveralFilesRelativeToCommonParent) {
  auto m = relative_file_map({{"/m/dir/model.safetensors", "sha256:1"},
                              {"/m/dir/sub/tokenizer.json", "sha256:2"},
                              {"/m/other/x.json", "sha256:3"}});
  EXPECT_EQ(m, (std::map<std::string, std::string>{{"dir/model.safetensors", "sha256:1"},
                                                   {"dir/sub/tokenizer.json", "sha256:2"},
                                                   {"other/x.json", "sha256:3"}}));
}

TEST(PlanCreate, LocalGgufIsHashedAndNameBecomesFrom) {
  if (!fs::exists(kStories)) GTEST_SKIP() << "missing " << kStories;
  TempDir dir;
  fs::copy_file(kStories, dir.path / "stories.gguf");
  create::Modelfile mf = create::parse_modelfile(
      "FROM ./stories.gguf\nPARAMETER temperature 0.5\nPARAMETER stop a\nPARAMETER stop b\n"
      "SYSTEM \"\"\"be nice\"\"\"\nLICENSE MIT\nLICENSE other\nMESSAGE user hi\n");
  CreatePlan plan = plan_create(mf, dir.path.string());
  ASSERT_EQ(plan.files.size(), 1u);
  EXPECT_EQ(plan.files[0].digest, kStoriesDigest);
  EXPECT_EQ(plan.files[0].path, fs::canonical(dir.path / "stories.gguf").string());
  EXPECT_FALSE(plan.request.contains("from"));
  EXPECT_EQ(plan.request["system"], "be nice");
  EXPECT_EQ(plan.request["license"], nlohmann::json({"MIT", "other"}));
  EXPECT_EQ(plan.request["parameters"]["stop"], nlohmann::json({"a", "b"}));
  EXPECT_DOUBLE_EQ(plan.request["parameters"]["temperature"].get<double>(), 0.5);
  EXPECT_EQ(plan.request["messages"], nlohmann::json::parse(R"([{"role":"user","content":"hi"}])"));
  EXPECT_EQ(relative_file_map(plan.files),
            (std::map<std::string, std::string>{{"stories.gguf", kStoriesDigest}}));

  CreatePlan by_name = plan_create(create::parse_modelfile("FROM llama3.2\n"), dir.path.string());
  EXPECT_EQ(by_name.request["from"], "llama3.2");
  EXPECT_TRUE(by_name.files.empty());
}

TEST(PlanCreate, DirectoryPicksModelFiles) {
  TempDir dir;
  for (const char* f : {"a.gguf", "config.json", "notes.txt"}) std::ofstream(dir.path / f) << f;
  fs::create_directory(dir.path / "sub");
  std::ofstream(dir.path / "sub" / "tokenizer.json") << "{}";
  auto files = files_for_model_dir(dir.path.string());
  std::vector<std::string> names;
  for (auto& f : files) names.push_back(fs::path(f).lexically_relative(fs::canonical(dir.path)));
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"a.gguf", "config.json", "sub/tokenizer.json"}));

  TempDir empty;
  std::ofstream(empty.path / "readme.md") << "x";
  try {
    files_for_model_dir(empty.path.string());
    FAIL();
  } catch (const util::Error& e) {
    EXPECT_STREQ(e.what(), "no Modelfile or safetensors files found");
  }
}

}  // namespace
}  // namespace cli
