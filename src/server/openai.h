// OpenAI-compatible API (§5.1-5.4): error shape, ids, the request fields the routes share.
// Each route translates its request into the typed native request and its sink turns the
// typed output into OpenAI's shapes (gen_run.h, api_sink.h).
#pragma once
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/generate.h"
#include "prompt/parsers.h"
#include "runner/runner.h"
#include "server/context.h"
#include "server/http.h"
#include "server/stream.h"

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

// The SSE framing of the OpenAI routes: `data: {"error":{..}}` then `data: [DONE]` for an
// error after the first frame, write_error before it.
Framing sse_framing();

// response_format ({"type":"text"|"json_object"|"json_schema", "json_schema":{"schema":..}})
// as a native `format` in JSON text (the schema in the body's own key order): "" for none
// or text; 400 for an unknown type or a json_schema without a schema object.
std::string response_format(const nlohmann::json& r, std::string_view body);

// data:image/png;base64,XXXX (or bare base64) -> XXXX; 400 for http(s) URLs, which are not
// fetched, and for a data URL that is not base64.
std::string image_from_url(const std::string& url);

// true/false of a boolean field; false when absent or of another type.
bool flag(const nlohmann::json& r, const char* key);
// The string of a field; "" when absent or of another type.
std::string str(const nlohmann::json& j, const char* key);

// Tool calls in OpenAI's shape: [{id, index, type: "function", function: {name, arguments:
// "<json text>"}}].
ojson openai_tool_calls(const std::vector<prompt::ToolCall>& calls);

// The body of a chat or legacy completion request (go_type "chat completion request" or
// "completion request"): an object whose fields have OpenAI's types, with a model.
nlohmann::json parse_request(Call& c, const char* go_type);
// {"id","object","created","model","system_fingerprint":"fp_ollama"}.
ojson envelope(const std::string& id, const char* object, int64_t created,
               const std::string& model);
// {"prompt_tokens","completion_tokens","total_tokens"}.
ojson usage_json(const runner::CompletionResult& r);
// The end of a streamed chat or legacy completion: when the client asked for usage
// (stream_options.include_usage) a chunk `env` with no choices and the usage, then
// "data: [DONE]".
std::string stream_end(bool usage, ojson env, const runner::CompletionResult& r);

// JSON kinds a request field may have (null or absent is always accepted).
enum class Kind { kString, kBool, kNumber, kInteger, kArray, kObject };
// 400 "json: cannot unmarshal <kind> into Go struct field <go_type>.<key> of type <t>" unless
// obj[key] is absent, null or of `kind`.
void expect_kind(const nlohmann::json& obj, const char* key, Kind kind, const char* go_type);
[[noreturn]] void type_error(const char* key, const nlohmann::json& v, const char* go_kind,
                             const char* go_type);

// Reasoning effort (§5.1): none -> false; minimal -> low; low|medium|high|max; xhigh|ultra ->
// max; else 400 `invalid reasoning value: ...`.
api::ThinkValue think_from_effort(const std::string& effort);

// The sampling options shared by chat and completions (temperature/top_p default 1.0).
nlohmann::json sampling_options(const nlohmann::json& req);

// Route groups (openai_chat.cpp, openai_completions.cpp, openai_responses.cpp,
// openai_models.cpp).
void add_chat_routes(Router& r, Context& ctx);         // /v1/chat/completions
void add_completions_routes(Router& r, Context& ctx);  // /v1/completions
void add_responses_routes(Router& r, Context& ctx);    // /v1/responses
void add_model_routes(Router& r, Context& ctx);        // /v1/embeddings, /v1/models[/:model]

}  // namespace server::openai
