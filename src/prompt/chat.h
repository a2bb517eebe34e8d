// Chat -> prompt: template data per Ollama (§7.3), message collation, legacy per-turn
// rendering, and truncation of old turns to the context window (§7.6).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "prompt/template.h"

namespace prompt {

struct ToolCall {
  std::string id;
  int index = 0;
  std::string name;
  Json arguments = Json::object();  // key order preserved
};

struct Message {
  std::string role;  // system, user, assistant, tool
  std::string content;
  std::string thinking;
  std::vector<std::string> images;  // base64 (only counted here)
  std::vector<ToolCall> tool_calls;
  std::string tool_name;
  std::string tool_call_id;
};

// The request's `think` after validation.
struct Think {
  bool set = false;      // client (or server default) set it explicitly
  bool enabled = false;  // true, or any level
  std::string level;     // "low" | "medium" | "high" | "max", "medium" for true, "" for false
};

// Parses a TEMPLATE layer the way Ollama does: a template that references neither .Messages
// nor .Response gets `{{ .Response }}` appended.
Template load_template(std::string_view text);

// Renders messages (+ tools, API JSON array or null) with `tmpl`: the `.Messages` style when
// the template uses it, otherwise legacy turn-by-turn rendering.
std::string render(const Template& tmpl, const std::vector<Message>& messages, const Json& tools,
                   const Think& think);

// A prompt builder for a list of messages (a template with tools and think bound, or a
// built-in renderer such as harmony's).
using RenderFn = std::function<std::string(const std::vector<Message>&)>;

// Renders after dropping the oldest non-system messages until the prompt fits `num_ctx`
// tokens (the last message is always kept; system messages never dropped). `count_tokens`
// tokenizes a rendered prompt. `image_tokens` is added per image when the model has vision.
std::string render_truncated(const RenderFn& render, const std::vector<Message>& messages,
                             int num_ctx, bool truncate,
                             const std::function<int(const std::string&)>& count_tokens,
                             int image_tokens = 0);
std::string render_truncated(const Template& tmpl, const std::vector<Message>& messages,
                             const Json& tools, const Think& think, int num_ctx, bool truncate,
                             const std::function<int(const std::string&)>& count_tokens,
                             int image_tokens = 0);

// Ollama's collation (§7.3): consecutive messages of one role merged with "\n\n" (tool
// messages stay apart); `system` gets every system message's content joined with "\n\n".
std::vector<Message> collate_messages(const std::vector<Message>& msgs, std::string* system);

// Template data pieces, exposed for generate's direct template execution and tests.
Json message_data(const Message& m);
Json tools_data(const Json& tools);

}  // namespace prompt
