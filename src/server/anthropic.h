// Anthropic's Messages API (§5.6): POST /v1/messages and /v1/messages/count_tokens, as a
// translation onto the typed chat request (gen_run.h); errors in Anthropic's envelope.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "api/generate.h"
#include "server/context.h"
#include "server/http.h"

namespace server::anthropic {

// A Messages request, translated.
struct MessagesRequest {
  api::ChatRequest chat;                    // model, messages, tools, tool_choice, options, think
  std::vector<std::string> stop_sequences;  // the client's own (stop_reason "stop_sequence")
  bool stream = false;
};

// Decodes a /v1/messages body (count_only: a count_tokens body, where max_tokens is not
// needed). 400 with Anthropic's messages for what it does not accept: a missing model,
// max_tokens <= 0, no messages, a role other than user/assistant, an unknown content block,
// image URLs, wrong field types.
MessagesRequest parse_messages_request(std::string_view body, bool count_only);

// {"type":"error","error":{"type":<from status>,"message":...},"request_id":"req_..."}:
// 400 invalid_request_error, 401 authentication_error, 403 permission_error, 404
// not_found_error, 413 request_too_large, 429 rate_limit_error, 503/529 overloaded_error,
// else api_error.
nlohmann::ordered_json error_body(int status, const std::string& message);
void write_error(httplib::Response& res, int status, const std::string& message);

// "msg_" + 24 hex digits, "toolu_" + 24 for tool calls without an id.
std::string new_id(const char* prefix);

}  // namespace server::anthropic

namespace server {
void add_anthropic_routes(Router& r, Context& ctx);  // /v1/messages[/count_tokens]
}  // namespace server
