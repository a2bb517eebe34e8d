// Streaming output parsers for Go-template models: thinking tags (§11.1), generic tool calls
// (§11.2), and inference of their tags from the template (§7.5); the interface every output
// parser (these, harmony) offers the server.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "prompt/chat.h"

namespace prompt {

struct ThinkingTags {
  std::string open, close;  // both empty when the template has none
};
// `<think>`/`</think>`-style tags around a `.Thinking` reference inside a range over .Messages.
ThinkingTags infer_thinking_tags(const Template& t);
// The text that starts a tool call (e.g. `<tool_call>`, `[TOOL_CALLS]`), "{" by default;
// empty when the template has no `{{ if .ToolCalls }}` block.
std::string infer_tool_tag(const Template& t);
// Capabilities a Go template implies: "tools", "insert", "thinking".
std::vector<std::string> template_capabilities(const Template& t);

class ThinkingParser {
 public:
  // `in_thinking`: the rendered prompt already ends with the opening tag.
  ThinkingParser(std::string open, std::string close, bool in_thinking = false);
  // Appends what `text` resolves to; a possible partial tag is held back.
  void add(std::string_view text, std::string* thinking, std::string* content);
  void finish(std::string* thinking, std::string* content);

 private:
  enum class State { kLookingForOpen, kAfterOpen, kThinking, kAfterClose, kContent } state_;
  std::string open_, close_, buf_;
};

class ToolCallParser {
 public:
  ToolCallParser(std::string tag, std::vector<std::string> tool_names);
  void add(std::string_view text, std::string* content, std::vector<ToolCall>* calls);
  // End of generation: anything still buffered that did not parse is content.
  void finish(std::string* content, std::vector<ToolCall>* calls);

 private:
  bool try_parse_call(std::vector<ToolCall>* calls);
  std::string tag_;
  std::vector<std::string> names_;
  std::string buf_;
  bool bracket_tag_;       // "{" or "[": JSON starts the output
  bool decided_ = false;   // bracket mode: first non-space output seen
  bool disabled_ = false;  // output is plain content
  bool in_call_ = false;   // tag seen, collecting the call
  bool done_ = false;      // bracket mode: calls finished, the rest is content
  int index_ = 0;
};

// What an output parser has resolved from generated text.
struct ParsedOutput {
  std::string content, thinking;
  std::vector<ToolCall> tool_calls;
};

// One request's parser: generated text in (any chunking), content / thinking / tool calls out.
class OutputParser {
 public:
  virtual ~OutputParser() = default;
  virtual void add(std::string_view text, ParsedOutput* out) = 0;
  // End of generation: whatever is still buffered.
  virtual void finish(ParsedOutput* out) = 0;
};

// The generic parsers chained: thinking tags first (when `tags.open` is set; `in_thinking`
// when the prompt ends with the opening tag), then tool calls on the content (when `tool_tag`
// is set). Null when neither is set.
std::unique_ptr<OutputParser> make_template_parser(const ThinkingTags& tags, bool in_thinking,
                                                   const std::string& tool_tag,
                                                   const std::vector<std::string>& tool_names);

// `call_` + 8 random [a-z0-9] characters, as Ollama assigns.
std::string new_tool_call_id();

}  // namespace prompt
