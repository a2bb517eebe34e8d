// Store on disk: Ollama-written layouts are read; what we write has Ollama's exact shape;
// blob writes are atomic and verified; copy/delete/prune keep exactly the right blobs.
#include "store/store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "api/status.h"
#include "store/model.h"
#include "util/error.h"
#include "util/sha256.h"

namespace fs = std::filesystem;
using store::Layer;
using store::Manifest;
using store::ModelName;
using store::Store;

namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "store-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write_text(const fs::path& p, const std::string& s) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << s;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string digest_of(const std::string& s) { return "sha256:" + util::sha256_hex(s); }

// Puts a blob where Ollama would (blobs/sha256-<hex>), bypassing our writer.
std::string put_blob(const fs::path& root, const std::string& data) {
  std::string hex = util::sha256_hex(data);
  write_text(root / "blobs" / ("sha256-" + hex), data);
  return "sha256:" + hex;
}

std::set<std::string> listing(const fs::path& root) {
  std::set<std::string> out;
  for (auto& e : fs::recursive_directory_iterator(root))
    out.insert(fs::relative(e.path(), root).generic_string());
  return out;
}

void age(const fs::path& p, std::chrono::hours h) {
  fs::last_write_time(p, fs::file_time_type::clock::now() - h);
}

// A model laid out by hand exactly as Ollama writes a pulled model.
struct OllamaModel {
  std::string model_blob = "GGUF\x03 pretend weights";
  std::string tmpl = "{{ .System }}\nUSER: {{ .Prompt }}\nASSISTANT: ";
  std::string params = "{\"stop\":[\"<|eot_id|>\"],\"temperature\":0.6}\n";
  std::string system = "You are a pirate.";
  std::string license = "MIT License";
  std::string messages =
      "[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\","
      "\"content\":\"arr\"}]\n";
  std::string config;
  std::string manifest;
  std::string d_model, d_tmpl, d_params, d_system, d_license, d_messages, d_config;

  void install(const fs::path& root, const std::string& rel_manifest) {
    d_model = put_blob(root, model_blob);
    d_tmpl = put_blob(root, tmpl);
    d_params = put_blob(root, params);
    d_system = put_blob(root, system);
    d_license = put_blob(root, license);
    d_messages = put_blob(root, messages);
    // Old configs carry rootfs; readers must ignore unknown fields.
    config =
        "{\"model_format\":\"gguf\",\"model_family\":\"llama\",\"model_families\":"
        "[\"llama\"],\"model_type\":\"8.0B\",\"file_type\":\"Q4_K_M\",\"renderer\":\"x\","
        "\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\","
        "\"diff_ids\":[\"" +
        d_model + "\"]}}";
    d_config = put_blob(root, config);
    auto layer = [](const char* mt, const std::string& d, size_t n) {
      return std::string("    {\n      \"mediaType\": \"") + mt + "\",\n      \"digest\": \"" + d +
             "\",\n      \"size\": " + std::to_string(n) + "\n    }";
    };
    // Registry manifests arrive pretty-printed; Ollama stores the bytes as received.
    manifest =
        "{\n  \"schemaVersion\": 2,\n  \"mediaType\": "
        "\"application/vnd.docker.distribution.manifest.v2+json\",\n  \"config\": {\n"
        "    \"mediaType\": \"application/vnd.docker.container.image.v1+json\",\n"
        "    \"digest\": \"" +
        d_config + "\",\n    \"size\": " + std::to_string(config.size()) +
        "\n  },\n  \"layers\": [\n" +
        layer("application/vnd.ollama.image.model", d_model, model_blob.size()) + ",\n" +
        layer("application/vnd.ollama.image.template", d_tmpl, tmpl.size()) + ",\n" +
        layer("application/vnd.ollama.image.system", d_system, system.size()) + ",\n" +
        layer("application/vnd.ollama.image.license", d_license, license.size()) + ",\n" +
        layer("application/vnd.ollama.image.params", d_params, params.size()) + ",\n" +
        layer("application/vnd.ollama.image.messages", d_messages, messages.size()) + "\n  ]\n}";
    write_text(root / "manifests" / rel_manifest, manifest);
  }
  int64_t total() const {
    return model_blob.size() + tmpl.size() + params.size() + system.size() + license.size() +
           messages.size() + config.size();
  }
};

}  // namespace

