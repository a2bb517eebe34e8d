// The create pipeline on a real GGUF (stories260K): layers, statuses, config, inheritance,
// pruning, and errors that leave the store untouched.
#include "create/create.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "api/status.h"
#include "create/parameters.h"
#include "engine/gguf/writer.h"
#include "store/model.h"
#include "store/store.h"
#include "util/error.h"
#include "util/sha256.h"

namespace fs = std::filesystem;
using create::CreateRequest;
using store::ModelName;
using store::Store;

namespace {

const char kStoriesDigest[] =
    "sha256:270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d";

fs::path stories_path() { return fs::path(OLLAMA_SHARED_DIR) / "testdata/real/stories260K.gguf"; }

class CreateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "create-test-XXXXXX").string();
    root_ = mkdtemp(tmpl.data());
    st_ = std::make_unique<Store>(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string put_stories() { return st_->write_blob_from_file(stories_path()); }

  std::string put_bytes(const std::string& data) {
    std::string d = "sha256:" + util::sha256_hex(data);
    std::istringstream in(data);
    st_->write_blob_from_stream(d, in);
    return d;
  }

  std::vector<std::string> run(const CreateRequest& req, create::CreateOptions opts = {}) {
    std::vector<std::string> statuses;
    create::create_model(
        *st_, req, [&](const create::Progress& p) { statuses.push_back(p.status); }, opts);
    return statuses;
  }

  std::string error_of(const CreateRequest& req, int* status = nullptr) {
    try {
      run(req);
    } catch (const util::Error& e) {
      if (status) *status = api::http_status(e.kind());
      return e.what();
    }
    return "<no error>";
  }

  std::string blob_text(const std::string& digest) {
    std::ifstream in(st_->blob_path(digest), std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  // Names and sizes of everything under the store.
  std::map<std::string, uintmax_t> snapshot() {
    std::map<std::string, uintmax_t> out;
    for (auto& e : fs::recursive_directory_iterator(root_))
      out[fs::relative(e.path(), root_).string()] = e.is_regular_file() ? e.file_size() : 0;
    return out;
  }

  CreateRequest stories_request() {
    CreateRequest r;
    r.model = "story";
    r.files = {{"stories260K.gguf", put_stories()}};
    r.template_text = "{{ .System }} {{ .Prompt }}";
    r.system = "You tell stories.";
    r.license = {"MIT", "Second license"};
    r.parameters = {{"temperature", create::format_param("temperature", "0.7")},
                    {"stop", {"<|im_end|>"}}};
    r.messages = nlohmann::json::array({{{"role", "user"}, {"content", "Once"}},
                                        {{"role", "assistant"}, {"content", "upon a time"}}});
    return r;
  }

  fs::path root_;
  std::unique_ptr<Store> st_;
};

std::string digest(const std::string& text) { return "sha256:" + util::sha256_hex(text); }

}  // namespace

TEST_F(CreateTest, FromGgufBlobWithTextLayers) {
  CreateRequest req = stories_request();
  ASSERT_EQ(req.files.begin()->second, kStoriesDigest);
  auto statuses = run(req);

  const std::string params = "{\"stop\":[\"\\u003c|im_end|\\u003e\"],\"temperature\":0.7}\n";
  const std::string messages =
      "[{\"role\":\"user\",\"content\":\"Once\"},"
      "{\"role\":\"assistant\",\"content\":\"upon a time\"}]\n";
  std::vector<std::string> want = {"parsing GGUF",
                                   std::string("using existing layer ") + kStoriesDigest,
                                   "creating new layer " + digest("{{ .System }} {{ .Prompt }}"),
                                   "creating new layer " + digest("You tell stories."),
                                   "creating new layer " + digest("MIT"),
                                   "creating new layer " + digest("Second license"),
                                   "creating new layer " + digest(params),
                                   "creating new layer " + digest(messages),
                                   "writing manifest",
                                   "success"};
  EXPECT_EQ(statuses, want);

  auto m = store::load_model(*st_, ModelName::parse("story"));
  EXPECT_EQ(m.model_path, st_->blob_path(kStoriesDigest).string());
  EXPECT_EQ(m.template_text, "{{ .System }} {{ .Prompt }}");
  EXPECT_EQ(m.system, "You tell stories.");
  EXPECT_EQ(m.licenses, (std::vector<std::string>{"MIT", "Second license"}));
  EXPECT_EQ(m.options.dump(), "{\"stop\":[\"<|im_end|>\"],\"temperature\":0.7}");
  ASSERT_EQ(m.messages.size(), 2u);
  EXPECT_EQ(m.messages[1].content, "upon a time");
  EXPECT_EQ(m.parent_model, "");

  // Text blobs in Go's encoder form, config filled from the GGUF (292800 parameters).
  EXPECT_EQ(blob_text(digest(params)), params);
  EXPECT_EQ(blob_text(m.manifest.config.digest),
            "{\"model_format\":\"gguf\",\"model_family\":\"llama\",\"model_families\":"
            "[\"llama\"],\"model_type\":\"293K\",\"file_type\":\"unknown\",\"architecture\":"
            "\"amd64\",\"os\":\"linux\"}\n");
  std::vector<std::string> media;
  for (auto& l : m.manifest.layers) media.push_back(l.media_type);
  EXPECT_EQ(media, (std::vector<std::string>{store::kMediaTypeModel, store::kMediaTypeTemplate,
                                             store::kMediaTypeSystem, store::kMediaTypeLicense,
                                             store::kMediaTypeLicense, store::kMediaTypeParams,
                                             store::kMediaTypeMessages}));
  EXPECT_EQ(m.manifest.layers[0].size, 1185376);
  EXPECT_EQ(m.manifest.config.media_type, store::kMediaTypeConfig);

  auto listed = st_->list();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].name.display_shortest(), "story:latest");
  EXPECT_EQ(listed[0].size, m.size);

  // Same request again: every layer already exists.
  auto again = run(stories_request());
  EXPECT_EQ(again[2], "using existing layer " + digest("{{ .System }} {{ .Prompt }}"));
}

