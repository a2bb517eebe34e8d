// Wire types of the model-management API (version, tags, show, copy, delete, create, blobs,
// ps, errors) with Ollama's JSON field names and omitempty rules. No logic beyond (de)coding.
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "api/time.h"

namespace api {

using nlohmann::json;

struct ErrorResponse {
  std::string error;
};

struct VersionResponse {
  std::string version;
};

struct ModelDetails {
  std::string parent_model;
  std::string format;
  std::string family;
  std::vector<std::string> families;  // null on the wire when empty (Go nil slice)
  std::string parameter_size;
  std::string quantization_level;
  int64_t context_length = 0;    // omitempty
  int64_t embedding_length = 0;  // omitempty
};

// A chat message. Only role/content matter for model management; the rest is here so chat
// can reuse the type. `tool_calls` is kept as raw JSON (an array) until chat defines it.
struct Message {
  std::string role;
  std::string content;
  std::string thinking;             // omitempty
  std::vector<std::string> images;  // base64, omitempty
  json tool_calls;                  // array, omitted when null/empty
  std::string tool_name;            // omitempty
  std::string tool_call_id;         // omitempty
};

struct ListModel {
  std::string name;          // shortest display name, e.g. "llama3.2:latest"
  std::string model;         // same as name
  std::string remote_model;  // omitempty
  std::string remote_host;   // omitempty
  Timestamp modified_at;     // manifest mtime, local offset
  int64_t size = 0;          // sum of layer sizes + config
  std::string digest;        // hex sha256 of the manifest bytes
  ModelDetails details;
  std::vector<std::string> capabilities;  // omitempty
};

struct ListResponse {
  std::vector<ListModel> models;
};

struct ShowRequest {
  std::string model;  // or deprecated "name"
  std::string system;
  std::string template_text;  // deprecated "template"
  bool verbose = false;
  json options = json::object();
};

struct TensorSummary {
  std::string name;
  std::string type;  // "Q4_K", "F32", ...
  std::vector<uint64_t> shape;
};

struct ShowResponse {
  std::string license;        // omitempty
  std::string modelfile;      // omitempty
  std::string parameters;     // omitempty
  std::string template_text;  // "template", omitempty
  std::string system;         // omitempty
  std::string renderer;       // omitempty
  std::string parser;         // omitempty
  ModelDetails details;
  std::vector<Message> messages;          // omitempty
  std::string remote_model;               // omitempty
  std::string remote_host;                // omitempty
  json model_info = json::object();       // always present
  json projector_info;                    // omitted when null/empty
  std::vector<TensorSummary> tensors;     // omitempty
  std::vector<std::string> capabilities;  // omitempty
  Timestamp modified_at;
  std::string requires_version;  // "requires", omitempty
};

struct CopyRequest {
  std::string source;
  std::string destination;
};

struct DeleteRequest {
  std::string model;  // or deprecated "name"
};

struct CreateRequest {
  std::string model;  // or deprecated "name"
  std::optional<bool> stream;
  std::string quantize;  // or deprecated "quantization"
  std::string draft_quantize;
  std::string from;
  std::string remote_host;
  std::map<std::string, std::string> files;  // relpath -> "sha256:<hex>"
  std::map<std::string, std::string> adapters;
  std::map<std::string, std::string> draft_files;
  std::string template_text;         // "template"
  std::vector<std::string> license;  // string or [string] on the wire
  std::string system;
  json parameters;  // object or null
  std::vector<Message> messages;
  std::string renderer;
  std::string parser;
  std::string requires_version;  // "requires"
  json info;                     // object or null
};

struct ProgressResponse {
  std::string status;
  std::string digest;     // omitempty
  int64_t total = 0;      // omitempty
  int64_t completed = 0;  // omitempty
};

struct ProcessModel {
  std::string name;
  std::string model;
  int64_t size = 0;
  std::string digest;
  ModelDetails details;
  Timestamp expires_at;
  int64_t size_vram = 0;
  int64_t context_length = 0;
};

struct ProcessResponse {
  std::vector<ProcessModel> models;
};

// Decoders throw util::Error(400) with Go's messages on wrong types (see api/decode.h).
void to_json(json& j, const ErrorResponse& v);
void from_json(const json& j, ErrorResponse& v);
void to_json(json& j, const VersionResponse& v);
void from_json(const json& j, VersionResponse& v);
void to_json(json& j, const ModelDetails& v);
void from_json(const json& j, ModelDetails& v);
void to_json(json& j, const Message& v);
void from_json(const json& j, Message& v);
void to_json(json& j, const ListModel& v);
void from_json(const json& j, ListModel& v);
void to_json(json& j, const ListResponse& v);
void from_json(const json& j, ListResponse& v);
void to_json(json& j, const ShowRequest& v);
void from_json(const json& j, ShowRequest& v);
void to_json(json& j, const TensorSummary& v);
void from_json(const json& j, TensorSummary& v);
void to_json(json& j, const ShowResponse& v);
void from_json(const json& j, ShowResponse& v);
void to_json(json& j, const CopyRequest& v);
void from_json(const json& j, CopyRequest& v);
void to_json(json& j, const DeleteRequest& v);
void from_json(const json& j, DeleteRequest& v);
void to_json(json& j, const CreateRequest& v);
void from_json(const json& j, CreateRequest& v);
void to_json(json& j, const ProgressResponse& v);
void from_json(const json& j, ProgressResponse& v);
void to_json(json& j, const ProcessModel& v);
void from_json(const json& j, ProcessModel& v);
void to_json(json& j, const ProcessResponse& v);
void from_json(const json& j, ProcessResponse& v);

// Timestamps as RFC 3339 strings.
void to_json(json& j, const Timestamp& v);
void from_json(const json& j, Timestamp& v);

}  // namespace api