TEST(Store, ReadsAStoreWrittenByOllama) {
  TempDir tmp;
  OllamaModel om;
  om.install(tmp.path(), "registry.ollama.ai/library/llama3.2/latest");
  Store st(tmp.path());

  auto models = st.list();
  ASSERT_EQ(models.size(), 1u);
  EXPECT_EQ(models[0].name.display_shortest(), "llama3.2:latest");
  EXPECT_EQ(models[0].size, om.total());
  EXPECT_EQ(models[0].digest, util::sha256_hex(om.manifest));
  EXPECT_GT(models[0].mtime_unix_ns, 0);

  auto cfg = store::read_config(st, models[0].manifest);
  ASSERT_TRUE(cfg.has_value());
  EXPECT_EQ(cfg->model_families, (std::vector<std::string>{"llama"}));
  // Unknown fields (rootfs) are dropped; what we write back is the current encoder form.
  EXPECT_EQ(cfg->to_json(),
            "{\"model_format\":\"gguf\",\"model_family\":\"llama\",\"model_families\":"
            "[\"llama\"],\"model_type\":\"8.0B\",\"file_type\":\"Q4_K_M\",\"renderer\":"
            "\"x\",\"architecture\":\"amd64\",\"os\":\"linux\"}\n");

  auto m = store::load_model(st, ModelName::parse("Llama3.2"));  // case-insensitive
  EXPECT_EQ(m.short_name, "llama3.2:latest");
  EXPECT_EQ(m.digest, util::sha256_hex(om.manifest));
  EXPECT_EQ(m.model_path, (tmp.path() / "blobs" / ("sha256-" + om.d_model.substr(7))).string());
  EXPECT_EQ(m.template_text, om.tmpl);
  EXPECT_TRUE(m.has_template_layer);
  EXPECT_EQ(m.system, om.system);
  EXPECT_EQ(m.options["temperature"].get<double>(), 0.6);
  EXPECT_EQ(m.options["stop"][0].get<std::string>(), "<|eot_id|>");
  ASSERT_EQ(m.messages.size(), 2u);
  EXPECT_EQ(m.messages[1].role, "assistant");
  EXPECT_EQ(m.messages[1].content, "arr");
  ASSERT_EQ(m.licenses.size(), 1u);
  EXPECT_EQ(m.licenses[0], om.license);
  EXPECT_EQ(m.config.model_family, "llama");
  EXPECT_EQ(m.config.model_type, "8.0B");
  EXPECT_EQ(m.config.file_type, "Q4_K_M");
  EXPECT_EQ(m.config.renderer, "x");
  EXPECT_EQ(m.size, om.total());
}

TEST(Store, ModelWithoutTemplateGetsDefault) {
  TempDir tmp;
  Store st(tmp.path());
  Manifest mf;
  mf.config = st.write_blob_string("{}", store::kMediaTypeConfig);
  mf.layers.push_back(st.write_blob_string("weights", store::kMediaTypeModel));
  mf.layers.back().from = "base:latest";
  st.write_manifest(ModelName::parse("x"), mf);
  auto m = store::load_model(st, ModelName::parse("x"));
  EXPECT_EQ(m.template_text, "{{ .Prompt }}");
  EXPECT_FALSE(m.has_template_layer);
  EXPECT_EQ(m.parent_model, "base:latest");
  try {
    store::load_model(st, ModelName::parse("nope"));
    FAIL();
  } catch (const util::Error& e) {
    EXPECT_EQ(api::http_status(e.kind()), 404);
    EXPECT_STREQ(e.what(), "model 'nope:latest' not found");
  }
}