TEST_F(CreateTest, FromExistingModelInheritsAndMerges) {
  run(stories_request());
  CreateRequest d;
  d.model = "me/derived:v1";
  d.from = "Story";  // case-insensitive
  d.system = "New system.";
  d.license = {"Extra"};
  d.parameters = {{"top_k", 10}, {"temperature", 0.2}};
  auto statuses = run(d);
  EXPECT_EQ(statuses[0], std::string("using existing layer ") + kStoriesDigest);
  EXPECT_EQ(statuses.back(), "success");

  auto m = store::load_model(*st_, ModelName::parse("me/derived:v1"));
  EXPECT_EQ(m.parent_model, "story:latest");
  EXPECT_EQ(m.manifest.layers[0].from, "story:latest");
  EXPECT_EQ(m.model_path, st_->blob_path(kStoriesDigest).string());
  EXPECT_EQ(m.template_text, "{{ .System }} {{ .Prompt }}");  // inherited
  EXPECT_EQ(m.system, "New system.");
  // Licenses accumulate across derived models.
  EXPECT_EQ(m.licenses, (std::vector<std::string>{"MIT", "Second license", "Extra"}));
  EXPECT_EQ(m.options.dump(), "{\"stop\":[\"<|im_end|>\"],\"temperature\":0.2,\"top_k\":10}");
  EXPECT_EQ(m.messages.size(), 2u);  // inherited
  EXPECT_EQ(m.config.model_family, "llama");
  EXPECT_EQ(m.config.model_type, "293K");

  // Removing the base keeps every blob the derived model still uses.
  st_->remove(ModelName::parse("story"));
  auto again = store::load_model(*st_, ModelName::parse("me/derived:v1"));
  EXPECT_EQ(again.messages.size(), 2u);
  EXPECT_TRUE(st_->has_blob(kStoriesDigest));
  EXPECT_FALSE(st_->has_blob(digest("You tell stories.")));  // only the base used it
}

TEST_F(CreateTest, OverwritePrunesOldLayersUnlessNoprune) {
  run(stories_request());
  CreateRequest r = stories_request();
  r.system = "Second system.";
  run(r);
  EXPECT_FALSE(st_->has_blob(digest("You tell stories.")));
  EXPECT_TRUE(st_->has_blob(digest("Second system.")));
  r.system = "Third system.";
  run(r, {.noprune = true});
  EXPECT_TRUE(st_->has_blob(digest("Second system.")));
  EXPECT_EQ(store::load_model(*st_, ModelName::parse("story")).system, "Third system.");
}

