// /v1/responses request -> the typed chat request (§5.4).
#include <map>

#include "api/decode.h"
#include "api/limits.h"
#include "engine/sample/json_schema.h"
#include "server/compat_fields.h"
#include "server/openai.h"
#include "server/responses.h"
#include "util/error.h"
#include "util/json.h"
#include "util/log.h"

namespace server::openai {
using namespace compat;  // NOLINT(google-build-using-namespace): the field readers
namespace {

[[noreturn]] void bad(const std::string& m) { throw util::bad_request(m); }

// Builds the conversation from input items. Consecutive assistant output (reasoning, a
// message, function calls) folds into one assistant message, as the model produced it.
class Conversation {
 public:
  std::vector<api::ChatMessage> out;

  void item(const ojson& it) {
    if (it.is_string()) {  // a bare string in the list: user text
      user_text(it.get<std::string>());
      return;
    }
    if (!it.is_object()) bad("input: each item must be an object");
    std::string type = text_of(it, "type");
    if (type.empty() && it.contains("role")) type = "message";
    if (type == "message") {
      message(it);
    } else if (type == "function_call") {
      api::ChatMessage& a = assistant();
      ojson fn = ojson::object();
      fn["index"] = static_cast<int>(a.tool_calls.size());
      fn["name"] = text_of(it, "name");
      const std::string args = text_of(it, "arguments");
      ojson parsed = args.empty() ? ojson::object() : util::parse_json_or_discarded<ojson>(args);
      if (!parsed.is_object()) bad("input: function_call arguments must be a JSON object");
      fn["arguments"] = parsed;
      ojson call = ojson::object();
      const std::string id = text_of(it, "call_id");
      if (!id.empty()) {
        call["id"] = id;
        names_[id] = fn["name"];
      }
      call["function"] = fn;
      a.tool_calls.push_back(std::move(call));
    } else if (type == "function_call_output") {
      api::ChatMessage t;
      t.role = "tool";
      t.tool_call_id = text_of(it, "call_id");
      t.tool_name = names_[t.tool_call_id];
      auto o = it.find("output");
      if (o != it.end() && o->is_string()) {
        t.content = o->get<std::string>();
      } else if (o != it.end() && o->is_array()) {
        parts(*o, t);
      } else if (o != it.end() && !o->is_null()) {
        bad("input: function_call_output output must be a string or an array of parts");
      }
      push(std::move(t));
    } else if (type == "reasoning") {
      std::string text;
      for (const char* key : {"summary", "content"}) {
        const ojson* list = array_field(it, key);
        if (!list) continue;
        for (const auto& p : *list)
          if (p.is_object()) text += text_of(p, "text");
        if (!text.empty()) break;  // the summary, else the full reasoning text
      }
      assistant().thinking += text;
    } else if (type == "item_reference") {
      bad("input: item_reference is not supported: this server stores no items");
    } else {
      bad("input: unsupported item type '" + type + "'");
    }
  }

 private:
  void message(const ojson& it) {
    std::string role = text_of(it, "role");
    if (role == "developer") role = "system";
    if (role != "user" && role != "assistant" && role != "system")
      bad("input: unknown role '" + role + "'");
    if (role == "assistant") {
      api::ChatMessage& a = assistant();
      api::ChatMessage tmp;
      content(it, tmp);
      if (!a.content.empty() && !tmp.content.empty()) a.content += "\n\n";
      a.content += tmp.content;
      return;
    }
    api::ChatMessage m;
    m.role = role;
    content(it, m);
    push(std::move(m));
  }

  void content(const ojson& it, api::ChatMessage& m) {
    auto c = it.find("content");
    if (c == it.end() || c->is_null()) return;
    if (c->is_string()) {
      m.content = c->get<std::string>();
      return;
    }
    if (!c->is_array()) bad("input: message content must be a string or an array of parts");
    parts(*c, m);
  }

  void parts(const ojson& list, api::ChatMessage& m) {
    for (const auto& p : list) {
      if (!p.is_object()) bad("input: each content part must be an object");
      const std::string type = text_of(p, "type");
      if (type == "input_text" || type == "output_text" || type == "text") {
        if (!m.content.empty()) m.content += "\n\n";
        m.content += text_of(p, "text");
      } else if (type == "refusal") {
        if (!m.content.empty()) m.content += "\n\n";
        m.content += text_of(p, "refusal");
      } else if (type == "input_image") {
        const std::string url = text_of(p, "image_url");
        if (url.empty()) bad("input: input_image needs an image_url (file ids are not supported)");
        m.images.push_back(image_from_url(url));
        api::check_count("images", m.images.size(), api::kMaxImages);
      } else {
        bad("input: unsupported content part type '" + type + "'");
      }
    }
  }

  void user_text(const std::string& text) {
    api::ChatMessage m;
    m.role = "user";
    m.content = text;
    push(std::move(m));
  }