TEST(Store, WritesManifestInOllamaEncoderForm) {
  TempDir tmp;
  Store st(tmp.path());
  Manifest m;
  m.config = {store::kMediaTypeConfig, "sha256:" + std::string(64, 'a'), 487, "", ""};
  m.layers.push_back({store::kMediaTypeModel, "sha256:" + std::string(64, 'b'), 2019377376,
                      "llama3.2:latest", ""});
  m.layers.push_back({store::kMediaTypeTemplate, "sha256:" + std::string(64, 'c'), 1429, "", ""});
  st.write_manifest(ModelName::parse("Mine:V1"), m);
  std::string expected =
      "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
      "\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"digest\":"
      "\"sha256:" +
      std::string(64, 'a') +
      "\",\"size\":487},\"layers\":[{\"mediaType\":"
      "\"application/vnd.ollama.image.model\",\"digest\":\"sha256:" +
      std::string(64, 'b') +
      "\",\"size\":2019377376,\"from\":\"llama3.2:latest\"},{\"mediaType\":"
      "\"application/vnd.ollama.image.template\",\"digest\":\"sha256:" +
      std::string(64, 'c') + "\",\"size\":1429}]}\n";
  fs::path p = tmp.path() / "manifests/registry.ollama.ai/library/Mine/V1";
  ASSERT_TRUE(fs::exists(p));
  EXPECT_EQ(read_text(p), expected);
  EXPECT_EQ((fs::status(p).permissions() & fs::perms::all),
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                fs::perms::others_read);
  EXPECT_EQ(Manifest::parse(expected).to_json(), expected);
  EXPECT_EQ(st.manifest_digest(ModelName::parse("mine:v1")), util::sha256_hex(expected));
  // No temp files left next to it.
  EXPECT_EQ(std::distance(fs::directory_iterator(p.parent_path()), fs::directory_iterator()), 1);
}

TEST(Store, CorruptManifestIsAnError) {
  TempDir tmp;
  Store st(tmp.path());
  write_text(tmp.path() / "manifests/registry.ollama.ai/library/bad/latest", "{not json");
  EXPECT_THROW(st.read_manifest(ModelName::parse("bad")), util::Error);
  EXPECT_TRUE(st.list().empty());  // skipped, not fatal
  EXPECT_THROW(Manifest::parse("{\"layers\":{}}"), util::Error);
  EXPECT_THROW(Manifest::parse("{\"config\":{\"size\":\"1\"}}"), util::Error);
}

TEST(Store, DigestFormat) {
  std::string hex(64, 'a');
  EXPECT_TRUE(store::is_valid_digest("sha256:" + hex));
  EXPECT_TRUE(store::is_valid_digest("sha256-" + hex));
  EXPECT_TRUE(store::is_valid_digest("sha256:" + std::string(64, 'F')));
  EXPECT_FALSE(store::is_valid_digest("sha256:" + hex.substr(1)));
  EXPECT_FALSE(store::is_valid_digest("sha256:" + hex + "a"));
  EXPECT_FALSE(store::is_valid_digest("sha256_" + hex));
  EXPECT_FALSE(store::is_valid_digest("sha512:" + hex));
  EXPECT_FALSE(store::is_valid_digest("sha256:" + std::string(63, 'a') + "g"));
  EXPECT_FALSE(store::is_valid_digest(""));
  TempDir tmp;
  Store st(tmp.path());
  EXPECT_EQ(st.blob_path("sha256:" + hex), tmp.path() / "blobs" / ("sha256-" + hex));
  EXPECT_EQ(st.blob_path("sha256-" + std::string(64, 'A')),
            tmp.path() / "blobs" / ("sha256-" + hex));
  try {
    st.blob_path("sha256:xyz");
    FAIL();
  } catch (const util::Error& e) {
    EXPECT_EQ(api::http_status(e.kind()), 400);
    EXPECT_STREQ(e.what(), "invalid digest format");
  }
}

