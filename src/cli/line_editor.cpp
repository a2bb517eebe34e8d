#include "cli/line_editor.h"

#include <histedit.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>

#include "cli/run.h"

namespace cli {
namespace {

constexpr size_t kHistoryLimit = 1000;

// Reads one UTF-8 character from stdin. A signal (Ctrl-C) interrupts the read: returning -1
// makes el_gets give up the line, so the caller sees the interrupt at once.
int getc_fn(EditLine*, wchar_t* out) {
  unsigned char b[4];
  auto read1 = [](unsigned char* c) -> int {
    // libedit prints the prompt before it switches the terminal to raw mode, so a Ctrl-C can
    // land before we block: check the flag with SIGINT blocked and wait in ppoll, which
    // unblocks it atomically, so the signal is either seen here or interrupts the wait.
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &old);
    if (interrupted().load()) {
      sigprocmask(SIG_SETMASK, &old, nullptr);
      errno = EINTR;
      return -1;
    }
    pollfd pfd{STDIN_FILENO, POLLIN, 0};
    int pr = ppoll(&pfd, 1, nullptr, &old);
    sigprocmask(SIG_SETMASK, &old, nullptr);
    if (pr < 0) return -1;
    ssize_t n = ::read(STDIN_FILENO, c, 1);
    if (n == 1) return 1;
    if (n == 0) return 0;
    return -1;
  };
  int r = read1(&b[0]);
  if (r != 1) return r;
  int len = b[0] >= 0xF0 ? 4 : b[0] >= 0xE0 ? 3 : b[0] >= 0xC0 ? 2 : 1;
  for (int i = 1; i < len; i++) {
    r = read1(&b[i]);
    if (r != 1) return r;
  }
  wchar_t wc = len == 1   ? b[0]
               : len == 2 ? (b[0] & 0x1F)
               : len == 3 ? (b[0] & 0x0F)
                          : (b[0] & 0x07);
  for (int i = 1; i < len; i++) wc = (wc << 6) | (b[i] & 0x3F);
  *out = wc;
  return 1;
}

}  // namespace

char* LineEditor::prompt_fn(EditLine* el) {
  static char kPrompt[] = ">>> ", kAlt[] = "... ";
  LineEditor* self = nullptr;
  el_get(el, EL_CLIENTDATA, &self);
  return self && self->continuation_ ? kAlt : kPrompt;
}

LineEditor::LineEditor(std::string history_path, bool history_enabled)
    : history_path_(std::move(history_path)), history_enabled_(history_enabled) {
  el_ = el_init("ollama", stdin, stdout, stderr);
  el_set(el_, EL_CLIENTDATA, this);
  el_set(el_, EL_EDITOR, "emacs");
  el_set(el_, EL_PROMPT, &LineEditor::prompt_fn);
  el_set(el_, EL_GETCFN, getc_fn);
  hist_ = history_init();
  HistEvent ev;
  history(hist_, &ev, H_SETSIZE, static_cast<int>(kHistoryLimit));
  el_set(el_, EL_HIST, ::history, hist_);
  if (!history_path_.empty()) {
    std::ifstream in(history_path_);
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) {
        history_lines_.push_back(line);
        history(hist_, &ev, H_ENTER, line.c_str());
      }
  }
}

LineEditor::~LineEditor() {
  if (hist_) history_end(hist_);
  if (el_) el_end(el_);
}

void LineEditor::add_history(const std::string& line) {
  if (!history_enabled_ || line.empty()) return;
  HistEvent ev;
  history(hist_, &ev, H_ENTER, line.c_str());
  history_lines_.push_back(line);
  if (history_lines_.size() > kHistoryLimit)
    history_lines_.erase(history_lines_.begin(),
                         history_lines_.end() - static_cast<long>(kHistoryLimit));
  if (history_path_.empty()) return;
  // Rewrite the whole file through a temporary, as Ollama's readline does.
  std::string tmp = history_path_ + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return;
    for (auto& l : history_lines_) out << l << "\n";
  }
  std::rename(tmp.c_str(), history_path_.c_str());
}

LineEditor::Result LineEditor::read_line() {
  interrupted().store(false);
  InterruptGuard guard;
  int count = 0;
  const char* s = el_gets(el_, &count);
  if (s == nullptr || count <= 0) {
    if (interrupted().load()) {
      const LineInfo* li = el_line(el_);
      std::string typed = li ? std::string(li->buffer, li->lastchar) : std::string();
      // The next el_gets must start from an empty buffer.
      el_reset(el_);
      return {Status::kInterrupt, typed};
    }
    return {Status::kEof, ""};
  }
  std::string line(s, static_cast<size_t>(count));
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  add_history(line);
  return {Status::kLine, line};
}

}  // namespace cli
