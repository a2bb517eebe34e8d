#include "cli/repl_input.h"

#include <algorithm>
#include <cstdio>

#include "cli/format.h"
#include "create/parameters.h"
#include "util/error.h"

namespace cli {
namespace {

constexpr std::string_view kQuotes = "\"\"\"";

bool starts_with(const std::string& s, std::string_view p) { return s.rfind(p, 0) == 0; }

bool cut_suffix(std::string& s, std::string_view suffix) {
  if (s.size() < suffix.size() || s.compare(s.size() - suffix.size(), suffix.size(), suffix) != 0)
    return false;
  s.resize(s.size() - suffix.size());
  return true;
}

}  // namespace

LineResult InputAssembler::feed(const std::string& line) {
  LineResult r;
  if (mode_ != Mode::kNone) {
    std::string before = line;
    bool closed = cut_suffix(before, kQuotes);
    buf_ += before;
    if (!closed) {
      buf_ += "\n";
      return r;
    }
    Mode ended = mode_;
    mode_ = Mode::kNone;
    r.kind = ended == Mode::kSystem ? LineResult::kSystem : LineResult::kMessage;
    r.text = std::move(buf_);
    buf_.clear();
    // An empty block sends nothing (Ollama only sends a non-empty buffer).
    if (r.kind == LineResult::kMessage && r.text.empty()) r.kind = LineResult::kNothing;
    return r;
  }
  if (starts_with(line, kQuotes)) {
    std::string rest = line.substr(kQuotes.size());
    bool closed = cut_suffix(rest, kQuotes);
    buf_ += rest;
    if (!closed) {
      buf_ += "\n";
      mode_ = Mode::kPrompt;
      return r;
    }
  } else if (starts_with(line, "/")) {
    r.kind = LineResult::kCommand;
    r.text = line;
    return r;
  } else {
    buf_ += line;
  }
  if (!buf_.empty()) {
    r.kind = LineResult::kMessage;
    r.text = std::move(buf_);
    buf_.clear();
  }
  return r;
}

LineResult InputAssembler::begin_system(const std::string& rest) {
  LineResult r;
  std::string text = rest;
  bool block = starts_with(text, kQuotes);
  if (block) {
    text = text.substr(kQuotes.size());
    if (cut_suffix(text, kQuotes)) block = false;
  }
  buf_ += text;  // no "\n" after the opening line: Ollama's REPL joins it to the next one
  if (block) {
    mode_ = Mode::kSystem;
    return r;
  }
  r.kind = LineResult::kSystem;
  r.text = std::move(buf_);
  buf_.clear();
  return r;
}

void InputAssembler::reset() {
  mode_ = Mode::kNone;
  buf_.clear();
}

SlashCommand classify_slash(const std::string& line) {
  static const std::pair<const char*, SlashCommand> kTable[] = {
      {"/list", SlashCommand::kList}, {"/load", SlashCommand::kLoad},
      {"/save", SlashCommand::kSave}, {"/clear", SlashCommand::kClear},
      {"/set", SlashCommand::kSet},   {"/show", SlashCommand::kShow},
      {"/help", SlashCommand::kHelp}, {"/?", SlashCommand::kHelp},
      {"/exit", SlashCommand::kExit}, {"/bye", SlashCommand::kExit},
  };
  for (auto& [prefix, cmd] : kTable)
    if (starts_with(line, prefix)) return cmd;
  return SlashCommand::kUnknown;
}

std::vector<std::string> fields(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
  };
  while (i < s.size()) {
    while (i < s.size() && space(s[i])) i++;
    size_t j = i;
    while (j < s.size() && !space(s[j])) j++;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

void set_system_message(nlohmann::json& messages, const std::string& text) {
  nlohmann::json msg = {{"role", "system"}, {"content", text}};
  if (!messages.is_array()) messages = nlohmann::json::array();
  if (!messages.empty() && messages.back().value("role", "") == "system")
    messages.back() = msg;
  else
    messages.push_back(msg);
}

nlohmann::json parse_session_parameter(const std::string& name,
                                       const std::vector<std::string>& values) {
  if (values.empty()) throw util::Error("missing value for parameter '" + name + "'");
  nlohmann::json v = create::format_param(name, values[0]);
  if (v.is_array()) {
    v = nlohmann::json::array();
    for (auto& s : values) v.push_back(s);
  }
  return v;
}

std::string go_quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char b[8];
          std::snprintf(b, sizeof b, "\\x%02x", c);
          out += b;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string format_show_parameters(const std::string& model_parameters,
                                   const nlohmann::json& session_options) {
  std::string out = "Model defined parameters:\n";
  if (model_parameters.empty()) {
    out += "  No additional parameters were specified for this model.\n";
  } else {
    size_t start = 0;
    while (true) {
      size_t nl = model_parameters.find('\n', start);
      out += "  " + model_parameters.substr(start, nl - start) + "\n";
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
  }
  out += "\n";
  if (session_options.is_object() && !session_options.empty()) {
    out += "User defined parameters:\n";
    std::vector<std::string> keys;
    for (auto it = session_options.begin(); it != session_options.end(); ++it)
      keys.push_back(it.key());
    std::sort(keys.begin(), keys.end());
    char buf[64];
    for (auto& k : keys) {
      std::snprintf(buf, sizeof buf, "  %-30s ", k.c_str());
      out += buf + go_format_v(session_options[k]) + "\n";
    }
    out += "\n";
  }
  return out;
}

std::string usage_text(bool multimodal) {
  std::string s =
      "Available Commands:\n"
      "  /set            Set session variables\n"
      "  /show           Show model information\n"
      "  /load <model>   Load a session or model\n"
      "  /save <model>   Save your current session\n"
      "  /clear          Clear session context\n"
      "  /bye            Exit\n"
      "  /?, /help       Help for a command\n"
      "  /? shortcuts    Help for keyboard shortcuts\n"
      "\n"
      "Use \"\"\" to begin a multi-line message.\n";
  if (multimodal) s += "Use /path/to/file to include .jpg, .png, or .webp images.\n";
  return s + "\n";
}

std::string usage_set_text() {
  return "Available Commands:\n"
         "  /set parameter ...     Set a parameter\n"
         "  /set system <string>   Set system message\n"
         "  /set history           Enable history\n"
         "  /set nohistory         Disable history\n"
         "  /set wordwrap          Enable wordwrap\n"
         "  /set nowordwrap        Disable wordwrap\n"
         "  /set format json       Enable JSON mode\n"
         "  /set noformat          Disable formatting\n"
         "  /set verbose           Show LLM stats\n"
         "  /set quiet             Disable LLM stats\n"
         "  /set think             Enable thinking\n"
         "  /set nothink           Disable thinking\n"
         "\n";
}

std::string usage_show_text() {
  return "Available Commands:\n"
         "  /show info         Show details for this model\n"
         "  /show license      Show model license\n"
         "  /show modelfile    Show Modelfile for this model\n"
         "  /show parameters   Show parameters for this model\n"
         "  /show system       Show system message\n"
         "  /show template     Show prompt template\n"
         "\n";
}

std::string usage_shortcuts_text() {
  return "Available keyboard shortcuts:\n"
         "  Ctrl + a            Move to the beginning of the line (Home)\n"
         "  Ctrl + e            Move to the end of the line (End)\n"
         "   Alt + b            Move back (left) one word\n"
         "   Alt + f            Move forward (right) one word\n"
         "  Ctrl + k            Delete the sentence after the cursor\n"
         "  Ctrl + u            Delete the sentence before the cursor\n"
         "  Ctrl + w            Delete the word before the cursor\n"
         "\n"
         "  Ctrl + l            Clear the screen\n"
         "  Ctrl + c            Stop the model from responding\n"
         "  Ctrl + d            Exit ollama (/bye)\n"
         "\n";
}

std::string usage_parameters_text() {
  return "Available Parameters:\n"
         "  /set parameter seed <int>             Random number seed\n"
         "  /set parameter num_predict <int>      Max number of tokens to predict\n"
         "  /set parameter top_k <int>            Pick from top k num of tokens\n"
         "  /set parameter top_p <float>          Pick token based on sum of probabilities\n"
         "  /set parameter min_p <float>          Pick token based on top token probability * "
         "min_p\n"
         "  /set parameter num_ctx <int>          Set the context size\n"
         "  /set parameter temperature <float>    Set creativity level\n"
         "  /set parameter repeat_penalty <float> How strongly to penalize repetitions\n"
         "  /set parameter repeat_last_n <int>    Set how far back to look for repetitions\n"
         "  /set parameter num_gpu <int>          The number of layers to send to the GPU\n"
         "  /set parameter stop <string> <string> ...   Set the stop parameters\n"
         "\n";
}

}  // namespace cli
