#include "prompt/harmony.h"

#include <gtest/gtest.h>

#include "util/error.h"

using namespace prompt;

namespace {

constexpr const char* kDate = "2025-08-05";

// The system message up to the reasoning line, as every harmony prompt starts.
std::string system_head() {
  return std::string(
             "<|start|>system<|message|>You are ChatGPT, a large language model trained by "
             "OpenAI.\nKnowledge cutoff: 2024-06\nCurrent date: ") +
         kDate;
}
const std::string kChannels =
    "\n\n# Valid channels: analysis, commentary, final. Channel must be included for every "
    "message.";

Think think_of(bool set, bool enabled, std::string level) {
  return Think{.set = set, .enabled = enabled, .level = std::move(level)};
}
const Think kDefaultThink = think_of(true, true, "medium");  // the server's default for gpt-oss

Message msg(std::string role, std::string content) {
  return Message{.role = std::move(role), .content = std::move(content)};
}

Json weather_tools() {
  return Json::parse(R"([
    {"type": "function", "function": {
      "name": "get_weather", "description": "Get the current weather",
      "parameters": {"type": "object", "required": ["location"], "properties": {
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "location": {"type": "string", "description": "City and country"},
        "days": {"type": ["integer", "null"]},
        "when": {"anyOf": [{"type": "string"}, {"type": "integer"}]}}}}},
    {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object",
      "properties": {}}}}
  ])");
}

}  // namespace

TEST(HarmonyRender, UserOnly) {
  std::string p = render_harmony({msg("user", "Hi")}, nullptr, kDefaultThink, kDate);
  EXPECT_EQ(p, system_head() + "\n\nReasoning: medium" + kChannels +
                   "<|end|><|start|>user<|message|>Hi<|end|><|start|>assistant");
}

TEST(HarmonyRender, ThinkLevels) {
  struct Case {
    Think think;
    std::string line;
  } cases[] = {
      {think_of(false, false, ""), "\n\nReasoning: medium"},      // think unset
      {think_of(true, true, "medium"), "\n\nReasoning: medium"},  // think: true
      {think_of(true, true, "low"), "\n\nReasoning: low"},
      {think_of(true, true, "high"), "\n\nReasoning: high"},
      {think_of(true, true, "max"), "\n\nReasoning: high"},  // harmony knows no "max"
      {think_of(true, false, ""), ""},  // think: false drops the line (gpt-oss still reasons)
  };
  for (const auto& c : cases) {
    std::string p = render_harmony({msg("user", "Hi")}, nullptr, c.think, kDate);
    EXPECT_EQ(p, system_head() + c.line + kChannels +
                     "<|end|><|start|>user<|message|>Hi<|end|><|start|>assistant")
        << c.think.level;
  }
}

TEST(HarmonyRender, SystemBecomesDeveloperInstructions) {
  std::string p =
      render_harmony({msg("system", "Be brief."), msg("system", "Use French."), msg("user", "Hi")},
                     nullptr, think_of(true, true, "low"), kDate);
  EXPECT_EQ(p, system_head() + "\n\nReasoning: low" + kChannels +
                   "<|end|><|start|>developer<|message|>\n\n# Instructions\n\nBe brief.\n\n"
                   "Use French.<|end|><|start|>user<|message|>Hi<|end|><|start|>assistant");
}

TEST(HarmonyRender, FunctionToolsInDeveloperMessage) {
  std::string p = render_harmony({msg("system", "Be brief."), msg("user", "Weather?")},
                                 weather_tools(), kDefaultThink, kDate);
  EXPECT_EQ(p, system_head() + "\n\nReasoning: medium" + kChannels +
                   "\nCalls to these tools must go to the commentary channel: 'functions'."
                   "<|end|><|start|>developer<|message|># Tools\n\n## functions\n\n"
                   "namespace functions {\n\n"
                   "// Get the current weather\n"
                   "type get_weather = (_: {\n"
                   "  days: number | null,\n"
                   "  // City and country\n"
                   "  location: string,\n"
                   "  unit: string,\n"
                   "  when: string | number,\n"
                   "}) => any;\n\n"
                   "type get_time = () => any;\n\n"
                   "} // namespace functions\n\n# Instructions\n\nBe brief.<|end|>"
                   "<|start|>user<|message|>Weather?<|end|><|start|>assistant");
}

TEST(HarmonyRender, ToolRoundTrip) {
  Message call = msg("assistant", "");
  call.thinking = "Need the weather.";
  call.tool_calls.push_back(
      ToolCall{.name = "get_weather", .arguments = Json::parse(R"({"location":"Paris"})")});
  Message result = msg("tool", "{\"temp\": 21}");
  result.tool_name = "get_weather";
  std::string p = render_harmony({msg("user", "Weather in Paris?"), call, result}, weather_tools(),
                                 kDefaultThink, kDate);
  const std::string turns =
      "<|start|>user<|message|>Weather in Paris?<|end|>"
      "<|start|>assistant<|channel|>analysis<|message|>Need the weather.<|end|>"
      "<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json"
      "<|message|>{\"location\":\"Paris\"}<|call|>"
      "<|start|>functions.get_weather to=assistant<|message|>{\"temp\": 21}<|end|>"
      "<|start|>assistant";
  ASSERT_GE(p.size(), turns.size());
  EXPECT_EQ(p.substr(p.size() - turns.size()), turns);
}

