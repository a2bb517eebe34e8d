#include "api/types.h"

#include <cmath>
#include <limits>
#include <type_traits>

#include "api/decode.h"
#include "util/error.h"

namespace api {
namespace {

void put_if(json& j, const char* key, const std::string& v) {
  if (!v.empty()) j[key] = v;
}
void put_if(json& j, const char* key, int64_t v) {
  if (v != 0) j[key] = v;
}
template <class T>
void put_list_if(json& j, const char* key, const std::vector<T>& v) {
  if (!v.empty()) j[key] = v;
}
template <class T>
void get_list(const Fields& f, const char* key, std::vector<T>& out) {
  const json* v = f.raw(key);
  if (!v || v->is_null()) return;
  if (!v->is_array()) f.type_error(key, *v, "[]");
  out.clear();
  for (const auto& e : *v) {
    if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
      // A number outside T (or a fraction for an integer) is a decode error, as in Go, not
      // an out-of-range conversion.
      if (!e.is_number()) f.type_error(key, e, "number");
      if constexpr (std::is_integral_v<T>) {
        const double d = e.get<double>();
        const bool fits =
            e.is_number_unsigned()
                ? e.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max())
            : e.is_number_integer()
                ? e.get<int64_t>() >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
                      (e.get<int64_t>() < 0 ||
                       static_cast<uint64_t>(e.get<int64_t>()) <=
                           static_cast<uint64_t>(std::numeric_limits<T>::max()))
                : std::floor(d) == d && d >= static_cast<double>(std::numeric_limits<T>::min()) &&
                      d < static_cast<double>(std::numeric_limits<T>::max());
        if (!fits) f.type_error(key, e, std::is_signed_v<T> ? "int64" : "uint64");
      }
    }
    out.push_back(e.get<T>());
  }
}
template <class T>
void get_obj(const Fields& f, const char* key, T& out) {
  const json* v = f.raw(key);
  if (!v || v->is_null()) return;
  out = v->get<T>();
}

}  // namespace

void to_json(json& j, const Timestamp& v) { j = format_rfc3339_nano(v); }
void from_json(const json& j, Timestamp& v) {
  if (j.is_null()) return;
  if (!j.is_string())
    throw util::bad_request("json: cannot unmarshal " + std::string(go_json_kind(j)) +
                            " into Go value of type time.Time");
  v = parse_rfc3339(j.get<std::string>());
}

void to_json(json& j, const ErrorResponse& v) { j = json{{"error", v.error}}; }
void from_json(const json& j, ErrorResponse& v) { Fields(j, "StatusError").get("error", v.error); }

void to_json(json& j, const VersionResponse& v) { j = json{{"version", v.version}}; }
void from_json(const json& j, VersionResponse& v) {
  Fields(j, "VersionResponse").get("version", v.version);
}

void to_json(json& j, const ModelDetails& v) {
  j = json::object();
  j["parent_model"] = v.parent_model;
  j["format"] = v.format;
  j["family"] = v.family;
  j["families"] = v.families.empty() ? json(nullptr) : json(v.families);
  j["parameter_size"] = v.parameter_size;
  j["quantization_level"] = v.quantization_level;
  put_if(j, "context_length", v.context_length);
  put_if(j, "embedding_length", v.embedding_length);
}
void from_json(const json& j, ModelDetails& v) {
  Fields f(j, "ModelDetails");
  f.get("parent_model", v.parent_model);
  f.get("format", v.format);
  f.get("family", v.family);
  f.get("families", v.families);
  f.get("parameter_size", v.parameter_size);
  f.get("quantization_level", v.quantization_level);
  f.get("context_length", v.context_length);
  f.get("embedding_length", v.embedding_length);
}