TEST_F(CreateTest, CorruptGgufLeavesStoreUnchanged) {
  std::ifstream in(stories_path(), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string truncated = put_bytes(bytes.substr(0, 20000));
  std::string not_gguf = put_bytes("this is not a model");
  std::ifstream v1(
      fs::path(OLLAMA_SHARED_DIR) / "testdata/real/legacy/tinyllamas-stories-260k-f32.ggufv1.gguf",
      std::ios::binary);
  std::string v1_digest = put_bytes(
      std::string((std::istreambuf_iterator<char>(v1)), std::istreambuf_iterator<char>()));
  auto before = snapshot();

  for (const auto& d : {truncated, v1_digest}) {
    CreateRequest r = stories_request();
    r.files = {{"model.gguf", d}};
    before = snapshot();  // stories_request() stored the real GGUF blob
    int status = 0;
    std::string err = error_of(r, &status);
    EXPECT_EQ(status, 400) << err;
    EXPECT_EQ(err.rfind("invalid GGUF file: ", 0), 0u) << err;
    EXPECT_EQ(snapshot(), before);
  }
  CreateRequest r = stories_request();
  r.files = {{"model.gguf", not_gguf}};
  before = snapshot();
  EXPECT_EQ(error_of(r), "supplied file was not in GGUF format");
  EXPECT_EQ(snapshot(), before);
  EXPECT_TRUE(st_->list().empty());
}

TEST_F(CreateTest, RequestErrors) {
  std::string d = put_stories();
  auto before = snapshot();
  auto check = [&](CreateRequest r, const std::string& want, int want_status) {
    int status = 0;
    EXPECT_EQ(error_of(r, &status), want);
    EXPECT_EQ(status, want_status) << want;
    EXPECT_EQ(snapshot(), before) << want;
  };
  CreateRequest r;
  r.model = "m";
  check(r, "neither 'from' or 'files' was specified", 400);
  r.model = "bad//name";
  r.from = "story";
  check(r, "invalid model name", 400);
  r.model = "m";
  r.from = "nope";
  check(r, "model 'nope' not found", 404);
  r.from = "bad::name";
  check(r, "invalid model name", 400);
  r.from = "";
  r.files = {{"model.gguf", "sha256:1234"}};
  check(r, "invalid digest format", 400);
  r.files = {{"model.gguf", ""}};
  check(r, "invalid digest format", 400);
  for (const char* p : {"/abs/model.gguf", "../model.gguf", "a/../../b.gguf", "", "a//b.gguf"}) {
    r.files = {{p, d}};
    check(r, "file path must be relative", 400);
  }
  r.files = {{"model.txt", d}};
  check(r, "unknown type", 400);
  r.files = {{"model.gguf", d}};
  r.adapters = {{"a.gguf", d}, {"b.gguf", d}};
  check(r, "only one adapter is currently supported", 400);
  r.adapters.clear();
  // We quantize to more mixes than Ollama (Q5_0, Q3_K_M, ...); an unknown one keeps Ollama's text.
  r.quantize = "q9_z";
  check(r,
        "unsupported quantization type Q9_Z - supported types are F32, F16, Q4_K_S, Q4_K_M, "
        "Q8_0",
        400);
  // Only float models can be quantized; an already-quantized source is refused.
  std::string q8 = st_->write_blob_from_file(fs::path(OLLAMA_SHARED_DIR) /
                                             "testdata/models/tiny-llama-e256-q8_0.gguf");
  before = snapshot();
  r.files = {{"model.gguf", q8}};
  r.quantize = "q4_k_m";
  check(r, "quantization is only supported for F16, BF16 and F32 models", 400);
}

TEST_F(CreateTest, RequestFromJson) {
  auto r = create::create_request_from_json(nlohmann::json::parse(R"({
    "name": "x", "files": {"m.gguf": "sha256:aa"}, "license": "MIT",
    "quantization": "q8_0", "requires": "0.14.0", "parameters": {"top_k": 1},
    "messages": [{"role": "user", "content": "hi"}]})"));
  EXPECT_EQ(r.model, "x");
  EXPECT_EQ(r.files.at("m.gguf"), "sha256:aa");
  EXPECT_EQ(r.license, (std::vector<std::string>{"MIT"}));
  EXPECT_EQ(r.quantize, "q8_0");
  EXPECT_EQ(r.requires_version, "0.14.0");
  EXPECT_EQ(r.parameters["top_k"], 1);
  EXPECT_EQ(r.messages.size(), 1u);
  auto l = create::create_request_from_json(
      nlohmann::json::parse(R"({"model": "y", "license": ["a", "b"]})"));
  EXPECT_EQ(l.license, (std::vector<std::string>{"a", "b"}));
  EXPECT_THROW(create::create_request_from_json(nlohmann::json::parse(R"({"template": 3})")),
               util::Error);
  EXPECT_THROW(create::create_request_from_json(nlohmann::json::parse(R"({"files": []})")),
               util::Error);
}

namespace {

// A tiny real GGUF written with our writer: one F32 tensor and the given metadata.
void write_gguf(const fs::path& path, const std::vector<std::pair<std::string, std::string>>& kv,
                const std::vector<std::pair<std::string, bool>>& bools = {}) {
  gguf::Writer w;
  for (const auto& [k, v] : kv) w.set_string(k, v);
  for (const auto& [k, v] : bools) w.set_bool(k, v);
  w.add_tensor("t.weight", {4, 2}, 0, std::vector<uint8_t>(32, 0));
  w.write(path.string());
}

}  // namespace

TEST_F(CreateTest, ClassifiesProjectorAndAdapter) {
  fs::path proj = root_ / "proj.gguf";
  write_gguf(proj, {{"general.architecture", "clip"}}, {{"clip.has_vision_encoder", true}});
  fs::path lora = root_ / "lora.gguf";
  write_gguf(lora, {{"general.architecture", "llama"}, {"general.type", "adapter"}});
  CreateRequest r;
  r.model = "vision";
  r.files = {{"mmproj.gguf", st_->write_blob_from_file(proj)}, {"model.gguf", put_stories()}};
  r.adapters = {{"lora.gguf", st_->write_blob_from_file(lora)}};
  auto statuses = run(r);
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), "parsing GGUF"), 3);
  auto m = store::load_model(*st_, ModelName::parse("vision"));
  EXPECT_EQ(m.model_path, st_->blob_path(kStoriesDigest).string());
  ASSERT_EQ(m.projector_paths.size(), 1u);
  EXPECT_EQ(m.projector_paths[0], st_->blob_path(r.files["mmproj.gguf"]).string());
  ASSERT_EQ(m.adapter_paths.size(), 1u);
  EXPECT_EQ(m.adapter_paths[0], st_->blob_path(r.adapters["lora.gguf"]).string());
  // Family from the model layer; families list every weight layer's architecture.
  EXPECT_EQ(m.config.model_family, "llama");
  EXPECT_EQ(m.config.model_families, (std::vector<std::string>{"clip", "llama", "llama"}));
}

