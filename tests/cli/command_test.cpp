#include "cli/command.h"

#include <gtest/gtest.h>

#include "cli/commands.h"
#include "util/error.h"

namespace cli {
namespace {

int no_serve() { return 0; }

const Command& find(const std::vector<Command>& cmds, const std::string& name) {
  for (auto& c : cmds)
    if (c.matches(name)) return c;
  throw std::runtime_error("no command " + name);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const util::Error& e) {
    return e.what();
  }
  return "";
}

TEST(Args, CobraCountMessages) {
  auto cmds = build_commands(no_serve);
  EXPECT_EQ(error_of([&] { check_args(find(cmds, "show"), {}); }), "accepts 1 arg(s), received 0");
  EXPECT_EQ(error_of([&] { check_args(find(cmds, "cp"), {"a"}); }), "accepts 2 arg(s), received 1");
  EXPECT_EQ(error_of([&] { check_args(find(cmds, "rm"), {}); }),
            "requires at least 1 arg(s), only received 0");
  EXPECT_EQ(error_of([&] {
              check_args(find(cmds, "list"), {"a", "b"});
            }),
            "accepts at most 1 arg(s), received 2");
  EXPECT_EQ(error_of([&] { check_args(find(cmds, "serve"), {"x"}); }),
            "accepts 0 arg(s), received 1");
  EXPECT_EQ(error_of([&] { check_args(find(cmds, "rm"), {"a", "b", "c"}); }), "");
  EXPECT_EQ(&find(cmds, "ls"), &find(cmds, "list"));
  EXPECT_EQ(&find(cmds, "start"), &find(cmds, "serve"));
}

TEST(Flags, PflagParsing) {
  auto cmds = build_commands(no_serve);
  bool help = false;
  Invocation inv = parse_flags(find(cmds, "create"), {"m", "-f", "x/Modelfile", "-qq4_K_M"}, help);
  EXPECT_FALSE(help);
  EXPECT_EQ(inv.args, std::vector<std::string>{"m"});
  EXPECT_EQ(inv.value("file"), "x/Modelfile");
  EXPECT_EQ(inv.value("quantize"), "q4_K_M");

  inv = parse_flags(find(cmds, "show"), {"--license", "m", "-v", "--", "--template"}, help);
  EXPECT_TRUE(inv.flag("license"));
  EXPECT_TRUE(inv.flag("verbose"));
  EXPECT_FALSE(inv.flag("template"));
  EXPECT_EQ(inv.args, (std::vector<std::string>{"m", "--template"}));

  inv = parse_flags(find(cmds, "create"), {"--file=a=b", "m"}, help);
  EXPECT_EQ(inv.value("file"), "a=b");
  inv = parse_flags(find(cmds, "show"), {"m", "--license=false"}, help);
  EXPECT_FALSE(inv.flag("license"));
  parse_flags(find(cmds, "list"), {"-h"}, help);
  EXPECT_TRUE(help);
}

TEST(Flags, Errors) {
  auto cmds = build_commands(no_serve);
  bool help;
  auto err = [&](const std::string& cmd, std::vector<std::string> argv) {
    return error_of([&] { parse_flags(find(cmds, cmd), argv, help); });
  };
  EXPECT_EQ(err("list", {"--bogus"}), "unknown flag: --bogus");
  EXPECT_EQ(err("list", {"-x"}), "unknown shorthand flag: 'x' in -x");
  EXPECT_EQ(err("show", {"-vz"}), "unknown shorthand flag: 'z' in -vz");
  EXPECT_EQ(err("create", {"m", "--file"}), "flag needs an argument: --file");
  EXPECT_EQ(err("create", {"m", "-f"}), "flag needs an argument: 'f' in -f");
  EXPECT_EQ(err("show", {"--license=maybe"}),
            "invalid argument \"maybe\" for \"--license\" flag: strconv.ParseBool: parsing "
            "\"maybe\": invalid syntax");
  EXPECT_EQ(err("run", {"m", "--dimensions", "x"}),
            "invalid argument \"x\" for \"--dimensions\" flag: strconv.ParseInt: parsing \"x\": "
            "invalid syntax");
}

TEST(Help, ShowHelpLayout) {
  auto cmds = build_commands(no_serve);
  EXPECT_EQ(command_help(find(cmds, "show")),
            "Show information for a model\n"
            "\n"
            "Usage:\n"
            "  ollama show MODEL [flags]\n"
            "\n"
            "Flags:\n"
            "  -h, --help         help for show\n"
            "      --license      Show license of a model\n"
            "      --modelfile    Show Modelfile of a model\n"
            "      --parameters   Show parameters of a model\n"
            "      --system       Show system message of a model\n"
            "      --template     Show template of a model\n"
            "  -v, --verbose      Show detailed model information\n"
            "\n"
            "Environment Variables:\n"
            "      OLLAMA_HOST                   IP Address for the ollama server (default "
            "127.0.0.1:11434)\n");
  std::string list = command_help(find(cmds, "list"));
  EXPECT_NE(list.find("Aliases:\n  list, ls\n"), std::string::npos) << list;
}

TEST(Help, RootListsCommandsInOrder) {
  auto cmds = build_commands(no_serve);
  std::string h = root_help(cmds);
  EXPECT_EQ(
      h.rfind("Large language model runner\n\nUsage:\n  ollama [flags]\n  ollama [command]\n", 0),
      0u);
  size_t serve = h.find("  serve       Start Ollama\n"),
         rm = h.find("  rm          Remove a model\n");
  ASSERT_NE(serve, std::string::npos);
  ASSERT_NE(rm, std::string::npos);
  EXPECT_LT(serve, rm);
  EXPECT_NE(h.find("  -v, --version   Show version information\n"), std::string::npos);
  EXPECT_EQ(h.find("login"), std::string::npos);  // hidden alias
}

TEST(UnknownCommand, SuggestsCloseNames) {
  auto cmds = build_commands(no_serve);
  EXPECT_EQ(unknown_command_message("lst", cmds),
            "unknown command \"lst\" for \"ollama\"\n\nDid you mean this?\n\tlist\n\tps\n");
  EXPECT_EQ(unknown_command_message("creat", cmds),
            "unknown command \"creat\" for \"ollama\"\n\nDid you mean this?\n\tcreate\n");
  EXPECT_EQ(unknown_command_message("zzzzzz", cmds), "unknown command \"zzzzzz\" for \"ollama\"");
  EXPECT_EQ(edit_distance("Pul", "pull"), 1);
}

}  // namespace
}  // namespace cli
