// The interactive session's pure parts: """ blocks, slash commands, /set system and
// /set parameter, /show parameters.
#include "cli/repl_input.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace cli {
namespace {

using nlohmann::json;

TEST(InputAssembler, PlainLinesAreMessagesAndEmptyLinesNothing) {
  InputAssembler in;
  LineResult r = in.feed("hello there");
  EXPECT_EQ(r.kind, LineResult::kMessage);
  EXPECT_EQ(r.text, "hello there");
  EXPECT_EQ(in.feed("").kind, LineResult::kNothing);
  EXPECT_FALSE(in.continuing());
}

TEST(InputAssembler, TripleQuoteBlockJoinsLinesWithNewlines) {
  InputAssembler in;
  EXPECT_EQ(in.feed("\"\"\"first line").kind, LineResult::kNothing);
  EXPECT_TRUE(in.continuing());
  EXPECT_EQ(in.feed("/not a command inside a block").kind, LineResult::kNothing);
  EXPECT_EQ(in.feed("").kind, LineResult::kNothing);
  LineResult r = in.feed("last\"\"\"");
  EXPECT_EQ(r.kind, LineResult::kMessage);
  EXPECT_EQ(r.text, "first line\n/not a command inside a block\n\nlast");
  EXPECT_FALSE(in.continuing());
}

TEST(InputAssembler, OneLineBlockAndEmptyBlocks) {
  InputAssembler in;
  LineResult r = in.feed("\"\"\"all in one\"\"\"");
  EXPECT_EQ(r.kind, LineResult::kMessage);
  EXPECT_EQ(r.text, "all in one");
  EXPECT_EQ(in.feed("\"\"\"\"\"\"").kind, LineResult::kNothing);  // nothing to send
  EXPECT_EQ(in.feed("\"\"\"").kind, LineResult::kNothing);
  r = in.feed("\"\"\"");
  EXPECT_EQ(r.kind, LineResult::kMessage);  // Ollama sends the lone newline
  EXPECT_EQ(r.text, "\n");
}

TEST(InputAssembler, SlashLinesAreCommandsAndResetDropsABlock) {
  InputAssembler in;
  LineResult r = in.feed("/set parameter num_predict 5");
  EXPECT_EQ(r.kind, LineResult::kCommand);
  EXPECT_EQ(r.text, "/set parameter num_predict 5");
  in.feed("\"\"\"half");
  in.reset();
  EXPECT_FALSE(in.continuing());
  r = in.feed("fresh");
  EXPECT_EQ(r.text, "fresh");
}

TEST(InputAssembler, SystemMessagesSingleLineAndBlock) {
  InputAssembler in;
  LineResult r = in.begin_system("You are terse.");
  EXPECT_EQ(r.kind, LineResult::kSystem);
  EXPECT_EQ(r.text, "You are terse.");
  r = in.begin_system("\"\"\"quoted\"\"\"");
  EXPECT_EQ(r.text, "quoted");
  EXPECT_EQ(in.begin_system("\"\"\"Line one").kind, LineResult::kNothing);
  EXPECT_TRUE(in.continuing());
  r = in.feed("line two\"\"\"");
  EXPECT_EQ(r.kind, LineResult::kSystem);
  // Ollama adds no newline after the opening `/set system """` line (its quirk, kept).
  EXPECT_EQ(r.text, "Line oneline two");
}

TEST(SlashCommands, PrefixMatchedInOllamasOrder) {
  EXPECT_EQ(classify_slash("/bye"), SlashCommand::kExit);
  EXPECT_EQ(classify_slash("/exit now"), SlashCommand::kExit);
  EXPECT_EQ(classify_slash("/byebye"), SlashCommand::kExit);
  EXPECT_EQ(classify_slash("/?"), SlashCommand::kHelp);
  EXPECT_EQ(classify_slash("/? set"), SlashCommand::kHelp);
  EXPECT_EQ(classify_slash("/help"), SlashCommand::kHelp);
  EXPECT_EQ(classify_slash("/settings"), SlashCommand::kSet);
  EXPECT_EQ(classify_slash("/show info"), SlashCommand::kShow);
  EXPECT_EQ(classify_slash("/load m"), SlashCommand::kLoad);
  EXPECT_EQ(classify_slash("/save m"), SlashCommand::kSave);
  EXPECT_EQ(classify_slash("/list"), SlashCommand::kList);
  EXPECT_EQ(classify_slash("/clear"), SlashCommand::kClear);
  EXPECT_EQ(classify_slash("/foo"), SlashCommand::kUnknown);
  EXPECT_EQ(classify_slash("/"), SlashCommand::kUnknown);
}

TEST(SlashCommands, FieldsSplitOnWhitespaceRuns) {
  EXPECT_EQ(fields("  /set  parameter\tstop a  b "),
            (std::vector<std::string>{"/set", "parameter", "stop", "a", "b"}));
  EXPECT_TRUE(fields("   ").empty());
}

TEST(SessionSettings, SystemMessageReplacesATrailingSystemMessage) {
  json msgs = json::array();
  set_system_message(msgs, "one");
  set_system_message(msgs, "two");
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0]["content"], "two");
  msgs.push_back({{"role", "user"}, {"content", "hi"}});
  set_system_message(msgs, "three");
  ASSERT_EQ(msgs.size(), 3u);
  EXPECT_EQ(msgs[2], (json{{"role", "system"}, {"content", "three"}}));
}

