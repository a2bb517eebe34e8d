// /v1/messages request -> the typed chat request (§5.6): system blocks, content blocks (text,
// image, tool_use, tool_result, thinking), tools with input_schema, tool_choice, thinking,
// sampling fields.
#include <map>

#include "api/decode.h"
#include "api/limits.h"
#include "server/anthropic.h"
#include "server/compat_fields.h"
#include "util/error.h"
#include "util/json.h"
#include "util/log.h"
#include "util/random_id.h"

namespace server::anthropic {
using namespace compat;  // NOLINT(google-build-using-namespace): the field readers
namespace {

using ojson = nlohmann::ordered_json;

[[noreturn]] void bad(const std::string& m) { throw util::bad_request(m); }

// Text blocks (or a string) joined by blank lines; other blocks are refused.
std::string joined_text(const ojson& v, const char* what) {
  if (v.is_string()) return v.get<std::string>();
  if (!v.is_array()) bad(std::string(what) + ": expected a string or an array of text blocks");
  std::string out;
  for (const auto& b : v) {
    if (!b.is_object() || text_of(b, "type") != "text")
      bad(std::string(what) + ": only text blocks are supported here");
    if (!out.empty()) out += "\n\n";
    out += text_of(b, "text");
  }
  return out;
}

std::string image_data(const ojson& block) {
  const ojson* src = object_field(block, "source");
  if (!src) bad("image: source is required");
  const std::string type = text_of(*src, "type");
  if (type == "url")
    bad("image URLs are not currently supported, please use base64 encoded data instead");
  if (type != "base64") bad("image: unsupported source type '" + type + "'");
  return text_of(*src, "data");
}

// The messages of one request, with tool_use ids remembered for tool_result names.
class Messages {
 public:
  std::vector<api::ChatMessage> out;

  void add(const ojson& m) {
    if (!m.is_object()) bad("messages: each message must be an object");
    const std::string role = text_of(m, "role");
    if (role != "user" && role != "assistant")
      bad("messages: role must be 'user' or 'assistant', got '" + role + "'");
    auto c = m.find("content");
    if (c == m.end() || c->is_null()) bad("messages: content is required");
    api::ChatMessage msg;
    msg.role = role;
    if (c->is_string()) {
      msg.content = c->get<std::string>();
      out.push_back(std::move(msg));
      return;
    }
    if (!c->is_array()) bad("messages: content must be a string or an array of blocks");
    bool pending = false;  // msg holds blocks not yet pushed
    auto flush = [&] {
      if (pending) out.push_back(msg);
      msg = api::ChatMessage{};
      msg.role = role;
      pending = false;
    };
    for (const auto& b : *c) {
      if (!b.is_object()) bad("messages: each content block must be an object");
      const std::string type = text_of(b, "type");
      if (type == "text") {
        if (!msg.content.empty()) msg.content += "\n\n";
        msg.content += text_of(b, "text");
      } else if (type == "image") {
        msg.images.push_back(image_data(b));
        api::check_count("images", msg.images.size(), api::kMaxImages);
      } else if (type == "thinking") {
        msg.thinking += text_of(b, "thinking");
      } else if (type == "redacted_thinking") {
        continue;  // opaque to us
      } else if (type == "tool_use") {
        if (role != "assistant") bad("messages: tool_use blocks belong to assistant messages");
        ojson fn = ojson::object();
        fn["index"] = static_cast<int>(msg.tool_calls.size());
        fn["name"] = text_of(b, "name");
        const ojson* input = object_field(b, "input");
        fn["arguments"] = input ? *input : ojson::object();
        ojson call = ojson::object();
        const std::string id = text_of(b, "id");
        if (!id.empty()) {
          call["id"] = id;
          tool_names_[id] = fn["name"];
        }
        call["function"] = fn;
        msg.tool_calls.push_back(std::move(call));
      } else if (type == "tool_result") {
        if (role != "user") bad("messages: tool_result blocks belong to user messages");
        flush();  // results stay in order with the text around them
        api::ChatMessage t;
        t.role = "tool";
        t.tool_call_id = text_of(b, "tool_use_id");
        t.tool_name = tool_names_[t.tool_call_id];
        if (auto rc = b.find("content"); rc != b.end() && !rc->is_null()) {
          if (rc->is_string()) {
            t.content = rc->get<std::string>();
          } else if (rc->is_array()) {
            for (const auto& p : *rc) {
              const std::string pt = p.is_object() ? text_of(p, "type") : "";
              if (pt == "text") {
                if (!t.content.empty()) t.content += "\n\n";
                t.content += text_of(p, "text");
              } else if (pt == "image") {
                t.images.push_back(image_data(p));
              } else {
                bad("tool_result: unsupported content block type '" + pt + "'");
              }
            }
          } else {
            bad("tool_result: content must be a string or an array of blocks");
          }
        }
        out.push_back(std::move(t));
        continue;
      } else {
        bad("messages: unsupported content block type '" + type + "'");
      }
      pending = true;
    }
    flush();
  }

