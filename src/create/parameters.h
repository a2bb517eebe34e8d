// The runtime option table (§3.13): option name -> type, deprecated names, typed parsing.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace create {

enum class ParamType { kInt, kFloat, kBool, kString, kStringList };

// Largest num_batch honoured (tokens per engine step); larger values are clamped.
inline constexpr int kMaxNumBatch = 8192;

struct ParamInfo {
  const char* name;
  ParamType type;
  bool load_time;  // Runner group (forces a reload when changed)
};

// Every valid option, in Ollama's Options struct order.
const std::vector<ParamInfo>& param_table();
// Type of a known option; nullopt for unknown names (deprecated names are unknown too).
std::optional<ParamType> param_type(std::string_view name);
// mirostat, mirostat_tau, mirostat_eta, penalize_newline, low_vram, f16_kv, logits_all,
// vocab_only, use_mlock: accepted but dropped with "warning: parameter <x> is deprecated".
bool is_deprecated_param(std::string_view name);

// Checks runtime options against the table (§3.13): a wrong type -> 400 `option "x" must be of
// type integer` (integer/float32/boolean/string/array); unknown and deprecated keys are dropped
// with a warning. Integers given as floats are truncated and saturate at the engine's int
// range; num_thread is clamped to the CPUs this process may use and num_batch to
// kMaxNumBatch; stop has at most
// api::kMaxStop entries.
nlohmann::json validate_params(const nlohmann::json& options);

// Converts one Modelfile PARAMETER value to JSON by the option's type (Go api.FormatParams):
// int base-10 (int64), float (float32 precision, written shortest), bool (Go ParseBool),
// string, and stop as a one-element list. Errors (util::bad_request):
//   unknown parameter '<name>' / invalid int value [<v>] / invalid float value [<v>] /
//   invalid bool value [<v>]
nlohmann::json format_param(std::string_view name, std::string_view value);

// Go strconv.ParseBool; nullopt when not one of 1,t,T,TRUE,true,True,0,f,F,FALSE,false,False.
std::optional<bool> parse_go_bool(std::string_view s);

}  // namespace create