void to_json(json& j, const Message& v) {
  j = json{{"role", v.role}, {"content", v.content}};
  put_if(j, "thinking", v.thinking);
  put_list_if(j, "images", v.images);
  if (v.tool_calls.is_array() && !v.tool_calls.empty()) j["tool_calls"] = v.tool_calls;
  put_if(j, "tool_name", v.tool_name);
  put_if(j, "tool_call_id", v.tool_call_id);
}
void from_json(const json& j, Message& v) {
  Fields f(j, "Message");
  f.get("role", v.role);
  for (auto& c : v.role) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  f.get("content", v.content);
  f.get("thinking", v.thinking);
  f.get("images", v.images);
  f.get_json("tool_calls", v.tool_calls);
  if (!v.tool_calls.is_null() && !v.tool_calls.is_array())
    f.type_error("tool_calls", v.tool_calls, "[]api.ToolCall");
  f.get("tool_name", v.tool_name);
  f.get("tool_call_id", v.tool_call_id);
}

void to_json(json& j, const ListModel& v) {
  j = json{{"name", v.name}, {"model", v.model}};
  put_if(j, "remote_model", v.remote_model);
  put_if(j, "remote_host", v.remote_host);
  j["modified_at"] = v.modified_at;
  j["size"] = v.size;
  j["digest"] = v.digest;
  j["details"] = v.details;
  put_list_if(j, "capabilities", v.capabilities);
}
void from_json(const json& j, ListModel& v) {
  Fields f(j, "ListModelResponse");
  f.get("name", v.name);
  f.get("model", v.model);
  f.get("remote_model", v.remote_model);
  f.get("remote_host", v.remote_host);
  get_obj(f, "modified_at", v.modified_at);
  f.get("size", v.size);
  f.get("digest", v.digest);
  get_obj(f, "details", v.details);
  f.get("capabilities", v.capabilities);
}

void to_json(json& j, const ListResponse& v) { j = json{{"models", v.models}}; }
void from_json(const json& j, ListResponse& v) {
  Fields f(j, "ListResponse");
  get_list(f, "models", v.models);
}

void to_json(json& j, const ShowRequest& v) {
  j = json{{"model", v.model}};
  put_if(j, "system", v.system);
  put_if(j, "template", v.template_text);
  if (v.verbose) j["verbose"] = true;
  if (v.options.is_object() && !v.options.empty()) j["options"] = v.options;
}
void from_json(const json& j, ShowRequest& v) {
  Fields f(j, "ShowRequest");
  f.get("model", v.model);
  if (v.model.empty()) f.get("name", v.model);
  f.get("system", v.system);
  f.get("template", v.template_text);
  f.get("verbose", v.verbose);
  f.get_json("options", v.options, true);
}

void to_json(json& j, const TensorSummary& v) {
  j = json{{"name", v.name}, {"type", v.type}, {"shape", v.shape}};
}
void from_json(const json& j, TensorSummary& v) {
  Fields f(j, "Tensor");
  f.get("name", v.name);
  f.get("type", v.type);
  get_list(f, "shape", v.shape);
}

void to_json(json& j, const ShowResponse& v) {
  j = json::object();
  put_if(j, "license", v.license);
  put_if(j, "modelfile", v.modelfile);
  put_if(j, "parameters", v.parameters);
  put_if(j, "template", v.template_text);
  put_if(j, "system", v.system);
  put_if(j, "renderer", v.renderer);
  put_if(j, "parser", v.parser);
  j["details"] = v.details;
  put_list_if(j, "messages", v.messages);
  put_if(j, "remote_model", v.remote_model);
  put_if(j, "remote_host", v.remote_host);
  j["model_info"] = v.model_info.is_null() ? json::object() : v.model_info;
  if (v.projector_info.is_object() && !v.projector_info.empty())
    j["projector_info"] = v.projector_info;
  put_list_if(j, "tensors", v.tensors);
  put_list_if(j, "capabilities", v.capabilities);
  j["modified_at"] = v.modified_at;
  put_if(j, "requires", v.requires_version);
}
void from_json(const json& j, ShowResponse& v) {
  Fields f(j, "ShowResponse");
  f.get("license", v.license);
  f.get("modelfile", v.modelfile);
  f.get("parameters", v.parameters);
  f.get("template", v.template_text);
  f.get("system", v.system);
  f.get("renderer", v.renderer);
  f.get("parser", v.parser);
  get_obj(f, "details", v.details);
  get_list(f, "messages", v.messages);
  f.get("remote_model", v.remote_model);
  f.get("remote_host", v.remote_host);
  f.get_json("model_info", v.model_info);
  f.get_json("projector_info", v.projector_info);
  get_list(f, "tensors", v.tensors);
  f.get("capabilities", v.capabilities);
  get_obj(f, "modified_at", v.modified_at);
  f.get("requires", v.requires_version);
}

