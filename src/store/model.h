// A stored model loaded for use (Ollama's GetModel): config blob, weights path, text layers.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "store/manifest.h"
#include "store/name.h"

namespace store {

class Store;

// The config blob (types/model/config.go ConfigV2). Unknown fields are ignored on read.
struct ConfigV2 {
  std::string model_format;  // "gguf" | "safetensors"
  std::string model_family;  // general.architecture
  std::vector<std::string> model_families;
  std::string model_type;  // parameter size, "8.0B"
  std::string file_type;   // quantization, "Q4_K_M"
  std::string renderer, parser;
  std::string requires_version;  // JSON "requires" (a C++ keyword)
  std::string remote_host, remote_model;
  std::vector<std::string> capabilities;
  int64_t context_length = 0;
  int64_t embedding_length = 0;
  std::string base_name;
  std::optional<nlohmann::ordered_json> draft;  // opaque, kept as read
  std::string architecture = "amd64";
  std::string os = "linux";

  static ConfigV2 parse(std::string_view json_bytes);  // throws util::Error
  // Go json.Encoder form (field order of ConfigV2, omitempty as upstream, "\n" at end).
  std::string to_json() const;
};

struct Message {
  std::string role;
  std::string content;
};

struct Model {
  ModelName name;          // as stored
  std::string short_name;  // display_shortest()
  std::string digest;      // hex sha256 of the manifest bytes
  Manifest manifest;
  ConfigV2 config;
  std::string model_path;    // blob path of the last model layer ("" if none)
  std::string model_digest;  // its digest
  std::string parent_model;  // `from` of that model layer
  std::vector<std::string> projector_paths;
  std::vector<std::string> adapter_paths;
  std::string draft_path;  // blob path of a draft layer ("" if none)
  std::string template_text = "{{ .Prompt }}";
  bool has_template_layer = false;
  std::string system;
  nlohmann::ordered_json options = nlohmann::ordered_json::object();  // params layer
  std::vector<Message> messages;
  std::vector<std::string> licenses;
  int64_t size = 0;  // config + layers
};

// The config blob of a manifest; nullopt (with a warning) when it is missing or corrupt.
// Used for /api/tags details without loading the whole model.
std::optional<ConfigV2> read_config(const Store& store, const Manifest& manifest);

// Loads `name` (resolved case-insensitively). Throws util::not_found("model '<name>' not
// found") when there is no manifest (name = display as given); util::Error on a corrupt
// manifest or missing/corrupt text blobs.
Model load_model(const Store& store, const ModelName& name);

}  // namespace store
