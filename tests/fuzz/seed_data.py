"""Seed texts for make_seeds.py: Ollama-style chat templates and API request/response bodies."""

# Templates in the style of Ollama's library models (Go text/template, Ollama's data fields).
TEMPLATES = {
    "qwen3-thinking": """{{- if .Messages }}
{{- if or .System .Tools }}<|im_start|>system
{{- if .System }}
{{ .System }}
{{- end }}
{{- if .Tools }}

# Tools

You are provided with function signatures within <tools></tools> XML tags:
<tools>
{{- range .Tools }}
{"type": "function", "function": {{ .Function }}}
{{- end }}
</tools>

For each function call, return a json object within <tool_call></tool_call> XML tags:
<tool_call>
{"name": <function-name>, "arguments": <args-json-object>}
</tool_call>
{{- end }}<|im_end|>
{{ end }}
{{- range $i, $_ := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 -}}
{{- if eq .Role "user" }}<|im_start|>user
{{ .Content }}<|im_end|>
{{ else if eq .Role "assistant" }}<|im_start|>assistant
{{ if (and $.IsThinkSet (and .Thinking (or $last (gt $i 0)))) -}}
<think>{{ .Thinking }}</think>
{{ end -}}
{{ if .Content }}{{ .Content }}
{{- else if .ToolCalls }}<tool_call>
{{- range .ToolCalls }}
{"name": "{{ .Function.Name }}", "arguments": {{ .Function.Arguments }}}
{{- end }}</tool_call>
{{- end }}{{ if not $last }}<|im_end|>
{{ end }}
{{- else if eq .Role "tool" }}<|im_start|>user
<tool_response>
{{ .Content }}
</tool_response><|im_end|>
{{ end }}
{{- if and (ne .Role "assistant") $last }}<|im_start|>assistant
{{ if and $.IsThinkSet (not $.Think) -}}
<think>

</think>

{{ end -}}
{{ end }}
{{- end }}
{{- else }}
{{- if .System }}<|im_start|>system
{{ .System }}<|im_end|>
{{ end }}{{ if .Prompt }}<|im_start|>user
{{ .Prompt }}<|im_end|>
{{ end }}<|im_start|>assistant
{{ end }}{{ .Response }}{{ if .Response }}<|im_end|>{{ end }}""",
    "llama2-legacy": """[INST] <<SYS>>{{ .System }}<</SYS>>

{{ .Prompt }} [/INST] {{ .Response }}""",
    "codellama-fim": "<PRE> {{ .Prompt }} <SUF>{{ .Suffix }} <MID>",
    "mistral-tools": """{{- range $index, $_ := .Messages }}
{{- if eq .Role "system" }}[SYSTEM_PROMPT]{{ .Content }}[/SYSTEM_PROMPT]
{{- else if eq .Role "user" }}
{{- if and (le (len (slice $.Messages $index)) 2) $.Tools }}[AVAILABLE_TOOLS]{{ json $.Tools }}[/AVAILABLE_TOOLS]
{{- end }}[INST]{{ .Content }}[/INST]
{{- else if eq .Role "assistant" }}
{{- if .Content }}{{ .Content }}
{{- if not (eq (len (slice $.Messages $index)) 1) }}</s>
{{- end }}
{{- else if .ToolCalls }}[TOOL_CALLS][
{{- range .ToolCalls }}{"name": "{{ .Function.Name }}", "arguments": {{ json .Function.Arguments }}}
{{- end }}]</s>
{{- end }}
{{- else if eq .Role "tool" }}[TOOL_RESULTS]{"content": {{ .Content }}}[/TOOL_RESULTS]
{{- end }}
{{- end }}""",
    "deepseek-r1": """{{- if .System }}{{ .System }}{{ end }}
{{- range $i, $_ := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1}}
{{- if eq .Role "user" }}<\uff5cUser\uff5c>{{ .Content }}
{{- else if eq .Role "assistant" }}<\uff5cAssistant\uff5c>
  {{- if and $.IsThinkSet (and $last .Thinking) -}}
<think>
{{ .Thinking }}
</think>
{{- end }}{{ .Content }}{{- if not $last }}<\uff5cend\u2581of\u2581sentence\uff5c>{{- end }}
{{- end }}
{{- if and $last (ne .Role "assistant") }}<\uff5cAssistant\uff5c>
{{- if and $.IsThinkSet (not $.Think) -}}
<think>

</think>

{{ end }}
{{- end -}}
{{- end }}""",
    "gpt-oss-tools": """<|start|>system<|message|>Reasoning: {{ if $.ThinkLevel }}{{ $.ThinkLevel }}{{ else }}medium{{ end }}
{{- if .Tools }}
namespace functions {
{{- range .Tools }}
// {{ .Function.Description }}
type {{ .Function.Name }} = (_: {
{{- range $name, $prop := .Function.Parameters.Properties }}
// {{ $prop.Description }}
{{ $name }}{{ if not (index $.Tools 0).Function.Parameters.Required }}?{{ end }}: {{ toTypeScriptType $prop }},
{{- end }}
}) => any;
{{- end }}
} // namespace functions
{{- end }}<|end|>
{{- range .Messages }}<|start|>{{ .Role }}<|message|>{{ .Content }}<|end|>{{ end }}<|start|>assistant""",
    "functions": """{{/* every built-in, variables, control flow */}}
{{- define "turn" }}[{{ .Role | printf "%-9s" }}] {{ html .Content }}{{ end -}}
{{- $n := len .Messages }}{{ $first := index .Messages 0 }}
{{- printf "%d messages, first %q, %v %5.2f %x %s" $n $first.Role true 3.14159 255 (js "a'b") }}
{{- range $i, $m := .Messages }}{{ if eq $i 1 }}{{ continue }}{{ end }}{{ if gt $i 4 }}{{ break }}{{ end }}
{{ template "turn" $m }}{{ else }}none{{ end }}
{{- with .Tools }}{{ range . }}{{ .Function.Name }} {{ json .Function.Parameters }}{{ end }}{{ else }}no tools{{ end }}
{{ block "footer" . }}{{ println "ok" (not .Think) (and 1 0) (or 0 "x") }}{{ end }}
{{- print 1 2 "a" "b" 3 | urlquery }} {{ slice "abcdef" 1 3 }} {{ index .Messages 0 "Role" }}
{{- if and (lt 1 2) (le 2 2) (ge 3 3) (ne "a" "b") }} {{ currentDate }} {{ yesterdayDate }}{{ end }}
{{- $x := 0 }}{{ $x = 0x1F }}{{ $x }} {{ 1e3 }} {{ 'a' }} {{ `raw {{ }}` }} {{ nil | print }}
{{- range $k, $v := (index .Messages 0) }}{{ $k }}={{ $v }};{{ end }}""",
    "legacy-system-prompt": """{{ if .System }}<|system|>
{{ .System }}</s>
{{ end }}{{ if .Prompt }}<|user|>
{{ .Prompt }}</s>
{{ end }}<|assistant|>
{{ .Response }}</s>""",
}