void to_json(json& j, const CopyRequest& v) {
  j = json{{"source", v.source}, {"destination", v.destination}};
}
void from_json(const json& j, CopyRequest& v) {
  Fields f(j, "CopyRequest");
  f.get("source", v.source);
  f.get("destination", v.destination);
}

void to_json(json& j, const DeleteRequest& v) { j = json{{"model", v.model}}; }
void from_json(const json& j, DeleteRequest& v) {
  Fields f(j, "DeleteRequest");
  f.get("model", v.model);
  if (v.model.empty()) f.get("name", v.model);
}

void to_json(json& j, const CreateRequest& v) {
  j = json{{"model", v.model}};
  if (v.stream) j["stream"] = *v.stream;
  put_if(j, "quantize", v.quantize);
  put_if(j, "draft_quantize", v.draft_quantize);
  put_if(j, "from", v.from);
  put_if(j, "remote_host", v.remote_host);
  if (!v.files.empty()) j["files"] = v.files;
  if (!v.adapters.empty()) j["adapters"] = v.adapters;
  if (!v.draft_files.empty()) j["draft_files"] = v.draft_files;
  put_if(j, "template", v.template_text);
  put_list_if(j, "license", v.license);
  put_if(j, "system", v.system);
  if (v.parameters.is_object() && !v.parameters.empty()) j["parameters"] = v.parameters;
  put_list_if(j, "messages", v.messages);
  put_if(j, "renderer", v.renderer);
  put_if(j, "parser", v.parser);
  put_if(j, "requires", v.requires_version);
  if (v.info.is_object() && !v.info.empty()) j["info"] = v.info;
}
void from_json(const json& j, CreateRequest& v) {
  Fields f(j, "CreateRequest");
  f.get("model", v.model);
  if (v.model.empty()) f.get("name", v.model);
  f.get("stream", v.stream);
  f.get("quantize", v.quantize);
  if (v.quantize.empty()) f.get("quantization", v.quantize);
  f.get("draft_quantize", v.draft_quantize);
  f.get("from", v.from);
  f.get("remote_host", v.remote_host);
  f.get("files", v.files);
  f.get("adapters", v.adapters);
  f.get("draft_files", v.draft_files);
  f.get("template", v.template_text);
  f.get_string_or_list("license", v.license);
  f.get("system", v.system);
  f.get_json("parameters", v.parameters, true);
  get_list(f, "messages", v.messages);
  f.get("renderer", v.renderer);
  f.get("parser", v.parser);
  f.get("requires", v.requires_version);
  f.get_json("info", v.info, true);
}

void to_json(json& j, const ProgressResponse& v) {
  j = json{{"status", v.status}};
  put_if(j, "digest", v.digest);
  put_if(j, "total", v.total);
  put_if(j, "completed", v.completed);
}
void from_json(const json& j, ProgressResponse& v) {
  Fields f(j, "ProgressResponse");
  f.get("status", v.status);
  f.get("digest", v.digest);
  f.get("total", v.total);
  f.get("completed", v.completed);
}

void to_json(json& j, const ProcessModel& v) {
  j = json{{"name", v.name},           {"model", v.model},
           {"size", v.size},           {"digest", v.digest},
           {"details", v.details},     {"expires_at", v.expires_at},
           {"size_vram", v.size_vram}, {"context_length", v.context_length}};
}
void from_json(const json& j, ProcessModel& v) {
  Fields f(j, "ProcessModelResponse");
  f.get("name", v.name);
  f.get("model", v.model);
  f.get("size", v.size);
  f.get("digest", v.digest);
  get_obj(f, "details", v.details);
  get_obj(f, "expires_at", v.expires_at);
  f.get("size_vram", v.size_vram);
  f.get("context_length", v.context_length);
}

void to_json(json& j, const ProcessResponse& v) { j = json{{"models", v.models}}; }
void from_json(const json& j, ProcessResponse& v) {
  Fields f(j, "ProcessResponse");
  get_list(f, "models", v.models);
}

}  // namespace api
