// Option table and typed PARAMETER parsing (Go api.FormatParams semantics).
#include "create/parameters.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "store/gojson.h"
#include "util/error.h"

namespace create {

const std::vector<ParamInfo>& param_table() {
  static const std::vector<ParamInfo> kTable = {
      {"num_ctx", ParamType::kInt, true},
      {"num_batch", ParamType::kInt, true},
      {"num_gpu", ParamType::kInt, true},
      {"main_gpu", ParamType::kInt, true},
      {"use_mmap", ParamType::kBool, true},
      {"num_thread", ParamType::kInt, true},
      {"draft_num_predict", ParamType::kInt, true},
      {"num_keep", ParamType::kInt, false},
      {"seed", ParamType::kInt, false},
      {"num_predict", ParamType::kInt, false},
      {"top_k", ParamType::kInt, false},
      {"top_p", ParamType::kFloat, false},
      {"min_p", ParamType::kFloat, false},
      {"typical_p", ParamType::kFloat, false},
      {"repeat_last_n", ParamType::kInt, false},
      {"temperature", ParamType::kFloat, false},
      {"repeat_penalty", ParamType::kFloat, false},
      {"presence_penalty", ParamType::kFloat, false},
      {"frequency_penalty", ParamType::kFloat, false},
      {"stop", ParamType::kStringList, false},
  };
  return kTable;
}

std::optional<ParamType> param_type(std::string_view name) {
  for (const auto& p : param_table())
    if (name == p.name) return p.type;
  return std::nullopt;
}

bool is_deprecated_param(std::string_view name) {
  static const char* kDeprecated[] = {"penalize_newline", "low_vram",     "f16_kv",
                                      "logits_all",       "vocab_only",   "use_mlock",
                                      "mirostat",         "mirostat_tau", "mirostat_eta"};
  for (const char* d : kDeprecated)
    if (name == d) return true;
  return false;
}

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
  auto type = param_type(name);
  if (!type) throw util::bad_request("unknown parameter '" + std::string(name) + "'");
  std::string shown = "[" + std::string(value) + "]";
  switch (*type) {
    case ParamType::kInt: {
      auto v = parse_go_int(value);
      if (!v) throw util::bad_request("invalid int value " + shown);
      return *v;
    }
    case ParamType::kFloat: {
      auto v = parse_go_float32(value);
      if (!v) throw util::bad_request("invalid float value " + shown);
      return store::float32_as_shortest_double(*v);
    }
    case ParamType::kBool: {
      auto v = parse_go_bool(value);
      if (!v) throw util::bad_request("invalid bool value " + shown);
      return *v;
    }
    case ParamType::kString:
      return std::string(value);
    case ParamType::kStringList:
      return nlohmann::json::array({std::string(value)});
  }
  return nullptr;
}

}  // namespace create
