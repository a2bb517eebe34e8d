// Model names host/namespace/model:tag: parsing, validation, display and manifest paths (§8.1).
#pragma once
#include <string>
#include <string_view>

namespace store {

inline constexpr char kDefaultHost[] = "registry.ollama.ai";
inline constexpr char kDefaultNamespace[] = "library";
inline constexpr char kDefaultTag[] = "latest";
inline constexpr char kDefaultScheme[] = "https";
// Placeholder for a part whose separator is present but whose text is empty ("a//b", "m:").
inline constexpr char kMissingPart[] = "!MISSING!";

struct ModelName {
  std::string scheme;      // "" unless given as "scheme://host/..."
  std::string host;        // e.g. "registry.ollama.ai", "localhost:5000"
  std::string name_space;  // e.g. "library" ("namespace" is a keyword)
  std::string model;       // e.g. "llama3.2"
  std::string tag;         // e.g. "latest"

  // Parses right to left and fills missing parts from the defaults. Never throws: check
  // is_valid(). "llama3.2" -> registry.ollama.ai/library/llama3.2:latest.
  static ModelName parse(std::string_view s);
  // Same without filling defaults (empty parts stay empty).
  static ModelName parse_bare(std::string_view s);
  // From a manifest path relative to manifests/: "host/ns/model/tag" ('/' or '\\').
  // Returns an invalid name when the path does not have exactly four parts.
  static ModelName from_filepath(std::string_view rel_path);

  // All four parts present and made of the allowed characters and lengths.
  bool is_valid() const;
  // "model:tag", "ns/model:tag" or "host/ns/model:tag" (defaults compared case-insensitively).
  std::string display_shortest() const;
  // "host/ns/model:tag" (no scheme).
  std::string display_long() const;
  // "host/ns/model/tag": the manifest path relative to <models>/manifests.
  std::string filepath() const;
  // Scheme to use with a registry: the given one, else "https".
  std::string effective_scheme() const { return scheme.empty() ? kDefaultScheme : scheme; }

  // Case-insensitive equality of the four parts (scheme ignored).
  bool equal_fold(const ModelName& o) const;
};

// Case-insensitive ASCII compare, as Go strings.EqualFold for ASCII.
bool equal_fold(std::string_view a, std::string_view b);

}  // namespace store
