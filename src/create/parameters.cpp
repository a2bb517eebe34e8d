// Typed PARAMETER parsing (Go api.FormatParams semantics).
#include "create/parameters.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "api/options.h"
#include "store/gojson.h"
#include "util/error.h"

namespace create {

std::optional<bool> parse_go_bool(std::string_view s) {
  if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True") return true;
  if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" || s == "False")
    return false;
  return std::nullopt;
}

namespace {

// strconv.ParseInt(s, 10, 64): optional sign, decimal digits, int64 range.
std::optional<int64_t> parse_go_int(std::string_view s) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.empty() || s[0] == '+') return std::nullopt;
  int64_t v = 0;
  auto res = std::from_chars(s.data(), s.data() + s.size(), v, 10);
  if (res.ec != std::errc() || res.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// strconv.ParseFloat(s, 32): the whole string must be a number within float32 range.
std::optional<float> parse_go_float32(std::string_view s) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return std::nullopt;
  std::string str(s);
  errno = 0;
  char* end = nullptr;
  float f = std::strtof(str.c_str(), &end);
  if (end != str.c_str() + str.size()) return std::nullopt;
  bool literal_inf = str.find_first_of("iI") != std::string::npos;
  if (std::isinf(f) && !literal_inf) return std::nullopt;  // out of float32 range
  return f;
}

}  // namespace

nlohmann::json format_param(std::string_view name, std::string_view value) {
  auto type = api::option_type(name);
  if (!type) throw util::bad_request("unknown parameter '" + std::string(name) + "'");
  std::string shown = "[" + std::string(value) + "]";
  switch (*type) {
    case api::OptionType::kInt: {
      auto v = parse_go_int(value);
      if (!v) throw util::bad_request("invalid int value " + shown);
      return *v;
    }
    case api::OptionType::kFloat: {
      auto v = parse_go_float32(value);
      if (!v) throw util::bad_request("invalid float value " + shown);
      return store::float32_as_shortest_double(*v);
    }
    case api::OptionType::kBool: {
      auto v = parse_go_bool(value);
      if (!v) throw util::bad_request("invalid bool value " + shown);
      return *v;
    }
    case api::OptionType::kStringList:
      return nlohmann::json::array({std::string(value)});
  }
  return nullptr;
}

}  // namespace create
