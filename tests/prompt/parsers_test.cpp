#include "prompt/parsers.h"

#include <gtest/gtest.h>

#include "prompt/builtin.h"

using namespace prompt;

namespace {
// Feeds `text` one character at a time (the hardest streaming split) and collects output.
void feed_thinking(ThinkingParser& p, const std::string& text, std::string* th, std::string* co) {
  for (char c : text) p.add(std::string(1, c), th, co);
  p.finish(th, co);
}
}  // namespace

TEST(Parsers, InferThinkingTags) {
  auto t = load_template(
      "{{ range .Messages }}{{ if eq .Role \"assistant\" }}{{ if .Thinking }}<think>\n"
      "{{ .Thinking }}\n</think>\n{{ end }}{{ .Content }}{{ end }}{{ end }}");
  auto tags = infer_thinking_tags(t);
  EXPECT_EQ(tags.open, "<think>");
  EXPECT_EQ(tags.close, "</think>");
  EXPECT_TRUE(infer_thinking_tags(load_template("{{ .Thinking }}")).open.empty());
  auto caps = template_capabilities(t);
  EXPECT_NE(std::find(caps.begin(), caps.end(), "thinking"), caps.end());
}

TEST(Parsers, InferToolTag) {
  EXPECT_EQ(infer_tool_tag(load_template(builtin_by_name("chatml")->text)), "<tool_call>");
  EXPECT_EQ(infer_tool_tag(load_template(builtin_by_name("llama3-instruct")->text)), "{");
  EXPECT_EQ(infer_tool_tag(load_template("{{ range .Messages }}{{ if .ToolCalls }}[TOOL_CALLS] {{ "
                                         "range .ToolCalls }}{{ end }}{{ end }}{{ end }}")),
            "[TOOL_CALLS]");
  EXPECT_EQ(infer_tool_tag(load_template("{{ .Prompt }}")), "");
  auto caps = template_capabilities(load_template(builtin_by_name("chatml")->text));
  EXPECT_NE(std::find(caps.begin(), caps.end(), "tools"), caps.end());
  auto fim = template_capabilities(load_template("<PRE>{{ .Prompt }}<SUF>{{ .Suffix }}<MID>"));
  EXPECT_NE(std::find(fim.begin(), fim.end(), "insert"), fim.end());
}

TEST(Parsers, ThinkingStreamedCharByChar) {
  ThinkingParser p("<think>", "</think>");
  std::string th, co;
  feed_thinking(p, "  <think>\nreasoning here\n</think>\n\nThe answer.", &th, &co);
  EXPECT_EQ(th, "reasoning here\n");
  EXPECT_EQ(co, "The answer.");
}

TEST(Parsers, ThinkingSkippedWhenNoTag) {
  ThinkingParser p("<think>", "</think>");
  std::string th, co;
  feed_thinking(p, "  <thought> plain", &th, &co);
  EXPECT_EQ(th, "");
  EXPECT_EQ(co, "  <thought> plain");
}

TEST(Parsers, ThinkingPreOpened) {
  ThinkingParser p("<think>", "</think>", true);
  std::string th, co;
  feed_thinking(p, "hmm</think>ok", &th, &co);
  EXPECT_EQ(th, "hmm");
  EXPECT_EQ(co, "ok");
}

TEST(Parsers, ToolCallWithTag) {
  ToolCallParser p("<tool_call>", {"get_weather", "get_time"});
  std::string co;
  std::vector<ToolCall> calls;
  std::string out =
      "Let me check.<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\", "
      "\"unit\": \"c\"}}\n</tool_call>";
  for (char c : out) p.add(std::string(1, c), &co, &calls);
  p.finish(&co, &calls);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].name, "get_weather");
  EXPECT_EQ(calls[0].arguments.dump(), "{\"city\":\"Oslo\",\"unit\":\"c\"}");  // order kept
  EXPECT_EQ(calls[0].index, 0);
  EXPECT_EQ(calls[0].id.size(), 13u);
  EXPECT_EQ(co.substr(0, 13), "Let me check.");
  EXPECT_EQ(co.find("<tool_call>"), std::string::npos);
}

TEST(Parsers, ToolCallBracketTagAndStringArguments) {
  ToolCallParser p("{", {"get_weather"});
  std::string co;
  std::vector<ToolCall> calls;
  p.add("{\"name\": \"get_weather\", \"parameters\": \"{\\\"city\\\": \\\"Paris\\\"}\"}", &co,
        &calls);
  p.finish(&co, &calls);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].arguments["city"], "Paris");
  EXPECT_EQ(co, "");
}

TEST(Parsers, ToolParserOffWhenOutputIsProse) {
  ToolCallParser p("{", {"get_weather"});
  std::string co;
  std::vector<ToolCall> calls;
  p.add("  It is {sunny} in get_weather land", &co, &calls);
  p.finish(&co, &calls);
  EXPECT_TRUE(calls.empty());
  EXPECT_EQ(co, "  It is {sunny} in get_weather land");
}

TEST(Parsers, ToolCallIncompleteAtEndIsContent) {
  ToolCallParser p("<tool_call>", {"f"});
  std::string co;
  std::vector<ToolCall> calls;
  p.add("x<tool_call>{\"name\": \"f\", \"arguments\": {", &co, &calls);
  p.finish(&co, &calls);
  EXPECT_TRUE(calls.empty());
  EXPECT_EQ(co, "x<tool_call>{\"name\": \"f\", \"arguments\": {");
}

TEST(Parsers, TemplateParserChainsThinkingAndTools) {
  EXPECT_EQ(make_template_parser({}, false, "", {}), nullptr);
  auto p = make_template_parser({"<think>", "</think>"}, false, "<tool_call>", {"f"});
  ASSERT_NE(p, nullptr);
  const std::string text =
      "<think>plan</think>Sure.<tool_call>{\"name\": \"f\", \"arguments\": {\"a\": 1}}";
  ParsedOutput all;
  for (char c : text) {
    ParsedOutput o;
    p->add(std::string(1, c), &o);
    all.content += o.content;
    all.thinking += o.thinking;
    for (auto& t : o.tool_calls) all.tool_calls.push_back(t);
  }
  p->finish(&all);
  EXPECT_EQ(all.thinking, "plan");
  EXPECT_EQ(all.content, "Sure.");
  ASSERT_EQ(all.tool_calls.size(), 1u);
  EXPECT_EQ(all.tool_calls[0].name, "f");
  EXPECT_EQ(all.tool_calls[0].arguments["a"], 1);
}
