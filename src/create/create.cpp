// The create pipeline: validate every input first, then write text/config blobs and the
// manifest, so a rejected request leaves the store as it was.
#include "create/create.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>

#include "api/options.h"
#include "create/parameters.h"
#include "create/quantize.h"
#include "engine/card.h"
#include "engine/gguf/gguf.h"
#include "engine/gguf/summary.h"
#include "store/gojson.h"
#include "store/model.h"
#include "util/error.h"
#include "util/json.h"
#include "util/log.h"

namespace create {
namespace fs = std::filesystem;
using store::Layer;

namespace {

// A layer under construction; gguf is set for weight layers (model/projector/adapter).
struct PendingLayer {
  Layer layer;
  std::shared_ptr<gguf::File> gguf;
  std::string status;  // "using existing layer ..." / "creating new layer ..."
};

// fs.ValidPath rules: relative, '/'-separated, no empty, "." or ".." elements.
bool is_valid_relative_path(const std::string& p) {
  if (p.empty() || p[0] == '/' || p.find('\\') != std::string::npos) return false;
  size_t start = 0;
  while (true) {
    size_t slash = p.find('/', start);
    std::string e = p.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (e.empty() || e == "." || e == "..") return false;
    if (slash == std::string::npos) return true;
    start = slash + 1;
  }
}

void validate_files(const store::Store& st, const std::map<std::string, std::string>& files) {
  for (const auto& [path, digest] : files) {
    if (!is_valid_relative_path(path)) throw util::bad_request("file path must be relative");
    if (!store::is_valid_digest(digest)) throw util::bad_request("invalid digest format");
    if (!st.has_blob(digest))
      throw util::bad_request("blob " + digest + " for file '" + path +
                              "' not found; upload it with POST /api/blobs/" + digest);
  }
}

bool has_suffix(const std::string& s, const char* suffix) {
  size_t n = std::char_traits<char>::length(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

std::string detect_type(const std::map<std::string, std::string>& files) {
  for (const auto& [path, d] : files)
    if (has_suffix(path, ".safetensors")) return "safetensors";
  for (const auto& [path, d] : files)
    if (has_suffix(path, ".gguf") || has_suffix(path, ".bin")) return "gguf";
  return "";
}

std::shared_ptr<gguf::File> open_gguf(const fs::path& path) {
  char magic[4] = {};
  std::ifstream in(path, std::ios::binary);
  in.read(magic, 4);
  if (in.gcount() != 4 || std::string(magic, 4) != "GGUF")
    throw util::bad_request("supplied file was not in GGUF format");
  try {
    return std::shared_ptr<gguf::File>(gguf::File::open_metadata(path.string()));
  } catch (const util::Error& e) {
    throw util::bad_request(std::string("invalid GGUF file: ") + e.what());
  }
}

// The layer's media type from the file's role (§6.3, engine::ModelCard::role).
const char* classify(const engine::ModelCard& card) {
  switch (card.role) {
    case engine::FileRole::kAdapter:
      return store::kMediaTypeAdapter;
    case engine::FileRole::kProjector:
      return store::kMediaTypeProjector;
    case engine::FileRole::kModel:
      break;
  }
  return store::kMediaTypeModel;
}

std::vector<PendingLayer> gguf_layers(const store::Store& st,
                                      const std::map<std::string, std::string>& files, bool adapter,
                                      const ProgressFn& status) {
  std::string type = detect_type(files);
  if (type == "safetensors")
    throw util::bad_request("importing safetensors models is not supported yet");
  if (type != "gguf") throw util::bad_request("unknown type");
  if (adapter && files.size() > 1)
    throw util::bad_request("only one adapter is currently supported");
  std::vector<PendingLayer> out;
  for (const auto& [path, digest] : files) {
    status({"parsing GGUF"});
    fs::path blob = st.blob_path(digest);
    auto f = open_gguf(blob);
    const auto card = engine::inspect(blob.string());
    if (card->split_count > 1)
      throw util::bad_request("split GGUF files are not supported yet: " + path);
    PendingLayer p;
    p.layer.media_type = adapter ? store::kMediaTypeAdapter : classify(*card);
    p.layer.digest = "sha256:" + std::string(digest.substr(7));
    p.layer.size = st.blob_size(digest);
    p.gguf = f;
    p.status = "using existing layer " + p.layer.digest;
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<PendingLayer> base_model_layers(const store::Store& st, const std::string& from,
                                            const CreateOptions& opts, const ProgressFn& status,
                                            store::ConfigV2* base_config) {
  auto from_name = store::ModelName::parse(from);
  if (!from_name.is_valid()) throw util::bad_request("invalid model name");
  from_name = st.resolve(from_name);
  auto manifest = st.read_manifest(from_name);
  if (!manifest && opts.pull_model) {
    opts.pull_model(from_name, status);
    from_name = st.resolve(from_name);
    manifest = st.read_manifest(from_name);
  }
  if (!manifest) throw util::not_found("model '" + from + "' not found");
  if (!manifest->config.digest.empty() && st.has_blob(manifest->config.digest)) {
    std::ifstream in(st.blob_path(manifest->config.digest), std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    *base_config = store::ConfigV2::parse(text);
  }
  std::vector<PendingLayer> out;
  for (const auto& l : manifest->layers) {
    if (!st.has_blob(l.digest))
      throw util::Error("model '" + from + "' is missing blob " + l.digest);
    PendingLayer p;
    p.layer = l;
    p.layer.from = from_name.display_shortest();
    p.status = "using existing layer " + l.digest;
    bool weights = l.media_type == store::kMediaTypeModel ||
                   l.media_type == store::kMediaTypeProjector ||
                   l.media_type == store::kMediaTypeAdapter;
    if (weights && base_config->model_format != "safetensors")
      p.gguf = open_gguf(st.blob_path(l.digest));
    out.push_back(std::move(p));
  }
  return out;
}

// Quantizes the model layers when asked (§6.3 step 5).
void maybe_quantize(store::Store& st, std::vector<PendingLayer>& layers,
                    const std::string& requested, const ProgressFn& status,
                    std::vector<std::string>& fresh) {
  if (requested.empty()) return;
  std::string want = normalize_quantize_type(requested);
  for (auto& p : layers) {
    if (!p.gguf || p.layer.media_type != store::kMediaTypeModel) continue;
    std::string ft = float_source_type(*p.gguf, gguf::model_file_type(*p.gguf));
    check_quantize_source(ft);
    if (ft == want) continue;
    status({"quantizing " + ft + " model to " + want});
    // Dot-named so a crash leaves a file the start-up prune removes; unique so two creates
    // quantizing the same blob at once do not write one file.
    static std::atomic<uint64_t> seq{0};
    fs::path tmp =
        st.blobs_dir() / (".tmp-quantize-" + want + "-" + p.layer.digest.substr(7) + "-" +
                          std::to_string(::getpid()) + "-" + std::to_string(seq++));
    try {
      quantize_gguf(
          st.blob_path(p.layer.digest).string(), tmp.string(), want,
          [&](int64_t done, int64_t total) {
            status({"quantizing " + ft + " model to " + want, "0000000000000000000", total, done});
          });
      status({"verifying conversion"});
      std::string digest = st.write_blob_from_file(tmp);
      fresh.push_back(digest);
      fs::remove(tmp);
      p.gguf = open_gguf(st.blob_path(digest));
      p.layer = {store::kMediaTypeModel, digest, st.blob_size(digest), "", ""};
      p.status = "creating new layer " + digest;
    } catch (...) {
      std::error_code ec;
      fs::remove(tmp, ec);
      throw;
    }
  }
}

void apply_arch_defaults(const std::string& arch, store::ConfigV2& c, nlohmann::json& params) {
  auto set = [&](const char* r, const char* p) {
    if (c.renderer.empty()) c.renderer = r;
    if (c.parser.empty()) c.parser = p;
  };
  if (arch == "gemma4") {
    set("gemma4", "gemma4");
    if (!params.contains("stop")) params["stop"] = nlohmann::json::array({"<turn|>"});
  } else if (arch == "laguna") {
    set("laguna", "laguna");
  } else if (arch == "nemotron_h" || arch == "nemotron_h_moe" || arch == "nemotron_h_omni") {
    set("nemotron-3-nano", "nemotron-3-nano");
  }
}

// Everything after validation, under the GC lock: layers, text and config blobs, manifest.
// The digests of blobs it creates go to `fresh`.
void write_model(store::Store& st, const store::ModelName& name, const CreateRequest& req,
                 const ProgressFn& status, const CreateOptions& opts,
                 std::vector<std::string>& fresh) {
  std::optional<store::Manifest> old;
  try {
    old = st.read_manifest(name);
  } catch (const std::exception& e) {
    LOG_WARN("previous manifest of {} is unreadable: {}", name.display_shortest(), e.what());
  }

  // 1. Weight layers: from a stored model or from uploaded GGUF blobs. Nothing is written.
  store::ConfigV2 base;
  std::vector<PendingLayer> layers;
  if (!req.from.empty()) {
    layers = base_model_layers(st, req.from, opts, status, &base);
  } else if (!req.files.empty()) {
    layers = gguf_layers(st, req.files, false, status);
  } else {
    throw util::bad_request("neither 'from' or 'files' was specified");
  }
  if (!req.adapters.empty()) {
    auto ad = gguf_layers(st, req.adapters, true, status);
    layers.insert(layers.end(), ad.begin(), ad.end());
  }
  maybe_quantize(st, layers, req.quantize, status, fresh);

  // 2. Config from the weights, inheriting the base model's renderer/parser/requires.
  store::ConfigV2 config;
  config.renderer = req.renderer.empty() ? base.renderer : req.renderer;
  config.parser = req.parser.empty() ? base.parser : req.parser;
  config.requires_version =
      req.requires_version.empty() ? base.requires_version : req.requires_version;
  config.capabilities = base.capabilities;
  config.model_format = base.model_format;
  const PendingLayer* first_model = nullptr;
  for (const auto& p : layers) {
    if (!p.gguf) continue;
    config.model_families.push_back(p.gguf->architecture());
    if (!first_model && p.layer.media_type == store::kMediaTypeModel) first_model = &p;
  }
  for (const auto& p : layers)
    if (!first_model && p.gguf) first_model = &p;
  nlohmann::json params = req.parameters.is_object() ? req.parameters : nlohmann::json::object();
  if (first_model) {
    auto sum = gguf::summarize(*first_model->gguf);
    if (config.model_format.empty()) config.model_format = "gguf";
    config.model_family = sum.architecture;
    config.model_type = sum.parameter_size;
    config.file_type = sum.file_type;
    apply_arch_defaults(sum.architecture, config, params);
  }

  // 3. Text layers. Replaced layers are remembered and deleted later if nothing uses them.
  std::vector<std::string> dropped;
  auto drop = [&](const char* media_type) {
    for (auto it = layers.begin(); it != layers.end();) {
      if (it->layer.media_type == media_type) {
        dropped.push_back(it->layer.digest);
        it = layers.erase(it);
      } else {
        ++it;
      }
    }
  };
  auto add_text = [&](std::string_view text, const char* media_type) {
    bool created = false;
    PendingLayer p;
    p.layer = st.write_blob_string(text, media_type, &created);
    if (created) fresh.push_back(p.layer.digest);
    p.status = (created ? "creating new layer " : "using existing layer ") + p.layer.digest;
    layers.push_back(std::move(p));
  };
  if (!req.template_text.empty()) {
    drop(store::kMediaTypeTemplate);
    add_text(req.template_text, store::kMediaTypeTemplate);
  }
  if (!req.system.empty()) {
    drop(store::kMediaTypeSystem);
    add_text(req.system, store::kMediaTypeSystem);
  }
  for (const auto& l : req.license) add_text(l, store::kMediaTypeLicense);
  for (const auto& p : layers) {
    if (p.layer.media_type != store::kMediaTypeParams) continue;
    std::ifstream in(st.blob_path(p.layer.digest), std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto existing = util::parse_json_or_discarded(text);
    if (!existing.is_object()) throw util::Error("base model params layer is not a JSON object");
    for (auto it = existing.begin(); it != existing.end(); ++it)
      if (!params.contains(it.key())) params[it.key()] = it.value();
  }
  if (!params.empty()) {
    drop(store::kMediaTypeParams);
    add_text(store::go_json_encode(params) + "\n", store::kMediaTypeParams);
  }
  if (req.messages.is_array() && !req.messages.empty()) {
    drop(store::kMediaTypeMessages);
    std::string text = "[";
    for (size_t i = 0; i < req.messages.size(); ++i) {
      const auto& m = req.messages[i];
      text += (i ? ",{\"role\":" : "{\"role\":") +
              store::go_json_string(m["role"].get<std::string>()) +
              ",\"content\":" + store::go_json_string(m["content"].get<std::string>()) + "}";
    }
    add_text(text + "]\n", store::kMediaTypeMessages);
  }

  // 4. Config blob, statuses, manifest.
  store::Manifest manifest;
  bool config_created = false;
  manifest.config =
      st.write_blob_string(config.to_json(), store::kMediaTypeConfig, &config_created);
  if (config_created) fresh.push_back(manifest.config.digest);
  for (const auto& p : layers) {
    st.touch_blob(p.layer.digest);
    manifest.layers.push_back(p.layer);
    status({p.status});
  }
  status({"writing manifest"});
  st.write_manifest(name, manifest);

  // Replaced layers go now unless the previous manifest of this name used them: those follow
  // the prune rule below (kept with OLLAMA_NOPRUNE), as upstream.
  std::vector<std::string> old_digests = old ? old->all_digests() : std::vector<std::string>{};
  std::vector<std::string> orphans;
  for (const auto& d : dropped)
    if (std::find(old_digests.begin(), old_digests.end(), d) == old_digests.end())
      orphans.push_back(d);
  st.remove_unreferenced(orphans);
  if (!opts.noprune) st.remove_unreferenced(old_digests);
  status({"success"});
}

}  // namespace

void create_model(store::Store& st, const CreateRequest& req, const ProgressFn& status,
                  const CreateOptions& opts) {
  auto name = store::ModelName::parse(req.model);
  if (!name.is_valid()) throw util::bad_request("invalid model name");
  name = st.resolve(name);
  validate_files(st, req.files);
  validate_files(st, req.adapters);
  if (!req.parameters.is_null() && !req.parameters.is_object())
    throw util::bad_request("parameters must be an object");
  // Stored parameters apply to every later request: one that cannot be used (a num_ctx of
  // "abc") is refused now, not on each chat.
  if (req.parameters.is_object()) (void)api::Options::parse(req.parameters);
  if (!req.messages.is_null() && !req.messages.is_array())
    throw util::bad_request("messages must be an array");
  for (const auto& m : req.messages.is_array() ? req.messages : nlohmann::json::array())
    if (!m.is_object() || !m.value("role", nlohmann::json()).is_string() ||
        !m.value("content", nlohmann::json()).is_string())
      throw util::bad_request("each message must have a string role and content");

  if (!req.template_text.empty() && opts.validate_template) {
    try {
      opts.validate_template(req.template_text);
    } catch (const std::exception& e) {
      throw util::bad_request(std::string("template error: ") + e.what());
    }
  }

  auto gc = st.gc_lock();  // no blob we rely on may be collected before the manifest lands
  std::vector<std::string> fresh;
  try {
    write_model(st, name, req, status, opts, fresh);
  } catch (...) {
    // A failed create leaves no blob it wrote behind (uploaded files stay: a client retries
    // with them).
    st.remove_unreferenced(fresh);
    throw;
  }
}

}  // namespace create
