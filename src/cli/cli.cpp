#include "cli/cli.h"

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "client/client.h"
#include "util/error.h"

namespace cli {
namespace {

const Command* find_command(const std::vector<Command>& cmds, const std::string& word) {
  for (auto& c : cmds)
    if (c.matches(word)) return &c;
  return nullptr;
}

// Root flags before any command: -v/--version, -h/--help, and the accepted but unused
// --verbose / --nowordwrap.
int run_root(const std::vector<std::string>& args, const std::vector<Command>& cmds) {
  Command root;
  root.name = "ollama";
  root.flags = {FlagSpec{"version", 'v', true, "", "Show version information"},
                FlagSpec{"verbose", 0, true, "", "", "", true},
                FlagSpec{"nowordwrap", 0, true, "", "", "", true}};
  bool help = false;
  Invocation inv = parse_flags(root, args, help);
  if (!inv.args.empty()) throw util::Error(unknown_command_message(inv.args[0], cmds));
  if (!help && inv.flag("version")) return print_version();
  std::fputs(root_help(cmds).c_str(), stdout);
  return 0;
}

int run_help(const std::vector<std::string>& args, const std::vector<Command>& cmds) {
  if (args.empty()) {
    std::fputs(root_help(cmds).c_str(), stdout);
    return 0;
  }
  const Command* c = find_command(cmds, args[0]);
  if (!c) {
    std::printf("Unknown help topic [`%s`]\n", args[0].c_str());
    std::fputs(root_help(cmds).c_str(), stdout);
    return 0;
  }
  std::fputs(command_help(*c).c_str(), stdout);
  return 0;
}

int dispatch(const std::vector<std::string>& args, const std::vector<Command>& cmds) {
  if (args.empty() || (args[0].size() > 1 && args[0][0] == '-')) return run_root(args, cmds);
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "help") return run_help(rest, cmds);
  const Command* c = find_command(cmds, args[0]);
  if (!c) throw util::Error(unknown_command_message(args[0], cmds));
  bool help = false;
  Invocation inv = parse_flags(*c, rest, help);
  if (help) {
    std::fputs(command_help(*c).c_str(), stdout);
    return 0;
  }
  check_args(*c, inv.args);
  if (c->heartbeat) client::Client::from_env().heartbeat();
  return c->run(inv);
}

}  // namespace

int print_version() {
  client::Client c = client::Client::from_env();
  std::string server_version;
  try {
    server_version = c.version();
  } catch (const std::exception&) {
    std::printf("Warning: could not connect to a running Ollama instance\n");
  }
  if (!server_version.empty()) std::printf("ollama version is %s\n", server_version.c_str());
  if (server_version != client::kVersion)
    std::printf("Warning: client version is %s\n", client::kVersion);
  return 0;
}

int main(int argc, char** argv, ServeFn serve) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::vector<Command> cmds = build_commands(serve);
  try {
    return dispatch(args, cmds);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "Error: %s\n", e.what());
    return 1;
  }
}

}  // namespace cli
