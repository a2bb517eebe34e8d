// What `ollama run` prints around a response: word wrap, thinking markers, tool calls, and the
// --verbose timing summary (Ollama's displayResponse / Metrics.Summary, as pure functions).
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace cli {

// ANSI sequences Ollama's readline package uses for thinking output.
inline constexpr char kColorGrey[] = "\033[38;5;245m";
inline constexpr char kColorBold[] = "\033[1m";
inline constexpr char kColorDefault[] = "\033[0m";

// Streams response text with Ollama's word wrap: when a character would pass column
// term_width - 5, the partial word is moved to a new line (cursor back, clear to end of line,
// newline, reprint). A word longer than term_width - 10 is not moved. No wrapping when `wrap`
// is off or the width is below 10 (not a terminal). One instance per response section.
class WordWrapper {
 public:
  // Returns the bytes to write for `content`.
  std::string feed(std::string_view content, bool wrap, int term_width);

  int line_length() const { return line_length_; }
  const std::string& word() const { return word_; }

 private:
  int line_length_ = 0;
  std::string word_;
};

// Renders a stream of response chunks like Ollama's run: "Thinking..." before the first
// thinking text (unless hidden), "...done thinking." once content or tool calls begin, word wrap
// per section, and tool calls (before the content for chat, after it for generate).
class ResponseRenderer {
 public:
  ResponseRenderer(bool hide_thinking, bool plain) : hide_thinking_(hide_thinking), plain_(plain) {}

  // Returns the bytes to write for one chunk; `wrap`/`term_width` as WordWrapper::feed.
  std::string chunk(std::string_view thinking, std::string_view content,
                    const nlohmann::json& tool_calls, bool tool_calls_first, bool wrap,
                    int term_width);
  // All thinking text shown so far (kept with the assistant message).
  const std::string& thinking() const { return thinking_; }

 private:
  bool hide_thinking_, plain_;
  WordWrapper wrap_;
  std::string thinking_;
  bool opened_ = false, closed_ = false;
};

// "Thinking...\n" (grey and bold unless plain) and "...done thinking.\n\n".
std::string thinking_opening_text(bool plain);
std::string thinking_closing_text(bool plain);

// "  Model called a non-existent function '<name>()' with arguments: <json>" per call
// (joined with newlines), greyed unless plain. tool_calls is the response's array.
std::string render_tool_calls(const nlohmann::json& tool_calls, bool plain);

// The --verbose block from a final response's durations and counts (each line only when its
// value is > 0; rates with two decimals).
std::string format_verbose_stats(const nlohmann::json& final_response);

}  // namespace cli
