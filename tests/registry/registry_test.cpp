#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "registry/transfer.h"
#include "test_servers.h"
#include "util/error.h"
#include "util/sha256.h"

namespace fs = std::filesystem;
using registry::Options;
using store::ModelName;

namespace {

const char* kStories = OLLAMA_SHARED_DIR "/testdata/real/stories260K.gguf";

struct TempStore {
  fs::path dir;
  std::unique_ptr<store::Store> st;
  TempStore() {
    static int n = 0;
    dir = fs::temp_directory_path() /
          ("oc-regstore-" + std::to_string(getpid()) + "-" + std::to_string(n++));
    fs::remove_all(dir);
    st = std::make_unique<store::Store>(dir);
  }
  ~TempStore() { fs::remove_all(dir); }
  std::vector<std::string> blob_files() const {
    std::vector<std::string> v;
    for (auto& e : fs::directory_iterator(dir / "blobs")) v.push_back(e.path().filename());
    std::sort(v.begin(), v.end());
    return v;
  }
};

// A model like `ollama create` makes: GGUF, template and params layers plus a config blob.
store::Manifest make_model(store::Store& st, const ModelName& name) {
  store::Manifest m;
  std::string d = st.write_blob_from_file(kStories);
  m.layers.push_back({"application/vnd.ollama.image.model", d, st.blob_size(d)});
  m.layers.push_back(
      st.write_blob_string("{{ .Prompt }}", "application/vnd.ollama.image.template"));
  m.layers.push_back(
      st.write_blob_string("{\"temperature\":0}", "application/vnd.ollama.image.params"));
  m.config = st.write_blob_string(
      R"({"model_format":"gguf","model_family":"llama","model_families":["llama"],"model_type":"292.80K","file_type":"F32","architecture":"amd64","os":"linux"})",
      "application/vnd.docker.container.image.v1+json");
  st.write_manifest(name, m);
  return m;
}

struct Events {
  std::vector<api::ProgressResponse> all;
  registry::ProgressFn fn() {
    return [this](const api::ProgressResponse& p) { all.push_back(p); };
  }
  std::vector<std::string> statuses() const {
    std::vector<std::string> s;
    for (auto& e : all)
      if (s.empty() || s.back() != e.status) s.push_back(e.status);
    return s;
  }
};

Options fast_opts() {
  Options o;
  o.insecure = true;
  o.base_backoff_ms = 50;
  return o;
}

}  // namespace

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists("/usr/bin/docker-registry")) GTEST_SKIP() << "docker-registry not installed";
  }
};

TEST_F(RegistryTest, PushRemovePullRoundTripIsByteIdentical) {
  testreg::Registry reg;
  ASSERT_TRUE(reg.ok());
  TempStore a;
  ModelName name = ModelName::parse(reg.host() + "/library/stories:latest");
  make_model(*a.st, name);
  std::string manifest_before = *a.st->read_manifest_bytes(name);

  Events push_ev;
  registry::push(*a.st, name, fast_opts(), push_ev.fn());
  EXPECT_EQ(push_ev.statuses().front(), "retrieving manifest");
  EXPECT_EQ(push_ev.statuses().back(), "success");
  EXPECT_NE(std::find(push_ev.statuses().begin(), push_ev.statuses().end(), "pushing manifest"),
            push_ev.statuses().end());

  // Remove locally (prunes its blobs), then pull back.
  a.st->remove(name);
  EXPECT_TRUE(a.blob_files().empty());
  Events pull_ev;
  registry::pull(*a.st, name, fast_opts(), pull_ev.fn());
  auto st = pull_ev.statuses();
  EXPECT_EQ(st.front(), "pulling manifest");
  EXPECT_EQ(st.back(), "success");
  EXPECT_NE(std::find(st.begin(), st.end(), "verifying sha256 digest"), st.end());
  EXPECT_NE(std::find(st.begin(), st.end(), "writing manifest"), st.end());
  EXPECT_EQ(*a.st->read_manifest_bytes(name), manifest_before);
  auto m = a.st->read_manifest(name);
  ASSERT_TRUE(m);
  EXPECT_EQ("sha256:" + util::sha256_file_hex(a.st->blob_path(m->layers[0].digest)),
            "sha256:" + util::sha256_file_hex(kStories));
  for (auto& f : a.blob_files()) EXPECT_EQ(f.find("partial"), std::string::npos) << f;

  // Already present: nothing is downloaded, every layer reported complete at once.
  Events again;
  registry::pull(*a.st, name, fast_opts(), again.fn());
  for (auto& e : again.all)
    if (!e.digest.empty()) EXPECT_EQ(e.completed, e.total);
}

