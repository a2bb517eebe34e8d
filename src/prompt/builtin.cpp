#include "prompt/builtin.h"

namespace prompt {
namespace {

// Llama 3.x: header-delimited turns; tools are described in the system turn and calls are
// JSON objects {"name": ..., "parameters": ...}; tool results use the ipython role.
const char* kLlama3 = R"TPL({{- if or .System .Tools }}<|start_header_id|>system<|end_header_id|>

{{ if .System }}{{ .System }}{{ end }}
{{- if .Tools }}{{ if .System }}

{{ end }}You have access to the following functions. To call a function, respond with JSON for a function call in the form {"name": function name, "parameters": dictionary of argument name and its value}. Do not use variables.

{{ range .Tools }}{{ . }}

{{ end }}{{ end }}<|eot_id|>
{{- end }}
{{- range $i, $_ := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 }}
{{- if eq .Role "user" }}<|start_header_id|>user<|end_header_id|>

{{ .Content }}<|eot_id|>{{ if $last }}<|start_header_id|>assistant<|end_header_id|>

{{ end }}
{{- else if eq .Role "assistant" }}<|start_header_id|>assistant<|end_header_id|>

{{ if .ToolCalls }}{{ range .ToolCalls }}{"name": "{{ .Function.Name }}", "parameters": {{ .Function.Arguments }}}{{ end }}{{ else }}{{ .Content }}{{ end }}{{ if not $last }}<|eot_id|>{{ end }}
{{- else if eq .Role "tool" }}<|start_header_id|>ipython<|end_header_id|>

{{ .Content }}<|eot_id|>{{ if $last }}<|start_header_id|>assistant<|end_header_id|>

{{ end }}
{{- end }}
{{- end }})TPL";

// ChatML (Qwen 2/2.5 style tool calls inside <tool_call></tool_call>).
const char* kChatml = R"TPL({{- if or .System .Tools }}<|im_start|>system
{{ if .System }}{{ .System }}{{ end }}
{{- if .Tools }}

# Tools

You may call one or more functions to assist with the user query.

You are provided with function signatures within <tools></tools> XML tags:
<tools>
{{- range .Tools }}
{{ . }}
{{- end }}
</tools>

For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:
<tool_call>
{"name": <function-name>, "arguments": <args-json-object>}
</tool_call>
{{- end }}<|im_end|>
{{ end }}
{{- range $i, $_ := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 }}
{{- if eq .Role "user" }}<|im_start|>user
{{ .Content }}<|im_end|>
{{ else if eq .Role "assistant" }}<|im_start|>assistant
{{ if .Content }}{{ .Content }}{{ end }}
{{- if .ToolCalls }}{{ range .ToolCalls }}<tool_call>
{"name": "{{ .Function.Name }}", "arguments": {{ .Function.Arguments }}}
</tool_call>{{ end }}{{ end }}{{ if not $last }}<|im_end|>
{{ end }}
{{- else if eq .Role "tool" }}<|im_start|>user
<tool_response>
{{ .Content }}
</tool_response><|im_end|>
{{ end }}
{{- if and (ne .Role "assistant") $last }}<|im_start|>assistant
{{ end }}
{{- end }})TPL";

// Gemma: no system role, the system text opens the first user turn.
const char* kGemma = R"TPL({{- $sys := $.System }}
{{- range $i, $_ := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 }}
{{- if eq .Role "user" }}<start_of_turn>user
{{ if $sys }}{{ $sys }}

{{ $sys = "" }}{{ end }}{{ .Content }}<end_of_turn>
{{ if $last }}<start_of_turn>model
{{ end }}
{{- else if eq .Role "assistant" }}<start_of_turn>model
{{ .Content }}{{ if not $last }}<end_of_turn>
{{ end }}
{{- end }}
{{- end }})TPL";

const char* kPhi3 = R"TPL({{- range $i, $_ := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 }}
{{- if eq .Role "system" }}<|system|>
{{ .Content }}<|end|>
{{ else if eq .Role "user" }}<|user|>
{{ .Content }}<|end|>
{{ else if eq .Role "assistant" }}<|assistant|>
{{ .Content }}{{ if not $last }}<|end|>
{{ end }}
{{- end }}
{{- if and (ne .Role "assistant") $last }}<|assistant|>
{{ end }}
{{- end }})TPL";

// Mistral instruct: the system prompt is prepended to the last user turn.
const char* kMistral = R"TPL({{- range $i, $_ := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 }}
{{- if eq .Role "user" }}[INST] {{ if and $.System $last }}{{ $.System }}

{{ end }}{{ .Content }}[/INST]
{{- else if eq .Role "assistant" }} {{ .Content }}{{ if not $last }}</s>{{ end }}
{{- end }}
{{- end }})TPL";

std::vector<BuiltinTemplate> make() {
  return {
      {"llama3-instruct", kLlama3, {"<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"}},
      {"chatml", kChatml, {"<|im_start|>", "<|im_end|>"}},
      {"gemma-instruct", kGemma, {"<start_of_turn>", "<end_of_turn>"}},
      {"phi-3", kPhi3, {"<|end|>", "<|system|>", "<|user|>", "<|assistant|>"}},
      {"mistral-instruct", kMistral, {"[INST]", "[/INST]"}},
  };
}

bool has(std::string_view s, std::string_view needle) {
  return s.find(needle) != std::string_view::npos;
}

}  // namespace

const std::vector<BuiltinTemplate>& builtin_templates() {
  static const std::vector<BuiltinTemplate> all = make();
  return all;
}

const BuiltinTemplate* builtin_by_name(std::string_view name) {
  for (const auto& t : builtin_templates())
    if (t.name == name) return &t;
  return nullptr;
}

const BuiltinTemplate* detect_builtin(std::string_view j) {
  if (j.empty()) return nullptr;
  // The distinguishing special tokens of each format are unambiguous in Jinja sources.
  if (has(j, "<|start_header_id|>") && has(j, "<|eot_id|>"))
    return builtin_by_name("llama3-instruct");
  if (has(j, "<|im_start|>")) return builtin_by_name("chatml");
  if (has(j, "<start_of_turn>")) return builtin_by_name("gemma-instruct");
  if (has(j, "<|user|>") && has(j, "<|end|>")) return builtin_by_name("phi-3");
  if (has(j, "[INST]")) return builtin_by_name("mistral-instruct");
  return nullptr;
}

}  // namespace prompt
