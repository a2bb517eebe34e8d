// Modelfile -> create request fields (typed parameters, messages, licenses, REQUIRES).
#include <cstdio>

#include "api/options.h"
#include "create/modelfile.h"
#include "create/parameters.h"
#include "util/error.h"

namespace create {
namespace {

bool is_num(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return s.size() == 1 || s[0] != '0';  // no leading zeros
}

bool is_ident_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

// Dot-separated identifiers; in a prerelease, numeric identifiers have no leading zeros.
bool is_ident_list(std::string_view s, bool prerelease) {
  if (s.empty()) return false;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    std::string_view id = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
    if (id.empty()) return false;
    bool all_digits = true;
    for (char c : id) {
      if (!is_ident_char(c)) return false;
      if (c < '0' || c > '9') all_digits = false;
    }
    if (prerelease && all_digits && id.size() > 1 && id[0] == '0') return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

}  // namespace

// golang.org/x/mod/semver rules: vMAJOR[.MINOR[.PATCH[-pre][+build]]].
bool is_valid_semver(std::string_view v) {
  if (!v.empty() && v[0] == 'v') v.remove_prefix(1);
  size_t end = v.find_first_of("-+");
  std::string_view core = v.substr(0, end);
  std::string_view rest = end == std::string_view::npos ? "" : v.substr(end);
  int parts = 0;
  size_t start = 0;
  while (true) {
    size_t dot = core.find('.', start);
    std::string_view p =
        core.substr(start, dot == std::string_view::npos ? core.npos : dot - start);
    if (!is_num(p)) return false;
    ++parts;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (parts > 3) return false;
  if (rest.empty()) return true;
  if (parts != 3) return false;  // shorthand versions take no prerelease/build
  if (rest[0] == '-') {
    size_t plus = rest.find('+');
    if (!is_ident_list(rest.substr(1, plus == std::string_view::npos ? rest.npos : plus - 1), true))
      return false;
    rest = plus == std::string_view::npos ? "" : rest.substr(plus);
  }
  if (!rest.empty()) return rest[0] == '+' && is_ident_list(rest.substr(1), false);
  return true;
}

ModelfileRequestParts modelfile_request_parts(const Modelfile& mf) {
  ModelfileRequestParts out;
  for (const auto& c : mf.commands) {
    const std::string& n = c.name;
    if (n == "model") {
      out.model_args.push_back(c.args);
    } else if (n == "draft") {
      out.draft_args.push_back(c.args);
    } else if (n == "adapter") {
      out.adapter_args.push_back(c.args);
    } else if (n == "template") {
      out.template_text = c.args;
    } else if (n == "system") {
      out.system = c.args;
    } else if (n == "license") {
      out.licenses.push_back(c.args);
    } else if (n == "renderer") {
      out.renderer = c.args;
    } else if (n == "parser") {
      out.parser = c.args;
    } else if (n == "requires") {
      if (!is_valid_semver(c.args))
        throw util::bad_request("requires must be a valid semver (e.g. 0.14.0)");
      out.requires_version = c.args[0] == 'v' ? c.args.substr(1) : c.args;
    } else if (n == "message") {
      size_t sep = c.args.find(": ");
      std::string role = sep == std::string::npos ? c.args : c.args.substr(0, sep);
      std::string content = sep == std::string::npos ? "" : c.args.substr(sep + 2);
      out.messages.push_back({{"role", role}, {"content", content}});
    } else if (api::is_deprecated_option(n)) {
      out.warnings.push_back("warning: parameter " + n + " is deprecated");
    } else {
      nlohmann::json v = format_param(n, c.args);
      auto it = out.parameters.find(n);
      if (v.is_array() && it != out.parameters.end() && it->is_array()) {
        for (auto& e : v) it->push_back(e);  // stop accumulates
      } else {
        out.parameters[n] = v;
      }
    }
  }
  return out;
}

}  // namespace create