_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather",
        "parameters": {
            "type": "object",
            "required": ["city"],
            "properties": {
                "city": {"type": "string", "description": "City name"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
        },
    },
}
_OPTIONS = {"temperature": 0.2, "top_k": 40, "top_p": 0.9, "min_p": 0.05, "seed": 42,
            "num_ctx": 4096, "num_predict": 128, "repeat_penalty": 1.1, "stop": ["</s>", "\n\n"],
            "num_thread": 2, "mirostat": 0, "penalize_newline": True, "use_mmap": True}
_SCHEMA = {"type": "object", "properties": {"name": {"type": "string"},
                                            "age": {"type": "integer"}}, "required": ["name"]}

# Bodies as clients send them (and replies the client decodes). Strings are sent verbatim.
JSON_BODIES = {
    "generate-min": {"model": "llama3.2", "prompt": "Why is the sky blue?"},
    "generate-full": {
        "model": "llama3.2:latest", "prompt": "def fib(n):", "suffix": "    return a",
        "system": "You write Python.", "template": "{{ .System }} {{ .Prompt }}",
        "context": [1, 2, 3], "stream": False, "raw": False, "format": "json",
        "images": ["iVBORw0KGgo="], "keep_alive": "5m", "options": _OPTIONS, "think": "high",
        "truncate": True, "shift": False, "logprobs": True, "top_logprobs": 5,
    },
    "generate-schema": {"model": "m", "prompt": "p", "format": _SCHEMA, "keep_alive": 3600.5,
                        "think": False, "_debug_render_only": True},
    "generate-unload": {"model": "m", "keep_alive": 0},
    "chat-tools": {
        "model": "qwen3", "stream": True, "think": True, "tools": [_TOOL], "keep_alive": -1,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Paris?", "images": ["aW1n"]},
            {"role": "assistant", "content": "", "thinking": "Use the tool.",
             "tool_calls": [{"id": "call_abc123", "function": {
                 "index": 0, "name": "get_weather", "arguments": {"city": "Paris"}}}]},
            {"role": "tool", "content": "{\"temp\": 21}", "tool_name": "get_weather",
             "tool_call_id": "call_abc123"},
        ],
    },
    "chat-format": {"model": "llama3.2", "messages": [{"role": "User", "content": "Hi"}],
                    "format": _SCHEMA, "options": {"temperature": 0, "num_ctx": 2048},
                    "think": "low", "logprobs": False},
    "chat-string-args":
        '{"model":"m","messages":[{"role":"assistant","tool_calls":[{"function":'
        '{"name":"f","arguments":"{\\"a\\": [1, 2, {\\"b\\": null}]}"}}]}]}',
    "create": {
        "model": "my/model:tag", "from": "llama3.2", "stream": False, "quantize": "q4_K_M",
        "files": {"model.gguf": "sha256:" + "ab" * 32},
        "adapters": {"lora.gguf": "sha256:" + "cd" * 32},
        "template": "{{ .Prompt }}", "system": "sys", "license": ["MIT", "Apache-2.0"],
        "parameters": {"temperature": 0.7, "stop": ["<|eot|>"]},
        "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}],
        "renderer": "qwen3", "parser": "qwen3", "requires": "0.6.0", "info": {"k": "v"},
    },
    "create-deprecated": {"name": "old", "quantization": "q8_0", "license": "MIT"},
    "show": {"model": "llama3.2", "verbose": True, "system": "s", "template": "t",
             "options": {"num_ctx": 8}},
    "show-name": {"name": "llama3.2:1b"},
    "copy": {"source": "llama3.2", "destination": "backup/llama3.2:v1"},
    "delete": {"model": "backup/llama3.2:v1"},
    "reply-show": {
        "modelfile": "FROM x", "parameters": "stop \"<s>\"", "template": "{{ .Prompt }}",
        "details": {"parent_model": "", "format": "gguf", "family": "llama",
                    "families": ["llama"], "parameter_size": "1.2B",
                    "quantization_level": "Q4_K_M"},
        "model_info": {"general.architecture": "llama"}, "capabilities": ["completion"],
        "tensors": [{"name": "token_embd.weight", "type": "Q4_K", "shape": [2048, 128256]}],
        "modified_at": "2024-05-01T10:00:00.123456789+02:00",
    },
    "reply-list": {"models": [{"name": "a:latest", "model": "a:latest", "size": 1,
                               "digest": "ab" * 32, "modified_at": "2023-08-04T19:22:45.4991Z",
                               "details": {"format": "gguf"}}]},
    "reply-ps": {"models": [{"name": "a", "model": "a", "size": 10, "size_vram": 0,
                             "expires_at": "0001-01-01T00:00:00Z", "context_length": 4096}]},
    "reply-progress": {"status": "pulling manifest", "digest": "sha256:00", "total": 10,
                       "completed": 5},
    "reply-error": {"error": "model 'x' not found"},
}