TEST_F(RegistryTest, ParallelPartsAndResumeAfterCutTransfer) {
  testreg::Registry reg;
  ASSERT_TRUE(reg.ok());
  TempStore a, b;
  ModelName name = ModelName::parse(reg.host() + "/library/stories:latest");
  make_model(*a.st, name);
  registry::push(*a.st, name, fast_opts(), [](auto&) {});

  // Pull through a proxy that kills the first three connections mid-transfer.
  testreg::CutProxy proxy(reg.port(), 3, 20000);
  ModelName via =
      ModelName::parse("127.0.0.1:" + std::to_string(proxy.port()) + "/library/stories:latest");
  Options o = fast_opts();
  o.part_min = 64 * 1024;  // ~16 parts for the 1 MB model
  Events ev;
  registry::pull(*b.st, via, o, ev.fn());
  EXPECT_GE(proxy.cuts(), 1);
  auto m = b.st->read_manifest(via);
  ASSERT_TRUE(m);
  EXPECT_EQ(util::sha256_file_hex(b.st->blob_path(m->layers[0].digest)),
            util::sha256_file_hex(kStories));
}

TEST_F(RegistryTest, ResumesFromPartialFilesOnDisk) {
  testreg::Registry reg;
  ASSERT_TRUE(reg.ok());
  TempStore a, b;
  ModelName name = ModelName::parse(reg.host() + "/library/stories:latest");
  store::Manifest m = make_model(*a.st, name);
  registry::push(*a.st, name, fast_opts(), [](auto&) {});
  // Leave a half-finished download as an interrupted pull (or a server restart) would.
  Options o = fast_opts();
  o.part_min = 256 * 1024;
  std::string digest = m.layers[0].digest;
  fs::path partial = b.st->blob_path(digest).string() + "-partial";
  std::string data;
  {
    std::ifstream in(kStories, std::ios::binary);
    data.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto parts = registry::plan_parts(static_cast<int64_t>(data.size()), o.part_min, o.part_max);
  ASSERT_GE(parts.size(), 2u);
  {
    std::ofstream f(partial, std::ios::binary);
    f << std::string(data.size(), '\0');
  }
  {
    std::fstream f(partial, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(parts[0].offset);
    f.write(data.data() + parts[0].offset, parts[0].size);
  }
  std::ofstream(partial.string() + "-0") << "{\"N\":0,\"Offset\":0,\"Size\":" << parts[0].size
                                         << ",\"Completed\":" << parts[0].size << "}";
  Events ev;
  registry::pull(*b.st, name, o, ev.fn());
  int64_t first_completed = -1;
  for (auto& e : ev.all)
    if (e.digest == digest) {
      first_completed = e.completed;
      break;
    }
  EXPECT_GE(first_completed, parts[0].size);  // resumed, not restarted
  EXPECT_EQ(util::sha256_file_hex(b.st->blob_path(digest)), util::sha256_file_hex(kStories));
}

TEST_F(RegistryTest, CorruptBlobOnRegistryInstallsNothing) {
  testreg::Registry reg;
  ASSERT_TRUE(reg.ok());
  TempStore a, b;
  ModelName name = ModelName::parse(reg.host() + "/library/stories:latest");
  store::Manifest m = make_model(*a.st, name);
  registry::push(*a.st, name, fast_opts(), [](auto&) {});
  std::string hex = m.layers[0].digest.substr(7);
  fs::path data = reg.dir() / "docker/registry/v2/blobs/sha256" / hex.substr(0, 2) / hex / "data";
  ASSERT_TRUE(fs::exists(data));
  {
    std::fstream f(data, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(1000);
    f.put('\x7f');
  }
  try {
    registry::pull(*b.st, name, fast_opts(), [](auto&) {});
    FAIL() << "corrupt blob accepted";
  } catch (const util::Error& e) {
    EXPECT_NE(std::string(e.what()).find("digest mismatch, file must be downloaded again"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(b.st->read_manifest(name).has_value());
  EXPECT_FALSE(b.st->has_blob(m.layers[0].digest));
}

TEST_F(RegistryTest, MissingModelAndDownRegistry) {
  testreg::Registry reg;
  ASSERT_TRUE(reg.ok());
  TempStore b;
  try {
    registry::pull(*b.st, ModelName::parse(reg.host() + "/library/nope:latest"), fast_opts(),
                   [](auto&) {});
    FAIL();
  } catch (const util::Error& e) {
    EXPECT_STREQ(e.what(), "pull model manifest: file does not exist");
  }
  int closed = testreg::free_port();
  auto t0 = std::chrono::steady_clock::now();
  try {
    registry::pull(*b.st,
                   ModelName::parse("127.0.0.1:" + std::to_string(closed) + "/library/x:latest"),
                   fast_opts(), [](auto&) {});
    FAIL();
  } catch (const util::Error& e) {
    EXPECT_NE(std::string(e.what()).find("pull model manifest"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  // https names need insecure for plain-http registries; an http scheme without it is refused.
  Options strict;
  EXPECT_THROW(registry::pull(*b.st, ModelName::parse("http://" + reg.host() + "/library/x:latest"),
                              strict, [](auto&) {}),
               util::Error);
}

TEST_F(RegistryTest, BasicAuthWithHtpasswd) {
  if (!fs::exists("/usr/bin/htpasswd")) GTEST_SKIP() << "htpasswd not installed";
  fs::path dir = fs::temp_directory_path() / ("oc-htp-" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::system(
      ("htpasswd -Bbc " + (dir / "htpasswd").string() + " alice s3cret 2>/dev/null").c_str());
  testreg::Registry reg("REGISTRY_AUTH_HTPASSWD_REALM=test-realm REGISTRY_AUTH_HTPASSWD_PATH=" +
                        (dir / "htpasswd").string());
  ASSERT_TRUE(reg.ok());
  TempStore a;
  ModelName name = ModelName::parse(reg.host() + "/alice/stories:latest");
  make_model(*a.st, name);
  EXPECT_THROW(registry::push(*a.st, name, fast_opts(), [](auto&) {}),
               util::Error);  // no credentials
  Options o = fast_opts();
  o.username = "alice";
  o.password = "s3cret";
  registry::push(*a.st, name, o, [](auto&) {});
  a.st->remove(name);
  registry::pull(*a.st, name, o, [](auto&) {});
  EXPECT_TRUE(a.st->read_manifest(name).has_value());
  fs::remove_all(dir);
}

TEST_F(RegistryTest, BearerChallengeFetchesTokenFromRealm) {
  testreg::TokenRealm realm("tok123");
  testreg::Registry reg(
      "REGISTRY_AUTH_SILLY_REALM=http://127.0.0.1:" + std::to_string(realm.port()) +
      "/token REGISTRY_AUTH_SILLY_SERVICE=test-registry");
  ASSERT_TRUE(reg.ok());
  TempStore a;
  ModelName name = ModelName::parse(reg.host() + "/library2/stories:latest");
  make_model(*a.st, name);
  registry::push(*a.st, name, fast_opts(), [](auto&) {});
  EXPECT_GE(realm.hits(), 1);
  EXPECT_NE(realm.last_request().find("service=test-registry"), std::string::npos)
      << realm.last_request();
  EXPECT_NE(realm.last_request().find("scope=repository"), std::string::npos)
      << realm.last_request();
  a.st->remove(name);
  registry::pull(*a.st, name, fast_opts(), [](auto&) {});
  EXPECT_TRUE(a.st->read_manifest(name).has_value());
}
