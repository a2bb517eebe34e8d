// The harmony parser against whole outputs and against every way of cutting them into chunks.
#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "prompt/harmony.h"
#include "util/error.h"

using namespace prompt;

namespace {

struct Result {
  std::string content, thinking, calls;  // calls as "name(args);" in order
  bool operator==(const Result&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Result& r) {
  return os << "{content=\"" << r.content << "\", thinking=\"" << r.thinking << "\", calls=\""
            << r.calls << "\"}";
}

void collect(const ParsedOutput& p, Result& r) {
  r.content += p.content;
  r.thinking += p.thinking;
  for (const auto& c : p.tool_calls) r.calls += c.name + "(" + c.arguments.dump() + ");";
}

using MakeParser = std::function<std::unique_ptr<HarmonyParser>()>;

MakeParser plain(HarmonyToolNames names = {}) {
  return [names] { return std::make_unique<HarmonyParser>(names); };
}

// Feeds `chunks` in order, then finishes.
Result run(const MakeParser& make, const std::vector<std::string>& chunks) {
  auto parser = make();
  Result r;
  for (const auto& c : chunks) {
    ParsedOutput p;
    parser->add(c, &p);
    collect(p, r);
  }
  ParsedOutput p;
  parser->finish(&p);
  collect(p, r);
  return r;
}

// The whole text at once, every cut into two chunks, every cut into three around a marker
// position, and one character at a time must all give `want`.
void expect_every_split(const MakeParser& make, const std::string& text, const Result& want) {
  EXPECT_EQ(run(make, {text}), want) << "whole: " << text;
  for (size_t i = 0; i <= text.size(); i++)
    ASSERT_EQ(run(make, {text.substr(0, i), text.substr(i)}), want) << "cut at " << i;
  for (size_t i = 0; i < text.size(); i++)
    for (size_t j = i; j <= text.size() && j <= i + 12; j++)
      ASSERT_EQ(run(make, {text.substr(0, i), text.substr(i, j - i), text.substr(j)}), want)
          << "cuts at " << i << ", " << j;
  std::vector<std::string> chars;
  for (char c : text) chars.emplace_back(1, c);
  EXPECT_EQ(run(make, chars), want) << "char by char";
  // No marker or header text ever leaks.
  for (const char* marker : {"<|start|>", "<|end|>", "<|message|>", "<|channel|>", "<|return|>",
                             "<|call|>", "<|constrain|>", "to=functions"}) {
    EXPECT_EQ(want.content.find(marker), std::string::npos) << marker;
    EXPECT_EQ(want.thinking.find(marker), std::string::npos) << marker;
  }
}

}  // namespace

TEST(HarmonyParse, ThinkingThenFinal) {
  expect_every_split(plain(),
                     "<|channel|>analysis<|message|>User asks 2+2. Answer 4.<|end|>"
                     "<|start|>assistant<|channel|>final<|message|>2 + 2 = 4.<|return|>",
                     {.content = "2 + 2 = 4.", .thinking = "User asks 2+2. Answer 4."});
}

TEST(HarmonyParse, GenerationStoppedAtEndToken) {
  // The runner stops at <|return|> / <|call|> (end-of-generation tokens): they never arrive.
  expect_every_split(plain(),
                     "<|channel|>analysis<|message|>Think.<|end|><|start|>assistant"
                     "<|channel|>final<|message|>Hello there",
                     {.content = "Hello there", .thinking = "Think."});
}

TEST(HarmonyParse, ToolCall) {
  HarmonyToolNames names;
  names.add("get-weather");
  expect_every_split(plain(names),
                     "<|channel|>analysis<|message|>Need the weather.<|end|>"
                     "<|start|>assistant<|channel|>commentary to=functions.get_weather "
                     "<|constrain|>json<|message|>{\"location\":\"Paris\",\"days\":[1,2]}<|call|>",
                     {.thinking = "Need the weather.",
                      .calls = "get-weather({\"location\":\"Paris\",\"days\":[1,2]});"});
}

TEST(HarmonyParse, ToolCallRecipientBeforeChannel) {
  expect_every_split(plain(),
                     "<|start|>assistant to=functions.lookup<|channel|>commentary json"
                     "<|message|>{\"q\": \"x\"}",
                     {.calls = "lookup({\"q\":\"x\"});"});
  expect_every_split(plain(),
                     "<|channel|>commentary to=functions.lookup<|constrain|>json<|message|>{}",
                     {.calls = "lookup({});"});
}

TEST(HarmonyParse, BuiltinToolOnAnalysisChannel) {
  expect_every_split(plain(),
                     "<|channel|>analysis to=python <|constrain|>json<|message|>"
                     "{\"code\":\"print(1)\"}<|call|>",
                     {.calls = "python({\"code\":\"print(1)\"});"});
}

TEST(HarmonyParse, CommentaryWithoutRecipientIsContent) {
  expect_every_split(plain(),
                     "<|channel|>commentary<|message|>Let me check.<|end|><|start|>assistant"
                     "<|channel|>final<|message|>Done.<|return|>",
                     {.content = "Let me check.Done."});
}

TEST(HarmonyParse, AnglesThatAreNotMarkers) {
  expect_every_split(plain(), "<|channel|>final<|message|>if a < b && c <| d |> e <|x|> <|end|",
                     {.content = "if a < b && c <| d |> e <|x|> "});
}

TEST(HarmonyParse, MalformedOutputNeverLeaksMarkers) {
  // A body holding stray markers, a start without an end, a channel without a start.
  expect_every_split(plain(),
                     "<|channel|>final<|message|>a<|message|>b<|constrain|>c"
                     "<|start|>assistant<|channel|>analysis<|message|>t1"
                     "<|channel|>final<|message|>d<|end|>junk between<|start|>assistant"
                     "<|channel|>final<|message|>e",
                     {.content = "abcde", .thinking = "t1"});
  // A header that never ends gives nothing, like random text from a model that does not
  // speak harmony.
  expect_every_split(plain(), "Once upon a time there was <|end|> a cat", {});
}

TEST(HarmonyParse, AssistantPrefill) {
  Message content{.role = "assistant", .content = "The answer"};
  expect_every_split([&] { return std::make_unique<HarmonyParser>(HarmonyToolNames{}, &content); },
                     " is 4.<|return|>", {.content = " is 4."});
  Message thinking{.role = "assistant", .thinking = "Let me"};
  expect_every_split([&] { return std::make_unique<HarmonyParser>(HarmonyToolNames{}, &thinking); },
                     " think.<|end|><|start|>assistant<|channel|>final<|message|>4",
                     {.content = "4", .thinking = " think."});
  Message user{.role = "user", .content = "Hi"};
  expect_every_split([&] { return std::make_unique<HarmonyParser>(HarmonyToolNames{}, &user); },
                     "<|channel|>final<|message|>Hello", {.content = "Hello"});
}

TEST(HarmonyParse, InvalidToolArgumentsAreAnError) {
  for (const char* args : {"{\"location\": ", "[1,2]", ""}) {
    HarmonyParser p({});
    ParsedOutput out;
    p.add(std::string("<|channel|>commentary to=functions.f <|constrain|>json<|message|>") + args,
          &out);
    try {
      p.finish(&out);
      ADD_FAILURE() << "no error for " << args;
    } catch (const util::Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind(
                    std::string("error parsing tool call: raw='") + args + "', err=", 0),
                0u)
          << e.what();
    }
  }
}