 private:
  std::map<std::string, std::string> tool_names_;  // tool_use id -> tool name
};

// {"type":"auto"|"any"|"tool"|"none", "name"?} -> the native tool_choice.
ojson tool_choice(const ojson& tc) {
  const std::string type = text_of(tc, "type");
  if (type == "auto" || type.empty()) return nullptr;
  if (type == "any") return "required";
  if (type == "none") return "none";
  if (type == "tool") return ojson{{"name", text_of(tc, "name")}};
  bad("tool_choice: unknown type '" + type + "'");
}

api::ThinkValue think_of(const ojson& r) {
  api::ThinkValue t;
  t.if_supported = true;  // silently dropped for a model that cannot think (§5.6)
  if (const ojson* th = object_field(r, "thinking")) {
    const std::string type = text_of(*th, "type");
    if (type == "disabled") {
      t.set = true;
      return t;
    }
    if (type != "enabled" && type != "adaptive")
      bad("thinking: type must be 'enabled', 'adaptive' or 'disabled'");
    t.set = t.enabled = true;
    return t;
  }
  if (const ojson* oc = object_field(r, "output_config")) {
    std::string effort = text_of(*oc, "effort");
    if (effort.empty()) return t;
    if (effort == "xhigh") effort = "high";
    if (effort != "low" && effort != "medium" && effort != "high" && effort != "max")
      bad("output_config.effort: unknown value '" + effort + "'");
    t.set = t.enabled = true;
    t.level = effort;
  }
  return t;
}

}  // namespace

MessagesRequest parse_messages_request(std::string_view body, bool count_only) {
  api::parse_body(body);  // Ollama's messages for an empty, malformed or too deep body
  const ojson r = util::parse_json<ojson>(body);
  if (!r.is_object()) bad("invalid request: expected an object");
  MessagesRequest out;
  api::ChatRequest& chat = out.chat;
  chat.model = text_of(r, "model");
  if (chat.model.empty()) bad("model is required");
  nlohmann::json& o = chat.options;
  if (!count_only) {
    const ojson* mt = integer_field(r, "max_tokens");
    if (!mt || mt->get<int64_t>() <= 0) bad("max_tokens is required and must be positive");
    o["num_predict"] = mt->get<int64_t>();
  }
  if (const ojson* v = number_field(r, "temperature")) o["temperature"] = v->get<double>();
  if (const ojson* v = number_field(r, "top_p")) o["top_p"] = v->get<double>();
  if (const ojson* v = integer_field(r, "top_k")) o["top_k"] = v->get<int64_t>();
  if (const ojson* v = array_field(r, "stop_sequences")) {
    for (const auto& s : *v) {
      if (!s.is_string()) bad("stop_sequences: expected strings");
      out.stop_sequences.push_back(s.get<std::string>());
    }
    if (!out.stop_sequences.empty()) o["stop"] = out.stop_sequences;
  }
  if (const ojson* v = bool_field(r, "stream")) out.stream = *v;

  Messages msgs;
  if (auto s = r.find("system"); s != r.end() && !s->is_null()) {
    api::ChatMessage sys;
    sys.role = "system";
    sys.content = joined_text(*s, "system");
    msgs.out.push_back(std::move(sys));
  }
  const ojson* m = array_field(r, "messages");
  if (!m || m->empty()) bad("messages: at least one message is required");
  api::check_count("messages", m->size(), api::kMaxMessages);
  for (const auto& msg : *m) msgs.add(msg);
  chat.messages = std::move(msgs.out);
  // Custom tools; Anthropic's own kinds (web search, bash, editor, ...) have no schema here.
  if (const ojson* t = array_field(r, "tools"))
    chat.tools =
        function_tools(*t, "custom", /*type_optional=*/true, "input_schema", "/v1/messages");
  if (const ojson* tc = object_field(r, "tool_choice")) {
    chat.tool_choice = tool_choice(*tc);
    if (chat.tools.empty() && !chat.tool_choice.is_null() && chat.tool_choice != "none")
      bad("tool_choice: no tools to choose from");
  }
  chat.think = think_of(r);
  return out;
}

ojson error_body(int status, const std::string& message) {
  const char* type = status == 400                      ? "invalid_request_error"
                     : status == 401                    ? "authentication_error"
                     : status == 403                    ? "permission_error"
                     : status == 404                    ? "not_found_error"
                     : status == 413                    ? "request_too_large"
                     : status == 429                    ? "rate_limit_error"
                     : (status == 503 || status == 529) ? "overloaded_error"
                                                        : "api_error";
  ojson err = ojson::object();
  err["type"] = type;
  err["message"] = message;
  ojson j = ojson::object();
  j["type"] = "error";
  j["error"] = err;
  j["request_id"] = new_id("req_");
  return j;
}

void write_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(error_body(status, message).dump(-1, ' ', false, ojson::error_handler_t::replace),
                  "application/json; charset=utf-8");
}

std::string new_id(const char* prefix) { return util::random_id(prefix, 24); }

}  // namespace server::anthropic