TEST(SessionSettings, ParametersAreTypedLikeTheModelfile) {
  EXPECT_EQ(parse_session_parameter("num_predict", {"5"}), json(5));
  EXPECT_EQ(parse_session_parameter("temperature", {"0.7"}), json(0.7));
  EXPECT_EQ(parse_session_parameter("stop", {"a", "b"}), (json{"a", "b"}));
  try {
    parse_session_parameter("no_such", {"1"});
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_EQ(go_quote(e.what()), "\"unknown parameter 'no_such'\"");
  }
  EXPECT_THROW(parse_session_parameter("num_predict", {"x"}), std::exception);
}

TEST(SessionSettings, GoQuoteEscapes) {
  EXPECT_EQ(go_quote("a \"b\"\n\\"), "\"a \\\"b\\\"\\n\\\\\"");
}

TEST(ShowParameters, ModelThenUserDefined) {
  EXPECT_EQ(format_show_parameters("", json::object()),
            "Model defined parameters:\n"
            "  No additional parameters were specified for this model.\n\n");
  json opts = {{"temperature", 0.5}, {"num_predict", 5}, {"stop", {"x", "y"}}};
  EXPECT_EQ(format_show_parameters("temperature                    0\nnum_ctx 64", opts),
            "Model defined parameters:\n"
            "  temperature                    0\n"
            "  num_ctx 64\n"
            "\n"
            "User defined parameters:\n"
            "  num_predict                    5\n"
            "  stop                           [x y]\n"
            "  temperature                    0.5\n"
            "\n");
}

TEST(HelpTexts, ListTheCommands) {
  EXPECT_NE(usage_text(false).find("  /bye            Exit\n"), std::string::npos);
  EXPECT_NE(usage_text(false).find("Use \"\"\" to begin a multi-line message.\n"),
            std::string::npos);
  EXPECT_EQ(usage_text(false).find("/path/to/file"), std::string::npos);
  EXPECT_NE(usage_text(true).find("/path/to/file"), std::string::npos);
  EXPECT_NE(usage_set_text().find("  /set parameter ...     Set a parameter\n"), std::string::npos);
  EXPECT_NE(usage_show_text().find("  /show parameters   Show parameters for this model\n"),
            std::string::npos);
  EXPECT_NE(usage_parameters_text().find("  /set parameter num_predict <int>"), std::string::npos);
}

}  // namespace
}  // namespace cli
