// The REPL's line editor over libedit: ">>> " / "... " prompts, emacs keys, plain-text history
// file, and Ctrl-C / Ctrl-D reported as results instead of signals.
#pragma once
#include <string>
#include <vector>

struct editline;  // libedit's EditLine
struct history;   // libedit's History

namespace cli {

class LineEditor {
 public:
  enum class Status { kLine, kInterrupt, kEof };
  struct Result {
    Status status;
    std::string line;  // the entered line (kLine) or what was typed before Ctrl-C
  };

  // history_path "" = no history file. Requires stdin and stdout to be terminals.
  LineEditor(std::string history_path, bool history_enabled);
  ~LineEditor();
  LineEditor(const LineEditor&) = delete;
  LineEditor& operator=(const LineEditor&) = delete;

  Result read_line();
  void set_continuation(bool on) { continuation_ = on; }
  void set_history_enabled(bool on) { history_enabled_ = on; }

 private:
  static char* prompt_fn(::editline* el);
  void add_history(const std::string& line);

  ::editline* el_ = nullptr;
  ::history* hist_ = nullptr;
  std::string history_path_;
  std::vector<std::string> history_lines_;
  bool history_enabled_;
  bool continuation_ = false;
};

}  // namespace cli
