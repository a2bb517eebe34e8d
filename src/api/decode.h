// Request-body decoding with Go encoding/json's error messages (what Ollama's clients see).
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace api {

using nlohmann::json;

// Parses a request body. Empty or whitespace-only -> util::Error(400, "missing request body");
// malformed -> util::Error(400) with a Go-decoder-like message ("unexpected EOF",
// "invalid character 'x' looking for beginning of value", ...).
json parse_body(std::string_view body);

// A JSON library error as a client-facing message (without the library's "[json.exception...]"
// prefix).
std::string json_error_text(const nlohmann::json::exception& e);

// Go's name for a JSON value's kind in unmarshal errors: "string", "number", "bool", "array",
// "object", "null".
const char* go_json_kind(const json& v);

// Reads fields of one JSON object into typed C++ members with Go's rules: a missing key or a
// null leaves the member unchanged; a wrong kind throws util::Error(400)
// "json: cannot unmarshal number into Go struct field ShowRequest.model of type string".
class Fields {
 public:
  // Throws 400 "json: cannot unmarshal array into Go value of type api.ShowRequest" when `j`
  // is not an object.
  Fields(const json& j, std::string_view go_type);

  bool has(const char* key) const;         // present and not null
  const json* raw(const char* key) const;  // present (maybe null) or nullptr

  void get(const char* key, std::string& out) const;
  void get(const char* key, bool& out) const;
  void get(const char* key, std::optional<bool>& out) const;
  void get(const char* key, int64_t& out) const;
  void get(const char* key, int& out) const;
  void get(const char* key, double& out) const;
  void get(const char* key, std::vector<std::string>& out) const;
  void get(const char* key, std::map<std::string, std::string>& out) const;
  // Any JSON (kept as is); `object_only` rejects non-objects like a Go map field would.
  void get_json(const char* key, json& out, bool object_only = false) const;
  // A string or an array of strings (Ollama's license field).
  void get_string_or_list(const char* key, std::vector<std::string>& out) const;

  // The error Go reports for `key` holding `v` when it wanted `go_kind` ("string", "int64",
  // "bool", "[]string", "map[string]string", ...).
  [[noreturn]] void type_error(const char* key, const json& v, std::string_view go_kind) const;

 private:
  const json& j_;
  std::string type_;  // e.g. "ShowRequest"
};

}  // namespace api
