// Config blob (ConfigV2) I/O and loading a stored model's layers into a Model view.
#include "store/model.h"

#include <fstream>
#include <sstream>

#include "store/store.h"
#include "util/error.h"
#include "util/json.h"
#include "util/log.h"

namespace store {
namespace {

std::string str_field(const nlohmann::ordered_json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

std::vector<std::string> str_list(const nlohmann::ordered_json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& e : *it)
    if (e.is_string()) out.push_back(e.get<std::string>());
  return out;
}

int64_t int_field(const nlohmann::ordered_json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return 0;
  return it->is_number_float() ? static_cast<int64_t>(it->get<double>()) : it->get<int64_t>();
}

std::string list_json(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    out += go_json_string(v[i]);
  }
  return out + "]";
}

std::string read_blob_text(const Store& st, const Layer& l) {
  std::ifstream in(st.blob_path(l.digest), std::ios::binary);
  if (!in) throw util::Error("open blob " + l.digest + " (" + l.media_type + "): missing");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

ConfigV2 ConfigV2::parse(std::string_view bytes) {
  auto j = util::parse_json_or_discarded<nlohmann::ordered_json>(bytes);
  if (j.is_discarded() || !j.is_object()) throw util::Error("invalid model config: not JSON");
  ConfigV2 c;
  c.model_format = str_field(j, "model_format");
  c.model_family = str_field(j, "model_family");
  c.model_families = str_list(j, "model_families");
  c.model_type = str_field(j, "model_type");
  c.file_type = str_field(j, "file_type");
  c.renderer = str_field(j, "renderer");
  c.parser = str_field(j, "parser");
  c.requires_version = str_field(j, "requires");
  c.remote_host = str_field(j, "remote_host");
  c.remote_model = str_field(j, "remote_model");
  c.capabilities = str_list(j, "capabilities");
  c.context_length = int_field(j, "context_length");
  c.embedding_length = int_field(j, "embedding_length");
  c.base_name = str_field(j, "base_name");
  if (auto it = j.find("draft"); it != j.end() && it->is_object()) c.draft = *it;
  c.architecture = str_field(j, "architecture");
  c.os = str_field(j, "os");
  return c;
}

std::string ConfigV2::to_json() const {
  std::string out = "{\"model_format\":" + go_json_string(model_format);
  out += ",\"model_family\":" + go_json_string(model_family);
  // A Go nil slice encodes as null.
  out += ",\"model_families\":" + (model_families.empty() ? "null" : list_json(model_families));
  out += ",\"model_type\":" + go_json_string(model_type);
  out += ",\"file_type\":" + go_json_string(file_type);
  auto opt = [&out](const char* key, const std::string& v) {
    if (!v.empty()) out += std::string(",\"") + key + "\":" + go_json_string(v);
  };
  opt("renderer", renderer);
  opt("parser", parser);
  opt("requires", requires_version);
  opt("remote_host", remote_host);
  opt("remote_model", remote_model);
  if (!capabilities.empty()) out += ",\"capabilities\":" + list_json(capabilities);
  if (context_length) out += ",\"context_length\":" + std::to_string(context_length);
  if (embedding_length) out += ",\"embedding_length\":" + std::to_string(embedding_length);
  opt("base_name", base_name);
  if (draft && !draft->empty()) {
    // Draft fields are all strings with omitempty, in struct order.
    std::string d;
    for (const char* k : {"model_format", "architecture", "tensor_prefix", "config"}) {
      std::string v = str_field(*draft, k);
      if (v.empty()) continue;
      d += (d.empty() ? "" : ",") + go_json_string(k) + ":" + go_json_string(v);
    }
    out += ",\"draft\":{" + d + "}";
  }
  out += ",\"architecture\":" + go_json_string(architecture);
  out += ",\"os\":" + go_json_string(os);
  return out + "}\n";
}

std::optional<ConfigV2> read_config(const Store& st, const Manifest& manifest) {
  if (!is_valid_digest(manifest.config.digest)) return std::nullopt;
  try {
    return ConfigV2::parse(read_blob_text(st, manifest.config));
  } catch (const std::exception& e) {
    LOG_WARN("config {}: {}", manifest.config.digest, e.what());
    return std::nullopt;
  }
}

Model load_model(const Store& st, const ModelName& requested) {
  ModelName name = st.resolve(requested);
  auto bytes = st.read_manifest_bytes(name);
  if (!bytes) throw util::not_found("model '" + requested.display_shortest() + "' not found");
  Model m;
  m.name = name;
  m.short_name = name.display_shortest();
  m.digest = st.manifest_digest(name).value_or("");
  try {
    m.manifest = Manifest::parse(*bytes);
  } catch (const util::Error& e) {
    throw util::Error("manifest " + m.short_name + ": " + e.what());
  }
  m.size = m.manifest.total_size();
  if (!m.manifest.config.digest.empty()) {
    try {
      m.config = ConfigV2::parse(read_blob_text(st, m.manifest.config));
    } catch (const util::Error& e) {
      throw util::Error("model " + m.short_name + " config: " + e.what());
    }
  }
  for (const auto& l : m.manifest.layers) {
    const std::string& mt = l.media_type;
    if (mt == kMediaTypeModel) {
      m.model_path = st.blob_path(l.digest).string();
      m.model_digest = l.digest;
      m.parent_model = l.from;
    } else if (mt == kMediaTypeProjector) {
      m.projector_paths.push_back(st.blob_path(l.digest).string());
    } else if (mt == kMediaTypeAdapter) {
      m.adapter_paths.push_back(st.blob_path(l.digest).string());
    } else if (mt == kMediaTypeDraft) {
      m.draft_path = st.blob_path(l.digest).string();
    } else if (mt == kMediaTypeTemplate || mt == kMediaTypePrompt) {
      m.template_text = read_blob_text(st, l);
      m.has_template_layer = true;
    } else if (mt == kMediaTypeSystem) {
      m.system = read_blob_text(st, l);
    } else if (mt == kMediaTypeParams) {
      auto j = util::parse_json_or_discarded<nlohmann::ordered_json>(read_blob_text(st, l));
      if (j.is_discarded() || !j.is_object())
        throw util::Error("model " + m.short_name + ": params layer is not a JSON object");
      m.options = std::move(j);
    } else if (mt == kMediaTypeMessages) {
      auto j = util::parse_json_or_discarded(read_blob_text(st, l));
      if (j.is_discarded() || !j.is_array())
        throw util::Error("model " + m.short_name + ": messages layer is not a JSON array");
      for (const auto& e : j) {
        if (!e.is_object()) continue;
        Message msg;
        msg.role = e.value("role", "");
        msg.content = e.value("content", "");
        m.messages.push_back(std::move(msg));
      }
    } else if (mt == kMediaTypeLicense) {
      m.licenses.push_back(read_blob_text(st, l));
    } else if (mt == kMediaTypeEmbed) {
      LOG_WARN("model {} has an obsolete embed layer; ignoring it", m.short_name);
    }
  }
  return m;
}

}  // namespace store
