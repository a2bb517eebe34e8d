// gpt-oss's chat format, OpenAI harmony (§11.3): when a model uses it, the prompt renderer
// (the same text Ollama's gpt-oss template gives), the tool-name mapping, and the streaming
// parser that splits generated text into thinking, content and a tool call.
#pragma once
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "prompt/chat.h"
#include "prompt/parsers.h"

namespace prompt {

// Model family `gptoss` / `gpt-oss` (config family or GGUF architecture).
bool is_harmony_family(std::string_view family);
// Ollama's heuristic: a template that holds both `<|start|>` and `<|end|>` expects harmony.
bool is_harmony_template(std::string_view template_text);

// The tools harmony knows without a definition: kept by name, described in the system message.
bool is_harmony_builtin_tool(std::string_view name);

// Client tool names <-> identifier-safe names for the prompt: space, `-` and `.` become `_`,
// other characters that are not letters, digits, `_` or `$` are dropped, a leading digit gets
// `_`, an empty result is `unnamed`, a name already taken gets `_2`, `_3`...; the built-ins keep
// their names. Responses map the model's names back.
class HarmonyToolNames {
 public:
  std::string add(const std::string& client_name);
  // The client's name for a prompt name; the name itself when it was never added.
  std::string original(const std::string& prompt_name) const;
  // The prompt's name for a client name added before; the name itself otherwise.
  std::string prompt_name(const std::string& client_name) const;

 private:
  std::map<std::string, std::string> to_prompt_, to_client_;
};

// `tools` (API JSON array or null) with every function name converted through `names`.
Json harmony_tools(const Json& tools, HarmonyToolNames& names);

// The harmony prompt for a conversation, byte for byte what Ollama's gpt-oss template renders:
// system message (identity, knowledge cutoff, `date`, `Reasoning: low|medium|high` from
// `think`, built-in tool sections, valid channels), developer message (function tools as a
// TypeScript namespace, system/developer instructions), the turns (assistant thinking on the
// analysis channel after the last user message, content on final, tool calls on commentary,
// tool results from `functions.NAME`), then `<|start|>assistant` unless the last message is
// an assistant prefill. `tools` are already renamed. `date` "" means today (YYYY-MM-DD).
std::string render_harmony(const std::vector<Message>& messages, const Json& tools,
                           const Think& think, std::string_view date = "");

// Streaming harmony parser. Messages are `<|start|>HEADER<|message|>BODY<|end|>` (or
// `<|return|>` / `<|call|>`); the header holds the role, `<|channel|>NAME`, an optional
// `to=RECIPIENT` and `<|constrain|>TYPE`. Bodies on the analysis channel are thinking, on
// final (or commentary without a recipient) content; a body with a recipient is a tool call,
// parsed as JSON when generation ends. Markers and headers never reach content or thinking,
// and the result does not depend on how the text is split into chunks.
class HarmonyParser : public OutputParser {
 public:
  // `last`: the request's last message; an assistant message with content (thinking) means
  // the prompt ends inside a final (analysis) message that the model continues.
  HarmonyParser(HarmonyToolNames names, const Message* last = nullptr);
  void add(std::string_view text, ParsedOutput* out) override;
  // Throws util::Error `error parsing tool call: raw='...', err=...` for arguments that are
  // not a JSON object.
  void finish(ParsedOutput* out) override;

 private:
  enum class State { kBetween, kHeader, kBody };
  enum class Route { kContent, kThinking, kTool };
  void run(ParsedOutput* out, bool at_end);
  void open_body(std::string_view header);
  void emit(std::string_view text, ParsedOutput* out);

  HarmonyToolNames names_;
  State state_ = State::kHeader;
  Route route_ = Route::kContent;
  std::string buf_;        // unresolved text
  std::string tool_name_;  // recipient of the last tool-call message
  std::string tool_args_;  // its body so far
  bool has_tool_ = false;
};

}  // namespace prompt
