// Command table and argument parsing with cobra/pflag's rules, messages and help layout.
#pragma once
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cli {

struct FlagSpec {
  std::string name;       // long name without dashes
  char shorthand = 0;     // 0 = none
  bool is_bool = false;   // bool flags take no separate argument
  std::string type_name;  // shown in help for value flags ("string", "int", "duration")
  std::string usage;
  std::string no_opt_value;  // value used when given bare (e.g. --think => "true")
  bool hidden = false;
};

// Parsed flags and positional arguments of one invocation.
struct Invocation {
  std::vector<std::string> args;
  std::map<std::string, std::string> flags;  // only flags that were given

  bool has(const std::string& name) const { return flags.count(name) != 0; }
  bool flag(const std::string& name) const;  // a bool flag's value
  std::string value(const std::string& name, const std::string& def = "") const;
};

enum class ArgsRule { kAny, kExact, kMin, kMax, kRange };

struct Command {
  std::string name;
  std::string use_args;  // "MODEL [PROMPT]" (after the name in the usage line)
  std::vector<std::string> aliases;
  std::string short_desc;
  std::vector<std::string> hidden_aliases;
  ArgsRule rule = ArgsRule::kAny;
  int n_min = 0, n_max = 0;
  std::vector<FlagSpec> flags;
  std::vector<std::pair<std::string, std::string>> env_docs;  // name, description
  bool heartbeat = true;  // check the server is up before running
  bool hidden = false;
  std::function<int(const Invocation&)> run;

  bool matches(const std::string& word) const;
};

// Validates the positional count; throws util::Error with cobra's message
// ("accepts 1 arg(s), received 0", "requires at least 1 arg(s), only received 0", ...).
void check_args(const Command& cmd, const std::vector<std::string>& args);

// Parses flags (pflag: "--f v", "--f=v", "-f v", "-fv", "-ab" bool groups, "--" ends flags,
// flags may follow positionals). `help` is set when -h/--help is present. Throws util::Error:
// "unknown flag: --x", "unknown shorthand flag: 'x' in -x", "flag needs an argument: --file",
// `invalid argument "x" for "--license" flag: ...`.
Invocation parse_flags(const Command& cmd, const std::vector<std::string>& argv, bool& help);

// Cobra's help text for a command ("<Short>\n\nUsage:\n  ollama show MODEL [flags]...").
std::string command_help(const Command& cmd);
// The root's help: description, usage, available commands, flags.
std::string root_help(const std::vector<Command>& cmds);

// `unknown command "x" for "ollama"` plus cobra's "Did you mean this?" suggestions.
std::string unknown_command_message(const std::string& word, const std::vector<Command>& cmds);

// Levenshtein distance, ASCII case-insensitive (cobra's suggestion metric).
int edit_distance(const std::string& a, const std::string& b);

}  // namespace cli
