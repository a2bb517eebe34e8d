#include "cli/run_display.h"

#include <algorithm>
#include <cstdio>

#include "cli/format.h"
#include "util/duration.h"

namespace cli {
namespace {

// Byte length of the UTF-8 sequence starting with `b` (1 for stray continuation bytes).
size_t utf8_len(unsigned char b) {
  if (b >= 0xF0) return 4;
  if (b >= 0xE0) return 3;
  if (b >= 0xC0) return 2;
  return 1;
}

int64_t num(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return 0;
  return it->get<int64_t>();
}

}  // namespace

std::string WordWrapper::feed(std::string_view content, bool wrap, int term_width) {
  std::string out;
  if (!wrap || term_width < 10) {
    // Ollama prints any buffered word again here; it is empty unless wrapping was on before.
    out += word_;
    out += content;
    word_.clear();
    return out;
  }
  for (size_t i = 0; i < content.size();) {
    size_t n = std::min(utf8_len(static_cast<unsigned char>(content[i])), content.size() - i);
    std::string ch(content.substr(i, n));
    i += n;
    int ch_width = display_width(ch);
    if (line_length_ + 1 > term_width - 5) {
      int word_width = display_width(word_);
      if (word_width > term_width - 10) {
        // A word too long to move: Ollama reprints it and starts counting afresh.
        out += word_ + ch;
        word_.clear();
        line_length_ = 0;
        continue;
      }
      if (word_width > 0) out += "\033[" + std::to_string(word_width) + "D";
      out += "\033[K\n";
      out += word_ + ch;
      line_length_ = word_width + ch_width;
      continue;
    }
    out += ch;
    line_length_ += ch_width;
    if (ch_width >= 2) {
      word_.clear();
      continue;
    }
    if (ch == " " || ch == "\t") {
      word_.clear();
    } else if (ch == "\n" || ch == "\r") {
      line_length_ = 0;
      word_.clear();
    } else {
      word_ += ch;
    }
  }
  return out;
}

std::string ResponseRenderer::chunk(std::string_view thinking, std::string_view content,
                                    const nlohmann::json& tool_calls, bool tool_calls_first,
                                    bool wrap, int term_width) {
  std::string out;
  if (!thinking.empty() && !hide_thinking_) {
    if (!opened_) {
      out += thinking_opening_text(plain_);
      opened_ = true;
      closed_ = false;
    }
    thinking_ += thinking;
    out += wrap_.feed(thinking, wrap, term_width);
  }
  bool has_tools = tool_calls.is_array() && !tool_calls.empty();
  if (opened_ && !closed_ && (!content.empty() || has_tools)) {
    if (thinking_.empty() || thinking_.back() != '\n') out += "\n";
    out += thinking_closing_text(plain_);
    opened_ = false;
    closed_ = true;
    wrap_ = WordWrapper();
  }
  if (has_tools && tool_calls_first) out += render_tool_calls(tool_calls, plain_);
  out += wrap_.feed(content, wrap, term_width);
  if (has_tools && !tool_calls_first) out += render_tool_calls(tool_calls, plain_);
  return out;
}

std::string thinking_opening_text(bool plain) {
  std::string text = "Thinking...\n";
  if (plain) return text;
  return std::string(kColorGrey) + kColorBold + text + kColorDefault + kColorGrey;
}

std::string thinking_closing_text(bool plain) {
  std::string text = "...done thinking.\n\n";
  if (plain) return text;
  return std::string(kColorGrey) + kColorBold + text + kColorDefault;
}

std::string render_tool_calls(const nlohmann::json& tool_calls, bool plain) {
  std::string explain = plain ? "" : std::string(kColorGrey) + kColorBold;
  std::string values = plain ? "" : kColorDefault;
  std::string out = explain;
  if (!tool_calls.is_array()) return "";
  for (size_t i = 0; i < tool_calls.size(); i++) {
    const nlohmann::json& fn = tool_calls[i].value("function", nlohmann::json::object());
    std::string name = fn.value("name", "");
    nlohmann::json args = fn.value("arguments", nlohmann::json::object());
    if (i > 0) out += "\n";
    out += "  Model called a non-existent function '" + values + name + explain +
           "()' with arguments: " + values + args.dump() + explain;
  }
  if (!plain) out += kColorDefault;
  return out;
}

std::string format_verbose_stats(const nlohmann::json& r) {
  std::string out;
  char buf[128];
  auto line = [&](const char* label, const std::string& value) {
    std::snprintf(buf, sizeof buf, "%-22s%s\n", label, value.c_str());
    out += buf;
  };
  auto rate = [](int64_t count, int64_t ns) {
    char b[64];
    std::snprintf(b, sizeof b, "%.2f tokens/s",
                  static_cast<double>(count) / (static_cast<double>(ns) / 1e9));
    return std::string(b);
  };
  int64_t total = num(r, "total_duration"), load = num(r, "load_duration");
  int64_t p_count = num(r, "prompt_eval_count"), p_dur = num(r, "prompt_eval_duration");
  int64_t e_count = num(r, "eval_count"), e_dur = num(r, "eval_duration");
  if (total > 0) line("total duration:", util::format_go_duration(total));
  if (load > 0) line("load duration:", util::format_go_duration(load));
  if (p_count > 0) line("prompt eval count:", std::to_string(p_count) + " token(s)");
  if (p_dur > 0) {
    line("prompt eval duration:", util::format_go_duration(p_dur));
    line("prompt eval rate:", rate(p_count, p_dur));
  }
  if (e_count > 0) line("eval count:", std::to_string(e_count) + " token(s)");
  if (e_dur > 0) {
    line("eval duration:", util::format_go_duration(e_dur));
    line("eval rate:", rate(e_count, e_dur));
  }
  return out;
}

}  // namespace cli