TEST(Store, BlobWriteVerifies) {
  TempDir tmp;
  Store st(tmp.path());
  std::string data(3 << 20, 'x');  // several read chunks
  data[12345] = 'y';
  std::string d = digest_of(data);
  std::istringstream in(data);
  EXPECT_EQ(st.write_blob_from_stream(d, in), static_cast<int64_t>(data.size()));
  EXPECT_TRUE(st.has_blob(d));
  EXPECT_EQ(read_text(st.blob_path(d)), data);
  EXPECT_EQ(st.blob_size(d), static_cast<int64_t>(data.size()));

  // Mismatch: exact error text and nothing new in blobs/.
  auto before = listing(tmp.path());
  std::string other = digest_of("other");
  std::istringstream in2(data);
  try {
    st.write_blob_from_stream(other, in2);
    FAIL();
  } catch (const util::Error& e) {
    EXPECT_EQ(api::http_status(e.kind()), 400);
    EXPECT_EQ(std::string(e.what()),
              "digest mismatch, expected \"" + other + "\", got \"" + d + "\"");
  }
  EXPECT_EQ(listing(tmp.path()), before);
}

TEST(Store, InterruptedBlobWriteLeavesNothing) {
  TempDir tmp;
  Store st(tmp.path());
  auto before = listing(tmp.path());
  size_t sent = 0;
  store::ReadFn failing = [&](char* buf, size_t n) -> size_t {
    if (sent >= 100000) throw util::Error("client disconnected");
    size_t k = std::min<size_t>(n, 4096);
    std::fill(buf, buf + k, 'z');
    sent += k;
    return k;
  };
  EXPECT_THROW(st.write_blob(digest_of("whatever"), failing), util::Error);
  EXPECT_EQ(listing(tmp.path()), before);

  // A short body (client closed early) hashes differently: mismatch, nothing stored.
  std::string full = "complete body";
  std::istringstream in(full.substr(0, 5));
  EXPECT_THROW(st.write_blob_from_stream(digest_of(full), in), util::Error);
  EXPECT_EQ(listing(tmp.path()), before);
}

TEST(Store, BlobFromFileAndString) {
  TempDir tmp;
  Store st(tmp.path());
  fs::path src = tmp.path() / "input.bin";
  write_text(src, "file contents");
  std::string d = st.write_blob_from_file(src);
  EXPECT_EQ(d, digest_of("file contents"));
  EXPECT_EQ(read_text(st.blob_path(d)), "file contents");
  bool created = false;
  Layer l = st.write_blob_string("hello", store::kMediaTypeSystem, &created);
  EXPECT_TRUE(created);
  EXPECT_EQ(l.digest, digest_of("hello"));
  EXPECT_EQ(l.size, 5);
  EXPECT_EQ(l.media_type, store::kMediaTypeSystem);
  age(st.blob_path(l.digest), std::chrono::hours(5));
  st.write_blob_string("hello", store::kMediaTypeSystem, &created);
  EXPECT_FALSE(created);
  // Reuse touches the blob so the 1-hour prune rule does not take it.
  EXPECT_GT(fs::last_write_time(st.blob_path(l.digest)),
            fs::file_time_type::clock::now() - std::chrono::minutes(1));
}

TEST(Store, CopyAndDelete) {
  TempDir tmp;
  Store st(tmp.path());
  Layer shared = st.write_blob_string("shared weights", store::kMediaTypeModel);
  Layer only_a = st.write_blob_string("system a", store::kMediaTypeSystem);
  Layer only_b = st.write_blob_string("system b", store::kMediaTypeSystem);
  Layer cfg = st.write_blob_string("{}", store::kMediaTypeConfig);
  Manifest a, b;
  a.config = b.config = cfg;
  a.layers = {shared, only_a};
  b.layers = {shared, only_b};
  st.write_manifest(ModelName::parse("ns/a:1"), a);
  st.write_manifest(ModelName::parse("b"), b);

  st.copy(ModelName::parse("NS/A:1"), ModelName::parse("c:copy"));
  EXPECT_EQ(read_text(tmp.path() / "manifests/registry.ollama.ai/library/c/copy"),
            read_text(tmp.path() / "manifests/registry.ollama.ai/ns/a/1"));
  try {
    st.copy(ModelName::parse("missing"), ModelName::parse("d"));
    FAIL();
  } catch (const util::Error& e) {
    EXPECT_EQ(api::http_status(e.kind()), 404);
    EXPECT_STREQ(e.what(), "model \"missing:latest\" not found");
  }

  st.remove(ModelName::parse("ns/a:1"));
  EXPECT_FALSE(fs::exists(tmp.path() / "manifests/registry.ollama.ai/ns"));  // pruned dirs
  EXPECT_TRUE(st.has_blob(only_a.digest));  // still used by the copy
  st.remove(ModelName::parse("c:copy"));
  EXPECT_FALSE(st.has_blob(only_a.digest));
  EXPECT_TRUE(st.has_blob(shared.digest));  // used by b
  EXPECT_TRUE(st.has_blob(cfg.digest));
  try {
    st.remove(ModelName::parse("c:copy"));
    FAIL();
  } catch (const util::Error& e) {
    EXPECT_EQ(api::http_status(e.kind()), 404);
    EXPECT_STREQ(e.what(), "model 'c:copy' not found");
  }
  st.remove(ModelName::parse("b"));
  EXPECT_FALSE(st.has_blob(shared.digest));
  EXPECT_FALSE(st.has_blob(only_b.digest));
  EXPECT_FALSE(st.has_blob(cfg.digest));
  EXPECT_TRUE(fs::exists(tmp.path() / "manifests"));
  EXPECT_TRUE(fs::is_empty(tmp.path() / "manifests"));
}

