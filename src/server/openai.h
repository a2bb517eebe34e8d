// OpenAI-compatible API (§5.1-5.3): error shape, response ids, and running a native route
// (/api/chat, /api/generate) internally with its NDJSON output translated to OpenAI's shapes.
#pragma once
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "server/context.h"
#include "server/http.h"

namespace server::openai {

using ojson = nlohmann::ordered_json;

// {"error":{"message","type","param":null,"code":null}}; type from the status
// (400 invalid_request_error, 404 not_found_error, else api_error).
void write_error(httplib::Response& res, int status, const std::string& message);
// Runs fn; util::Error and other exceptions become OpenAI-shaped errors.
void guarded(httplib::Response& res, const std::function<void()>& fn);

// prefix + a number never handed out before in this process ("chatcmpl-", "cmpl-").
std::string new_id(const std::string& prefix);
int64_t unix_now();

// Turns native stream objects into SSE events. on_object gets each native object (an
// {"error":..} object included) and returns the `data:` payloads to send; on_end the final
// ones (before `data: [DONE]`).
struct SseTranslator {
  std::function<std::vector<std::string>(const nlohmann::json& native)> on_object;
  std::function<std::vector<std::string>()> on_end;
};

// Dispatches `native_body` to `path` ("/api/chat", "/api/generate") on the native routes.
// stream: the native NDJSON is translated on the fly into `text/event-stream` on res.
// Not streamed: `done(native_final_object)` builds the OpenAI body. A native error becomes
// an OpenAI-shaped error with the same status. `format` (JSON text, kept in its own key
// order) becomes the native body's "format" when not empty.
void run_native(Context& ctx, Call& c, const std::string& path, const nlohmann::json& native_body,
                bool stream, std::shared_ptr<SseTranslator> sse,
                const std::function<ojson(const nlohmann::json&)>& done,
                const std::string& format = "");

// response_format ({"type":"text"|"json_object"|"json_schema", "json_schema":{"schema":..}})
// as a native `format` in JSON text (the schema in the body's own key order): "" for none
// or text; 400 for an unknown type or a json_schema without a schema object.
std::string response_format(const nlohmann::json& r, std::string_view body);

// JSON kinds a request field may have (null or absent is always accepted).
enum class Kind { kString, kBool, kNumber, kInteger, kArray, kObject };
// 400 "json: cannot unmarshal <kind> into Go struct field <go_type>.<key> of type <t>" unless
// obj[key] is absent, null or of `kind`.
void expect_kind(const nlohmann::json& obj, const char* key, Kind kind, const char* go_type);
[[noreturn]] void type_error(const char* key, const nlohmann::json& v, const char* go_kind,
                             const char* go_type);

// Reasoning effort (§5.1): none -> false; minimal -> low; low|medium|high|max; xhigh|ultra ->
// max; else 400 `invalid reasoning value: ...`.
nlohmann::json think_from_effort(const std::string& effort);

// The sampling options shared by chat and completions (temperature/top_p default 1.0).
nlohmann::json sampling_options(const nlohmann::json& req);

// Route groups (openai_chat.cpp, openai_models.cpp).
void add_chat_routes(Router& r, Context& ctx);   // /v1/chat/completions, /v1/completions
void add_model_routes(Router& r, Context& ctx);  // /v1/embeddings, /v1/models[/:model]

}  // namespace server::openai