TEST_F(CreateTest, TemplateValidationAndPullHooks) {
  create::CreateOptions opts;
  opts.validate_template = [](const std::string& t) {
    if (t.find("{{ end }}") != std::string::npos) throw std::runtime_error("unexpected {{end}}");
  };
  CreateRequest r = stories_request();
  r.template_text = "{{ .Prompt }}{{ end }}";
  auto before = snapshot();
  try {
    run(r, opts);
    FAIL();
  } catch (const util::Error& e) {
    EXPECT_EQ(api::http_status(e.kind()), 400);
    EXPECT_STREQ(e.what(), "template error: unexpected {{end}}");
  }
  EXPECT_EQ(snapshot(), before);

  // A missing base is fetched through the hook, then inherited like a local one.
  run(stories_request());
  std::vector<std::string> pulled;
  opts.pull_model = [&](const ModelName& n, const create::ProgressFn& status) {
    pulled.push_back(n.display_shortest());
    status({"pulling manifest"});
    st_->copy(ModelName::parse("story"), n);
  };
  CreateRequest d;
  d.model = "child";
  d.from = "remote/base:1b";
  auto statuses = run(d, opts);
  EXPECT_EQ(pulled, (std::vector<std::string>{"remote/base:1b"}));
  EXPECT_EQ(statuses[0], "pulling manifest");
  EXPECT_EQ(store::load_model(*st_, ModelName::parse("child")).parent_model, "remote/base:1b");
}

TEST_F(CreateTest, QuantizeWritesAQuantizedModelLayer) {
  CreateRequest req;
  req.model = "stories-q8";
  req.files = {{"stories.gguf", put_stories()}};
  req.quantize = "q8_0";
  auto statuses = run(req);
  EXPECT_NE(std::find(statuses.begin(), statuses.end(), "quantizing F32 model to Q8_0"),
            statuses.end());
  EXPECT_NE(std::find(statuses.begin(), statuses.end(), "verifying conversion"), statuses.end());
  auto m = store::load_model(*st_, ModelName::parse("stories-q8"));
  EXPECT_EQ(m.config.file_type, "Q8_0");
  auto f = gguf::File::open(m.model_path);
  EXPECT_EQ(f->tensor("blk.0.attn_q.weight")->type, 8u);     // Q8_0
  EXPECT_EQ(f->tensor("blk.0.attn_norm.weight")->type, 0u);  // norms stay F32
  // An unsupported target is refused with Ollama's text and writes nothing.
  req.model = "stories-bad";
  req.quantize = "q9_z";
  EXPECT_EQ(
      error_of(req),
      "unsupported quantization type Q9_Z - supported types are F32, F16, Q4_K_S, Q4_K_M, Q8_0");
  EXPECT_FALSE(st_->read_manifest(ModelName::parse("stories-bad")).has_value());
}
