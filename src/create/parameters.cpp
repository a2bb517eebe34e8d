// Option table and typed PARAMETER parsing (Go api.FormatParams semantics).
#include "create/parameters.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "api/limits.h"
#include "store/gojson.h"
#include "util/error.h"
#include "util/log.h"
#include "util/thread_pool.h"

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

const char* type_name(ParamType t) {
  switch (t) {
    case ParamType::kInt:
      return "integer";
    case ParamType::kFloat:
      return "float32";
    case ParamType::kBool:
      return "boolean";
    case ParamType::kString:
      return "string";
    case ParamType::kStringList:
      return "array";
  }
  return "unknown";
}

// JSON number -> int64 without undefined behaviour: floats are truncated, anything beyond
// int64 saturates.
int64_t saturating_int64(const nlohmann::json& v) {
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    return u > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  const double d = std::trunc(v.get<double>());
  if (std::isnan(d)) return 0;
  if (d >= 9.2e18) return INT64_MAX;
  if (d <= -9.2e18) return INT64_MIN;
  return static_cast<int64_t>(d);
}

// The engine takes integer options as C ints: values beyond them saturate (a num_predict of
// 2^64 means "unbounded", not one token after a wrap). num_thread is clamped to the CPUs this
// process may use: more threads cannot run faster, and an absurd count would exhaust the
// host's threads.
int64_t clamp_int_option(const std::string& key, int64_t v) {
  v = std::clamp<int64_t>(v, INT32_MIN, INT32_MAX);
  if (key == "num_batch" && v > kMaxNumBatch) {
    // Scratch buffers grow with the batch: a huge one would take the machine's memory.
    LOG_WARN("num_batch {} is above {}; using {}", v, kMaxNumBatch, kMaxNumBatch);
    v = kMaxNumBatch;
  }
  if (key == "num_thread") {
    const int64_t cpus = util::available_cpus();
    if (v > cpus) {
      LOG_WARN("num_thread {} exceeds the {} CPUs available; using {}", v, cpus, cpus);
      v = cpus;
    }
    if (v < 0) v = 0;  // runtime decides, as 0
  }
  return v;
}

}  // namespace

nlohmann::json validate_params(const nlohmann::json& options) {
  nlohmann::json out = nlohmann::json::object();
  if (!options.is_object()) return out;
  for (auto it = options.begin(); it != options.end(); ++it) {
    const std::string& k = it.key();
    const auto& v = it.value();
    auto t = param_type(k);
    if (!t) {
      LOG_WARN("invalid option provided option={}", k);
      continue;
    }
    if (v.is_null()) continue;
    auto fail = [&]() -> util::Error {
      return util::bad_request("option \"" + k + "\" must be of type " + type_name(*t));
    };
    switch (*t) {
      case ParamType::kInt:
        if (!v.is_number()) throw fail();
        out[k] = clamp_int_option(k, saturating_int64(v));
        break;
      case ParamType::kFloat:
        if (!v.is_number() || !std::isfinite(v.get<double>())) throw fail();
        out[k] = v.get<double>();
        break;
      case ParamType::kBool:
        if (!v.is_boolean()) throw fail();
        out[k] = v;
        break;
      case ParamType::kString:
        if (!v.is_string()) throw fail();
        out[k] = v;
        break;
      case ParamType::kStringList:
        if (!v.is_array()) throw fail();
        if (k == "stop") api::check_count("stop sequences", v.size(), api::kMaxStop);
        for (const auto& e : v)
          if (!e.is_string())
            throw util::bad_request("option \"" + k + "\" must be of type array of strings");
        out[k] = v;
        break;
    }
  }
  return out;
}

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
