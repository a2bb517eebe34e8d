// The harmony prompt (§11.3): what Ollama's gpt-oss template renders, written out in code so
// that a gpt-oss model gets it whatever its TEMPLATE layer holds; tool-name mapping.
#include <algorithm>
#include <cctype>

#include "prompt/harmony.h"
#include "prompt/template_funcs.h"

namespace prompt {
namespace {

constexpr std::string_view kBrowserHeader =
    "\n\n## browser\n\n"
    "// Tool for browsing.\n"
    "// The cursor appears in brackets before each browsing display, like [cursor].\n"
    "// Cite information from the tool using the line-citation format shown by the browser "
    "output.\n"
    "// Do not quote more than 10 words directly from the tool output.\n"
    "// sources=web (default: web)\n"
    "namespace browser {";

constexpr std::string_view kBrowserSearch =
    "\n\n// Searches for information related to query and displays topn results.\n"
    "type search = (_: {\n"
    "query: string,\n"
    "topn?: number, // default: 10\n"
    "source?: string,\n"
    "}) => any;";

constexpr std::string_view kBrowserOpen =
    "\n\n// Opens the link id from the page indicated by cursor starting at line number loc, "
    "showing num_lines lines.\n"
    "// If cursor is not provided, the most recent page is implied.\n"
    "// If id is a string, it is treated as a fully qualified URL associated with source.\n"
    "// If loc is not provided, the viewport will be positioned at the beginning of the "
    "document or centered on the most relevant passage, if available.\n"
    "// Use this function without id to scroll to a new location of an opened page.\n"
    "type open = (_: {\n"
    "id?: number | string, // default: -1\n"
    "cursor?: number, // default: -1\n"
    "loc?: number, // default: -1\n"
    "num_lines?: number, // default: -1\n"
    "view_source?: boolean, // default: false\n"
    "source?: string,\n"
    "}) => any;";

constexpr std::string_view kBrowserFind =
    "\n\n// Finds exact matches of pattern in the current page, or the page given by cursor.\n"
    "type find = (_: {\n"
    "pattern: string,\n"
    "cursor?: number, // default: -1\n"
    "}) => any;";

constexpr std::string_view kPython =
    "\n\n## python\n\n"
    "Use this tool to execute Python code in your chain of thought. The code will not be shown "
    "to the user. This tool should be used for internal reasoning, but not for code that is "
    "intended to be visible to the user (e.g. when creating plots, tables, or files).\n\n"
    "When you send a message containing Python code to python, it will be executed in a "
    "stateful Jupyter notebook environment. python will respond with the output of the "
    "execution or time out after 120.0 seconds. The drive at '/mnt/data' can be used to save "
    "and persist user files. Internet access for this session is UNKNOWN. Depends on the "
    "cluster.";

const Json& field(const Json& v, const char* key) {
  static const Json kNull;
  if (!v.is_object()) return kNull;
  auto it = v.find(key);
  return it == v.end() ? kNull : *it;
}

std::string str_field(const Json& v, const char* key) {
  const Json& f = field(v, key);
  return f.is_string() ? f.get<std::string>() : std::string();
}

// The reasoning line: a level when thinking is on with one, medium when `think` is unset or
// on, none for an explicit `think: false` (gpt-oss still reasons, at its default).
std::string reasoning_line(const Think& think) {
  std::string level = think.level == "max" ? "high" : think.level;
  if (think.set && think.enabled && !level.empty()) return "\n\nReasoning: " + level;
  if (!think.set || think.enabled) return "\n\nReasoning: medium";
  return "";
}

// One function tool in the developer message's `namespace functions`.
void render_function(const Json& tool, std::string& out) {
  const Json& fn = field(tool, "Function");
  const std::string name = str_field(fn, "Name");
  const std::string description = str_field(fn, "Description");
  out += "\n";
  if (!description.empty()) out += "\n// " + description;
  const Json& props = field(field(fn, "Parameters"), "Properties");
  if (!truthy(props)) {
    out += "\ntype " + name + " = () => any;";
    return;
  }
  std::vector<std::string> keys;  // Go ranges a map in sorted key order
  for (auto it = props.begin(); it != props.end(); ++it)
    if (it.key() != kJsonKey) keys.push_back(it.key());
  std::sort(keys.begin(), keys.end());
  out += "\ntype " + name + " = (_: {";
  for (const auto& key : keys) {
    const Json& prop = props[key];
    const std::string prop_description = str_field(prop, "Description");
    if (!prop_description.empty()) out += "\n  // " + prop_description;
    out +=
        "\n  " + key + ": " + call_function("toTypeScriptType", {&prop}).get<std::string>() + ",";
  }
  out += "\n}) => any;";
}

}  // namespace

bool is_harmony_family(std::string_view family) {
  return family == "gptoss" || family == "gpt-oss";
}

bool is_harmony_template(std::string_view text) {
  return text.find("<|start|>") != std::string_view::npos &&
         text.find("<|end|>") != std::string_view::npos;
}

bool is_harmony_builtin_tool(std::string_view name) {
  return name == "browser.search" || name == "browser.open" || name == "browser.find" ||
         name == "python";
}

std::string HarmonyToolNames::add(const std::string& client_name) {
  std::string name;
  if (is_harmony_builtin_tool(client_name)) {
    name = client_name;
  } else {
    std::string base;
    for (size_t i = 0; i < client_name.size();) {
      unsigned char c = static_cast<unsigned char>(client_name[i]);
      size_t len = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
      len = std::min(len, client_name.size() - i);
      if (c == ' ' || c == '-' || c == '.') {
        base += '_';
      } else if (std::isalnum(c) || c == '_' || c == '$') {
        base += static_cast<char>(c);
      } else if (c >= 0xc0) {
        // Non-ASCII letters and digits are kept whole, like Go's unicode.IsLetter; symbols
        // outside ASCII are rare in tool names and kept too rather than guessed at.
        base.append(client_name, i, len);
      }
      i += len;
    }
    if (base.empty()) base = "unnamed";
    if (std::isdigit(static_cast<unsigned char>(base[0]))) base = "_" + base;
    name = base;
    for (int n = 2; to_client_.count(name); n++) name = base + "_" + std::to_string(n);
  }
  to_prompt_[client_name] = name;
  to_client_[name] = client_name;
  return name;
}

std::string HarmonyToolNames::prompt_name(const std::string& client_name) const {
  auto it = to_prompt_.find(client_name);
  return it == to_prompt_.end() ? client_name : it->second;
}

std::string HarmonyToolNames::original(const std::string& prompt_name) const {
  auto it = to_client_.find(prompt_name);
  return it == to_client_.end() ? prompt_name : it->second;
}

Json harmony_tools(const Json& tools, HarmonyToolNames& names) {
  if (!tools.is_array()) return tools;
  Json out = tools;
  for (auto& t : out) {
    if (!t.is_object() || !t.contains("function") || !t["function"].is_object()) continue;
    Json& fn = t["function"];
    if (fn.contains("name") && fn["name"].is_string() && !fn["name"].get<std::string>().empty())
      fn["name"] = names.add(fn["name"].get<std::string>());
  }
  return out;
}

std::string render_harmony(const std::vector<Message>& messages, const Json& tools,
                           const Think& think, std::string_view date) {
  std::string out =
      "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\n"
      "Knowledge cutoff: 2024-06\nCurrent date: ";
  out += date.empty() ? call_function("currentDate", {}).get<std::string>() : std::string(date);
  out += reasoning_line(think);

  const Json tool_data = tools_data(tools);
  bool functions = false, search = false, open = false, find = false, python = false;
  for (const auto& t : tool_data) {
    const std::string name = str_field(field(t, "Function"), "Name");
    if (name == "browser.search")
      search = true;
    else if (name == "browser.open")
      open = true;
    else if (name == "browser.find")
      find = true;
    else if (name == "python")
      python = true;
    else
      functions = true;
  }
  if (search || open || find || python) {
    out += "\n\n# Tools";
    if (search || open || find) {
      out += kBrowserHeader;
      if (search) out += kBrowserSearch;
      if (open) out += kBrowserOpen;
      if (find) out += kBrowserFind;
      out += "\n\n} // namespace browser";
    }
    if (python) out += kPython;
  }
  out +=
      "\n\n# Valid channels: analysis, commentary, final. Channel must be included for every "
      "message.";
  if (functions) out += "\nCalls to these tools must go to the commentary channel: 'functions'.";
  out += "<|end|>";

  std::string system;
  const std::vector<Message> msgs = collate_messages(messages, &system);
  if (functions || !system.empty()) {
    out += "<|start|>developer<|message|>";
    if (functions) {
      out += "# Tools\n\n## functions\n\nnamespace functions {";
      for (const auto& t : tool_data)
        if (!is_harmony_builtin_tool(str_field(field(t, "Function"), "Name")))
          render_function(t, out);
      out += "\n\n} // namespace functions";
    }
    if (!system.empty()) out += "\n\n# Instructions\n\n" + system;
    out += "<|end|>";
  }

  // Thinking is shown only after the last user message; a last assistant message with content
  // (or only thinking) is a prefill the model continues, so that part stays open. Like the
  // template, the prefill flags apply to every assistant message after the last user one.
  int last_user = -1;
  for (size_t i = 0; i < msgs.size(); i++)
    if (msgs[i].role == "user") last_user = static_cast<int>(i);
  bool prefill_content = false, prefill_thinking = false;
  if (!msgs.empty() && msgs.back().role == "assistant") {
    prefill_content = !msgs.back().content.empty();
    prefill_thinking = !prefill_content && !msgs.back().thinking.empty();
  }
  for (size_t i = 0; i < msgs.size(); i++) {
    const Message& m = msgs[i];
    if (m.role == "tool") {
      out += "<|start|>";
      if (!is_harmony_builtin_tool(m.tool_name)) out += "functions.";
      out += m.tool_name + " to=assistant<|message|>" + m.content + "<|end|>";
    } else if (m.role == "user") {
      out += "<|start|>user<|message|>" + m.content + "<|end|>";
    } else if (m.role == "assistant") {
      if (!m.thinking.empty() && static_cast<int>(i) > last_user) {
        out += "<|start|>assistant<|channel|>analysis<|message|>" + m.thinking;
        if (!prefill_thinking) out += "<|end|>";
      }
      if (!m.content.empty()) {
        out += "<|start|>assistant<|channel|>final<|message|>" + m.content;
        if (!prefill_content) out += "<|end|>";
      }
      if (!m.tool_calls.empty()) {
        const Json calls = message_data(m)["ToolCalls"];
        for (size_t j = 0; j < m.tool_calls.size(); j++) {
          const std::string& name = m.tool_calls[j].name;
          const bool builtin = is_harmony_builtin_tool(name);
          out += "<|start|>assistant<|channel|>";
          out += builtin ? "analysis to=" : "commentary to=functions.";
          out += name + " <|constrain|>json<|message|>";
          out += print_value(calls[j]["Function"]["Arguments"]) + "<|call|>";
        }
      }
    }
    // system messages went into the developer message; other roles are not rendered.
  }
  if (!prefill_content && !prefill_thinking) out += "<|start|>assistant";
  return out;
}

}  // namespace prompt