TEST(Store, ResolvesCaseInsensitively) {
  TempDir tmp;
  Store st(tmp.path());
  Manifest m;
  m.config = st.write_blob_string("{}", store::kMediaTypeConfig);
  st.write_manifest(ModelName::parse("MyNs/Llama3.2:Latest"), m);
  auto r = st.resolve(ModelName::parse("myns/llama3.2"));
  EXPECT_EQ(r.name_space, "MyNs");
  EXPECT_EQ(r.model, "Llama3.2");
  EXPECT_EQ(r.tag, "Latest");
  // A new tag under an existing model reuses the model directory spelling.
  auto n = st.resolve(ModelName::parse("myns/LLAMA3.2:8b"));
  EXPECT_EQ(n.model, "Llama3.2");
  EXPECT_EQ(n.tag, "8b");
  // A new model: the tag takes an existing spelling as Ollama does.
  auto o = st.resolve(ModelName::parse("other:latest"));
  EXPECT_EQ(o.tag, "Latest");
  st.write_manifest(ModelName::parse("myns/llama3.2:8B"), m);
  EXPECT_TRUE(fs::exists(tmp.path() / "manifests/registry.ollama.ai/MyNs/Llama3.2/8B"));
  EXPECT_EQ(st.list().size(), 2u);
}

TEST(Store, ListSortedByModificationTime) {
  TempDir tmp;
  Store st(tmp.path());
  Manifest m;
  m.config = st.write_blob_string("{}", store::kMediaTypeConfig);
  st.write_manifest(ModelName::parse("old"), m);
  st.write_manifest(ModelName::parse("new"), m);
  age(st.manifest_path(ModelName::parse("old")), std::chrono::hours(2));
  // Files with invalid names are not models.
  write_text(tmp.path() / "manifests/registry.ollama.ai/library/new/.tmp-x", "{}");
  auto l = st.list();
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].name.model, "new");
  EXPECT_EQ(l[1].name.model, "old");
}

