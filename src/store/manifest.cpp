// Manifest JSON read/write in Ollama's exact encoder form.
#include "store/manifest.h"

#include <nlohmann/json.hpp>

#include "util/error.h"
#include "util/json.h"

namespace store {
namespace {

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

std::string get_string_field(const nlohmann::json& o, const char* key, const char* what) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return "";
  if (!it->is_string())
    throw util::Error(std::string("invalid manifest: ") + what + " field '" + key +
                      "' is not a string");
  return it->get<std::string>();
}

Layer parse_layer(const nlohmann::json& o, const char* what) {
  if (!o.is_object())
    throw util::Error(std::string("invalid manifest: ") + what + " is not an object");
  Layer l;
  l.media_type = get_string_field(o, "mediaType", what);
  l.digest = get_string_field(o, "digest", what);
  l.from = get_string_field(o, "from", what);
  l.name = get_string_field(o, "name", what);
  auto it = o.find("size");
  if (it != o.end() && !it->is_null()) {
    if (!it->is_number_integer())
      throw util::Error(std::string("invalid manifest: ") + what + " size is not an integer");
    l.size = it->get<int64_t>();
  }
  return l;
}

void encode_layer(const Layer& l, std::string& out) {
  out += "{\"mediaType\":" + go_json_string(l.media_type);
  out += ",\"digest\":" + go_json_string(l.digest);
  out += ",\"size\":" + std::to_string(l.size);
  if (!l.from.empty()) out += ",\"from\":" + go_json_string(l.from);
  if (!l.name.empty()) out += ",\"name\":" + go_json_string(l.name);
  out += '}';
}

}  // namespace

bool is_valid_digest(std::string_view d) {
  if (d.size() != 71 || d.substr(0, 6) != "sha256" || (d[6] != ':' && d[6] != '-')) return false;
  for (size_t i = 7; i < d.size(); ++i)
    if (!is_hex(d[i])) return false;
  return true;
}

Manifest Manifest::parse(std::string_view bytes) {
  nlohmann::json j = util::parse_json_or_discarded(bytes);
  if (j.is_discarded()) throw util::Error("invalid manifest: not valid JSON");
  if (!j.is_object()) throw util::Error("invalid manifest: not a JSON object");
  Manifest m;
  m.schema_version = 0;
  if (auto it = j.find("schemaVersion"); it != j.end() && !it->is_null()) {
    if (!it->is_number_integer())
      throw util::Error("invalid manifest: schemaVersion is not an integer");
    m.schema_version = it->get<int>();
  }
  m.media_type = get_string_field(j, "mediaType", "manifest");
  if (auto it = j.find("config"); it != j.end() && !it->is_null())
    m.config = parse_layer(*it, "config");
  if (auto it = j.find("layers"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) throw util::Error("invalid manifest: layers is not an array");
    for (const auto& l : *it) m.layers.push_back(parse_layer(l, "layer"));
  }
  return m;
}

std::string Manifest::to_json() const {
  std::string out = "{\"schemaVersion\":" + std::to_string(schema_version);
  out += ",\"mediaType\":" + go_json_string(media_type);
  out += ",\"config\":";
  encode_layer(config, out);
  out += ",\"layers\":";
  // A Go nil slice encodes as null; Ollama always writes a non-nil slice for created models.
  out += '[';
  for (size_t i = 0; i < layers.size(); ++i) {
    if (i) out += ',';
    encode_layer(layers[i], out);
  }
  out += "]}\n";
  return out;
}

int64_t Manifest::total_size() const {
  int64_t n = config.size;
  for (const auto& l : layers) n += l.size;
  return n;
}

std::vector<std::string> Manifest::all_digests() const {
  std::vector<std::string> out;
  if (!config.digest.empty()) out.push_back(config.digest);
  for (const auto& l : layers) out.push_back(l.digest);
  return out;
}

}  // namespace store
