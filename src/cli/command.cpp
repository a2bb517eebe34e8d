#include "cli/command.h"

#include <algorithm>
#include <cctype>

#include "util/error.h"

namespace cli {
namespace {

bool parse_go_bool(const std::string& s, bool& out) {
  for (const char* t : {"1", "t", "T", "TRUE", "true", "True"})
    if (s == t) return out = true, true;
  for (const char* f : {"0", "f", "F", "FALSE", "false", "False"})
    if (s == f) return out = false, true;
  return false;
}

bool is_go_int(const std::string& s) {
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  if (i >= s.size()) return false;
  for (; i < s.size(); i++)
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  return true;
}

// The help flag cobra adds to every command.
FlagSpec help_flag(const std::string& name) {
  return FlagSpec{"help", 'h', true, "", "help for " + name};
}

std::vector<FlagSpec> all_flags(const Command& cmd) {
  std::vector<FlagSpec> f = cmd.flags;
  f.push_back(help_flag(cmd.name));
  return f;
}

const FlagSpec* find_long(const std::vector<FlagSpec>& flags, const std::string& name) {
  for (auto& f : flags)
    if (f.name == name) return &f;
  return nullptr;
}

const FlagSpec* find_short(const std::vector<FlagSpec>& flags, char c) {
  for (auto& f : flags)
    if (f.shorthand == c) return &f;
  return nullptr;
}

std::string flag_label(const FlagSpec& f) {
  return f.shorthand ? std::string("-") + f.shorthand + ", --" + f.name : "--" + f.name;
}

void set_value(Invocation& inv, const FlagSpec& f, const std::string& v) {
  if (f.is_bool) {
    bool b;
    if (!parse_go_bool(v, b)) {
      throw util::Error("invalid argument \"" + v + "\" for \"" + flag_label(f) +
                        "\" flag: strconv.ParseBool: parsing \"" + v + "\": invalid syntax");
    }
    inv.flags[f.name] = b ? "true" : "false";
    return;
  }
  if (f.type_name == "int" && !is_go_int(v)) {
    throw util::Error("invalid argument \"" + v + "\" for \"" + flag_label(f) +
                      "\" flag: strconv.ParseInt: parsing \"" + v + "\": invalid syntax");
  }
  inv.flags[f.name] = v;
}

std::string rpad(const std::string& s, size_t n) {
  return s.size() < n ? s + std::string(n - s.size(), ' ') : s;
}

// pflag FlagUsages: flags sorted by name, usage column aligned 3 spaces after the longest.
std::string flag_usages(std::vector<FlagSpec> flags) {
  std::sort(flags.begin(), flags.end(),
            [](const FlagSpec& a, const FlagSpec& b) { return a.name < b.name; });
  std::vector<std::pair<std::string, std::string>> lines;
  size_t maxlen = 0;
  for (auto& f : flags) {
    if (f.hidden) continue;
    std::string line =
        f.shorthand ? std::string("  -") + f.shorthand + ", --" + f.name : "      --" + f.name;
    if (!f.is_bool) {
      line += " " + f.type_name;
      if (!f.no_opt_value.empty()) line += "[=\"" + f.no_opt_value + "\"]";
    }
    maxlen = std::max(maxlen, line.size() + 1);
    lines.push_back({line, f.usage});
  }
  std::string out;
  for (auto& [line, usage] : lines)
    out += line + " " + std::string(maxlen - line.size(), ' ') + " " + usage + "\n";
  return out;
}

std::string env_usage(const Command& cmd) {
  if (cmd.env_docs.empty()) return "";
  std::string out = "\nEnvironment Variables:\n";
  for (auto& [name, desc] : cmd.env_docs) out += "      " + rpad(name, 27) + "   " + desc + "\n";
  return out;
}

}  // namespace

bool Invocation::flag(const std::string& name) const {
  auto it = flags.find(name);
  return it != flags.end() && it->second == "true";
}

std::string Invocation::value(const std::string& name, const std::string& def) const {
  auto it = flags.find(name);
  return it == flags.end() ? def : it->second;
}

bool Command::matches(const std::string& word) const {
  if (word == name) return true;
  for (auto& a : aliases)
    if (a == word) return true;
  for (auto& a : hidden_aliases)
    if (a == word) return true;
  return false;
}

void check_args(const Command& cmd, const std::vector<std::string>& args) {
  int n = static_cast<int>(args.size());
  std::string got = std::to_string(n);
  switch (cmd.rule) {
    case ArgsRule::kAny:
      return;
    case ArgsRule::kExact:
      if (n != cmd.n_min)
        throw util::Error("accepts " + std::to_string(cmd.n_min) + " arg(s), received " + got);
      return;
    case ArgsRule::kMin:
      if (n < cmd.n_min) {
        throw util::Error("requires at least " + std::to_string(cmd.n_min) +
                          " arg(s), only received " + got);
      }
      return;
    case ArgsRule::kMax:
      if (n > cmd.n_max) {
        throw util::Error("accepts at most " + std::to_string(cmd.n_max) + " arg(s), received " +
                          got);
      }
      return;
    case ArgsRule::kRange:
      if (n < cmd.n_min || n > cmd.n_max) {
        throw util::Error("accepts between " + std::to_string(cmd.n_min) + " and " +
                          std::to_string(cmd.n_max) + " arg(s), received " + got);
      }
      return;
  }
}

Invocation parse_flags(const Command& cmd, const std::vector<std::string>& argv, bool& help) {
  std::vector<FlagSpec> flags = all_flags(cmd);
  Invocation inv;
  help = false;
  for (size_t i = 0; i < argv.size(); i++) {
    const std::string& a = argv[i];
    if (a == "--") {
      inv.args.insert(inv.args.end(), argv.begin() + static_cast<long>(i) + 1, argv.end());
      break;
    }
    if (a.size() < 2 || a[0] != '-') {
      inv.args.push_back(a);
      continue;
    }
    if (a[1] == '-') {
      std::string body = a.substr(2);
      std::string name = body, value;
      bool has_eq = false;
      if (auto eq = body.find('='); eq != std::string::npos) {
        name = body.substr(0, eq), value = body.substr(eq + 1), has_eq = true;
      }
      const FlagSpec* f = find_long(flags, name);
      if (!f) throw util::Error("unknown flag: --" + name);
      if (has_eq) {
        set_value(inv, *f, value);
      } else if (f->is_bool) {
        set_value(inv, *f, "true");
      } else if (!f->no_opt_value.empty()) {
        set_value(inv, *f, f->no_opt_value);
      } else if (i + 1 < argv.size()) {
        set_value(inv, *f, argv[++i]);
      } else {
        throw util::Error("flag needs an argument: --" + name);
      }
      continue;
    }
    // Shorthand group: -abc, -fvalue, -f value, -f=value.
    std::string group = a.substr(1);
    for (size_t k = 0; k < group.size(); k++) {
      char c = group[k];
      const FlagSpec* f = find_short(flags, c);
      if (!f) {
        throw util::Error(std::string("unknown shorthand flag: '") + c + "' in -" + group);
      }
      std::string rest = group.substr(k + 1);
      if (!rest.empty() && rest[0] == '=') {
        set_value(inv, *f, rest.substr(1));
        break;
      }
      if (f->is_bool) {
        set_value(inv, *f, "true");
        continue;
      }
      if (!rest.empty()) {
        set_value(inv, *f, rest);
      } else if (!f->no_opt_value.empty()) {
        set_value(inv, *f, f->no_opt_value);
      } else if (i + 1 < argv.size()) {
        set_value(inv, *f, argv[++i]);
      } else {
        throw util::Error(std::string("flag needs an argument: '") + c + "' in -" + group);
      }
      break;
    }
  }
  if (inv.flag("help")) help = true;
  inv.flags.erase("help");
  return inv;
}

std::string command_help(const Command& cmd) {
  std::string out = cmd.short_desc + "\n\nUsage:\n  ollama " + cmd.name;
  if (!cmd.use_args.empty()) out += " " + cmd.use_args;
  out += " [flags]\n";
  if (!cmd.aliases.empty()) {
    out += "\nAliases:\n  " + cmd.name;
    for (auto& a : cmd.aliases) out += ", " + a;
    out += "\n";
  }
  out += "\nFlags:\n" + flag_usages(all_flags(cmd));
  return out + env_usage(cmd);
}

std::string root_help(const std::vector<Command>& cmds) {
  std::string out =
      "Large language model runner\n\nUsage:\n  ollama [flags]\n  ollama [command]\n\n"
      "Available Commands:\n";
  for (auto& c : cmds)
    if (!c.hidden) out += "  " + rpad(c.name, 11) + " " + c.short_desc + "\n";
  out += "  " + rpad("help", 11) + " Help about any command\n";
  std::vector<FlagSpec> flags = {help_flag("ollama"),
                                 FlagSpec{"version", 'v', true, "", "Show version information"}};
  out += "\nFlags:\n" + flag_usages(flags);
  out += "\nUse \"ollama [command] --help\" for more information about a command.\n";
  return out;
}

int edit_distance(const std::string& a, const std::string& b) {
  auto lower = [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  };
  std::vector<int> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); j++) prev[j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); i++) {
    cur[0] = static_cast<int>(i);
    for (size_t j = 1; j <= b.size(); j++) {
      int cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string unknown_command_message(const std::string& word, const std::vector<Command>& cmds) {
  std::string msg = "unknown command \"" + word + "\" for \"ollama\"";
  std::vector<std::string> names;
  for (auto& c : cmds)
    if (!c.hidden) names.push_back(c.name);
  names.push_back("help");
  std::vector<std::string> suggestions;
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  for (auto& n : names) {
    if (edit_distance(word, n) <= 2 || lower(n).rfind(lower(word), 0) == 0)
      suggestions.push_back(n);
  }
  if (!suggestions.empty()) {
    msg += "\n\nDid you mean this?\n";
    for (auto& s : suggestions) msg += "\t" + s + "\n";
  }
  return msg;
}

}  // namespace cli