TEST(HarmonyRender, ThinkingOnlyAfterLastUser) {
  Message old = msg("assistant", "4");
  old.thinking = "2+2 is 4.";
  std::string p = render_harmony({msg("user", "2+2?"), old, msg("user", "3+3?")}, nullptr,
                                 kDefaultThink, kDate);
  const std::string turns =
      "<|start|>user<|message|>2+2?<|end|><|start|>assistant<|channel|>final<|message|>4<|end|>"
      "<|start|>user<|message|>3+3?<|end|><|start|>assistant";
  EXPECT_EQ(p.substr(p.size() - turns.size()), turns);
  EXPECT_EQ(p.find("2+2 is 4."), std::string::npos);
}

TEST(HarmonyRender, AssistantPrefillStaysOpen) {
  std::string p =
      render_harmony({msg("user", "Hi"), msg("assistant", "Hello")}, nullptr, kDefaultThink, kDate);
  EXPECT_TRUE(p.ends_with("<|end|><|start|>assistant<|channel|>final<|message|>Hello")) << p;
  Message thinking = msg("assistant", "");
  thinking.thinking = "Hmm";
  p = render_harmony({msg("user", "Hi"), thinking}, nullptr, kDefaultThink, kDate);
  EXPECT_TRUE(p.ends_with("<|end|><|start|>assistant<|channel|>analysis<|message|>Hmm")) << p;
}

TEST(HarmonyRender, BuiltinToolsInSystemMessage) {
  Json tools = Json::parse(
      R"([{"type":"function","function":{"name":"python"}},
          {"type":"function","function":{"name":"browser.search"}}])");
  Message call = msg("assistant", "");
  call.tool_calls.push_back(
      ToolCall{.name = "python", .arguments = Json::parse(R"({"code":"1+1"})")});
  Message result = msg("tool", "2");
  result.tool_name = "python";
  std::string p =
      render_harmony({msg("user", "Compute"), call, result}, tools, kDefaultThink, kDate);
  EXPECT_NE(p.find("\n\n# Tools\n\n## browser\n\n// Tool for browsing."), std::string::npos);
  EXPECT_NE(p.find("namespace browser {\n\n// Searches for information"), std::string::npos);
  EXPECT_EQ(p.find("type open ="), std::string::npos);
  EXPECT_NE(p.find("} // namespace browser\n\n## python\n\nUse this tool"), std::string::npos);
  EXPECT_NE(p.find("Depends on the cluster." + kChannels + "<|end|><|start|>user"),
            std::string::npos);
  EXPECT_EQ(p.find("developer"), std::string::npos);  // no function tools, no system
  EXPECT_NE(p.find("<|start|>assistant<|channel|>analysis to=python <|constrain|>json<|message|>"
                   "{\"code\":\"1+1\"}<|call|><|start|>python to=assistant<|message|>2<|end|>"),
            std::string::npos);
}

TEST(HarmonyToolNamesTest, IdentifierSafeAndReversible) {
  HarmonyToolNames n;
  EXPECT_EQ(n.add("get-weather.v2"), "get_weather_v2");
  EXPECT_EQ(n.add("get weather v2"), "get_weather_v2_2");
  EXPECT_EQ(n.add("2fast"), "_2fast");
  EXPECT_EQ(n.add("a(b)!c"), "abc");
  EXPECT_EQ(n.add("()"), "unnamed");
  EXPECT_EQ(n.add("python"), "python");
  EXPECT_EQ(n.add("browser.open"), "browser.open");
  EXPECT_EQ(n.add("$x_1"), "$x_1");
  EXPECT_EQ(n.original("get_weather_v2"), "get-weather.v2");
  EXPECT_EQ(n.original("get_weather_v2_2"), "get weather v2");
  EXPECT_EQ(n.original("unknown_tool"), "unknown_tool");
  Json tools = harmony_tools(
      Json::parse(R"([{"type":"function","function":{"name":"my-tool","description":"d"}}])"), n);
  EXPECT_EQ(tools[0]["function"]["name"], "my_tool");
  EXPECT_EQ(tools[0]["function"]["description"], "d");
  EXPECT_EQ(n.original("my_tool"), "my-tool");
}

TEST(HarmonyDetect, FamilyAndTemplate) {
  EXPECT_TRUE(is_harmony_family("gptoss"));
  EXPECT_TRUE(is_harmony_family("gpt-oss"));
  EXPECT_FALSE(is_harmony_family("llama"));
  EXPECT_TRUE(is_harmony_template("<|start|>user<|message|>{{ .Prompt }}<|end|>"));
  EXPECT_FALSE(is_harmony_template("<|im_start|>user\n{{ .Prompt }}<|im_end|>"));
  EXPECT_FALSE(is_harmony_template("<|start|>{{ .Prompt }}"));
}
