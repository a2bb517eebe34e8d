#include "api/generate.h"

#include <cctype>
#include <cmath>

#include "api/decode.h"
#include "api/limits.h"
#include "util/duration.h"
#include "util/error.h"
#include "util/json.h"

namespace api {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Go's encoding/json names for the kinds in UnmarshalTypeError-like messages of Ollama's own
// Duration/ThinkValue unmarshalers.
const char* go_dynamic_type(const json& v) {
  switch (v.type()) {
    case json::value_t::boolean:
      return "bool";
    case json::value_t::array:
      return "[]interface {}";
    case json::value_t::object:
      return "map[string]interface {}";
    default:
      return go_json_kind(v);
  }
}

void read_images(const Fields& f, const char* key, std::vector<std::string>& out) {
  f.get(key, out);  // base64 strings; wrong kinds -> Go's decoder error
  check_count("images", out.size(), kMaxImages);
}

void read_common(const json& j, const Fields& f, GenerationFields& r) {
  f.get("model", r.model);
  if (r.model.empty()) f.get("name", r.model);
  f.get("stream", r.stream);
  if (const json* v = f.raw("format")) r.format = *v;
  r.keep_alive_ns = parse_keep_alive(f.raw("keep_alive"));
  f.get_json("options", r.options, /*object_only=*/true);
  if (r.options.is_null()) r.options = json::object();
  r.think = parse_think(f.raw("think"));
  f.get("truncate", r.truncate);
  f.get("shift", r.shift);
  f.get("logprobs", r.logprobs);
  f.get("top_logprobs", r.top_logprobs);
  f.get("_debug_render_only", r.debug_render_only);
  (void)j;
  if (r.top_logprobs < 0 || r.top_logprobs > 20)
    throw util::bad_request("top_logprobs must be between 0 and 20");
}

ChatMessage read_message(const json& m, const ojson& om) {
  Fields f(m, "Message");
  ChatMessage out;
  f.get("role", out.role);
  out.role = lower(out.role);
  f.get("content", out.content);
  f.get("thinking", out.thinking);
  read_images(f, "images", out.images);
  f.get("tool_name", out.tool_name);
  f.get("tool_call_id", out.tool_call_id);
  if (const json* tc = f.raw("tool_calls"); tc && !tc->is_null()) {
    if (!tc->is_array()) f.type_error("tool_calls", *tc, "[]api.ToolCall");
    for (size_t i = 0; i < tc->size(); ++i) {
      const json& c = (*tc)[i];
      Fields cf(c, "ToolCall");
      const ojson& oc = om["tool_calls"][i];
      ojson call = ojson::object();
      std::string id;
      cf.get("id", id);
      if (!id.empty()) call["id"] = id;
      ojson fn = ojson::object();
      if (const json* fj = cf.raw("function"); fj && !fj->is_null()) {
        Fields ff(*fj, "ToolCallFunction");
        int index = 0;
        std::string name;
        ff.get("index", index);
        ff.get("name", name);
        fn["index"] = index;
        fn["name"] = name;
        const ojson* args =
            oc["function"].contains("arguments") ? &oc["function"]["arguments"] : nullptr;
        if (args && args->is_string()) {
          // Some clients send arguments JSON-encoded; Ollama accepts that too.
          try {
            fn["arguments"] = util::parse_json<ojson>(args->get<std::string>());
          } catch (const std::exception&) {
            ff.type_error("arguments", json(args->get<std::string>()),
                          "api.ToolCallFunctionArguments");
          }
        } else if (args && !args->is_null()) {
          if (!args->is_object())
            ff.type_error("arguments", (*fj)["arguments"], "api.ToolCallFunctionArguments");
          fn["arguments"] = *args;
        } else {
          fn["arguments"] = ojson::object();
        }
      }
      call["function"] = fn;
      out.tool_calls.push_back(std::move(call));
    }
  }
  return out;
}

}  // namespace

std::optional<int64_t> parse_keep_alive(const json* v) {
  if (!v || v->is_null()) return std::nullopt;
  if (v->is_number()) {
    double secs = v->get<double>();
    if (secs < 0) return util::kForever;
    double ns = secs * 1e9;
    if (ns >= 9.2e18) return util::kForever;
    return static_cast<int64_t>(ns);
  }
  if (v->is_string()) {
    int64_t ns = util::parse_go_duration(v->get<std::string>());
    return ns < 0 ? util::kForever : ns;
  }
  throw util::bad_request(std::string("Unsupported type: '") + go_dynamic_type(*v) + "'");
}

ThinkValue parse_think(const json* v) {
  ThinkValue t;
  if (!v || v->is_null()) return t;
  auto invalid = [&](const std::string& shown) -> util::Error {
    return util::bad_request("invalid think value: " + shown +
                             " (must be \"high\", \"medium\", \"low\", \"max\", true, or false)");
  };
  if (v->is_boolean()) {
    t.set = true;
    t.enabled = v->get<bool>();
    return t;
  }
  if (v->is_string()) {
    std::string s = v->get<std::string>();
    if (s == "true" || s == "false") {
      t.set = true;
      t.enabled = s == "true";
      return t;
    }
    if (s == "high" || s == "medium" || s == "low" || s == "max") {
      t.set = true;
      t.enabled = true;
      t.level = s;
      return t;
    }
    throw invalid("\"" + s + "\"");
  }
  throw invalid(v->dump());
}

GenerateRequest parse_generate_request(std::string_view body) {
  json j = parse_body(body);
  Fields f(j, "GenerateRequest");
  GenerateRequest r;
  read_common(j, f, r);
  f.get("prompt", r.prompt);
  f.get("suffix", r.suffix);
  f.get("system", r.system);
  f.get("template", r.template_text);
  f.get("raw", r.raw);
  read_images(f, "images", r.images);
  if (const json* c = f.raw("context"); c && !c->is_null()) {
    if (!c->is_array()) f.type_error("context", *c, "[]int");
    for (const auto& e : *c) {
      if (!e.is_number_integer()) f.type_error("context", e, "int");
      r.context.push_back(static_cast<int32_t>(e.get<int64_t>()));
    }
  }
  return r;
}

ChatRequest parse_chat_request(std::string_view body) {
  json j = parse_body(body);
  Fields f(j, "ChatRequest");
  ChatRequest r;
  read_common(j, f, r);
  ojson oj = ojson::parse(body);  // same bytes, parsed keeping key order
  if (const json* m = f.raw("messages"); m && !m->is_null()) {
    if (!m->is_array()) f.type_error("messages", *m, "[]api.Message");
    check_count("messages", m->size(), kMaxMessages);
    for (size_t i = 0; i < m->size(); ++i)
      r.messages.push_back(read_message((*m)[i], oj["messages"][i]));
  }
  if (const json* t = f.raw("tools"); t && !t->is_null()) {
    if (!t->is_array()) f.type_error("tools", *t, "api.Tools");
    check_count("tools", t->size(), kMaxTools);
    for (const auto& e : *t)
      if (!e.is_object()) f.type_error("tools", e, "api.Tool");
    r.tools = oj["tools"];
  }
  if (auto it = oj.find("tool_choice"); it != oj.end()) r.tool_choice = *it;
  return r;
}

}  // namespace api