  void push(api::ChatMessage m) {
    open_assistant_ = false;
    out.push_back(std::move(m));
  }

  // The assistant message being built from consecutive output items.
  api::ChatMessage& assistant() {
    if (!open_assistant_) {
      api::ChatMessage a;
      a.role = "assistant";
      out.push_back(std::move(a));
      open_assistant_ = true;
    }
    return out.back();
  }

  bool open_assistant_ = false;
  std::map<std::string, std::string> names_;  // call_id -> function name
};

// text.format -> a native format: "" (text), "\"json\"", or the schema's JSON text.
std::string text_format(const ojson& format) {
  const std::string type = text_of(format, "type");
  if (type.empty() || type == "text") return "";
  if (type == "json_object") return "\"json\"";
  if (type != "json_schema") bad("text.format: unknown type '" + type + "'");
  const ojson* schema = object_field(format, "schema");
  if (!schema) bad("text.format: json_schema needs a schema object");
  std::string spec = schema->dump();
  engine::sample::compile_format(spec);  // a schema it cannot follow is a 400 now
  return spec;
}

}  // namespace

ResponsesRequest parse_responses_request(std::string_view body) {
  api::parse_body(body);  // Ollama's messages for an empty, malformed or too deep body
  const ojson r = util::parse_json<ojson>(body);
  if (!r.is_object()) bad("invalid request: expected an object");
  ResponsesRequest out;
  api::ChatRequest& chat = out.chat;
  chat.model = text_of(r, "model");
  if (chat.model.empty()) bad("model is required");
  for (const char* unsupported : {"previous_response_id", "conversation"})
    if (auto it = r.find(unsupported); it != r.end() && !it->is_null())
      bad(std::string(unsupported) +
          " is not supported: this server stores no responses; send the whole conversation "
          "as input");
  if (const ojson* v = bool_field(r, "stream")) out.stream = *v;

  Conversation conv;
  if (const ojson* ins = string_field(r, "instructions")) {
    out.instructions = *ins;
    api::ChatMessage sys;
    sys.role = "system";
    sys.content = ins->get<std::string>();
    conv.out.push_back(std::move(sys));
  }
  auto input = r.find("input");
  if (input == r.end() || input->is_null()) bad("input is required");
  if (input->is_string()) {
    conv.item(ojson{{"type", "message"}, {"role", "user"}, {"content", *input}});
  } else if (input->is_array()) {
    api::check_count("input", input->size(), api::kMaxMessages);
    for (const auto& it : *input) conv.item(it);
  } else {
    bad("input: expected a string or an array of items");
  }
  if (conv.out.empty() || (conv.out.size() == 1 && conv.out[0].role == "system"))
    bad("input: at least one item is required");
  chat.messages = std::move(conv.out);

  nlohmann::json& o = chat.options;
  if (const ojson* v = number_field(r, "temperature")) out.temperature = v->get<double>();
  if (const ojson* v = number_field(r, "top_p")) out.top_p = v->get<double>();
  o["temperature"] = out.temperature;  // OpenAI's defaults, not the model's (§5.1)
  o["top_p"] = out.top_p == 0 ? 1.0 : out.top_p;
  if (const ojson* v = integer_field(r, "max_output_tokens")) {
    if (v->get<int64_t>() <= 0) bad("max_output_tokens must be positive");
    out.max_output_tokens = *v;
    o["num_predict"] = v->get<int64_t>();
  }
  if (const ojson* t = array_field(r, "tools")) {
    out.tools = *t;
    // Function tools; the hosted kinds (web_search, file_search, ...) are left out.
    chat.tools =
        function_tools(*t, "function", /*type_optional=*/false, "parameters", "/v1/responses");
  }
  if (auto tc = r.find("tool_choice"); tc != r.end() && !tc->is_null()) {
    out.tool_choice = *tc;
    if (tc->is_object()) {
      if (text_of(*tc, "type") != "function")
        bad("tool_choice: only \"auto\", \"none\", \"required\" or a function are supported");
      chat.tool_choice = ojson{{"name", text_of(*tc, "name")}};
    } else {
      chat.tool_choice = *tc;
    }
  }
  if (const ojson* v = bool_field(r, "parallel_tool_calls")) out.parallel_tool_calls = *v;
  if (const ojson* reasoning = object_field(r, "reasoning")) {
    if (const ojson* e = string_field(*reasoning, "effort")) {
      out.reasoning_effort = *e;
      chat.think = think_from_effort(e->get<std::string>());
    }
  }
  if (const ojson* text = object_field(r, "text")) {
    if (const ojson* f = object_field(*text, "format")) {
      out.text_format = *f;
      out.format = text_format(*f);
    }
  }
  if (const ojson* m = object_field(r, "metadata")) out.metadata = *m;
  return out;
}

}  // namespace server::openai
