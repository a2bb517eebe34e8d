// Runtime options (spec §3.13), typed: the table of every option Ollama knows, and `Options`,
// what a request or a model's params layer sets. JSON options are checked once, where the
// server merges them (`Options::parse`); below that only typed fields travel.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace api {

enum class OptionType { kInt, kFloat, kBool, kStringList };

// Largest num_batch honoured (tokens per engine step); larger values are clamped.
inline constexpr int kMaxNumBatch = 8192;

// What a request or a model sets; an empty field takes the next layer's value (model params
// under request options, the engine's defaults under both).
struct Options {
  // Load time: a change reloads the model (Ollama's Runner group).
  std::optional<int> num_ctx, num_batch, num_gpu, main_gpu;
  std::optional<bool> use_mmap;
  std::optional<int> num_thread, draft_num_predict;
  // Per request.
  std::optional<int> num_keep, seed, num_predict, top_k;
  std::optional<float> top_p, min_p, typical_p;
  std::optional<int> repeat_last_n;
  std::optional<float> temperature, repeat_penalty, presence_penalty, frequency_penalty;
  std::optional<std::vector<std::string>> stop;

  // Checks a JSON options object against the table: a wrong type is a 400 `option "x" must
  // be of type integer` (integer/float32/boolean/array); unknown and deprecated keys and null
  // values are dropped (unknown ones with a warning). Integers given as floats are truncated
  // and saturate at the int range; num_thread is clamped to the CPUs this process may use and
  // num_batch to kMaxNumBatch; stop has at most kMaxStop entries. A non-object is no options.
  static Options parse(const nlohmann::json& options);
  static Options parse(const nlohmann::ordered_json& options);

  // The fields `over` sets replace this one's.
  void merge(const Options& over);

  bool operator==(const Options&) const = default;
};

struct OptionInfo {
  const char* name;
  OptionType type;
  bool load_time;
};

// Every valid option, in Ollama's Options struct order.
const std::vector<OptionInfo>& option_table();
// Type of a known option; nullopt for unknown names (deprecated names are unknown too).
std::optional<OptionType> option_type(std::string_view name);
// mirostat, mirostat_tau, mirostat_eta, penalize_newline, low_vram, f16_kv, logits_all,
// vocab_only, use_mlock: accepted but dropped ("warning: parameter <x> is deprecated").
bool is_deprecated_option(std::string_view name);

}  // namespace api
