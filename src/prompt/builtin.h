// Built-in Go templates for GGUFs imported without a TEMPLATE layer, chosen from the GGUF's
// `tokenizer.chat_template` (Llama 3, ChatML/Qwen, Gemma, Phi-3, Mistral), with stop lists.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace prompt {

struct BuiltinTemplate {
  std::string name;  // e.g. "llama3-instruct"
  std::string text;  // Go template
  std::vector<std::string> stop;
};

// The built-in matching a Jinja chat template, or nullptr when none matches.
const BuiltinTemplate* detect_builtin(std::string_view jinja_chat_template);
const BuiltinTemplate* builtin_by_name(std::string_view name);
const std::vector<BuiltinTemplate>& builtin_templates();
// Ollama's default when nothing else applies.
inline constexpr const char* kDefaultTemplate = "{{ .Prompt }}";

}  // namespace prompt
