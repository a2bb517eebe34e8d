// `ollama run` output pieces: word wrap, thinking markers, tool calls, --verbose summary.
#include "cli/run_display.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace cli {
namespace {

using nlohmann::json;

TEST(WordWrap, OffOrNarrowPassesTextThrough) {
  WordWrapper w;
  EXPECT_EQ(w.feed("hello world", false, 80), "hello world");
  WordWrapper narrow;
  EXPECT_EQ(narrow.feed("hello world", true, 9), "hello world");  // below 10 columns: no wrap
}

TEST(WordWrap, MovesThePartialWordToTheNextLine) {
  // Width 20: a character that would reach column 16 (20 - 5 + 1) wraps.
  WordWrapper w;
  std::string out = w.feed("aaaa bbbb cccc dddd", true, 20);
  // "aaaa bbbb cccc " is 15 columns; 'd' would be the 16th: back up 0 columns of word, newline.
  EXPECT_EQ(out, "aaaa bbbb cccc \033[K\ndddd");
  EXPECT_EQ(w.line_length(), 4);
}

TEST(WordWrap, BacktracksAWordInProgress) {
  WordWrapper w;
  std::string out = w.feed("aaaa bbbb ccccccc", true, 20);
  // "aaaa bbbb ccccc" fills 15 columns; the 16th char backs up over "ccccc" (5 columns).
  EXPECT_EQ(out, "aaaa bbbb ccccc\033[5D\033[K\nccccccc");
  EXPECT_EQ(w.line_length(), 7);
}

TEST(WordWrap, StateCarriesAcrossChunksAndNewlinesReset) {
  WordWrapper w;
  std::string out = w.feed("aaaa bbbb cc", true, 30);
  out += w.feed("ccc\nxx", true, 30);
  EXPECT_EQ(out, "aaaa bbbb ccccc\nxx");
  EXPECT_EQ(w.line_length(), 2);
  EXPECT_EQ(w.word(), "xx");
}

TEST(WordWrap, WideCharactersCountTwoColumns) {
  WordWrapper w;
  std::string out = w.feed("日本語日本語日本語", true, 20);  // 9 chars x 2 columns
  // 16 columns after 8 chars; the 9th (16 + 1 > 15) wraps with no word to move.
  EXPECT_EQ(out, "日本語日本語日本\033[K\n語");
  EXPECT_EQ(w.line_length(), 2);
}

TEST(Thinking, MarkersPlainAndColoured) {
  EXPECT_EQ(thinking_opening_text(true), "Thinking...\n");
  EXPECT_EQ(thinking_closing_text(true), "...done thinking.\n\n");
  EXPECT_EQ(thinking_opening_text(false),
            "\033[38;5;245m\033[1mThinking...\n\033[0m\033[38;5;245m");
  EXPECT_EQ(thinking_closing_text(false), "\033[38;5;245m\033[1m...done thinking.\n\n\033[0m");
}

TEST(ResponseRenderer, ThinkingThenContent) {
  ResponseRenderer r(false, true);
  std::string out = r.chunk("Let me", "", nullptr, false, false, 0);
  out += r.chunk(" think.", "", nullptr, false, false, 0);
  out += r.chunk("", "Answer", nullptr, false, false, 0);
  out += r.chunk("", " here.", nullptr, false, false, 0);
  EXPECT_EQ(out, "Thinking...\nLet me think.\n...done thinking.\n\nAnswer here.");
  EXPECT_EQ(r.thinking(), "Let me think.");
}

TEST(ResponseRenderer, NoExtraNewlineAfterThinkingEndingInOne) {
  ResponseRenderer r(false, true);
  std::string out = r.chunk("Done.\n", "", nullptr, false, false, 0);
  out += r.chunk("", "Yes", nullptr, false, false, 0);
  EXPECT_EQ(out, "Thinking...\nDone.\n...done thinking.\n\nYes");
}

TEST(ResponseRenderer, HiddenThinkingShowsOnlyContent) {
  ResponseRenderer r(true, true);
  std::string out = r.chunk("secret", "", nullptr, false, false, 0);
  out += r.chunk("", "Visible", nullptr, false, false, 0);
  EXPECT_EQ(out, "Visible");
  EXPECT_EQ(r.thinking(), "");
}

TEST(ResponseRenderer, ToolCallsCloseThinkingAndFollowOrPrecedeContent) {
  json calls = json::parse(R"([{"function":{"name":"f","arguments":{"x":1}}}])");
  std::string call = "  Model called a non-existent function 'f()' with arguments: {\"x\":1}";
  ResponseRenderer gen(false, true);
  std::string out = gen.chunk("hmm", "", nullptr, false, false, 0);
  out += gen.chunk("", "text", calls, false, false, 0);
  EXPECT_EQ(out, "Thinking...\nhmm\n...done thinking.\n\ntext" + call);
  ResponseRenderer chat(false, true);
  EXPECT_EQ(chat.chunk("", "text", calls, true, false, 0), call + "text");
}

TEST(ResponseRenderer, ColouredOnATerminalAndWrappedPerSection) {
  ResponseRenderer r(false, false);
  std::string out = r.chunk("aaaa bbbb cccc dd", "", nullptr, false, true, 20);
  EXPECT_EQ(out, thinking_opening_text(false) + "aaaa bbbb cccc \033[K\ndd");
  // Content starts a fresh wrap state after the closing marker.
  out = r.chunk("", "xx", nullptr, false, true, 20);
  EXPECT_EQ(out, "\n" + thinking_closing_text(false) + "xx");
}

TEST(ToolCalls, NamesTheNonExistentFunction) {
  json calls = json::parse(R"([{"function":{"name":"get_weather","arguments":{"city":"Paris"}}},
                               {"function":{"name":"f","arguments":{}}}])");
  EXPECT_EQ(render_tool_calls(calls, true),
            "  Model called a non-existent function 'get_weather()' with arguments: "
            "{\"city\":\"Paris\"}\n"
            "  Model called a non-existent function 'f()' with arguments: {}");
}

TEST(VerboseStats, AllLinesWithGoDurationsAndRates) {
  json r = {{"done", true},
            {"total_duration", 1500000000},
            {"load_duration", 2500000},
            {"prompt_eval_count", 5},
            {"prompt_eval_duration", 250000000},
            {"eval_count", 20},
            {"eval_duration", 800000000}};
  EXPECT_EQ(format_verbose_stats(r),
            "total duration:       1.5s\n"
            "load duration:        2.5ms\n"
            "prompt eval count:    5 token(s)\n"
            "prompt eval duration: 250ms\n"
            "prompt eval rate:     20.00 tokens/s\n"
            "eval count:           20 token(s)\n"
            "eval duration:        800ms\n"
            "eval rate:            25.00 tokens/s\n");
}

TEST(VerboseStats, ZeroValuesAreLeftOut) {
  json r = {{"total_duration", 61000000000}, {"eval_count", 3}, {"eval_duration", 0}};
  EXPECT_EQ(format_verbose_stats(r),
            "total duration:       1m1s\n"
            "eval count:           3 token(s)\n");
  EXPECT_EQ(format_verbose_stats(json::object()), "");
}

}  // namespace
}  // namespace cli
