// Wire requests of /api/generate and /api/chat (§3.1, §3.2): decoding with Ollama's errors,
// keep_alive (§4), think (§2.4, §11.5) and runtime options (§3.13) validation.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace api {

using nlohmann::json;
using ojson = nlohmann::ordered_json;  // key order preserved (tools, tool-call arguments)

// The request's `think` value after validation.
struct ThinkValue {
  bool set = false;      // present in the request (true/false/level)
  bool enabled = false;  // true or a level
  std::string level;     // "low" | "medium" | "high" | "max"; "" for bool values
  // Anthropic's `thinking`: asked of a model that cannot think, it is dropped, not a 400.
  bool if_supported = false;
};

struct ChatMessage {
  std::string role;  // lower-cased
  std::string content;
  std::string thinking;
  std::vector<std::string> images;
  ojson tool_calls = ojson::array();  // [{id?, function: {index, name, arguments}}]
  std::string tool_name;
  std::string tool_call_id;
};

// Fields shared by generate and chat.
struct GenerationFields {
  std::string model;
  std::optional<bool> stream;
  json format;                           // null when absent
  std::optional<int64_t> keep_alive_ns;  // absent: keep the model's current duration
  json options = json::object();
  ThinkValue think;
  bool truncate = true;
  bool shift = true;
  bool logprobs = false;
  int top_logprobs = 0;
  bool debug_render_only = false;
};

struct GenerateRequest : GenerationFields {
  std::string prompt, suffix, system, template_text;
  std::vector<int32_t> context;
  bool raw = false;
  std::vector<std::string> images;
};

struct ChatRequest : GenerationFields {
  std::vector<ChatMessage> messages;
  ojson tools = ojson::array();
  // Beyond Ollama (which ignores it): null/"auto", "none", "required", or one function as
  // {"type":"function","function":{"name":N}} or {"name":N}.
  ojson tool_choice;
};

// keep_alive: number = seconds (fractional allowed), string = Go duration; negative -> forever
// (util::kForever). Errors (400): `time: missing unit in duration "3600"`,
// `Unsupported type: '<type>'`. nullptr / null -> nullopt.
std::optional<int64_t> parse_keep_alive(const json* v);

// think: bool or "low"|"medium"|"high"|"max" ("true"/"false" strings are accepted as bools).
// Else 400 `invalid think value: "x" (must be "high", "medium", "low", "max", true, or false)`.
ThinkValue parse_think(const json* v);

// Decode a request body (Go decoder errors, 400 on bad JSON / wrong field types).
GenerateRequest parse_generate_request(std::string_view body);
ChatRequest parse_chat_request(std::string_view body);

}  // namespace api
