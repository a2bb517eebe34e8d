// The interactive `ollama run` session's pure parts: assembling lines into messages (`"""`
// blocks), recognising slash commands, session settings, and the help texts (cmd/interactive.go).
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cli {

// What one entered line amounts to.
struct LineResult {
  enum Kind {
    kNothing,  // empty line, or more lines needed (inside a """ block)
    kMessage,  // a complete user message in `text`
    kSystem,   // a """ system block ended: `text` is the system message (appended as is)
    kCommand,  // a slash command line in `text` (see classify_slash)
  };
  Kind kind = kNothing;
  std::string text;
};

// Joins lines like Ollama's REPL: a line starting with `"""` opens a block that runs until a
// line ending with `"""` (joined with "\n"); `"""text"""` is one message; lines starting with
// '/' outside a block are commands.
class InputAssembler {
 public:
  LineResult feed(const std::string& line);
  // `/set system <rest>`: a rest starting with `"""` and not ending with it opens a system
  // block (kNothing); otherwise kSystem with the text (quotes stripped).
  LineResult begin_system(const std::string& rest);
  // Ctrl-C: drop any partial block.
  void reset();
  // True inside a block: show the continuation prompt.
  bool continuing() const { return mode_ != Mode::kNone; }

 private:
  enum class Mode { kNone, kPrompt, kSystem };
  Mode mode_ = Mode::kNone;
  std::string buf_;
};

enum class SlashCommand { kList, kLoad, kSave, kClear, kSet, kShow, kHelp, kExit, kUnknown };

// Ollama matches command prefixes in this order (so "/byebye" exits and "/settings" is /set).
SlashCommand classify_slash(const std::string& line);

// strings.Fields: split on runs of whitespace.
std::vector<std::string> fields(const std::string& s);

// `/set system` (single line): replaces the last message when it is a system message, else
// appends one.
void set_system_message(nlohmann::json& messages, const std::string& text);

// `/set parameter <name> <values...>`: the typed value (stop takes every value, other options
// the first). Throws util::Error with the reason (e.g. "unknown parameter 'x'").
nlohmann::json parse_session_parameter(const std::string& name,
                                       const std::vector<std::string>& values);

// Go's %q of a string (for "Couldn't set parameter: %q").
std::string go_quote(const std::string& s);

// `/show parameters` output from the model's parameters text and the session's options.
std::string format_show_parameters(const std::string& model_parameters,
                                   const nlohmann::json& session_options);

// Help texts (printed to stderr).
std::string usage_text(bool multimodal);
std::string usage_set_text();
std::string usage_show_text();
std::string usage_shortcuts_text();
std::string usage_parameters_text();

}  // namespace cli