TEST(Store, PruneFollowsTheOneHourRule) {
  TempDir tmp;
  OllamaModel om;
  om.install(tmp.path(), "registry.ollama.ai/library/m/latest");
  Store st(tmp.path());
  fs::path blobs = tmp.path() / "blobs";
  std::string old_unused = put_blob(tmp.path(), "old unused");
  std::string new_unused = put_blob(tmp.path(), "new unused");
  write_text(blobs / ("sha256-" + std::string(64, 'e') + "-partial"), "partial");
  fs::create_directories(blobs / "subdir");  // not a file: ignored
  for (auto& e : fs::directory_iterator(blobs))
    if (e.path().filename().string().find(new_unused.substr(7)) == std::string::npos)
      age(e.path(), std::chrono::hours(2));
  // Very old layout: sha256:<hex>, referenced by the manifest under its new name.
  std::string legacy = "legacy blob";
  std::string legacy_hex = util::sha256_hex(legacy);
  write_text(blobs / ("sha256:" + legacy_hex), legacy);
  age(blobs / ("sha256:" + legacy_hex), std::chrono::hours(3));
  Manifest keep;
  keep.config = {store::kMediaTypeConfig, "sha256:" + legacy_hex,
                 static_cast<int64_t>(legacy.size()), "", ""};
  st.write_manifest(ModelName::parse("keep"), keep);
  fs::create_directories(tmp.path() / "manifests/registry.ollama.ai/empty/dir");

  EXPECT_EQ(st.prune(), 2);  // old unused + partial
  EXPECT_FALSE(st.has_blob(old_unused));
  EXPECT_TRUE(st.has_blob(new_unused));
  EXPECT_FALSE(fs::exists(blobs / ("sha256-" + std::string(64, 'e') + "-partial")));
  EXPECT_TRUE(st.has_blob(om.d_model));
  EXPECT_TRUE(st.has_blob(om.d_config));
  EXPECT_TRUE(fs::exists(blobs / ("sha256-" + legacy_hex)));
  EXPECT_FALSE(fs::exists(blobs / ("sha256:" + legacy_hex)));
  EXPECT_FALSE(fs::exists(tmp.path() / "manifests/registry.ollama.ai/empty"));
}

TEST(Store, PruneSkipsWhenAManifestIsCorrupt) {
  TempDir tmp;
  Store st(tmp.path());
  std::string unused = put_blob(tmp.path(), "unused");
  age(st.blob_path(unused), std::chrono::hours(2));
  write_text(tmp.path() / "manifests/registry.ollama.ai/library/bad/latest", "{oops");
  EXPECT_EQ(st.prune(), 0);
  EXPECT_TRUE(st.has_blob(unused));
}

TEST(GoJson, MatchesGoEncoder) {
  EXPECT_EQ(store::go_json_string("<|im_end|> & \"q\"\n\t\x01"),
            "\"\\u003c|im_end|\\u003e \\u0026 \\\"q\\\"\\n\\t\\u0001\"");
  EXPECT_EQ(store::go_json_string("caf\xc3\xa9 \xe2\x80\xa8"), "\"caf\xc3\xa9 \\u2028\"");
  EXPECT_EQ(store::go_json_string("bad\xff"), "\"bad\\ufffd\"");
  nlohmann::json j = {{"temperature", store::float32_as_shortest_double(0.7f)},
                      {"stop", {"<|eot_id|>"}},
                      {"num_ctx", 4096},
                      {"a", 1e-7},
                      {"big", 1e21}};
  EXPECT_EQ(store::go_json_encode(j),
            "{\"a\":1e-7,\"big\":1e+21,\"num_ctx\":4096,\"stop\":[\"\\u003c|eot_id|\\u003e\"],"
            "\"temperature\":0.7}");
  EXPECT_EQ(store::go_format_float(0.6), "0.6");
  EXPECT_EQ(store::go_format_float(100), "100");
  EXPECT_EQ(store::go_format_float(-2.5e-9), "-2.5e-9");
}

// A full disk (simulated with a file-size limit: writes fail part-way with EFBIG) leaves no
// blob and no temp file, and says why.
TEST(Store, WriteFailureLeavesNoBlob) {
  TempDir tmp;
  Store st(tmp.path());
  auto before = listing(tmp.path());
  std::string data(1 << 20, 'q');
  struct rlimit old {};
  getrlimit(RLIMIT_FSIZE, &old);
  auto old_handler = signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old;
  small.rlim_cur = 64 * 1024;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  std::string err;
  try {
    std::istringstream in(data);
    st.write_blob_from_stream(digest_of(data), in);
  } catch (const util::Error& e) {
    err = e.what();
  }
  try {
    st.write_blob_string(data, store::kMediaTypeSystem);
  } catch (const util::Error& e) {
    err += std::string(" | ") + e.what();
  }
  setrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, old_handler);
  EXPECT_NE(err.find("File too large"), std::string::npos) << err;
  EXPECT_NE(err.find(" | "), std::string::npos) << err;
  EXPECT_EQ(listing(tmp.path()), before);
  EXPECT_FALSE(st.has_blob(digest_of(data)));
}
