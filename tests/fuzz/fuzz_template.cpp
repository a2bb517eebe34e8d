// libFuzzer target: Go-template parse and execute over Ollama-shaped chat data, plus the
// template inspection and streamed-output parsers that run on the same model's text.
//
// Input: TEMPLATE [ '\0' FLAGS EXTRA ]. Without a NUL byte the whole input is the template and
// every data feature is on. FLAGS picks the data (bits below). EXTRA is the request's tools when
// it is a JSON array (as /api/chat passes them on), else the last message's content; either way
// it is then the "model output" fed to the thinking, tool-call and harmony parsers.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "prompt/chat.h"
#include "prompt/harmony.h"
#include "prompt/parsers.h"
#include "prompt/template.h"
#include "util/json.h"

namespace {

enum Flag : uint8_t {
  kSystem = 1 << 0,         // a system message
  kTools = 1 << 1,          // one tool definition
  kToolTurn = 1 << 2,       // an assistant tool call and the tool's answer
  kThink = 1 << 3,          // think enabled (level from bits 4-5)
  kThinkSet = 1 << 6,       // think given explicitly
  kAssistantLast = 1 << 7,  // the last message is the assistant's (prefill), not the user's
};
constexpr uint8_t kAllFeatures = kSystem | kTools | kToolTurn | kThink | kThinkSet;

const prompt::Json& tools_json() {
  static const prompt::Json tools = prompt::Json::parse(R"([{
    "type": "function",
    "function": {
      "name": "get_weather",
      "description": "Current weather for a city",
      "parameters": {
        "type": "object",
        "required": ["city"],
        "properties": {
          "city": {"type": "string", "description": "City name"},
          "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
          "days": {"type": ["integer", "null"], "anyOf": [{"type": "integer"}]},
          "where": {"type": "object", "properties": {"lat": {"type": "number"}}},
          "tags": {"type": "array", "items": {"type": "string"}}
        }
      }
    }
  }])");
  return tools;
}

std::vector<prompt::Message> messages(uint8_t flags, std::string_view last) {
  std::vector<prompt::Message> m;
  if (flags & kSystem) m.push_back({.role = "system", .content = "You are terse."});
  m.push_back({.role = "user", .content = "What is the weather in Paris?"});
  if (flags & kToolTurn) {
    prompt::ToolCall call{.id = "call_1", .index = 0, .name = "get_weather"};
    call.arguments = {{"city", "Paris"}, {"days", 2}};
    m.push_back({.role = "assistant", .thinking = "Need the tool.", .tool_calls = {call}});
    m.push_back({.role = "tool",
                 .content = "{\"temp\": 21}",
                 .tool_name = "get_weather",
                 .tool_call_id = "call_1"});
  }
  m.push_back({.role = "assistant", .content = "Sunny.", .thinking = "Easy."});
  prompt::Message tail{.role = flags & kAssistantLast ? "assistant" : "user",
                       .content = std::string(last)};
  tail.images = {"aW1hZ2U="};
  m.push_back(std::move(tail));
  return m;
}

prompt::Think think(uint8_t flags) {
  static const char* kLevels[] = {"medium", "low", "high", "max"};
  prompt::Think t;
  t.set = flags & kThinkSet;
  t.enabled = flags & kThink;
  if (t.enabled) t.level = kLevels[(flags >> 4) & 3];
  return t;
}

// The data generate's fill-in-middle path and chat's .Messages path give a template, in one.
prompt::Json direct_data(const std::vector<prompt::Message>& msgs, const prompt::Json& tools,
                         const prompt::Think& t) {
  prompt::Json list = prompt::Json::array();
  for (const auto& m : msgs) list.push_back(prompt::message_data(m));
  return {{"System", "You are terse."}, {"Prompt", "def fib(n):"},
          {"Suffix", "return a"},       {"Response", ""},
          {"Messages", list},           {"Tools", prompt::tools_data(tools)},
          {"Think", t.enabled},         {"ThinkLevel", t.level},
          {"IsThinkSet", t.set}};
}

// Feeds `output` to the parsers in uneven chunks, as tokens arrive.
void parse_output(const prompt::Template& tmpl, std::string_view output) {
  prompt::ThinkingTags tags = prompt::infer_thinking_tags(tmpl);
  std::string tool_tag = prompt::infer_tool_tag(tmpl);
  std::string thinking, content;
  std::vector<prompt::ToolCall> calls;
  if (!tags.open.empty()) {
    prompt::ThinkingParser p(tags.open, tags.close, output.size() % 2 == 0);
    for (size_t i = 0, step = 1; i < output.size(); i += step, step = step % 7 + 1)
      p.add(output.substr(i, step), &thinking, &content);
    p.finish(&thinking, &content);
  }
  if (!tool_tag.empty()) {
    prompt::ToolCallParser p(tool_tag, {"get_weather"});
    for (size_t i = 0, step = 3; i < output.size(); i += step, step = step % 5 + 1)
      p.add(output.substr(i, step), &content, &calls);
    p.finish(&content, &calls);
  }
  // gpt-oss's harmony parser on the same text (its markers are in the dictionary), starting
  // after `<|start|>assistant` or, for odd lengths, inside a final message of a prefill.
  prompt::HarmonyToolNames names;
  names.add("get_weather");
  const prompt::Message prefill{.role = "assistant", .content = "Hi"};
  prompt::HarmonyParser h(names, output.size() % 2 ? &prefill : nullptr);
  prompt::ParsedOutput parsed;
  for (size_t i = 0, step = 2; i < output.size(); i += step, step = step % 6 + 1)
    h.add(output.substr(i, step), &parsed);
  fuzz::expect_ok_or_error([&] { h.finish(&parsed); });  // bad call JSON: a clean error
}

}  // namespace

static int run_one(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nul = in.find('\0');
  std::string_view text = in.substr(0, nul);
  uint8_t flags = kAllFeatures;
  std::string_view extra = "Thanks! And tomorrow?";
  if (nul != std::string_view::npos) {
    flags = nul + 1 < in.size() ? static_cast<uint8_t>(in[nul + 1]) : 0;
    extra = nul + 2 < in.size() ? in.substr(nul + 2) : std::string_view();
  }

  std::optional<prompt::Template> tmpl;
  // A syntax error is the expected outcome for most inputs.
  if (!fuzz::expect_ok_or_error([&] { tmpl = prompt::Template::parse(text); })) return 0;
  for (const char* ident : {"Messages", "Response", "Tools", "Suffix", "System"})
    (void)tmpl->references(ident);
  (void)prompt::template_capabilities(*tmpl);

  prompt::Json tools = flags & kTools ? tools_json() : prompt::Json(nullptr);
  std::string_view content = extra;
  if (!extra.empty() && extra[0] == '[') {
    prompt::Json parsed = util::parse_json_or_discarded<prompt::Json>(extra);
    if (parsed.is_array()) {
      tools = std::move(parsed);
      content = "Thanks!";
    }
  }
  const std::vector<prompt::Message> msgs = messages(flags, content);
  const prompt::Think t = think(flags);
  fuzz::expect_ok_or_error([&] { (void)tmpl->execute(direct_data(msgs, tools, t)); });
  // Chat's path: .Messages templates render once, legacy ones turn by turn and are cut after
  // .Response (truncated_at).
  fuzz::expect_ok_or_error([&] { (void)prompt::render(*tmpl, msgs, tools, t); });
  fuzz::expect_ok_or_error([&] { parse_output(*tmpl, extra); });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int rc = 0;
  fuzz::on_request_stack([&] { rc = run_one(data, size); });
  return rc;
}
