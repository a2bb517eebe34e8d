// Docker v2 schema-2 manifests as Ollama writes them (§8.3): layers, media types, JSON I/O.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "store/gojson.h"

namespace store {

inline constexpr char kMediaTypeManifest[] = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr char kMediaTypeConfig[] = "application/vnd.docker.container.image.v1+json";
inline constexpr char kMediaTypeModel[] = "application/vnd.ollama.image.model";
inline constexpr char kMediaTypeProjector[] = "application/vnd.ollama.image.projector";
inline constexpr char kMediaTypeAdapter[] = "application/vnd.ollama.image.adapter";
inline constexpr char kMediaTypeDraft[] = "application/vnd.ollama.image.draft";
inline constexpr char kMediaTypeTemplate[] = "application/vnd.ollama.image.template";
inline constexpr char kMediaTypePrompt[] = "application/vnd.ollama.image.prompt";  // legacy
inline constexpr char kMediaTypeSystem[] = "application/vnd.ollama.image.system";
inline constexpr char kMediaTypeParams[] = "application/vnd.ollama.image.params";
inline constexpr char kMediaTypeMessages[] = "application/vnd.ollama.image.messages";
inline constexpr char kMediaTypeLicense[] = "application/vnd.ollama.image.license";
inline constexpr char kMediaTypeEmbed[] = "application/vnd.ollama.image.embed";  // obsolete
inline constexpr char kMediaTypeTensor[] = "application/vnd.ollama.image.tensor";
inline constexpr char kMediaTypeJson[] = "application/vnd.ollama.image.json";

// Digest strings: "sha256:<64 hex>" (or "sha256-<hex>", the blob file spelling).
// Matches ^sha256[:-][0-9a-fA-F]{64}$.
bool is_valid_digest(std::string_view digest);

struct Layer {
  std::string media_type;
  std::string digest;  // "sha256:<hex>"
  int64_t size = 0;
  std::string from;  // optional: short name of the model this layer was inherited from
  std::string name;  // optional: logical file name (tensor / json layers)

  bool operator==(const Layer&) const = default;
};

struct Manifest {
  int schema_version = 2;
  std::string media_type = kMediaTypeManifest;
  Layer config;
  std::vector<Layer> layers;

  // Parses manifest JSON; unknown fields ignored. Throws util::Error (500) naming the problem.
  static Manifest parse(std::string_view json_bytes);
  // Exactly what Go's json.Encoder writes for Ollama's Manifest struct: compact, fields in
  // order schemaVersion, mediaType, config, layers; from/name only when set; "\n" at the end.
  std::string to_json() const;
  // Sum of config and layer sizes (the model size reported by /api/tags).
  int64_t total_size() const;
  // Config digest followed by every layer digest.
  std::vector<std::string> all_digests() const;
};

}  // namespace store
